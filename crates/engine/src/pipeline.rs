//! The records' way through the DStream operations, and `print()`'s output.

use crate::config::Transform;
use crate::kafka::Record;
use crate::offsets::TopicPartition;
use crate::time::Time;
use std::collections::BTreeMap;

/// `ssc.sparkContext.defaultParallelism` under `local[2]`: the partitions of shuffled RDDs.
pub const SHUFFLE_PARTITIONS: i32 = 2;

/// An element of an RDD in the pipeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Datum {
    Record(TopicPartition, Record),
    Text(String),
    Pair(String, i64),
}

impl Datum {
    /// What `println(element)` shows.
    pub fn render(&self) -> String {
        match self {
            Datum::Record(tp, r) => format!(
                "ConsumerRecord(topic = {}, partition = {}, offset = {}, CreateTime = {}, key = {}, value = {})",
                tp.topic,
                tp.partition,
                r.offset,
                r.timestamp,
                r.key.as_deref().unwrap_or("null"),
                r.value
            ),
            Datum::Text(s) => s.clone(),
            Datum::Pair(k, v) => format!("({k},{v})"),
        }
    }
}

/// Applies the narrow transformations (everything before a `reduceByKey`/`updateStateByKey`).
/// The batch's pairs are then reduced with [`reduce_pairs`].
pub fn narrow(transforms: &[Transform], input: Vec<Datum>) -> Vec<Datum> {
    let mut data = input;
    for t in transforms {
        data = match t {
            Transform::MapValueOne => data.into_iter().map(|d| Datum::Pair(text_of(&d, false), 1)).collect(),
            Transform::MapKeyOne => data.into_iter().map(|d| Datum::Pair(text_of(&d, true), 1)).collect(),
            Transform::MapValue => data.into_iter().map(|d| Datum::Text(text_of(&d, false))).collect(),
            Transform::FlatMapWords => data.into_iter().flat_map(|d| java_split_space(&text_of(&d, false))).map(Datum::Text).collect(),
            Transform::FilterContains(needle) => data.into_iter().filter(|d| text_of(d, false).contains(needle.as_str())).collect(),
            Transform::ReduceByKeySum | Transform::UpdateStateByKeySum => data,
        };
    }
    data
}

/// `String.split(" ")` as Java does it: trailing empty strings are dropped, and a string without
/// a space comes back whole.
pub fn java_split_space(s: &str) -> Vec<String> {
    if !s.contains(' ') {
        return vec![s.to_string()];
    }
    let mut parts: Vec<String> = s.split(' ').map(str::to_string).collect();
    while parts.last().is_some_and(|p| p.is_empty()) {
        parts.pop();
    }
    parts
}

/// The value (or key) a lambda like `r => r.value` sees; `null` keys print as Java does.
fn text_of(d: &Datum, key: bool) -> String {
    match d {
        Datum::Record(_, r) if key => r.key.clone().unwrap_or_else(|| "null".into()),
        Datum::Record(_, r) => r.value.clone(),
        Datum::Text(s) => s.clone(),
        Datum::Pair(k, _) => k.clone(),
    }
}

/// Sums pairs per key (`reduceByKey(_ + _)`, and the new values `updateStateByKey` sees).
pub fn reduce_pairs(data: &[Datum]) -> BTreeMap<String, i64> {
    let mut sums = BTreeMap::new();
    for d in data {
        if let Datum::Pair(k, v) = d {
            *sums.entry(k.clone()).or_insert(0) += v;
        }
    }
    sums
}

/// `updateStateByKey(sum)`: every key of the old state and the batch, old total plus new values.
pub fn update_state(state: &mut BTreeMap<String, i64>, batch: &BTreeMap<String, i64>) {
    for (k, v) in batch {
        *state.entry(k.clone()).or_insert(0) += v;
    }
}

/// A shuffled RDD's elements in the order `take` meets them: by `HashPartitioner` partition
/// (Java's `String.hashCode`), then by key. Spark's order inside a partition is its hash map's; the
/// reference harness compares `print()` output as a multiset for that reason.
pub fn shuffled_order(map: &BTreeMap<String, i64>) -> Vec<Datum> {
    let mut v: Vec<(i32, &String, i64)> = map.iter().map(|(k, &n)| (hash_partition(k), k, n)).collect();
    v.sort();
    v.into_iter().map(|(_, k, n)| Datum::Pair(k.clone(), n)).collect()
}

/// `HashPartitioner.getPartition`: `nonNegativeMod(key.hashCode, partitions)`.
pub fn hash_partition(key: &str) -> i32 {
    java_string_hash(key).rem_euclid(SHUFFLE_PARTITIONS)
}

pub use crate::scala_order::java_string_hash;

/// `DStream.print(num)`: the header, up to `num` elements, `...` if there are more, an empty line.
pub fn print_lines(time: Time, data: &[Datum], num: usize) -> Vec<String> {
    let mut lines = vec![
        "-------------------------------------------".to_string(),
        format!("Time: {time}"),
        "-------------------------------------------".to_string(),
    ];
    lines.extend(data.iter().take(num).map(Datum::render));
    if data.len() > num {
        lines.push("...".into());
    }
    lines.push(String::new());
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_hash_matches_the_jvm() {
        // Values from `"a".hashCode()` etc. on a JVM.
        assert_eq!(java_string_hash("a"), 97);
        assert_eq!(java_string_hash("hello"), 99_162_322);
        assert_eq!(java_string_hash("polygenelubricants"), i32::MIN);
    }

    #[test]
    fn print_matches_spark() {
        let data: Vec<Datum> = (0..12).map(|i| Datum::Pair(format!("k{i}"), i)).collect();
        let lines = print_lines(Time(5000), &data, 10);
        assert_eq!(lines[1], "Time: 5000 ms");
        assert_eq!(lines.len(), 3 + 10 + 2);
        assert_eq!(lines[13], "...");
        assert_eq!(lines[14], "");
        assert_eq!(print_lines(Time(1), &[], 10).len(), 4);
    }

    #[test]
    fn split_like_java() {
        assert_eq!(java_split_space("a  b "), vec!["a", "", "b"]);
        assert_eq!(java_split_space(" "), Vec::<String>::new());
        assert_eq!(java_split_space(""), vec![""]);
        assert_eq!(java_split_space(" a"), vec!["", "a"]);
    }

    #[test]
    fn word_count_pipeline() {
        let tp = TopicPartition::new("t", 0);
        let rec = |o, v: &str| Datum::Record(tp.clone(), Record { offset: o, key: None, value: v.into(), timestamp: 0 });
        let out = narrow(
            &[Transform::MapValue, Transform::FlatMapWords, Transform::FilterContains("a".into())],
            vec![rec(0, "a b"), rec(1, "ca a")],
        );
        assert_eq!(out, vec![Datum::Text("a".into()), Datum::Text("ca".into()), Datum::Text("a".into())]);
        let pairs = narrow(&[Transform::MapValueOne], vec![rec(0, "x"), rec(1, "x"), rec(2, "y")]);
        let mut state = BTreeMap::from([("y".to_string(), 5)]);
        update_state(&mut state, &reduce_pairs(&pairs));
        assert_eq!(state, BTreeMap::from([("x".to_string(), 2), ("y".to_string(), 6)]));
    }
}
