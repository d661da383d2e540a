//! "Will my restart crash?": what `StreamingContext.getOrCreate` will do with a decoded checkpoint against
//! the live Kafka (log start/end per partition, the group's committed offsets and state), found by running
//! the engine: the checkpoint becomes the engine's, the facts an in-memory Kafka, and the restart's first
//! batch is read off the engine's trace (`restart.rs`, `reading.rs`). Pure: the facts come in as data (a
//! facts file, a live broker through the CLI's `--bootstrap`, or the page's Kafka), and the restart happens
//! at the earliest time it computes a batch, derived from the checkpoint, not read from a clock.

mod reading;
mod restart;
pub(crate) mod seed;
mod text;
mod ways_out;

use std::collections::{BTreeMap, BTreeSet};

use engine::error::SparkError;
use engine::offsets::TopicPartition as Tp;
use kafka_model::GroupState;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::spark::{Checkpoint, KafkaStream};

pub use text::text;

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
    /// As `kafka-consumer-groups --describe` says (`Empty`, `Stable`, `PreparingRebalance`, `CompletingRebalance`,
    /// `Dead`); none when the broker did not say.
    #[serde(default)]
    pub state: Option<GroupState>,
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

/// What Kafka says of one partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Log {
    Unknown,
    NoTopic,
    NoPartition,
    Range(i64, i64),
}

impl Log {
    pub(crate) fn exists(self) -> &'static str {
        match self {
            Log::Unknown => "unknown",
            Log::NoTopic => "no topic",
            Log::NoPartition => "no partition",
            Log::Range(..) => "yes",
        }
    }
}

impl Facts {
    pub(crate) fn log(&self, tp: &Tp) -> Log {
        match self.topics.get(&tp.topic) {
            None => Log::Unknown,
            Some(None) => Log::NoTopic,
            Some(Some(parts)) => {
                parts.iter().find(|p| p.partition == tp.partition).map_or(Log::NoPartition, |p| Log::Range(p.log_start, p.log_end))
            }
        }
    }
}

fn param(k: &KafkaStream, key: &str) -> Option<String> {
    k.consumer_strategy.as_ref()?.kafka_params.get(key).and_then(json_text)
}

/// A kafkaParams value as the consumer's config sees it (`false`, `earliest`, `class org.…`).
fn json_text(v: &Json) -> Option<String> {
    match v {
        Json::String(s) => Some(s.clone()),
        Json::Null => None,
        other => Some(other.to_string()),
    }
}

/// One Kafka direct stream of the checkpoint with the facts about it: what every part of the prediction reads.
struct Subject<'a> {
    cp: &'a Checkpoint,
    k: &'a KafkaStream,
    facts: &'a Facts,
    strategy: String,
    group: Option<String>,
    /// `auto.offset.reset`, Kafka's `latest` when the user set none.
    reset: String,
    current: BTreeMap<Tp, i64>,
    committed: BTreeMap<Tp, i64>,
    /// The graph has an `updateStateByKey` (or another stream that must checkpoint).
    stateful: bool,
}

impl<'a> Subject<'a> {
    fn new(cp: &'a Checkpoint, k: &'a KafkaStream, facts: &'a Facts) -> Subject<'a> {
        let group = param(k, "group.id");
        let committed = group
            .as_ref()
            .and_then(|g| facts.groups.get(g))
            .map(|g| g.committed.iter().map(|c| (Tp::new(c.topic.clone(), c.partition), c.offset)).collect())
            .unwrap_or_default();
        Subject {
            cp,
            k,
            facts,
            strategy: k.consumer_strategy.as_ref().map_or("unknown".to_string(), |c| c.kind.clone()),
            group,
            reset: param(k, "auto.offset.reset").unwrap_or_else(|| "latest".to_string()),
            current: k.current_offsets.iter().map(|o| (Tp::new(o.topic.clone(), o.partition), o.offset)).collect(),
            committed,
            stateful: cp.streams.iter().any(|s| s.class.ends_with("StateDStream") || (!s.is_input && s.must_checkpoint == Some(true))),
        }
    }

    fn assign(&self) -> bool {
        self.strategy == "Assign"
    }

    /// The topics the stream reads: Subscribe's, Assign's, or for SubscribePattern those the checkpoint knows.
    fn topics(&self) -> BTreeSet<String> {
        let cs = self.k.consumer_strategy.as_ref();
        let mut t: BTreeSet<String> = cs.and_then(|c| c.topics.clone()).unwrap_or_default().into_iter().collect();
        t.extend(cs.and_then(|c| c.topic_partitions.as_ref()).into_iter().flatten().map(|tp| tp.topic.clone()));
        if t.is_empty() {
            t.extend(self.current.keys().map(|tp| tp.topic.clone()));
        }
        t
    }

    /// Every topic the restart may touch: the stream's, and those of the checkpoint's offsets and ranges.
    fn needed_topics(&self) -> BTreeSet<String> {
        let mut t = self.topics();
        t.extend(self.current.keys().map(|tp| tp.topic.clone()));
        t.extend(self.k.batch_for_time.iter().flat_map(|b| b.ranges.iter().map(|r| r.topic.clone())));
        t
    }

    /// The strategy's own starting offsets (used by a fresh start only).
    fn user_offsets(&self) -> BTreeMap<Tp, i64> {
        self.k.consumer_strategy.iter().flat_map(|c| c.offsets.iter().map(|o| (Tp::new(o.topic.clone(), o.partition), o.offset))).collect()
    }

    /// Where a partition's position came from: the checkpoint (restart only), the strategy's offsets (fresh
    /// start only), the committed offset, else `auto.offset.reset`.
    fn source(&self, tp: &Tp, fresh: bool) -> String {
        if !fresh && self.current.contains_key(tp) {
            "checkpoint".into()
        } else if fresh && self.user_offsets().contains_key(tp) {
            "the strategy's offsets".into()
        } else if self.committed.contains_key(tp) {
            if fresh { "committed offset" } else { "committed" }.into()
        } else {
            format!("auto.offset.reset={}", self.reset)
        }
    }
}

/// What a restarted context does with this checkpoint against these facts.
pub fn predict(cp: &Checkpoint, facts: &Facts) -> Prediction {
    let streams: Vec<StreamPrediction> =
        cp.streams.iter().filter_map(|s| s.kafka.as_ref()).map(|k| predict_stream(&Subject::new(cp, k, facts))).collect();
    let mut failures = streams.iter().flat_map(|s| s.failures.iter());
    let certain = streams.iter().flat_map(|s| s.failures.iter()).find(|f| f.certain);
    let headline = match (certain, failures.next()) {
        (Some(f), _) => format!("the restart crashes: {}", f.exception),
        (None, Some(f)) => format!("the restart may fail: {}", f.exception),
        (None, None) if streams.is_empty() => "no Kafka direct stream in this checkpoint: nothing to predict".to_string(),
        (None, None) if streams.iter().any(|s| s.first_batch.is_none()) => "not predicted: see the notes".to_string(),
        (None, None) => "no crash predicted".to_string(),
    };
    Prediction { crashes: certain.is_some(), headline, streams }
}

fn predict_stream(s: &Subject) -> StreamPrediction {
    let mut p = StreamPrediction {
        stream_id: s.k.id,
        strategy: s.strategy.clone(),
        group_id: s.group.clone(),
        auto_offset_reset: s.reset.clone(),
        lanes: Vec::new(),
        restored: Vec::new(),
        first_batch: None,
        failures: Vec::new(),
        re_read: Vec::new(),
        skipped: Vec::new(),
        commits: reading::commits(s),
        commits_sent: false,
        ways_out: Vec::new(),
        notes: reading::notes(s),
    };
    let unknown: Vec<String> = s.needed_topics().into_iter().filter(|t| !s.facts.topics.contains_key(t)).collect();
    let setup = if unknown.is_empty() {
        restart::Setup::new(s)
    } else {
        Err(format!("no facts for topic(s) {}: nothing is predicted", unknown.join(", ")))
    };
    match setup {
        Ok(setup) => {
            let run = setup.restart();
            reading::fill(s, &run, setup.now, &mut p);
            if !p.failures.is_empty() {
                p.ways_out = ways_out::ways_out(s, &setup, &p.restored);
            }
        }
        Err(e) => p.notes.push(e),
    }
    p.lanes = reading::lanes(s, p.first_batch.as_ref());
    p
}
