//! The checkpoint inspector's plain Rust (tested natively): decoding what the user dropped, the live
//! facts from the page's Kafka (only through `KafkaBackend`), and the geometry of the offset lanes.

use std::collections::BTreeSet;

use engine::offsets::TopicPartition;
use scenario::backend::KafkaBackend;
use spark_checkpoint::files::CheckpointName;
use spark_checkpoint::predict::{wanted, Committed, Facts, GroupFacts, PartitionLog};
use spark_checkpoint::spark::{Checkpoint, KafkaStream};
use spark_checkpoint::structured;
use spark_checkpoint::{inspect, inspect_directory, Inspection, Limits};

/// One file the user gave, decoded.
pub struct FileView {
    pub name: String,
    pub size: usize,
    /// Spark's reader lists it (`checkpoint-(\d+)([\w.]*)`).
    pub listed: bool,
    /// What `CheckpointReader.read` returns on restart: the first listed file that decodes.
    pub restart_pick: bool,
    /// A Hadoop `.crc` sidecar was given: it matched or not.
    pub crc_sidecar: Option<bool>,
    pub result: Result<Inspection, String>,
}

/// Decodes the files in Spark's reader order (newest first, the restart pick marked); files whose
/// names Spark would not list are decoded too, after them, so a renamed file can still be read.
pub fn load(files: &[(String, Vec<u8>)]) -> Vec<FileView> {
    let limits = Limits::default();
    let base = |n: &str| n.rsplit(['/', '\\']).next().unwrap_or(n).to_string();
    let named: Vec<(String, &[u8])> = files.iter().map(|(n, b)| (base(n), b.as_slice())).collect();
    let mut out: Vec<FileView> = inspect_directory(named.iter().map(|(n, b)| (n.as_str(), *b)), &limits)
        .into_iter()
        .map(|e| FileView {
            name: e.name,
            size: e.size,
            listed: true,
            restart_pick: e.restart_pick,
            crc_sidecar: e.crc_sidecar,
            result: e.result.map_err(|err| err.to_string()),
        })
        .collect();
    for (name, bytes) in &named {
        let sidecar = name.strip_prefix('.').and_then(|n| n.strip_suffix(".crc")).is_some_and(|n| CheckpointName::parse(n).is_some());
        if CheckpointName::parse(name).is_none() && !sidecar {
            out.push(FileView {
                name: name.clone(),
                size: bytes.len(),
                listed: false,
                restart_pick: false,
                crc_sidecar: None,
                result: inspect(None, bytes, &limits).map_err(|e| e.to_string()),
            });
        }
    }
    out
}

/// The file to show first: the restart pick, else the first that decodes, else the first.
pub fn default_selection(files: &[FileView]) -> usize {
    files.iter().position(|f| f.restart_pick).or_else(|| files.iter().position(|f| f.result.is_ok())).unwrap_or(0)
}

/// What the prediction needs to know about the page's Kafka, read only through the `KafkaBackend`
/// trait (the in-memory model and the real Kafka behind the bridge both implement it).
pub fn facts(kafka: &(impl KafkaBackend + ?Sized), cp: &Checkpoint) -> Facts {
    let (topics, groups) = wanted(cp);
    facts_for(kafka, topics, groups)
}

/// The facts of these topics and groups (a Structured Streaming checkpoint names topics only).
pub fn facts_for(kafka: &(impl KafkaBackend + ?Sized), topics: BTreeSet<String>, groups: BTreeSet<String>) -> Facts {
    let mut facts = Facts::default();
    for t in topics {
        let logs = kafka.partitions(&t).map(|n| {
            (0..n)
                .filter_map(|p| {
                    kafka.log_range(&TopicPartition::new(t.clone(), p)).map(|(log_start, log_end)| PartitionLog {
                        partition: p,
                        log_start,
                        log_end,
                    })
                })
                .collect()
        });
        facts.topics.insert(t, logs);
    }
    for g in groups {
        let committed =
            kafka.committed(&g).into_iter().map(|(tp, offset)| Committed { topic: tp.topic, partition: tp.partition, offset }).collect();
        // A state the bridge could not read stays unknown: the prediction then does not guess a live member.
        let state = kafka.group_state(&g).ok();
        facts.groups.insert(g.clone(), GroupFacts { state, committed });
    }
    facts
}

/// The files of a Structured Streaming checkpoint folder, by path relative to its root, when what the user picked is
/// one: a directory pick names files `ckpt/offsets/0`, so the root is what comes before `offsets/`, `commits/`,
/// `sources/`, `state/` or the `metadata` file. `None` for anything else (DStream `checkpoint-<ms>` files).
pub fn structured_folder(files: &[(String, Vec<u8>)]) -> Option<Vec<(String, Vec<u8>)>> {
    let norm = |p: &str| p.replace('\\', "/");
    let root = |p: &str| -> Option<String> {
        let parts: Vec<&str> = p.split('/').collect();
        let at = parts.iter().enumerate().position(|(i, c)| {
            (matches!(*c, "offsets" | "commits" | "sources" | "state") && i + 1 < parts.len()) || (*c == "metadata" && i + 1 == parts.len())
        })?;
        Some(parts[..at].join("/"))
    };
    let roots: BTreeSet<String> = files.iter().filter_map(|(p, _)| root(&norm(p))).collect();
    let root = roots.iter().min_by_key(|r| r.len())?.clone();
    let prefix = if root.is_empty() { String::new() } else { format!("{root}/") };
    let out: Vec<(String, Vec<u8>)> =
        files.iter().filter_map(|(p, b)| norm(p).strip_prefix(&prefix).map(|rel| (rel.to_string(), b.clone()))).collect();
    (structured::FolderKind::detect(out.iter().map(|(p, _)| p.as_str())) == structured::FolderKind::Structured).then_some(out)
}

/// The page's Kafka as facts for a Structured Streaming checkpoint's topics.
pub fn structured_facts(kafka: &(impl KafkaBackend + ?Sized), cp: &structured::StructuredCheckpoint) -> Facts {
    facts_for(kafka, structured::wanted_topics(cp), BTreeSet::new())
}

/// A partition lane of the inspector: every offset it draws, scaled to percentages of the lane.
#[derive(Debug, Clone, PartialEq)]
pub struct LaneScale {
    pub lo: i64,
    pub hi: i64,
}

impl LaneScale {
    /// Spans every offset given (checkpoint offsets, range ends, log start/end), at least one offset wide.
    pub fn new(offsets: impl IntoIterator<Item = i64>) -> LaneScale {
        let (mut lo, mut hi) = (i64::MAX, i64::MIN);
        for o in offsets {
            lo = lo.min(o);
            hi = hi.max(o);
        }
        if lo > hi {
            return LaneScale { lo: 0, hi: 1 };
        }
        LaneScale { lo, hi: hi.max(lo + 1) }
    }

    /// Where `offset` sits, 0–100.
    pub fn pct(&self, offset: i64) -> f64 {
        let span = (self.hi - self.lo) as f64;
        (((offset.clamp(self.lo, self.hi) - self.lo) as f64) / span * 100.0).clamp(0.0, 100.0)
    }
}

/// Every offset the lane of `topic-partition` shows from this stream (and, if known, the live log).
pub fn lane_offsets(k: &KafkaStream, topic: &str, partition: i32, log: Option<(i64, i64)>) -> Vec<i64> {
    let mut v = Vec::new();
    v.extend(k.current_offsets.iter().filter(|o| o.topic == topic && o.partition == partition).map(|o| o.offset));
    let ranges = k.batch_for_time.iter().flat_map(|b| b.ranges.iter()).chain(k.commit_queue.iter());
    for r in ranges.filter(|r| r.topic == topic && r.partition == partition) {
        v.push(r.from_offset);
        v.push(r.until_offset);
    }
    if let Some((s, e)) = log {
        v.push(s);
        v.push(e);
    }
    v
}

/// Partitions the stream mentions anywhere, sorted.
pub fn stream_partitions(k: &KafkaStream) -> Vec<(String, i32)> {
    let mut v: Vec<(String, i32)> = k.current_offsets.iter().map(|o| (o.topic.clone(), o.partition)).collect();
    v.extend(k.batch_for_time.iter().flat_map(|b| b.ranges.iter()).chain(k.commit_queue.iter()).map(|r| (r.topic.clone(), r.partition)));
    v.sort();
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_model::{GroupState, KafkaModel};

    fn fixture_dir() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../spark-checkpoint/fixtures/spark/spark351-lz4-subscribe")
    }

    fn fixture_files() -> Vec<(String, Vec<u8>)> {
        let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(fixture_dir())
            .unwrap()
            .flatten()
            .map(|e| (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap()))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn load_orders_like_sparks_reader_and_marks_one_restart_pick() {
        let files = fixture_files();
        let views = load(&files);
        let listed: Vec<&str> = views.iter().filter(|v| v.listed).map(|v| v.name.as_str()).collect();
        let mut want: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).filter(|n| CheckpointName::parse(n).is_some()).collect();
        want.sort_by(|a, b| b.cmp(a));
        // Same times here: reader order is newest time first, `checkpoint-T` before `checkpoint-T.bk`.
        assert_eq!(listed.len(), want.len());
        assert_eq!(listed[0], want.iter().filter(|n| !n.ends_with(".bk")).max().copied().unwrap());
        assert_eq!(views.iter().filter(|v| v.restart_pick).count(), 1);
        assert_eq!(default_selection(&views), views.iter().position(|v| v.restart_pick).unwrap());
        assert!(views.iter().all(|v| v.name != "expected.json" || !v.listed));
    }

    #[test]
    fn a_renamed_file_is_still_decoded_but_not_listed() {
        let files = fixture_files();
        let (_, bytes) = files.iter().find(|(n, _)| CheckpointName::parse(n).is_some()).unwrap();
        let views = load(&[("ckpt-copy.bin".to_string(), bytes.clone())]);
        assert_eq!(views.len(), 1);
        assert!(!views[0].listed && !views[0].restart_pick);
        assert!(views[0].result.is_ok());
        // Paths from a directory picker keep only the file name.
        let views = load(&[("dir/sub/checkpoint-1795621810000".to_string(), bytes.clone())]);
        assert_eq!(views[0].name, "checkpoint-1795621810000");
        assert!(views[0].listed);
    }

    #[test]
    fn facts_come_from_the_kafka_backend_and_predict_a_crash_on_a_short_topic() {
        let views = load(&fixture_files());
        let cp = &views[default_selection(&views)].result.as_ref().unwrap().checkpoint;
        let k = cp.streams.iter().find_map(|s| s.kafka.as_ref()).unwrap();
        let topic = k.current_offsets[0].topic.clone();
        let mut kafka = KafkaModel::new();
        // No such topic yet: a fact ("does not exist"), not an unknown.
        let f = facts(&kafka, cp);
        assert_eq!(f.topics.get(&topic), Some(&None));
        KafkaBackend::create_topic(&mut kafka, &topic, 2).unwrap();
        for _ in 0..3 {
            KafkaBackend::produce(&mut kafka, &topic, Some(0), None, "x").unwrap();
        }
        let f = facts(&kafka, cp);
        assert_eq!(
            f.topics[&topic],
            Some(vec![PartitionLog { partition: 0, log_start: 0, log_end: 3 }, PartitionLog { partition: 1, log_start: 0, log_end: 0 }])
        );
        let group = k.consumer_strategy.as_ref().unwrap().kafka_params["group.id"].as_str().unwrap();
        assert_eq!(f.groups[group].state, Some(GroupState::Dead));
        let p = spark_checkpoint::predict::predict(cp, &f);
        assert!(p.crashes);
        assert!(p.headline.ends_with("numRecords must not be negative"), "{}", p.headline);
    }

    #[test]
    fn a_picked_structured_folder_is_found_under_its_root_and_predicted_against_the_page_kafka() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../spark-checkpoint/fixtures/structured/spark351-retention");
        let mut picked = Vec::new();
        for sub in ["", "offsets", "commits", "sources/0"] {
            for e in std::fs::read_dir(dir.join(sub)).unwrap().flatten().filter(|e| e.path().is_file()) {
                let rel = if sub.is_empty() {
                    e.file_name().to_string_lossy().into_owned()
                } else {
                    format!("{sub}/{}", e.file_name().to_string_lossy())
                };
                picked.push((format!("my-query/{rel}"), std::fs::read(e.path()).unwrap()));
            }
        }
        let files = structured_folder(&picked).expect("a Structured Streaming folder");
        assert!(files.iter().any(|(p, _)| p == "offsets/1") && files.iter().any(|(p, _)| p == "metadata"));
        assert!(structured_folder(&fixture_files()).is_none());
        let cp = structured::read_folder(files.iter().map(|(p, b)| (p.as_str(), b.as_slice())));
        let topic = structured::wanted_topics(&cp).into_iter().next().unwrap();
        let mut kafka = KafkaModel::new();
        KafkaBackend::create_topic(&mut kafka, &topic, 1).unwrap();
        for _ in 0..7 {
            KafkaBackend::produce(&mut kafka, &topic, Some(0), None, "x").unwrap();
        }
        let f = structured_facts(&kafka, &cp);
        assert_eq!(f.topics[&topic], Some(vec![PartitionLog { partition: 0, log_start: 0, log_end: 7 }]));
        let p = structured::predict(&cp, &files, &f, &[]);
        assert!(!p.fails && !p.loses_data, "{}", p.headline);
        assert!(p.headline.contains("batch 1 is re-run"), "{}", p.headline);
    }

    #[test]
    fn lane_scale_spans_every_offset_and_clamps() {
        let s = LaneScale::new([30, 12, 37, 0]);
        assert_eq!((s.lo, s.hi), (0, 37));
        assert_eq!(s.pct(0), 0.0);
        assert_eq!(s.pct(37), 100.0);
        assert_eq!(s.pct(100), 100.0);
        assert!((s.pct(18) - 18.0 / 37.0 * 100.0).abs() < 1e-9);
        let one = LaneScale::new([5, 5]);
        assert_eq!((one.lo, one.hi), (5, 6));
        assert_eq!(LaneScale::new([]), LaneScale { lo: 0, hi: 1 });
    }
}
