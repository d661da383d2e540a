//! The engine's model of JVM collection order against the orders the JVM itself printed (`offsetlab.CollectionOrder`).
//!
//! The fixture is regenerated, and checked against a live JVM, by `cargo xtask reference order` (reference stage);
//! here every line is recomputed from its keys.

use engine::offsets::TopicPartition;
use engine::scala_order::*;
use serde_json::Value;

const FIXTURE: &str = include_str!("fixtures/collection-order.jsonl");

fn offset(p: i32) -> i64 {
    // the offsets `CollectionOrder.offset` gives partition p
    let p = i64::from(p);
    7 * p * p + 3 * p + 5
}

/// `parts.map(tp => tp -> c.position(tp))`: the assignment's order, each with its offset.
fn pairs(tps: &[TopicPartition]) -> Vec<(TopicPartition, i64)> {
    assignment_order(tps).into_iter().map(|tp| (tp.clone(), offset(tp.partition))).collect()
}

fn ints(v: &Value) -> Vec<i64> {
    v.as_array().expect("an array").iter().map(|x| x.as_i64().expect("a number")).collect()
}

#[test]
fn every_order_the_jvm_printed() {
    let (mut checked, mut kinds) = (0, std::collections::BTreeSet::new());
    for (n, line) in FIXTURE.lines().enumerate() {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("fixture line {}: {e}", n + 1));
        let kind = v["kind"].as_str().expect("kind");
        kinds.insert(kind.to_string());
        if kind == "scala_mutable_hash_map_string" {
            let names: Vec<String> = v["names"].as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_string()).collect();
            let want: Vec<String> = v["order"].as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_string()).collect();
            assert_eq!(mutable_hash_order(&names, |s| java_string_hash(s), ScalaVersion::V2_13), want, "line {}", n + 1);
            checked += 1;
            continue;
        }
        let topic = v["topic"].as_str().expect("topic");
        let count = v["partitions"].as_i64().expect("partitions") as i32;
        let tps: Vec<TopicPartition> = (0..count).map(|p| TopicPartition::new(topic, p)).collect();
        let got: Vec<i32> = match kind {
            "java_hash_set_copy" => assignment_order(&tps).iter().map(|tp| tp.partition).collect(),
            "java_hash_map" => java_hash_order(&tps, topic_partition_hash).iter().map(|tp| tp.partition).collect(),
            "scala_mutable_hash_set" => {
                mutable_hash_order(&tps, topic_partition_hash, ScalaVersion::V2_13).iter().map(|tp| tp.partition).collect()
            }
            "scala_immutable_map" => immutable_map_of_partitions(&tps).iter().map(|tp| tp.partition).collect(),
            "pairs_to_map" => pairs_to_map_order(&pairs(&tps)).iter().map(|tp| tp.partition).collect(),
            // `currentOffsets.keySet.diff(parts)`: the map's order, less what is still assigned (the even partitions)
            "revoked" => {
                revoked_order(&pairs_to_map_order(&pairs(&tps)), |tp| tp.partition % 2 == 0).iter().map(|tp| tp.partition).collect()
            }
            // `parts.diff(currentOffsets.keySet)`: the assignment's order, less what is tracked (the lower half)
            "new_partitions" => {
                new_partitions_order(&assignment_order(&tps), |tp| tp.partition < count / 2).iter().map(|tp| tp.partition).collect()
            }
            "scala_mutable_hash_map_int" => {
                let keys: Vec<i32> = (0..count).collect();
                mutable_hash_order(&keys, |p| *p, ScalaVersion::V2_13)
            }
            other => panic!("fixture line {}: unknown kind {other}", n + 1),
        };
        let want: Vec<i32> = ints(&v["order"]).into_iter().map(|p| p as i32).collect();
        assert_eq!(got, want, "line {}: {kind} of {topic} with {count} partitions", n + 1);
        checked += 1;
    }
    // the floor: at least three topic names with five or more partitions, every kind
    assert!(checked >= 3 * 6, "only {checked} orders in the fixture");
    assert_eq!(kinds.len(), 9, "kinds in the fixture: {kinds:?}");
}
