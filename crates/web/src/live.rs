//! The page's real Kafka: the bridge's websocket, seen by the runner as a [`KafkaBackend`].
//!
//! - The run's Kafka requests (the engine's, a console consumer's) go out as `engine` frames, all at
//!   once, each sent once; [`LiveKafka::handle_response`] turns its reply frame into the reply for
//!   the request's id, which the session delivers to the run.
//! - Tools (produce, topics, delete-records, the reset's commit) go out one at a time, in order: the
//!   bridge runs concurrent requests concurrently, and "delete the topic, then create it" must not
//!   overtake. (Checkpoint files travel through their own storage, `bridge_storage.rs`.)
//! - Facts (log start/end, the group, `__consumer_offsets`) are polled or pushed and cached; the
//!   runner's status, the rewind planner and the walkthrough's checks read the cache.
//!
//! Names stay the page's (`words`, `g`); on the wire they carry the connection's namespace prefix.
//! Plain Rust: tested natively by feeding it frames.

use engine::kafka::{KafkaError, KafkaReply, KafkaRequest};
use engine::offsets::{Offsets, TopicPartition};
use engine::time::Time;
use kafka_model::reset::{self, ResetView};
use kafka_model::GroupState;
use protocol::{
    GroupDescription, KafkaState, NewRecord, OffsetsTopicRecord, Op, PartitionOffset, PartitionRange, Reply, Request, Response,
};
use scenario::backend::KafkaBackend;
use std::collections::{BTreeMap, VecDeque};

/// Facts are asked for again after this long (real ms).
pub const FACTS_EVERY_MS: i64 = 1_000;
/// Lines per produce frame: well under the bridge's 256 KiB frame limit for short records.
const PRODUCE_CHUNK: usize = 1_000;
/// Records remembered per partition for the lanes' cells.
const VALUES_KEPT: usize = 64;
const OFFSETS_TOPIC_KEPT: usize = 200;

#[derive(Clone, Debug, PartialEq)]
enum Pending {
    /// The run's request `id`; a Fetch names its (page) partition, whose records the page remembers.
    Kafka {
        id: u64,
        fetch: Option<TopicPartition>,
    },
    /// Nobody waits for this reply any more.
    Cancelled,
    /// A tool request of the ordered queue; the text names it in error notes.
    Ordered(String),
    Topic(String),
    /// A resumed lab's topic (wire name) is looked up before it is created: it is usually there.
    Ensure(String),
    Group,
    Other,
}

/// A value seen in a partition: key, value, timestamp (when known).
#[derive(Clone, Debug, PartialEq)]
pub struct SeenRecord {
    pub key: Option<String>,
    pub value: String,
    pub timestamp: Option<i64>,
}

pub struct LiveKafka {
    /// The connection's prefix (`lab-<hex>-`), empty when the bridge runs without namespaces.
    pub ns: String,
    pub kafka: KafkaState,
    /// False once the websocket closed: requests then fail at once, as with a lost connection.
    pub connected: bool,
    topic: String,
    group: String,
    next_id: u64,
    outbox: Vec<Request>,
    inflight: BTreeMap<u64, Pending>,
    /// The run's requests held back while a topic settles, sent when it has.
    held: Vec<(u64, KafkaRequest)>,
    ordered: VecDeque<Op>,
    ordered_busy: bool,
    topics: BTreeMap<String, Vec<PartitionRange>>,
    described: Option<GroupDescription>,
    pub offsets_topic: Vec<OffsetsTopicRecord>,
    values: BTreeMap<TopicPartition, BTreeMap<i64, SeenRecord>>,
    /// What arrived that the user should read (tool errors, refusals), drained by the session.
    pub notes: Vec<String>,
    last_poll: Option<i64>,
    /// When the newest complete round of facts was asked for (real ms).
    pub facts_asked_at: Option<i64>,
    round: Option<(i64, u8)>,
    now: i64,
    /// A topic is being created or deleted: the engine's requests wait until a round of facts asked
    /// after the bridge's answer (`Some(t)`: answered at t) shows the new topic, so a JoinGroup never
    /// sees a half-made topic (the bridge's group assignment is fixed until the next rebalance).
    settling: Option<Option<i64>>,
    /// Set while a resumed lab's run is built: its topics are looked up, and created only if missing.
    pub resumed: bool,
    /// Topics (wire names) being looked up, with the partitions to create them with if missing.
    ensure: BTreeMap<String, i32>,
}

impl LiveKafka {
    /// A connection the bridge welcomed with `ns`; `topic` and `group` are the page's names.
    pub fn new(ns: &str, kafka: KafkaState, topic: &str, group: &str) -> LiveKafka {
        let mut k = LiveKafka {
            ns: ns.to_string(),
            kafka,
            connected: true,
            topic: topic.to_string(),
            group: group.to_string(),
            next_id: 1,
            outbox: Vec::new(),
            inflight: BTreeMap::new(),
            held: Vec::new(),
            ordered: VecDeque::new(),
            ordered_busy: false,
            topics: BTreeMap::new(),
            described: None,
            offsets_topic: Vec::new(),
            values: BTreeMap::new(),
            notes: Vec::new(),
            last_poll: None,
            facts_asked_at: None,
            round: None,
            now: 0,
            settling: None,
            resumed: false,
            ensure: BTreeMap::new(),
        };
        let g = k.wire(group);
        k.send(Op::WatchOffsetsTopic { group: g, on: true }, Pending::Other);
        k
    }

    /// A page name as the bridge knows it.
    pub fn wire(&self, name: &str) -> String {
        format!("{}{name}", self.ns)
    }

    /// A bridge name as the page shows it.
    pub fn page<'a>(&self, name: &'a str) -> &'a str {
        name.strip_prefix(self.ns.as_str()).unwrap_or(name)
    }

    fn wire_tp(&self, tp: &TopicPartition) -> TopicPartition {
        TopicPartition::new(self.wire(&tp.topic), tp.partition)
    }

    fn page_tp(&self, tp: &TopicPartition) -> TopicPartition {
        TopicPartition::new(self.page(&tp.topic), tp.partition)
    }

    /// A fresh frame id: this connection's frames, whoever sends them, never share one.
    pub fn fresh_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    fn send(&mut self, op: Op, pending: Pending) {
        let id = self.fresh_id();
        self.inflight.insert(id, pending);
        self.outbox.push(Request::new(id, op));
    }

    fn send_kafka(&mut self, id: u64, req: &KafkaRequest) {
        let fetch = match req {
            KafkaRequest::Fetch { partition, .. } => Some(partition.clone()),
            _ => None,
        };
        let wire = self.wire_request(req);
        self.send(Op::Engine { request: wire }, Pending::Kafka { id, fetch });
    }

    /// The frames to send now, as JSON text.
    pub fn take_frames(&mut self) -> Vec<String> {
        self.pump_ordered();
        std::mem::take(&mut self.outbox).iter().map(Request::to_json).collect()
    }

    /// Queues a tool request behind the others; consecutive produce requests to the same
    /// place merge into one frame (the 10 000-record button is ten frames, not 10 000).
    pub fn push_ordered(&mut self, op: Op) {
        if let (Some(Op::Produce { topic, records, partition }), Op::Produce { topic: t2, records: r2, partition: p2 }) =
            (self.ordered.back_mut(), &op)
        {
            if topic == t2 && partition == p2 && records.len() + r2.len() <= PRODUCE_CHUNK {
                records.extend(r2.iter().cloned());
                return;
            }
        }
        self.ordered.push_back(op);
    }

    fn pump_ordered(&mut self) {
        if self.ordered_busy || !self.connected {
            return;
        }
        if let Some(op) = self.ordered.pop_front() {
            let pending = match &op {
                Op::DescribeTopic { topic } if self.ensure.contains_key(topic) => Pending::Ensure(topic.clone()),
                _ => Pending::Ordered(describe_op(&op)),
            };
            self.ordered_busy = true;
            self.send(op, pending);
        }
    }

    /// Requests not answered yet (the run's and the tools'), for the page's status line.
    pub fn waiting(&self) -> usize {
        self.inflight.values().filter(|p| matches!(p, Pending::Kafka { .. } | Pending::Ordered(_))).count()
            + self.ordered.len()
            + self.held.len()
    }

    /// Asks for fresh facts when the last round is older than [`FACTS_EVERY_MS`].
    pub fn poll_facts(&mut self, now_ms: i64) {
        self.now = now_ms;
        if !self.connected || self.round.is_some() || self.last_poll.is_some_and(|t| now_ms - t < FACTS_EVERY_MS) {
            return;
        }
        self.last_poll = Some(now_ms);
        self.round = Some((now_ms, 2));
        let (t, g) = (self.wire(&self.topic), self.wire(&self.group));
        self.send(Op::DescribeTopic { topic: t.clone() }, Pending::Topic(self.topic.clone()));
        self.send(Op::DescribeGroup { group: g }, Pending::Group);
    }

    fn fact_in(&mut self) {
        if let Some((asked, left)) = self.round {
            if left <= 1 {
                self.round = None;
                self.facts_asked_at = Some(asked);
                if matches!(self.settling, Some(Some(answered)) if asked >= answered) {
                    self.settling = None;
                    for (id, req) in std::mem::take(&mut self.held) {
                        self.send_kafka(id, &req);
                    }
                }
            } else {
                self.round = Some((asked, left - 1));
            }
        }
    }

    /// The websocket closed: the run's requests that wait fail now (their replies, to deliver), later
    /// ones fail at once.
    #[must_use = "the failed replies go to the run"]
    pub fn disconnected(&mut self, why: &str) -> Vec<(u64, KafkaReply)> {
        self.connected = false;
        self.kafka = KafkaState { up: false, bootstrap: self.kafka.bootstrap.clone(), detail: Some(why.to_string()) };
        let failed = || KafkaReply::Failed { error: KafkaError::Other(format!("connection to the bridge lost: {why}")) };
        let mut out: Vec<(u64, KafkaReply)> = std::mem::take(&mut self.inflight)
            .into_values()
            .filter_map(|p| match p {
                Pending::Kafka { id, .. } => Some((id, failed())),
                _ => None,
            })
            .collect();
        out.extend(std::mem::take(&mut self.held).into_iter().map(|(id, _)| (id, failed())));
        out.sort_by_key(|(id, _)| *id);
        self.ordered_busy = false;
        self.round = None;
        out
    }

    /// The websocket is open again: `hello` (the page's: it holds the lab's secret) takes this lab
    /// back before anything else is sent, and the group's `__consumer_offsets` watch is renewed. What
    /// was queued for the lost connection was failed by [`LiveKafka::disconnected`] and is dropped.
    pub fn reconnected(&mut self, hello: Op) {
        self.connected = true;
        self.outbox.clear();
        self.send(hello, Pending::Other);
        let g = self.wire(&self.group);
        self.send(Op::WatchOffsetsTopic { group: g, on: true }, Pending::Other);
    }

    /// Whether [`LiveKafka::take_frames`] has something to send.
    pub fn has_frames(&self) -> bool {
        !self.outbox.is_empty() || (self.connected && !self.ordered_busy && !self.ordered.is_empty())
    }

    /// A frame's text as the protocol's reply or push, or why it is not one.
    pub fn parse_frame(text: &str) -> Result<Response, String> {
        serde_json::from_str(text).map_err(|e| format!("the bridge sent a frame this page cannot read: {e}"))
    }

    /// One frame from the bridge, as text: [`LiveKafka::handle_response`] of it.
    pub fn handle_frame(&mut self, text: &str) -> Result<Option<(u64, KafkaReply)>, String> {
        Ok(self.handle_response(LiveKafka::parse_frame(text)?))
    }

    /// One reply or push from the bridge; the reply to one of the run's requests comes back with the
    /// request's id, for the session to deliver.
    pub fn handle_response(&mut self, r: Response) -> Option<(u64, KafkaReply)> {
        let pending = r.id.and_then(|id| self.inflight.remove(&id));
        match (pending, r.reply) {
            (_, Reply::KafkaStatus { kafka }) => self.kafka = kafka,
            (_, Reply::OffsetsTopic { records, .. }) => {
                self.offsets_topic.extend(records);
                let over = self.offsets_topic.len().saturating_sub(OFFSETS_TOPIC_KEPT);
                self.offsets_topic.drain(..over);
            }
            (_, Reply::Welcome { kafka, .. }) => self.kafka = kafka,
            (Some(Pending::Kafka { id, fetch }), reply) => {
                let answer = match reply {
                    Reply::Engine { kafka } => self.page_reply(kafka),
                    Reply::Error { code, message } => KafkaReply::Failed { error: KafkaError::Other(format!("{code:?}: {message}")) },
                    other => KafkaReply::Failed { error: KafkaError::Other(format!("unexpected reply {other:?}")) },
                };
                if let (Some(tp), KafkaReply::Records { records, .. }) = (fetch, &answer) {
                    for r in records {
                        let seen = SeenRecord { key: r.key.clone(), value: r.value.clone(), timestamp: Some(r.timestamp) };
                        self.remember(tp.clone(), r.offset, seen);
                    }
                }
                return Some((id, answer));
            }
            (Some(Pending::Cancelled), _) => {}
            (Some(Pending::Topic(t)), Reply::Topic { partitions, .. }) => {
                self.topics.insert(t, partitions);
                self.fact_in();
            }
            (Some(Pending::Topic(t)), Reply::Error { code, .. }) => {
                // Kafka's own "no such topic"; when Kafka is down the old facts stay.
                if code == protocol::ErrorCode::Kafka {
                    self.topics.remove(&t);
                }
                self.fact_in();
            }
            (Some(Pending::Ensure(topic)), reply) => {
                self.ordered_busy = false;
                let partitions = self.ensure.remove(&topic).unwrap_or(1);
                match reply {
                    Reply::Topic { partitions: ranges, .. } if !ranges.is_empty() => {
                        // There: nothing to create, and nothing to say.
                        self.topics.insert(self.page(&topic).to_string(), ranges);
                        if self.settling == Some(None) {
                            self.settling = Some(Some(self.now));
                        }
                    }
                    // Kafka's "no such topic" (the lab was cleaned while away): made as for a new lab.
                    Reply::Topic { .. } | Reply::Error { code: protocol::ErrorCode::Kafka, .. } => {
                        self.ordered.push_front(Op::CreateTopic { topic, partitions });
                    }
                    other => {
                        self.notes.push(format!("ERROR looking up topic {}: {}", self.page(&topic), error_text(&other)));
                        if self.settling == Some(None) {
                            self.settling = Some(Some(self.now));
                        }
                    }
                }
            }
            (Some(Pending::Group), Reply::Group { group }) => {
                self.described = Some(group);
                self.fact_in();
            }
            (Some(Pending::Group), _) => self.fact_in(),
            (Some(Pending::Ordered(what)), reply) => {
                self.ordered_busy = false;
                if self.settling == Some(None) && (what.starts_with("create topic") || what.starts_with("delete topic")) {
                    self.settling = Some(Some(self.now));
                }
                self.ordered_reply(&what, reply);
            }
            (_, Reply::Error { code, message }) => self.notes.push(format!("bridge: {code:?}: {message}")),
            _ => {}
        }
        None
    }

    fn ordered_reply(&mut self, what: &str, reply: Reply) {
        match reply {
            Reply::Error { message, .. } => self.notes.push(format!("ERROR {what}: {message}")),
            Reply::Produced { topic, records } => {
                let topic = self.page(&topic).to_string();
                for r in records {
                    self.remember(
                        TopicPartition::new(topic.clone(), r.partition),
                        r.offset,
                        SeenRecord { key: r.key, value: r.value, timestamp: None },
                    );
                }
            }
            Reply::Committed { results, .. } => {
                for r in results.into_iter().filter(|r| r.error.is_some()) {
                    self.notes.push(format!("Error: committing {}-{}: {}", self.page(&r.topic), r.partition, r.error.unwrap_or_default()));
                }
            }
            Reply::TopicDeleted { topic } => {
                let t = self.page(&topic).to_string();
                self.topics.remove(&t);
                self.values.retain(|tp, _| tp.topic != t);
            }
            _ => {}
        }
    }

    fn remember(&mut self, tp: TopicPartition, offset: i64, r: SeenRecord) {
        let m = self.values.entry(tp).or_default();
        m.insert(offset, r);
        while m.len() > VALUES_KEPT {
            m.pop_first();
        }
    }

    /// A record's key and value, if the page has seen it (produced it, or the job fetched it).
    pub fn record(&self, tp: &TopicPartition, offset: i64) -> Option<&SeenRecord> {
        self.values.get(tp)?.get(&offset)
    }

    pub fn description(&self) -> Option<&GroupDescription> {
        self.described.as_ref()
    }

    fn page_reply(&mut self, reply: KafkaReply) -> KafkaReply {
        let tps = |k: &LiveKafka, v: Vec<TopicPartition>| v.iter().map(|tp| k.page_tp(tp)).collect();
        match reply {
            KafkaReply::Assignment { member_id, generation, partitions } => {
                KafkaReply::Assignment { member_id, generation, partitions: tps(self, partitions) }
            }
            KafkaReply::Offsets { offsets } => {
                KafkaReply::Offsets { offsets: offsets.into_iter().map(|(tp, o)| (self.page_tp(&tp), o)).collect() }
            }
            KafkaReply::Committed { offsets } => {
                KafkaReply::Committed { offsets: offsets.into_iter().map(|(tp, o)| (self.page_tp(&tp), o)).collect() }
            }
            KafkaReply::Topics { topics } => {
                KafkaReply::Topics { topics: topics.into_iter().map(|(t, n)| (self.page(&t).to_string(), n)).collect() }
            }
            other => other,
        }
    }

    fn wire_request(&self, req: &KafkaRequest) -> KafkaRequest {
        let tps = |v: &[TopicPartition]| v.iter().map(|tp| self.wire_tp(tp)).collect();
        match req.clone() {
            KafkaRequest::GroupPoll { group, member_id, client_id, topics, session_timeout_ms, metadata_max_age_ms } => {
                KafkaRequest::GroupPoll {
                    group: self.wire(&group),
                    member_id,
                    client_id,
                    topics: topics.iter().map(|t| self.wire(t)).collect(),
                    session_timeout_ms,
                    metadata_max_age_ms,
                }
            }
            KafkaRequest::LeaveGroup { group, member_id } => KafkaRequest::LeaveGroup { group: self.wire(&group), member_id },
            KafkaRequest::ListOffsets { partitions, spec } => KafkaRequest::ListOffsets { partitions: tps(&partitions), spec },
            KafkaRequest::OffsetFetch { group, partitions } => {
                KafkaRequest::OffsetFetch { group: self.wire(&group), partitions: tps(&partitions) }
            }
            KafkaRequest::OffsetCommit { group, member, offsets } => KafkaRequest::OffsetCommit {
                group: self.wire(&group),
                member,
                offsets: offsets.iter().map(|(tp, o)| (self.wire_tp(tp), *o)).collect(),
            },
            KafkaRequest::Fetch { partition, offset, max_records } => {
                KafkaRequest::Fetch { partition: self.wire_tp(&partition), offset, max_records }
            }
            KafkaRequest::DescribeTopics { topics } => {
                KafkaRequest::DescribeTopics { topics: topics.iter().map(|t| self.wire(t)).collect() }
            }
            KafkaRequest::ListTopics => KafkaRequest::ListTopics,
        }
    }

    fn range(&self, tp: &TopicPartition) -> Option<PartitionRange> {
        self.topics.get(&tp.topic)?.iter().find(|p| p.partition == tp.partition).copied()
    }
}

/// What a reply says when it is not the expected one.
fn error_text(reply: &Reply) -> String {
    match reply {
        Reply::Error { code, message } => format!("{code:?}: {message}"),
        other => format!("unexpected reply {other:?}"),
    }
}

fn describe_op(op: &Op) -> String {
    match op {
        Op::Produce { records, .. } => format!("produce ({} records)", records.len()),
        Op::CreateTopic { topic, .. } => format!("create topic {topic}"),
        Op::DeleteTopic { topic } => format!("delete topic {topic}"),
        Op::DeleteRecords { topic, partition, .. } => format!("delete records of {topic}-{partition}"),
        Op::CommitOffsets { group, .. } => format!("commit offsets of {group}"),
        other => format!("{other:?}"),
    }
}

impl KafkaBackend for LiveKafka {
    /// Sent once (held back while a topic settles); the reply comes through the session.
    fn request(&mut self, id: u64, req: &KafkaRequest) -> Option<KafkaReply> {
        if !self.connected {
            return Some(KafkaReply::Failed { error: KafkaError::Other("the bridge is not connected".into()) });
        }
        if self.settling.is_some() {
            self.held.push((id, req.clone()));
        } else {
            self.send_kafka(id, req);
        }
        None
    }

    /// A reply already on its way is dropped when it arrives.
    fn cancel(&mut self, id: u64) {
        self.held.retain(|(i, _)| *i != id);
        for p in self.inflight.values_mut() {
            if matches!(p, Pending::Kafka { id: i, .. } if *i == id) {
                *p = Pending::Cancelled;
            }
        }
    }

    fn advance(&mut self, now: Time) {
        self.now = self.now.max(now.ms());
    }

    fn next_deadline(&self) -> Option<Time> {
        None
    }

    fn produce(&mut self, topic: &str, partition: Option<i32>, key: Option<&str>, value: &str) -> Result<(), String> {
        let topic = self.wire(topic);
        self.push_ordered(Op::Produce { topic, records: vec![NewRecord::new(key, value)], partition });
        Ok(())
    }

    fn create_topic(&mut self, topic: &str, partitions: i32) -> Result<(), String> {
        // Shown at once as created; the next facts round (and any error note) tells the truth.
        let ranges = (0..partitions).map(|p| PartitionRange { partition: p, log_start: 0, log_end: 0 }).collect();
        self.topics.insert(topic.to_string(), ranges);
        let topic = self.wire(topic);
        if self.resumed {
            // A resumed lab made its topics before: asking for the metadata spares an "already exists".
            self.ensure.insert(topic.clone(), partitions);
            self.push_ordered(Op::DescribeTopic { topic });
        } else {
            self.push_ordered(Op::CreateTopic { topic, partitions });
        }
        self.settling = Some(None);
        Ok(())
    }

    fn delete_topic(&mut self, topic: &str) -> Result<(), String> {
        self.topics.remove(topic);
        let topic = self.wire(topic);
        self.push_ordered(Op::DeleteTopic { topic });
        self.settling = Some(None);
        Ok(())
    }

    fn add_partitions(&mut self, _topic: &str, _total: i32) -> Result<(), String> {
        Err("adding partitions is not supported through the bridge (it has no CreatePartitions)".into())
    }

    fn delete_records(&mut self, tp: &TopicPartition, before: i64) -> Result<i64, String> {
        // Kafka's own checks, from the cached log end; the bridge's reply has the last word.
        let range = self.range(tp).ok_or_else(|| format!("This server does not host this topic-partition. ({tp})"))?;
        if before > range.log_end || before < 0 {
            return Err(format!(
                "The requested offset {before} is not within the range [0, {}] of {tp} (OFFSET_OUT_OF_RANGE)",
                range.log_end
            ));
        }
        let topic = self.wire(&tp.topic);
        self.push_ordered(Op::DeleteRecords { topic, partition: tp.partition, before_offset: before });
        Ok(before.max(range.log_start))
    }

    /// The tool's plan from the cached facts (the same planner as the model's and the real-Kafka
    /// runner's); `--execute` commits with generation −1, as the admin client does.
    fn reset_offsets(&mut self, args: &str) -> Result<Vec<String>, String> {
        let parsed = reset::parse_args(args)?;
        let plan = reset::plan(&parsed, self)?;
        if plan.execute {
            let offsets = plan
                .offsets
                .iter()
                .map(|(tp, o)| PartitionOffset { topic: self.wire(&tp.topic), partition: tp.partition, offset: *o })
                .collect();
            let group = self.wire(&parsed.group);
            self.push_ordered(Op::CommitOffsets { group, offsets });
        }
        Ok(plan.lines)
    }

    fn group_state(&self, group: &str) -> Result<GroupState, String> {
        Ok(ResetView::group_state(self, group))
    }

    fn committed(&self, group: &str) -> Offsets {
        match &self.described {
            Some(d) if self.page(&d.group) == group => {
                d.offsets.iter().filter_map(|o| Some((TopicPartition::new(self.page(&o.topic), o.partition), o.committed?))).collect()
            }
            _ => Offsets::new(),
        }
    }

    fn log_range(&self, tp: &TopicPartition) -> Option<(i64, i64)> {
        self.range(tp).map(|r| (r.log_start, r.log_end))
    }

    fn partitions(&self, topic: &str) -> Option<i32> {
        self.topics.get(topic).map(|p| p.len() as i32)
    }
}

impl ResetView for LiveKafka {
    /// From the newest description; a group never described is Dead, as Kafka reports one it does not know.
    fn group_state(&self, group: &str) -> GroupState {
        match &self.described {
            Some(d) if self.page(&d.group) == group => d.state,
            _ => GroupState::Dead,
        }
    }
    fn committed(&self, group: &str) -> Offsets {
        KafkaBackend::committed(self, group)
    }
    fn partitions(&self, topic: &str) -> Option<i32> {
        KafkaBackend::partitions(self, topic)
    }
    fn log_start(&self, tp: &TopicPartition) -> Option<i64> {
        self.range(tp).map(|r| r.log_start)
    }
    fn log_end(&self, tp: &TopicPartition) -> Option<i64> {
        self.range(tp).map(|r| r.log_end)
    }
    /// From the records the page has seen with their timestamps (the ones the job fetched).
    fn offset_for_time(&self, tp: &TopicPartition, ts: i64) -> Option<i64> {
        self.values.get(tp)?.iter().find(|(_, r)| r.timestamp.is_some_and(|t| t >= ts)).map(|(o, _)| *o)
    }
    fn now_ms(&self) -> i64 {
        self.now
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::{GroupOffset, ProducedRecord};

    fn live() -> LiveKafka {
        let state = KafkaState { up: true, bootstrap: "127.0.0.1:9092".into(), detail: None };
        let mut k = LiveKafka::new("lab-0123456789ab-", state, "words", "g");
        k.take_frames();
        k
    }

    fn sent(k: &mut LiveKafka) -> Vec<Request> {
        k.take_frames().iter().map(|f| serde_json::from_str(f).unwrap()).collect()
    }

    /// The bridge's reply to frame `id`; what the session would deliver to the run.
    fn answer(k: &mut LiveKafka, id: u64, reply: Reply) -> Option<(u64, KafkaReply)> {
        k.handle_frame(&Response::new(Some(id), reply).to_json()).unwrap()
    }

    #[test]
    fn engine_requests_carry_the_namespace_and_their_replies_come_back_once_without_it() {
        let mut k = live();
        let req = KafkaRequest::ListOffsets { partitions: vec![TopicPartition::new("words", 0)], spec: engine::kafka::OffsetSpec::Latest };
        assert_eq!(k.request(7, &req), None);
        let frames = sent(&mut k);
        assert_eq!(frames.len(), 1);
        let Op::Engine { request: KafkaRequest::ListOffsets { partitions, .. } } = &frames[0].op else { panic!("{:?}", frames[0]) };
        assert_eq!(partitions[0].topic, "lab-0123456789ab-words");
        // Nothing goes out again while the reply is on its way.
        assert!(sent(&mut k).is_empty());
        assert_eq!(k.waiting(), 1);
        let wire = KafkaReply::Offsets { offsets: vec![(TopicPartition::new("lab-0123456789ab-words", 0), Ok(5))] };
        let reply = answer(&mut k, frames[0].id, Reply::Engine { kafka: wire.clone() });
        assert_eq!(reply, Some((7, KafkaReply::Offsets { offsets: vec![(TopicPartition::new("words", 0), Ok(5))] })));
        // The same frame again answers nothing: the request had its reply.
        assert_eq!(answer(&mut k, frames[0].id, Reply::Engine { kafka: wire }), None);
        assert_eq!(k.waiting(), 0);
    }

    #[test]
    fn fetched_records_are_remembered_and_a_cancelled_requests_reply_is_dropped() {
        let mut k = live();
        let fetch = KafkaRequest::Fetch { partition: TopicPartition::new("words", 1), offset: 0, max_records: 10 };
        assert_eq!(k.request(2, &fetch), None);
        let poll = KafkaRequest::OffsetFetch { group: "g".into(), partitions: vec![] };
        assert_eq!(k.request(3, &poll), None);
        let frames = sent(&mut k);
        k.cancel(3);
        let records = vec![engine::kafka::Record { offset: 0, key: Some("k".into()), value: "v".into(), timestamp: 1_000 }];
        let reply =
            answer(&mut k, frames[0].id, Reply::Engine { kafka: KafkaReply::Records { records, log_start_offset: 0, high_watermark: 1 } });
        assert!(matches!(reply, Some((2, KafkaReply::Records { .. }))), "{reply:?}");
        let seen = k.record(&TopicPartition::new("words", 1), 0).unwrap();
        assert_eq!((seen.key.as_deref(), seen.value.as_str(), seen.timestamp), (Some("k"), "v", Some(1_000)));
        assert_eq!(answer(&mut k, frames[1].id, Reply::Engine { kafka: KafkaReply::Committed { offsets: vec![] } }), None);
    }

    #[test]
    fn tools_go_one_at_a_time_in_order_and_produce_lines_merge() {
        let mut k = live();
        k.delete_topic("words").unwrap();
        k.create_topic("words", 3).unwrap();
        for v in ["a", "b", "c"] {
            k.produce("words", Some(0), None, v).unwrap();
        }
        let first = sent(&mut k);
        assert!(matches!(&first[..], [Request { op: Op::DeleteTopic { topic }, .. }] if topic == "lab-0123456789ab-words"), "{first:?}");
        answer(&mut k, first[0].id, Reply::TopicDeleted { topic: "lab-0123456789ab-words".into() });
        let second = sent(&mut k);
        assert!(matches!(&second[..], [Request { op: Op::CreateTopic { partitions: 3, .. }, .. }]), "{second:?}");
        answer(&mut k, second[0].id, Reply::TopicCreated { topic: "lab-0123456789ab-words".into(), partitions: 3 });
        let third = sent(&mut k);
        let [Request { op: Op::Produce { records, partition: Some(0), .. }, id, .. }] = &third[..] else { panic!("{third:?}") };
        assert_eq!(records, &["a", "b", "c"].map(|v| NewRecord::new(None, v)));
        let records = vec![ProducedRecord { partition: 0, offset: 0, key: None, value: "a".into() }];
        answer(&mut k, *id, Reply::Produced { topic: "lab-0123456789ab-words".into(), records });
        assert_eq!(k.record(&TopicPartition::new("words", 0), 0).map(|r| r.value.as_str()), Some("a"));
    }

    #[test]
    fn the_engine_waits_while_a_topic_is_being_created() {
        let mut k = live();
        k.create_topic("words", 3).unwrap();
        let frames = sent(&mut k);
        let join = KafkaRequest::GroupPoll {
            group: "g".into(),
            member_id: None,
            client_id: "c".into(),
            topics: vec!["words".into()],
            session_timeout_ms: 45_000,
            metadata_max_age_ms: engine::METADATA_MAX_AGE_MS,
        };
        assert_eq!(k.request(1, &join), None);
        assert!(sent(&mut k).is_empty(), "nothing goes out before the topic is there");
        k.advance(Time(5_000));
        answer(&mut k, frames[0].id, Reply::TopicCreated { topic: "lab-0123456789ab-words".into(), partitions: 3 });
        assert!(sent(&mut k).is_empty(), "facts asked after the answer are needed");
        k.poll_facts(6_000);
        let facts = sent(&mut k);
        let parts = (0..3).map(|p| PartitionRange { partition: p, log_start: 0, log_end: 0 }).collect();
        answer(&mut k, facts[0].id, Reply::Topic { topic: "lab-0123456789ab-words".into(), partitions: parts });
        answer(&mut k, facts[1].id, Reply::Error { code: protocol::ErrorCode::Kafka, message: "no group".into() });
        // The held request goes out by itself, once.
        let out = sent(&mut k);
        let [Request { op: Op::Engine { request: KafkaRequest::GroupPoll { topics, .. } }, id, .. }] = &out[..] else { panic!("{out:?}") };
        assert_eq!(topics, &["lab-0123456789ab-words"]);
        let assignment = KafkaReply::Assignment { member_id: "m".into(), generation: 1, partitions: vec![] };
        assert!(matches!(answer(&mut k, *id, Reply::Engine { kafka: assignment }), Some((1, KafkaReply::Assignment { .. }))));
    }

    #[test]
    fn facts_feed_the_status_and_the_reset_planner() {
        let mut k = live();
        k.poll_facts(1_000);
        let frames = sent(&mut k);
        assert_eq!(frames.len(), 2);
        let parts = (0..3).map(|p| PartitionRange { partition: p, log_start: 0, log_end: 4 }).collect();
        answer(&mut k, frames[0].id, Reply::Topic { topic: "lab-0123456789ab-words".into(), partitions: parts });
        let offsets = (0..3)
            .map(|p| GroupOffset {
                topic: "lab-0123456789ab-words".into(),
                partition: p,
                committed: Some(4),
                log_end: Some(4),
                lag: Some(0),
                member_id: None,
            })
            .collect();
        let group = GroupDescription {
            group: "lab-0123456789ab-g".into(),
            state: GroupState::Empty,
            protocol_type: "consumer".into(),
            protocol: String::new(),
            members: vec![],
            offsets,
        };
        answer(&mut k, frames[1].id, Reply::Group { group });
        assert_eq!(k.facts_asked_at, Some(1_000));
        assert_eq!(k.log_range(&TopicPartition::new("words", 2)), Some((0, 4)));
        assert_eq!(KafkaBackend::committed(&k, "g").get(&TopicPartition::new("words", 1)), Some(&4));
        let lines = k.reset_offsets("--group g --topic words:0 --shift-by -5 --execute").unwrap();
        assert!(lines.iter().any(|l| l.ends_with("words-0. Value will be set to 0")), "{lines:?}");
        let commit = sent(&mut k);
        let [Request { op: Op::CommitOffsets { group, offsets }, .. }] = &commit[..] else { panic!("{commit:?}") };
        assert_eq!(group, "lab-0123456789ab-g");
        assert_eq!(offsets, &vec![PartitionOffset { topic: "lab-0123456789ab-words".into(), partition: 0, offset: 0 }]);
    }

    #[test]
    fn a_rebalancing_group_refuses_the_reset_naming_its_own_state() {
        let mut k = live();
        k.poll_facts(0);
        let frames = sent(&mut k);
        let group = GroupDescription {
            group: "lab-0123456789ab-g".into(),
            state: GroupState::PreparingRebalance,
            protocol_type: "consumer".into(),
            protocol: "range".into(),
            members: vec![],
            offsets: vec![],
        };
        answer(&mut k, frames[1].id, Reply::Group { group });
        let e = k.reset_offsets("--group g --topic words --to-earliest --execute").unwrap_err();
        assert!(e.contains("the current state is PreparingRebalance"), "{e}");
    }

    #[test]
    fn a_stable_group_refuses_the_reset_and_a_lost_connection_fails_what_waits() {
        let mut k = live();
        k.poll_facts(0);
        let frames = sent(&mut k);
        let group = GroupDescription {
            group: "lab-0123456789ab-g".into(),
            state: GroupState::Stable,
            protocol_type: "consumer".into(),
            protocol: "range".into(),
            members: vec![],
            offsets: vec![],
        };
        answer(&mut k, frames[1].id, Reply::Group { group });
        assert!(k.reset_offsets("--group g --topic words --to-earliest --execute").unwrap_err().contains("inactive"));
        assert_eq!(KafkaBackend::group_state(&k, "g"), Ok(GroupState::Stable));
        let req = KafkaRequest::OffsetFetch { group: "g".into(), partitions: vec![] };
        assert_eq!(k.request(3, &req), None);
        let failed = k.disconnected("closed");
        assert!(matches!(&failed[..], [(3, KafkaReply::Failed { error: KafkaError::Other(e) })] if e.contains("closed")), "{failed:?}");
        assert!(matches!(k.request(4, &req), Some(KafkaReply::Failed { .. })));
        assert!(k.handle_frame("{not json").is_err());
        // Back: the lab is taken back first (with the page's hello), the watch renewed, and requests go out again.
        let hello = Op::Hello { namespace: None, binary_records: false, join: None, resume: Some("s3cr3t".into()) };
        k.reconnected(hello.clone());
        let out = sent(&mut k);
        assert_eq!(out[0].op, hello);
        assert!(matches!(&out[1].op, Op::WatchOffsetsTopic { group, on: true } if group == "lab-0123456789ab-g"), "{out:?}");
        assert_eq!(k.request(5, &req), None);
        assert!(matches!(&sent(&mut k)[..], [Request { op: Op::Engine { .. }, .. }]));
    }
}
