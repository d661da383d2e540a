//! Admin operations: create and delete topics, add partitions, delete records, and
//! `kafka-consumer-groups --reset-offsets` — the one planner (`kafka_model::reset`) over facts read
//! from the broker, as the tool reads them.

use crate::data::Tp;
use crate::{rs_error, wire, Kafka, OpError, Result, V_CREATE_PARTITIONS};
use engine::offsets::{Offsets, TopicPartition};
use kafka_model::reset::{self, ResetPlan, ResetView};
use kafka_model::GroupState;
use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use protocol::{ErrorCode, PartitionOffset};
use rskafka::client::partition::OffsetAt;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::time::Duration;

impl Kafka {
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
    pub(crate) async fn await_metadata(&self, topic: &str, present: bool) -> Result<()> {
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

    /// `kafka-delete-records`: returns the new log start.
    pub async fn delete_records(&self, topic: &str, partition: i32, before_offset: i64) -> Result<i64> {
        let pc = self.partition(topic, partition).await?;
        pc.delete_records(before_offset, 10_000).await.map_err(|e| rs_error(&format!("delete records of {topic}-{partition}"), e))?;
        pc.get_offset(OffsetAt::Earliest).await.map_err(|e| rs_error(&format!("{topic}-{partition} earliest"), e))
    }

    /// `kafka-topics --alter --partitions N` (CreatePartitions): partitions can only be added. Waits
    /// until metadata lists them, as [`Self::create_topic`] does.
    pub async fn add_partitions(&self, topic: &str, total: i32) -> Result<()> {
        let req = CreatePartitionsRequest::default()
            .with_topics(vec![CreatePartitionsTopic::default()
                .with_name(TopicName(StrBytes::from_string(topic.to_string())))
                .with_count(total)
                .with_assignments(None)])
            .with_timeout_ms(10_000);
        let resp: CreatePartitionsResponse = self.call(ApiKey::CreatePartitions, V_CREATE_PARTITIONS, &req).await?;
        for r in resp.results {
            if let Some(e) = wire::error_name(r.error_code) {
                let detail = r.error_message.map(|m| format!(" ({m})")).unwrap_or_default();
                return Err(OpError::new(ErrorCode::Kafka, format!("CreatePartitions {topic}: {e}{detail}")));
            }
        }
        for _ in 0..200 {
            if self.partitions(topic).await? == total {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(OpError::new(ErrorCode::Kafka, format!("topic {topic} does not list {total} partitions in metadata after 10 s")))
    }

    /// `kafka-consumer-groups --reset-offsets <args>` against this broker. The model's planner runs
    /// over what the tool would read (DescribeGroups, OffsetFetch, Metadata, ListOffsets), fetched as
    /// the planner asks for it; `--execute` commits with generation −1, as
    /// `Admin.alterConsumerGroupOffsets` does. `now_ms` is the tool's clock (`--by-duration`). `Err`
    /// holds what the tool prints on failure.
    pub async fn reset_offsets(&self, args: &str, now_ms: i64) -> std::result::Result<ResetPlan, String> {
        let parsed = reset::parse_args(args)?;
        let mut facts = LiveFacts { now_ms, ..LiveFacts::default() };
        let plan = loop {
            let outcome = reset::plan(&parsed, &facts);
            let missing = facts.missing.take();
            if missing.is_empty() {
                break outcome?;
            }
            self.learn(&mut facts, missing).await.map_err(|e| format!("Error: {}", e.message))?;
        };
        if plan.execute && !plan.offsets.is_empty() {
            let offsets: Vec<PartitionOffset> = plan
                .offsets
                .iter()
                .map(|(tp, o)| PartitionOffset { topic: tp.topic.clone(), partition: tp.partition, offset: *o })
                .collect();
            let results = self.commit(&parsed.group, None, &offsets).await.map_err(|e| format!("Error: {}", e.message))?;
            if let Some(e) = results.into_iter().find_map(|r| r.error) {
                return Err(format!("Error: {e}"));
            }
        }
        Ok(plan)
    }

    /// Asks the broker for the facts the planner missed.
    async fn learn(&self, facts: &mut LiveFacts, missing: Vec<Fact>) -> Result<()> {
        let mut logs = Vec::new();
        let mut times: BTreeMap<i64, Vec<Tp>> = BTreeMap::new();
        for fact in missing {
            match fact {
                Fact::State(g) => {
                    let (state, ..) = self.describe_group_raw(&g).await?;
                    facts.states.insert(g, state);
                }
                Fact::Committed(g) => {
                    let committed = self.committed(&g).await?.into_iter().map(|((t, p), o)| (TopicPartition::new(t, p), o)).collect();
                    facts.committed.insert(g, committed);
                }
                Fact::Partitions(t) => {
                    let n = match self.partitions(&t).await {
                        Ok(n) => Some(n),
                        Err(e) if e.code == ErrorCode::Kafka => None,
                        Err(e) => return Err(e),
                    };
                    facts.partitions.insert(t, n);
                }
                Fact::Log(tp) => logs.push((tp.topic, tp.partition)),
                Fact::Time(tp, ts) => times.entry(ts).or_default().push((tp.topic, tp.partition)),
            }
        }
        if !logs.is_empty() {
            let (starts, ends) = match (self.list_offsets_raw(&logs, -2).await, self.list_offsets_raw(&logs, -1).await) {
                (Ok(s), Ok(e)) => (s, e),
                (Err(e), _) | (_, Err(e)) if e.code != ErrorCode::Kafka => return Err(e),
                // UNKNOWN_TOPIC_OR_PARTITION for one of them: the tool fails on it, and so does the planner.
                _ => (BTreeMap::new(), BTreeMap::new()),
            };
            for tp in logs {
                let range = starts.get(&tp).copied().flatten().zip(ends.get(&tp).copied().flatten());
                facts.logs.insert(TopicPartition::new(tp.0, tp.1), range);
            }
        }
        for (ts, tps) in times {
            let found = self.list_offsets_raw(&tps, ts.max(0)).await?;
            for tp in tps {
                let o = found.get(&tp).copied().flatten();
                facts.by_time.insert((TopicPartition::new(tp.0, tp.1), ts), o);
            }
        }
        Ok(())
    }
}

/// A fact the planner asked for and [`LiveFacts`] did not have yet.
#[derive(Debug, PartialEq)]
enum Fact {
    State(String),
    Committed(String),
    Partitions(String),
    Log(TopicPartition),
    Time(TopicPartition, i64),
}

/// What the tool has read so far. The planner runs against it; whatever it lacks is noted in
/// `missing` and fetched before the next run, until a run lacks nothing.
#[derive(Default)]
struct LiveFacts {
    states: BTreeMap<String, GroupState>,
    committed: BTreeMap<String, Offsets>,
    partitions: BTreeMap<String, Option<i32>>,
    /// (log start, log end); `None` for a partition the broker does not have.
    logs: BTreeMap<TopicPartition, Option<(i64, i64)>>,
    by_time: BTreeMap<(TopicPartition, i64), Option<i64>>,
    now_ms: i64,
    missing: RefCell<Vec<Fact>>,
}

impl LiveFacts {
    fn lack(&self, fact: Fact) {
        let mut missing = self.missing.borrow_mut();
        if !missing.contains(&fact) {
            missing.push(fact);
        }
    }

    fn log(&self, tp: &TopicPartition) -> Option<(i64, i64)> {
        match self.logs.get(tp) {
            Some(range) => *range,
            None => {
                self.lack(Fact::Log(tp.clone()));
                None
            }
        }
    }
}

impl ResetView for LiveFacts {
    fn group_state(&self, group: &str) -> GroupState {
        self.states.get(group).copied().unwrap_or_else(|| {
            self.lack(Fact::State(group.to_string()));
            GroupState::Dead
        })
    }
    fn committed(&self, group: &str) -> Offsets {
        self.committed.get(group).cloned().unwrap_or_else(|| {
            self.lack(Fact::Committed(group.to_string()));
            Offsets::new()
        })
    }
    fn partitions(&self, topic: &str) -> Option<i32> {
        self.partitions.get(topic).copied().unwrap_or_else(|| {
            self.lack(Fact::Partitions(topic.to_string()));
            None
        })
    }
    fn log_start(&self, tp: &TopicPartition) -> Option<i64> {
        self.log(tp).map(|r| r.0)
    }
    fn log_end(&self, tp: &TopicPartition) -> Option<i64> {
        self.log(tp).map(|r| r.1)
    }
    fn offset_for_time(&self, tp: &TopicPartition, ts: i64) -> Option<i64> {
        self.by_time.get(&(tp.clone(), ts)).copied().unwrap_or_else(|| {
            self.lack(Fact::Time(tp.clone(), ts));
            None
        })
    }
    fn now_ms(&self) -> i64 {
        self.now_ms
    }
}
