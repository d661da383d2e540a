//! The prediction against the engine itself: for the newest checkpoint of every shipped scenario, what
//! `predict` says of a restart (from that checkpoint, seen as the decoder would show Spark's file, against
//! the facts of the scenario's Kafka at its end) equals what the engine's restart does from the same
//! checkpoint against the same Kafka: the exception its first batch dies with, or the ranges it reads.

use std::collections::BTreeMap;
use std::path::PathBuf;

use engine::checkpoint::Checkpoint as EngineCheckpoint;
use engine::config::Strategy;
use engine::storage::{self, MemoryStorage};
use engine::time::Time;
use engine::trace::TraceEvent;
use engine::{Engine, Input, Output, Reply, Request};
use kafka_model::KafkaModel;
use scenario::format;
use serde_json::{Map, Value as Json};
use spark_checkpoint::predict::{predict, wanted, Committed, Facts, GroupFacts, PartitionLog, Prediction};
use spark_checkpoint::spark::{
    BatchRanges, Checkpoint, ConsumerStrategy, DStreamInfo, KafkaStream, OffsetRange, PartitionOffset, RddCheckpoint, TopicPartition,
};

/// What a restart's first batch comes to: the first exception, and the ranges of the first computed batch if it was generated.
#[derive(Debug, PartialEq)]
struct Outcome {
    error: Option<String>,
    ranges: Option<Vec<(String, i32, i64, i64)>>,
}

/// The scenarios whose prediction can only say "may fail" where the engine fails: the facts give the group's
/// state (Stable), not whether its members are alive; the scenario's Kafka still has the console consumer.
const MAY_FAIL: &[&str] = &["revoked"];

fn spark_range(r: &engine::offsets::OffsetRange) -> OffsetRange {
    OffsetRange { topic: r.topic.clone(), partition: r.partition, from_offset: r.from_offset, until_offset: r.until_offset }
}

fn stream(handle: usize, class: &str, parents: Vec<usize>, cp: &EngineCheckpoint) -> DStreamInfo {
    DStreamInfo {
        handle,
        class: class.into(),
        parents,
        is_input: false,
        is_output: false,
        zero_time: Some(cp.zero_time.ms()),
        remember_duration: Some(cp.remember_duration.ms()),
        checkpoint_duration: None,
        must_checkpoint: Some(false),
        creation_site: None,
        rdd_checkpoints: vec![],
        other_checkpoint_data: vec![],
        kafka: None,
    }
}

/// The engine's checkpoint as the decoder shows a Spark checkpoint of the same job: the Kafka direct stream
/// with its offsets, queue and restored ranges, the state stream with its RDD checkpoint files, one output.
fn spark_view(cp: &EngineCheckpoint) -> Checkpoint {
    let job = &cp.job;
    let (topics, topic_partitions) = match &job.strategy {
        Strategy::Subscribe { topics, .. } => (Some(topics.clone()), None),
        Strategy::Assign { partitions, .. } => {
            (None, Some(partitions.iter().map(|tp| TopicPartition { topic: tp.topic.clone(), partition: tp.partition }).collect()))
        }
    };
    let kafka_params: Map<String, Json> = job.kafka_params.iter().map(|(k, v)| (k.clone(), Json::String(v.clone()))).collect();
    let offsets = |o: &[engine::offsets::PartitionOffset]| -> Vec<PartitionOffset> {
        o.iter().map(|p| PartitionOffset { topic: p.topic.clone(), partition: p.partition, offset: p.offset }).collect()
    };
    let mut input = stream(1, "org.apache.spark.streaming.kafka010.DirectKafkaInputDStream", vec![], cp);
    input.is_input = true;
    input.kafka = Some(KafkaStream {
        id: Some(0),
        consumer_strategy: Some(ConsumerStrategy {
            kind: job.strategy.name().into(),
            topics,
            pattern: None,
            topic_partitions,
            kafka_params,
            offsets: offsets(&engine::offsets::to_list(job.strategy.user_offsets())),
        }),
        executor_kafka_params: Map::new(),
        current_offsets: offsets(&cp.current_offsets),
        commit_queue: cp.commit_queue.iter().map(spark_range).collect(),
        batch_for_time: cp
            .batch_for_time
            .iter()
            .map(|b| BatchRanges { time: b.batch.ms(), ranges: b.ranges.iter().map(spark_range).collect() })
            .collect(),
        initial_rate: None,
        max_rate_per_partition: None,
        location_strategy: None,
        backpressure: Some(false),
        commit_callback: None,
    });
    let mut streams = vec![input, stream(2, "org.apache.spark.streaming.dstream.MappedDStream", vec![1], cp)];
    let mut last = 2;
    if job.has_state() {
        let mut state = stream(3, "org.apache.spark.streaming.dstream.StateDStream", vec![2], cp);
        state.must_checkpoint = Some(true);
        state.checkpoint_duration = cp.state_checkpoint_duration.map(|d| d.ms());
        state.rdd_checkpoints = cp.state_files.iter().map(|f| RddCheckpoint { time: f.batch.ms(), path: f.file.clone() }).collect();
        streams.push(state);
        last = 3;
    }
    let mut output = stream(4, "org.apache.spark.streaming.dstream.ForEachDStream", vec![last], cp);
    output.is_output = true;
    streams.push(output);
    Checkpoint {
        checkpoint_time: cp.checkpoint_time.ms(),
        master: cp.master.clone(),
        app_name: cp.framework.clone(),
        checkpoint_dir: Some(cp.checkpoint_dir.clone()),
        checkpoint_duration: Some(cp.checkpoint_duration.ms()),
        batch_duration: Some(cp.batch_duration.ms()),
        pending_times: cp.pending_times.iter().map(|t| t.ms()).collect(),
        jars: vec![],
        spark_conf: cp.spark_conf.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        zero_time: Some(cp.zero_time.ms()),
        start_time: None,
        remember_duration: Some(cp.remember_duration.ms()),
        num_receivers: Some(0),
        streams,
    }
}

/// The facts the page would read from this Kafka (`web::inspect::facts`, through the model's own reads).
fn facts_of(kafka: &KafkaModel, cp: &Checkpoint) -> Facts {
    let (topics, groups) = wanted(cp);
    let mut facts = Facts::default();
    for t in topics {
        let logs = kafka.describe_topic(&t).map(|ps| {
            ps.iter()
                .enumerate()
                .map(|(p, (log_start, log_end))| PartitionLog { partition: p as i32, log_start: *log_start, log_end: *log_end })
                .collect()
        });
        facts.topics.insert(t, logs);
    }
    for g in groups {
        let committed =
            kafka.committed(&g).into_iter().map(|(tp, offset)| Committed { topic: tp.topic, partition: tp.partition, offset }).collect();
        facts.groups.insert(g.clone(), GroupFacts { state: Some(kafka.group_state(&g)), committed });
    }
    facts
}

/// The earliest restart whose `JobGenerator.restart` computes a batch: the first grid time from the
/// checkpoint time on without a restored RDD.
fn first_compute_time(cp: &EngineCheckpoint) -> Time {
    let mut t = cp.checkpoint_time;
    while cp.batch_for_time.iter().any(|b| b.batch == t) {
        t = t.plus(cp.batch_duration);
    }
    t
}

/// A new driver runs `getOrCreate` on a directory holding only `files`, against `kafka`, at `now`, until its
/// first computed batch has run its jobs or the context stopped.
fn engine_restart(cp: &EngineCheckpoint, files: BTreeMap<String, Vec<u8>>, mut kafka: KafkaModel, now: Time) -> Outcome {
    let mut storage = MemoryStorage { files };
    let mut e = Engine::new();
    kafka.advance(now);
    e.handle_input(now, Input::Start { job: Box::new(cp.job.clone()), code_version: cp.code_version }).expect("start");
    let (mut error, mut first) = (None, None::<(Time, Vec<(String, i32, i64, i64)>)>);
    for _ in 0..10_000 {
        match e.poll_output() {
            Output::Request { id, request } => {
                let reply = match &request {
                    Request::Kafka(k) => Reply::Kafka(kafka.serve(k).expect("no other member to wait for")),
                    Request::Storage(s) => Reply::Storage(storage::serve(&mut storage, s)),
                };
                let _ = e.handle_reply(id, reply);
            }
            Output::Trace(line) => match line.event {
                TraceEvent::BatchGenerated { batch, ranges, restored: false, .. } if first.is_none() => {
                    first = Some((batch, ranges.iter().map(|r| (r.topic.clone(), r.partition, r.from_offset, r.until_offset)).collect()));
                }
                TraceEvent::Error { class, message, .. } => {
                    error = Some(format!("{class}: {message}"));
                    break;
                }
                TraceEvent::ContextStopped { .. } => break,
                _ => {}
            },
            // The first batch's jobs are done (a failed job's error follows its batch's completion) once the engine waits for the next.
            Output::Timeout(_) if first.is_some() => break,
            Output::Timeout(t) => {
                kafka.advance(t);
                e.handle_timeout(t).expect("forward");
            }
            Output::Idle => break,
        }
    }
    Outcome { error, ranges: first.map(|(_, r)| r) }
}

/// The same read off a prediction: its first certain failure (or, with `may`, its first failure), and the first
/// batch's ranges if the driver computes it.
fn predicted(p: &Prediction, may: bool) -> Outcome {
    let s = &p.streams[0];
    let error = s.failures.iter().find(|f| f.certain || may).map(|f| f.exception.to_string());
    let ranges = s
        .first_batch
        .as_ref()
        .filter(|fb| fb.driver_error.is_none())
        .map(|fb| fb.ranges.iter().map(|r| (r.topic.clone(), r.partition, r.from_offset, r.until_offset)).collect());
    Outcome { error, ranges }
}

fn shipped() -> Vec<format::Scenario> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|x| x == "toml")).collect();
    files.sort();
    files.iter().map(|p| format::parse(&p.display().to_string(), &std::fs::read_to_string(p).unwrap()).unwrap()).collect()
}

/// Compares the prediction with the engine's restart for one checkpoint (with its state files) and one Kafka.
fn compare(label: &str, may: bool, cp: &EngineCheckpoint, files: &BTreeMap<String, Vec<u8>>, kafka: &KafkaModel) -> Result<String, String> {
    let now = first_compute_time(cp).max(kafka.now());
    let engine = engine_restart(cp, files.clone(), kafka.clone(), now);
    let view = spark_view(cp);
    let prediction = predict(&view, &facts_of(kafka, &view));
    let got = predicted(&prediction, may);
    if may && (prediction.crashes || !prediction.headline.starts_with("the restart may fail") || engine.ranges.is_some()) {
        return Err(format!("{label}: expected 'may fail' where the engine's driver fails: {engine:?} / {}", prediction.headline));
    }
    if got != engine && !(may && got.error == engine.error) {
        return Err(format!("{label}: engine {engine:?}\n  predict {got:?}\n  {}", prediction.headline));
    }
    Ok(format!("{label}: {engine:?}"))
}

/// The scenario's Kafka at its end, and two variants that break the checkpoint: its topics deleted and
/// re-created empty, and every partition's records deleted up to the log end.
fn kafkas(kafka: &KafkaModel, cp: &EngineCheckpoint) -> Vec<(&'static str, KafkaModel)> {
    let topics = cp.job.strategy.topics();
    let mut recreated = kafka.clone();
    for t in &topics {
        let n = recreated.partitions(t).unwrap_or(1);
        recreated.delete_topic(t).unwrap();
        recreated.create_topic(t, n).unwrap();
    }
    let mut wiped = kafka.clone();
    for t in &topics {
        for (p, (_, end)) in kafka.describe_topic(t).unwrap_or_default().into_iter().enumerate() {
            wiped.delete_records(&engine::offsets::TopicPartition::new(t.clone(), p as i32), end).unwrap();
        }
    }
    vec![("at the end", kafka.clone()), ("topics re-created empty", recreated), ("records deleted up to the log end", wiped)]
}

#[test]
fn the_prediction_from_every_scenarios_newest_checkpoint_is_what_the_engines_restart_does() {
    let (mut agree, mut disagree) = (Vec::new(), Vec::new());
    for s in shipped() {
        let mut run = scenario::run_in_memory(&s).unwrap();
        // A restart follows a stop: the old driver's consumer has left the group.
        run.stop_if_running();
        let Some((name, cp)) = run.newest_checkpoint() else { continue };
        let mut files = BTreeMap::new();
        files.insert(format!("{}/{name}", cp.checkpoint_dir), cp.to_bytes());
        for f in &cp.state_files {
            files.insert(f.file.clone(), run.storage.read(&f.file).expect("a referenced state file exists"));
        }
        for (variant, kafka) in kafkas(&run.kafka, &cp) {
            let label = format!("{} ({variant})", s.name);
            match compare(&label, MAY_FAIL.contains(&s.name.as_str()), &cp, &files, &kafka) {
                Ok(line) => agree.push(line),
                Err(line) => disagree.push(line),
            }
        }
    }
    assert!(agree.len() + disagree.len() >= 36, "only {} comparisons: {agree:?}", agree.len() + disagree.len());
    assert!(disagree.is_empty(), "{} of {} disagree:\n{}", disagree.len(), agree.len() + disagree.len(), disagree.join("\n"));
}
