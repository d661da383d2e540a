//! A real Apache Kafka behind the runner (feature `real-kafka`): `kafka_client` on a private
//! tokio runtime. Scenario time is played in real time: `advance` waits for the wall clock.

use crate::backend::KafkaBackend;
use engine::kafka::{KafkaReply, KafkaRequest};
use engine::offsets::{Offsets, TopicPartition};
use engine::time::Time;
use kafka_client::{Kafka, NewRecord};
use kafka_model::GroupState;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub struct RealKafka {
    rt: tokio::runtime::Runtime,
    kafka: Kafka,
    /// Scenario time minus wall time, fixed at the first `advance`.
    offset_ms: Option<i64>,
}

fn wall_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

impl RealKafka {
    /// Connects, and deletes the scenario's topics if an earlier run left them, so the run starts
    /// from empty logs and groups without offsets.
    /// An earlier run's driver may still be a member of `group`; the run waits (up to a session
    /// timeout) until it is gone, so a JoinGroup does not have to.
    pub fn connect(bootstrap: &str, topics: &[String], group: Option<&str>) -> Result<RealKafka, String> {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
        let kafka = Kafka::new(bootstrap);
        rt.block_on(kafka.ping()).map_err(|e| format!("Kafka at {bootstrap} is not reachable: {e}"))?;
        let k = RealKafka { rt, kafka, offset_ms: None };
        for t in topics {
            if k.partitions(t).is_some() {
                k.rt.block_on(k.kafka.delete_topic(t)).map_err(|e| e.message)?;
                k.wait_for(|k| k.partitions(t).is_none(), &format!("topic {t} to be deleted"))?;
            }
        }
        if let Some(g) = group {
            let started = std::time::Instant::now();
            while !matches!(k.group_state(g), Ok(GroupState::Empty | GroupState::Dead)) && started.elapsed() < Duration::from_secs(60) {
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        Ok(k)
    }

    fn wait_for(&self, done: impl Fn(&RealKafka) -> bool, what: &str) -> Result<(), String> {
        for _ in 0..100 {
            if done(self) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(format!("timed out waiting for {what}"))
    }
}

impl KafkaBackend for RealKafka {
    /// Answered now: the runner waits for the broker.
    fn request(&mut self, _id: u64, req: &KafkaRequest) -> Option<KafkaReply> {
        Some(self.rt.block_on(self.kafka.engine(req)))
    }

    fn cancel(&mut self, _id: u64) {}

    fn advance(&mut self, now: Time) {
        let offset = *self.offset_ms.get_or_insert_with(|| now.ms() - wall_ms());
        let wait = now.ms() - offset - wall_ms();
        if wait > 0 {
            std::thread::sleep(Duration::from_millis(wait as u64));
        }
    }

    fn next_deadline(&self) -> Option<Time> {
        None
    }

    fn produce(&mut self, topic: &str, partition: Option<i32>, key: Option<&str>, value: &str) -> Result<(), String> {
        let record = NewRecord::new(key, value);
        self.rt.block_on(self.kafka.produce(topic, &[record], partition)).map(|_| ()).map_err(|e| e.message)
    }

    fn create_topic(&mut self, topic: &str, partitions: i32) -> Result<(), String> {
        self.rt.block_on(self.kafka.create_topic(topic, partitions)).map_err(|e| e.message)?;
        // Created is not yet served: wait until every partition has a leader that answers ListOffsets.
        let ready = |k: &RealKafka| (0..partitions).all(|p| k.log_range(&TopicPartition::new(topic, p)).is_some());
        self.wait_for(ready, &format!("topic {topic} to be created and served"))
    }

    fn delete_topic(&mut self, topic: &str) -> Result<(), String> {
        self.rt.block_on(self.kafka.delete_topic(topic)).map_err(|e| e.message)?;
        self.wait_for(|k| k.partitions(topic).is_none(), &format!("topic {topic} to be deleted"))
    }

    fn add_partitions(&mut self, topic: &str, total: i32) -> Result<(), String> {
        self.rt.block_on(self.kafka.add_partitions(topic, total)).map_err(|e| e.message)?;
        let ready = |k: &RealKafka| (0..total).all(|p| k.log_range(&TopicPartition::new(topic, p)).is_some());
        self.wait_for(ready, &format!("the {total} partitions of {topic} to be served"))
    }

    fn delete_records(&mut self, tp: &TopicPartition, before: i64) -> Result<i64, String> {
        self.rt.block_on(self.kafka.delete_records(&tp.topic, tp.partition, before)).map_err(|e| e.message)
    }

    /// The same planner as the in-memory model's, over facts read from the broker (`kafka_client::admin`).
    fn reset_offsets(&mut self, args: &str) -> Result<Vec<String>, String> {
        self.rt.block_on(self.kafka.reset_offsets(args, wall_ms())).map(|plan| plan.lines)
    }

    fn group_state(&self, group: &str) -> Result<GroupState, String> {
        self.rt.block_on(self.kafka.describe_group(group)).map(|d| d.state).map_err(|e| e.message)
    }

    fn committed(&self, group: &str) -> Offsets {
        self.rt
            .block_on(self.kafka.committed(group))
            .map(|m| m.into_iter().map(|((t, p), o)| (TopicPartition::new(t, p), o)).collect())
            .unwrap_or_default()
    }

    fn log_range(&self, tp: &TopicPartition) -> Option<(i64, i64)> {
        let parts = self.rt.block_on(self.kafka.describe_topic(&tp.topic)).ok()?;
        parts.into_iter().find(|p| p.partition == tp.partition).map(|p| (p.log_start, p.log_end))
    }

    fn partitions(&self, topic: &str) -> Option<i32> {
        self.rt.block_on(self.kafka.partitions(topic)).ok()
    }
}
