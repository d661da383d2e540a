//! The engine's Kafka interface: the requests Spark's driver and executors make, and Kafka's replies.
//!
//! The engine never talks to Kafka. It emits a [`KafkaRequest`] and waits for the matching
//! [`KafkaReply`]. Two shells answer: the in-memory model (`kafka-model` crate) and the bridge to a
//! real broker. Requests are coarse on purpose: one per thing the Java client does on Spark's behalf.

use crate::offsets::TopicPartition;
use serde::{Deserialize, Serialize};

/// What Spark asks of Kafka.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum KafkaRequest {
    /// `consumer.poll` on a subscribed consumer: JoinGroup/SyncGroup when `member_id` is `None` (or the
    /// member was fenced), a Heartbeat otherwise. The reply is the member's current assignment.
    /// `metadata_max_age_ms` is the consumer's `metadata.max.age.ms`: after it, the consumer fetches the
    /// topics' metadata again and rejoins when a subscribed topic's partition count changed.
    #[serde(rename_all = "camelCase")]
    GroupPoll {
        group: String,
        member_id: Option<String>,
        client_id: String,
        topics: Vec<String>,
        session_timeout_ms: i64,
        #[serde(default = "default_metadata_max_age_ms")]
        metadata_max_age_ms: i64,
    },
    /// `consumer.close()`: LeaveGroup.
    #[serde(rename_all = "camelCase")]
    LeaveGroup { group: String, member_id: String },
    /// ListOffsets: log start (`Earliest`), log end (`Latest`) or the offset for a time, of each partition.
    #[serde(rename_all = "camelCase")]
    ListOffsets { partitions: Vec<TopicPartition>, spec: OffsetSpec },
    /// OffsetFetch: the group's committed offsets.
    #[serde(rename_all = "camelCase")]
    OffsetFetch { group: String, partitions: Vec<TopicPartition> },
    /// OffsetCommit. `member` is `(member id, generation)` for a group member, `None` for generation −1.
    #[serde(rename_all = "camelCase")]
    OffsetCommit { group: String, member: Option<(String, i32)>, offsets: Vec<(TopicPartition, i64)> },
    /// An executor's Fetch of records `[offset, offset + max_records)` of one partition.
    #[serde(rename_all = "camelCase")]
    Fetch { partition: TopicPartition, offset: i64, max_records: i64 },
    /// `Admin.describeTopics`: the partitions of each named topic. Structured Streaming's Kafka source
    /// finds its partitions this way (`ConsumerStrategy.assignedTopicPartitions`); it joins no group.
    #[serde(rename_all = "camelCase")]
    DescribeTopics { topics: Vec<String> },
    /// `Admin.listTopics`: every topic but Kafka's internal ones, with its partition count
    /// (`SubscribePatternStrategy` matches its pattern against these names).
    ListTopics,
}

/// A `GroupPoll` written before it carried the setting asked with Kafka's default.
fn default_metadata_max_age_ms() -> i64 {
    crate::stream::METADATA_MAX_AGE_MS
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum OffsetSpec {
    Earliest,
    Latest,
    /// `OffsetSpec.forTimestamp(ms)`: the first offset whose timestamp is ≥ it, or −1 when there is none.
    Timestamp(i64),
}

/// Kafka's answer to a [`KafkaRequest`] (same position in the conversation).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum KafkaReply {
    #[serde(rename_all = "camelCase")]
    Assignment {
        member_id: String,
        generation: i32,
        partitions: Vec<TopicPartition>,
    },
    Left,
    /// Per requested partition, the offset or the error.
    Offsets {
        offsets: Vec<(TopicPartition, Result<i64, KafkaError>)>,
    },
    /// Per requested partition, the committed offset if any.
    Committed {
        offsets: Vec<(TopicPartition, Option<i64>)>,
    },
    CommitResult {
        result: Result<(), KafkaError>,
    },
    #[serde(rename_all = "camelCase")]
    Records {
        records: Vec<Record>,
        log_start_offset: i64,
        high_watermark: i64,
    },
    FetchError {
        error: KafkaError,
    },
    /// Per requested topic (or every topic, for `ListTopics`), its partition count, or `None` when the
    /// topic does not exist.
    Topics {
        topics: Vec<(String, Option<i32>)>,
    },
    /// The request could not be made at all (group or broker gone, connection lost).
    Failed {
        error: KafkaError,
    },
}

/// A record as the executor sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub offset: i64,
    pub key: Option<String>,
    pub value: String,
    pub timestamp: i64,
}

/// Kafka protocol errors the engine reacts to, with Kafka's names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum KafkaError {
    UnknownTopicOrPartition,
    OffsetOutOfRange,
    UnknownMemberId,
    IllegalGeneration,
    RebalanceInProgress,
    CoordinatorNotAvailable,
    /// Anything else, named as Kafka names it.
    Other(String),
}

impl KafkaError {
    pub fn name(&self) -> String {
        match self {
            KafkaError::UnknownTopicOrPartition => "UNKNOWN_TOPIC_OR_PARTITION".into(),
            KafkaError::OffsetOutOfRange => "OFFSET_OUT_OF_RANGE".into(),
            KafkaError::UnknownMemberId => "UNKNOWN_MEMBER_ID".into(),
            KafkaError::IllegalGeneration => "ILLEGAL_GENERATION".into(),
            KafkaError::RebalanceInProgress => "REBALANCE_IN_PROGRESS".into(),
            KafkaError::CoordinatorNotAvailable => "COORDINATOR_NOT_AVAILABLE".into(),
            KafkaError::Other(s) => s.clone(),
        }
    }
}
