//! `KafkaSourceOffset`'s JSON, `{"words":{"0":5,"1":3}}`, written in the key order Spark's
//! `JsonUtils.partitionOffsets` produces and read in any order.

use crate::options::ScalaVersion;
use engine::offsets::{Offsets, TopicPartition};
use engine::scala_order::mutable_hash_order;
use std::collections::BTreeMap;

/// `JsonUtils.partitionOffsets(Map)`: the partitions are sorted, then put one by one into a
/// `scala.collection.mutable.HashMap[String, HashMap[Int, Long]]` that Jackson writes in the map's
/// iteration order. So the text's key order is the HashMap's, not the sorted one.
pub fn partition_offsets(offsets: &Offsets, scala: ScalaVersion) -> String {
    let mut by_topic: BTreeMap<&str, Vec<(i32, i64)>> = BTreeMap::new();
    for (tp, o) in offsets {
        by_topic.entry(tp.topic.as_str()).or_default().push((tp.partition, *o));
    }
    let topics: Vec<&str> = by_topic.keys().copied().collect();
    let topic_order = mutable_hash_order(&topics, |t| java_string_hash(t), scala);
    let mut out = String::from("{");
    for (i, topic) in topic_order.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&serde_json::to_string(topic).expect("strings serialize"));
        out.push_str(":{");
        let parts = &by_topic[topic];
        let keys: Vec<i32> = parts.iter().map(|(p, _)| *p).collect();
        for (j, p) in mutable_hash_order(&keys, |p| *p, scala).iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            let o = parts.iter().find(|(q, _)| q == p).expect("key from the same list").1;
            out.push_str(&format!("\"{p}\":{o}"));
        }
        out.push('}');
    }
    out.push('}');
    out
}

/// `JsonUtils.partitionOffsets(String)`, with Spark's message for anything that is not a
/// `{"topic":{"partition":offset}}` object.
pub fn parse_partition_offsets(s: &str) -> Result<Offsets, String> {
    let bad = || format!(r#"Expected e.g. {{"topicA":{{"0":23,"1":-1}},"topicB":{{"0":-2}}}}, got {s}"#);
    let v: serde_json::Value = serde_json::from_str(s).map_err(|_| bad())?;
    let mut out = Offsets::new();
    for (topic, parts) in v.as_object().ok_or_else(bad)? {
        for (p, o) in parts.as_object().ok_or_else(bad)? {
            let partition: i32 = p.parse().map_err(|_| bad())?;
            let offset = o.as_i64().ok_or_else(bad)?;
            out.insert(TopicPartition::new(topic.clone(), partition), offset);
        }
    }
    Ok(out)
}

/// `JsonUtils.partitionTimestamps(String)`: the same shape, its own message.
pub fn parse_partition_timestamps(s: &str) -> Result<Offsets, String> {
    parse_partition_offsets(s).map_err(|_| {
        format!("Expected e.g. {{\"topicA\": {{\"0\": 123456789, \"1\": 123456789}},\n\"topicB\": {{\"0\": 123456789, \"1\": 123456789}}}}, got {s}")
    })
}

/// `JsonUtils.partitions(String)`: the `assign` option, `{"topicA":[0,1],"topicB":[0]}`.
pub fn parse_partitions(s: &str) -> Result<Vec<TopicPartition>, String> {
    let bad = || format!(r#"Expected e.g. {{"topicA":[0,1],"topicB":[0,1]}}, got {s}"#);
    let v: serde_json::Value = serde_json::from_str(s).map_err(|_| bad())?;
    let mut out = Vec::new();
    for (topic, parts) in v.as_object().ok_or_else(bad)? {
        for p in parts.as_array().ok_or_else(bad)? {
            let partition = p.as_i64().and_then(|p| i32::try_from(p).ok()).ok_or_else(bad)?;
            out.push(TopicPartition::new(topic.clone(), partition));
        }
    }
    Ok(out)
}

/// Java's `String.hashCode`, which Spark also uses for the group id's last part.
pub use engine::scala_order::java_string_hash;

#[cfg(test)]
mod tests {
    use super::*;

    fn offsets(list: &[(&str, i32, i64)]) -> Offsets {
        list.iter().map(|(t, p, o)| (TopicPartition::new(*t, *p), *o)).collect()
    }

    #[test]
    fn three_partitions_in_scala_212_and_213_hash_order() {
        // A Scala 2.12 Spark's offsets file seen in the wild: {"shopping_transaction":{"2":707,"1":742,"0":739}}
        let o = offsets(&[("shopping_transaction", 0, 739), ("shopping_transaction", 1, 742), ("shopping_transaction", 2, 707)]);
        assert_eq!(partition_offsets(&o, ScalaVersion::V2_12), r#"{"shopping_transaction":{"2":707,"1":742,"0":739}}"#);
        assert_eq!(partition_offsets(&o, ScalaVersion::V2_13), r#"{"shopping_transaction":{"0":739,"1":742,"2":707}}"#);
    }

    #[test]
    fn two_topics_in_scala_213_bucket_order() {
        // Real Spark 3.5.1 (Scala 2.13) wrote {"events-b-ref986363":…,"events-a-ref986363":…} for these two topics of
        // scenarios/structured/subscribe-pattern.toml (the harness suffixes names): buckets 10 and 15 of 16.
        let o = offsets(&[("events-a-ref986363", 0, 2), ("events-b-ref986363", 0, 2)]);
        assert_eq!(partition_offsets(&o, ScalaVersion::V2_13), r#"{"events-b-ref986363":{"0":2},"events-a-ref986363":{"0":2}}"#);
    }

    #[test]
    fn more_partitions_than_the_first_table_holds() {
        let o: Offsets = (0..20).map(|p| (TopicPartition::new("t", p), 0)).collect();
        let text = partition_offsets(&o, ScalaVersion::V2_12);
        assert!(text.starts_with(r#"{"t":{"17":0,"8":0,"11":0,"2":0,"#), "{text}");
        assert_eq!(parse_partition_offsets(&text).unwrap(), o);
    }

    #[test]
    fn reads_any_order_and_refuses_with_sparks_message() {
        assert_eq!(parse_partition_offsets(r#"{"w":{"1":3,"0":-2}}"#).unwrap(), offsets(&[("w", 0, -2), ("w", 1, 3)]));
        assert_eq!(parse_partition_offsets("[1]").unwrap_err(), r#"Expected e.g. {"topicA":{"0":23,"1":-1},"topicB":{"0":-2}}, got [1]"#);
        assert_eq!(parse_partitions(r#"{"w":[1,0]}"#).unwrap(), vec![TopicPartition::new("w", 1), TopicPartition::new("w", 0)]);
    }

    #[test]
    fn java_hash_code() {
        assert_eq!(java_string_hash(""), 0);
        assert_eq!(java_string_hash("a"), 97);
        // "polygenelubricants".hashCode() is Integer.MIN_VALUE, a classic of the Java world.
        assert_eq!(java_string_hash("polygenelubricants"), i32::MIN);
    }
}
