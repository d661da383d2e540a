//! Tests only: a bridge over the Kafka model, answering the page's frames as the real bridge's
//! protocol does, either at once or late and out of order (the real bridge answers a connection's
//! requests concurrently, so replies overtake each other).

use crate::session::Session;
use engine::offsets::TopicPartition;
use engine::storage::MemoryStorage;
use engine::time::Time;
use kafka_model::KafkaModel;
use protocol::{GroupDescription, Op, PartitionRange, Reply, Request, Response};

/// The bridge's Kafka (the model) and the lab's checkpoint folder.
#[derive(Default)]
pub struct TestBridge {
    pub model: KafkaModel,
    pub disk: MemoryStorage,
    /// Frames taken from the page, not answered yet: (due, request).
    pending: Vec<(i64, Request)>,
    /// xorshift state for the delays and the order.
    seed: u64,
    /// The longest delay of a reply, in ms (0: every frame answered at once, in order).
    pub max_delay_ms: i64,
}

impl TestBridge {
    pub fn with_delays(seed: u64, max_delay_ms: i64) -> Self {
        TestBridge { seed: seed.max(1), max_delay_ms, ..TestBridge::default() }
    }

    fn next(&mut self) -> u64 {
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 7;
        self.seed ^= self.seed << 17;
        self.seed
    }

    /// Answers every frame at once, in order, until the page sends none; how many engine requests it answered.
    pub fn answer_all(&mut self, s: &mut Session, now: i64) -> usize {
        let mut engine = 0;
        loop {
            let frames = s.take_frames();
            if frames.is_empty() {
                return engine;
            }
            for f in frames {
                let r: Request = serde_json::from_str(&f).expect("the page sends protocol frames");
                engine += usize::from(matches!(r.op, Op::Engine { .. }));
                if let Some(reply) = self.serve(r, now) {
                    s.handle_frame(&reply.to_json(), now).expect("a live session reads the bridge's frames");
                }
            }
        }
    }

    /// Takes the page's frames, and hands it the replies that are due at `now`, in a random order.
    pub fn exchange(&mut self, s: &mut Session, now: i64) {
        for f in s.take_frames() {
            let r: Request = serde_json::from_str(&f).expect("the page sends protocol frames");
            let delay = if self.max_delay_ms > 0 { (self.next() % self.max_delay_ms as u64) as i64 } else { 0 };
            self.pending.push((now + delay, r));
        }
        let (mut due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.pending).into_iter().partition(|(d, _)| *d <= now);
        self.pending = later;
        for i in (1..due.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            due.swap(i, j);
        }
        for (_, r) in due {
            if let Some(reply) = self.serve(r, now) {
                s.handle_frame(&reply.to_json(), now).expect("a live session reads the bridge's frames");
            }
        }
        // A JoinGroup the model held completes when the group can answer it (held by frame id).
        self.model.advance(Time(now));
        for (id, kafka) in self.model.completed() {
            s.handle_frame(&Response::new(Some(id), Reply::Engine { kafka }).to_json(), now)
                .expect("a live session reads the bridge's frames");
        }
    }

    /// The bridge's answer to one request (none for a watch, which only pushes, or a held JoinGroup).
    pub fn serve(&mut self, r: Request, now: i64) -> Option<Response> {
        self.model.advance(Time(now));
        let model = &mut self.model;
        let error = |message: String| Reply::Error { code: protocol::ErrorCode::Kafka, message };
        let reply = match r.op {
            Op::Engine { request } => Reply::Engine { kafka: model.request(r.id, &request)? },
            Op::Storage { request } => Reply::Storage { storage: engine::storage::serve(&mut self.disk, &request) },
            Op::CheckpointFiles { dir } => {
                let prefix = format!("{dir}/");
                let files = self
                    .disk
                    .files
                    .iter()
                    .filter(|(p, _)| p.starts_with(&prefix))
                    .map(|(p, b)| protocol::StoredFile { path: p.clone(), bytes: b.len() as u64 })
                    .collect();
                Reply::CheckpointFiles { dir, files }
            }
            Op::CreateTopic { topic, partitions } => match model.create_topic(&topic, partitions) {
                Ok(()) => Reply::TopicCreated { topic, partitions },
                Err(e) => error(e),
            },
            Op::DeleteTopic { topic } => match model.delete_topic(&topic) {
                Ok(()) => Reply::TopicDeleted { topic },
                Err(e) => error(e),
            },
            Op::DescribeTopic { topic } if model.partitions(&topic).is_none() => error(format!("UNKNOWN_TOPIC_OR_PARTITION: {topic}")),
            Op::DescribeTopic { topic } => {
                let partitions = (0..model.partitions(&topic).unwrap_or(0))
                    .map(|p| {
                        let l = model.log(&TopicPartition::new(topic.clone(), p)).expect("a partition of the topic");
                        PartitionRange { partition: p, log_start: l.log_start, log_end: l.log_end() }
                    })
                    .collect();
                Reply::Topic { topic, partitions }
            }
            Op::DescribeGroup { group } => Reply::Group {
                group: GroupDescription {
                    state: model.group_state(&group),
                    offsets: model
                        .committed(&group)
                        .iter()
                        .map(|(tp, o)| protocol::GroupOffset {
                            topic: tp.topic.clone(),
                            partition: tp.partition,
                            committed: Some(*o),
                            log_end: None,
                            lag: None,
                            member_id: None,
                        })
                        .collect(),
                    group,
                    protocol_type: "consumer".into(),
                    protocol: "range".into(),
                    members: vec![],
                },
            },
            Op::CommitOffsets { group, offsets } => {
                let list: Vec<_> = offsets.iter().map(|o| (TopicPartition::new(o.topic.clone(), o.partition), o.offset)).collect();
                let e = model.commit(&group, None, &list).err().map(|e| format!("{e:?}"));
                let results = offsets
                    .iter()
                    .map(|o| protocol::CommitResult { topic: o.topic.clone(), partition: o.partition, error: e.clone() })
                    .collect();
                Reply::Committed { group, results }
            }
            Op::Produce { topic, records, partition } => {
                let mut out = Vec::new();
                for rec in records {
                    match model.produce(&topic, partition, rec.key.as_deref(), &rec.value) {
                        Ok(tp) => {
                            let offset = model.log(&tp).expect("produced to it").log_end() - 1;
                            out.push(protocol::ProducedRecord { partition: tp.partition, offset, key: rec.key, value: rec.value });
                        }
                        Err(e) => return Some(Response::new(Some(r.id), error(e))),
                    }
                }
                Reply::Produced { topic, records: out }
            }
            Op::WatchOffsetsTopic { .. } | Op::Watch { .. } => return None,
            Op::LabStatus { .. } => Reply::LabStatusStored {},
            other => panic!("the test bridge does not serve {other:?}"),
        };
        Some(Response::new(Some(r.id), reply))
    }
}
