//! The restart prediction on real Spark checkpoints (`fixtures/spark/`): the decoded offsets with synthetic
//! live facts — a recreated topic, retention past the ranges, a reset group, a caught-up topic.

use std::collections::BTreeMap;
use std::path::Path;

use kafka_model::GroupState;
use spark_checkpoint::predict::{predict, Committed, Facts, GroupFacts, PartitionLog, Prediction};
use spark_checkpoint::spark::{Checkpoint, KafkaStream};
use spark_checkpoint::{inspect_directory, Limits};

fn fixture(name: &str) -> Checkpoint {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/spark").join(name);
    let mut files = Vec::new();
    for e in std::fs::read_dir(&dir).expect("fixture folder").flatten() {
        files.push((e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).expect("read")));
    }
    let entries = inspect_directory(files.iter().map(|(n, b)| (n.as_str(), b.as_slice())), &Limits::default());
    let pick = entries.into_iter().find(|e| e.restart_pick).expect("a restart pick");
    pick.result.expect("decodes").checkpoint
}

fn kafka(cp: &Checkpoint) -> &KafkaStream {
    cp.streams.iter().find_map(|s| s.kafka.as_ref()).expect("a kafka stream")
}

fn group(cp: &Checkpoint) -> String {
    kafka(cp)
        .consumer_strategy
        .as_ref()
        .and_then(|c| c.kafka_params.get("group.id"))
        .and_then(|v| v.as_str())
        .expect("group.id")
        .to_string()
}

/// Times a restart re-runs from restored RDDs (§4.1): pending ones and those at or after the checkpoint time.
fn rerun_ranges(cp: &Checkpoint) -> Vec<spark_checkpoint::spark::OffsetRange> {
    kafka(cp)
        .batch_for_time
        .iter()
        .filter(|b| cp.pending_times.contains(&b.time) || b.time >= cp.checkpoint_time)
        .flat_map(|b| b.ranges.iter().cloned())
        .collect()
}

/// Every partition the checkpoint knows, with the highest offset it will read.
fn needed(cp: &Checkpoint) -> BTreeMap<(String, i32), i64> {
    let mut m = BTreeMap::new();
    for o in &kafka(cp).current_offsets {
        m.insert((o.topic.clone(), o.partition), o.offset);
    }
    for r in rerun_ranges(cp) {
        let e = m.entry((r.topic.clone(), r.partition)).or_insert(r.until_offset);
        *e = (*e).max(r.until_offset);
    }
    m
}

/// Facts from a function of (topic, partition, offset the checkpoint needs) → (log start, log end).
fn facts_with(cp: &Checkpoint, log: impl Fn(&str, i32, i64) -> (i64, i64)) -> Facts {
    let mut facts = Facts::default();
    for ((t, p), need) in needed(cp) {
        let (log_start, log_end) = log(&t, p, need);
        facts.topics.entry(t).or_insert_with(|| Some(Vec::new())).as_mut().unwrap().push(PartitionLog { partition: p, log_start, log_end });
    }
    facts
}

fn queued_max(cp: &Checkpoint) -> BTreeMap<(String, i32), i64> {
    let mut m = BTreeMap::new();
    for r in &kafka(cp).commit_queue {
        let e = m.entry((r.topic.clone(), r.partition)).or_insert(r.until_offset);
        *e = (*e).max(r.until_offset);
    }
    m
}

fn all_failures(p: &Prediction) -> Vec<String> {
    p.streams.iter().flat_map(|s| s.failures.iter().map(|f| f.exception.to_string())).collect()
}

const FIXTURES: &[&str] = &[
    "spark351-lz4-subscribe",
    "spark351-zstd-assign-2topics",
    "spark351-snappy-subscribe-2topics",
    "spark351-lz4-subscribe-3topics",
    "spark351-zstd-pattern-2topics",
    "spark351-lz4-failed-batch",
    "spark351-s212-lz4-subscribe-3topics",
    "harness-spark351-lz4-subscribe-state",
    "harness-spark351-lz4-assign-after-failed-jobs",
];

#[test]
fn a_caught_up_topic_predicts_no_crash_and_the_rerun_ranges_are_re_read() {
    for name in FIXTURES {
        let cp = fixture(name);
        let facts = facts_with(&cp, |_, _, need| (0, need));
        let p = predict(&cp, &facts);
        assert!(!p.crashes, "{name}: {}", p.headline);
        assert!(all_failures(&p).is_empty(), "{name}: {:?}", all_failures(&p));
        assert_eq!(p.headline, "no crash predicted", "{name}");
        let s = &p.streams[0];
        let fb = s.first_batch.as_ref().expect("a first batch");
        // The log end is where the checkpoint resumes: nothing new, nothing negative.
        assert_eq!(fb.num_records, 0, "{name}");
        let want: i64 = rerun_ranges(&cp).iter().map(|r| r.until_offset - r.from_offset).sum();
        let got: i64 = s.re_read.iter().map(|r| r.records).sum();
        assert_eq!(got, want, "{name}: re-read");
        assert!(s.ways_out.is_empty(), "{name}: no way out needed");
        // The restored queue goes out at the first compute, per partition its max untilOffset.
        assert_eq!(s.commits_sent, !kafka(&cp).commit_queue.is_empty(), "{name}");
        let commits: BTreeMap<_, _> = s.commits.iter().map(|c| ((c.topic.clone(), c.partition), c.will_commit)).collect();
        assert_eq!(commits, queued_max(&cp), "{name}");
    }
}

#[test]
fn a_recreated_empty_topic_dies_with_num_records_negative_and_sends_no_commit() {
    for name in FIXTURES {
        let cp = fixture(name);
        let total: i64 = kafka(&cp).current_offsets.iter().map(|o| o.offset).sum();
        if total == 0 {
            continue;
        }
        let facts = facts_with(&cp, |_, _, _| (0, 0));
        let p = predict(&cp, &facts);
        assert!(p.crashes, "{name}");
        assert_eq!(
            p.headline, "the restart crashes: java.lang.IllegalArgumentException: requirement failed: numRecords must not be negative",
            "{name}"
        );
        let s = &p.streams[0];
        assert_eq!(s.failures[0].side, "driver");
        let fb = s.first_batch.as_ref().unwrap();
        assert_eq!(fb.num_records, -total, "{name}: the sum of until - from");
        assert!(fb.ranges.iter().all(|r| r.until_offset == 0), "{name}: until is the new log end");
        assert!(!s.commits_sent, "{name}: commitAll is not reached");
        // Produce until caught up: per partition the highest offset the restart reads.
        let produce = s.ways_out.iter().find(|w| w.title.starts_with("produce")).expect("produce-until-caught-up");
        let want: BTreeMap<_, _> = needed(&cp).into_iter().filter(|(_, n)| *n > 0).collect();
        let got: BTreeMap<_, _> = produce.starts.iter().map(|st| ((st.topic.clone(), st.partition), st.records)).collect();
        assert_eq!(got, want, "{name}");
        // A new checkpoint directory starts at the (empty) log per auto.offset.reset, and loses the state.
        let fresh = s.ways_out.iter().find(|w| w.title.contains("new checkpoint directory")).unwrap();
        assert!(fresh.failure.is_none(), "{name}: {:?}", fresh.failure);
        assert!(fresh.starts.iter().all(|st| st.offset == Some(0)), "{name}: {:?}", fresh.starts);
        let stateful = cp.streams.iter().any(|st| st.class.ends_with("StateDStream"));
        assert_eq!(fresh.costs.iter().any(|c| c.contains("updateStateByKey state is lost")), stateful, "{name}");
    }
}

#[test]
fn the_clamp_keeps_a_refilled_partition_from_hiding_the_negative_ones() {
    // spark351-lz4-subscribe runs with maxRatePerPartition=4 and 1 s batches: one refilled partition adds at most 4.
    let cp = fixture("spark351-lz4-subscribe");
    let cur: Vec<_> = kafka(&cp).current_offsets.clone();
    assert!(cur.len() >= 2 && cur.iter().all(|o| o.offset > 4));
    let first = (cur[0].topic.clone(), cur[0].partition);
    let facts = facts_with(&cp, |t, p, _| if (t.to_string(), p) == first { (0, 1_000_000) } else { (0, 0) });
    let s = &predict(&cp, &facts).streams[0];
    let fb = s.first_batch.as_ref().unwrap();
    let refilled = fb.ranges.iter().find(|r| (r.topic.clone(), r.partition) == first).unwrap();
    assert_eq!(refilled.until_offset - refilled.from_offset, 4);
    assert_eq!(fb.num_records, 4 - cur[1..].iter().map(|o| o.offset).sum::<i64>());
    assert_eq!(
        s.failures[0].exception.to_string(),
        "java.lang.IllegalArgumentException: requirement failed: numRecords must not be negative"
    );
}

#[test]
fn a_sum_that_stays_positive_passes_the_driver_and_fails_the_task_with_beginning_after_end() {
    let cp = fixture("spark351-lz4-subscribe");
    let cur = kafka(&cp).current_offsets.clone();
    let (a, b) = (&cur[0], &cur[1]);
    // a gets plenty of new records (+4 after the clamp), b's log ends one short of the checkpoint: sum 3.
    let facts = facts_with(&cp, |t, p, need| {
        if t == a.topic && p == a.partition {
            (0, need + 100)
        } else if t == b.topic && p == b.partition {
            (0, b.offset - 1)
        } else {
            (0, need)
        }
    });
    let p = predict(&cp, &facts);
    assert!(p.crashes);
    let s = &p.streams[0];
    assert_eq!(s.first_batch.as_ref().unwrap().num_records, 3);
    let f = s.failures.iter().find(|f| f.side == "executor" && f.exception.message.contains("Beginning offset")).expect("the task fails");
    assert_eq!(
        f.exception.to_string(),
        format!(
            "java.lang.IllegalArgumentException: requirement failed: Beginning offset {} is after the ending offset {} for topic {} partition {}. You either provided an invalid fromOffset, or the Kafka topic has been damaged",
            b.offset,
            b.offset - 1,
            b.topic,
            b.partition
        )
    );
    assert!(s.commits_sent, "the driver got through compute: commitAll sends the restored queue");
    // The log of b's topic went back: what the new log holds below the checkpoint's offset on b is never read.
    let sk = s.skipped.iter().find(|c| c.topic == b.topic && c.partition == b.partition).expect("skipped on b");
    assert_eq!(sk.records, b.offset - 1);
}

/// The newest state RDD file at or before the first re-run batch: the state of later batches is rebuilt from
/// their Kafka ranges, earlier ones are never read again (`None` for a stateless graph: every batch is read).
fn state_file_before_rerun(cp: &Checkpoint) -> Option<i64> {
    let first = rerun_ranges_by_batch(cp).first().map(|(t, _)| *t)?;
    let stateful = cp.streams.iter().any(|s| s.class.ends_with("StateDStream"));
    let files = cp.streams.iter().flat_map(|s| s.rdd_checkpoints.iter().map(|r| r.time)).filter(|t| *t <= first);
    stateful.then(|| files.max().unwrap_or(i64::MIN))
}

fn rerun_ranges_by_batch(cp: &Checkpoint) -> Vec<(i64, spark_checkpoint::spark::OffsetRange)> {
    let mut v: Vec<_> = kafka(cp)
        .batch_for_time
        .iter()
        .filter(|b| cp.pending_times.contains(&b.time) || b.time >= cp.checkpoint_time)
        .flat_map(|b| b.ranges.iter().map(|r| (b.time, r.clone())))
        .collect();
    v.sort_by_key(|(t, _)| *t);
    v
}

#[test]
fn retention_past_a_restored_range_fails_the_task_unless_the_state_of_its_batch_is_in_a_file() {
    let (mut failed, mut passed) = (0, 0);
    for name in FIXTURES {
        let cp = fixture(name);
        let Some((b, r)) = rerun_ranges_by_batch(&cp).into_iter().find(|(_, r)| r.until_offset > r.from_offset) else { continue };
        let facts = facts_with(&cp, |t, p, need| if t == r.topic && p == r.partition { (r.from_offset + 1, need) } else { (0, need) });
        let p = predict(&cp, &facts);
        if state_file_before_rerun(&cp).is_some_and(|f| b <= f) {
            // Its state comes from the RDD file and foreachRDD only commits: nothing reads [from, until) again.
            assert!(!p.crashes, "{name}: {}", p.headline);
            passed += 1;
            continue;
        }
        assert!(p.crashes, "{name}");
        let f = &p.streams[0].failures[0];
        assert_eq!(f.side, "executor");
        assert_eq!(f.exception.class, "org.apache.kafka.clients.consumer.OffsetOutOfRangeException", "{name}");
        // The first range read below the new log start: this one, or an earlier batch's rebuilding the state.
        let offset: i64 =
            f.exception.message.split("offset=").nth(1).and_then(|m| m.split(',').next()).and_then(|o| o.parse().ok()).unwrap();
        assert!(offset <= r.from_offset, "{name}: {}", f.exception.message);
        assert!(f.exception.message.ends_with(&format!("is out of range for partition {}-{}", r.topic, r.partition)));
        // Producing cannot bring deleted records back: a new checkpoint directory is the way out.
        assert!(p.streams[0].ways_out.iter().any(|w| w.title.contains("new checkpoint directory")));
        failed += 1;
    }
    assert!(failed >= 2 && failed + passed >= 3, "{failed} fail, {passed} pass");
}

#[test]
fn retention_past_the_checkpoint_offset_fails_the_first_new_batch() {
    let cp = fixture("harness-spark351-lz4-subscribe-state");
    let o = kafka(&cp).current_offsets.iter().find(|o| o.offset > 0).cloned().expect("a non-zero offset");
    let facts = facts_with(&cp, |t, p, need| if t == o.topic && p == o.partition { (o.offset + 1, o.offset + 3) } else { (0, need) });
    let p = predict(&cp, &facts);
    let s = &p.streams[0];
    let fb = s.first_batch.as_ref().unwrap();
    let r = fb.ranges.iter().find(|r| r.topic == o.topic && r.partition == o.partition).unwrap();
    assert_eq!((r.from_offset, r.until_offset), (o.offset, o.offset + 3));
    assert_eq!(fb.num_records, 3);
    assert!(s.failures.iter().any(|f| f.exception.class == "org.apache.kafka.clients.consumer.OffsetOutOfRangeException"
        && f.exception.message.contains(&format!("offset={},", o.offset))));
}

#[test]
fn a_deleted_topic_fails_onstart_for_subscribe_and_position_for_assign() {
    for (name, class) in [
        ("spark351-lz4-subscribe", "java.lang.IllegalStateException"),
        ("spark351-zstd-assign-2topics", "org.apache.kafka.common.errors.TimeoutException"),
    ] {
        let cp = fixture(name);
        let mut facts = facts_with(&cp, |_, _, need| (0, need));
        let first = kafka(&cp).current_offsets[0].clone();
        facts.topics.insert(first.topic.clone(), None);
        let p = predict(&cp, &facts);
        assert!(p.crashes, "{name}");
        let f = &p.streams[0].failures[0];
        assert_eq!(f.exception.class, class, "{name}");
        assert!(f.exception.message.contains(&format!("partition {}-{}", first.topic, first.partition)), "{name}: {}", f.exception.message);
        let lane = p.streams[0].lanes.iter().find(|l| l.topic == first.topic).unwrap();
        assert_eq!(lane.exists, "no topic");
        // A new checkpoint directory: Assign still asks for the missing partitions' positions; Subscribe waits.
        let fresh = p.streams[0].ways_out.iter().find(|w| w.title.contains("new checkpoint directory")).unwrap();
        assert_eq!(
            fresh.failure.as_ref().map(|e| e.class.as_str()),
            (class != "java.lang.IllegalStateException").then_some(class),
            "{name}"
        );
        assert!(fresh.costs.iter().any(|c| c.starts_with(&format!("topic(s) {} do not exist", first.topic))), "{name}: {:?}", fresh.costs);
        // Producing into a re-created topic: every record up to the checkpoint's offset.
        let produce = p.streams[0].ways_out.iter().find(|w| w.title.starts_with("produce")).unwrap();
        let st = produce.starts.iter().find(|s| s.topic == first.topic && s.partition == first.partition).unwrap();
        assert_eq!(st.records, needed(&cp)[&(first.topic.clone(), first.partition)]);
        assert!(p.streams[0].first_batch.as_ref().is_some_and(|fb| fb.driver_error.is_some()));
    }
}

#[test]
fn a_topic_recreated_with_fewer_partitions_names_the_missing_partition() {
    let cp = fixture("spark351-lz4-subscribe");
    let last = kafka(&cp).current_offsets.iter().max_by_key(|o| o.partition).cloned().unwrap();
    let mut facts = facts_with(&cp, |_, _, need| (0, need));
    facts.topics.get_mut(&last.topic).unwrap().as_mut().unwrap().retain(|p| p.partition != last.partition);
    let p = predict(&cp, &facts);
    assert_eq!(
        p.headline,
        format!(
            "the restart crashes: java.lang.IllegalStateException: No current assignment for partition {}-{}",
            last.topic, last.partition
        )
    );
    let produce = p.streams[0].ways_out.iter().find(|w| w.title.starts_with("produce")).unwrap();
    assert!(produce.costs.iter().any(|c| c.contains(&format!("{}-{}", last.topic, last.partition))));
}

#[test]
fn the_restored_commit_queue_undoes_a_group_reset() {
    let cp = fixture("spark351-lz4-subscribe");
    let mut facts = facts_with(&cp, |_, _, need| (0, need));
    let reset: Vec<Committed> = queued_max(&cp).keys().map(|(t, p)| Committed { topic: t.clone(), partition: *p, offset: 0 }).collect();
    facts.groups.insert(group(&cp), GroupFacts { state: Some(GroupState::Empty), committed: reset });
    let s = &predict(&cp, &facts).streams[0];
    assert!(s.commits_sent);
    for c in &s.commits {
        assert_eq!(c.committed, Some(0));
        assert!(c.will_commit > 0);
        assert_eq!(c.note, format!("moves the committed offset forward from 0 to {}: a reset of the group to 0 is undone", c.will_commit));
    }
    // A new checkpoint directory honours the reset: everything up to the checkpoint's offsets is read again.
    let mut broken = facts.clone();
    for parts in broken.topics.values_mut().flatten() {
        for p in parts.iter_mut() {
            p.log_end = 0;
        }
    }
    let s = &predict(&cp, &broken).streams[0];
    let fresh = s.ways_out.iter().find(|w| w.title.contains("new checkpoint directory")).unwrap();
    assert!(fresh.starts.iter().all(|st| st.offset == Some(0) && st.source == "committed offset"), "{:?}", fresh.starts);
}

#[test]
fn a_committed_offset_beyond_the_log_end_makes_even_a_new_checkpoint_directory_fail() {
    let cp = fixture("spark351-lz4-subscribe");
    let mut facts = facts_with(&cp, |_, _, _| (0, 0));
    let committed =
        kafka(&cp).current_offsets.iter().map(|o| Committed { topic: o.topic.clone(), partition: o.partition, offset: o.offset }).collect();
    facts.groups.insert(group(&cp), GroupFacts { state: Some(GroupState::Empty), committed });
    let s = &predict(&cp, &facts).streams[0];
    let fresh = s.ways_out.iter().find(|w| w.title.contains("new checkpoint directory")).unwrap();
    assert_eq!(fresh.failure.as_ref().map(|e| e.message.as_str()), Some("requirement failed: numRecords must not be negative"));
}

#[test]
fn a_partition_new_to_the_checkpoint_starts_per_auto_offset_reset() {
    let mut cp = fixture("harness-spark351-lz4-subscribe-state");
    let topic = kafka(&cp).current_offsets[0].topic.clone();
    let next = kafka(&cp).current_offsets.iter().map(|o| o.partition).max().unwrap() + 1;
    let mut facts = facts_with(&cp, |_, _, need| (0, need));
    facts.topics.get_mut(&topic).unwrap().as_mut().unwrap().push(PartitionLog { partition: next, log_start: 2, log_end: 7 });
    // The fixture's auto.offset.reset is latest: the new partition's 5 records are skipped.
    let s = &predict(&cp, &facts).streams[0];
    assert_eq!(s.auto_offset_reset, "latest");
    let sk = s.skipped.iter().find(|c| c.partition == next).expect("skipped");
    assert_eq!(sk.records, 5);
    let r = s.first_batch.as_ref().unwrap().ranges.iter().find(|r| r.partition == next).unwrap();
    assert_eq!((r.from_offset, r.until_offset), (7, 7));
    // With none and no committed offset: NoOffsetForPartitionException on the driver.
    for st in cp.streams.iter_mut() {
        if let Some(k) = st.kafka.as_mut() {
            k.consumer_strategy.as_mut().unwrap().kafka_params.insert("auto.offset.reset".into(), "none".into());
        }
    }
    let p = predict(&cp, &facts);
    assert_eq!(
        p.headline,
        format!("the restart crashes: org.apache.kafka.clients.consumer.NoOffsetForPartitionException: Undefined offset with no reset policy for partitions: [{topic}-{next}]")
    );
}

#[test]
fn a_stable_group_is_a_risk_not_a_certain_crash() {
    let cp = fixture("spark351-lz4-subscribe");
    let mut facts = facts_with(&cp, |_, _, need| (0, need));
    facts.groups.insert(group(&cp), GroupFacts { state: Some(GroupState::Stable), committed: vec![] });
    let p = predict(&cp, &facts);
    assert!(!p.crashes);
    assert!(
        p.headline.starts_with("the restart may fail: java.lang.IllegalStateException: No current assignment for partition"),
        "{}",
        p.headline
    );
    assert!(!p.streams[0].failures[0].certain);
}

#[test]
fn unknown_topics_predict_nothing_rather_than_guess() {
    let cp = fixture("spark351-snappy-subscribe-2topics");
    let p = predict(&cp, &Facts::default());
    assert!(!p.crashes);
    assert!(all_failures(&p).is_empty());
    assert!(p.streams[0].notes.iter().any(|n| n.starts_with("no facts for ")));
    assert!(p.streams[0].lanes.iter().all(|l| l.exists == "unknown"));
}

#[test]
fn facts_json_reads_a_missing_topic_as_null() {
    let facts: Facts = serde_json::from_str(
        r#"{"topics": {"words": [{"partition": 0, "logStart": 1, "logEnd": 5}], "gone": null},
            "groups": {"g": {"state": "Empty", "committed": [{"topic": "words", "partition": 0, "offset": 3}]}}}"#,
    )
    .unwrap();
    assert_eq!(facts.topics["words"], Some(vec![PartitionLog { partition: 0, log_start: 1, log_end: 5 }]));
    assert_eq!(facts.topics["gone"], None);
    assert_eq!(facts.groups["g"].committed[0].offset, 3);
}

#[test]
fn the_text_names_the_exception_and_the_numbers() {
    let cp = fixture("spark351-lz4-subscribe");
    let p = predict(&cp, &facts_with(&cp, |_, _, _| (0, 0)));
    let text = spark_checkpoint::predict::text(&p);
    assert!(text.starts_with("will the restart crash? the restart crashes: java.lang.IllegalArgumentException: requirement failed: numRecords must not be negative\n"));
    let total: i64 = kafka(&cp).current_offsets.iter().map(|o| o.offset).sum();
    assert!(text.contains(&format!("numRecords {}", -total)), "{text}");
    assert!(text.contains("way out: produce until"), "{text}");
}
