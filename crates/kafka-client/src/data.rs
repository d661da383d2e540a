//! The data plane: topics and their partitions' log start and end, produce (as the console producer
//! partitions), fetch, and ListOffsets (earliest, latest, by timestamp).

use crate::{rs_error, wire, Kafka, OpError, Result, V_LIST_OFFSETS};
use kafka_model::partitioner::partition_for_key;
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use protocol::{ErrorCode, NewRecord, PartitionRange, ProducedRecord, Record, RecordBatch, TopicSummary};
use rskafka::client::partition::{Compression, OffsetAt};
use std::collections::BTreeMap;

/// A topic and partition, as the broker's requests name them.
pub type Tp = (String, i32);

impl Kafka {
    pub async fn list_topics(&self) -> Result<Vec<TopicSummary>> {
        let c = self.client().await?;
        let topics = match c.list_topics().await {
            Ok(t) => t,
            Err(e) => return Err(self.on_rs_error(rs_error("list topics", e)).await),
        };
        let mut out: Vec<TopicSummary> =
            topics.into_iter().map(|t| TopicSummary { topic: t.name, partitions: t.partitions.len() as i32 }).collect();
        out.sort_by(|a, b| a.topic.cmp(&b.topic));
        Ok(out)
    }

    /// The partition count of `topic`, or UNKNOWN_TOPIC_OR_PARTITION.
    pub async fn partitions(&self, topic: &str) -> Result<i32> {
        self.list_topics()
            .await?
            .into_iter()
            .find(|t| t.topic == topic)
            .map(|t| t.partitions)
            .ok_or_else(|| OpError::new(ErrorCode::Kafka, format!("UNKNOWN_TOPIC_OR_PARTITION: topic {topic} does not exist")))
    }

    pub async fn describe_topic(&self, topic: &str) -> Result<Vec<PartitionRange>> {
        let n = self.partitions(topic).await?;
        let mut out = Vec::new();
        for p in 0..n {
            let pc = self.partition(topic, p).await?;
            let log_start = pc.get_offset(OffsetAt::Earliest).await.map_err(|e| rs_error(&format!("{topic}-{p} earliest"), e))?;
            let log_end = pc.get_offset(OffsetAt::Latest).await.map_err(|e| rs_error(&format!("{topic}-{p} latest"), e))?;
            out.push(PartitionRange { partition: p, log_start, log_end });
        }
        Ok(out)
    }

    /// Produces records like the Java client: keyed records by murmur2, unkeyed ones round-robin
    /// per call (the Java client's sticky partitioner is not reproducible either).
    pub async fn produce(&self, topic: &str, records: &[NewRecord], partition: Option<i32>) -> Result<Vec<ProducedRecord>> {
        let n = self.partitions(topic).await?;
        if let Some(p) = partition {
            if !(0..n).contains(&p) {
                return Err(OpError::invalid(format!("partition {p} does not exist: {topic} has {n} partitions")));
            }
        }
        let sticky = self.round_robin.fetch_add(1, std::sync::atomic::Ordering::Relaxed).rem_euclid(n);
        let mut by_partition: BTreeMap<i32, Vec<(usize, Option<String>, String)>> = BTreeMap::new();
        for (i, NewRecord { key, value }) in records.iter().cloned().enumerate() {
            let p = match (partition, &key) {
                (Some(p), _) => p,
                (None, Some(k)) => partition_for_key(k.as_bytes(), n),
                (None, None) => sticky,
            };
            by_partition.entry(p).or_default().push((i, key, value));
        }
        let mut out: Vec<(usize, ProducedRecord)> = Vec::new();
        let now = chrono::Utc::now();
        for (p, recs) in by_partition {
            let pc = self.partition(topic, p).await?;
            let records = recs
                .iter()
                .map(|(_, k, v)| rskafka::record::Record {
                    key: k.as_ref().map(|k| k.as_bytes().to_vec()),
                    value: Some(v.as_bytes().to_vec()),
                    headers: BTreeMap::new(),
                    timestamp: now,
                })
                .collect();
            let offsets =
                pc.produce(records, Compression::NoCompression).await.map_err(|e| rs_error(&format!("produce to {topic}-{p}"), e))?;
            for ((i, key, value), offset) in recs.into_iter().zip(offsets) {
                out.push((i, ProducedRecord { partition: p, offset, key, value }));
            }
        }
        out.sort_by_key(|(i, _)| *i);
        Ok(out.into_iter().map(|(_, r)| r).collect())
    }

    /// Records `[offset, offset + max_records)` of one partition and its high watermark.
    pub async fn fetch(&self, topic: &str, partition: i32, offset: i64, max_records: u32) -> Result<RecordBatch> {
        let pc = self.partition(topic, partition).await?;
        let (records, high_watermark) =
            pc.fetch_records(offset, 1..1_048_576, 50).await.map_err(|e| rs_error(&format!("fetch {topic}-{partition} at {offset}"), e))?;
        let records = records
            .into_iter()
            .filter(|r| r.offset >= offset)
            .take(max_records as usize)
            .map(|r| Record {
                offset: r.offset,
                timestamp: r.record.timestamp.timestamp_millis(),
                key: r.record.key.map(|k| String::from_utf8_lossy(&k).into_owned()),
                value: r.record.value.map(|v| String::from_utf8_lossy(&v).into_owned()).unwrap_or_default(),
            })
            .collect();
        Ok(RecordBatch { topic: topic.to_string(), partition, high_watermark, records })
    }

    /// ListOffsets (read_uncommitted, like the admin client) for many partitions in one request.
    /// `timestamp`: −2 earliest, −1 latest, else the first offset with timestamp ≥ it (`None` if none).
    pub async fn list_offsets_raw(&self, partitions: &[Tp], timestamp: i64) -> Result<BTreeMap<Tp, Option<i64>>> {
        let mut topics: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
        for (t, p) in partitions {
            topics.entry(t.as_str()).or_default().push(*p);
        }
        let req = ListOffsetsRequest::default().with_replica_id(BrokerId(-1)).with_isolation_level(0).with_topics(
            topics
                .iter()
                .map(|(t, ps)| {
                    ListOffsetsTopic::default().with_name(TopicName(StrBytes::from_string(t.to_string()))).with_partitions(
                        ps.iter()
                            .map(|&p| {
                                ListOffsetsPartition::default()
                                    .with_partition_index(p)
                                    .with_current_leader_epoch(-1)
                                    .with_timestamp(timestamp)
                            })
                            .collect(),
                    )
                })
                .collect(),
        );
        let resp: ListOffsetsResponse = self.call(ApiKey::ListOffsets, V_LIST_OFFSETS, &req).await?;
        let mut out = BTreeMap::new();
        for t in resp.topics {
            for p in t.partitions {
                if let Some(e) = wire::error_name(p.error_code) {
                    return Err(OpError::new(ErrorCode::Kafka, format!("ListOffsets {}-{}: {e}", t.name.0, p.partition_index)));
                }
                out.insert((t.name.0.to_string(), p.partition_index), (p.offset >= 0).then_some(p.offset));
            }
        }
        Ok(out)
    }
}
