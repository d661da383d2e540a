//! Kafka's `TopicPartition` and Spark's `OffsetRange`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// A partition of a topic; prints (and serializes) as Kafka prints it: `words-0`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct TopicPartition {
    pub topic: String,
    pub partition: i32,
}

impl TopicPartition {
    pub fn new(topic: impl Into<String>, partition: i32) -> TopicPartition {
        TopicPartition { topic: topic.into(), partition }
    }

    /// Parses `words-0` (the topic may itself contain dashes).
    pub fn parse(s: &str) -> Option<TopicPartition> {
        let (topic, p) = s.rsplit_once('-')?;
        let partition = p.parse().ok()?;
        (!topic.is_empty() && partition >= 0).then(|| TopicPartition::new(topic, partition))
    }
}

impl From<TopicPartition> for String {
    fn from(tp: TopicPartition) -> String {
        tp.to_string()
    }
}

impl TryFrom<String> for TopicPartition {
    type Error = String;
    fn try_from(s: String) -> Result<TopicPartition, String> {
        TopicPartition::parse(&s).ok_or_else(|| format!("`{s}` is not a topic-partition like `words-0`"))
    }
}

impl fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}

/// Offsets per partition, ordered so every output is deterministic.
pub type Offsets = BTreeMap<TopicPartition, i64>;

/// `org.apache.spark.streaming.kafka010.OffsetRange`: `[fromOffset, untilOffset)` of one partition.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OffsetRange {
    pub topic: String,
    pub partition: i32,
    pub from_offset: i64,
    pub until_offset: i64,
}

impl OffsetRange {
    pub fn new(tp: &TopicPartition, from_offset: i64, until_offset: i64) -> OffsetRange {
        OffsetRange { topic: tp.topic.clone(), partition: tp.partition, from_offset, until_offset }
    }

    pub fn topic_partition(&self) -> TopicPartition {
        TopicPartition::new(self.topic.clone(), self.partition)
    }

    /// `OffsetRange.count`: may be negative, which is the whole point of the lab.
    pub fn count(&self) -> i64 {
        self.until_offset - self.from_offset
    }
}

impl fmt::Display for OffsetRange {
    /// Spark's `OffsetRange.toString`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "OffsetRange(topic: '{}', partition: {}, range: [{} -> {}])",
            self.topic, self.partition, self.from_offset, self.until_offset
        )
    }
}

/// One partition's offset in a serialized offset list (`[{"topic","partition","offset"}]`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PartitionOffset {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

/// Offsets as a sorted list, the trace's and the checkpoint's representation of a map.
pub fn to_list(offsets: &Offsets) -> Vec<PartitionOffset> {
    offsets.iter().map(|(tp, &offset)| PartitionOffset { topic: tp.topic.clone(), partition: tp.partition, offset }).collect()
}

pub fn from_list(list: &[PartitionOffset]) -> Offsets {
    list.iter().map(|p| (TopicPartition::new(p.topic.clone(), p.partition), p.offset)).collect()
}

/// Renders a partition list as the Java client does: `[words-1, words-2]`.
pub fn java_list(tps: &[TopicPartition]) -> String {
    let items: Vec<String> = tps.iter().map(|tp| tp.to_string()).collect();
    format!("[{}]", items.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_topic_partition() {
        assert_eq!(TopicPartition::parse("my-topic-12"), Some(TopicPartition::new("my-topic", 12)));
        assert_eq!(TopicPartition::parse("words"), None);
        assert_eq!(TopicPartition::parse("-1"), None);
    }

    #[test]
    fn negative_count() {
        let r = OffsetRange::new(&TopicPartition::new("words", 0), 3, 0);
        assert_eq!(r.count(), -3);
        assert_eq!(r.to_string(), "OffsetRange(topic: 'words', partition: 0, range: [3 -> 0])");
    }
}
