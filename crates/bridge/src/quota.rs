//! Per-lab quotas: topics, partitions, records per minute, bytes on the broker, checkpoint bytes on
//! disk. Pure accounting (times are passed in); the server asks before an operation and records after.

use std::collections::{BTreeMap, VecDeque};

#[derive(Clone, Debug, PartialEq)]
pub struct Quotas {
    pub topics: usize,
    pub partitions: i64,
    pub records_per_minute: u64,
    /// Bytes of keys and values this lab's produces put on the broker, over its live topics.
    pub broker_bytes: u64,
    pub checkpoint_bytes: u64,
}

impl Default for Quotas {
    fn default() -> Quotas {
        Quotas { topics: 5, partitions: 24, records_per_minute: 20_000, broker_bytes: 50 * 1024 * 1024, checkpoint_bytes: 20 * 1024 * 1024 }
    }
}

const MINUTE_MS: i64 = 60_000;

/// What one lab has used. Topic counts come from Kafka at each create (they survive a bridge restart);
/// produced records and bytes are counted here, from the bridge's own produces.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Usage {
    /// (time ms, records) of the produces of the last minute.
    recent: VecDeque<(i64, u64)>,
    /// Bytes produced per topic, until the topic is deleted.
    bytes: BTreeMap<String, u64>,
}

impl Quotas {
    /// Before `createTopic`: `existing` is the lab's topics on the broker with their partition counts.
    pub fn check_create(&self, existing: &[(String, i32)], topic: &str, partitions: i32) -> Result<(), String> {
        if existing.iter().any(|(t, _)| t == topic) {
            return Ok(()); // Kafka answers TOPIC_ALREADY_EXISTS, which says more
        }
        if existing.len() >= self.topics {
            return Err(format!("topic quota: this lab has {} topics of {} allowed; delete one first", existing.len(), self.topics));
        }
        let total: i64 = existing.iter().map(|(_, p)| *p as i64).sum();
        if total + partitions as i64 > self.partitions {
            return Err(format!(
                "partition quota: {total} partitions in this lab + {partitions} new = {} > {} allowed",
                total + partitions as i64,
                self.partitions
            ));
        }
        Ok(())
    }

    /// Before a produce of `records` records of `bytes` key and value bytes at `now_ms`.
    pub fn check_produce(&self, usage: &mut Usage, now_ms: i64, records: u64, bytes: u64) -> Result<(), String> {
        usage.forget_before(now_ms - MINUTE_MS);
        let last_minute: u64 = usage.recent.iter().map(|(_, n)| n).sum();
        if last_minute + records > self.records_per_minute {
            return Err(format!(
                "records-per-minute quota: {last_minute} records in the last 60 s + {records} = {} > {} allowed; wait a little",
                last_minute + records,
                self.records_per_minute
            ));
        }
        let on_broker = usage.broker_bytes();
        if on_broker + bytes > self.broker_bytes {
            return Err(format!(
                "broker-bytes quota: {on_broker} bytes produced into this lab's topics + {bytes} = {} > {} allowed; delete a topic first",
                on_broker + bytes,
                self.broker_bytes
            ));
        }
        Ok(())
    }

    /// Before a checkpoint write of `bytes` into a folder holding `on_disk` bytes.
    pub fn check_checkpoint(&self, on_disk: u64, bytes: u64) -> Result<(), String> {
        if on_disk + bytes > self.checkpoint_bytes {
            return Err(format!(
                "checkpoint quota: {on_disk} bytes in this lab's checkpoint folder + {bytes} = {} > {} allowed; delete the checkpoint first",
                on_disk + bytes,
                self.checkpoint_bytes
            ));
        }
        Ok(())
    }
}

impl Usage {
    pub fn produced(&mut self, topic: &str, now_ms: i64, records: u64, bytes: u64) {
        self.recent.push_back((now_ms, records));
        *self.bytes.entry(topic.to_string()).or_default() += bytes;
    }

    pub fn topic_deleted(&mut self, topic: &str) {
        self.bytes.remove(topic);
    }

    pub fn broker_bytes(&self) -> u64 {
        self.bytes.values().sum()
    }

    fn forget_before(&mut self, ms: i64) {
        while self.recent.front().is_some_and(|(t, _)| *t <= ms) {
            self.recent.pop_front();
        }
    }
}

/// Key and value bytes of produce lines as the bridge will send them (the separator is not sent).
pub fn line_bytes(lines: &[String], separator: Option<&str>) -> u64 {
    let sep = separator.map(str::len).unwrap_or(0) as u64;
    lines.iter().map(|l| (l.len() as u64).saturating_sub(if l.contains(separator.unwrap_or("\0")) { sep } else { 0 })).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_and_partition_quotas_name_the_numbers() {
        let q = Quotas::default();
        let five: Vec<(String, i32)> = (0..5).map(|i| (format!("t{i}"), 1)).collect();
        let e = q.check_create(&five, "t9", 1).unwrap_err();
        assert!(e.contains("5 topics of 5 allowed"), "{e}");
        assert!(q.check_create(&five, "t0", 1).is_ok(), "an existing name is Kafka's to refuse");
        let e = q.check_create(&[("a".into(), 20)], "b", 5).unwrap_err();
        assert!(e.contains("20 partitions in this lab + 5 new = 25 > 24 allowed"), "{e}");
        assert!(q.check_create(&[("a".into(), 20)], "b", 4).is_ok());
    }

    #[test]
    fn records_per_minute_slide_with_time() {
        let q = Quotas { records_per_minute: 100, ..Quotas::default() };
        let mut u = Usage::default();
        q.check_produce(&mut u, 0, 60, 10).unwrap();
        u.produced("t", 0, 60, 10);
        q.check_produce(&mut u, 30_000, 40, 10).unwrap();
        u.produced("t", 30_000, 40, 10);
        let e = q.check_produce(&mut u, 59_999, 1, 1).unwrap_err();
        assert!(e.contains("100 records in the last 60 s + 1 = 101 > 100 allowed"), "{e}");
        // The first 60 are a minute old at 60 000 ms.
        q.check_produce(&mut u, 60_000, 60, 1).unwrap();
    }

    #[test]
    fn broker_bytes_count_until_the_topic_is_deleted() {
        let q = Quotas { broker_bytes: 100, ..Quotas::default() };
        let mut u = Usage::default();
        u.produced("a", 0, 1, 60);
        u.produced("b", 0, 1, 30);
        let e = q.check_produce(&mut u, 1, 1, 20).unwrap_err();
        assert!(e.contains("90 bytes produced into this lab's topics + 20 = 110 > 100 allowed"), "{e}");
        u.topic_deleted("a");
        q.check_produce(&mut u, 1, 1, 20).unwrap();
    }

    #[test]
    fn checkpoint_quota_and_line_bytes() {
        let q = Quotas { checkpoint_bytes: 1000, ..Quotas::default() };
        assert!(q.check_checkpoint(900, 100).is_ok());
        assert!(q.check_checkpoint(900, 101).unwrap_err().contains("900 bytes in this lab's checkpoint folder + 101 = 1001 > 1000"));
        assert_eq!(line_bytes(&["k:::v".into(), "vv".into()], Some(":::")), 4);
        assert_eq!(line_bytes(&["abc".into()], None), 3);
    }
}
