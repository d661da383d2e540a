//! Records of the `__consumer_offsets` topic as Kafka writes them: the in-memory model appends them,
//! the real-Kafka client decodes them, the bridge's frames carry them and the page shows them.

use serde::{Deserialize, Serialize};

/// One record of `__consumer_offsets`, decoded as Kafka's `OffsetsMessageFormatter` and
/// `GroupMetadataMessageFormatter` do. `offset` is the record's position in `__consumer_offsets`;
/// `value: None` is a tombstone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum OffsetsTopicRecord {
    /// Key versions 0–1 (`OffsetCommitKey`).
    OffsetCommit { offset: i64, group: String, topic: String, partition: i32, value: Option<OffsetCommitValue> },
    /// Key version 2 (`GroupMetadataKey`).
    GroupMetadata { offset: i64, group: String, value: Option<GroupMetadataValue> },
    /// Another record type (e.g. the new consumer protocol's); only its key version is shown.
    #[serde(rename_all = "camelCase")]
    Other { offset: i64, key_version: i16 },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OffsetCommitValue {
    pub version: i16,
    /// The committed offset.
    pub offset: i64,
    /// −1 when absent (versions before 3 have none).
    pub leader_epoch: i32,
    pub metadata: String,
    pub commit_timestamp: i64,
    /// Only version 1 carries it.
    pub expire_timestamp: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupMetadataValue {
    pub version: i16,
    pub protocol_type: String,
    pub generation: i32,
    pub protocol: Option<String>,
    pub leader: Option<String>,
    pub current_state_timestamp: Option<i64>,
    pub members: Vec<GroupMetadataMember>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupMetadataMember {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub rebalance_timeout: i32,
    pub session_timeout: i32,
}

impl OffsetsTopicRecord {
    /// The group the record belongs to, if it has one.
    pub fn group(&self) -> Option<&str> {
        match self {
            OffsetsTopicRecord::OffsetCommit { group, .. } | OffsetsTopicRecord::GroupMetadata { group, .. } => Some(group),
            OffsetsTopicRecord::Other { .. } => None,
        }
    }

    /// One line for the page, naming topics and groups through `name` (the page strips its namespace).
    pub fn describe<'a>(&'a self, name: impl Fn(&'a str) -> &'a str) -> String {
        match self {
            OffsetsTopicRecord::OffsetCommit { offset, group, topic, partition, value: Some(v) } => {
                format!("@{offset} [{},{},{partition}] → offset {}", name(group), name(topic), v.offset)
            }
            OffsetsTopicRecord::OffsetCommit { offset, group, topic, partition, value: None } => {
                format!("@{offset} [{},{},{partition}] → tombstone", name(group), name(topic))
            }
            OffsetsTopicRecord::GroupMetadata { offset, group, value: Some(v) } => {
                // The classic coordinator writes a group's metadata when it settles: with members it is Stable.
                let state = if v.members.is_empty() { "Empty" } else { "Stable" };
                format!("@{offset} group {}: {state}, generation {}, {} member(s)", name(group), v.generation, v.members.len())
            }
            OffsetsTopicRecord::GroupMetadata { offset, group, value: None } => {
                format!("@{offset} group {}: tombstone (Dead)", name(group))
            }
            OffsetsTopicRecord::Other { offset, key_version } => format!("@{offset} record with key version {key_version}"),
        }
    }
}
