//! What the runner needs from a Kafka: answers to the engine's requests, the admin tools a scenario
//! uses, and the reads behind `expect` and the status table. The in-memory model is one backend;
//! a real broker (feature `real-kafka`) is the other.

use engine::kafka::{KafkaReply, KafkaRequest};
use engine::offsets::{Offsets, TopicPartition};
use engine::time::Time;
use kafka_model::{GroupState, KafkaModel};

/// A Kafka answers each request exactly once: now, as the return value of [`KafkaBackend::request`],
/// or later. Later comes either from [`KafkaBackend::completed`] (a Kafka that answers as its own
/// time passes: the model's coordinator holding a JoinGroup) or, for an asynchronous Kafka (the
/// page's bridge), through `Run::deliver` when the session receives the reply.
pub trait KafkaBackend {
    /// Request `id` (the engine's request id, or one the run gives a console consumer's request):
    /// the reply now, or `None` when it comes later.
    fn request(&mut self, id: u64, req: &KafkaRequest) -> Option<KafkaReply>;
    /// Replies to earlier requests that Kafka's own progress has completed, each handed out once.
    fn completed(&mut self) -> Vec<(u64, KafkaReply)> {
        Vec::new()
    }
    /// Nobody waits for request `id` any more (a console consumer stopped): it is never answered.
    fn cancel(&mut self, id: u64);
    /// The scenario's clock has reached `now` (a real broker: wait for the wall clock).
    fn advance(&mut self, now: Time);
    /// When a request Kafka holds can next make progress, if Kafka knows.
    fn next_deadline(&self) -> Option<Time>;
    fn produce(&mut self, topic: &str, partition: Option<i32>, key: Option<&str>, value: &str) -> Result<(), String>;
    fn create_topic(&mut self, topic: &str, partitions: i32) -> Result<(), String>;
    fn delete_topic(&mut self, topic: &str) -> Result<(), String>;
    fn add_partitions(&mut self, topic: &str, total: i32) -> Result<(), String>;
    /// `kafka-delete-records`; the new log start.
    fn delete_records(&mut self, tp: &TopicPartition, before: i64) -> Result<i64, String>;
    /// `kafka-consumer-groups --reset-offsets <args>`: what the tool printed, or its error.
    fn reset_offsets(&mut self, args: &str) -> Result<Vec<String>, String>;
    /// The group's state, or why it could not be read.
    fn group_state(&self, group: &str) -> Result<GroupState, String>;
    fn committed(&self, group: &str) -> Offsets;
    /// Log start and end of a partition that exists.
    fn log_range(&self, tp: &TopicPartition) -> Option<(i64, i64)>;
    fn partitions(&self, topic: &str) -> Option<i32>;
}

impl KafkaBackend for KafkaModel {
    fn request(&mut self, id: u64, req: &KafkaRequest) -> Option<KafkaReply> {
        KafkaModel::request(self, id, req)
    }
    fn completed(&mut self) -> Vec<(u64, KafkaReply)> {
        KafkaModel::completed(self)
    }
    fn cancel(&mut self, id: u64) {
        KafkaModel::cancel(self, id)
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
    fn group_state(&self, group: &str) -> Result<GroupState, String> {
        Ok(KafkaModel::group_state(self, group))
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
