//! The readable form of a run: what happened, in time order, and after every step the numbers
//! that decide what Spark reads, side by side (like the spec's §8.2 table).

use crate::runner::{LogEntry, Status};
use engine::offsets::OffsetRange;
use engine::time::clock;
use engine::trace::{StartMode, TraceEvent};
use std::fmt::Write;

pub fn render(title: &str, log: &[LogEntry]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{title}");
    for entry in log {
        match entry {
            LogEntry::Step { index, at, action } => {
                let head = format!("── step {} · {} · {action} ", index + 1, clock(*at));
                let pad = 100usize.saturating_sub(head.chars().count());
                let _ = writeln!(s, "\n{head}{}", "─".repeat(pad));
            }
            LogEntry::Trace(line) => {
                if let Some(text) = event_text(&line.event) {
                    for (i, l) in text.lines().enumerate() {
                        let when = if i == 0 { clock(line.t) } else { String::new() };
                        let _ = writeln!(s, "  {when:>12}  {l}");
                    }
                }
            }
            LogEntry::Tool { lines, .. } => {
                for l in lines {
                    let _ = writeln!(s, "  {:>12}  │ {l}", "");
                }
            }
            LogEntry::Status(st) => render_status(&mut s, st),
            LogEntry::Failure { message, .. } => {
                let _ = writeln!(s, "  ✗ EXPECTATION FAILED: {message}");
            }
        }
    }
    s
}

fn ranges_text(ranges: &[OffsetRange]) -> String {
    ranges
        .iter()
        .map(|r| {
            let neg = if r.count() < 0 { " (negative!)" } else { "" };
            format!("{}-{} [{},{}){neg}", r.topic, r.partition, r.from_offset, r.until_offset)
        })
        .collect::<Vec<_>>()
        .join("  ")
}

fn event_text(e: &TraceEvent) -> Option<String> {
    Some(match e {
        TraceEvent::ContextStarted { mode: StartMode::Fresh, zero_time, first_batch, .. } => {
            format!("context started fresh (creatingFunc ran): zeroTime {}, first batch {}", clock(*zero_time), clock(*first_batch))
        }
        TraceEvent::ContextStarted { checkpoint_file, first_batch, rescheduled, .. } => format!(
            "context recovered from {} (creatingFunc NOT called): restartTime {}, re-running {}",
            checkpoint_file.as_deref().unwrap_or("?"),
            clock(*first_batch),
            if rescheduled.is_empty() {
                "nothing".to_string()
            } else {
                rescheduled.iter().map(|t| clock(*t)).collect::<Vec<_>>().join(", ")
            }
        ),
        TraceEvent::CheckpointRead { file, ok: true, .. } => format!("read {file}: ok"),
        TraceEvent::CheckpointRead { file, error, .. } => format!("read {file}: unreadable ({})", error.as_deref().unwrap_or("?")),
        TraceEvent::BatchGenerated { batch, ranges, num_records, rerun, restored } => {
            let kind = match (rerun, restored) {
                (true, true) => " — re-run with the ranges restored from the checkpoint",
                (true, false) => " — re-run, computed now",
                _ => "",
            };
            format!("batch {} generated: {}  numRecords {num_records}{kind}", clock(*batch), ranges_text(ranges))
        }
        TraceEvent::CommitSent { group, offsets, auto } => format!(
            "{} → OffsetCommit group {group}: {}",
            if *auto { "driver consumer's enable.auto.commit (its positions = log end)" } else { "commitAll" },
            offsets.iter().map(|o| format!("{}-{}={}", o.topic, o.partition, o.offset)).collect::<Vec<_>>().join(" ")
        ),
        TraceEvent::CommitCompleted { error: Some(err), .. } => format!("commit failed in Kafka: {err}"),
        TraceEvent::CommitCompleted { .. } => return None,
        TraceEvent::JobStarted { .. } | TraceEvent::BatchCompleted { .. } => return None,
        TraceEvent::Output { lines, .. } => {
            let items: Vec<&String> = lines.iter().skip(3).filter(|l| !l.is_empty()).collect();
            let shown: Vec<&str> = items.iter().map(|s| s.as_str()).collect();
            format!("print(): {}", if shown.is_empty() { "(empty)".into() } else { shown.join(" ") })
        }
        TraceEvent::JobFinished { error: Some(err), output_op, batch } => {
            format!("job {output_op} of batch {} FAILED: {}: {}", clock(*batch), err.class, err.message)
        }
        TraceEvent::JobFinished { .. } => return None,
        TraceEvent::CheckpointWritten { file, checkpoint, files } => {
            let cur: Vec<String> = checkpoint.current_offsets.iter().map(|o| format!("{}-{}={}", o.topic, o.partition, o.offset)).collect();
            let pending: Vec<String> = checkpoint.pending_times.iter().map(|t| clock(*t)).collect();
            format!(
                "{file} written (checkpointTime {}, currentOffsets {}, commitQueue {} range(s), pendingTimes [{}]); {} file(s) in the directory",
                clock(checkpoint.checkpoint_time),
                cur.join(" "),
                checkpoint.commit_queue.len(),
                pending.join(", "),
                files.len()
            )
        }
        TraceEvent::StateCheckpointed { batch, file } => format!("state of batch {} saved to {file}", clock(*batch)),
        TraceEvent::Error { class, message, phase } => format!("EXCEPTION ({phase:?}): {class}: {message}"),
        TraceEvent::ContextStopped { killed: true, .. } => "driver killed: no more batches, no LeaveGroup".into(),
        TraceEvent::ContextStopped { graceful, .. } => {
            format!("context stopped{}; consumer closed (LeaveGroup)", if *graceful { " gracefully" } else { "" })
        }
    })
}

fn opt(v: Option<i64>) -> String {
    v.map_or("-".into(), |v| v.to_string())
}

fn render_status(s: &mut String, st: &Status) {
    let _ = writeln!(
        s,
        "  {:>12}  ┌ {:<12} {:>9} {:>9} {:>15} {:>17} {:>14}",
        "", "partition", "log start", "log end", "currentOffsets", "newest checkpoint", "committed"
    );
    for r in &st.rows {
        let mark = match (r.current.or(r.checkpointed), r.log_end) {
            (Some(o), Some(e)) if o > e => "  ← ahead of the log end",
            (Some(o), _) if r.log_start.is_some_and(|s| o < s) => "  ← behind the log start",
            (Some(_), None) => "  ← partition does not exist",
            _ => "",
        };
        let _ = writeln!(
            s,
            "  {:>12}  │ {:<12} {:>9} {:>9} {:>15} {:>17} {:>14}{mark}",
            "",
            r.partition.to_string(),
            opt(r.log_start),
            opt(r.log_end),
            opt(r.current),
            opt(r.checkpointed),
            opt(r.committed)
        );
    }
    let files = match st.checkpoint_files.last() {
        Some(last) => format!("{} file(s), newest {last}", st.checkpoint_files.len()),
        None => "no checkpoint files".into(),
    };
    let _ = writeln!(
        s,
        "  {:>12}  └ job {} · group {}: {} · {files}",
        "",
        if st.running { "running" } else { "not running" },
        st.group,
        st.group_state
    );
}
