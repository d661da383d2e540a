//! Kafka operations for the bridge: rskafka for the data plane (topics, produce, fetch, log start/end,
//! delete records), kafka-protocol over [`crate::wire`] for groups and timestamp lookups.
//!
//! One broker is assumed (the project's own single-node Kafka): it is every partition's leader and every
//! group's coordinator, so no FindCoordinator round trip is made.

use crate::partitioner::partition_for_key;
use crate::reset::{self, Facts, Outcome, Tp};
use crate::wire::{self, Conn, WireError};
use engine::kafka::{KafkaError, KafkaReply, KafkaRequest, OffsetSpec, Record as EngineRecord};
use engine::offsets::TopicPartition;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::offset_commit_request::{OffsetCommitRequestPartition, OffsetCommitRequestTopic};
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use protocol::*;
use rskafka::client::error::{Error as RsError, ProtocolError};
use rskafka::client::partition::{Compression, OffsetAt, PartitionClient, UnknownTopicHandling};
use rskafka::client::{Client, ClientBuilder};
use rskafka::BackoffConfig;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;

/// An operation's failure, as the page will see it.
#[derive(Clone, Debug, PartialEq)]
pub struct OpError {
    pub code: ErrorCode,
    pub message: String,
}

impl OpError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> OpError {
        OpError { code, message: message.into() }
    }
    fn invalid(message: impl Into<String>) -> OpError {
        OpError::new(ErrorCode::InvalidArgument, message)
    }
}

impl From<WireError> for OpError {
    fn from(e: WireError) -> OpError {
        match e {
            WireError::Io(_) => OpError::new(ErrorCode::KafkaUnavailable, e.to_string()),
            WireError::Protocol(_) => OpError::new(ErrorCode::Kafka, e.to_string()),
        }
    }
}

fn rs_error(what: &str, e: RsError) -> OpError {
    match &e {
        RsError::ServerError { protocol_error, error_message, .. } => OpError::new(
            ErrorCode::Kafka,
            format!("{what}: {}{}", protocol_name(*protocol_error), error_message.as_ref().map(|m| format!(" ({m})")).unwrap_or_default()),
        ),
        RsError::Connection(_) | RsError::Request(_) | RsError::RetryFailed(_) => {
            OpError::new(ErrorCode::KafkaUnavailable, format!("{what}: {e}"))
        }
        _ => OpError::new(ErrorCode::Kafka, format!("{what}: {e}")),
    }
}

/// rskafka's error as Kafka names it (`UNKNOWN_TOPIC_OR_PARTITION`).
fn protocol_name(p: ProtocolError) -> String {
    match p {
        ProtocolError::Unknown(c) => wire::error_name(c).unwrap_or_else(|| format!("ERROR_{c}")),
        other => wire::screaming_snake(&format!("{other:?}")),
    }
}

type Result<T> = std::result::Result<T, OpError>;

/// A member of a classic group that this bridge joined for the engine's driver consumer.
#[derive(Clone, Debug)]
struct Membership {
    generation: i32,
    assignment: Vec<TopicPartition>,
}

/// How long group requests wait out a coordinator that is still loading.
const COORDINATOR_WAIT: Duration = Duration::from_secs(30);

pub struct Kafka {
    bootstrap: String,
    timeout: Duration,
    rs: Mutex<Option<Arc<Client>>>,
    conn: Mutex<Option<Conn>>,
    members: Mutex<HashMap<(String, String), Membership>>,
    round_robin: std::sync::atomic::AtomicI32,
}

// Versions pinned to ones whose field layout this module fills (all within Kafka 4.1's ranges).
const V_LIST_OFFSETS: i16 = 7;
const V_LIST_GROUPS: i16 = 4;
const V_DESCRIBE_GROUPS: i16 = 5;
const V_OFFSET_FETCH: i16 = 7;
const V_OFFSET_COMMIT: i16 = 8;
const V_JOIN_GROUP: i16 = 9;
const V_SYNC_GROUP: i16 = 5;
const V_HEARTBEAT: i16 = 4;
const V_LEAVE_GROUP: i16 = 5;
const V_METADATA: i16 = 9;
const V_FIND_COORDINATOR: i16 = 4;

impl Kafka {
    pub fn new(bootstrap: impl Into<String>) -> Kafka {
        Kafka {
            bootstrap: bootstrap.into(),
            timeout: Duration::from_secs(10),
            rs: Mutex::new(None),
            conn: Mutex::new(None),
            members: Mutex::new(HashMap::new()),
            round_robin: std::sync::atomic::AtomicI32::new(0),
        }
    }

    pub fn bootstrap(&self) -> &str {
        &self.bootstrap
    }

    async fn client(&self) -> Result<Arc<Client>> {
        let mut guard = self.rs.lock().await;
        if let Some(c) = guard.as_ref() {
            return Ok(Arc::clone(c));
        }
        // rskafka retries forever by default; a deadline turns "Kafka is down" into an answer.
        let backoff = BackoffConfig {
            init_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_millis(500),
            base: 2.0,
            deadline: Some(Duration::from_secs(5)),
        };
        let build = ClientBuilder::new(vec![self.bootstrap.clone()]).client_id("offset-lab-bridge").backoff_config(backoff).build();
        let client = tokio::time::timeout(self.timeout, build)
            .await
            .map_err(|_| OpError::new(ErrorCode::KafkaUnavailable, format!("connecting to {} timed out", self.bootstrap)))?
            .map_err(|e| rs_error(&format!("connecting to {}", self.bootstrap), e))?;
        let client = Arc::new(client);
        *guard = Some(Arc::clone(&client));
        Ok(client)
    }

    /// Forgets the rskafka client after a connection failure so the next call reconnects.
    async fn on_rs_error(&self, e: OpError) -> OpError {
        if e.code == ErrorCode::KafkaUnavailable {
            *self.rs.lock().await = None;
        }
        e
    }

    async fn partition(&self, topic: &str, partition: i32) -> Result<PartitionClient> {
        let c = self.client().await?;
        match c.partition_client(topic, partition, UnknownTopicHandling::Error).await {
            Ok(p) => Ok(p),
            Err(e) => Err(self.on_rs_error(rs_error(&format!("{topic}-{partition}"), e)).await),
        }
    }

    /// A fresh broker answers group requests with these while it creates and loads
    /// `__consumer_offsets`; Kafka's AdminClient and consumer retry them, and so do we, for a while.
    fn coordinator_busy(error: &str) -> bool {
        ["NOT_COORDINATOR", "COORDINATOR_NOT_AVAILABLE", "COORDINATOR_LOAD_IN_PROGRESS"].iter().any(|c| error.contains(c))
    }

    /// Runs `f` until it stops failing with a transient coordinator error, up to [`COORDINATOR_WAIT`].
    async fn retry_coordinator<T, F, Fut>(&self, group: &str, mut f: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let started = std::time::Instant::now();
        loop {
            match f().await {
                Err(e) if Self::coordinator_busy(&e.message) && started.elapsed() < COORDINATOR_WAIT => self.await_coordinator(group).await,
                other => return other,
            }
        }
    }

    /// FindCoordinator, as every Kafka client sends before a group request: on a fresh broker it is
    /// what creates `__consumer_offsets`, without which no group request ever succeeds. Then a pause.
    async fn await_coordinator(&self, group: &str) {
        let req = FindCoordinatorRequest::default().with_key_type(0).with_coordinator_keys(vec![StrBytes::from_string(group.to_string())]);
        let _ = self.call::<_, FindCoordinatorResponse>(ApiKey::FindCoordinator, V_FIND_COORDINATOR, &req).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    async fn call<Req, Resp>(&self, key: ApiKey, version: i16, req: &Req) -> Result<Resp>
    where
        Req: kafka_protocol::protocol::Encodable + kafka_protocol::protocol::HeaderVersion,
        Resp: kafka_protocol::protocol::Decodable + kafka_protocol::protocol::HeaderVersion,
    {
        let mut guard = self.conn.lock().await;
        if guard.is_none() {
            *guard = Some(Conn::connect(&self.bootstrap, self.timeout).await?);
        }
        let result = guard.as_mut().expect("connected above").call(key as i16, version, req).await;
        if result.is_err() {
            *guard = None; // the stream may be mid-frame: never reuse it
        }
        Ok(result?)
    }

    /// True when Kafka answers a metadata request.
    pub async fn ping(&self) -> std::result::Result<(), String> {
        let c = self.client().await.map_err(|e| e.message)?;
        match c.list_topics().await {
            Ok(_) => Ok(()),
            Err(e) => Err(self.on_rs_error(rs_error("metadata", e)).await.message),
        }
    }

    // ---- topics ----

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

    pub async fn create_topic(&self, topic: &str, partitions: i32) -> Result<()> {
        if !(1..=1000).contains(&partitions) {
            return Err(OpError::invalid(format!("partitions must be 1..=1000, got {partitions}")));
        }
        let c = self.client().await?;
        let cc = c.controller_client().map_err(|e| rs_error("controller", e))?;
        if let Err(e) = cc.create_topic(topic, partitions, 1, 10_000).await {
            return Err(self.on_rs_error(rs_error(&format!("create topic {topic}"), e)).await);
        }
        // CreateTopics answers before every broker's metadata shows the topic; wait, so that the page's
        // next request (a produce) finds it.
        self.await_metadata(topic, true).await
    }

    /// Polls metadata until `topic` is listed (`present`) or gone, for up to 10 s.
    async fn await_metadata(&self, topic: &str, present: bool) -> Result<()> {
        for _ in 0..200 {
            if self.list_topics().await?.iter().any(|t| t.topic == topic) == present {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(OpError::new(
            ErrorCode::Kafka,
            format!("topic {topic} still {} in metadata after 10 s", if present { "missing" } else { "listed" }),
        ))
    }

    pub async fn delete_topic(&self, topic: &str) -> Result<()> {
        let c = self.client().await?;
        let cc = c.controller_client().map_err(|e| rs_error("controller", e))?;
        if let Err(e) = cc.delete_topic(topic, 10_000).await {
            return Err(self.on_rs_error(rs_error(&format!("delete topic {topic}"), e)).await);
        }
        // So that "delete, then re-create with the same name" (a scenario the lab shows) works at once.
        self.await_metadata(topic, false).await
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

    /// `kafka-delete-records`: returns the new log start.
    pub async fn delete_records(&self, topic: &str, partition: i32, before_offset: i64) -> Result<i64> {
        let pc = self.partition(topic, partition).await?;
        pc.delete_records(before_offset, 10_000).await.map_err(|e| rs_error(&format!("delete records of {topic}-{partition}"), e))?;
        pc.get_offset(OffsetAt::Earliest).await.map_err(|e| rs_error(&format!("{topic}-{partition} earliest"), e))
    }

    // ---- records ----

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

    pub async fn list_offsets(&self, topic: &str, spec: OffsetQuery) -> Result<Vec<PartitionOffsetOpt>> {
        let n = self.partitions(topic).await?;
        let mut out = Vec::new();
        match spec {
            OffsetQuery::Earliest | OffsetQuery::Latest => {
                let at = if spec == OffsetQuery::Earliest { OffsetAt::Earliest } else { OffsetAt::Latest };
                for p in 0..n {
                    let pc = self.partition(topic, p).await?;
                    let o = pc.get_offset(at).await.map_err(|e| rs_error(&format!("{topic}-{p}"), e))?;
                    out.push(PartitionOffsetOpt { partition: p, offset: Some(o) });
                }
            }
            OffsetQuery::Timestamp { ms } => {
                let tps: Vec<Tp> = (0..n).map(|p| (topic.to_string(), p)).collect();
                for ((_, p), o) in self.list_offsets_raw(&tps, ms.max(0)).await? {
                    out.push(PartitionOffsetOpt { partition: p, offset: o });
                }
            }
        }
        Ok(out)
    }

    // ---- groups ----

    pub async fn list_groups(&self) -> Result<Vec<GroupListing>> {
        let resp: ListGroupsResponse = self.call(ApiKey::ListGroups, V_LIST_GROUPS, &ListGroupsRequest::default()).await?;
        if let Some(e) = wire::error_name(resp.error_code) {
            return Err(OpError::new(ErrorCode::Kafka, format!("ListGroups: {e}")));
        }
        let mut out: Vec<GroupListing> = resp
            .groups
            .into_iter()
            .map(|g| GroupListing {
                group: g.group_id.0.to_string(),
                state: g.group_state.to_string(),
                protocol_type: g.protocol_type.to_string(),
            })
            .collect();
        out.sort_by(|a, b| a.group.cmp(&b.group));
        Ok(out)
    }

    /// DescribeGroups: state, protocol and members (`Dead` for a group that does not exist).
    async fn describe_group_raw(&self, group: &str) -> Result<(String, String, String, Vec<Member>)> {
        self.retry_coordinator(group, || self.describe_group_once(group)).await
    }

    async fn describe_group_once(&self, group: &str) -> Result<(String, String, String, Vec<Member>)> {
        let req = DescribeGroupsRequest::default().with_groups(vec![GroupId(StrBytes::from_string(group.to_string()))]);
        let resp: DescribeGroupsResponse = self.call(ApiKey::DescribeGroups, V_DESCRIBE_GROUPS, &req).await?;
        let g = resp.groups.into_iter().next().ok_or_else(|| OpError::new(ErrorCode::Kafka, "DescribeGroups: empty response"))?;
        match wire::error_name(g.error_code).as_deref() {
            None => {}
            Some("GROUP_ID_NOT_FOUND") => return Ok(("Dead".into(), String::new(), String::new(), vec![])),
            Some(e) => return Err(OpError::new(ErrorCode::Kafka, format!("DescribeGroups {group}: {e}"))),
        }
        let members = g
            .members
            .into_iter()
            .map(|m| Member {
                member_id: m.member_id.to_string(),
                client_id: m.client_id.to_string(),
                host: m.client_host.to_string(),
                assignment: wire::decode_assignment(&m.member_assignment)
                    .into_iter()
                    .map(|(topic, partitions)| TopicPartitions { topic, partitions })
                    .collect(),
            })
            .collect();
        Ok((g.group_state.to_string(), g.protocol_type.to_string(), g.protocol_data.to_string(), members))
    }

    /// OffsetFetch of every committed offset of the group.
    pub async fn committed(&self, group: &str) -> Result<BTreeMap<Tp, i64>> {
        self.retry_coordinator(group, || self.committed_once(group)).await
    }

    async fn committed_once(&self, group: &str) -> Result<BTreeMap<Tp, i64>> {
        let req = OffsetFetchRequest::default()
            .with_group_id(GroupId(StrBytes::from_string(group.to_string())))
            .with_topics(None)
            .with_require_stable(true);
        let resp: OffsetFetchResponse = self.call(ApiKey::OffsetFetch, V_OFFSET_FETCH, &req).await?;
        if let Some(e) = wire::error_name(resp.error_code) {
            return Err(OpError::new(ErrorCode::Kafka, format!("OffsetFetch {group}: {e}")));
        }
        let mut out = BTreeMap::new();
        for t in resp.topics {
            for p in t.partitions {
                if p.committed_offset >= 0 {
                    out.insert((t.name.0.to_string(), p.partition_index), p.committed_offset);
                }
            }
        }
        Ok(out)
    }

    /// `kafka-consumer-groups --describe`.
    pub async fn describe_group(&self, group: &str) -> Result<GroupDescription> {
        let (state, protocol_type, protocol, members) = self.describe_group_raw(group).await?;
        let state = state.parse().map_err(|e| OpError::new(ErrorCode::Kafka, format!("DescribeGroups {group}: {e}")))?;
        let committed = self.committed(group).await?;
        let mut rows: BTreeMap<Tp, Option<String>> = committed.keys().map(|tp| (tp.clone(), None)).collect();
        for m in &members {
            for tps in &m.assignment {
                for &p in &tps.partitions {
                    rows.insert((tps.topic.clone(), p), Some(m.member_id.clone()));
                }
            }
        }
        let tps: Vec<Tp> = rows.keys().cloned().collect();
        let ends = if tps.is_empty() { BTreeMap::new() } else { self.list_offsets_raw(&tps, -1).await.unwrap_or_default() };
        let offsets = rows
            .into_iter()
            .map(|(tp, member_id)| {
                let committed = committed.get(&tp).copied();
                let log_end = ends.get(&tp).copied().flatten();
                let lag = match (committed, log_end) {
                    (Some(c), Some(e)) => Some(e - c),
                    _ => None,
                };
                GroupOffset { topic: tp.0, partition: tp.1, committed, log_end, lag, member_id }
            })
            .collect();
        Ok(GroupDescription { group: group.to_string(), state, protocol_type, protocol, members, offsets })
    }

    /// OffsetCommit: `member` = (member id, generation) for a group member, `None` for generation −1.
    pub async fn commit(&self, group: &str, member: Option<(&str, i32)>, offsets: &[PartitionOffset]) -> Result<Vec<CommitResult>> {
        self.retry_coordinator(group, || async {
            let out = self.commit_once(group, member, offsets).await?;
            match out.iter().find_map(|r| r.error.as_deref().filter(|e| Self::coordinator_busy(e))) {
                Some(e) => Err(OpError::new(ErrorCode::Kafka, format!("OffsetCommit {group}: {e}"))),
                None => Ok(out),
            }
        })
        .await
        .or_else(|e| {
            if Self::coordinator_busy(&e.message) {
                Ok(offsets
                    .iter()
                    .map(|o| CommitResult {
                        topic: o.topic.clone(),
                        partition: o.partition,
                        error: Some(e.message.rsplit(' ').next().unwrap_or_default().to_string()),
                    })
                    .collect())
            } else {
                Err(e)
            }
        })
    }

    async fn commit_once(&self, group: &str, member: Option<(&str, i32)>, offsets: &[PartitionOffset]) -> Result<Vec<CommitResult>> {
        let mut topics: BTreeMap<&str, Vec<(i32, i64)>> = BTreeMap::new();
        for o in offsets {
            if o.offset < 0 {
                return Err(OpError::invalid(format!("offset {} for {}-{} is negative", o.offset, o.topic, o.partition)));
            }
            topics.entry(o.topic.as_str()).or_default().push((o.partition, o.offset));
        }
        let (member_id, generation) = member.unwrap_or(("", -1));
        let req = OffsetCommitRequest::default()
            .with_group_id(GroupId(StrBytes::from_string(group.to_string())))
            .with_generation_id_or_member_epoch(generation)
            .with_member_id(StrBytes::from_string(member_id.to_string()))
            .with_topics(
                topics
                    .iter()
                    .map(|(t, ps)| {
                        OffsetCommitRequestTopic::default().with_name(TopicName(StrBytes::from_string(t.to_string()))).with_partitions(
                            ps.iter()
                                .map(|&(p, o)| {
                                    OffsetCommitRequestPartition::default()
                                        .with_partition_index(p)
                                        .with_committed_offset(o)
                                        .with_committed_leader_epoch(-1)
                                        .with_committed_metadata(Some(StrBytes::from_string(String::new())))
                                })
                                .collect(),
                        )
                    })
                    .collect(),
            );
        let resp: OffsetCommitResponse = self.call(ApiKey::OffsetCommit, V_OFFSET_COMMIT, &req).await?;
        let mut out = Vec::new();
        for t in resp.topics {
            for p in t.partitions {
                out.push(CommitResult { topic: t.name.0.to_string(), partition: p.partition_index, error: wire::error_name(p.error_code) });
            }
        }
        out.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
        Ok(out)
    }

    /// `kafka-consumer-groups --reset-offsets` (`execute: false` is `--dry-run`). `now_ms` is the clock
    /// for `--by-duration`.
    pub async fn reset_offsets(
        &self,
        group: &str,
        scope: &ResetScope,
        strategy: &ResetStrategy,
        execute: bool,
        now_ms: i64,
    ) -> Result<ResetPlan> {
        let (state, _, _, _) = self.describe_group_raw(group).await?;
        let mut result = ResetPlan { group: group.to_string(), plan: vec![], warnings: vec![], refused: None, executed: false };
        if let Some(msg) = reset::refusal(group, &state) {
            result.refused = Some(msg);
            return Ok(result);
        }
        let mut facts = Facts { state, committed: self.committed(group).await?, ..Facts::default() };
        let partitions: Vec<Tp> = match scope {
            ResetScope::AllTopics => reset::all_topics_scope(&facts),
            ResetScope::Topics { topics } => {
                let mut out = Vec::new();
                for ts in topics {
                    match &ts.partitions {
                        Some(ps) => out.extend(ps.iter().map(|&p| (ts.topic.clone(), p))),
                        None => {
                            let n = self.partitions(&ts.topic).await?;
                            out.extend((0..n).map(|p| (ts.topic.clone(), p)));
                        }
                    }
                }
                out
            }
        };
        if !partitions.is_empty() {
            let flat = |m: BTreeMap<Tp, Option<i64>>| m.into_iter().filter_map(|(k, v)| Some((k, v?))).collect();
            facts.log_start = flat(self.list_offsets_raw(&partitions, -2).await?);
            facts.log_end = flat(self.list_offsets_raw(&partitions, -1).await?);
            let ts = match strategy {
                ResetStrategy::ToDatetime { timestamp_ms } => Some(*timestamp_ms),
                ResetStrategy::ByDuration { duration_ms } => Some(now_ms - duration_ms),
                _ => None,
            };
            if let Some(ts) = ts {
                facts.by_timestamp = self.list_offsets_raw(&partitions, ts.max(0)).await?;
            }
        }
        match reset::plan(group, &partitions, strategy, &facts) {
            Outcome::Refused(msg) => result.refused = Some(msg),
            Outcome::Failed(msg) => return Err(OpError::new(ErrorCode::Refused, msg)),
            Outcome::Plan { offsets, warnings } => {
                result.plan =
                    offsets.into_iter().map(|((topic, partition), offset)| PartitionOffset { topic, partition, offset }).collect();
                result.warnings = warnings;
                if execute && !result.plan.is_empty() {
                    let errors: Vec<String> = self
                        .commit(group, None, &result.plan)
                        .await?
                        .into_iter()
                        .filter_map(|r| r.error.map(|e| format!("{}-{}: {e}", r.topic, r.partition)))
                        .collect();
                    if !errors.is_empty() {
                        return Err(OpError::new(ErrorCode::Kafka, format!("OffsetCommit failed: {}", errors.join(", "))));
                    }
                    result.executed = true;
                }
            }
        }
        Ok(result)
    }

    // ---- __consumer_offsets ----

    /// The `__consumer_offsets` partition holding `group`'s records.
    pub async fn offsets_topic_partition(&self, group: &str) -> Result<i32> {
        let req = MetadataRequest::default()
            .with_topics(Some(vec![MetadataRequestTopic::default().with_name(Some(TopicName(StrBytes::from("__consumer_offsets"))))]))
            .with_allow_auto_topic_creation(false);
        let resp: MetadataResponse = self.call(ApiKey::Metadata, V_METADATA, &req).await?;
        let t = resp.topics.into_iter().next().ok_or_else(|| OpError::new(ErrorCode::Kafka, "Metadata: no __consumer_offsets"))?;
        if let Some(e) = wire::error_name(t.error_code) {
            // The topic appears with the first group; before that there is nothing to read.
            return Err(OpError::new(ErrorCode::Kafka, format!("__consumer_offsets: {e}")));
        }
        Ok(crate::offsets_topic::partition_for_group(group, t.partitions.len() as i32))
    }

    /// `group`'s records in `partition` of `__consumer_offsets` from `from` (`None`: the log start) up to
    /// the high watermark, and the next offset to read.
    pub async fn read_offsets_topic(&self, group: &str, partition: i32, from: Option<i64>) -> Result<(Vec<OffsetsTopicRecord>, i64)> {
        let pc = self.partition("__consumer_offsets", partition).await?;
        let mut next = match from {
            Some(o) => o,
            None => pc.get_offset(OffsetAt::Earliest).await.map_err(|e| rs_error("__consumer_offsets earliest", e))?,
        };
        let mut out = Vec::new();
        for _ in 0..50 {
            let (records, high_watermark) =
                pc.fetch_records(next, 1..1_048_576, 0).await.map_err(|e| rs_error(&format!("fetch __consumer_offsets-{partition}"), e))?;
            for r in records.iter().filter(|r| r.offset >= next) {
                if let Some(key) = &r.record.key {
                    if let Some(rec) = crate::offsets_topic::decode(r.offset, key, r.record.value.as_deref()) {
                        if crate::offsets_topic::group_of(&rec) == Some(group) {
                            out.push(rec);
                        }
                    }
                }
            }
            match records.last() {
                Some(last) if last.offset + 1 < high_watermark => next = last.offset + 1,
                // Control batches and compaction leave gaps: the high watermark is the next offset.
                _ => {
                    next = next.max(high_watermark);
                    break;
                }
            }
        }
        Ok((out, next))
    }

    // ---- the engine's requests ----

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
                let ts = if *spec == OffsetSpec::Earliest { -2 } else { -1 };
                let found = self.list_offsets_raw(&tps, ts).await;
                let offsets = partitions
                    .iter()
                    .map(|tp| {
                        let r = match &found {
                            Ok(m) => m.get(&(tp.topic.clone(), tp.partition)).copied().flatten().ok_or(KafkaError::UnknownTopicOrPartition),
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
            KafkaRequest::GroupPoll { group, member_id, client_id, topics, session_timeout_ms } => {
                self.group_poll(group, member_id.as_deref(), client_id, topics, *session_timeout_ms).await?
            }
            KafkaRequest::LeaveGroup { group, member_id } => {
                let req = LeaveGroupRequest::default()
                    .with_group_id(GroupId(StrBytes::from_string(group.clone())))
                    .with_members(vec![MemberIdentity::default().with_member_id(StrBytes::from_string(member_id.clone()))]);
                let resp: LeaveGroupResponse = self.call(ApiKey::LeaveGroup, V_LEAVE_GROUP, &req).await?;
                self.members.lock().await.remove(&(group.clone(), member_id.clone()));
                match wire::error_name(resp.error_code) {
                    None => KafkaReply::Left,
                    Some(e) => KafkaReply::Failed { error: kafka_error(&e) },
                }
            }
        })
    }

    /// `consumer.poll` of a subscribed consumer: Heartbeat when already a member of a stable generation,
    /// else JoinGroup + SyncGroup (range assignor when this member leads).
    async fn group_poll(
        &self,
        group: &str,
        member_id: Option<&str>,
        client_id: &str,
        topics: &[String],
        session_timeout_ms: i64,
    ) -> Result<KafkaReply> {
        if let Some(m) = member_id {
            let known = self.members.lock().await.get(&(group.to_string(), m.to_string())).cloned();
            if let Some(known) = known {
                let req = HeartbeatRequest::default()
                    .with_group_id(GroupId(StrBytes::from_string(group.to_string())))
                    .with_generation_id(known.generation)
                    .with_member_id(StrBytes::from_string(m.to_string()));
                let resp: HeartbeatResponse = self.call(ApiKey::Heartbeat, V_HEARTBEAT, &req).await?;
                match wire::error_name(resp.error_code).as_deref() {
                    None => {
                        return Ok(KafkaReply::Assignment {
                            member_id: m.to_string(),
                            generation: known.generation,
                            partitions: known.assignment,
                        })
                    }
                    Some("REBALANCE_IN_PROGRESS") => return self.join(group, m, client_id, topics, session_timeout_ms).await,
                    Some(_) => {
                        // Fenced (UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION): rejoin as a new member, as the Java client does.
                        self.members.lock().await.remove(&(group.to_string(), m.to_string()));
                        return self.join(group, "", client_id, topics, session_timeout_ms).await;
                    }
                }
            }
            return self.join(group, m, client_id, topics, session_timeout_ms).await;
        }
        self.join(group, "", client_id, topics, session_timeout_ms).await
    }

    async fn join(&self, group: &str, member_id: &str, client_id: &str, topics: &[String], session_timeout_ms: i64) -> Result<KafkaReply> {
        // JoinGroup blocks until the rebalance completes: use a connection of its own.
        let timeout = Duration::from_millis(session_timeout_ms.clamp(1_000, 300_000) as u64) + self.timeout;
        // Its client id is the consumer's: the member id starts with it, and the range assignor
        // orders members by member id (who gets which partitions depends on it, as in Kafka).
        let mut conn = Conn::connect_as(&self.bootstrap, timeout, client_id).await?;
        let mut member = member_id.to_string();
        let session = session_timeout_ms.clamp(1, i32::MAX as i64) as i32;
        // MEMBER_ID_REQUIRED and a rebalance take a retry or two; a loading coordinator up to ~30 s of 200 ms waits.
        for _attempt in 0..150 {
            let req = JoinGroupRequest::default()
                .with_group_id(GroupId(StrBytes::from_string(group.to_string())))
                .with_session_timeout_ms(session)
                .with_rebalance_timeout_ms(session)
                .with_member_id(StrBytes::from_string(member.clone()))
                .with_protocol_type(StrBytes::from("consumer"))
                .with_protocols(vec![JoinGroupRequestProtocol::default()
                    .with_name(StrBytes::from("range"))
                    .with_metadata(wire::encode_subscription(topics))]);
            let resp: JoinGroupResponse = conn.call(ApiKey::JoinGroup as i16, V_JOIN_GROUP, &req).await?;
            match wire::error_name(resp.error_code).as_deref() {
                None => {}
                Some("MEMBER_ID_REQUIRED") => {
                    member = resp.member_id.to_string();
                    continue;
                }
                Some(e) if Self::coordinator_busy(e) => {
                    self.await_coordinator(group).await;
                    continue;
                }
                Some(e) => return Ok(KafkaReply::Failed { error: kafka_error(e) }),
            }
            member = resp.member_id.to_string();
            let generation = resp.generation_id;
            let mut assignments = Vec::new();
            if resp.leader == resp.member_id {
                let subs: Vec<(String, Vec<String>)> =
                    resp.members.iter().map(|m| (m.member_id.to_string(), wire::decode_subscription(&m.metadata))).collect();
                let mut counts = BTreeMap::new();
                for (_, ts) in &subs {
                    for t in ts {
                        if !counts.contains_key(t) {
                            if let Ok(n) = self.partitions(t).await {
                                counts.insert(t.clone(), n);
                            }
                        }
                    }
                }
                for (m, parts) in range_assign(&subs, &counts) {
                    assignments.push(
                        SyncGroupRequestAssignment::default()
                            .with_member_id(StrBytes::from_string(m))
                            .with_assignment(wire::encode_assignment(&parts)),
                    );
                }
            }
            let req = SyncGroupRequest::default()
                .with_group_id(GroupId(StrBytes::from_string(group.to_string())))
                .with_generation_id(generation)
                .with_member_id(StrBytes::from_string(member.clone()))
                .with_protocol_type(Some(StrBytes::from("consumer")))
                .with_protocol_name(Some(StrBytes::from("range")))
                .with_assignments(assignments);
            let resp: SyncGroupResponse = conn.call(ApiKey::SyncGroup as i16, V_SYNC_GROUP, &req).await?;
            match wire::error_name(resp.error_code).as_deref() {
                None => {}
                Some("REBALANCE_IN_PROGRESS") => continue,
                Some(e) => return Ok(KafkaReply::Failed { error: kafka_error(e) }),
            }
            let partitions: Vec<TopicPartition> = wire::decode_assignment(&resp.assignment)
                .into_iter()
                .flat_map(|(t, ps)| ps.into_iter().map(move |p| TopicPartition::new(t.clone(), p)))
                .collect();
            self.members
                .lock()
                .await
                .insert((group.to_string(), member.clone()), Membership { generation, assignment: partitions.clone() });
            return Ok(KafkaReply::Assignment { member_id: member, generation, partitions });
        }
        Ok(KafkaReply::Failed { error: KafkaError::RebalanceInProgress })
    }
}

/// Kafka's `RangeAssignor`: per topic, members sorted by id, partitions split in contiguous ranges with the
/// first `partitions % members` members taking one extra.
pub fn range_assign(subs: &[(String, Vec<String>)], partitions: &BTreeMap<String, i32>) -> BTreeMap<String, Vec<(String, Vec<i32>)>> {
    let mut out: BTreeMap<String, Vec<(String, Vec<i32>)>> = subs.iter().map(|(m, _)| (m.clone(), vec![])).collect();
    for (topic, &n) in partitions {
        let mut members: Vec<&String> = subs.iter().filter(|(_, ts)| ts.contains(topic)).map(|(m, _)| m).collect();
        members.sort();
        if members.is_empty() {
            continue;
        }
        let per = n / members.len() as i32;
        let extra = n % members.len() as i32;
        for (i, m) in members.iter().enumerate() {
            let i = i as i32;
            let start = per * i + i.min(extra);
            let len = per + if i < extra { 1 } else { 0 };
            if len > 0 {
                out.get_mut(*m).expect("member listed").push((topic.clone(), (start..start + len).collect()));
            }
        }
    }
    out
}

/// The engine's error for a Kafka error name found in a message.
fn kafka_error(msg: &str) -> KafkaError {
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
    fn range_assignor_gives_leading_members_the_extra_partition() {
        let subs = vec![("b".to_string(), vec!["t".to_string()]), ("a".to_string(), vec!["t".to_string(), "u".to_string()])];
        let counts: BTreeMap<String, i32> = [("t".to_string(), 3), ("u".to_string(), 1)].into();
        let a = range_assign(&subs, &counts);
        assert_eq!(a["a"], vec![("t".to_string(), vec![0, 1]), ("u".to_string(), vec![0])]);
        assert_eq!(a["b"], vec![("t".to_string(), vec![2])]);
    }

    #[test]
    fn kafka_errors_map_to_the_engines() {
        assert_eq!(kafka_error("fetch t-0 at 9: OFFSET_OUT_OF_RANGE"), KafkaError::OffsetOutOfRange);
        assert_eq!(kafka_error("boom"), KafkaError::Other("boom".into()));
    }
}
