//! The executors' `KafkaDataConsumer` when a range's start is gone and `failOnDataLoss=false`: the warnings it logs
//! and where it goes on reading (`KafkaDataConsumer.get` / `getEarliestAvailableOffsetBetween`).

use crate::engine::INSTRUCTION_FALSE;
use engine::offsets::TopicPartition;

/// Where the task goes on after `OffsetOutOfRangeException` at `offset` of the range `[offset, until)`, with the
/// partition's available range `[earliest, latest)` (`consumer.getAvailableOffsetRange()`), and the WARN lines it
/// logs on the way, in order. `None`: nothing of the range is left (`UNKNOWN_OFFSET`), the task skips the rest.
pub struct Recovery {
    pub resume_at: Option<i64>,
    pub warnings: Vec<String>,
}

/// `additionalMessage(topicPartition, groupId, failOnDataLoss = false)`.
fn additional(tp: &TopicPartition, group: &str) -> String {
    format!("(GroupId: {group}, TopicPartition: {tp}). {INSTRUCTION_FALSE}")
}

/// `KafkaDataConsumer.get` catching `OffsetOutOfRangeException` (`reportDataLoss` logs `Cannot fetch offset …`), then
/// `getEarliestAvailableOffsetBetween`: the three cases of how `[offset, until)` overlaps `[earliest, latest)`.
/// Judged on real Spark 3.5.1 for the case "retention moved the log start into the range"
/// (`scenarios/structured/retention-fail-false.toml`); the texts of the other two cases are read in Spark's source.
pub fn out_of_range(tp: &TopicPartition, group: &str, offset: i64, until: i64, earliest: i64, latest: i64) -> Recovery {
    let mut warnings = vec![
        format!("Cannot fetch offset {offset} {}", additional(tp, group)),
        format!("Some data may be lost. Recovering from the earliest offset: {earliest}"),
    ];
    // `$range` is the case class `AvailableOffsetRange(earliest, latest)`; the texts are `stripMargin` blocks whose
    // closing line (eight spaces before `"""`) stays at their end.
    let range = format!("AvailableOffsetRange({earliest},{latest})");
    let resume_at = if offset >= latest || earliest >= until {
        warnings.push(format!(
            "\nThe current available offset range is {range}.\n Offset {offset} is out of range, and records in [{offset}, {until}) will be\n skipped {}\n        ",
            additional(tp, group)
        ));
        None
    } else if offset >= earliest {
        // the offset was gone and is back (a topic re-created and refilled fast): read it again
        warnings.push(format!("Found a disappeared offset {offset}. Some data may be lost {}", additional(tp, group)));
        Some(offset)
    } else {
        warnings.push(format!(
            "\nThe current available offset range is {range}.\n Offset {offset} is out of range, and records in [{offset}, {earliest}) will be\n skipped {}\n        ",
            additional(tp, group)
        ));
        Some(earliest)
    };
    Recovery { resume_at, warnings }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_inside_the_range_resumes_at_the_log_start() {
        let tp = TopicPartition::new("words", 0);
        let r = out_of_range(&tp, "g-executor", 2, 7, 5, 7);
        assert_eq!(r.resume_at, Some(5));
        assert_eq!(r.warnings.len(), 3);
        assert!(r.warnings[0]
            .starts_with("Cannot fetch offset 2 (GroupId: g-executor, TopicPartition: words-0). \nSome data may have been lost"));
        assert_eq!(r.warnings[1], "Some data may be lost. Recovering from the earliest offset: 5");
        assert!(r.warnings[2].starts_with(
            "\nThe current available offset range is AvailableOffsetRange(5,7).\n Offset 2 is out of range, and records in [2, 5) will be\n skipped (GroupId: g-executor"
        ));
        assert!(r.warnings[2].ends_with("\"true\".\n    \n        "));
    }

    #[test]
    fn nothing_left_of_the_range_skips_it() {
        let tp = TopicPartition::new("words", 0);
        let r = out_of_range(&tp, "g", 2, 4, 5, 9);
        assert_eq!(r.resume_at, None);
        assert!(r.warnings[2].contains("records in [2, 4) will be\n skipped"));
        let back = out_of_range(&tp, "g", 6, 8, 5, 9);
        assert_eq!(back.resume_at, Some(6));
        assert!(back.warnings[2].starts_with("Found a disappeared offset 6. Some data may be lost (GroupId: g"));
    }
}
