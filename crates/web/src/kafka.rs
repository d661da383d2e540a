//! The page's Kafka: the in-memory model (simulation) or a real broker through the bridge, behind
//! the runner's `KafkaBackend`, the reset planner's `ResetView`, and what the panels read.

use crate::live::LiveKafka;
use engine::kafka::{KafkaReply, KafkaRequest};
use engine::offsets::{Offsets, TopicPartition};
use engine::time::Time;
use kafka_model::reset::ResetView;
use kafka_model::{GroupState, KafkaModel};
use scenario::backend::KafkaBackend;

pub enum WebKafka {
    Model(KafkaModel),
    Live(Box<LiveKafka>),
}

/// One offset cell of a lane: what the page knows of the record there.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Record {
        key: Option<String>,
        value: String,
    },
    /// In the log, but its value was never seen by the page (a real topic).
    Unseen,
    Absent,
}

impl WebKafka {
    pub fn live(&self) -> Option<&LiveKafka> {
        match self {
            WebKafka::Live(k) => Some(k),
            WebKafka::Model(_) => None,
        }
    }

    pub fn live_mut(&mut self) -> Option<&mut LiveKafka> {
        match self {
            WebKafka::Live(k) => Some(k),
            WebKafka::Model(_) => None,
        }
    }

    pub fn model(&self) -> Option<&KafkaModel> {
        match self {
            WebKafka::Model(m) => Some(m),
            WebKafka::Live(_) => None,
        }
    }

    pub fn cell(&self, tp: &TopicPartition, offset: i64) -> Cell {
        match self {
            WebKafka::Model(m) => m
                .log(tp)
                .filter(|l| offset >= l.log_start)
                .and_then(|l| l.records.get((offset - l.log_start) as usize))
                .map_or(Cell::Absent, |r| Cell::Record { key: r.key.clone(), value: r.value.clone() }),
            WebKafka::Live(k) => match (k.record(tp, offset), k.log_range(tp)) {
                (Some(r), _) => Cell::Record { key: r.key.clone(), value: r.value.clone() },
                (None, Some((s, e))) if (s..e).contains(&offset) => Cell::Unseen,
                _ => Cell::Absent,
            },
        }
    }

    /// The group's members as `member-id (client-id)`.
    pub fn members(&self, group: &str) -> Vec<String> {
        match self {
            WebKafka::Model(m) => {
                m.groups.get(group).map(|g| g.members.iter().map(|(id, m)| format!("{id} ({})", m.client_id)).collect()).unwrap_or_default()
            }
            WebKafka::Live(k) => k
                .description()
                .map(|d| d.members.iter().map(|m| format!("{} ({})", m.member_id, m.client_id)).collect())
                .unwrap_or_default(),
        }
    }

    /// `__consumer_offsets` records of the group, oldest first, as one line each.
    pub fn offsets_topic_lines(&self) -> Vec<String> {
        match self {
            WebKafka::Model(m) => m.offsets_topic.iter().map(|r| r.describe(|name| name)).collect(),
            WebKafka::Live(k) => k.offsets_topic.iter().map(|r| r.describe(|name| k.page(name))).collect(),
        }
    }
}

impl KafkaBackend for WebKafka {
    fn request(&mut self, id: u64, req: &KafkaRequest) -> Option<KafkaReply> {
        match self {
            WebKafka::Model(m) => KafkaBackend::request(m, id, req),
            WebKafka::Live(k) => k.request(id, req),
        }
    }
    fn completed(&mut self) -> Vec<(u64, KafkaReply)> {
        match self {
            WebKafka::Model(m) => KafkaBackend::completed(m),
            WebKafka::Live(k) => k.completed(),
        }
    }
    fn cancel(&mut self, id: u64) {
        match self {
            WebKafka::Model(m) => KafkaBackend::cancel(m, id),
            WebKafka::Live(k) => k.cancel(id),
        }
    }
    fn advance(&mut self, now: Time) {
        match self {
            WebKafka::Model(m) => KafkaBackend::advance(m, now),
            WebKafka::Live(k) => k.advance(now),
        }
    }
    fn next_deadline(&self) -> Option<Time> {
        match self {
            WebKafka::Model(m) => KafkaBackend::next_deadline(m),
            WebKafka::Live(k) => k.next_deadline(),
        }
    }
    fn produce(&mut self, topic: &str, partition: Option<i32>, key: Option<&str>, value: &str) -> Result<(), String> {
        match self {
            WebKafka::Model(m) => KafkaBackend::produce(m, topic, partition, key, value),
            WebKafka::Live(k) => k.produce(topic, partition, key, value),
        }
    }
    fn create_topic(&mut self, topic: &str, partitions: i32) -> Result<(), String> {
        match self {
            WebKafka::Model(m) => KafkaBackend::create_topic(m, topic, partitions),
            WebKafka::Live(k) => k.create_topic(topic, partitions),
        }
    }
    fn delete_topic(&mut self, topic: &str) -> Result<(), String> {
        match self {
            WebKafka::Model(m) => KafkaBackend::delete_topic(m, topic),
            WebKafka::Live(k) => k.delete_topic(topic),
        }
    }
    fn add_partitions(&mut self, topic: &str, total: i32) -> Result<(), String> {
        match self {
            WebKafka::Model(m) => KafkaBackend::add_partitions(m, topic, total),
            WebKafka::Live(k) => k.add_partitions(topic, total),
        }
    }
    fn delete_records(&mut self, tp: &TopicPartition, before: i64) -> Result<i64, String> {
        match self {
            WebKafka::Model(m) => KafkaBackend::delete_records(m, tp, before),
            WebKafka::Live(k) => k.delete_records(tp, before),
        }
    }
    fn reset_offsets(&mut self, args: &str) -> Result<Vec<String>, String> {
        match self {
            WebKafka::Model(m) => KafkaBackend::reset_offsets(m, args),
            WebKafka::Live(k) => k.reset_offsets(args),
        }
    }
    fn group_state(&self, group: &str) -> Result<GroupState, String> {
        match self {
            WebKafka::Model(m) => KafkaBackend::group_state(m, group),
            WebKafka::Live(k) => KafkaBackend::group_state(k.as_ref(), group),
        }
    }
    fn committed(&self, group: &str) -> Offsets {
        match self {
            WebKafka::Model(m) => KafkaBackend::committed(m, group),
            WebKafka::Live(k) => KafkaBackend::committed(k.as_ref(), group),
        }
    }
    fn log_range(&self, tp: &TopicPartition) -> Option<(i64, i64)> {
        match self {
            WebKafka::Model(m) => KafkaBackend::log_range(m, tp),
            WebKafka::Live(k) => k.log_range(tp),
        }
    }
    fn partitions(&self, topic: &str) -> Option<i32> {
        match self {
            WebKafka::Model(m) => KafkaBackend::partitions(m, topic),
            WebKafka::Live(k) => KafkaBackend::partitions(k.as_ref(), topic),
        }
    }
}

impl ResetView for WebKafka {
    fn group_state(&self, group: &str) -> GroupState {
        self.view().group_state(group)
    }
    fn committed(&self, group: &str) -> Offsets {
        self.view().committed(group)
    }
    fn partitions(&self, topic: &str) -> Option<i32> {
        self.view().partitions(topic)
    }
    fn log_start(&self, tp: &TopicPartition) -> Option<i64> {
        self.view().log_start(tp)
    }
    fn log_end(&self, tp: &TopicPartition) -> Option<i64> {
        self.view().log_end(tp)
    }
    fn offset_for_time(&self, tp: &TopicPartition, ts: i64) -> Option<i64> {
        self.view().offset_for_time(tp, ts)
    }
    fn now_ms(&self) -> i64 {
        self.view().now_ms()
    }
}

impl WebKafka {
    fn view(&self) -> &dyn ResetView {
        match self {
            WebKafka::Model(m) => m,
            WebKafka::Live(k) => k.as_ref(),
        }
    }
}
