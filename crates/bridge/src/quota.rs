//! Per-lab quotas: topics, partitions, records per minute, bytes on the broker, checkpoint bytes on
//! disk, and the topic configs that make the broker keep a lab's topics within its bytes. Pure
//! accounting (times and measures are passed in); the server asks before an operation and records after.

use protocol::NewRecord;
use std::collections::{BTreeMap, VecDeque};

#[derive(Clone, Debug, PartialEq)]
pub struct Quotas {
    pub topics: usize,
    pub partitions: i64,
    pub records_per_minute: u64,
    /// Bytes of this lab's topics on the broker's disk (DescribeLogDirs), over its live topics.
    pub broker_bytes: u64,
    pub checkpoint_bytes: u64,
}

impl Default for Quotas {
    fn default() -> Quotas {
        Quotas { topics: 5, partitions: 24, records_per_minute: 20_000, broker_bytes: 50 * 1024 * 1024, checkpoint_bytes: 20 * 1024 * 1024 }
    }
}

const MINUTE_MS: i64 = 60_000;

/// How long a measure of a lab's bytes on the broker is used before it is taken again.
pub const MEASURE_EVERY_MS: i64 = 5_000;

/// Kafka's smallest `segment.bytes` (1 MiB): a log rolls to a new segment at this size.
pub const SEGMENT_BYTES: u64 = 1024 * 1024;

/// What one lab has used. Topic counts come from Kafka at each create and bytes on the broker from
/// Kafka's own log sizes (both survive a bridge restart); records per minute are counted here.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Usage {
    /// (time ms, records) of the produces of the last minute.
    recent: VecDeque<(i64, u64)>,
    /// The lab's topics' size on the broker (per topic) and when it was measured.
    measured: Option<(i64, BTreeMap<String, u64>)>,
    /// Key and value bytes produced since that measure (not in it yet).
    since: u64,
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
                "broker-bytes quota: {on_broker} bytes of this lab's topics on the broker + {bytes} = {} > {} allowed; delete a topic first",
                on_broker + bytes,
                self.broker_bytes
            ));
        }
        Ok(())
    }

    /// The configs a workshop lab's topics are made with, so that the broker itself keeps the lab
    /// within its bytes on the broker: a partition holds `retention.bytes` of closed segments plus the
    /// segment being written (at most `segment.bytes`), and a lab has at most `partitions` partitions.
    /// Kafka deletes the oldest closed segments beyond `retention.bytes` at each retention check.
    pub fn topic_configs(&self) -> Vec<(String, String)> {
        // Below 2 MiB a partition the config cannot keep the bound (segments are at least 1 MiB); the
        // produce check still refuses what goes over.
        let per_partition = self.broker_bytes / self.partitions.max(1) as u64;
        let retention = per_partition.saturating_sub(SEGMENT_BYTES).max(1);
        vec![("retention.bytes".into(), retention.to_string()), ("segment.bytes".into(), SEGMENT_BYTES.to_string())]
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
    pub fn produced(&mut self, now_ms: i64, records: u64, bytes: u64) {
        self.recent.push_back((now_ms, records));
        self.since += bytes;
    }

    /// A deleted topic's bytes are given back at once (Kafka removes its files shortly after).
    pub fn topic_deleted(&mut self, topic: &str) {
        if let Some((_, sizes)) = &mut self.measured {
            sizes.remove(topic);
        }
    }

    /// Whether the bytes on the broker should be measured again at `now_ms`.
    pub fn measure_due(&self, now_ms: i64) -> bool {
        self.measured.as_ref().is_none_or(|(at, _)| now_ms - at >= MEASURE_EVERY_MS)
    }

    /// Kafka's sizes of the lab's topics at `now_ms` (what was produced before is in them).
    pub fn measured(&mut self, now_ms: i64, sizes: BTreeMap<String, u64>) {
        self.measured = Some((now_ms, sizes));
        self.since = 0;
    }

    /// The lab's bytes on the broker: the last measure and what was produced since.
    pub fn broker_bytes(&self) -> u64 {
        self.measured.as_ref().map_or(0, |(_, s)| s.values().sum()) + self.since
    }

    fn forget_before(&mut self, ms: i64) {
        while self.recent.front().is_some_and(|(t, _)| *t <= ms) {
            self.recent.pop_front();
        }
    }
}

/// Key and value bytes of the records a produce sends.
pub fn record_bytes(records: &[NewRecord]) -> u64 {
    records.iter().map(|r| (r.key.as_ref().map_or(0, String::len) + r.value.len()) as u64).sum()
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
        u.produced(0, 60, 10);
        q.check_produce(&mut u, 30_000, 40, 10).unwrap();
        u.produced(30_000, 40, 10);
        let e = q.check_produce(&mut u, 59_999, 1, 1).unwrap_err();
        assert!(e.contains("100 records in the last 60 s + 1 = 101 > 100 allowed"), "{e}");
        // The first 60 are a minute old at 60 000 ms.
        q.check_produce(&mut u, 60_000, 60, 1).unwrap();
    }

    #[test]
    fn broker_bytes_are_kafkas_measure_plus_what_was_produced_since_until_the_topic_is_deleted() {
        let q = Quotas { broker_bytes: 100, ..Quotas::default() };
        let mut u = Usage::default();
        assert!(u.measure_due(0), "a restarted bridge measures first");
        u.measured(0, [("a".to_string(), 60), ("b".to_string(), 20)].into());
        u.produced(1, 1, 10);
        assert!(!u.measure_due(MEASURE_EVERY_MS - 1) && u.measure_due(MEASURE_EVERY_MS));
        let e = q.check_produce(&mut u, 1, 1, 20).unwrap_err();
        assert!(e.contains("90 bytes of this lab's topics on the broker + 20 = 110 > 100 allowed"), "{e}");
        u.topic_deleted("a");
        q.check_produce(&mut u, 1, 1, 20).unwrap();
        // The next measure holds what was produced: it is not counted twice.
        u.measured(2, [("b".to_string(), 35)].into());
        assert_eq!(u.broker_bytes(), 35);
    }

    #[test]
    fn topic_configs_keep_a_lab_at_its_limit_partitions_within_its_broker_bytes() {
        let q = Quotas::default();
        let c: BTreeMap<String, u64> = q.topic_configs().into_iter().map(|(k, v)| (k, v.parse().unwrap())).collect();
        let (retention, segment) = (c["retention.bytes"], c["segment.bytes"]);
        assert_eq!(segment, SEGMENT_BYTES);
        assert!((retention + segment) * q.partitions as u64 <= q.broker_bytes, "{retention} + {segment}");
        assert!(retention > 0);
    }

    #[test]
    fn checkpoint_quota_and_line_bytes() {
        let q = Quotas { checkpoint_bytes: 1000, ..Quotas::default() };
        assert!(q.check_checkpoint(900, 100).is_ok());
        assert!(q.check_checkpoint(900, 101).unwrap_err().contains("900 bytes in this lab's checkpoint folder + 101 = 1001 > 1000"));
        assert_eq!(record_bytes(&[NewRecord::new(Some("k"), "v"), NewRecord::new(None, "vv")]), 4);
        assert_eq!(record_bytes(&[NewRecord::new(None, "abc")]), 3);
    }
}
