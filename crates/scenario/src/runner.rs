//! Runs a scenario headless: the engine, the in-memory Kafka model and a checkpoint storage,
//! wired together by a synchronous shell. Deterministic: same scenario, same trace.

use crate::backend::KafkaBackend;
use crate::format::{Action, Expect, Scenario, Step};
use engine::checkpoint::{self, Checkpoint};
use engine::kafka::KafkaRequest;
use engine::offsets::{Offsets, TopicPartition};
use engine::storage::{self, Storage};
use engine::time::{clock, Time};
use engine::trace::{TraceEvent, TraceLine};
use engine::{Engine, Input, Output, Reply, Request};
use kafka_model::KafkaModel;
use std::collections::BTreeMap;
use std::fmt::Debug;

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

/// Where every partition stands: the topic's log, Spark's view, the checkpoint's and the group's.
#[derive(Clone, Debug, PartialEq)]
pub struct Status {
    pub at: Time,
    pub rows: Vec<StatusRow>,
    pub group: String,
    pub group_state: String,
    pub running: bool,
    pub checkpoint_files: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct StatusRow {
    pub partition: TopicPartition,
    pub log_start: Option<i64>,
    pub log_end: Option<i64>,
    pub current: Option<i64>,
    pub checkpointed: Option<i64>,
    pub committed: Option<i64>,
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
    /// Requests Kafka cannot answer yet (a JoinGroup waiting for a rebalance).
    deferred: Vec<(u64, Request)>,
    /// Other consumers in the driver's group: (group, topics, member id once joined).
    consumers: Vec<(String, Vec<String>, Option<String>)>,
    tool_output: Vec<String>,
    output_since_expect: Vec<String>,
    last_error: Option<(String, String)>,
    any_error: bool,
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
            deferred: Vec::new(),
            consumers: Vec::new(),
            tool_output: Vec::new(),
            output_since_expect: Vec::new(),
            last_error: None,
            any_error: false,
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
                self.tool_output = lines.clone();
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
                self.consumers.push((group.clone(), topics.clone(), None));
                None
            }
            Action::LeaveGroup { group } => {
                if let Some(i) = self.consumers.iter().position(|c| &c.0 == group) {
                    let (group, _, member) = self.consumers.remove(i);
                    if let Some(member_id) = member {
                        let _ = self.kafka.serve(&KafkaRequest::LeaveGroup { group, member_id });
                    }
                }
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

    /// Lets the job run until `t`: every batch due fires at its own time, and a waiting JoinGroup
    /// completes when the member it waits for times out.
    pub fn advance_to(&mut self, t: Time) {
        loop {
            self.pump();
            let timer = self.engine.next_timeout();
            let waiting = !self.deferred.is_empty() || self.consumers.iter().any(|c| c.2.is_none());
            let kafka = if waiting { self.kafka.next_deadline() } else { None };
            let Some(next) = [timer, kafka].into_iter().flatten().min().filter(|n| *n <= t) else { break };
            self.kafka.advance(next);
            self.engine.handle_timeout(next).expect("time moves forward");
        }
        self.kafka.advance(t);
        self.engine.handle_timeout(t).expect("steps move forward");
        self.pump();
    }

    /// Answers the engine's requests and records its events until it is idle.
    fn pump(&mut self) {
        self.poll_consumers();
        self.retry_deferred();
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
            Request::Kafka(k) => match self.kafka.serve_id(id, k) {
                Some(r) => Reply::Kafka(r),
                None => return self.deferred.push((id, request)),
            },
            Request::Storage(s) => Reply::Storage(storage::serve(self.storage.as_mut(), s)),
        };
        // Replies to a killed driver's requests are dropped by the engine, as the network would.
        let _ = self.engine.handle_reply(id, reply);
    }

    /// The other consumers poll all the time: they join, then heartbeat.
    fn poll_consumers(&mut self) {
        for (group, topics, member) in &mut self.consumers {
            let req = KafkaRequest::GroupPoll {
                group: group.clone(),
                member_id: member.clone(),
                client_id: "console-consumer".into(),
                topics: topics.clone(),
                session_timeout_ms: engine::SESSION_TIMEOUT_MS,
            };
            if let Some(engine::kafka::KafkaReply::Assignment { member_id, .. }) = self.kafka.serve(&req) {
                *member = Some(member_id);
            }
        }
    }

    fn retry_deferred(&mut self) {
        for (id, request) in std::mem::take(&mut self.deferred) {
            self.answer(id, request);
        }
    }

    fn record(&mut self, line: TraceLine) {
        match &line.event {
            TraceEvent::Output { lines, .. } => self.output_since_expect.extend(lines.iter().cloned()),
            TraceEvent::Error { class, message, .. } => {
                self.last_error = Some((class.clone(), message.clone()));
                self.any_error = true;
            }
            _ => {}
        }
        self.log.push(LogEntry::Trace(line.clone()));
        self.trace.push(line);
    }

    fn tool(&mut self, at: Time, lines: Vec<String>) {
        if !lines.is_empty() {
            self.log.push(LogEntry::Tool { at, lines });
        }
    }

    fn fail(&mut self, index: usize, step: &Step, message: String) {
        let full = format!("{}:{}: step {} at {}: {message}", self.scenario.name, step.line, index + 1, clock(step.at));
        self.log.push(LogEntry::Failure { index, message: full.clone() });
        self.failures.push(full);
    }

    /// The newest checkpoint Spark's reader would pick, if any.
    pub fn newest_checkpoint(&self) -> Option<(String, Checkpoint)> {
        let dir = self.scenario.job.checkpoint_dir.as_ref()?;
        let names = self.storage.list(dir).ok()?;
        checkpoint::reader_order(&names).into_iter().find_map(|n| {
            let bytes = self.storage.read(&format!("{dir}/{n}")).ok()?;
            Checkpoint::from_bytes(&bytes).ok().map(|c| (n, c))
        })
    }

    pub fn status(&self, at: Time) -> Status {
        let job = &self.scenario.job;
        let group = job.group_id().unwrap_or_default().to_string();
        let committed = self.kafka.committed(&group);
        let current = self.engine.current_offsets().cloned().unwrap_or_default();
        let newest = self.newest_checkpoint();
        let checkpointed: Offsets = newest.as_ref().map(|(_, c)| engine::offsets::from_list(&c.current_offsets)).unwrap_or_default();
        let mut parts: Vec<TopicPartition> = Vec::new();
        for topic in job.strategy.topics() {
            for p in 0..self.kafka.partitions(&topic).unwrap_or(0) {
                parts.push(TopicPartition::new(topic.clone(), p));
            }
        }
        parts.extend(current.keys().cloned());
        parts.extend(checkpointed.keys().cloned());
        parts.extend(committed.keys().cloned());
        parts.sort();
        parts.dedup();
        let rows = parts
            .into_iter()
            .map(|tp| {
                let log = self.kafka.log_range(&tp);
                StatusRow {
                    log_start: log.map(|l| l.0),
                    log_end: log.map(|l| l.1),
                    current: current.get(&tp).copied(),
                    checkpointed: checkpointed.get(&tp).copied(),
                    committed: committed.get(&tp).copied(),
                    partition: tp,
                }
            })
            .collect();
        let files =
            job.checkpoint_dir.as_ref().and_then(|d| self.storage.list(d).ok()).map(|n| checkpoint::sort_files(&n)).unwrap_or_default();
        Status { at, rows, group_state: self.kafka.group_state(&group), group, running: self.engine.is_running(), checkpoint_files: files }
    }

    fn check(&mut self, index: usize, step: &Step, e: &Expect) {
        let group = self.scenario.job.group_id().unwrap_or_default().to_string();
        let mut problems = Vec::new();
        let mut eq = |what: &str, expected: &dyn Debug, actual: &dyn Debug| {
            let (x, a) = (format!("{expected:?}"), format!("{actual:?}"));
            if x != a {
                problems.push(format!("{what}: expected {x}, got {a}"));
            }
        };
        if let Some(x) = &e.current_offsets {
            eq("currentOffsets", x, &self.engine.current_offsets().cloned().unwrap_or_default());
        }
        if let Some(x) = &e.committed {
            let c = self.kafka.committed(&group);
            let got: BTreeMap<_, _> = x.keys().map(|tp| (tp.clone(), c.get(tp).copied())).collect();
            let want: BTreeMap<_, _> = x.iter().map(|(tp, o)| (tp.clone(), Some(*o))).collect();
            eq("committed", &want, &got);
        }
        if let Some(x) = &e.no_committed {
            let c = self.kafka.committed(&group);
            let has: Vec<&TopicPartition> = x.iter().filter(|tp| c.contains_key(*tp)).collect();
            eq("partitions with a committed offset", &Vec::<&TopicPartition>::new(), &has);
        }
        for (what, want, start) in [("log end", &e.log_end, false), ("log start", &e.log_start, true)] {
            if let Some(x) = want {
                let got: BTreeMap<_, _> =
                    x.keys().map(|tp| (tp.clone(), self.kafka.log_range(tp).map(|l| if start { l.0 } else { l.1 }))).collect();
                let want: BTreeMap<_, _> = x.iter().map(|(tp, o)| (tp.clone(), Some(*o))).collect();
                eq(what, &want, &got);
            }
        }
        if let Some(x) = &e.group_state {
            eq("group state", x, &self.kafka.group_state(&group));
        }
        if let Some(x) = e.running {
            eq("running", &x, &self.engine.is_running());
        }
        if let Some(x) = &e.error {
            eq("last error", &Some(x.clone()), &self.last_error.as_ref().map(|e| e.1.clone()));
        }
        if let Some(x) = &e.error_class {
            eq("last error class", &Some(x.clone()), &self.last_error.as_ref().map(|e| e.0.clone()));
        }
        if e.no_error == Some(true) {
            eq("errors so far", &None::<(String, String)>, &self.any_error.then(|| self.last_error.clone()).flatten());
        }
        if let Some(x) = &e.state {
            eq("updateStateByKey state", x, &self.engine.state().cloned().unwrap_or_default());
        }
        if let Some(x) = &e.last_ranges {
            let last = self.trace.iter().rev().find_map(|l| match &l.event {
                TraceEvent::BatchGenerated { ranges, .. } => Some(ranges.clone()),
                _ => None,
            });
            let got: crate::format::Ranges =
                last.unwrap_or_default().iter().map(|r| (r.topic_partition(), (r.from_offset, r.until_offset))).collect();
            eq("ranges of the newest batch", x, &got);
        }
        if let Some(x) = &e.batch_ranges {
            for (when, want) in x {
                let Ok(ms) = crate::format::parse_clock(when) else {
                    eq("batch time", &"a clock time like 12:00:05", when);
                    continue;
                };
                let batch = Time(self.scenario.day_start.ms() + ms);
                let got: Option<crate::format::Ranges> = self.trace.iter().rev().find_map(|l| match &l.event {
                    TraceEvent::BatchGenerated { batch: b, ranges, .. } if *b == batch => {
                        Some(ranges.iter().map(|r| (r.topic_partition(), (r.from_offset, r.until_offset))).collect())
                    }
                    _ => None,
                });
                eq(&format!("ranges of batch {when}"), &Some(want.clone()), &got);
            }
        }
        if let Some(x) = &e.checkpoint_files {
            let files = self.status(step.at).checkpoint_files;
            let x: Vec<String> = x.iter().map(|f| self.expand_file_name(f)).collect();
            eq("checkpoint files", &x, &files);
        }
        if let Some(x) = &e.newest_checkpoint {
            match self.newest_checkpoint() {
                None => eq("newest checkpoint", &"a readable checkpoint", &"none"),
                Some((name, cp)) => {
                    if let Some(f) = &x.file {
                        eq("newest checkpoint file", &self.expand_file_name(f), &name);
                    }
                    if let Some(o) = &x.current_offsets {
                        eq("checkpoint currentOffsets", o, &engine::offsets::from_list(&cp.current_offsets));
                    }
                    if let Some(q) = &x.commit_queue {
                        let got: Vec<(TopicPartition, i64, i64)> =
                            cp.commit_queue.iter().map(|r| (r.topic_partition(), r.from_offset, r.until_offset)).collect();
                        eq("checkpoint commitQueue", q, &got);
                    }
                    if let Some(p) = &x.pending_times {
                        let got: Vec<String> = cp.pending_times.iter().map(|t| clock(*t)).collect();
                        eq("checkpoint pendingTimes", p, &got);
                    }
                }
            }
        }
        if let Some(x) = &e.output_since_last_expect {
            eq("print() output", x, &self.output_since_expect);
        }
        if let Some(x) = &e.tool_output {
            eq("tool output", x, &self.tool_output);
        }
        self.output_since_expect.clear();
        for p in problems {
            self.fail(index, step, p);
        }
    }

    /// Lets expectations name checkpoint files by clock time: `checkpoint-<12:00:25>.bk`.
    fn expand_file_name(&self, f: &str) -> String {
        match (f.find('<'), f.find('>')) {
            (Some(a), Some(b)) if a < b => match crate::format::parse_clock(&f[a + 1..b]) {
                Ok(ms) => format!("{}{}{}", &f[..a], self.scenario.day_start.ms() + ms, &f[b + 1..]),
                Err(_) => f.to_string(),
            },
            _ => f.to_string(),
        }
    }
}

/// A step as a short phrase for logs.
pub fn describe(a: &Action) -> String {
    match a {
        Action::Start { .. } => "start: StreamingContext.getOrCreate(…).start()".into(),
        Action::Stop { graceful: true } => "stop (graceful)".into(),
        Action::Stop { graceful: false } => "stop (not graceful)".into(),
        Action::Kill => "kill -9 the driver".into(),
        Action::Produce { topic, records } => {
            let items: Vec<String> = records
                .iter()
                .map(|(p, k, v)| match (p, k) {
                    (Some(p), _) => format!("{v}→p{p}"),
                    (None, Some(k)) => format!("{k}:::{v}"),
                    _ => v.clone(),
                })
                .collect();
            format!("produce to {topic}: {}", items.join(", "))
        }
        Action::CreateTopic { topic, partitions } => format!("kafka-topics --create --topic {topic} --partitions {partitions}"),
        Action::DeleteTopic { topic } => format!("kafka-topics --delete --topic {topic}"),
        Action::DeleteRecords { partition, before } => format!("kafka-delete-records: {partition} before offset {before}"),
        Action::ResetOffsets { args } => format!("kafka-consumer-groups --reset-offsets {args}"),
        Action::DeleteCheckpoint => "rm -r the checkpoint directory".into(),
        Action::ChangeCode => "change the application's code (new classes)".into(),
        Action::JoinGroup { group, topics } => {
            format!("kafka-console-consumer --group {group} --topic {} (keeps running)", topics.join(","))
        }
        Action::LeaveGroup { group } => format!("the console consumer of group {group} stops"),
        Action::AddPartitions { topic, partitions } => format!("kafka-topics --alter --topic {topic} --partitions {partitions}"),
        Action::Expect(_) => "expect".into(),
    }
}
