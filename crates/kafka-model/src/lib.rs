//! An in-memory Kafka for tests and offline use. It follows Kafka's rules where Offset Lab can see
//! them: log start/end, DeleteRecords, topic deletion tombstoning the group's offsets, group states
//! (Empty/Stable/Dead), generation −1 commits only for groups without members, the range assignor,
//! session timeouts, murmur2 partitioning, and `__consumer_offsets` records.
//!
//! It answers the engine's [`KafkaRequest`]s with [`KafkaModel::serve`]; the admin side (topics,
//! producing, the reset tool) is plain methods.

mod group;
pub mod offsets_topic;
pub mod partitioner;
pub mod reset;

use engine::kafka::{KafkaError, KafkaReply, KafkaRequest, OffsetSpec, Record};
use engine::offsets::{Offsets, TopicPartition};
use engine::time::Time;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub use group::{range_assign, Group, GroupState, Member};
pub use offsets_topic::{GroupMetadataMember, GroupMetadataValue, OffsetCommitValue, OffsetsTopicRecord};

/// A partition's log start (first offset still stored) and log end (next offset to be written), as
/// ListOffsets earliest and latest report them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PartitionRange {
    pub partition: i32,
    pub log_start: i64,
    pub log_end: i64,
}

/// One partition's log. Offsets below `log_start` were deleted; `records` holds `[log_start, log_end)`.
#[derive(Clone, Debug, Default)]
pub struct PartitionLog {
    pub log_start: i64,
    pub records: Vec<Record>,
}

impl PartitionLog {
    pub fn log_end(&self) -> i64 {
        self.log_start + self.records.len() as i64
    }
}

#[derive(Clone, Debug, Default)]
pub struct KafkaModel {
    now: Time,
    pub topics: BTreeMap<String, Vec<PartitionLog>>,
    pub groups: BTreeMap<String, Group>,
    /// Everything written to `__consumer_offsets`, in order.
    pub offsets_topic: Vec<OffsetsTopicRecord>,
    next_member: u64,
    /// Requests the coordinator holds (a JoinGroup waiting for a rebalance, Kafka's `DelayedJoin`),
    /// by the caller's id, in arrival order.
    held: Vec<(u64, KafkaRequest)>,
}

impl KafkaModel {
    pub fn new() -> KafkaModel {
        KafkaModel::default()
    }

    /// The broker's clock: session timeouts expire, records get timestamps.
    pub fn advance(&mut self, now: Time) {
        self.now = self.now.max(now);
        let expired: Vec<String> = self.groups.iter().filter(|(_, g)| g.has_expired_members(self.now)).map(|(n, _)| n.clone()).collect();
        for name in expired {
            let g = self.groups.get_mut(&name).expect("group listed above");
            g.expire_members(self.now);
            self.write_group_metadata(&name);
        }
    }

    pub fn now(&self) -> Time {
        self.now
    }

    // ---- topics -------------------------------------------------------------------------------

    /// `kafka-topics --create`.
    pub fn create_topic(&mut self, name: &str, partitions: i32) -> Result<(), String> {
        if partitions < 1 {
            return Err(format!("Number of partitions must be larger than 0 (given {partitions})"));
        }
        if self.topics.contains_key(name) {
            return Err(format!("Topic '{name}' already exists."));
        }
        validate_topic_name(name)?;
        self.topics.insert(name.into(), vec![PartitionLog::default(); partitions as usize]);
        Ok(())
    }

    /// `kafka-topics --delete`: the data goes, and the group coordinator tombstones every committed
    /// offset of the topic (KAFKA-2000); an Empty group left without offsets becomes Dead.
    pub fn delete_topic(&mut self, name: &str) -> Result<(), String> {
        if self.topics.remove(name).is_none() {
            return Err(format!("Topic '{name}' does not exist as expected"));
        }
        let names: Vec<String> = self.groups.keys().cloned().collect();
        for g in names {
            let group = self.groups.get_mut(&g).expect("listed");
            let gone: Vec<TopicPartition> = group.committed.keys().filter(|tp| tp.topic == name).cloned().collect();
            for tp in &gone {
                group.committed.remove(tp);
            }
            let dead = group.members.is_empty() && group.committed.is_empty();
            for tp in gone {
                self.write_commit(&g, &tp, None);
            }
            if dead {
                self.groups.remove(&g);
                let offset = self.offsets_topic.len() as i64;
                self.offsets_topic.push(OffsetsTopicRecord::GroupMetadata { offset, group: g, value: None });
            }
        }
        Ok(())
    }

    /// `kafka-topics --alter --partitions N`: partitions can only be added.
    pub fn add_partitions(&mut self, topic: &str, total: i32) -> Result<(), String> {
        let parts = self.topics.get_mut(topic).ok_or_else(|| format!("Topic '{topic}' does not exist as expected"))?;
        if total <= parts.len() as i32 {
            return Err(format!("Topic currently has {} partitions, which is higher than the requested {total}.", parts.len()));
        }
        parts.resize(total as usize, PartitionLog::default());
        Ok(())
    }

    pub fn partitions(&self, topic: &str) -> Option<i32> {
        self.topics.get(topic).map(|p| p.len() as i32)
    }

    pub fn log(&self, tp: &TopicPartition) -> Option<&PartitionLog> {
        self.topics.get(&tp.topic)?.get(usize::try_from(tp.partition).ok()?)
    }

    fn log_mut(&mut self, tp: &TopicPartition) -> Option<&mut PartitionLog> {
        self.topics.get_mut(&tp.topic)?.get_mut(usize::try_from(tp.partition).ok()?)
    }

    /// Log start and end of every partition of a topic.
    pub fn describe_topic(&self, topic: &str) -> Option<Vec<(i64, i64)>> {
        self.topics.get(topic).map(|ps| ps.iter().map(|p| (p.log_start, p.log_end())).collect())
    }

    /// Produces one record; the partition is `partition`, else the key's murmur2 partition.
    pub fn produce(&mut self, topic: &str, partition: Option<i32>, key: Option<&str>, value: &str) -> Result<TopicPartition, String> {
        let n = self.partitions(topic).ok_or_else(|| format!("Topic {topic} not present in metadata"))?;
        let p = match (partition, key) {
            (Some(p), _) if (0..n).contains(&p) => p,
            (Some(p), _) => return Err(format!("Invalid partition given with record: {p} is not in the range [0...{n}).")),
            (None, Some(k)) => partitioner::partition_for_key(k.as_bytes(), n),
            (None, None) => return Err("a record needs a key or a partition here (the sticky partitioner is not modelled)".into()),
        };
        let tp = TopicPartition::new(topic, p);
        let now = self.now.ms();
        let log = self.log_mut(&tp).expect("partition checked above");
        let offset = log.log_end();
        log.records.push(Record { offset, key: key.map(str::to_string), value: value.to_string(), timestamp: now });
        Ok(tp)
    }

    /// `kafka-delete-records`: the log start moves to `before` (at most the log end).
    pub fn delete_records(&mut self, tp: &TopicPartition, before: i64) -> Result<i64, String> {
        let log = self.log_mut(tp).ok_or_else(|| format!("This server does not host this topic-partition. ({tp})"))?;
        if before > log.log_end() || before < 0 {
            return Err(format!(
                "The requested offset {before} is not within the range [0, {}] of {tp} (OFFSET_OUT_OF_RANGE)",
                log.log_end()
            ));
        }
        let drop = (before - log.log_start).max(0) as usize;
        log.records.drain(..drop);
        log.log_start = log.log_start.max(before);
        Ok(log.log_start)
    }

    /// The first offset whose timestamp is ≥ `ts` (ListOffsets by timestamp), if any.
    pub fn offset_for_time(&self, tp: &TopicPartition, ts: i64) -> Option<i64> {
        self.log(tp)?.records.iter().find(|r| r.timestamp >= ts).map(|r| r.offset)
    }

    // ---- groups -------------------------------------------------------------------------------

    /// The group's state as `--describe` shows it (`Dead` when it does not exist).
    pub fn group_state(&self, group: &str) -> GroupState {
        self.groups.get(group).map_or(GroupState::Dead, Group::state)
    }

    pub fn committed(&self, group: &str) -> Offsets {
        self.groups.get(group).map(|g| g.committed.clone()).unwrap_or_default()
    }

    /// Request `id` (the caller's id for it): the reply now, or `None` while the coordinator holds it
    /// (a JoinGroup waits until every other member has rejoined or timed out). A held request's
    /// reply comes, once, from [`Self::completed`].
    pub fn request(&mut self, id: u64, req: &KafkaRequest) -> Option<KafkaReply> {
        let reply = self.serve(req);
        if reply.is_none() {
            self.held.push((id, req.clone()));
        }
        reply
    }

    /// The held requests that can complete now, in arrival order, each handed out once; the
    /// coordinator tries them again whenever it is asked (its clock or its members may have moved).
    pub fn completed(&mut self) -> Vec<(u64, KafkaReply)> {
        let mut done = Vec::new();
        for (id, req) in std::mem::take(&mut self.held) {
            match self.serve(&req) {
                Some(reply) => done.push((id, reply)),
                None => self.held.push((id, req)),
            }
        }
        done
    }

    /// Forgets held request `id`: the client that sent it stopped.
    pub fn cancel(&mut self, id: u64) {
        self.held.retain(|(i, _)| *i != id);
    }

    /// Answers one of the engine's requests, or `None` while it cannot be answered yet (a JoinGroup
    /// waits until every other member has rejoined or timed out): [`Self::request`] holds such a
    /// request and completes it later.
    pub fn serve(&mut self, req: &KafkaRequest) -> Option<KafkaReply> {
        Some(match req {
            KafkaRequest::GroupPoll { group, member_id, client_id, topics, session_timeout_ms, metadata_max_age_ms } => {
                return self.group_poll(group, member_id.as_deref(), client_id, topics, *session_timeout_ms, *metadata_max_age_ms)
            }
            KafkaRequest::LeaveGroup { group, member_id } => {
                if let Some(g) = self.groups.get_mut(group) {
                    if g.members.remove(member_id).is_some() {
                        g.generation += 1;
                        self.write_group_metadata(group);
                    }
                }
                KafkaReply::Left
            }
            KafkaRequest::ListOffsets { partitions, spec } => KafkaReply::Offsets {
                offsets: partitions
                    .iter()
                    .map(|tp| {
                        let r = self.log(tp).map(|l| match spec {
                            OffsetSpec::Earliest => l.log_start,
                            OffsetSpec::Latest => l.log_end(),
                            OffsetSpec::Timestamp(ts) => self.offset_for_time(tp, *ts).unwrap_or(-1),
                        });
                        (tp.clone(), r.ok_or(KafkaError::UnknownTopicOrPartition))
                    })
                    .collect(),
            },
            KafkaRequest::OffsetFetch { group, partitions } => {
                let committed = self.committed(group);
                KafkaReply::Committed { offsets: partitions.iter().map(|tp| (tp.clone(), committed.get(tp).copied())).collect() }
            }
            KafkaRequest::OffsetCommit { group, member, offsets } => {
                KafkaReply::CommitResult { result: self.commit(group, member.as_ref(), offsets) }
            }
            KafkaRequest::Fetch { partition, offset, max_records } => match self.log(partition) {
                None => KafkaReply::FetchError { error: KafkaError::UnknownTopicOrPartition },
                Some(log) if *offset < log.log_start || *offset > log.log_end() => {
                    KafkaReply::FetchError { error: KafkaError::OffsetOutOfRange }
                }
                Some(log) => {
                    let from = (*offset - log.log_start) as usize;
                    let to = (from + (*max_records).max(0) as usize).min(log.records.len());
                    KafkaReply::Records {
                        records: log.records[from..to].to_vec(),
                        log_start_offset: log.log_start,
                        high_watermark: log.log_end(),
                    }
                }
            },
            KafkaRequest::ListTopics => {
                KafkaReply::Topics { topics: self.topics.iter().map(|(t, p)| (t.clone(), Some(p.len() as i32))).collect() }
            }
            KafkaRequest::DescribeTopics { topics } => {
                KafkaReply::Topics { topics: topics.iter().map(|t| (t.clone(), self.partitions(t))).collect() }
            }
        })
    }

    /// When a waiting JoinGroup can next make progress: the earliest session expiry of a member
    /// that has not rejoined a pending rebalance.
    pub fn next_deadline(&self) -> Option<Time> {
        self.groups.values().filter_map(Group::rebalance_deadline).min()
    }

    /// OffsetCommit: members must name their generation; generation −1 only for a group without
    /// members (and it creates the group if needed).
    pub fn commit(&mut self, group: &str, member: Option<&(String, i32)>, offsets: &[(TopicPartition, i64)]) -> Result<(), KafkaError> {
        if let Some((tp, _)) = offsets.iter().find(|(tp, _)| self.log(tp).is_none()) {
            let _ = tp;
            return Err(KafkaError::UnknownTopicOrPartition);
        }
        let g = self.groups.entry(group.to_string()).or_default();
        match member {
            Some((id, generation)) => match g.members.get(id) {
                None => return Err(KafkaError::UnknownMemberId),
                Some(_) if *generation != g.generation => return Err(KafkaError::IllegalGeneration),
                Some(_) => {}
            },
            None if !g.members.is_empty() => return Err(KafkaError::UnknownMemberId),
            None => {}
        }
        g.committed.extend(offsets.iter().cloned());
        for (tp, o) in offsets {
            self.write_commit(group, tp, Some(*o));
        }
        Ok(())
    }

    fn group_poll(
        &mut self,
        group: &str,
        member_id: Option<&str>,
        client_id: &str,
        topics: &[String],
        session_timeout_ms: i64,
        metadata_max_age_ms: i64,
    ) -> Option<KafkaReply> {
        let now = self.now;
        let metadata: BTreeMap<String, i32> = self.topics.iter().map(|(t, p)| (t.clone(), p.len() as i32)).collect();
        let g = self.groups.entry(group.to_string()).or_default();
        g.refresh_metadata(now, &metadata, metadata_max_age_ms);
        let member = || Member {
            client_id: client_id.into(),
            topics: topics.to_vec(),
            session_timeout_ms,
            metadata_max_age_ms,
            last_heartbeat: now,
        };
        let id = match member_id.filter(|id| g.members.contains_key(*id)) {
            Some(id) => {
                g.members.get_mut(id).expect("checked").last_heartbeat = now;
                if g.rejoins(now) && g.rebalance_complete(now) {
                    let joining = std::mem::take(&mut g.joining);
                    for (client, new_id) in self.let_in(group, joining) {
                        self.groups.get_mut(group).expect("entry").admitted.insert(client, new_id);
                    }
                }
                id.to_string()
            }
            // A joiner let in by a rebalance that completed while it waited.
            None if g.admitted.contains_key(client_id) => g.admitted.remove(client_id).expect("checked"),
            // A new member: the rebalance completes once every other member has rejoined (polled
            // since it began) or been dropped for missing its session timeout.
            None if !g.rebalance_complete(now) => {
                g.joining.entry(client_id.to_string()).or_insert_with(member);
                return None;
            }
            None => {
                g.joining.remove(client_id);
                self.let_in(group, BTreeMap::from([(client_id.to_string(), member())])).remove(0).1
            }
        };
        let g = &self.groups[group];
        let partitions = g.assignment(&id, |t| g.metadata.get(t).copied());
        Some(KafkaReply::Assignment { member_id: id, generation: g.generation, partitions })
    }

    /// Joiners (by client id) become members with new ids, heartbeating now: a new generation, the
    /// rebalance over. Returns (client id, member id) per joiner.
    fn let_in(&mut self, group: &str, joiners: BTreeMap<String, Member>) -> Vec<(String, String)> {
        let now = self.now;
        let mut ids = Vec::new();
        for (client, mut m) in joiners {
            self.next_member += 1;
            let id = format!("{client}-{:08x}", self.next_member);
            m.last_heartbeat = now;
            self.groups.get_mut(group).expect("entry").members.insert(id.clone(), m);
            ids.push((client, id));
        }
        let g = self.groups.get_mut(group).expect("entry");
        g.generation += 1;
        g.rebalance_since = None;
        self.write_group_metadata(group);
        ids
    }

    /// An `OffsetCommitValue` as Kafka 4.1.1 writes it (version 4, no leader epoch, empty metadata),
    /// or a tombstone.
    fn write_commit(&mut self, group: &str, tp: &TopicPartition, committed: Option<i64>) {
        let offset = self.offsets_topic.len() as i64;
        let value = committed.map(|o| OffsetCommitValue {
            version: 4,
            offset: o,
            leader_epoch: -1,
            metadata: String::new(),
            commit_timestamp: self.now.ms(),
            expire_timestamp: None,
        });
        self.offsets_topic.push(OffsetsTopicRecord::OffsetCommit {
            offset,
            group: group.into(),
            topic: tp.topic.clone(),
            partition: tp.partition,
            value,
        });
    }

    /// A `GroupMetadataValue` as Kafka 4.1.1 writes it (version 3): protocol and leader only while the
    /// group has members. Members join with their session timeout as the rebalance timeout, as the
    /// project's client does.
    fn write_group_metadata(&mut self, group: &str) {
        let Some(g) = self.groups.get(group) else { return };
        let members: Vec<GroupMetadataMember> = g
            .members
            .iter()
            .map(|(id, m)| GroupMetadataMember {
                member_id: id.clone(),
                group_instance_id: None,
                client_id: m.client_id.clone(),
                client_host: "/127.0.0.1".into(),
                rebalance_timeout: m.session_timeout_ms.clamp(0, i32::MAX as i64) as i32,
                session_timeout: m.session_timeout_ms.clamp(0, i32::MAX as i64) as i32,
            })
            .collect();
        let value = GroupMetadataValue {
            version: 3,
            protocol_type: "consumer".into(),
            generation: g.generation,
            protocol: (!members.is_empty()).then(|| "range".to_string()),
            leader: members.first().map(|m| m.member_id.clone()),
            current_state_timestamp: Some(self.now.ms()),
            members,
        };
        let offset = self.offsets_topic.len() as i64;
        self.offsets_topic.push(OffsetsTopicRecord::GroupMetadata { offset, group: group.into(), value: Some(value) });
    }
}

/// Kafka's topic name rule: 1–249 of `[a-zA-Z0-9._-]`, not `.` or `..`.
fn validate_topic_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name == "." || name == ".." {
        return Err(format!("Topic name \"{name}\" is illegal"));
    }
    if name.len() > 249 {
        return Err("Topic name is illegal, it can't be longer than 249 characters".into());
    }
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-') {
        return Err(format!("Topic name \"{name}\" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'"));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
