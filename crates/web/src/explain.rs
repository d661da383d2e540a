//! Errors explained: the exact exception, why it happened here (with this run's numbers) and the
//! ways out, for the failures the seed experiment and its variants produce.

use crate::views::BatchRow;
use crate::views::BatchStatus;
use engine::offsets::OffsetRange;
use scenario::runner::Status;

pub struct Explanation {
    /// `java.lang.IllegalArgumentException: requirement failed: …`, exactly.
    pub exception: String,
    pub why: Vec<String>,
    pub ways_out: Vec<String>,
    /// The ranges the failing compute had, when they can be read off the markers (negative ones).
    pub failed_ranges: Vec<OffsetRange>,
}

pub fn explain(class: &str, message: &str, status: &Status) -> Explanation {
    let exception = format!("{class}: {message}");
    let mut why = Vec::new();
    let mut ways_out = Vec::new();
    let mut failed_ranges = Vec::new();
    if message.contains("numRecords must not be negative") {
        let mut sum = 0;
        for r in &status.rows {
            let from = r.current.or(r.checkpointed);
            if let (Some(from), Some(end)) = (from, r.log_end) {
                let range = OffsetRange::new(&r.partition, from, end);
                if end < from {
                    why.push(format!(
                        "{}: the checkpoint's currentOffsets say {from}, the log end is {end} → range [{from}, {end}) counts {}",
                        r.partition,
                        end - from
                    ));
                }
                sum += range.count();
                failed_ranges.push(range);
            }
        }
        why.push(format!("numRecords = Σ (untilOffset − fromOffset) = {sum} < 0, so StreamInputInfo's require fails inside ssc.start() — before any job runs, and again on every restart from this checkpoint."));
        ways_out.push("Delete the checkpoint directory (rm -r): getOrCreate runs creatingFunc, a fresh start from the group's committed offsets or auto.offset.reset. Cost: the updateStateByKey state, and with latest the records already in the new topic are skipped.".into());
        ways_out.push("Rewinding the group does not help: a recovered job never reads the group's offsets.".into());
        ways_out.push("Producing until the log end passes the checkpoint's offsets makes the driver pass, but the job then reads records it never saw under offsets it thinks it did (see the topic-recreated-refilled scenario).".into());
    } else if class.contains("OffsetOutOfRange") {
        for r in &status.rows {
            if let (Some(c), Some(s)) = (r.current.or(r.checkpointed), r.log_start) {
                if c < s {
                    why.push(format!(
                        "{}: the job wants offset {c}, but the log starts at {s} (retention or delete-records removed it)",
                        r.partition
                    ));
                }
            }
        }
        ways_out.push("Delete the checkpoint directory; with auto.offset.reset=earliest the job starts at the log start.".into());
    } else if message.contains("Failed to read checkpoint") {
        why.push("The application's classes changed: the checkpoint's serialized graph no longer deserializes.".into());
        ways_out.push("Go back to the old code, or delete the checkpoint directory (losing the state and the checkpointed offsets; the group's committed offsets are used instead).".into());
    } else if message.contains("before the position for partition") {
        why.push("The topic is gone: the driver consumer still holds its partitions (no rebalance happened), so latestOffsets()' seekToEnd + position() retried for default.api.timeout.ms and gave up. A real driver hangs that minute first; this lab raises the exception at once.".into());
        ways_out.push("A topic re-created within that minute lets the batch go on — to a log end below currentOffsets: numRecords must not be negative.".into());
        ways_out.push("Or stop the job, delete the checkpoint directory and start afresh once the topic exists again.".into());
    } else if message.contains("revoked") {
        why.push(format!("Another consumer in group {} took partitions away from Spark's driver consumer.", status.group));
        ways_out.push("Use a group.id no other consumer uses.".into());
    } else {
        why.push("See the trace for the batch that raised it.".into());
    }
    Explanation { exception, why, ways_out, failed_ranges }
}

/// The failing batch as a row for the timeline (Spark never generated it: the compute threw).
pub fn failed_row(e: &Explanation, batch: engine::time::Time) -> BatchRow {
    BatchRow {
        batch,
        num_records: e.failed_ranges.iter().map(OffsetRange::count).sum(),
        ranges: e.failed_ranges.clone(),
        rerun: false,
        restored: false,
        status: BatchStatus::Failed,
        error: Some(e.exception.clone()),
        output: Vec::new(),
        synthetic: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::walkthrough::session_at;

    #[test]
    fn the_numrecords_explanation_carries_this_runs_numbers() {
        let s = session_at(0, 7);
        let (class, message, _, _) = crate::views::last_error(&s.run.trace).unwrap();
        let e = explain(&class, &message, &s.run.status(s.now));
        assert_eq!(e.exception, "java.lang.IllegalArgumentException: requirement failed: numRecords must not be negative");
        assert!(
            e.why[0].starts_with("words-0: the checkpoint's currentOffsets say 2, the log end is 0 → range [2, 0) counts -2"),
            "{:?}",
            e.why
        );
        assert!(e.why.last().unwrap().contains("= -4 < 0"), "{:?}", e.why);
        assert_eq!(failed_row(&e, s.now).num_records, -4);
    }
}
