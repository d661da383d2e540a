//! Runs a scenario: the engine, a Kafka (the in-memory model unless said otherwise) and a checkpoint
//! storage, wired together by a synchronous driver. Every engine request is answered exactly once:
//! at once, or later by its id (the model's held JoinGroups as its clock moves; an asynchronous
//! Kafka's replies through [`Run::deliver`]). Deterministic on the model: same scenario, same trace.

use crate::backend::KafkaBackend;
use crate::expect::Observed;
use crate::format::{Action, Scenario, Step};
use engine::kafka::{KafkaReply, KafkaRequest};
use engine::storage::{self, Storage};
use engine::time::{clock, Time};
use engine::trace::TraceLine;
use engine::{Engine, Input, Output, Reply, Request};
use kafka_model::KafkaModel;
use std::collections::BTreeSet;

pub use crate::expect::{describe, Status, StatusRow};

/// Ids of the console consumers' requests start here, far above any the engine hands out (it counts
/// from 1), so one id space serves both.
pub const CONSUMER_REQUEST_IDS: u64 = 1 << 63;

/// A line of the run's log: a step, or what happened.
#[derive(Clone, Debug, PartialEq)]
pub enum LogEntry {
    Step {
        index: usize,
        at: Time,
        action: String,
    },
    Trace(TraceLine),
    /// What a Kafka tool printed, or why it refused.
    Tool {
        at: Time,
        lines: Vec<String>,
    },
    /// The three numbers side by side, after a step.
    Status(Status),
    Failure {
        index: usize,
        message: String,
    },
}

/// Another consumer in a group (`kafka-console-consumer --group …`): it polls all the time.
struct Consumer {
    group: String,
    topics: Vec<String>,
    member_id: Option<String>,
    /// The id of its poll that Kafka has not answered yet.
    polling: Option<u64>,
}

/// A scenario in progress: the engine, a Kafka (the in-memory model unless said otherwise) and a
/// checkpoint storage, driven step by step.
pub struct Run<'s, K: KafkaBackend = KafkaModel> {
    pub scenario: &'s Scenario,
    pub engine: Engine,
    pub kafka: K,
    pub storage: Box<dyn Storage>,
    pub trace: Vec<TraceLine>,
    pub log: Vec<LogEntry>,
    pub failures: Vec<String>,
    code_version: u32,
    /// Requests handed to Kafka whose reply has not come yet.
    awaiting: BTreeSet<u64>,
    consumers: Vec<Consumer>,
    next_consumer_request: u64,
    pub(crate) observed: Observed,
}

impl<'s> Run<'s, KafkaModel> {
    /// A run against the in-memory Kafka model.
    pub fn new(scenario: &'s Scenario, storage: Box<dyn Storage>) -> Result<Run<'s, KafkaModel>, String> {
        Run::with_kafka(scenario, storage, KafkaModel::new())
    }
}

impl<'s, K: KafkaBackend> Run<'s, K> {
    /// A run against any Kafka; the scenario's topics are created first.
    pub fn with_kafka(scenario: &'s Scenario, storage: Box<dyn Storage>, mut kafka: K) -> Result<Run<'s, K>, String> {
        kafka.advance(scenario.steps.first().map_or(scenario.day_start, |s| s.at));
        for (name, partitions) in &scenario.topics {
            kafka.create_topic(name, *partitions)?;
        }
        Ok(Run {
            scenario,
            engine: Engine::new(),
            kafka,
            storage,
            trace: Vec::new(),
            log: Vec::new(),
            failures: Vec::new(),
            code_version: 1,
            awaiting: BTreeSet::new(),
            consumers: Vec::new(),
            next_consumer_request: CONSUMER_REQUEST_IDS,
            observed: Observed::default(),
        })
    }

    /// Runs every step; expectations that fail are collected in `failures`.
    pub fn run_all(&mut self) {
        for (i, step) in self.scenario.steps.iter().enumerate() {
            self.step(i, step);
        }
    }

    pub fn step(&mut self, index: usize, step: &Step) {
        self.advance_to(step.at);
        self.log.push(LogEntry::Step { index, at: step.at, action: describe(&step.action) });
        let now = step.at;
        let refused = match &step.action {
            Action::Start { job } => {
                self.engine.handle_input(now, Input::Start { job: Box::new(job.clone()), code_version: self.code_version }).err()
            }
            Action::Stop { graceful } => self.engine.handle_input(now, Input::Stop { graceful: *graceful }).err(),
            Action::Kill => self.engine.handle_input(now, Input::Kill).err(),
            Action::Produce { topic, records } => {
                let mut lines = Vec::new();
                for (p, k, v) in records {
                    if let Err(e) = self.kafka.produce(topic, *p, k.as_deref(), v) {
                        lines.push(format!("ERROR {e}"));
                    }
                }
                self.tool(now, lines);
                None
            }
            Action::CreateTopic { topic, partitions } => {
                let r = self.kafka.create_topic(topic, *partitions);
                self.tool(
                    now,
                    vec![r.map_or_else(|e| format!("Error while executing topic command : {e}"), |_| format!("Created topic {topic}."))],
                );
                None
            }
            Action::DeleteTopic { topic } => {
                let r = self.kafka.delete_topic(topic);
                self.tool(now, r.err().map(|e| format!("Error while executing topic command : {e}")).into_iter().collect());
                None
            }
            Action::DeleteRecords { partition, before } => {
                let r = self.kafka.delete_records(partition, *before);
                let line = match r {
                    Ok(low) => format!("partition: {partition}\tlow_watermark: {low}"),
                    Err(e) => format!("partition: {partition}\terror: {e}"),
                };
                self.tool(now, vec![line]);
                None
            }
            Action::ResetOffsets { args } => {
                let lines = self.kafka.reset_offsets(args).unwrap_or_else(|e| kafka_model::reset::error_output(&e));
                self.observed.tool_output = lines.clone();
                self.tool(now, lines);
                None
            }
            Action::DeleteCheckpoint => {
                if let Some(dir) = &self.scenario.job.checkpoint_dir {
                    if let Err(e) = self.storage.delete(dir) {
                        self.tool(now, vec![format!("rm: {e}")]);
                    }
                }
                None
            }
            Action::ChangeCode => {
                self.code_version += 1;
                None
            }
            Action::JoinGroup { group, topics } => {
                self.consumers.push(Consumer { group: group.clone(), topics: topics.clone(), member_id: None, polling: None });
                None
            }
            Action::LeaveGroup { group } => {
                self.leave_group(group);
                None
            }
            Action::AddPartitions { topic, partitions } => {
                let r = self.kafka.add_partitions(topic, *partitions);
                self.tool(now, r.err().map(|e| format!("Error while executing topic command : {e}")).into_iter().collect());
                None
            }
            Action::Expect(e) => {
                self.check(index, step, e);
                None
            }
        };
        if let Some(r) = refused {
            self.fail(index, step, format!("refused: {}", r.0));
        }
        self.pump();
        if !matches!(step.action, Action::Expect(_)) {
            let status = self.status(now);
            self.log.push(LogEntry::Status(status));
        }
    }

    /// Stops a running context (not gracefully): its consumer leaves the group.
    pub fn stop_if_running(&mut self) {
        if self.engine.is_running() {
            let now = self.engine.now();
            let _ = self.engine.handle_input(now, Input::Stop { graceful: false });
            self.pump();
        }
    }

    /// Lets the job run until `t`: every batch due fires at its own time, and a JoinGroup Kafka holds
    /// completes when the member it waits for times out.
    pub fn advance_to(&mut self, t: Time) {
        loop {
            self.pump();
            let timer = self.engine.next_timeout();
            let kafka = if self.awaiting.is_empty() { None } else { self.kafka.next_deadline() };
            let Some(due) = [timer, kafka].into_iter().flatten().min().filter(|n| *n <= t) else { break };
            // A timer can be due before the engine's clock: a live Kafka answered the start's poll
            // after the first batch time. Spark's RecurringTimer then fires at once, late, for that
            // batch time; so does the engine when woken now.
            let next = due.max(self.engine.now());
            self.kafka.advance(next);
            self.engine.handle_timeout(next).expect("time moves forward");
        }
        self.kafka.advance(t);
        self.engine.handle_timeout(t).expect("steps move forward");
        self.pump();
    }

    /// The reply to request `id`, which Kafka answered later (its [`KafkaBackend::request`] returned
    /// `None`): handed to the engine (or the console consumer that asked) once, and what follows from
    /// it is run. A second reply for the same id, or one for an id never asked, is refused.
    pub fn deliver(&mut self, id: u64, reply: KafkaReply) -> Result<(), String> {
        self.take_reply(id, reply)?;
        self.pump();
        Ok(())
    }

    /// Requests whose reply has not come yet.
    pub fn awaiting(&self) -> usize {
        self.awaiting.len()
    }

    fn take_reply(&mut self, id: u64, reply: KafkaReply) -> Result<(), String> {
        if !self.awaiting.remove(&id) {
            return Err(format!("no request {id} is waiting for a reply (it was answered already, or never asked)"));
        }
        if id >= CONSUMER_REQUEST_IDS {
            // None polling: the consumer stopped, or this answers its LeaveGroup.
            if let Some(c) = self.consumers.iter_mut().find(|c| c.polling == Some(id)) {
                c.polling = None;
                if let KafkaReply::Assignment { member_id, .. } = reply {
                    c.member_id = Some(member_id);
                }
            }
        } else {
            // Replies to a killed driver's requests are dropped by the engine, as the network would.
            let _ = self.engine.handle_reply(id, Reply::Kafka(reply));
        }
        Ok(())
    }

    /// Answers the engine's requests and records its events until it is idle.
    fn pump(&mut self) {
        self.poll_consumers();
        for (id, reply) in self.kafka.completed() {
            self.take_reply(id, reply).expect("Kafka completes only requests it was asked and has not answered");
        }
        loop {
            match self.engine.poll_output() {
                Output::Request { id, request } => self.answer(id, request),
                Output::Trace(line) => self.record(line),
                Output::Timeout(_) | Output::Idle => return,
            }
        }
    }

    fn answer(&mut self, id: u64, request: Request) {
        let reply = match &request {
            Request::Kafka(k) => match self.kafka.request(id, k) {
                Some(r) => Reply::Kafka(r),
                None => {
                    self.awaiting.insert(id);
                    return;
                }
            },
            Request::Storage(s) => Reply::Storage(storage::serve(self.storage.as_mut(), s)),
        };
        // Replies to a killed driver's requests are dropped by the engine, as the network would.
        let _ = self.engine.handle_reply(id, reply);
    }

    /// Sends a console consumer's request; its reply, if it comes now.
    fn consumer_request(&mut self, req: &KafkaRequest) -> (u64, Option<KafkaReply>) {
        let id = self.next_consumer_request;
        self.next_consumer_request += 1;
        let reply = self.kafka.request(id, req);
        if reply.is_none() {
            self.awaiting.insert(id);
        }
        (id, reply)
    }

    /// The other consumers poll all the time: they join, then heartbeat; one poll at a time each.
    fn poll_consumers(&mut self) {
        for i in 0..self.consumers.len() {
            let c = &self.consumers[i];
            if c.polling.is_some() {
                continue;
            }
            let req = KafkaRequest::GroupPoll {
                group: c.group.clone(),
                member_id: c.member_id.clone(),
                client_id: "console-consumer".into(),
                topics: c.topics.clone(),
                session_timeout_ms: engine::SESSION_TIMEOUT_MS,
                metadata_max_age_ms: engine::METADATA_MAX_AGE_MS,
            };
            match self.consumer_request(&req) {
                (_, Some(KafkaReply::Assignment { member_id, .. })) => self.consumers[i].member_id = Some(member_id),
                (_, Some(_)) => {}
                (id, None) => self.consumers[i].polling = Some(id),
            }
        }
    }

    /// The console consumer of `group` stops: a poll Kafka holds is forgotten, and a member leaves.
    fn leave_group(&mut self, group: &str) {
        let Some(i) = self.consumers.iter().position(|c| c.group == group) else { return };
        let c = self.consumers.remove(i);
        if let Some(id) = c.polling {
            self.kafka.cancel(id);
            self.awaiting.remove(&id);
        }
        if let Some(member_id) = c.member_id {
            self.consumer_request(&KafkaRequest::LeaveGroup { group: c.group, member_id });
        }
    }

    fn record(&mut self, line: TraceLine) {
        self.observed.record(&line);
        self.log.push(LogEntry::Trace(line.clone()));
        self.trace.push(line);
    }

    fn tool(&mut self, at: Time, lines: Vec<String>) {
        if !lines.is_empty() {
            self.log.push(LogEntry::Tool { at, lines });
        }
    }

    pub(crate) fn fail(&mut self, index: usize, step: &Step, message: String) {
        let full = format!("{}:{}: step {} at {}: {message}", self.scenario.name, step.line, index + 1, clock(step.at));
        self.log.push(LogEntry::Failure { index, message: full.clone() });
        self.failures.push(full);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine::offsets::{Offsets, TopicPartition};
    use engine::storage::MemoryStorage;
    use kafka_model::GroupState;

    /// A Kafka that answers nothing at once: the test delivers each reply, as the page's session
    /// does when a frame arrives. The answers are the model's.
    #[derive(Default)]
    struct Later {
        model: KafkaModel,
        asked: Vec<(u64, KafkaRequest)>,
    }

    impl KafkaBackend for Later {
        fn request(&mut self, id: u64, req: &KafkaRequest) -> Option<KafkaReply> {
            self.asked.push((id, req.clone()));
            None
        }
        fn cancel(&mut self, id: u64) {
            self.asked.retain(|(i, _)| *i != id);
        }
        fn advance(&mut self, now: Time) {
            self.model.advance(now)
        }
        fn next_deadline(&self) -> Option<Time> {
            None
        }
        fn produce(&mut self, topic: &str, partition: Option<i32>, key: Option<&str>, value: &str) -> Result<(), String> {
            self.model.produce(topic, partition, key, value).map(|_| ())
        }
        fn create_topic(&mut self, topic: &str, partitions: i32) -> Result<(), String> {
            self.model.create_topic(topic, partitions)
        }
        fn delete_topic(&mut self, topic: &str) -> Result<(), String> {
            self.model.delete_topic(topic)
        }
        fn add_partitions(&mut self, topic: &str, total: i32) -> Result<(), String> {
            self.model.add_partitions(topic, total)
        }
        fn delete_records(&mut self, tp: &TopicPartition, before: i64) -> Result<i64, String> {
            self.model.delete_records(tp, before)
        }
        fn reset_offsets(&mut self, args: &str) -> Result<Vec<String>, String> {
            self.model.reset_offsets(args).map(|p| p.lines)
        }
        fn group_state(&self, group: &str) -> Result<GroupState, String> {
            Ok(self.model.group_state(group))
        }
        fn committed(&self, group: &str) -> Offsets {
            self.model.committed(group)
        }
        fn log_range(&self, tp: &TopicPartition) -> Option<(i64, i64)> {
            KafkaBackend::log_range(&self.model, tp)
        }
        fn partitions(&self, topic: &str) -> Option<i32> {
            self.model.partitions(topic)
        }
    }

    const SCENARIO: &str = r#"
version = 1
name = "later"
[[topic]]
name = "words"
partitions = 2
[job]
topics = ["words"]
group = "g"
[[step]]
at = "12:00:02"
do = "start"
[[step]]
at = "12:00:03"
do = "produce"
topic = "words"
lines = ["a:::x", "b:::y", "c:::z"]
"#;

    /// Delivers every reply the model gives until nothing is asked; how many were delivered.
    fn deliver_all(run: &mut Run<'_, Later>) -> usize {
        let mut n = 0;
        while !run.kafka.asked.is_empty() {
            let (id, req) = run.kafka.asked.remove(0);
            let reply = run.kafka.model.serve(&req).expect("no rebalance in this scenario");
            run.deliver(id, reply).unwrap();
            n += 1;
        }
        n
    }

    #[test]
    fn replies_delivered_later_give_the_trace_of_replies_given_at_once() {
        let s = crate::format::parse("later.toml", SCENARIO).unwrap();
        let mut now = Run::new(&s, Box::new(MemoryStorage::default())).unwrap();
        let mut later = Run::with_kafka(&s, Box::new(MemoryStorage::default()), Later::default()).unwrap();
        let mut delivered = 0;
        for (i, step) in s.steps.iter().enumerate() {
            now.step(i, step);
            later.step(i, step);
            delivered += deliver_all(&mut later);
        }
        // Time moves on only once every reply is in, batch by batch.
        for t in (5..=20).step_by(5) {
            let at = Time(s.day_start.ms() + 12 * 3_600_000 + t * 1000);
            now.advance_to(at);
            later.advance_to(at);
            delivered += deliver_all(&mut later);
        }
        assert!(delivered > 10, "{delivered}");
        assert_eq!(later.awaiting(), 0);
        assert_eq!(later.trace, now.trace);
        assert!(now.trace.iter().any(|l| matches!(l.event, engine::trace::TraceEvent::BatchGenerated { num_records: 3, .. })));
    }

    #[test]
    fn a_reply_is_taken_once_and_one_nobody_asked_for_is_refused() {
        let s = crate::format::parse("later.toml", SCENARIO).unwrap();
        let mut run = Run::with_kafka(&s, Box::new(MemoryStorage::default()), Later::default()).unwrap();
        run.step(0, &s.steps[0]);
        let (id, req) = run.kafka.asked.remove(0);
        assert_eq!(run.awaiting(), 1 + run.kafka.asked.len());
        let reply = run.kafka.model.serve(&req).unwrap();
        run.deliver(id, reply.clone()).unwrap();
        let again = run.deliver(id, reply.clone()).unwrap_err();
        assert!(again.contains(&format!("no request {id} is waiting")), "{again}");
        let unknown = run.deliver(4_242, reply).unwrap_err();
        assert!(unknown.contains("no request 4242 is waiting"), "{unknown}");
    }

    #[test]
    fn a_console_consumer_polls_once_at_a_time_and_its_held_poll_is_cancelled_when_it_stops() {
        let s = crate::format::parse("later.toml", SCENARIO).unwrap();
        let mut run = Run::with_kafka(&s, Box::new(MemoryStorage::default()), Later::default()).unwrap();
        let at = s.steps[0].at;
        let join = Step { at, action: Action::JoinGroup { group: "other".into(), topics: vec!["words".into()] }, line: 0 };
        run.step(0, &join);
        let polls: Vec<u64> = run.kafka.asked.iter().map(|a| a.0).collect();
        assert_eq!(polls, vec![CONSUMER_REQUEST_IDS]);
        // Nothing is asked twice while the poll waits.
        run.advance_to(Time(at.ms() + 1_000));
        assert_eq!(run.kafka.asked.len(), 1);
        let (id, req) = run.kafka.asked.remove(0);
        let reply = run.kafka.model.serve(&req).unwrap();
        run.deliver(id, reply).unwrap();
        // The next poll is a heartbeat of the member the reply named.
        let [(hb, KafkaRequest::GroupPoll { member_id: Some(_), .. })] = &run.kafka.asked[..] else { panic!("{:?}", run.kafka.asked) };
        let hb = *hb;
        assert!(hb > id);
        run.step(1, &Step { at: Time(at.ms() + 1_000), action: Action::LeaveGroup { group: "other".into() }, line: 0 });
        // The waiting heartbeat is forgotten; the LeaveGroup goes out.
        assert!(matches!(&run.kafka.asked[..], [(_, KafkaRequest::LeaveGroup { .. })]), "{:?}", run.kafka.asked);
        assert!(run.deliver(hb, KafkaReply::Left).is_err());
    }
}
