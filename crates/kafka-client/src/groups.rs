//! Classic consumer groups: a driver consumer's membership (JoinGroup, SyncGroup with the range
//! assignor, Heartbeat, LeaveGroup), commits, `--describe`, and the group's `__consumer_offsets` records.

use crate::data::Tp;
use crate::engine::kafka_error;
use crate::{offsets_topic, rs_error, wire, Kafka, OpError, Result};
use crate::{V_DESCRIBE_GROUPS, V_HEARTBEAT, V_JOIN_GROUP, V_LEAVE_GROUP, V_METADATA, V_OFFSET_COMMIT, V_OFFSET_FETCH, V_SYNC_GROUP};
use engine::kafka::{KafkaError, KafkaReply};
use engine::offsets::TopicPartition;
use kafka_model::{GroupState, OffsetsTopicRecord};
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::offset_commit_request::{OffsetCommitRequestPartition, OffsetCommitRequestTopic};
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use protocol::{CommitResult, ErrorCode, GroupDescription, GroupOffset, Member, PartitionOffset, TopicPartitions};
use rskafka::client::partition::OffsetAt;
use std::collections::BTreeMap;
use std::time::Duration;

/// A member of a classic group that this client joined for the engine's driver consumer.
#[derive(Clone, Debug)]
pub(crate) struct Membership {
    generation: i32,
    assignment: Vec<TopicPartition>,
}

impl Kafka {
    /// DescribeGroups: state, protocol and members (`Dead` for a group that does not exist).
    pub(crate) async fn describe_group_raw(&self, group: &str) -> Result<(GroupState, String, String, Vec<Member>)> {
        self.retry_coordinator(group, || self.describe_group_once(group)).await
    }

    async fn describe_group_once(&self, group: &str) -> Result<(GroupState, String, String, Vec<Member>)> {
        let req = DescribeGroupsRequest::default().with_groups(vec![GroupId(StrBytes::from_string(group.to_string()))]);
        let resp: DescribeGroupsResponse = self.call(ApiKey::DescribeGroups, V_DESCRIBE_GROUPS, &req).await?;
        let g = resp.groups.into_iter().next().ok_or_else(|| OpError::new(ErrorCode::Kafka, "DescribeGroups: empty response"))?;
        match wire::error_name(g.error_code).as_deref() {
            None => {}
            Some("GROUP_ID_NOT_FOUND") => return Ok((GroupState::Dead, String::new(), String::new(), vec![])),
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
        let state = g.group_state.parse().map_err(|e| OpError::new(ErrorCode::Kafka, format!("DescribeGroups {group}: {e}")))?;
        Ok((state, g.protocol_type.to_string(), g.protocol_data.to_string(), members))
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

    /// LeaveGroup of one member; the membership is forgotten whatever Kafka answers.
    pub async fn leave_group(&self, group: &str, member_id: &str) -> Result<Option<String>> {
        let req = LeaveGroupRequest::default()
            .with_group_id(GroupId(StrBytes::from_string(group.to_string())))
            .with_members(vec![MemberIdentity::default().with_member_id(StrBytes::from_string(member_id.to_string()))]);
        let resp: LeaveGroupResponse = self.call(ApiKey::LeaveGroup, V_LEAVE_GROUP, &req).await?;
        self.members.lock().await.remove(&(group.to_string(), member_id.to_string()));
        Ok(wire::error_name(resp.error_code))
    }

    /// `consumer.poll` of a subscribed consumer: Heartbeat when already a member of a stable generation,
    /// else JoinGroup + SyncGroup (range assignor when this member leads).
    pub(crate) async fn group_poll(
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
        let mut conn = wire::Conn::connect_as(&self.bootstrap, timeout, client_id).await?;
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
                let subscriptions: BTreeMap<&str, &[String]> = subs.iter().map(|(m, ts)| (m.as_str(), ts.as_slice())).collect();
                for m in subscriptions.keys() {
                    let parts = kafka_model::range_assign(&subscriptions, m, |t| counts.get(t).copied());
                    assignments.push(
                        SyncGroupRequestAssignment::default()
                            .with_member_id(StrBytes::from_string(m.to_string()))
                            .with_assignment(wire::encode_assignment(&by_topic(&parts))),
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
        Ok(offsets_topic::partition_for_group(group, t.partitions.len() as i32))
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
                    if let Some(rec) = offsets_topic::decode(r.offset, key, r.record.value.as_deref()) {
                        if rec.group() == Some(group) {
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
}

/// An assignment as `ConsumerProtocolAssignment` lists it: per topic, its partitions.
fn by_topic(parts: &[TopicPartition]) -> Vec<(String, Vec<i32>)> {
    let mut out: Vec<(String, Vec<i32>)> = Vec::new();
    for tp in parts {
        match out.last_mut() {
            Some((t, ps)) if *t == tp.topic => ps.push(tp.partition),
            _ => out.push((tp.topic.clone(), vec![tp.partition])),
        }
    }
    out
}
