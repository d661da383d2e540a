//! The Kafka source's read limits (`KafkaMicroBatchStream.getDefaultReadLimit` / `latestOffset(start, limit)` /
//! `delayBatch`, and `MicroBatchExecution`'s choice of limit per trigger): `maxOffsetsPerTrigger`,
//! `minOffsetsPerTrigger` with `maxTriggerDelay`, and `Trigger.Once` reading everything.

use crate::options::Trigger;
use engine::offsets::Offsets;

/// `KafkaSourceProvider.DEFAULT_MAX_TRIGGER_DELAY`.
pub const DEFAULT_MAX_TRIGGER_DELAY_MS: i64 = 15 * 60 * 1000;

/// `minOffsetsPerTrigger` and its `maxTriggerDelay` (`ReadLimit.minRows(min, delay)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MinRows {
    pub min: i64,
    pub max_trigger_delay_ms: i64,
}

/// `Utils.timeStringAsMs`: a number with an optional unit (`us`, `ms`, `s`, `m`/`min`, `h`, `d`); no unit is ms.
/// The message for a bad value is `JavaUtils.timeStringAs`' first line (the rest of it is inferred).
pub fn time_string_as_ms(v: &str) -> Result<i64, String> {
    let s = v.trim().to_ascii_lowercase();
    let digits = s.bytes().take_while(|b| b.is_ascii_digit()).count();
    let (num, unit) = s.split_at(digits);
    let n: i64 = num.parse().map_err(|_| bad_time(v))?;
    let per_ms: (i64, i64) = match unit.trim() {
        "" | "ms" => (1, 1),
        "us" => (1, 1000),
        "s" => (1000, 1),
        "m" | "min" => (60_000, 1),
        "h" => (3_600_000, 1),
        "d" => (86_400_000, 1),
        _ => return Err(bad_time(v)),
    };
    n.checked_mul(per_ms.0).map(|x| x / per_ms.1).ok_or_else(|| bad_time(v))
}

fn bad_time(v: &str) -> String {
    format!(
        "Time must be specified as seconds (s), milliseconds (ms), microseconds (us), minutes (m or min), hour (h), or day (d). E.g. 50s, 100ms, or 250us.\nInvalid suffix: \"{}\"",
        v.trim()
    )
}

/// Whether the source's limits apply to this trigger: `MicroBatchExecution` gives every source
/// `ReadLimit.allAvailable()` under `Trigger.Once` (`SingleBatchExecutor`), logging that the limit is ignored.
pub fn limits_apply(trigger: &Trigger) -> bool {
    *trigger != Trigger::Once
}

/// `KafkaMicroBatchStream.delayBatch`: skip this trigger while fewer than `min` records are new and
/// `maxTriggerDelay` has not passed since the last trigger that ran (`lastTriggerMillis`, 0 for a new stream, so a
/// query's first trigger never waits). Returns (skip, the new `lastTriggerMillis`). New records are counted from 0
/// for a partition the start does not know (`currentOffsets.getOrElse(tp, 0L)`).
pub fn delay_batch(limit: MinRows, latest: &Offsets, start: &Offsets, now_ms: i64, last_trigger_ms: i64) -> (bool, i64) {
    if now_ms - last_trigger_ms >= limit.max_trigger_delay_ms {
        return (false, now_ms);
    }
    let new_records: f64 = latest.iter().map(|(tp, o)| (o - start.get(tp).copied().unwrap_or(0)) as f64).sum();
    if new_records < limit.min as f64 {
        (true, last_trigger_ms)
    } else {
        (false, now_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine::offsets::TopicPartition;

    #[test]
    fn spark_time_strings() {
        assert_eq!(time_string_as_ms("15m"), Ok(DEFAULT_MAX_TRIGGER_DELAY_MS));
        assert_eq!(time_string_as_ms("12s"), Ok(12_000));
        assert_eq!(time_string_as_ms("250"), Ok(250));
        assert_eq!(time_string_as_ms("1500us"), Ok(1));
        assert!(time_string_as_ms("12 parsecs").unwrap_err().starts_with("Time must be specified as seconds (s)"));
    }

    #[test]
    fn waits_for_min_rows_until_the_delay_passes() {
        let tp = TopicPartition::new("w", 0);
        let start: Offsets = [(tp.clone(), 1)].into();
        let latest: Offsets = [(tp.clone(), 2)].into();
        let limit = MinRows { min: 3, max_trigger_delay_ms: 12_000 };
        // a new stream's first trigger: lastTriggerMillis is 0
        assert_eq!(delay_batch(limit, &latest, &start, 50_000, 0), (false, 50_000));
        assert_eq!(delay_batch(limit, &latest, &start, 55_000, 50_000), (true, 50_000));
        assert_eq!(delay_batch(limit, &latest, &start, 62_000, 50_000), (false, 62_000));
        let enough: Offsets = [(tp, 4)].into();
        assert_eq!(delay_batch(limit, &enough, &start, 55_000, 50_000), (false, 55_000));
        assert!(!limits_apply(&Trigger::Once));
        assert!(limits_apply(&Trigger::AvailableNow));
    }
}
