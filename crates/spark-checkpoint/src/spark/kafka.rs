//! What a kafka010 `DirectKafkaInputDStream` keeps in a checkpoint: offsets, queued commits, ranges per batch.

use serde::Serialize;
use serde_json::{Map, Value as Json};

use super::collections::{map, seq};
use super::view::View;
use crate::jser::Value;

pub const DIRECT_KAFKA_INPUT_DSTREAM: &str = "org.apache.spark.streaming.kafka010.DirectKafkaInputDStream";

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct TopicPartition {
    pub topic: String,
    pub partition: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartitionOffset {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

/// `OffsetRange(topic, partition, fromOffset, untilOffset)`, decoded from the class or from its
/// `(String, Int, Long, Long)` tuple form: the engine's type, the same meaning.
pub use engine::offsets::OffsetRange;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BatchRanges {
    pub time: i64,
    pub ranges: Vec<OffsetRange>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerStrategy {
    /// `Subscribe`, `SubscribePattern`, `Assign`, or the class name of anything else.
    pub kind: String,
    pub topics: Option<Vec<String>>,
    pub pattern: Option<String>,
    pub topic_partitions: Option<Vec<TopicPartition>>,
    /// The user's kafkaParams (group.id, bootstrap.servers, auto.offset.reset, enable.auto.commit, …).
    pub kafka_params: Map<String, Json>,
    /// Starting offsets given to the strategy (used only on a fresh start).
    pub offsets: Vec<PartitionOffset>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KafkaStream {
    /// `InputDStream.id`.
    pub id: Option<i64>,
    pub consumer_strategy: Option<ConsumerStrategy>,
    /// After `fixKafkaParams`: what executors use (`enable.auto.commit=false`, `auto.offset.reset=none`).
    pub executor_kafka_params: Map<String, Json>,
    /// Where the next batch starts, per partition: the `untilOffset` of the last generated batch.
    pub current_offsets: Vec<PartitionOffset>,
    /// Ranges given to `commitAsync` and not yet sent to Kafka (sent at the next batch's `compute`).
    pub commit_queue: Vec<OffsetRange>,
    /// `DirectKafkaInputDStreamCheckpointData.batchForTime`: re-run as KafkaRDDs on restart.
    pub batch_for_time: Vec<BatchRanges>,
    pub initial_rate: Option<i64>,
    pub max_rate_per_partition: Option<i64>,
    pub location_strategy: Option<String>,
    pub backpressure: Option<bool>,
    pub commit_callback: Option<String>,
}

pub fn topic_partition(view: &View, v: &Value) -> Option<TopicPartition> {
    if !view.is(v, "org.apache.kafka.common.TopicPartition") {
        return None;
    }
    let partition = i32::try_from(view.long(&view.field(v, "partition")?)?).ok()?;
    Some(TopicPartition { topic: view.field_string(v, "topic")?, partition })
}

fn offset_range(view: &View, v: &Value) -> Option<OffsetRange> {
    let long = |name: &str| view.long(&view.field(v, name)?);
    if view.is(v, "org.apache.spark.streaming.kafka010.OffsetRange") {
        return Some(OffsetRange {
            topic: view.field_string(v, "topic")?,
            partition: i32::try_from(long("partition")?).ok()?,
            from_offset: long("fromOffset")?,
            until_offset: long("untilOffset")?,
        });
    }
    // OffsetRange.OffsetRangeTuple, stored instead of OffsetRange to avoid ClassNotFoundException on restore.
    match view.tuple(v)?.as_slice() {
        [t, p, f, u] => Some(OffsetRange {
            topic: view.string(t)?,
            partition: i32::try_from(view.long(p)?).ok()?,
            from_offset: view.long(f)?,
            until_offset: view.long(u)?,
        }),
        _ => None,
    }
}

/// In the Map's own order, which a restart seeks in (crates/engine/src/scala_order.rs).
fn offsets(view: &View, v: &Value) -> Vec<PartitionOffset> {
    map(view, v)
        .unwrap_or_default()
        .iter()
        .filter_map(|(k, x)| {
            let tp = topic_partition(view, k)?;
            Some(PartitionOffset { topic: tp.topic, partition: tp.partition, offset: view.long(x)? })
        })
        .collect()
}

fn params(view: &View, v: &Value) -> Map<String, Json> {
    map(view, v).unwrap_or_default().iter().filter_map(|(k, x)| Some((view.string(k)?, view.plain(x, 0)))).collect()
}

fn strategy(view: &View, v: &Value) -> Option<ConsumerStrategy> {
    let class = view.class(v)?;
    let kind = class.strip_prefix("org.apache.spark.streaming.kafka010.").unwrap_or(class).to_string();
    let topics = view.field(v, "topics").and_then(|t| seq(view, &t)).map(|ts| ts.iter().filter_map(|t| view.string(t)).collect());
    let topic_partitions =
        view.field(v, "topicPartitions").and_then(|t| seq(view, &t)).map(|ts| ts.iter().filter_map(|t| topic_partition(view, t)).collect());
    let pattern = view.field(v, "pattern").and_then(|p| view.field_string(&p, "pattern"));
    Some(ConsumerStrategy {
        kind,
        topics,
        pattern,
        topic_partitions,
        kafka_params: view.field(v, "kafkaParams").map(|p| params(view, &p)).unwrap_or_default(),
        offsets: view.field(v, "offsets").map(|o| offsets(view, &o)).unwrap_or_default(),
    })
}

/// Reads one `DirectKafkaInputDStream`; `checkpoint_data` is its most-derived `checkpointData.data` map.
pub fn kafka_stream(view: &View, v: &Value, checkpoint_data: &[(Value, Value)]) -> KafkaStream {
    let long_field = |name: &str| view.field(v, name).and_then(|x| view.long(&x));
    let mut batch_for_time: Vec<BatchRanges> = checkpoint_data
        .iter()
        .filter_map(|(t, ranges)| {
            let ranges = view.array(ranges)?.iter().filter_map(|r| offset_range(view, r)).collect();
            Some(BatchRanges { time: view.millis(t)?, ranges })
        })
        .collect();
    batch_for_time.sort_by_key(|b| b.time);
    let ppc = view.field(v, "ppc");
    KafkaStream {
        id: long_field("id"),
        consumer_strategy: view.field(v, "consumerStrategy").and_then(|s| strategy(view, &s)),
        executor_kafka_params: view.field(v, "executorKafkaParams").map(|p| params(view, &p)).unwrap_or_default(),
        current_offsets: view.field(v, "currentOffsets").map(|o| offsets(view, &o)).unwrap_or_default(),
        commit_queue: view
            .field(v, "commitQueue")
            .and_then(|q| seq(view, &q))
            .unwrap_or_default()
            .iter()
            .filter_map(|r| offset_range(view, r))
            .collect(),
        batch_for_time,
        initial_rate: long_field("initialRate"),
        max_rate_per_partition: ppc.and_then(|p| view.field(&p, "maxRate")).and_then(|x| view.long(&x)),
        location_strategy: view
            .field(v, "locationStrategy")
            .and_then(|l| view.module(&l).or_else(|| view.class(&l)))
            .map(|n| n.trim_start_matches("org.apache.spark.streaming.kafka010.").trim_end_matches('$').to_string()),
        backpressure: view.field(v, "rateController").and_then(|r| view.option(&r)).map(|o| o.is_some()),
        commit_callback: view
            .field(v, "commitCallback")
            .and_then(|c| view.field(&c, "value"))
            .and_then(|cb| view.class(&cb).map(str::to_string)),
    }
}
