//! "Will my restart crash?": what `StreamingContext.getOrCreate` will do with a decoded checkpoint against
//! the live Kafka (log start/end per partition, the group's committed offsets and state). Pure: the facts
//! come in as data, from a facts file, a live broker (the CLI's `--bootstrap`) or the page's Kafka.
//!
//! The rules are `spark-semantics.md` §1.3–§1.10, §2.2, §4.1 and §6; the exception texts are the engine's
//! (`engine::error::messages`), so the prediction and the simulated run say the same words.

use std::collections::{BTreeMap, BTreeSet};

use engine::error::{messages, SparkError};
use engine::offsets::TopicPartition as Tp;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::spark::{Checkpoint, KafkaStream, OffsetRange};

/// What is true of the live Kafka now.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Facts {
    /// Per topic the partitions that exist; `null` means the topic does not exist. A topic not listed is unknown.
    #[serde(default)]
    pub topics: BTreeMap<String, Option<Vec<PartitionLog>>>,
    /// Per `group.id`; a group not listed is unknown, one with no committed offsets is `{"state": "Dead"}`.
    #[serde(default)]
    pub groups: BTreeMap<String, GroupFacts>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PartitionLog {
    pub partition: i32,
    pub log_start: i64,
    pub log_end: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupFacts {
    /// As `kafka-consumer-groups --describe` says: `Empty`, `Stable`, `PreparingRebalance`, `CompletingRebalance`, `Dead`.
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub committed: Vec<Committed>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Committed {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

/// The topics and groups a prediction needs facts for (what a live lookup should ask Kafka).
pub fn wanted(cp: &Checkpoint) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut topics = BTreeSet::new();
    let mut groups = BTreeSet::new();
    for k in cp.streams.iter().filter_map(|s| s.kafka.as_ref()) {
        topics.extend(k.current_offsets.iter().map(|o| o.topic.clone()));
        topics.extend(k.batch_for_time.iter().flat_map(|b| b.ranges.iter().map(|r| r.topic.clone())));
        if let Some(cs) = &k.consumer_strategy {
            topics.extend(cs.topics.iter().flatten().cloned());
            topics.extend(cs.topic_partitions.iter().flatten().map(|tp| tp.topic.clone()));
        }
        if let Some(g) = param(k, "group.id") {
            groups.insert(g);
        }
    }
    (topics, groups)
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Prediction {
    /// True when some failure below is certain: the restart will not get through.
    pub crashes: bool,
    /// The first thing the user will see, as Spark prints it (or that no crash is predicted).
    pub headline: String,
    pub streams: Vec<StreamPrediction>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamPrediction {
    pub stream_id: Option<i64>,
    pub strategy: String,
    pub group_id: Option<String>,
    pub auto_offset_reset: String,
    /// One per partition the checkpoint or the live topic knows: the numbers a lane is drawn from.
    pub lanes: Vec<Lane>,
    /// Batches re-run from restored `KafkaRDD`s (or read again to rebuild state), with what each range does.
    pub restored: Vec<RestoredBatch>,
    /// The first batch the restarted app computes (`compute` with `currentOffsets`).
    pub first_batch: Option<FirstBatch>,
    /// In the order the user sees them: the driver's first (they escape `ssc.start()`), then tasks by batch time.
    pub failures: Vec<Failure>,
    pub re_read: Vec<PartitionCount>,
    pub skipped: Vec<PartitionCount>,
    /// The restored `commitQueue`, sent by `commitAll` at the end of the first compute.
    pub commits: Vec<CommitChange>,
    pub commits_sent: bool,
    pub ways_out: Vec<WayOut>,
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Lane {
    pub topic: String,
    pub partition: i32,
    pub checkpoint_offset: Option<i64>,
    /// `None` when nothing is known; see `exists`.
    pub log_start: Option<i64>,
    pub log_end: Option<i64>,
    /// `yes`, `no partition`, `no topic`, `unknown`.
    pub exists: String,
    pub committed: Option<i64>,
    pub queued_commit: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RestoredBatch {
    pub time: i64,
    /// `pending`, `checkpoint time`, `after the checkpoint time`, or `state lineage`.
    pub why: String,
    pub ranges: Vec<RangeOutcome>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RangeOutcome {
    pub topic: String,
    pub partition: i32,
    pub from_offset: i64,
    pub until_offset: i64,
    /// Records the task reads when it succeeds.
    pub reads: i64,
    pub error: Option<SparkError>,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FirstBatch {
    /// The earliest time it can have: the first rescheduled time without a restored RDD (a later restart
    /// makes it a later downtime time; the offsets are the same).
    pub time: Option<i64>,
    pub ranges: Vec<RangeOutcome>,
    /// `Σ(until − from)`: what `StreamInputInfo` checks.
    pub num_records: i64,
    pub driver_error: Option<SparkError>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Failure {
    pub exception: SparkError,
    /// Where it is thrown: `driver` or `executor`.
    pub side: String,
    pub batch_time: Option<i64>,
    /// Why, with the numbers.
    pub because: String,
    /// False for what depends on timing or on another client (a member still in the group).
    pub certain: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PartitionCount {
    pub topic: String,
    pub partition: i32,
    pub records: i64,
    pub because: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CommitChange {
    pub topic: String,
    pub partition: i32,
    pub committed: Option<i64>,
    pub will_commit: i64,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WayOut {
    pub title: String,
    pub starts: Vec<Start>,
    /// What this way still runs into, if anything.
    pub failure: Option<SparkError>,
    pub costs: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Start {
    pub topic: String,
    pub partition: i32,
    /// Where the partition starts; for produce-until-caught-up, the log end to reach.
    pub offset: Option<i64>,
    pub source: String,
    /// For produce-until-caught-up: records to write.
    pub records: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Log {
    Unknown,
    NoTopic,
    NoPartition,
    Range(i64, i64),
}

impl Log {
    fn exists(self) -> &'static str {
        match self {
            Log::Unknown => "unknown",
            Log::NoTopic => "no topic",
            Log::NoPartition => "no partition",
            Log::Range(..) => "yes",
        }
    }
    fn missing(self) -> bool {
        matches!(self, Log::NoTopic | Log::NoPartition)
    }
}

impl Facts {
    fn log(&self, tp: &Tp) -> Log {
        match self.topics.get(&tp.topic) {
            None => Log::Unknown,
            Some(None) => Log::NoTopic,
            Some(Some(parts)) => {
                parts.iter().find(|p| p.partition == tp.partition).map_or(Log::NoPartition, |p| Log::Range(p.log_start, p.log_end))
            }
        }
    }

    fn partitions_of(&self, topic: &str) -> Option<Vec<i32>> {
        self.topics.get(topic)?.as_ref().map(|ps| ps.iter().map(|p| p.partition).collect())
    }

    fn committed(&self, group: Option<&str>) -> BTreeMap<Tp, i64> {
        let Some(g) = group.and_then(|g| self.groups.get(g)) else { return BTreeMap::new() };
        g.committed.iter().map(|c| (Tp::new(c.topic.clone(), c.partition), c.offset)).collect()
    }
}

fn param(k: &KafkaStream, key: &str) -> Option<String> {
    let v = k.consumer_strategy.as_ref()?.kafka_params.get(key)?;
    match v {
        Json::String(s) => Some(s.clone()),
        Json::Null => None,
        other => Some(other.to_string()),
    }
}

fn tp_of(r: &OffsetRange) -> Tp {
    Tp::new(r.topic.clone(), r.partition)
}

/// What a restarted context does with this checkpoint against these facts.
pub fn predict(cp: &Checkpoint, facts: &Facts) -> Prediction {
    let stateful: Vec<_> =
        cp.streams.iter().filter(|s| s.class.ends_with("StateDStream") || (!s.is_input && s.must_checkpoint == Some(true))).collect();
    let state_checkpoint = stateful.iter().flat_map(|s| s.rdd_checkpoints.iter().map(|r| r.time)).max();
    let streams: Vec<StreamPrediction> = cp
        .streams
        .iter()
        .filter_map(|s| s.kafka.as_ref())
        .map(|k| predict_stream(cp, k, facts, !stateful.is_empty(), state_checkpoint))
        .collect();
    let certain = streams.iter().flat_map(|s| s.failures.iter()).find(|f| f.certain);
    let headline = match (certain, streams.iter().flat_map(|s| s.failures.iter()).next()) {
        (Some(f), _) => format!("the restart crashes: {}", f.exception),
        (None, Some(f)) => format!("the restart may fail: {}", f.exception),
        (None, None) if streams.is_empty() => "no Kafka direct stream in this checkpoint: nothing to predict".to_string(),
        (None, None) => "no crash predicted".to_string(),
    };
    Prediction { crashes: certain.is_some(), headline, streams }
}

fn predict_stream(cp: &Checkpoint, k: &KafkaStream, facts: &Facts, stateful: bool, state_checkpoint: Option<i64>) -> StreamPrediction {
    let strategy = k.consumer_strategy.as_ref().map_or("unknown".to_string(), |c| c.kind.clone());
    let assign = strategy == "Assign";
    let group_id = param(k, "group.id");
    let group = group_id.as_deref();
    // Kafka's default when the user set none.
    let reset = param(k, "auto.offset.reset").unwrap_or_else(|| "latest".to_string());
    let committed = facts.committed(group);
    let group_state = group.and_then(|g| facts.groups.get(g)).map(|g| g.state.clone());
    let mut notes = Vec::new();
    let mut failures = Vec::new();

    let current: BTreeMap<Tp, i64> = k.current_offsets.iter().map(|o| (Tp::new(o.topic.clone(), o.partition), o.offset)).collect();
    // commitAll: per partition the max untilOffset of the queued ranges.
    let mut queued: BTreeMap<Tp, i64> = BTreeMap::new();
    for r in &k.commit_queue {
        let e = queued.entry(tp_of(r)).or_insert(r.until_offset);
        *e = (*e).max(r.until_offset);
    }

    // Partitions the first compute covers: the checkpointed ones plus what the consumer is assigned now.
    let mut assigned: BTreeSet<Tp> = current.keys().cloned().collect();
    if let Some(cs) = &k.consumer_strategy {
        if assign {
            assigned.extend(cs.topic_partitions.iter().flatten().map(|tp| Tp::new(tp.topic.clone(), tp.partition)));
        } else {
            let topics: BTreeSet<String> = match &cs.topics {
                Some(t) => t.iter().cloned().collect(),
                // SubscribePattern: the topics the checkpoint already knows.
                None => current.keys().map(|tp| tp.topic.clone()).collect(),
            };
            for t in &topics {
                if let Some(ps) = facts.partitions_of(t) {
                    assigned.extend(ps.into_iter().map(|p| Tp::new(t.clone(), p)));
                }
            }
            if cs.pattern.is_some() {
                notes.push("SubscribePattern: topics matching the pattern that the checkpoint does not know are not predicted".into());
            }
        }
    }

    // §4.1: rescheduled = pendingTimes ∪ grid[checkpointTime, restartTime); times with a restored RDD reuse it.
    let restored_times: BTreeSet<i64> = k.batch_for_time.iter().map(|b| b.time).collect();
    let pending: BTreeSet<i64> = cp.pending_times.iter().copied().collect();
    let rerun = |t: i64| pending.contains(&t) || t >= cp.checkpoint_time;
    let first_rerun = k.batch_for_time.iter().map(|b| b.time).filter(|&t| rerun(t)).min();
    let first_compute_time = match cp.batch_duration.filter(|d| *d > 0) {
        Some(d) => {
            let mut t = cp.checkpoint_time;
            while restored_times.contains(&t) {
                t += d;
            }
            pending.iter().copied().filter(|t| !restored_times.contains(t)).chain([t]).min()
        }
        None => None,
    };

    let mut restored = Vec::new();
    for b in &k.batch_for_time {
        let why = if pending.contains(&b.time) {
            "pending"
        } else if b.time == cp.checkpoint_time {
            "checkpoint time"
        } else if b.time > cp.checkpoint_time {
            "after the checkpoint time"
        } else if stateful && state_checkpoint.is_some_and(|s| b.time > s) && first_rerun.is_some_and(|f| b.time < f) {
            // §4.2/§5: state newer than its last checkpointed RDD is recomputed from these Kafka RDDs.
            "state lineage"
        } else {
            continue;
        };
        let ranges = b.ranges.iter().map(|r| executor_range(r, facts.log(&tp_of(r)), group)).collect();
        restored.push(RestoredBatch { time: b.time, why: why.into(), ranges });
    }
    if stateful && state_checkpoint.is_none() {
        notes.push("a stateful stream references no RDD checkpoint file: its state is recomputed from every remembered batch".into());
    }

    // The first compute: onStart seeks, new partitions' positions, seekToEnd, clamp, the require.
    let mut driver_error: Option<(SparkError, String)> = None;
    let missing: Vec<Tp> = current.keys().filter(|tp| facts.log(tp).missing()).cloned().collect();
    if let Some(tp) = missing.first() {
        let names: Vec<String> = missing.iter().map(|tp| format!("{tp} ({})", facts.log(tp).exists())).collect();
        driver_error = Some(if assign {
            (
                messages::position_timeout(tp),
                format!("Assign seeks checkpointed partitions that do not exist: {}; seekToEnd/position never answers", names.join(", ")),
            )
        } else {
            (
                messages::no_current_assignment(tp),
                format!(
                    "the checkpoint has partitions the topic no longer has: {}; onStart seeks them and Kafka did not assign them",
                    names.join(", ")
                ),
            )
        });
    }
    let mut starts: BTreeMap<Tp, (i64, String)> = current.iter().map(|(tp, o)| (tp.clone(), (*o, "checkpoint".to_string()))).collect();
    let mut no_offset = Vec::new();
    for tp in assigned.iter().filter(|tp| !current.contains_key(*tp)) {
        let Log::Range(start, end) = facts.log(tp) else { continue };
        let pos = match (committed.get(tp), reset.as_str()) {
            (Some(c), _) => Some((*c, "committed".to_string())),
            (None, "earliest") => Some((start, "auto.offset.reset=earliest".to_string())),
            (None, "latest") => Some((end, "auto.offset.reset=latest".to_string())),
            (None, _) => None,
        };
        match pos {
            Some(p) => {
                starts.insert(tp.clone(), p);
            }
            None => no_offset.push(tp.clone()),
        }
    }
    if driver_error.is_none() && !no_offset.is_empty() {
        driver_error = Some((
            messages::no_offset_for_partition(&no_offset),
            format!("partitions new to the checkpoint have no committed offset and auto.offset.reset={reset}"),
        ));
    }
    let rate = k
        .max_rate_per_partition
        .filter(|r| *r > 0)
        .or_else(|| conf_i64(cp, "spark.streaming.kafka.maxRatePerPartition").filter(|r| *r > 0));
    let min_rate = conf_i64(cp, "spark.streaming.kafka.minRatePerPartition").unwrap_or(1);
    if k.backpressure == Some(true) {
        notes.push(
            "backpressure is on: the first batch may be clamped further than computed here (the sign of each range is the same)".into(),
        );
    }
    let mut first_ranges = Vec::new();
    let mut unknown_logs = Vec::new();
    for (tp, (from, source)) in &starts {
        match facts.log(tp) {
            Log::Range(_, end) => {
                let until = match (rate, cp.batch_duration) {
                    // §1.5: mmp = max(floor(batchSeconds × rate), minRate); until = min(from + mmp, latest).
                    (Some(r), Some(d)) => (from + ((d as i128 * r as i128) / 1000).max(min_rate as i128) as i64).min(end),
                    _ => end,
                };
                first_ranges.push((tp.clone(), *from, until, source.clone()));
            }
            Log::Unknown => unknown_logs.push(tp.to_string()),
            Log::NoTopic | Log::NoPartition => {}
        }
    }
    if !unknown_logs.is_empty() {
        notes.push(format!("no facts for {}: their ranges are not predicted", unknown_logs.join(", ")));
    }
    let num_records: i64 = first_ranges.iter().map(|(_, f, u, _)| u - f).sum();
    if driver_error.is_none() && !first_ranges.is_empty() && num_records < 0 {
        let parts: Vec<String> = first_ranges.iter().map(|(tp, f, u, _)| format!("{tp} [{f}, {u}) = {}", u - f)).collect();
        driver_error = Some((
            messages::num_records_negative(),
            format!("the checkpoint's offsets are beyond the log end: {}; the sum is {num_records}", parts.join(", ")),
        ));
    }
    let driver_fails = driver_error.is_some();
    let first_outcomes: Vec<RangeOutcome> = first_ranges
        .iter()
        .map(|(tp, f, u, source)| {
            let r = OffsetRange { topic: tp.topic.clone(), partition: tp.partition, from_offset: *f, until_offset: *u };
            let mut o = executor_range(&r, facts.log(tp), group);
            o.note = format!("from {source}; {}", o.note);
            o
        })
        .collect();
    let first_batch = (!starts.is_empty() || driver_fails).then(|| FirstBatch {
        time: first_compute_time,
        ranges: first_outcomes.clone(),
        num_records,
        driver_error: driver_error.as_ref().map(|(e, _)| e.clone()),
    });
    if let Some((e, because)) = &driver_error {
        failures.push(Failure {
            exception: e.clone(),
            side: "driver".into(),
            batch_time: first_compute_time,
            because: format!("{because}. Thrown from compute inside JobGenerator.restart, so ssc.start() fails; every restart from this checkpoint does the same"),
            certain: true,
        });
    }
    // Executor failures: restored batches by time, then the first batch's tasks when the driver got through.
    let mut task_failures: Vec<(i64, Failure)> = Vec::new();
    for b in &restored {
        for r in &b.ranges {
            if let Some(e) = &r.error {
                task_failures.push((
                    b.time,
                    Failure {
                        exception: e.clone(),
                        side: "executor".into(),
                        batch_time: Some(b.time),
                        because: format!("restored batch ({}): {}", b.why, r.note),
                        certain: true,
                    },
                ));
            }
        }
    }
    if !driver_fails {
        for r in &first_outcomes {
            if let Some(e) = &r.error {
                let t = first_compute_time.unwrap_or(i64::MAX);
                task_failures.push((
                    t,
                    Failure {
                        exception: e.clone(),
                        side: "executor".into(),
                        batch_time: first_compute_time,
                        because: format!("first new batch: {}", r.note),
                        certain: true,
                    },
                ));
            }
        }
    }
    task_failures.sort_by_key(|(t, _)| *t);
    if driver_fails && !task_failures.is_empty() {
        notes.push("restored batches' jobs may start before ssc.start() fails; their tasks would fail as listed".into());
    }
    failures.extend(task_failures.into_iter().map(|(_, f)| f));

    // Group state: a live member takes partitions from the Spark driver when it joins (§6e).
    if let Some(state) = &group_state {
        let busy = matches!(state.as_str(), "Stable" | "PreparingRebalance" | "CompletingRebalance");
        if busy && !assign {
            if let Some(tp) = current.keys().next() {
                failures.push(Failure {
                    exception: messages::no_current_assignment(tp),
                    side: "driver".into(),
                    batch_time: first_compute_time,
                    because: format!("group {} is {state}: if its members are still there when Spark joins, the partitions are shared out and onStart seeks ones it was not given (an old driver killed less than session.timeout.ms ago leaves on its own)", group.unwrap_or("?")),
                    certain: false,
                });
            }
        }
        if busy && assign {
            notes.push(format!("group {} is {state}: Assign commits with generation -1, which the broker rejects (UNKNOWN_MEMBER_ID) for a non-empty group", group.unwrap_or("?")));
        }
    }

    // Re-read: restored batches run their outputs again (state is not double-counted, print/foreachRDD/commitAsync are).
    let mut re_read_map: BTreeMap<Tp, (i64, usize)> = BTreeMap::new();
    for b in restored.iter().filter(|b| b.why != "state lineage") {
        for r in b.ranges.iter().filter(|r| r.error.is_none() && r.reads > 0) {
            let e = re_read_map.entry(Tp::new(r.topic.clone(), r.partition)).or_default();
            e.0 += r.reads;
            e.1 += 1;
        }
    }
    let re_read = re_read_map
        .into_iter()
        .map(|(tp, (n, batches))| PartitionCount {
            topic: tp.topic,
            partition: tp.partition,
            records: n,
            because: format!("{batches} restored batch(es) re-run with their checkpointed ranges: outputs run again"),
        })
        .collect();

    // Skipped: the new log below the checkpoint's offsets on a topic whose log went backwards, and `latest` on new partitions.
    let mut skipped = Vec::new();
    let went_back: BTreeSet<String> =
        current.iter().filter(|(tp, o)| matches!(facts.log(tp), Log::Range(_, end) if end < **o)).map(|(tp, _)| tp.topic.clone()).collect();
    for (tp, from, _, source) in &first_ranges {
        let Log::Range(start, end) = facts.log(tp) else { continue };
        if source == "checkpoint" && went_back.contains(&tp.topic) {
            let below = from.min(&end) - start;
            if below > 0 {
                skipped.push(PartitionCount {
                    topic: tp.topic.clone(),
                    partition: tp.partition,
                    records: below,
                    because: format!("the log of {} went back (re-created or wiped): records [{start}, {}) are below where Spark resumes ({from}) and are never read", tp.topic, from.min(&end)),
                });
            }
        } else if source == "auto.offset.reset=latest" && end > start {
            skipped.push(PartitionCount {
                topic: tp.topic.clone(),
                partition: tp.partition,
                records: end - start,
                because: format!(
                    "new to the checkpoint, no committed offset: latest starts at {end}, records [{start}, {end}) are never read"
                ),
            });
        }
    }

    // The restored commitQueue goes out at the end of the first compute, if it gets there.
    let commits: Vec<CommitChange> = queued
        .iter()
        .map(|(tp, &will)| {
            let now = committed.get(tp).copied();
            let note = match now {
                None => "the group has no committed offset here: this creates it".to_string(),
                Some(c) if c == will => "same as committed now".to_string(),
                Some(c) if c < will => {
                    format!("moves the committed offset forward from {c} to {will}: a reset of the group to {c} is undone")
                }
                Some(c) => format!("moves the committed offset back from {c} to {will}"),
            };
            CommitChange { topic: tp.topic.clone(), partition: tp.partition, committed: now, will_commit: will, note }
        })
        .collect();
    let commits_sent = !driver_fails && !queued.is_empty();
    if driver_fails && !queued.is_empty() {
        notes.push("the restored commitQueue is not sent: the first compute throws before commitAll".into());
    }

    let mut lane_tps: BTreeSet<Tp> = assigned.clone();
    lane_tps.extend(k.batch_for_time.iter().flat_map(|b| b.ranges.iter().map(tp_of)));
    let lanes = lane_tps
        .iter()
        .map(|tp| {
            let log = facts.log(tp);
            let (log_start, log_end) = match log {
                Log::Range(s, e) => (Some(s), Some(e)),
                _ => (None, None),
            };
            Lane {
                topic: tp.topic.clone(),
                partition: tp.partition,
                checkpoint_offset: current.get(tp).copied(),
                log_start,
                log_end,
                exists: log.exists().into(),
                committed: committed.get(tp).copied(),
                queued_commit: queued.get(tp).copied(),
            }
        })
        .collect();

    let any_failure = !failures.is_empty();
    let ways_out =
        if any_failure { ways_out(cp, k, facts, &assigned, &current, &committed, &reset, &restored, stateful) } else { Vec::new() };

    StreamPrediction {
        stream_id: k.id,
        strategy,
        group_id,
        auto_offset_reset: reset,
        lanes,
        restored,
        first_batch,
        failures,
        re_read,
        skipped,
        commits,
        commits_sent,
        ways_out,
        notes,
    }
}

/// One executor task over `[from, until)` (§1.10): the require, then a consumer with `auto.offset.reset=none`.
fn executor_range(r: &OffsetRange, log: Log, group: Option<&str>) -> RangeOutcome {
    let tp = tp_of(r);
    let (from, until) = (r.from_offset, r.until_offset);
    let (reads, error, note) = if from > until {
        (0, Some(messages::beginning_after_end(from, until, &r.topic, r.partition)), format!("{tp}: until {until} < from {from}"))
    } else if from == until {
        (0, None, format!("{tp} [{from}, {until}) is empty: the task reads nothing"))
    } else {
        match log {
            Log::Unknown => (until - from, None, format!("{tp}: no facts about this partition")),
            Log::NoTopic | Log::NoPartition => (
                0,
                Some(messages::failed_to_get_records(group, &tp, from)),
                format!("{tp} does not exist ({}): the task polls and gets nothing", log.exists()),
            ),
            Log::Range(start, _) if from < start => (
                0,
                Some(messages::fetch_out_of_range(from, &tp)),
                format!("{tp}: from {from} is before the log start {start} (deleted by retention or delete-records)"),
            ),
            Log::Range(_, end) if from > end => {
                (0, Some(messages::fetch_out_of_range(from, &tp)), format!("{tp}: from {from} is beyond the log end {end}"))
            }
            Log::Range(_, end) if until > end => (
                0,
                Some(messages::failed_to_get_records(group, &tp, end)),
                format!("{tp}: the log ends at {end}, before until {until}: records [{end}, {until}) are not there"),
            ),
            Log::Range(..) => (until - from, None, format!("{tp}: reads {} record(s) [{from}, {until})", until - from)),
        }
    };
    RangeOutcome { topic: r.topic.clone(), partition: r.partition, from_offset: from, until_offset: until, reads, error, note }
}

fn conf_i64(cp: &Checkpoint, key: &str) -> Option<i64> {
    cp.spark_conf.iter().find(|(k, _)| k == key).and_then(|(_, v)| v.trim().parse().ok())
}

#[allow(clippy::too_many_arguments)]
fn ways_out(
    cp: &Checkpoint,
    k: &KafkaStream,
    facts: &Facts,
    assigned: &BTreeSet<Tp>,
    current: &BTreeMap<Tp, i64>,
    committed: &BTreeMap<Tp, i64>,
    reset: &str,
    restored: &[RestoredBatch],
    stateful: bool,
) -> Vec<WayOut> {
    let mut out = Vec::new();

    // 1. A new (or emptied) checkpoint directory: creatingFunc runs, start() takes user offsets → committed → reset (§2.2).
    let user: BTreeMap<Tp, i64> =
        k.consumer_strategy.iter().flat_map(|c| c.offsets.iter().map(|o| (Tp::new(o.topic.clone(), o.partition), o.offset))).collect();
    let mut starts = Vec::new();
    let mut failure = None;
    let mut no_offset = Vec::new();
    let mut re_read = 0i64;
    let mut skipped = 0i64;
    for tp in assigned.iter().filter(|tp| !facts.log(tp).missing()) {
        let log = facts.log(tp);
        let (offset, source) = if let Some(o) = user.get(tp) {
            (Some(*o), "the strategy's offsets".to_string())
        } else if let Some(c) = committed.get(tp) {
            (Some(*c), "committed offset".to_string())
        } else {
            match (reset, log) {
                ("earliest", Log::Range(s, _)) => (Some(s), "auto.offset.reset=earliest".to_string()),
                ("latest", Log::Range(_, e)) => (Some(e), "auto.offset.reset=latest".to_string()),
                ("earliest" | "latest", _) => (None, format!("auto.offset.reset={reset}; log unknown")),
                _ => {
                    no_offset.push(tp.clone());
                    (None, format!("no committed offset and auto.offset.reset={reset}"))
                }
            }
        };
        if let (Some(o), Log::Range(s, e)) = (offset, log) {
            if failure.is_none() && o > e {
                failure = Some(messages::num_records_negative());
            } else if failure.is_none() && o < s {
                failure = Some(messages::fetch_out_of_range(o, tp));
            }
            // Compared with where the checkpoint would resume, on a log that did not go back.
            if let Some(&ck) = current.get(tp).filter(|&&ck| ck <= e) {
                if o < ck {
                    re_read += ck - o.max(s);
                } else {
                    skipped += o.min(e) - ck.max(s);
                }
            } else if current.get(tp).is_some() || reset == "latest" {
                skipped += o.min(e) - s;
            }
        }
        starts.push(Start { topic: tp.topic.clone(), partition: tp.partition, offset, source, records: 0 });
    }
    if failure.is_none() && !no_offset.is_empty() {
        failure = Some(messages::no_offset_for_partition(&no_offset));
    }
    // Assign seeks its fixed partitions on a fresh start too: one that does not exist never gets a position.
    let assign = k.consumer_strategy.as_ref().is_some_and(|c| c.kind == "Assign");
    if let Some(tp) = assigned.iter().find(|tp| assign && facts.log(tp).missing()) {
        failure = failure.or_else(|| Some(messages::position_timeout(tp)));
    }
    let mut costs = Vec::new();
    if stateful {
        let names: Vec<String> =
            cp.streams.iter().filter(|s| s.class.ends_with("StateDStream")).map(|s| format!("#{} {}", s.handle, short(&s.class))).collect();
        costs.push(format!(
            "the updateStateByKey state is lost and starts empty ({})",
            if names.is_empty() { "stateful stream".to_string() } else { names.join(", ") }
        ));
    }
    if re_read > 0 {
        costs.push(format!("{re_read} record(s) before the checkpoint's offsets are read again"));
    }
    if skipped > 0 {
        costs.push(format!("{skipped} record(s) are never read"));
    }
    let pending_reads: i64 =
        restored.iter().filter(|b| b.why == "pending").flat_map(|b| b.ranges.iter()).map(|r| (r.until_offset - r.from_offset).max(0)).sum();
    if pending_reads > 0 {
        costs.push(format!("the pending batches ({pending_reads} record(s) in their ranges) are not re-run from the checkpoint"));
    }
    if !k.commit_queue.is_empty() {
        costs.push("the checkpoint's queued commits are never sent".into());
    }
    let gone: BTreeSet<String> =
        assigned.iter().chain(current.keys()).filter(|tp| facts.log(tp) == Log::NoTopic).map(|tp| tp.topic.clone()).collect();
    if !gone.is_empty() {
        let names: Vec<String> = gone.into_iter().collect();
        costs.push(format!(
            "topic(s) {} do not exist: {}",
            names.join(", "),
            if assign {
                "Assign's position() never answers until they are created".to_string()
            } else {
                format!("Subscribe gets no partitions until they are created, then starts them per auto.offset.reset={reset}")
            }
        ));
    }
    costs.push("topics, group.id, batch interval and Spark conf come from the new code instead of the checkpoint".into());
    out.push(WayOut { title: "start with a new checkpoint directory (or delete this one)".into(), starts, failure, costs });

    // 2. Produce until every log end reaches what the checkpoint will read; only for logs that are short.
    let mut need: BTreeMap<Tp, i64> = current.clone();
    for b in restored {
        for r in b.ranges.iter().filter(|r| r.until_offset > r.from_offset) {
            let e = need.entry(Tp::new(r.topic.clone(), r.partition)).or_insert(r.until_offset);
            *e = (*e).max(r.until_offset);
        }
    }
    let mut starts = Vec::new();
    let mut missing = Vec::new();
    let mut behind_start = false;
    for (tp, &target) in &need {
        match facts.log(tp) {
            Log::Range(s, e) => {
                if target > e {
                    starts.push(Start {
                        topic: tp.topic.clone(),
                        partition: tp.partition,
                        offset: Some(target),
                        source: format!("log end {e}"),
                        records: target - e,
                    });
                }
                let from = current.get(tp).copied().unwrap_or(target);
                behind_start |= from < s
                    || restored
                        .iter()
                        .flat_map(|b| b.ranges.iter())
                        .any(|r| r.topic == tp.topic && r.partition == tp.partition && r.from_offset < s && r.until_offset > r.from_offset);
            }
            Log::NoTopic | Log::NoPartition => {
                missing.push(tp.to_string());
                // Once created, the partition's log starts at 0.
                if target > 0 {
                    starts.push(Start {
                        topic: tp.topic.clone(),
                        partition: tp.partition,
                        offset: Some(target),
                        source: format!("{}: create it, then log end 0", facts.log(tp).exists()),
                        records: target,
                    });
                }
            }
            Log::Unknown => {}
        }
    }
    if !starts.is_empty() || !missing.is_empty() {
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
        out.push(WayOut {
            title: "produce until every partition's log end reaches the checkpoint's offsets".into(),
            starts,
            failure: None,
            costs,
        });
    }
    out
}

fn short(class: &str) -> &str {
    class.rsplit('.').next().unwrap_or(class)
}

/// The prediction as the CLI prints it.
pub fn text(p: &Prediction) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(out, "will the restart crash? {}", p.headline);
    for s in &p.streams {
        let _ = writeln!(
            out,
            "kafka direct stream {}: {} group {} auto.offset.reset {}",
            s.stream_id.map_or("?".into(), |i| i.to_string()),
            s.strategy,
            s.group_id.as_deref().unwrap_or("(none)"),
            s.auto_offset_reset
        );
        let _ = writeln!(out, "  partition                      checkpoint  log start  log end  committed  queued commit");
        for l in &s.lanes {
            let o = |v: Option<i64>| v.map_or("-".to_string(), |v| v.to_string());
            let log = if l.exists == "yes" { format!("{:>9}  {:>7}", o(l.log_start), o(l.log_end)) } else { format!("{:>18}", l.exists) };
            let _ = writeln!(
                out,
                "  {:<30} {:>10}  {log}  {:>9}  {:>13}",
                format!("{}-{}", l.topic, l.partition),
                o(l.checkpoint_offset),
                o(l.committed),
                o(l.queued_commit)
            );
        }
        for f in &s.failures {
            let when = f.batch_time.map_or(String::new(), |t| format!(" (batch {t})"));
            let _ = writeln!(
                out,
                "  {} {}{when}: {}\n      because {}",
                if f.certain { "FAILS" } else { "MAY FAIL" },
                f.side,
                f.exception,
                f.because
            );
        }
        if let Some(fb) = s.first_batch.as_ref().filter(|fb| fb.ranges.is_empty()) {
            let why = if fb.driver_error.is_some() { "the driver fails before it" } else { "no partition with known offsets" };
            let _ = writeln!(out, "  first new batch{}: not computed, {why}", fb.time.map_or(String::new(), |t| format!(" {t}")));
        }
        if let Some(fb) = s.first_batch.as_ref().filter(|fb| !fb.ranges.is_empty()) {
            let ranges: Vec<String> =
                fb.ranges.iter().map(|r| format!("{}-{} [{}, {})", r.topic, r.partition, r.from_offset, r.until_offset)).collect();
            let _ = writeln!(
                out,
                "  first new batch{}: {} numRecords {}",
                fb.time.map_or(String::new(), |t| format!(" {t}")),
                ranges.join("  "),
                fb.num_records
            );
        }
        for r in &s.re_read {
            let _ = writeln!(out, "  re-read {}-{}: {} record(s), {}", r.topic, r.partition, r.records, r.because);
        }
        for r in &s.skipped {
            let _ = writeln!(out, "  skipped {}-{}: {} record(s), {}", r.topic, r.partition, r.records, r.because);
        }
        if !s.commits.is_empty() {
            let _ =
                writeln!(out, "  restored commitQueue{}:", if s.commits_sent { ", committed at the first compute" } else { ", NOT sent" });
            for c in &s.commits {
                let _ = writeln!(out, "    {}-{} -> {}: {}", c.topic, c.partition, c.will_commit, c.note);
            }
        }
        for w in &s.ways_out {
            let _ = writeln!(out, "  way out: {}", w.title);
            for st in &w.starts {
                let at = st.offset.map_or("?".into(), |o| o.to_string());
                if st.records > 0 {
                    let _ =
                        writeln!(out, "    {}-{}: produce {} record(s) to reach {at} ({})", st.topic, st.partition, st.records, st.source);
                } else {
                    let _ = writeln!(out, "    {}-{} starts at {at} ({})", st.topic, st.partition, st.source);
                }
            }
            if let Some(e) = &w.failure {
                let _ = writeln!(out, "    still fails: {e}");
            }
            for c in &w.costs {
                let _ = writeln!(out, "    cost: {c}");
            }
        }
        for n in &s.notes {
            let _ = writeln!(out, "  note: {n}");
        }
    }
    out
}
