//! The prediction read off the engine's restart: the re-run batches, the first computed batch, the
//! exception that stops the context, what is re-read or skipped, and the restored commitQueue.

use std::collections::{BTreeMap, BTreeSet};

use engine::error::messages;
use engine::offsets::{OffsetRange, TopicPartition as Tp};
use engine::time::Time;
use engine::trace::Phase;
use kafka_model::GroupState;

use super::restart::Run;
use super::{CommitChange, Failure, FirstBatch, Lane, Log, PartitionCount, RangeOutcome, RestoredBatch, StreamPrediction, Subject};

/// Fills what the run shows into the stream's prediction.
/// `now` is the time of the batch the restart computes first.
pub(super) fn fill(s: &Subject, run: &Run, now: Time, p: &mut StreamPrediction) {
    let error = run.error();
    p.restored = run
        .restored()
        .map(|(t, ranges)| RestoredBatch { time: t.ms(), why: why(s, t).into(), ranges: outcomes(s, run, t, ranges, false) })
        .collect();
    let driver_error = error.as_ref().filter(|(_, phase, _)| *phase != Phase::Job).map(|(e, _, _)| e.clone());
    p.first_batch = first_batch(s, run, now, driver_error);
    if let Some((e, phase, batch)) = error {
        p.failures.push(Failure {
            side: if phase == Phase::Job { "executor" } else { "driver" }.into(),
            batch_time: Some(batch.unwrap_or(now).ms()),
            because: because(s, run, phase, batch),
            exception: e,
            certain: true,
        });
    }
    p.failures.extend(group_risk(s, now.ms()));
    p.re_read = re_read(&p.restored);
    p.skipped = p.first_batch.as_ref().map(|fb| skipped(s, &fb.ranges)).unwrap_or_default();
    p.commits_sent = run.commit_sent();
    if !p.commits_sent && !p.commits.is_empty() {
        p.notes.push("the restored commitQueue is not sent: the first compute does not get to commitAll".into());
    }
}

/// The partitions a lane is drawn for: the checkpoint's, the live topic's, and the first batch's.
pub(super) fn lanes(s: &Subject, first: Option<&FirstBatch>) -> Vec<Lane> {
    let mut tps: BTreeSet<Tp> = s.current.keys().cloned().collect();
    tps.extend(s.k.batch_for_time.iter().flat_map(|b| b.ranges.iter().map(|r| Tp::new(r.topic.clone(), r.partition))));
    tps.extend(
        s.k.consumer_strategy.iter().flat_map(|c| c.topic_partitions.iter().flatten()).map(|tp| Tp::new(tp.topic.clone(), tp.partition)),
    );
    if !s.assign() {
        for t in s.topics() {
            tps.extend(s.facts.topics.get(&t).into_iter().flatten().flatten().map(|p| Tp::new(t.clone(), p.partition)));
        }
    }
    tps.extend(first.into_iter().flat_map(|fb| fb.ranges.iter().map(|r| Tp::new(r.topic.clone(), r.partition))));
    let queued = queued(s);
    tps.into_iter()
        .map(|tp| {
            let log = s.facts.log(&tp);
            let (log_start, log_end) = match log {
                Log::Range(a, b) => (Some(a), Some(b)),
                _ => (None, None),
            };
            Lane {
                checkpoint_offset: s.current.get(&tp).copied(),
                log_start,
                log_end,
                exists: log.exists().into(),
                committed: s.committed.get(&tp).copied(),
                queued_commit: queued.get(&tp).copied(),
                topic: tp.topic,
                partition: tp.partition,
            }
        })
        .collect()
}

/// The restored `commitQueue` as `commitAll` drains it: per partition the highest `untilOffset`.
fn queued(s: &Subject) -> BTreeMap<Tp, i64> {
    let mut q: BTreeMap<Tp, i64> = BTreeMap::new();
    for r in &s.k.commit_queue {
        let e = q.entry(Tp::new(r.topic.clone(), r.partition)).or_insert(r.until_offset);
        *e = (*e).max(r.until_offset);
    }
    q
}

/// What the restored queue does to the group's committed offsets.
pub(super) fn commits(s: &Subject) -> Vec<CommitChange> {
    queued(s)
        .into_iter()
        .map(|(tp, will)| {
            let now = s.committed.get(&tp).copied();
            let note = match now {
                None => "the group has no committed offset here: this creates it".to_string(),
                Some(c) if c == will => "same as committed now".to_string(),
                Some(c) if c < will => {
                    format!("moves the committed offset forward from {c} to {will}: a reset of the group to {c} is undone")
                }
                Some(c) => format!("moves the committed offset back from {c} to {will}"),
            };
            CommitChange { topic: tp.topic, partition: tp.partition, committed: now, will_commit: will, note }
        })
        .collect()
}

/// What the checkpoint itself says the engine does not simulate.
pub(super) fn notes(s: &Subject) -> Vec<String> {
    let mut notes = Vec::new();
    if s.k.consumer_strategy.as_ref().is_some_and(|c| c.pattern.is_some()) {
        notes.push("SubscribePattern: topics matching the pattern that the checkpoint does not know are not predicted".into());
    }
    let files = s.cp.streams.iter().any(|st| !st.rdd_checkpoints.is_empty());
    if s.stateful && !files {
        notes.push("a stateful stream references no RDD checkpoint file: its state is recomputed from every remembered batch".into());
    }
    if s.k.backpressure == Some(true) {
        notes.push(
            "backpressure is on: the first batch may be clamped further than computed here (the sign of each range is the same)".into(),
        );
    }
    notes
}

fn why(s: &Subject, t: Time) -> &'static str {
    if s.cp.pending_times.contains(&t.ms()) {
        "pending"
    } else if t.ms() == s.cp.checkpoint_time {
        "checkpoint time"
    } else {
        "after the checkpoint time"
    }
}

/// Each range of a batch: what it reads when the batch's jobs ran, or the exception of the range it names.
fn outcomes(s: &Subject, run: &Run, t: Time, ranges: &[OffsetRange], driver_failed: bool) -> Vec<RangeOutcome> {
    let ok = !driver_failed && run.completed(t);
    let mut error = run.job_error(t).cloned();
    ranges
        .iter()
        .map(|r| {
            let tp = r.topic_partition();
            let mine = error.as_ref().is_some_and(|e| names(&e.message, r)).then(|| error.take()).flatten();
            let note = match (&mine, s.facts.log(&tp)) {
                (Some(_), Log::Range(a, b)) => format!("{tp} [{}, {}) against the log [{a}, {b})", r.from_offset, r.until_offset),
                (Some(_), log) => format!("{tp} [{}, {}): {}", r.from_offset, r.until_offset, log.exists()),
                (None, _) if ok => format!("{tp}: reads {} record(s) [{}, {})", r.count().max(0), r.from_offset, r.until_offset),
                (None, _) => format!("{tp} [{}, {}): not run", r.from_offset, r.until_offset),
            };
            let reads = if ok { r.count().max(0) } else { 0 };
            RangeOutcome {
                topic: r.topic.clone(),
                partition: r.partition,
                from_offset: r.from_offset,
                until_offset: r.until_offset,
                reads,
                error: mine,
                note,
            }
        })
        .collect()
}

/// Whether an exception's message is about this range's partition (Spark and Kafka name it `T-P` or `topic T partition P`).
fn names(message: &str, r: &OffsetRange) -> bool {
    let tp = r.topic_partition().to_string();
    message.contains(&format!(" {tp} "))
        || message.ends_with(&format!(" {tp}"))
        || message.contains(&format!("topic {} partition {}.", r.topic, r.partition))
}

/// The first batch `compute` built (or the driver's exception before it had ranges).
fn first_batch(s: &Subject, run: &Run, now: Time, driver_error: Option<engine::error::SparkError>) -> Option<FirstBatch> {
    let (t, ranges) = match &run.computed {
        Some((t, r)) => (*t, r.as_slice()),
        None if driver_error.is_some() => (now, &[][..]),
        None => return None,
    };
    let mut outcomes = outcomes(s, run, t, ranges, driver_error.is_some());
    for o in &mut outcomes {
        o.note = format!("from {}; {}", s.source(&Tp::new(o.topic.clone(), o.partition), false), o.note);
    }
    Some(FirstBatch { time: Some(t.ms()), num_records: ranges.iter().map(OffsetRange::count).sum(), ranges: outcomes, driver_error })
}

/// Why the exception is thrown, with the numbers.
fn because(s: &Subject, run: &Run, phase: Phase, batch: Option<Time>) -> String {
    let missing: Vec<String> = s
        .current
        .keys()
        .filter(|tp| matches!(s.facts.log(tp), Log::NoTopic | Log::NoPartition))
        .map(|tp| format!("{tp} ({})", s.facts.log(tp).exists()))
        .collect();
    let mut parts = Vec::new();
    if !missing.is_empty() {
        parts.push(format!("the checkpoint has partitions Kafka does not have: {}", missing.join(", ")));
    }
    match (&run.computed, phase) {
        (Some((_, ranges)), Phase::Start | Phase::Generate) => {
            let each: Vec<String> =
                ranges.iter().map(|r| format!("{} [{}, {}) = {}", r.topic_partition(), r.from_offset, r.until_offset, r.count())).collect();
            let sum: i64 = ranges.iter().map(OffsetRange::count).sum();
            parts.push(format!("the first batch's ranges are {}; the sum is {sum}", each.join(", ")));
        }
        (None, Phase::Start | Phase::Generate) => parts.push("the driver's consumer fails before the first batch has ranges".into()),
        _ => {
            let t = batch.map_or("?".into(), |t| t.ms().to_string());
            match run.restored().find(|(b, _)| Some(*b) == batch) {
                Some((b, _)) => parts.push(format!(
                    "the job of restored batch {t} ({}) failed; the batch stays pending, so every restart re-runs it",
                    why(s, b)
                )),
                None => parts.push(format!("the job of the first new batch {t} failed")),
            }
        }
    }
    if phase == Phase::Start {
        parts.push("thrown inside JobGenerator.restart, so ssc.start() fails; every restart from this checkpoint does the same".into());
    }
    parts.join("; ")
}

/// A live member of a subscribed group takes partitions from the Spark driver when it joins (§6e); the facts
/// cannot say whether the members are alive (an old driver leaves after `session.timeout.ms`).
fn group_risk(s: &Subject, first: i64) -> Option<Failure> {
    let state = s.group.as_ref().and_then(|g| s.facts.groups.get(g)).and_then(|g| g.state)?;
    let busy = matches!(state, GroupState::Stable | GroupState::PreparingRebalance | GroupState::CompletingRebalance);
    // onStart seeks in currentOffsets' own order (the checkpoint keeps it): its first partition is the likeliest to fail
    let tp = s.k.current_offsets.first().map(|o| Tp::new(o.topic.clone(), o.partition)).filter(|_| busy && !s.assign())?;
    Some(Failure {
        exception: messages::no_current_assignment(&tp),
        side: "driver".into(),
        batch_time: Some(first),
        because: format!("group {} is {state}: if its members are still there when Spark joins, the partitions are shared out and onStart seeks ones it was not given (an old driver killed less than session.timeout.ms ago leaves on its own)", s.group.as_deref().unwrap_or("?")),
        certain: false,
    })
}

/// Restored batches run their outputs again (state is not double-counted; print, foreachRDD and commitAsync are).
fn re_read(restored: &[RestoredBatch]) -> Vec<PartitionCount> {
    let mut m: BTreeMap<Tp, (i64, usize)> = BTreeMap::new();
    for r in restored.iter().flat_map(|b| b.ranges.iter()).filter(|r| r.error.is_none() && r.reads > 0) {
        let e = m.entry(Tp::new(r.topic.clone(), r.partition)).or_default();
        e.0 += r.reads;
        e.1 += 1;
    }
    m.into_iter()
        .map(|(tp, (records, batches))| PartitionCount {
            topic: tp.topic,
            partition: tp.partition,
            records,
            because: format!("{batches} restored batch(es) re-run with their checkpointed ranges: outputs run again"),
        })
        .collect()
}

/// The new log below where the first batch starts, on a topic whose log went back below the checkpoint, and
/// what `latest` passes over on partitions new to the checkpoint.
fn skipped(s: &Subject, ranges: &[RangeOutcome]) -> Vec<PartitionCount> {
    let went_back: BTreeSet<&str> = s
        .current
        .iter()
        .filter(|(tp, o)| matches!(s.facts.log(tp), Log::Range(_, end) if end < **o))
        .map(|(tp, _)| tp.topic.as_str())
        .collect();
    let mut out = Vec::new();
    for r in ranges {
        let tp = Tp::new(r.topic.clone(), r.partition);
        let Log::Range(start, end) = s.facts.log(&tp) else { continue };
        let below = r.from_offset.min(end) - start;
        let because = if s.current.contains_key(&tp) && went_back.contains(tp.topic.as_str()) {
            format!("the log of {} went back (re-created or wiped): records [{start}, {}) are below where Spark resumes ({}) and are never read", tp.topic, r.from_offset.min(end), r.from_offset)
        } else if !s.current.contains_key(&tp) && !s.committed.contains_key(&tp) && s.reset == "latest" {
            format!("new to the checkpoint, no committed offset: latest starts at {end}, records [{start}, {end}) are never read")
        } else {
            continue;
        };
        if below > 0 {
            out.push(PartitionCount { topic: r.topic.clone(), partition: r.partition, records: below, because });
        }
    }
    out
}
