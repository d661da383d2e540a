//! The Structured Streaming inspector on folders real Spark 3.5.1 wrote (`fixtures/structured/`), on broken
//! copies of them, and against the engine's own checkpoint of the same scenario.

use std::path::{Path, PathBuf};

use engine::offsets::{Offsets, TopicPartition};
use spark_checkpoint::predict::{Facts, PartitionLog};
use spark_checkpoint::structured::{predict, read_folder, FolderKind, StructuredCheckpoint};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/structured").join(name)
}

fn files_of(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![(dir.to_path_buf(), String::new())];
    while let Some((d, rel)) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let path = if rel.is_empty() { name } else { format!("{rel}/{name}") };
            if e.path().is_dir() {
                stack.push((e.path(), path));
            } else {
                out.push((path, std::fs::read(e.path()).unwrap()));
            }
        }
    }
    out.sort();
    out
}

fn read(files: &[(String, Vec<u8>)]) -> StructuredCheckpoint {
    read_folder(files.iter().map(|(p, b)| (p.as_str(), b.as_slice())))
}

/// The fixture's topic (`words-ref<run>`).
fn topic(cp: &StructuredCheckpoint) -> String {
    cp.batches[0].end.as_ref().unwrap().keys().next().unwrap().topic.clone()
}

fn one(topic: &str, offset: i64) -> Offsets {
    Offsets::from([(TopicPartition::new(topic, 0), offset)])
}

fn facts(topic: &str, log_start: i64, log_end: i64) -> Facts {
    let mut f = Facts::default();
    f.topics.insert(topic.into(), Some(vec![PartitionLog { partition: 0, log_start, log_end }]));
    f
}

#[test]
fn folders_are_told_apart() {
    let ss = files_of(&fixture("spark351-retention"));
    assert_eq!(FolderKind::detect(ss.iter().map(|(p, _)| p.as_str())), FolderKind::Structured);
    let ds = files_of(&Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/spark/spark351-lz4-subscribe"));
    assert_eq!(FolderKind::detect(ds.iter().map(|(p, _)| p.as_str())), FolderKind::DStream);
    assert_eq!(FolderKind::detect(["notes.txt"]), FolderKind::Unknown);
}

#[test]
fn retention_fixture_fails_with_true_and_loses_three_records_with_false() {
    let files = files_of(&fixture("spark351-retention"));
    let cp = read(&files);
    assert!(cp.errors.is_empty(), "{:?}", cp.errors);
    let t = topic(&cp);
    assert_eq!(cp.query_id.as_deref(), Some("351d37e2-061b-4aee-bed6-3a047eff69aa"));
    assert_eq!(cp.spark, "3.x");
    assert_eq!(cp.initial_offsets, Some(one(&t, 0)));
    let shape: Vec<(i64, bool, Option<i64>)> =
        cp.batches.iter().map(|b| (b.id, b.committed, b.end.as_ref().map(|o| o[&TopicPartition::new(&t, 0)]))).collect();
    assert_eq!(shape, [(0, true, Some(2)), (1, false, Some(7))]);
    let next = cp.next_batch.clone().unwrap();
    assert_eq!((next.id, next.rerun, next.start, next.end), (1, true, Some(one(&t, 2)), Some(one(&t, 7))));
    // What the run left in Kafka: delete-records moved the log start to 5.
    let p = predict(&cp, &files, &facts(&t, 5, 7), &[]);
    assert!(p.fails && p.loses_data);
    let on = &p.outcomes[0];
    assert_eq!(on.error.as_ref().unwrap().class, "org.apache.kafka.clients.consumer.OffsetOutOfRangeException");
    assert!(on.error.as_ref().unwrap().message.contains("offset=2,"), "{:?}", on.error);
    let off = &p.outcomes[1];
    assert!(off.error.is_none());
    assert_eq!(off.lost.iter().map(|c| c.records).sum::<i64>(), 3);
    assert_eq!(off.replayed.iter().map(|c| c.records).sum::<i64>(), 2);
    assert_eq!(off.resumes_at, Some(one(&t, 7)));
    let titles: Vec<&str> = p.ways_out.iter().map(|w| w.title.as_str()).collect();
    assert!(titles[0].contains("failOnDataLoss"), "{titles:?}");
    let latest = p.ways_out.iter().find(|w| w.title.contains("startingOffsets=latest")).unwrap();
    assert_eq!(latest.starts[0].offset, Some(7));
    assert!(latest.costs.iter().any(|c| c == "2 record(s) are never read"), "{:?}", latest.costs);
    let json = p.ways_out.iter().find(|w| w.title.contains("new checkpointLocation with")).unwrap();
    assert!(json.title.contains(&format!("{{\"{t}\":{{\"0\":5}}}}")), "{}", json.title);
    assert!(p.notes.iter().any(|n| n.contains("--reset-offsets") && n.contains("changes nothing")));
    // The log caught up again and nothing aged out: the re-run reads [2, 7), nothing fails or is lost.
    let p = predict(&cp, &files, &facts(&t, 0, 9), &[]);
    assert!(!p.fails && !p.loses_data, "{}", p.headline);
    assert!(p.ways_out.is_empty());
    assert_eq!(
        p.outcomes[0].batches.iter().map(|b| b.ranges.clone()).collect::<Vec<_>>()[..2],
        [vec![format!("{t}-0 [2, 7)")], vec![format!("{t}-0 [7, 9)")]]
    );
}

#[test]
fn recreated_topic_fixture_offset_changed_and_the_new_record_is_lost_with_false() {
    let files = files_of(&fixture("spark351-topic-recreated-fail-true"));
    let cp = read(&files);
    let t = topic(&cp);
    let next = cp.next_batch.clone().unwrap();
    assert_eq!((next.id, next.rerun, next.start, next.end), (1, true, Some(one(&t, 4)), Some(one(&t, 1))));
    let p = predict(&cp, &files, &facts(&t, 0, 1), &[]);
    let e = p.outcomes[0].error.as_ref().unwrap();
    assert_eq!(e.class, "java.lang.IllegalStateException");
    assert!(e.message.starts_with(&format!("Partition {t}-0's offset was changed from 4 to 1, some data may have been missed")), "{e}");
    let off = &p.outcomes[1];
    assert!(off.error.is_none());
    assert_eq!(off.lost.iter().map(|c| c.records).sum::<i64>(), 1, "{:?}", off.lost);
    assert!(off.warnings[0].starts_with(&format!("Partition {t}-0's offset was changed from 4 to 1")));
    // The topic gone altogether: describeTopics fails whatever failOnDataLoss says.
    let mut gone = Facts::default();
    gone.topics.insert(t.clone(), None);
    let p = predict(&cp, &files, &gone, &[]);
    assert!(p.outcomes.iter().all(|o| o.error.as_ref().is_some_and(|e| e.class.ends_with("UnknownTopicOrPartitionException"))));
    // Creating it empty gets past describeTopics; the re-run batch keeps its logged end, 1, below 4.
    let create = p.ways_out.iter().find(|w| w.title.starts_with("create the missing topic(s)")).unwrap();
    assert!(
        create.failure.as_ref().unwrap().message.starts_with(&format!("Partition {t}-0's offset was changed from 4 to 1")),
        "{create:?}"
    );
    assert!(create.costs[0].contains("with failOnDataLoss=false it goes on and loses 0 record(s)"), "{create:?}");
}

#[test]
fn committed_fixture_plans_the_next_batch_from_the_last_end() {
    let files = files_of(&fixture("spark351-rerun-uncommitted"));
    let cp = read(&files);
    let t = topic(&cp);
    assert!(cp.batches.iter().all(|b| b.committed));
    let next = cp.next_batch.clone().unwrap();
    assert_eq!((next.id, next.rerun, next.start, next.end), (3, false, Some(one(&t, 7)), None));
    let p = predict(&cp, &files, &facts(&t, 0, 10), &[("maxOffsetsPerTrigger", "2")]);
    assert!(!p.fails && !p.loses_data, "{}", p.headline);
    let ranges: Vec<String> = p.outcomes[0].batches.iter().flat_map(|b| b.ranges.clone()).collect();
    assert_eq!(ranges, [format!("{t}-0 [7, 9)"), format!("{t}-0 [9, 10)")]);
    // The source options replace the guess: a pattern that matches the topic reads the same.
    let p = predict(&cp, &files, &facts(&t, 0, 10), &[("subscribePattern", "words-.*")]);
    assert!(!p.fails, "{}", p.headline);
    assert_eq!(p.outcomes[0].batches[0].ranges, [format!("{t}-0 [7, 10)")]);
    // Options Spark refuses are refused with its message.
    let p = predict(&cp, &files, &facts(&t, 0, 10), &[("subscribe", "a"), ("assign", "{\"a\":[0]}")]);
    assert!(p.headline.contains("Only one of the following options can be specified for Kafka source"), "{}", p.headline);
}

#[test]
fn unknown_version_and_broken_files_are_refused_with_file_and_line() {
    let mut files = files_of(&fixture("spark351-retention"));
    files.retain(|(p, _)| !p.ends_with(".crc"));
    let set = |files: &mut Vec<(String, Vec<u8>)>, path: &str, bytes: &[u8]| {
        files.iter_mut().find(|(p, _)| p == path).unwrap().1 = bytes.to_vec()
    };
    let mut v2 = files.clone();
    let text = String::from_utf8(v2.iter().find(|(p, _)| p == "offsets/1").unwrap().1.clone()).unwrap();
    set(&mut v2, "offsets/1", text.replacen("v1", "v2", 1).as_bytes());
    let cp = read(&v2);
    let spark = "UnsupportedLogVersion: maximum supported log version is v1, but encountered v2. The log file was produced by a newer version of Spark and cannot be read by this version. Please upgrade.";
    assert_eq!(cp.errors[0].to_string(), format!("offsets/1: line 1, byte 0: {spark}"));
    assert_eq!(cp.restart_error.as_deref(), Some(format!("java.lang.IllegalStateException: {spark}").as_str()));
    let p = predict(&cp, &v2, &facts("words", 0, 7), &[]);
    assert!(p.fails && p.headline.contains(spark));
    // Cut inside the source's JSON: line 3 and the byte where it starts.
    let mut cut = files.clone();
    let at = text.rfind('\n').unwrap() + 5;
    set(&mut cut, "offsets/1", &text.as_bytes()[..at]);
    let cp = read(&cut);
    assert_eq!(
        (cp.errors[0].file.as_str(), cp.errors[0].line, cp.errors[0].byte),
        ("offsets/1", Some(3), Some(text.rfind('\n').unwrap() + 1))
    );
    assert!(cp.errors[0].message.starts_with("Expected e.g. {\"topicA\""), "{}", cp.errors[0]);
    // A .crc sidecar that does not match: Hadoop fails the read.
    let mut crc = files_of(&fixture("spark351-retention"));
    set(&mut crc, "commits/0", b"v1\n{\"nextBatchWatermarkMs\":1}");
    let cp = read(&crc);
    assert!(cp.errors[0].message.contains("commits/.0.crc") && cp.errors[0].message.contains("ChecksumException"), "{}", cp.errors[0]);
}

/// Every prefix and many byte flips of every file (with and without the `.crc` sidecars): read and predicted
/// without a panic.
#[test]
fn truncated_and_flipped_files_never_panic() {
    let facts_for = |cp: &StructuredCheckpoint| {
        let mut f = Facts::default();
        for t in spark_checkpoint::structured::wanted_topics(cp) {
            f.topics.insert(t, Some(vec![PartitionLog { partition: 0, log_start: 1, log_end: 6 }]));
        }
        f
    };
    for name in ["spark351-retention", "spark351-topic-recreated-fail-true", "spark351-rerun-uncommitted"] {
        for keep_crc in [false, true] {
            let mut base = files_of(&fixture(name));
            if !keep_crc {
                base.retain(|(p, _)| !p.ends_with(".crc"));
            }
            for i in 0..base.len() {
                let len = base[i].1.len();
                let mut variants: Vec<Vec<u8>> = (0..len).map(|n| base[i].1[..n].to_vec()).collect();
                for at in (0..len).step_by(7) {
                    for b in [b'\n', b'{', b'9', 0xff, b'-'] {
                        let mut v = base[i].1.clone();
                        v[at] = b;
                        variants.push(v);
                    }
                }
                for v in variants {
                    let mut files = base.clone();
                    files[i].1 = v;
                    let cp = read(&files);
                    let _ = spark_checkpoint::structured::summary(&cp);
                    if !keep_crc {
                        let _ = predict(&cp, &files, &facts_for(&cp), &[]);
                    }
                }
            }
        }
    }
}

/// The engine's own checkpoint of the same scenario reads as the same structure as real Spark's.
#[test]
fn engine_checkpoint_and_real_spark_checkpoint_read_alike() {
    use engine::storage::{MemoryStorage, Storage};
    for name in ["retention", "topic-recreated-fail-true", "rerun-uncommitted"] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../scenarios/structured/{name}.toml"));
        let scenario = scenario::format::parse(name, &std::fs::read_to_string(&path).unwrap()).unwrap();
        let mut run = scenario::structured::StructuredRun::new(&scenario, Box::new(MemoryStorage::default())).unwrap();
        run.run_all();
        let mut files = Vec::new();
        let storage: &dyn Storage = run.storage.as_ref();
        for dir in ["offsets", "commits", "sources/0"] {
            for n in storage.list(&format!("ckpt/{dir}")).unwrap_or_default() {
                files.push((format!("{dir}/{n}"), storage.read(&format!("ckpt/{dir}/{n}")).unwrap()));
            }
        }
        files.push(("metadata".to_string(), storage.read("ckpt/metadata").unwrap()));
        let ours = read(&files);
        let spark = read(&files_of(&fixture(&format!("spark351-{name}"))));
        // Real Spark's topic carries the run's suffix; the query id and batch times differ by nature.
        let t = topic(&spark);
        let rename = |o: &Option<Offsets>| {
            o.as_ref().map(|o| {
                o.iter().map(|(tp, v)| (TopicPartition::new(tp.topic.replace(&t, "words"), tp.partition), *v)).collect::<Offsets>()
            })
        };
        let shape = |cp: &StructuredCheckpoint, spark: bool| {
            let f = |o: &Option<Offsets>| if spark { rename(o) } else { o.clone() };
            let batches: Vec<(i64, bool, Option<Offsets>)> = cp.batches.iter().map(|b| (b.id, b.committed, f(&b.end))).collect();
            let next = cp.next_batch.clone().map(|n| (n.id, n.rerun, f(&n.start), f(&n.end)));
            (cp.kind, f(&cp.initial_offsets), batches, next, cp.errors.clone(), cp.spark.clone())
        };
        assert_eq!(shape(&ours, false), shape(&spark, true), "{name}");
    }
}
