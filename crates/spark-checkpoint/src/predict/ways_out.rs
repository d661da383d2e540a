//! What the user can do when the restart fails: a new checkpoint directory (run in the engine as a fresh
//! start of the same job: where each partition starts and whether that fails too), or producing until every
//! log end reaches what the checkpoint reads; each with what it costs.

use std::collections::{BTreeMap, BTreeSet};

use engine::offsets::TopicPartition as Tp;

use super::restart::Setup;
use super::{Log, RestoredBatch, Start, Subject, WayOut};

pub(super) fn ways_out(s: &Subject, setup: &Setup, restored: &[RestoredBatch]) -> Vec<WayOut> {
    let mut out = vec![new_directory(s, setup, restored)];
    out.extend(produce(s, restored));
    out
}

/// `creatingFunc` runs: `start()` takes the strategy's offsets, else the committed ones, else `auto.offset.reset` (§2.2).
fn new_directory(s: &Subject, setup: &Setup, restored: &[RestoredBatch]) -> WayOut {
    let fresh = setup.fresh_start();
    let starts: Vec<Start> = fresh
        .positions
        .iter()
        .flatten()
        .map(|(tp, &o)| Start { topic: tp.topic.clone(), partition: tp.partition, offset: Some(o), source: s.source(tp, true), records: 0 })
        .collect();
    let mut costs = Vec::new();
    if s.stateful {
        let names: Vec<String> =
            s.cp.streams
                .iter()
                .filter(|st| st.class.ends_with("StateDStream"))
                .map(|st| format!("#{} {}", st.handle, st.class.rsplit('.').next().unwrap_or(&st.class)))
                .collect();
        let names = if names.is_empty() { "stateful stream".to_string() } else { names.join(", ") };
        costs.push(format!("the updateStateByKey state is lost and starts empty ({names})"));
    }
    let (re_read, skipped) = compared_with_checkpoint(s, &starts);
    if re_read > 0 {
        costs.push(format!("{re_read} record(s) before the checkpoint's offsets are read again"));
    }
    if skipped > 0 {
        costs.push(format!("{skipped} record(s) are never read"));
    }
    let pending: i64 =
        restored.iter().filter(|b| b.why == "pending").flat_map(|b| b.ranges.iter()).map(|r| (r.until_offset - r.from_offset).max(0)).sum();
    if pending > 0 {
        costs.push(format!("the pending batches ({pending} record(s) in their ranges) are not re-run from the checkpoint"));
    }
    if !s.k.commit_queue.is_empty() {
        costs.push("the checkpoint's queued commits are never sent".into());
    }
    costs.extend(gone_topics(s));
    costs.push("topics, group.id, batch interval and Spark conf come from the new code instead of the checkpoint".into());
    WayOut {
        title: "start with a new checkpoint directory (or delete this one)".into(),
        starts,
        failure: fresh.error().map(|(e, _, _)| e),
        costs,
    }
}

/// Records read again (a start below the checkpoint's offset) and never read (above it, or below a log that
/// went back under it), per the fresh start's positions.
fn compared_with_checkpoint(s: &Subject, starts: &[Start]) -> (i64, i64) {
    let (mut re_read, mut skipped) = (0, 0);
    for st in starts {
        let tp = Tp::new(st.topic.clone(), st.partition);
        let (Some(o), Log::Range(start, end)) = (st.offset, s.facts.log(&tp)) else { continue };
        match s.current.get(&tp).copied() {
            Some(ck) if ck <= end && o < ck => re_read += ck - o.max(start),
            Some(ck) if ck <= end => skipped += o.min(end) - ck.max(start),
            Some(_) => skipped += o.min(end) - start,
            None if s.reset == "latest" => skipped += o.min(end) - start,
            None => {}
        }
    }
    (re_read, skipped)
}

fn gone_topics(s: &Subject) -> Option<String> {
    let gone: Vec<String> = s
        .topics()
        .into_iter()
        .chain(s.current.keys().map(|tp| tp.topic.clone()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .filter(|t| matches!(s.facts.topics.get(t), Some(None)))
        .collect();
    if gone.is_empty() {
        return None;
    }
    let what = if s.assign() {
        "Assign's position() never answers until they are created".to_string()
    } else {
        format!("Subscribe gets no partitions until they are created, then starts them per auto.offset.reset={}", s.reset)
    };
    Some(format!("topic(s) {} do not exist: {what}", gone.join(", ")))
}

/// Produce until every log end reaches what the checkpoint will read; only for logs that are short.
fn produce(s: &Subject, restored: &[RestoredBatch]) -> Option<WayOut> {
    let ranges = || restored.iter().flat_map(|b| b.ranges.iter()).filter(|r| r.until_offset > r.from_offset);
    let mut need: BTreeMap<Tp, i64> = s.current.clone();
    for r in ranges() {
        let e = need.entry(Tp::new(r.topic.clone(), r.partition)).or_insert(r.until_offset);
        *e = (*e).max(r.until_offset);
    }
    let (mut starts, mut missing, mut behind_start) = (Vec::new(), Vec::new(), false);
    for (tp, &target) in &need {
        let log = s.facts.log(tp);
        let (end, source) = match log {
            Log::Range(start, end) => {
                let from = s.current.get(tp).copied().unwrap_or(target);
                behind_start |=
                    from < start || ranges().any(|r| r.topic == tp.topic && r.partition == tp.partition && r.from_offset < start);
                (end, format!("log end {end}"))
            }
            Log::NoTopic | Log::NoPartition => {
                missing.push(tp.to_string());
                // Once created, the partition's log starts at 0.
                (0, format!("{}: create it, then log end 0", log.exists()))
            }
            Log::Unknown => continue,
        };
        if target > end {
            starts.push(Start { topic: tp.topic.clone(), partition: tp.partition, offset: Some(target), source, records: target - end });
        }
    }
    if starts.is_empty() && missing.is_empty() {
        return None;
    }
    let total: i64 = starts.iter().map(|s| s.records).sum();
    let mut costs = vec![format!(
        "{total} record(s) written only to move the log ends; the restored batches read them as if they were the old data and the app resumes after them: whatever the new log held below the checkpoint's offsets is skipped"
    )];
    if !missing.is_empty() {
        costs.push(format!("create the missing partitions first: {}", missing.join(", ")));
    }
    if behind_start {
        costs.push("does not help with ranges before the log start: those records are gone".into());
    }
    Some(WayOut { title: "produce until every partition's log end reaches the checkpoint's offsets".into(), starts, failure: None, costs })
}
