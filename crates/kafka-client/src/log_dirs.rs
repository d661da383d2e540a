//! What a topic costs on the broker's disk, and topics made with their own configs: DescribeLogDirs
//! (`kafka-log-dirs --describe`, the size of every partition's log in bytes) and CreateTopics with
//! topic configs (`kafka-topics --create --config k=v`; rskafka's create always sends none).

use crate::{wire, Kafka, OpError, Result};
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::describe_log_dirs_request::DescribableLogDirTopic;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use protocol::ErrorCode;
use std::collections::BTreeMap;

const V_DESCRIBE_LOG_DIRS: i16 = 4;
const V_CREATE_TOPICS: i16 = 7;

impl Kafka {
    /// The bytes on the broker's disk of each partition of `topics` (summed over its log dirs), as
    /// `kafka-log-dirs --describe --topic-list` reports them. A topic the broker does not hold is absent.
    pub async fn log_dir_sizes(&self, topics: &[String]) -> Result<BTreeMap<(String, i32), u64>> {
        if topics.is_empty() {
            return Ok(BTreeMap::new());
        }
        let mut wanted = Vec::new();
        for t in self.list_topics().await?.into_iter().filter(|t| topics.contains(&t.topic)) {
            wanted.push(
                DescribableLogDirTopic::default()
                    .with_topic(TopicName(StrBytes::from_string(t.topic.clone())))
                    .with_partitions((0..t.partitions).collect()),
            );
        }
        if wanted.is_empty() {
            return Ok(BTreeMap::new());
        }
        let req = DescribeLogDirsRequest::default().with_topics(Some(wanted));
        let resp: DescribeLogDirsResponse = self.call(ApiKey::DescribeLogDirs, V_DESCRIBE_LOG_DIRS, &req).await?;
        if let Some(e) = wire::error_name(resp.error_code) {
            return Err(OpError::new(ErrorCode::Kafka, format!("DescribeLogDirs: {e}")));
        }
        let mut sizes = BTreeMap::new();
        for dir in resp.results {
            if let Some(e) = wire::error_name(dir.error_code) {
                return Err(OpError::new(ErrorCode::Kafka, format!("DescribeLogDirs {}: {e}", dir.log_dir)));
            }
            for t in dir.topics {
                for p in t.partitions.into_iter().filter(|p| !p.is_future_key) {
                    *sizes.entry((t.name.0.to_string(), p.partition_index)).or_default() += p.partition_size.max(0) as u64;
                }
            }
        }
        Ok(sizes)
    }

    /// `kafka-topics --create --partitions N --config k=v…` (replication factor 1): CreateTopics with
    /// the topic's own configs, then waits until metadata lists it, as [`Kafka::create_topic`] does.
    pub async fn create_topic_with_configs(&self, topic: &str, partitions: i32, configs: &[(String, String)]) -> Result<()> {
        if !(1..=1000).contains(&partitions) {
            return Err(OpError::invalid(format!("partitions must be 1..=1000, got {partitions}")));
        }
        let configs = configs
            .iter()
            .map(|(k, v)| {
                CreatableTopicConfig::default()
                    .with_name(StrBytes::from_string(k.clone()))
                    .with_value(Some(StrBytes::from_string(v.clone())))
            })
            .collect();
        let req = CreateTopicsRequest::default()
            .with_topics(vec![CreatableTopic::default()
                .with_name(TopicName(StrBytes::from_string(topic.to_string())))
                .with_num_partitions(partitions)
                .with_replication_factor(1)
                .with_configs(configs)])
            .with_timeout_ms(10_000);
        let resp: CreateTopicsResponse = self.call(ApiKey::CreateTopics, V_CREATE_TOPICS, &req).await?;
        for r in resp.topics {
            if let Some(e) = wire::error_name(r.error_code) {
                let detail = r.error_message.map(|m| format!(" ({m})")).unwrap_or_default();
                return Err(OpError::new(ErrorCode::Kafka, format!("create topic {topic}: {e}{detail}")));
            }
        }
        self.await_metadata(topic, true).await
    }
}
