//! What the runner needs from a Kafka: answers to the engine's requests, the admin tools a scenario
//! uses, and the reads behind `expect` and the status table. The in-memory model is one backend;
//! a real broker (feature `real-kafka`) is the other.

use engine::kafka::{KafkaReply, KafkaRequest};
use engine::offsets::{Offsets, TopicPartition};
use engine::time::Time;
use kafka_model::KafkaModel;

pub trait KafkaBackend {
    /// The engine's request; `None` while Kafka cannot answer yet (ask again after `advance`).
    fn serve(&mut self, req: &KafkaRequest) -> Option<KafkaReply>;
    /// The same, for the engine's request `id`: an asynchronous Kafka (the page's bridge) sends the
    /// request once and answers the same id again when the reply is in.
    fn serve_id(&mut self, _id: u64, req: &KafkaRequest) -> Option<KafkaReply> {
        self.serve(req)
    }
    /// The scenario's clock has reached `now` (a real broker: wait for the wall clock).
    fn advance(&mut self, now: Time);
    /// When a waiting request can next make progress, if Kafka knows.
    fn next_deadline(&self) -> Option<Time>;
    fn produce(&mut self, topic: &str, partition: Option<i32>, key: Option<&str>, value: &str) -> Result<(), String>;
    fn create_topic(&mut self, topic: &str, partitions: i32) -> Result<(), String>;
    fn delete_topic(&mut self, topic: &str) -> Result<(), String>;
    fn add_partitions(&mut self, topic: &str, total: i32) -> Result<(), String>;
    /// `kafka-delete-records`; the new log start.
    fn delete_records(&mut self, tp: &TopicPartition, before: i64) -> Result<i64, String>;
    /// `kafka-consumer-groups --reset-offsets <args>`: what the tool printed, or its error.
    fn reset_offsets(&mut self, args: &str) -> Result<Vec<String>, String>;
    fn group_state(&self, group: &str) -> String;
    fn committed(&self, group: &str) -> Offsets;
    /// Log start and end of a partition that exists.
    fn log_range(&self, tp: &TopicPartition) -> Option<(i64, i64)>;
    fn partitions(&self, topic: &str) -> Option<i32>;
}

impl KafkaBackend for KafkaModel {
    fn serve(&mut self, req: &KafkaRequest) -> Option<KafkaReply> {
        KafkaModel::serve(self, req)
    }
    fn advance(&mut self, now: Time) {
        KafkaModel::advance(self, now)
    }
    fn next_deadline(&self) -> Option<Time> {
        KafkaModel::next_deadline(self)
    }
    fn produce(&mut self, topic: &str, partition: Option<i32>, key: Option<&str>, value: &str) -> Result<(), String> {
        KafkaModel::produce(self, topic, partition, key, value).map(|_| ())
    }
    fn create_topic(&mut self, topic: &str, partitions: i32) -> Result<(), String> {
        KafkaModel::create_topic(self, topic, partitions)
    }
    fn delete_topic(&mut self, topic: &str) -> Result<(), String> {
        KafkaModel::delete_topic(self, topic)
    }
    fn add_partitions(&mut self, topic: &str, total: i32) -> Result<(), String> {
        KafkaModel::add_partitions(self, topic, total)
    }
    fn delete_records(&mut self, tp: &TopicPartition, before: i64) -> Result<i64, String> {
        KafkaModel::delete_records(self, tp, before)
    }
    fn reset_offsets(&mut self, args: &str) -> Result<Vec<String>, String> {
        KafkaModel::reset_offsets(self, args).map(|p| p.lines)
    }
    fn group_state(&self, group: &str) -> String {
        KafkaModel::group_state(self, group).to_string()
    }
    fn committed(&self, group: &str) -> Offsets {
        KafkaModel::committed(self, group)
    }
    fn log_range(&self, tp: &TopicPartition) -> Option<(i64, i64)> {
        self.log(tp).map(|l| (l.log_start, l.log_end()))
    }
    fn partitions(&self, topic: &str) -> Option<i32> {
        KafkaModel::partitions(self, topic)
    }
}
