//! The engine adapter: answers the engine's `KafkaRequest`s (ListOffsets, OffsetFetch, OffsetCommit,
//! Fetch, a subscribed consumer's poll, LeaveGroup) against the broker, as Spark's Java consumer would,
//! and the Structured Streaming source's Admin calls (DescribeTopics, ListTopics, ListOffsets by time).

use crate::data::Tp;
use crate::{rs_error, Kafka, Result};
use engine::kafka::{KafkaError, KafkaReply, KafkaRequest, OffsetSpec, Record as EngineRecord};
use protocol::{ErrorCode, PartitionOffset};
use rskafka::client::partition::OffsetAt;

impl Kafka {
    /// Answers one of the engine's Kafka requests.
    pub async fn engine(&self, req: &KafkaRequest) -> KafkaReply {
        match self.engine_inner(req).await {
            Ok(r) => r,
            Err(e) => KafkaReply::Failed { error: KafkaError::Other(format!("{:?}: {}", e.code, e.message)) },
        }
    }

    async fn engine_inner(&self, req: &KafkaRequest) -> Result<KafkaReply> {
        Ok(match req {
            KafkaRequest::ListOffsets { partitions, spec } => {
                let tps: Vec<Tp> = partitions.iter().map(|tp| (tp.topic.clone(), tp.partition)).collect();
                let ts = match spec {
                    OffsetSpec::Earliest => -2,
                    OffsetSpec::Latest => -1,
                    OffsetSpec::Timestamp(t) => *t,
                };
                let found = self.list_offsets_raw(&tps, ts).await;
                let offsets = partitions
                    .iter()
                    .map(|tp| {
                        let r = match &found {
                            // A time no record reaches is offset −1, as the broker answers it.
                            Ok(m) => match m.get(&(tp.topic.clone(), tp.partition)).copied() {
                                Some(None) if matches!(spec, OffsetSpec::Timestamp(_)) => Ok(-1),
                                found => found.flatten().ok_or(KafkaError::UnknownTopicOrPartition),
                            },
                            Err(e) => Err(kafka_error(&e.message)),
                        };
                        (tp.clone(), r)
                    })
                    .collect();
                KafkaReply::Offsets { offsets }
            }
            KafkaRequest::OffsetFetch { group, partitions } => {
                let committed = self.committed(group).await?;
                KafkaReply::Committed {
                    offsets: partitions.iter().map(|tp| (tp.clone(), committed.get(&(tp.topic.clone(), tp.partition)).copied())).collect(),
                }
            }
            KafkaRequest::OffsetCommit { group, member, offsets } => {
                let offs: Vec<PartitionOffset> = offsets
                    .iter()
                    .map(|(tp, o)| PartitionOffset { topic: tp.topic.clone(), partition: tp.partition, offset: *o })
                    .collect();
                let results = self.commit(group, member.as_ref().map(|(m, g)| (m.as_str(), *g)), &offs).await?;
                let result = match results.into_iter().find_map(|r| r.error) {
                    None => Ok(()),
                    Some(e) => Err(kafka_error(&e)),
                };
                KafkaReply::CommitResult { result }
            }
            KafkaRequest::Fetch { partition, offset, max_records } => {
                let (t, p) = (&partition.topic, partition.partition);
                let pc = self.partition(t, p).await?;
                let log_start = pc.get_offset(OffsetAt::Earliest).await.map_err(|e| rs_error("earliest", e))?;
                match self.fetch(t, p, *offset, (*max_records).clamp(0, u32::MAX as i64) as u32).await {
                    Ok(batch) => KafkaReply::Records {
                        records: batch
                            .records
                            .into_iter()
                            .map(|r| EngineRecord { offset: r.offset, key: r.key, value: r.value, timestamp: r.timestamp })
                            .collect(),
                        log_start_offset: log_start,
                        high_watermark: batch.high_watermark,
                    },
                    Err(e) if e.code == ErrorCode::Kafka => KafkaReply::FetchError { error: kafka_error(&e.message) },
                    Err(e) => return Err(e),
                }
            }
            KafkaRequest::DescribeTopics { topics } => {
                let known = self.list_topics().await?;
                let count = |t: &String| known.iter().find(|k| &k.topic == t).map(|k| k.partitions);
                KafkaReply::Topics { topics: topics.iter().map(|t| (t.clone(), count(t))).collect() }
            }
            // Admin.listTopics leaves out internal topics; Kafka's are the `__`-prefixed ones.
            KafkaRequest::ListTopics => KafkaReply::Topics {
                topics: self
                    .list_topics()
                    .await?
                    .into_iter()
                    .filter(|t| !t.topic.starts_with("__"))
                    .map(|t| (t.topic, Some(t.partitions)))
                    .collect(),
            },
            KafkaRequest::GroupPoll { group, member_id, client_id, topics, session_timeout_ms, .. } => {
                self.group_poll(group, member_id.as_deref(), client_id, topics, *session_timeout_ms).await?
            }
            KafkaRequest::LeaveGroup { group, member_id } => match self.leave_group(group, member_id).await? {
                None => KafkaReply::Left,
                Some(e) => KafkaReply::Failed { error: kafka_error(&e) },
            },
        })
    }
}

/// The engine's error for a Kafka error name found in a message.
pub(crate) fn kafka_error(msg: &str) -> KafkaError {
    for (name, e) in [
        ("UNKNOWN_TOPIC_OR_PARTITION", KafkaError::UnknownTopicOrPartition),
        ("OFFSET_OUT_OF_RANGE", KafkaError::OffsetOutOfRange),
        ("UNKNOWN_MEMBER_ID", KafkaError::UnknownMemberId),
        ("ILLEGAL_GENERATION", KafkaError::IllegalGeneration),
        ("REBALANCE_IN_PROGRESS", KafkaError::RebalanceInProgress),
        ("COORDINATOR_NOT_AVAILABLE", KafkaError::CoordinatorNotAvailable),
    ] {
        if msg.contains(name) {
            return e;
        }
    }
    KafkaError::Other(msg.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_errors_map_to_the_engines() {
        assert_eq!(kafka_error("fetch t-0 at 9: OFFSET_OUT_OF_RANGE"), KafkaError::OffsetOutOfRange);
        assert_eq!(kafka_error("boom"), KafkaError::Other("boom".into()));
    }
}
