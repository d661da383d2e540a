//! The live facts as an in-memory Kafka (`kafka-model`), shared by the DStream and the Structured Streaming
//! restart predictions: each topic with its partitions, each log from the lowest offset the caller's restart can
//! ask for to its end, filled with synthetic records (only offsets matter).

use std::collections::BTreeSet;

use engine::kafka::Record;
use engine::offsets::TopicPartition as Tp;
use engine::time::Time;
use kafka_model::{KafkaModel, PartitionLog};

use super::Facts;

/// Synthetic records the simulated Kafka may hold, all partitions together (64 bytes each).
pub(crate) const MAX_RECORDS: i64 = 2_000_000;
/// Partitions of one topic that the simulation takes on.
pub(crate) const MAX_PARTITIONS: i32 = 10_000;

/// `topics` as the facts describe them; `lowest(tp, log start, log end)` is the first offset to hold (below it
/// nothing is fetched or listed, so leaving the records out changes nothing: a fetch there gets the same
/// OFFSET_OUT_OF_RANGE as below the real log start). Topics without facts, or that do not exist, are not created.
pub(crate) fn kafka(
    facts: &Facts,
    topics: &BTreeSet<String>,
    now: Time,
    lowest: &dyn Fn(&Tp, i64, i64) -> i64,
) -> Result<KafkaModel, String> {
    let mut kafka = KafkaModel::new();
    kafka.advance(now);
    let mut records = 0i64;
    for topic in topics {
        let Some(parts) = facts.topics.get(topic).and_then(|p| p.as_ref()).filter(|p| !p.is_empty()) else { continue };
        let n = parts.iter().map(|p| p.partition.saturating_add(1)).max().unwrap_or(1);
        if n > MAX_PARTITIONS || parts.iter().any(|p| p.partition < 0) {
            return Err(format!("facts: topic {topic} has partition numbers up to {}: not simulated", n - 1));
        }
        kafka.create_topic(topic, n).map_err(|e| format!("facts: {e}"))?;
        for p in parts {
            let tp = Tp::new(topic.clone(), p.partition);
            if p.log_start < 0 || p.log_start > p.log_end {
                return Err(format!("facts: {tp} has log start {} and log end {}", p.log_start, p.log_end));
            }
            let from = lowest(&tp, p.log_start, p.log_end).clamp(p.log_start, p.log_end);
            records = records.saturating_add(p.log_end - from);
            if records > MAX_RECORDS {
                return Err(format!(
                    "the logs hold more than {MAX_RECORDS} records between where the restart reads and their ends: not simulated"
                ));
            }
            let log = kafka.topics.get_mut(topic).and_then(|ps| ps.get_mut(p.partition as usize)).expect("created above");
            *log = PartitionLog { log_start: from, records: (from..p.log_end).map(synthetic).collect() };
        }
    }
    Ok(kafka)
}

fn synthetic(offset: i64) -> Record {
    Record { offset, key: None, value: String::new(), timestamp: 0 }
}
