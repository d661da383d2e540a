//! The engine against the in-memory Kafka and storage: the shell a scenario runner would be.

use crate::engine::{rate_limit, Engine, Event, Input, Output, TraceLine};
use crate::options::{QueryConfig, Trigger};
use engine::io::{Reply, Request};
use engine::offsets::{Offsets, TopicPartition};
use engine::storage::{serve, MemoryStorage, StorageRequest};
use engine::time::{Duration, Time};
use kafka_model::KafkaModel;

/// A batch's range as `(topic-partition, from, until)`.
type Range = (String, i64, i64);

struct Shell {
    engine: Engine,
    kafka: KafkaModel,
    storage: MemoryStorage,
    trace: Vec<Event>,
}

impl Shell {
    fn new() -> Shell {
        let mut kafka = KafkaModel::new();
        kafka.create_topic("words", 2).unwrap();
        Shell { engine: Engine::new(), kafka, storage: MemoryStorage::default(), trace: Vec::new() }
    }

    /// Answers requests and records trace lines (`on_trace` sees each first) until the engine waits
    /// for time, or until `halt` picks a request, which is left unanswered.
    fn pump_with(&mut self, halt: impl Fn(&Request) -> bool, mut on_trace: impl FnMut(&mut Shell, &TraceLine)) -> Option<Time> {
        loop {
            match self.engine.poll_output() {
                Output::Request { request, .. } if halt(&request) => return None,
                Output::Request { id, request } => {
                    let reply = match &request {
                        Request::Kafka(k) => Reply::Kafka(self.kafka.serve(k).expect("the source joins no group, so nothing waits")),
                        Request::Storage(s) => Reply::Storage(serve(&mut self.storage, s)),
                    };
                    self.engine.handle_reply(id, reply).unwrap();
                }
                Output::Trace(line) => {
                    on_trace(self, &line);
                    self.trace.push(line.event);
                }
                Output::Timeout(t) => return Some(t),
                Output::Idle => return None,
            }
        }
    }

    fn pump(&mut self) -> Option<Time> {
        self.pump_with(|_| false, |_, _| {})
    }

    fn start(&mut self, now: i64, cfg: &QueryConfig) {
        self.engine.handle_input(Time(now), Input::Start(Box::new(cfg.clone()))).unwrap();
        self.pump();
    }

    fn tick(&mut self, now: i64) {
        self.kafka.advance(Time(now));
        self.engine.handle_timeout(Time(now)).unwrap();
        self.pump();
    }

    fn produce(&mut self, partition: i32, n: usize) {
        for i in 0..n {
            self.kafka.produce("words", Some(partition), Some("k"), &format!("v{i}")).unwrap();
        }
    }

    fn file(&self, path: &str) -> String {
        String::from_utf8_lossy(&self.storage.files[path]).to_string()
    }

    fn batches(&self) -> Vec<(i64, Vec<Range>)> {
        self.trace
            .iter()
            .filter_map(|e| match e {
                Event::BatchRun { batch_id, ranges, .. } => {
                    Some((*batch_id, ranges.iter().map(|r| (r.topic_partition().to_string(), r.from_offset, r.until_offset)).collect()))
                }
                _ => None,
            })
            .collect()
    }

    fn error(&self) -> Option<String> {
        self.trace.iter().find_map(|e| match e {
            Event::QueryTerminated { error: Some(e), .. } => Some(e.to_string()),
            _ => None,
        })
    }
}

fn cfg(extra: &[(&str, &str)], trigger: Trigger) -> QueryConfig {
    let mut opts = vec![("kafka.bootstrap.servers", "localhost:9092"), ("subscribe", "words")];
    opts.extend_from_slice(extra);
    QueryConfig::from_options(&opts, trigger, "ckpt", "file:/tmp/ckpt").unwrap()
}

fn every_second() -> Trigger {
    Trigger::ProcessingTime(Duration(1000))
}

fn offsets(list: &[(i32, i64)]) -> Offsets {
    list.iter().map(|(p, o)| (TopicPartition::new("words", *p), *o)).collect()
}

#[test]
fn fresh_start_writes_the_checkpoint_as_spark_does() {
    let mut s = Shell::new();
    s.produce(0, 2);
    let mut c = cfg(&[("startingOffsets", "earliest")], every_second());
    // Scala 2.12's HashMap order, the one the Maven default build of Spark 3.5 writes.
    c.scala = crate::options::ScalaVersion::V2_12;
    s.start(1_000, &c);
    assert_eq!(s.file("ckpt/metadata"), format!("{{\"id\":\"{}\"}}", c.query_id()));
    assert_eq!(s.storage.files["ckpt/sources/0/0"], b"\0v1\n{\"words\":{\"1\":0,\"0\":0}}".to_vec());
    let offsets0 = s.file("ckpt/offsets/0");
    assert!(offsets0.starts_with("v1\n{\"batchWatermarkMs\":0,\"batchTimestampMs\":1000,\"conf\":{"), "{offsets0}");
    assert!(offsets0.ends_with("}}\n{\"words\":{\"1\":0,\"0\":2}}"), "{offsets0}");
    assert_eq!(s.file("ckpt/commits/0"), "v1\n{\"nextBatchWatermarkMs\":0}");
    assert_eq!(s.batches(), vec![(0, vec![("words-0".into(), 0, 2),])]);
    let rows: Vec<String> = s
        .trace
        .iter()
        .filter_map(|e| if let Event::BatchRun { rows, .. } = e { Some(rows) } else { None })
        .flatten()
        .map(|r| r.value.clone())
        .collect();
    assert_eq!(rows, vec!["v0", "v1"]);
    // No new data: the next trigger writes nothing.
    s.tick(2_000);
    assert!(!s.storage.files.contains_key("ckpt/offsets/1"));
    s.produce(1, 3);
    s.tick(3_000);
    assert_eq!(s.batches()[1], (1, vec![("words-1".into(), 0, 3)]));
    assert_eq!(s.engine.progress().unwrap().0, 2);
}

#[test]
fn latest_start_skips_what_was_there() {
    let mut s = Shell::new();
    s.produce(0, 4);
    s.start(0, &cfg(&[], every_second()));
    assert_eq!(s.storage.files["ckpt/sources/0/0"], b"\0v1\n{\"words\":{\"0\":4,\"1\":0}}".to_vec());
    // Nothing is committed yet, so isNewDataAvailable holds and batch 0 runs, empty.
    assert_eq!(s.batches(), vec![(0, vec![])]);
    s.tick(1_000);
    assert_eq!(s.batches().len(), 1, "no new data, no batch");
    s.produce(0, 1);
    s.tick(2_000);
    assert_eq!(s.batches()[1], (1, vec![("words-0".into(), 4, 5),]));
}

#[test]
fn kill_between_offset_log_and_commit_log_reruns_the_same_range() {
    let mut s = Shell::new();
    s.produce(0, 3);
    let c = cfg(&[("startingOffsets", "earliest")], every_second());
    s.start(0, &c);
    s.produce(0, 2);
    // The driver dies after offsets/1 is written, before commits/1: the shell kills it there.
    s.engine.handle_timeout(Time(1_000)).unwrap();
    let commit_1 = |r: &Request| matches!(r, Request::Storage(StorageRequest::Write { path, .. }) if path == "ckpt/commits/1");
    s.pump_with(commit_1, |_, _| {});
    s.engine.handle_input(Time(1_000), Input::Kill).unwrap();
    s.pump();
    assert!(s.storage.files.contains_key("ckpt/offsets/1") && !s.storage.files.contains_key("ckpt/commits/1"));
    s.produce(0, 10);
    // Restart with a different startingOffsets: ignored for an existing query.
    let mut c2 = c.clone();
    c2.starting_offsets = crate::options::StartingOffsets::Latest;
    s.start(5_000, &c2);
    let started =
        s.trace
            .iter()
            .rev()
            .find_map(|e| if let Event::QueryStarted { batch_id, rerun, .. } = e { Some((*batch_id, *rerun)) } else { None });
    assert_eq!(started, Some((1, true)));
    let b = s.batches();
    // Batch 1 ran in the killed process (its rows went to the sink) and runs again with exactly the logged range.
    assert_eq!(b.last().unwrap(), &(1, vec![("words-0".into(), 3, 5),]));
    s.tick(6_000);
    assert_eq!(s.batches().last().unwrap(), &(2, vec![("words-0".into(), 5, 15),]));
}

#[test]
fn reset_offsets_on_the_generated_group_changes_nothing() {
    let mut s = Shell::new();
    s.produce(0, 5);
    let c = cfg(&[("startingOffsets", "earliest")], every_second());
    s.start(0, &c);
    s.engine.handle_input(Time(500), Input::Stop).unwrap();
    s.pump();
    // kafka-consumer-groups --reset-offsets --to-earliest on the group Spark's executors use.
    let group = c.executor_group_id();
    s.kafka.reset_offsets(&format!("--group {group} --reset-offsets --topic words --to-earliest --execute")).unwrap();
    s.produce(0, 1);
    s.start(1_000, &c);
    assert_eq!(s.batches().last().unwrap(), &(1, vec![("words-0".into(), 5, 6),]));
    assert_eq!(s.kafka.committed(&group), offsets(&[(0, 0), (1, 0)]), "Spark never commits to it either");
}

fn recreate_topic_after_a_batch(fail_on_data_loss: &str) -> Shell {
    let mut s = Shell::new();
    s.produce(0, 5);
    s.start(0, &cfg(&[("startingOffsets", "earliest"), ("failOnDataLoss", fail_on_data_loss)], every_second()));
    s.kafka.delete_topic("words").unwrap();
    s.kafka.create_topic("words", 2).unwrap();
    s.produce(0, 2);
    s.tick(1_000);
    s
}

#[test]
fn topic_recreated_fails_the_query_with_fail_on_data_loss_true() {
    let s = recreate_topic_after_a_batch("true");
    let e = s.error().expect("the query fails");
    assert!(
        e.starts_with("java.lang.IllegalStateException: Partition words-0's offset was changed from 5 to 2, some data may have been missed. \nSome data may have been lost"),
        "{e}"
    );
    assert!(e.contains("set the\n source option \"failOnDataLoss\" to \"false\"."), "{e}");
    assert!(!s.engine.is_running());
    assert!(s.storage.files.contains_key("ckpt/offsets/1") && !s.storage.files.contains_key("ckpt/commits/1"));
}

#[test]
fn topic_recreated_warns_and_moves_on_with_fail_on_data_loss_false() {
    let mut s = recreate_topic_after_a_batch("false");
    assert!(s.error().is_none());
    let warning = s.trace.iter().find_map(|e| if let Event::DataLossWarning { message } = e { Some(message.clone()) } else { None });
    assert!(warning.unwrap().starts_with("Partition words-0's offset was changed from 5 to 2, some data may have been missed. \n"));
    // The batch's range runs backwards and reads nothing; the next one starts from the new end.
    assert_eq!(s.batches().last().unwrap(), &(1, vec![]));
    s.produce(0, 1);
    s.tick(2_000);
    assert_eq!(s.batches().last().unwrap(), &(2, vec![("words-0".into(), 2, 3),]));
}

#[test]
fn retention_passing_the_checkpoint() {
    for fail in ["true", "false"] {
        let mut s = Shell::new();
        s.produce(0, 2);
        s.start(0, &cfg(&[("startingOffsets", "earliest"), ("failOnDataLoss", fail)], every_second()));
        s.engine.handle_input(Time(10), Input::Stop).unwrap();
        s.pump();
        s.produce(0, 6);
        s.kafka.delete_records(&TopicPartition::new("words", 0), 5).unwrap();
        s.start(1_000, &cfg(&[("failOnDataLoss", fail)], every_second()));
        if fail == "true" {
            // the executor's consumer's own exception, as real Spark 3.5.1 fails
            assert!(
                s.error().unwrap().contains("Fetch position FetchPosition{offset=2,")
                    && s.error().unwrap().contains("is out of range for partition words-0"),
                "{:?}",
                s.error()
            );
        } else {
            let rows: Vec<i64> = s
                .trace
                .iter()
                .filter_map(|e| if let Event::BatchRun { rows, batch_id: 1, .. } = e { Some(rows) } else { None })
                .flatten()
                .map(|r| r.offset)
                .collect();
            assert_eq!(rows, vec![5, 6, 7]);
        }
    }
}

#[test]
fn max_offsets_per_trigger_splits_a_backlog_in_proportion() {
    assert_eq!(rate_limit(10, &offsets(&[(0, 0), (1, 0)]), &Offsets::new(), &offsets(&[(0, 90), (1, 10)])), offsets(&[(0, 9), (1, 1)]));
    // a share below one is rounded up: the small partition is not starved
    assert_eq!(rate_limit(10, &offsets(&[(0, 0), (1, 0)]), &Offsets::new(), &offsets(&[(0, 1000), (1, 1)])), offsets(&[(0, 9), (1, 1)]));
    let mut s = Shell::new();
    s.produce(0, 30);
    s.produce(1, 10);
    s.start(0, &cfg(&[("startingOffsets", "earliest"), ("maxOffsetsPerTrigger", "8")], every_second()));
    s.tick(1_000);
    assert_eq!(
        s.batches(),
        vec![(0, vec![("words-0".into(), 0, 6), ("words-1".into(), 0, 2)]), (1, vec![("words-0".into(), 6, 12), ("words-1".into(), 2, 4)])]
    );
}

#[test]
fn available_now_drains_the_backlog_in_limited_batches_then_stops() {
    let mut s = Shell::new();
    s.produce(0, 5);
    s.start(0, &cfg(&[("startingOffsets", "earliest"), ("maxOffsetsPerTrigger", "2")], Trigger::AvailableNow));
    let ends: Vec<i64> = s.batches().iter().map(|(_, r)| r[0].2).collect();
    assert_eq!(ends, vec![2, 4, 5]);
    assert!(!s.engine.is_running());
    assert!(matches!(s.trace.last(), Some(Event::QueryTerminated { error: None, killed: false })));
}

#[test]
fn once_runs_one_batch() {
    let mut s = Shell::new();
    s.produce(0, 5);
    s.start(0, &cfg(&[("startingOffsets", "earliest"), ("maxOffsetsPerTrigger", "2")], Trigger::Once));
    assert_eq!(s.batches().len(), 1);
    assert!(!s.engine.is_running());
}

#[test]
fn new_partitions_start_from_earliest() {
    let mut s = Shell::new();
    s.start(0, &cfg(&[("startingOffsets", "earliest")], every_second()));
    s.kafka.add_partitions("words", 3).unwrap();
    s.kafka.produce("words", Some(2), Some("k"), "x").unwrap();
    s.tick(1_000);
    assert_eq!(s.batches().last().unwrap().1.last().unwrap(), &("words-2".to_string(), 0, 1));
}

#[test]
fn specific_starting_offsets_resolve_and_must_name_every_partition() {
    let mut s = Shell::new();
    s.produce(0, 4);
    s.produce(1, 4);
    s.start(0, &cfg(&[("startingOffsets", r#"{"words":{"0":-2,"1":-1}}"#)], every_second()));
    assert_eq!(s.storage.files["ckpt/sources/0/0"], b"\0v1\n{\"words\":{\"0\":0,\"1\":4}}".to_vec());
    let mut s = Shell::new();
    s.start(0, &cfg(&[("startingOffsets", r#"{"words":{"0":1}}"#)], every_second()));
    let e = s.error().unwrap();
    assert!(
        e.contains("you must specify all TopicPartitions") && e.contains("Specified: Set(words-0) Assigned: Set(words-0, words-1)"),
        "{e}"
    );
}

#[test]
fn retention_of_the_logs_keeps_min_batches_to_retain() {
    let mut s = Shell::new();
    let mut c = cfg(&[("startingOffsets", "earliest")], every_second());
    c.min_batches_to_retain = 2;
    s.start(0, &c);
    for i in 1..=5 {
        s.produce(0, 1);
        s.tick(i * 1_000);
    }
    let names: Vec<&String> = s.storage.files.keys().filter(|k| k.starts_with("ckpt/offsets/")).collect();
    // Batches 0..=5 ran; writing offsets/5 purged everything below 5 - 2.
    assert_eq!(names, vec!["ckpt/offsets/3", "ckpt/offsets/4", "ckpt/offsets/5"]);
    let commits = s.storage.files.keys().filter(|k| k.starts_with("ckpt/commits/")).count();
    assert_eq!(commits, 3);
}

#[test]
fn newer_offset_log_version_is_refused() {
    let mut s = Shell::new();
    s.storage.files.insert("ckpt/offsets/0".into(), b"v9\n\n{\"words\":{\"0\":1}}".to_vec());
    s.start(0, &cfg(&[], every_second()));
    assert!(s.error().unwrap().contains("maximum supported log version is v1, but encountered v9"));
}

#[test]
fn processing_time_triggers_on_the_interval_grid() {
    let mut s = Shell::new();
    s.produce(0, 1);
    s.engine.handle_input(Time(1_500), Input::Start(Box::new(cfg(&[("startingOffsets", "earliest")], every_second())))).unwrap();
    // Batch 0 ran at 1500: nextBatchTime(1500) = 2000.
    assert_eq!(s.pump(), Some(Time(2_000)));
    // Nothing new at 2000: pollingDelay (10 ms), then nextBatchTime(2010) = 3000.
    s.engine.handle_timeout(Time(2_000)).unwrap();
    assert_eq!(s.pump(), Some(Time(3_000)));
    let stamp = s.file("ckpt/offsets/0");
    assert!(stamp.contains("\"batchTimestampMs\":1500,"), "the trigger's clock is the batch timestamp");
}

#[test]
fn available_now_stops_at_the_offsets_it_fetched_first() {
    let mut s = Shell::new();
    s.produce(0, 4);
    let c = cfg(&[("startingOffsets", "earliest"), ("maxOffsetsPerTrigger", "2")], Trigger::AvailableNow);
    s.engine.handle_input(Time(0), Input::Start(Box::new(c))).unwrap();
    // Records arriving while the query drains are not part of this run.
    s.pump_with(
        |_| false,
        |s, l| {
            if matches!(l.event, Event::CommitLogWritten { batch_id: 0, .. }) {
                s.produce(0, 3);
            }
        },
    );
    let ends: Vec<i64> = s.batches().iter().map(|(_, r)| r[0].2).collect();
    assert_eq!(ends, vec![2, 4]);
    assert!(!s.engine.is_running());
}

#[test]
fn spark_4_reports_data_loss_with_its_error_condition() {
    let mut s = Shell::new();
    s.produce(0, 5);
    let mut c = cfg(&[("startingOffsets", "earliest")], every_second());
    c.spark = crate::options::SparkVersion::V4_0;
    s.start(0, &c);
    assert!(s.file("ckpt/offsets/0").ends_with("\n{\"words\":{\"0\":5,\"1\":0}}"));
    s.kafka.delete_topic("words").unwrap();
    s.kafka.create_topic("words", 2).unwrap();
    s.produce(0, 1);
    s.tick(1_000);
    let e = s.error().unwrap();
    assert!(
        e.starts_with("java.lang.IllegalStateException: Some data may have been lost because they are not available in Kafka any more;\n"),
        "{e}"
    );
    assert!(e.ends_with("Reason: Partition words-0 offset was changed from 5 to 1.\nThis could either be a user error that the start offset is set too high and this is the first batch, or the kafka topic-partition is broken, and some data may have been missed."), "{e}");
}

#[test]
fn assign_keeps_its_partitions_and_a_deleted_topic_fails_describe_topics() {
    let mut s = Shell::new();
    let mut kafka = KafkaModel::new();
    kafka.create_topic("words", 2).unwrap();
    kafka.create_topic("other", 1).unwrap();
    s.kafka = kafka;
    let opts = [
        ("kafka.bootstrap.servers", "k:9092"),
        ("assign", r#"{"words":[0],"other":[0]}"#),
        ("kafka.group.id", "g"),
        ("failOnDataLoss", "false"),
    ];
    let c = QueryConfig::from_options(&opts, every_second(), "ckpt", "file:/tmp/ckpt").unwrap();
    s.start(0, &c);
    // an empty batch has no input partitions; the offsets it logged name only the assigned partitions
    assert!(s.file("ckpt/offsets/0").ends_with("\n{\"other\":{\"0\":0},\"words\":{\"0\":0}}"), "{}", s.file("ckpt/offsets/0"));
    s.kafka.produce("words", Some(0), Some("k"), "x").unwrap();
    s.kafka.delete_topic("other").unwrap();
    s.tick(1_000);
    // describeTopics of a missing topic fails: the query stops with Kafka's exception.
    assert!(s.error().unwrap().contains("UnknownTopicOrPartitionException"), "{:?}", s.error());
}

#[test]
fn trace_lines_serialize_with_the_event_name() {
    let mut s = Shell::new();
    s.engine.handle_input(Time(0), Input::Start(Box::new(cfg(&[], Trigger::Once)))).unwrap();
    let mut lines = Vec::new();
    s.pump_with(|_| false, |_, l| lines.push(serde_json::to_string(l).unwrap()));
    assert!(lines[0].starts_with("{\"t\":0,\"event\":\"queryStarted\",\"id\":"), "{}", lines[0]);
    assert!(lines.iter().any(|l| l.contains("\"event\":\"offsetLogWritten\",\"batchId\":0,\"file\":\"ckpt/offsets/0\"")));
    assert!(lines.last().unwrap().contains("\"event\":\"queryTerminated\""));
}

#[test]
fn starting_offsets_by_timestamp() {
    let mut s = Shell::new();
    s.kafka.advance(Time(1_000));
    s.produce(0, 2); // offsets 0, 1 at 1000
    s.kafka.advance(Time(2_000));
    s.produce(0, 2); // offsets 2, 3 at 2000
    s.produce(1, 1); // words-1 offset 0 at 2000
    let by = r#"{"words":{"0":1500,"1":2500}}"#;
    s.start(3_000, &cfg(&[("startingOffsetsByTimestamp", by), ("startingOffsetsByTimestampStrategy", "latest")], every_second()));
    assert_eq!(s.batches()[0], (0, vec![("words-0".into(), 2, 4),]));

    let mut s2 = Shell::new();
    s2.kafka = s.kafka.clone();
    s2.start(3_000, &cfg(&[("startingOffsetsByTimestamp", by)], every_second()));
    assert_eq!(
        s2.error().unwrap(),
        "java.lang.IllegalArgumentException: No offset matched from request of topic-partition words-1 and timestamp 2500."
    );

    let mut s3 = Shell::new();
    s3.kafka = s.kafka.clone();
    s3.start(3_000, &cfg(&[("startingTimestamp", "1500"), ("startingOffsets", "earliest")], every_second()));
    assert_eq!(
        s3.batches()[0],
        (0, vec![("words-0".into(), 2, 4), ("words-1".into(), 0, 1)]),
        "the global timestamp wins over startingOffsets"
    );

    let e = QueryConfig::from_options(
        &[("kafka.bootstrap.servers", "k"), ("subscribe", "w"), ("startingTimestamp", "soon")],
        every_second(),
        "c",
        "c",
    )
    .unwrap_err();
    assert_eq!(e, "Expected a single long value, got soon");
}

#[test]
fn stop_during_a_batch_abandons_it_and_the_restart_reruns_it() {
    let mut s = Shell::new();
    s.produce(0, 3);
    let c = cfg(&[("startingOffsets", "earliest")], every_second());
    s.engine.handle_input(Time(0), Input::Start(Box::new(c.clone()))).unwrap();
    // Serve everything until the batch's first Fetch, then stop the query.
    s.pump_with(|r| matches!(r, Request::Kafka(engine::kafka::KafkaRequest::Fetch { .. })), |_, _| {});
    s.engine.handle_input(Time(100), Input::Stop).unwrap();
    s.pump();
    assert!(matches!(s.trace.last(), Some(Event::QueryTerminated { error: None, killed: false })));
    assert!(s.storage.files.contains_key("ckpt/offsets/0") && !s.storage.files.contains_key("ckpt/commits/0"));
    assert!(s.engine.handle_reply(99, Reply::Kafka(engine::kafka::KafkaReply::Left)).is_err(), "no request waits any more");
    s.start(1_000, &c);
    assert_eq!(s.batches(), vec![(0, vec![("words-0".into(), 0, 3),])]);
}

#[test]
fn subscribe_pattern_follows_new_matching_topics() {
    let mut s = Shell::new();
    s.kafka.create_topic("clicks", 1).unwrap();
    s.kafka.produce("words", Some(0), Some("k"), "w").unwrap();
    s.kafka.produce("clicks", Some(0), Some("k"), "c").unwrap();
    let opts = [("kafka.bootstrap.servers", "k:9092"), ("subscribePattern", "or"), ("startingOffsets", "earliest")];
    let c = QueryConfig::from_options(&opts, every_second(), "ckpt", "file:/tmp/ckpt").unwrap();
    s.start(0, &c);
    // findFirstIn: unanchored, so "or" matches "words" and not "clicks".
    assert_eq!(s.batches()[0].1, vec![("words-0".to_string(), 0, 1),]);
    s.kafka.create_topic("orders", 1).unwrap();
    s.kafka.produce("orders", Some(0), Some("k"), "o").unwrap();
    s.tick(1_000);
    assert_eq!(s.batches()[1].1[0], ("orders-0".to_string(), 0, 1), "a new topic's partitions start from earliest");
    let bad = [("kafka.bootstrap.servers", "k:9092"), ("subscribePattern", "(?=x)")];
    assert!(QueryConfig::from_options(&bad, every_second(), "c", "c")
        .unwrap_err()
        .starts_with("subscribePattern `(?=x)` cannot be used here"));
}
