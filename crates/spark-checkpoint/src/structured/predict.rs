//! "Will my restart lose data or fail?" for a Structured Streaming checkpoint: `crates/structured`'s engine
//! restarts the query from the folder's files against the in-memory Kafka seeded with the live facts (the seeding
//! the DStream prediction uses, `predict::seed`), once with `failOnDataLoss=true` and once with `false`, and runs
//! until it has caught up (`Trigger.AvailableNow`). The ways out are fresh starts of the same query in the engine.

use std::collections::{BTreeMap, BTreeSet};

use engine::error::SparkError;
use engine::io::{Reply, Request};
use engine::offsets::{Offsets, TopicPartition as Tp};
use engine::storage::{self, MemoryStorage};
use engine::time::Time;
use kafka_model::KafkaModel;
use serde::Serialize;
use structured::options::ScalaVersion;
use structured::{json, log, Engine, Event, Input, Output, QueryConfig, SparkVersion, Trigger};

use super::{NextBatch, StructuredCheckpoint};
use crate::predict::{seed, Facts, Log, PartitionCount, Start, WayOut};

/// The checkpoint folder inside the simulation's storage.
const DIR: &str = "ckpt";
/// Engine outputs handled before a run gives up.
const MAX_STEPS: usize = 1_000_000;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StructuredPrediction {
    /// True when the restart with Spark's default (`failOnDataLoss=true`) fails.
    pub fails: bool,
    /// True when some record the query should read is never read (with either setting that gets through).
    pub loses_data: bool,
    pub headline: String,
    pub lanes: Vec<Lane>,
    /// `failOnDataLoss=true` (Spark's default) first, then `false`.
    pub outcomes: Vec<Outcome>,
    pub ways_out: Vec<WayOut>,
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Lane {
    pub topic: String,
    pub partition: i32,
    /// Where the restart starts reading (the next batch's start).
    pub checkpoint_offset: Option<i64>,
    /// The re-run batch's logged end, when the last batch is re-run.
    pub rerun_end: Option<i64>,
    pub log_start: Option<i64>,
    pub log_end: Option<i64>,
    pub exists: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    pub fail_on_data_loss: bool,
    pub error: Option<SparkError>,
    pub batches: Vec<RunBatch>,
    /// `reportDataLoss` warnings (`failOnDataLoss=false`) and the executors' skips.
    pub warnings: Vec<String>,
    /// Records the restart should have read and never will.
    pub lost: Vec<PartitionCount>,
    /// Rows of the re-run batch: the sink may have written them before the driver died, so it may see them twice.
    pub replayed: Vec<PartitionCount>,
    /// Where the query stands after catching up (the last committed batch's end).
    pub resumes_at: Option<Offsets>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunBatch {
    pub batch_id: i64,
    pub rerun: bool,
    /// `topic-partition [from, until)` of the batch's input partitions.
    pub ranges: Vec<String>,
    pub rows: usize,
}

/// The topics a prediction needs facts for.
pub fn wanted_topics(cp: &StructuredCheckpoint) -> BTreeSet<String> {
    let mut t: BTreeSet<String> =
        cp.batches.iter().filter_map(|b| b.end.as_ref()).flat_map(|o| o.keys().map(|tp| tp.topic.clone())).collect();
    t.extend(cp.initial_offsets.iter().flat_map(|o| o.keys().map(|tp| tp.topic.clone())));
    t
}

/// The query the engine restarts: `subscribe` to the checkpoint's topics (the source options are not in the
/// checkpoint), the Spark line its offset log shows.
fn query(cp: &StructuredCheckpoint, options: &[(&str, &str)], trigger: Trigger) -> Result<QueryConfig, String> {
    let topics: Vec<String> = wanted_topics(cp).into_iter().collect();
    let topics = if topics.is_empty() { "topic".to_string() } else { topics.join(",") };
    let mut opts: Vec<(&str, &str)> = vec![("kafka.bootstrap.servers", "kafka:9092")];
    let strategy_given = options.iter().any(|(k, _)| ["subscribe", "subscribePattern", "assign"].iter().any(|s| k.eq_ignore_ascii_case(s)));
    if !strategy_given {
        opts.push(("subscribe", topics.as_str()));
    }
    opts.extend_from_slice(options);
    let mut cfg = QueryConfig::from_options(&opts, trigger, DIR, "file:/checkpoint")?;
    if cp.spark == "4.x" {
        cfg.spark = SparkVersion::V4_0;
    }
    Ok(cfg)
}

/// The folder's checkpoint files (not `.crc` sidecars, not `state/`) in the engine's storage.
fn storage_of(files: &[(String, Vec<u8>)]) -> MemoryStorage {
    let keep = |p: &str| p == "metadata" || ["offsets/", "commits/", "sources/"].iter().any(|d| p.starts_with(d));
    MemoryStorage { files: files.iter().filter(|(p, _)| keep(p)).map(|(p, b)| (format!("{DIR}/{p}"), b.clone())).collect() }
}

/// What one engine run did.
#[derive(Default)]
struct Run {
    events: Vec<Event>,
    storage: MemoryStorage,
}

impl Run {
    fn started(&self) -> Option<(i64, bool, Option<&Offsets>)> {
        self.events.iter().find_map(|e| match e {
            Event::QueryStarted { batch_id, rerun, committed, .. } => Some((*batch_id, *rerun, committed.as_ref())),
            _ => None,
        })
    }

    fn error(&self) -> Option<&SparkError> {
        self.events.iter().find_map(|e| match e {
            Event::QueryTerminated { error: Some(e), .. } => Some(e),
            _ => None,
        })
    }

    fn initial(&self) -> Option<&Offsets> {
        self.events.iter().find_map(|e| match e {
            Event::InitialOffsetsWritten { offsets, .. } => Some(offsets),
            _ => None,
        })
    }

    /// The end of the last batch committed in this run, read back from the run's `offsets/N`.
    fn committed_end(&self) -> Option<Offsets> {
        let id = self.events.iter().rev().find_map(|e| match e {
            Event::CommitLogWritten { batch_id, .. } => Some(*batch_id),
            _ => None,
        })?;
        let bytes = self.storage.files.get(&format!("{DIR}/offsets/{id}"))?;
        log::read_offsets_file(bytes).ok()?.source
    }
}

/// The engine from `storage` against `kafka` (`None`: a Kafka that never answers, so the run stops at its first
/// Kafka request), until the query terminates or waits.
fn drive(cfg: QueryConfig, mut storage: MemoryStorage, mut kafka: Option<KafkaModel>, now: Time) -> Run {
    let mut engine = Engine::new();
    let mut run = Run::default();
    if engine.handle_input(now, Input::Start(Box::new(cfg))).is_err() {
        return run;
    }
    for _ in 0..MAX_STEPS {
        match engine.poll_output() {
            Output::Request { id, request } => {
                let reply = match (&request, kafka.as_mut()) {
                    (Request::Kafka(k), Some(kafka)) => match kafka.serve(k) {
                        Some(r) => Reply::Kafka(r),
                        None => break,
                    },
                    (Request::Kafka(_), None) => break,
                    (Request::Storage(s), _) => Reply::Storage(storage::serve(&mut storage, s)),
                };
                if engine.handle_reply(id, reply).is_err() {
                    break;
                }
            }
            Output::Trace(line) => {
                let end = matches!(line.event, Event::QueryTerminated { .. });
                run.events.push(line.event);
                if end {
                    break;
                }
            }
            Output::Timeout(_) | Output::Idle => break,
        }
    }
    run.storage = storage;
    run
}

/// The restart's clock: just after the newest batch the folder logged (derived from the files, not read from a clock).
fn restart_time(cp: &StructuredCheckpoint) -> Time {
    Time(cp.batches.iter().filter_map(|b| b.batch_timestamp_ms).max().map_or(0, |t| t.saturating_add(1)).max(0))
}

/// `populateStartOffsets` in the engine: the next batch, or the error that stops the restart before Kafka is asked.
pub(super) fn populate(cp: &StructuredCheckpoint, files: &[(String, Vec<u8>)]) -> Result<Option<NextBatch>, String> {
    let cfg = query(cp, &[], Trigger::AvailableNow)?;
    let run = drive(cfg, storage_of(files), None, restart_time(cp));
    if let Some(e) = run.error() {
        return Err(e.to_string());
    }
    let Some((id, rerun, committed)) = run.started() else { return Ok(None) };
    let start = committed.cloned().or_else(|| (id == 0).then(|| cp.initial_offsets.clone()).flatten());
    let end = if rerun { cp.batches.iter().find(|b| b.id == id).and_then(|b| b.end.clone()) } else { None };
    Ok(Some(NextBatch { id, rerun, start, end }))
}

/// The restart from this folder against these facts, with `failOnDataLoss` true and false, and the ways out.
/// `options` are the query's source options when known (`maxOffsetsPerTrigger`, `subscribePattern`, …).
pub fn predict(cp: &StructuredCheckpoint, files: &[(String, Vec<u8>)], facts: &Facts, options: &[(&str, &str)]) -> StructuredPrediction {
    let mut p = StructuredPrediction {
        fails: false,
        loses_data: false,
        headline: String::new(),
        lanes: lanes(cp, facts),
        outcomes: Vec::new(),
        ways_out: Vec::new(),
        notes: vec![
            "kafka-consumer-groups --reset-offsets on the query's group (spark-kafka-source-<uuid>-<hash>-executor, or kafka.group.id) changes nothing for this query: the executors assign their partitions and never commit, and the position lives only in offsets/ and commits/".into(),
        ],
    };
    if let Some(e) = &cp.restart_error {
        p.fails = true;
        p.headline = format!("the restart fails before it asks Kafka anything: {e}");
        return p;
    }
    let topics = wanted_topics(cp);
    let unknown: Vec<&String> = topics.iter().filter(|t| !facts.topics.contains_key(*t)).collect();
    if !unknown.is_empty() {
        p.headline = "not predicted: see the notes".into();
        p.notes.push(format!(
            "no facts for topic(s) {}: nothing is predicted",
            unknown.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(", ")
        ));
        return p;
    }
    let Some(next) = &cp.next_batch else {
        p.headline = "not predicted: the folder has no readable offset log".into();
        return p;
    };
    let start = next.start.clone().unwrap_or_default();
    let now = restart_time(cp);
    let known: Vec<&Offsets> = cp.batches.iter().filter_map(|b| b.end.as_ref()).chain(cp.initial_offsets.as_ref()).collect();
    let lowest = |tp: &Tp, _: i64, end: i64| known.iter().filter_map(|o| o.get(tp)).copied().min().unwrap_or(end);
    let kafka = match seed::kafka(facts, &topics, now, &lowest) {
        Ok(k) => k,
        Err(e) => {
            p.headline = "not predicted: see the notes".into();
            p.notes.push(e);
            return p;
        }
    };
    for fail in [true, false] {
        let flag = if fail { "true" } else { "false" };
        let mut opts = options.to_vec();
        opts.push(("failOnDataLoss", flag));
        let cfg = match query(cp, &opts, Trigger::AvailableNow) {
            Ok(c) => c,
            Err(e) => {
                p.headline = format!("not predicted: the query's options are refused: {e}");
                return p;
            }
        };
        let run = drive(cfg, storage_of(files), Some(kafka.clone()), now);
        p.outcomes.push(outcome(fail, next, &start, &run, facts));
    }
    let (on, off) = (&p.outcomes[0], &p.outcomes[1]);
    p.fails = on.error.is_some();
    p.loses_data = on.lost.iter().chain(off.lost.iter()).any(|c| c.records > 0);
    let lost = |o: &Outcome| o.lost.iter().map(|c| c.records).sum::<i64>();
    let replayed: i64 = on.replayed.iter().map(|c| c.records).sum();
    p.headline = match (&on.error, &off.error) {
        (Some(e), Some(_)) => format!("the restart fails with failOnDataLoss=true (Spark's default) and with false: {e}"),
        (Some(e), None) => {
            format!("the restart fails (failOnDataLoss=true, Spark's default): {e}; with failOnDataLoss=false it goes on and loses {} record(s)", lost(off))
        }
        (None, _) if lost(on) > 0 => format!("the restart goes on but loses {} record(s)", lost(on)),
        (None, _) if next.rerun => format!(
            "no failure, no data lost; batch {} is re-run with its logged end offsets: {replayed} record(s) the sink may see a second time",
            next.id
        ),
        (None, _) => "no failure, no data lost".into(),
    };
    if p.fails || p.loses_data {
        p.ways_out = ways_out(cp, files, facts, options, &start, &kafka, &topics, now, off);
        p.ways_out.extend(create_missing(cp, files, facts, options));
    }
    p
}

/// Topics that do not exist: the restart with each created empty, with the partitions the checkpoint names.
fn create_missing(cp: &StructuredCheckpoint, files: &[(String, Vec<u8>)], facts: &Facts, options: &[(&str, &str)]) -> Option<WayOut> {
    let missing: Vec<String> = wanted_topics(cp).into_iter().filter(|t| matches!(facts.topics.get(t), Some(None))).collect();
    if missing.is_empty() {
        return None;
    }
    let known: BTreeSet<Tp> =
        cp.batches.iter().filter_map(|b| b.end.as_ref()).chain(cp.initial_offsets.as_ref()).flat_map(|o| o.keys().cloned()).collect();
    let mut created = facts.clone();
    let mut starts = Vec::new();
    for t in &missing {
        let n = known.iter().filter(|tp| &tp.topic == t).map(|tp| tp.partition.saturating_add(1)).max().unwrap_or(1);
        created.topics.insert(
            t.clone(),
            Some((0..n).map(|partition| crate::predict::PartitionLog { partition, log_start: 0, log_end: 0 }).collect()),
        );
        starts.extend((0..n).map(|partition| Start {
            topic: t.clone(),
            partition,
            offset: Some(0),
            source: "created empty".into(),
            records: 0,
        }));
    }
    let p = predict(cp, files, &created, options);
    let on = p.outcomes.first();
    let mut costs = vec![format!("then: {}", p.headline)];
    costs.extend(
        p.outcomes
            .iter()
            .flat_map(|o| o.lost.iter())
            .map(|c| format!("{}-{}: {} record(s) lost ({})", c.topic, c.partition, c.records, c.because)),
    );
    Some(WayOut {
        title: format!("create the missing topic(s) {} ({} partition(s), as the checkpoint names them)", missing.join(", "), starts.len()),
        starts,
        failure: on.and_then(|o| o.error.clone()),
        costs,
    })
}

fn lanes(cp: &StructuredCheckpoint, facts: &Facts) -> Vec<Lane> {
    let start = cp.next_batch.as_ref().and_then(|n| n.start.clone()).unwrap_or_default();
    let rerun_end = cp.next_batch.as_ref().and_then(|n| n.end.clone()).unwrap_or_default();
    let mut tps: BTreeSet<Tp> = start.keys().chain(rerun_end.keys()).cloned().collect();
    for t in wanted_topics(cp) {
        for l in facts.topics.get(&t).and_then(|p| p.as_ref()).into_iter().flatten() {
            tps.insert(Tp::new(t.clone(), l.partition));
        }
    }
    tps.into_iter()
        .map(|tp| {
            let log = facts.log(&tp);
            let (log_start, log_end) = match log {
                Log::Range(s, e) => (Some(s), Some(e)),
                _ => (None, None),
            };
            Lane {
                checkpoint_offset: start.get(&tp).copied(),
                rerun_end: rerun_end.get(&tp).copied(),
                log_start,
                log_end,
                exists: log.exists().into(),
                topic: tp.topic,
                partition: tp.partition,
            }
        })
        .collect()
}

fn outcome(fail: bool, next: &NextBatch, start: &Offsets, run: &Run, facts: &Facts) -> Outcome {
    let mut batches = Vec::new();
    let mut warnings = Vec::new();
    let mut rows: BTreeMap<Tp, i64> = BTreeMap::new();
    let mut replayed: BTreeMap<Tp, i64> = BTreeMap::new();
    for e in &run.events {
        match e {
            Event::DataLossWarning { message } => warnings.push(message.clone()),
            Event::BatchRun { batch_id, ranges, rows: r } => {
                let rerun = next.rerun && *batch_id == next.id;
                for row in r {
                    let tp = Tp::new(row.topic.clone(), row.partition);
                    *rows.entry(tp.clone()).or_default() += 1;
                    if rerun {
                        *replayed.entry(tp).or_default() += 1;
                    }
                }
                let ranges =
                    ranges.iter().map(|r| format!("{}-{} [{}, {})", r.topic, r.partition, r.from_offset, r.until_offset)).collect();
                batches.push(RunBatch { batch_id: *batch_id, rerun, ranges, rows: r.len() });
            }
            _ => {}
        }
    }
    let error = run.error().cloned();
    let resumes_at = run.committed_end();
    let mut lost = Vec::new();
    if error.is_none() {
        for (tp, e) in resumes_at.iter().flatten() {
            let s = start.get(tp).copied().unwrap_or(0);
            let read = rows.get(tp).copied().unwrap_or(0);
            let (records, because) = if *e >= s {
                (e - s - read, format!("[{s}, {e}) planned, {read} read: the rest was no longer in Kafka"))
            } else {
                // The offsets went backwards (a re-created topic): the new log below where the query goes on is never read.
                let ls = match facts.log(tp) {
                    Log::Range(ls, _) => ls,
                    _ => *e,
                };
                ((e - ls).max(0) - read, format!("the offset went back from {s} to {e}: the new log's [{ls}, {e}) is never read"))
            };
            if records > 0 {
                lost.push(PartitionCount { topic: tp.topic.clone(), partition: tp.partition, records, because });
            }
        }
        for tp in start.keys().filter(|tp| resumes_at.as_ref().is_some_and(|r| !r.contains_key(*tp))) {
            warnings.push(format!("{tp} is gone: whatever it held after offset {} is lost", start[tp]));
        }
    }
    let replayed = replayed
        .into_iter()
        .map(|(tp, records)| PartitionCount {
            topic: tp.topic,
            partition: tp.partition,
            records,
            because: format!("batch {} re-runs: offsets/{} was written, commits/{} not", next.id, next.id, next.id),
        })
        .collect();
    Outcome { fail_on_data_loss: fail, error, batches, warnings, lost, replayed, resumes_at }
}

#[allow(clippy::too_many_arguments)]
fn ways_out(
    cp: &StructuredCheckpoint,
    files: &[(String, Vec<u8>)],
    facts: &Facts,
    options: &[(&str, &str)],
    start: &Offsets,
    kafka: &KafkaModel,
    topics: &BTreeSet<String>,
    now: Time,
    off: &Outcome,
) -> Vec<WayOut> {
    let _ = files;
    let mut out = Vec::new();
    let lost: i64 = off.lost.iter().map(|c| c.records).sum();
    let mut costs: Vec<String> =
        off.lost.iter().map(|c| format!("{}-{}: {} record(s) lost ({})", c.topic, c.partition, c.records, c.because)).collect();
    if lost == 0 {
        costs.push("no record lost".into());
    }
    out.push(WayOut {
        title: "restart with .option(\"failOnDataLoss\", \"false\")".into(),
        starts: off
            .resumes_at
            .iter()
            .flatten()
            .map(|(tp, o)| Start {
                topic: tp.topic.clone(),
                partition: tp.partition,
                offset: Some(*o),
                source: "goes on from here".into(),
                records: 0,
            })
            .collect(),
        failure: off.error.clone(),
        costs,
    });
    // A new checkpoint location: startingOffsets applies again, the query gets a new id and a new group.
    let json_offsets = resume_json(start, facts, topics);
    let fresh: [(&str, String, String); 3] = [
        ("latest", "latest".into(), "delete the checkpoint (or a new checkpointLocation): startingOffsets=latest, the default, applies".into()),
        ("earliest", "earliest".into(), "delete the checkpoint (or a new checkpointLocation) with startingOffsets=earliest".into()),
        (
            "json",
            json::partition_offsets(&json_offsets, ScalaVersion::V2_13),
            format!(
                "a new checkpointLocation with .option(\"startingOffsets\", \"\"\"{}\"\"\") (where this checkpoint goes on, inside the live logs)",
                json::partition_offsets(&json_offsets, ScalaVersion::V2_13)
            ),
        ),
    ];
    for (how, value, title) in fresh {
        if how == "json" && json_offsets.is_empty() {
            continue;
        }
        let mut opts = options.to_vec();
        opts.push(("startingOffsets", value.as_str()));
        let cfg = match query(cp, &opts, Trigger::AvailableNow) {
            Ok(c) => c,
            Err(e) => {
                out.push(WayOut {
                    title,
                    starts: vec![],
                    failure: Some(SparkError::new("java.lang.IllegalArgumentException", e)),
                    costs: vec![],
                });
                continue;
            }
        };
        // earliest reads from the log starts: that Kafka needs the records from there.
        let kafka = if how == "earliest" {
            match seed::kafka(facts, topics, now, &|_, s, _| s) {
                Ok(k) => k,
                Err(e) => {
                    out.push(WayOut { title, starts: vec![], failure: None, costs: vec![format!("not simulated: {e}")] });
                    continue;
                }
            }
        } else {
            kafka.clone()
        };
        let run = drive(cfg, MemoryStorage::default(), Some(kafka), now);
        let initial = run.initial().cloned().unwrap_or_default();
        let (mut skipped, mut re_read) = (0i64, 0i64);
        for (tp, &i) in &initial {
            let Some(&s) = start.get(tp) else { continue };
            match facts.log(tp) {
                Log::Range(ls, le) if s > le => skipped += i - ls,
                Log::Range(ls, _) if i > s => skipped += i - s.max(ls),
                Log::Range(_, _) if i < s => re_read += s - i,
                _ => {}
            }
        }
        let mut costs = Vec::new();
        if skipped > 0 {
            costs.push(format!("{skipped} record(s) are never read"));
        }
        if re_read > 0 {
            costs.push(format!("{re_read} record(s) before the checkpoint's position are read again"));
        }
        if skipped == 0 && re_read == 0 {
            costs.push("nothing skipped or read again beyond what Kafka no longer has".into());
        }
        if !cp.state.is_empty() {
            costs.push(format!("the state store (state/, {} operator(s)) is lost and starts empty", cp.state.len()));
        }
        costs
            .push("a new query id and a new spark-kafka-source-…-executor group; the offset and commit logs start again at batch 0".into());
        let starts = initial
            .iter()
            .map(|(tp, o)| Start {
                topic: tp.topic.clone(),
                partition: tp.partition,
                offset: Some(*o),
                source: format!("startingOffsets={how}"),
                records: 0,
            })
            .collect();
        out.push(WayOut { title, starts, failure: run.error().cloned(), costs });
    }
    out
}

/// Per live partition: the checkpoint's position if the live log still holds it, else the log start (retention
/// passed it, or the log is a new one below it); new partitions from their log start.
fn resume_json(start: &Offsets, facts: &Facts, topics: &BTreeSet<String>) -> Offsets {
    let mut out = Offsets::new();
    for t in topics {
        for l in facts.topics.get(t).and_then(|p| p.as_ref()).into_iter().flatten() {
            let tp = Tp::new(t.clone(), l.partition);
            let o = match start.get(&tp) {
                Some(&s) if s >= l.log_start && s <= l.log_end => s,
                _ => l.log_start,
            };
            out.insert(tp, o);
        }
    }
    out
}
