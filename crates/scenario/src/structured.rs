//! Runs a Structured Streaming scenario (`[job] api = "structured"`) headless: `crates/structured`'s engine,
//! a Kafka (the in-memory model unless said otherwise) and the checkpoint storage the DStream runner uses.

use crate::backend::KafkaBackend;
use crate::expect::log_offsets;
use crate::format::{Action, Ranges, Scenario, StructuredAction, StructuredExpect, StructuredScenario, StructuredStep};
use engine::io::{Reply, Request};
use engine::offsets::TopicPartition;
use engine::storage::{self, Storage, StorageRequest};
use engine::time::{clock, Time};
use kafka_model::KafkaModel;
use std::collections::BTreeMap;
use std::fmt::Debug;
use structured::{Engine, Event, Input, Output, QueryConfig, TraceLine};

/// The broker address the engine's query names (the harness maps its own to it).
pub const BOOTSTRAP: &str = "127.0.0.1:9092";

/// The placeholder a `reset_offsets` step's args use for the executors' group.
pub const EXECUTOR_GROUP: &str = "{executorGroup}";

/// A Structured Streaming scenario in progress.
pub struct StructuredRun<'s, K: KafkaBackend = KafkaModel> {
    pub scenario: &'s Scenario,
    pub engine: Engine,
    pub kafka: K,
    pub storage: Box<dyn Storage>,
    pub trace: Vec<TraceLine>,
    /// Each step as `(at, phrase)`, the tools' output and failures, in order, for the readable listing.
    pub log: Vec<String>,
    pub failures: Vec<String>,
    /// The query of the newest start (its executors' group is what `{executorGroup}` names).
    query: Option<QueryConfig>,
    /// `kill` with `in_batch`: the driver dies when the running batch is about to write `commits/N`.
    kill_before_commit: bool,
    /// The scenario clock.
    now: Time,
    starts: u64,
    rows_since_expect: Vec<String>,
}

impl<'s> StructuredRun<'s, KafkaModel> {
    pub fn new(scenario: &'s Scenario, storage: Box<dyn Storage>) -> Result<StructuredRun<'s, KafkaModel>, String> {
        StructuredRun::with_kafka(scenario, storage, KafkaModel::new())
    }
}

impl<'s, K: KafkaBackend> StructuredRun<'s, K> {
    pub fn with_kafka(scenario: &'s Scenario, storage: Box<dyn Storage>, mut kafka: K) -> Result<StructuredRun<'s, K>, String> {
        let steps = &Self::spec(scenario)?.steps;
        kafka.advance(steps.first().map_or(scenario.day_start, |s| s.at));
        for (name, partitions) in &scenario.topics {
            kafka.create_topic(name, *partitions)?;
        }
        Ok(StructuredRun {
            scenario,
            engine: Engine::new(),
            kafka,
            storage,
            trace: Vec::new(),
            log: Vec::new(),
            failures: Vec::new(),
            query: None,
            kill_before_commit: false,
            now: scenario.day_start,
            starts: 0,
            rows_since_expect: Vec::new(),
        })
    }

    fn spec(scenario: &Scenario) -> Result<&StructuredScenario, String> {
        scenario.structured.as_ref().ok_or_else(|| format!("{} is not a Structured Streaming scenario", scenario.name))
    }

    pub fn run_all(&mut self) {
        let spec = self.scenario.structured.as_ref().expect("checked in with_kafka");
        for (i, step) in spec.steps.iter().enumerate() {
            self.step(i, step);
        }
    }

    pub fn step(&mut self, index: usize, step: &StructuredStep) {
        self.advance_to(step.at);
        let now = step.at;
        self.log.push(format!("{} step {}: {}", clock(now), index + 1, describe(&step.action)));
        let refused = match &step.action {
            StructuredAction::Start { job } => match job.query(BOOTSTRAP) {
                Ok(mut q) => {
                    // streamingUniqueGroupId draws a new UUID.randomUUID for every start of the query
                    self.starts += 1;
                    q.uuid_seed = self.starts;
                    self.query = Some(q.clone());
                    self.engine.handle_input(now, Input::Start(Box::new(q))).err()
                }
                Err(e) => Some(e),
            },
            StructuredAction::Stop => self.engine.handle_input(now, Input::Stop).err(),
            StructuredAction::Kill { in_batch: false } => self.engine.handle_input(now, Input::Kill).err(),
            StructuredAction::Kill { in_batch: true } => {
                if self.engine.is_running() {
                    self.kill_before_commit = true;
                    None
                } else {
                    Some("the query is not running".into())
                }
            }
            StructuredAction::DeleteCheckpoint => {
                let dir = &self.scenario.structured.as_ref().expect("structured").job.checkpoint_dir;
                if let Err(e) = self.storage.delete(dir) {
                    self.log.push(format!("  rm: {e}"));
                }
                None
            }
            StructuredAction::Kafka(a) => {
                self.kafka_tool(a);
                None
            }
            StructuredAction::Expect(e) => {
                self.check(index, step, e);
                None
            }
        };
        if let Some(r) = refused {
            self.fail(index, step, format!("refused: {r}"));
        }
        self.pump();
    }

    /// The Kafka tools a step runs, as the DStream runner runs them.
    fn kafka_tool(&mut self, a: &Action) {
        let out: Vec<String> = match a {
            Action::Produce { topic, records } => records
                .iter()
                .filter_map(|(p, k, v)| self.kafka.produce(topic, *p, k.as_deref(), v).err())
                .map(|e| format!("ERROR {e}"))
                .collect(),
            Action::CreateTopic { topic, partitions } => vec![self
                .kafka
                .create_topic(topic, *partitions)
                .map_or_else(|e| format!("Error while executing topic command : {e}"), |_| format!("Created topic {topic}."))],
            Action::DeleteTopic { topic } => {
                self.kafka.delete_topic(topic).err().map(|e| format!("Error while executing topic command : {e}")).into_iter().collect()
            }
            Action::AddPartitions { topic, partitions } => self
                .kafka
                .add_partitions(topic, *partitions)
                .err()
                .map(|e| format!("Error while executing topic command : {e}"))
                .into_iter()
                .collect(),
            Action::DeleteRecords { partition, before } => vec![match self.kafka.delete_records(partition, *before) {
                Ok(low) => format!("partition: {partition}\tlow_watermark: {low}"),
                Err(e) => format!("partition: {partition}\terror: {e}"),
            }],
            Action::ResetOffsets { args } => {
                let group = self.query.as_ref().map(QueryConfig::executor_group_id).unwrap_or_default();
                let args = args.replace(EXECUTOR_GROUP, &group);
                self.kafka.reset_offsets(&args).unwrap_or_else(|e| kafka_model::reset::error_output(&e))
            }
            other => vec![format!("not a Kafka tool: {other:?}")],
        };
        self.log.extend(out.into_iter().map(|l| format!("  {l}")));
    }

    /// Lets the query run until `t`: every trigger due fires at its own time.
    pub fn advance_to(&mut self, t: Time) {
        loop {
            self.pump();
            let next = match self.engine.poll_output() {
                // A trigger due before the query's clock (a live Kafka answered late) fires now.
                Output::Timeout(n) if n <= t => n.max(self.now),
                _ => break,
            };
            self.now = next;
            self.kafka.advance(next);
            self.engine.handle_timeout(next).expect("time moves forward");
        }
        self.now = t;
        self.kafka.advance(t);
        self.engine.handle_timeout(t).expect("steps move forward");
        self.pump();
    }

    fn pump(&mut self) {
        // Kafka answers a request it held (the model's coordinator completing a JoinGroup) once, here.
        for (id, reply) in self.kafka.completed() {
            let _ = self.engine.handle_reply(id, Reply::Kafka(reply));
        }
        loop {
            match self.engine.poll_output() {
                Output::Request { id, request } => {
                    let commit = matches!(&request, Request::Storage(StorageRequest::Write { path, .. }) if is_commit_file(path));
                    if commit && self.kill_before_commit {
                        // kill -9 inside the batch: offsets/N is written, commits/N never is
                        self.kill_before_commit = false;
                        let _ = self.engine.handle_input(self.now, Input::Kill);
                        continue;
                    }
                    self.answer(id, request)
                }
                Output::Trace(line) => self.record(line),
                Output::Timeout(_) | Output::Idle => return,
            }
        }
    }

    fn answer(&mut self, id: u64, request: Request) {
        let reply = match &request {
            Request::Kafka(k) => match self.kafka.request(id, k) {
                Some(r) => Reply::Kafka(r),
                // answered later, through `completed`
                None => return,
            },
            Request::Storage(s) => Reply::Storage(storage::serve(self.storage.as_mut(), s)),
        };
        // a killed driver's replies are dropped, as the network would
        let _ = self.engine.handle_reply(id, reply);
    }

    fn record(&mut self, line: TraceLine) {
        if let Event::BatchRun { rows, .. } = &line.event {
            let mut values: Vec<String> = rows.iter().map(|r| r.value.clone()).collect();
            values.sort();
            self.rows_since_expect.extend(values);
        }
        self.log.push(format!("  {}", serde_json::to_string(&line).expect("trace lines serialize")));
        self.trace.push(line);
    }

    fn fail(&mut self, index: usize, step: &StructuredStep, message: String) {
        let full = format!("{}:{}: step {} at {}: {message}", self.scenario.name, step.line, index + 1, clock(step.at));
        self.log.push(format!("✗ {full}"));
        self.failures.push(full);
    }

    fn last_error(&self) -> Option<&engine::error::SparkError> {
        self.trace.iter().rev().find_map(|l| match &l.event {
            Event::QueryTerminated { error: Some(e), .. } => Some(e),
            _ => None,
        })
    }

    fn batches(&self) -> impl DoubleEndedIterator<Item = (i64, Ranges)> + '_ {
        self.trace.iter().filter_map(|l| match &l.event {
            Event::BatchRun { batch_id, ranges, .. } => {
                Some((*batch_id, ranges.iter().map(|r| (r.topic_partition(), (r.from_offset, r.until_offset))).collect()))
            }
            _ => None,
        })
    }

    fn check(&mut self, index: usize, step: &StructuredStep, e: &StructuredExpect) {
        let mut problems = Vec::new();
        let mut eq = |what: &str, expected: &dyn Debug, actual: &dyn Debug| {
            let (x, a) = (format!("{expected:?}"), format!("{actual:?}"));
            if x != a {
                problems.push(format!("{what}: expected {x}, got {a}"));
            }
        };
        if let Some(x) = e.running {
            eq("running", &x, &self.engine.is_running());
        }
        let last = self.last_error();
        if let Some(x) = &e.error {
            eq("error", &Some(x), &last.map(|e| &e.message));
        }
        if let Some(x) = &e.error_class {
            eq("error class", &Some(x), &last.map(|e| &e.class));
        }
        if e.no_error == Some(true) {
            eq("errors so far", &None::<&engine::error::SparkError>, &last);
        }
        for (what, want, start) in [("log end", &e.log_end, false), ("log start", &e.log_start, true)] {
            if let Some(x) = want {
                let (want, got) = log_offsets(&self.kafka, x, start);
                eq(what, &want, &got);
            }
        }
        if let Some(x) = &e.last_ranges {
            eq("ranges of the newest batch", &Some(x.clone()), &self.batches().next_back().map(|b| b.1));
        }
        if let Some(x) = &e.batch_ranges {
            for (id, want) in x {
                let got = self.batches().rfind(|b| b.0.to_string() == *id).map(|b| b.1);
                eq(&format!("ranges of batch {id}"), &Some(want.clone()), &got);
            }
        }
        if let Some(x) = &e.rows_since_last_expect {
            eq("rows since the last expect", x, &self.rows_since_expect);
        }
        if let Some(x) = &e.checkpoint_files {
            eq("checkpoint files", x, &self.log_files());
        }
        if let Some(x) = &e.executor_group_committed {
            let group = self.query.as_ref().map(QueryConfig::executor_group_id).unwrap_or_default();
            let c = self.kafka.committed(&group);
            let got: BTreeMap<_, _> = x.keys().map(|tp| (tp.clone(), c.get(tp).copied())).collect();
            let want: BTreeMap<TopicPartition, Option<i64>> = x.iter().map(|(tp, o)| (tp.clone(), Some(*o))).collect();
            eq("the executors' group's committed offsets", &want, &got);
        }
        if let Some(x) = &e.executor_group {
            let group = self.query.as_ref().map(QueryConfig::executor_group_id).unwrap_or_default();
            eq("the executors' group", x, &crate::group_mask::mask_generated(&group));
        }
        if let Some(x) = &e.executor_group_state {
            let group = self.query.as_ref().map(QueryConfig::executor_group_id).unwrap_or_default();
            eq(
                "the executors' group's state",
                x,
                &self.kafka.group_state(&group).map_or_else(|e| format!("unknown ({e})"), |s| s.to_string()),
            );
        }
        self.rows_since_expect.clear();
        for p in problems {
            self.fail(index, step, p);
        }
    }

    /// `offsets/N` and `commits/N` in the checkpoint, sorted by name.
    pub fn log_files(&self) -> Vec<String> {
        let dir = &self.scenario.structured.as_ref().expect("structured").job.checkpoint_dir;
        let mut files = Vec::new();
        for sub in ["commits", "offsets"] {
            let mut ids: Vec<i64> =
                self.storage.list(&format!("{dir}/{sub}")).unwrap_or_default().iter().filter_map(|n| n.parse().ok()).collect();
            ids.sort();
            files.extend(ids.into_iter().map(|i| format!("{sub}/{i}")));
        }
        files
    }
}

fn is_commit_file(path: &str) -> bool {
    path.rsplit_once("/commits/").is_some_and(|(_, n)| n.parse::<i64>().is_ok())
}

/// A step as a short phrase for the listing.
pub fn describe(a: &StructuredAction) -> String {
    match a {
        StructuredAction::Start { job } => format!("writeStream…start() (trigger {}, options {:?})", job.trigger, job.options),
        StructuredAction::Stop => "query.stop()".into(),
        StructuredAction::Kill { in_batch: false } => "kill -9 the driver".into(),
        StructuredAction::Kill { in_batch: true } => "kill -9 the driver inside the next batch (after offsets/N, before commits/N)".into(),
        StructuredAction::DeleteCheckpoint => "rm -r the checkpoint directory".into(),
        StructuredAction::Kafka(a) => crate::runner::describe(a),
        StructuredAction::Expect(_) => "expect".into(),
    }
}

/// Runs a Structured Streaming scenario against the in-memory model.
pub fn run_with(s: &Scenario, storage: Box<dyn Storage>) -> Result<StructuredRun<'_>, String> {
    let mut run = StructuredRun::new(s, storage)?;
    run.run_all();
    Ok(run)
}

/// The trace as JSON lines (`docs/trace.md`, "Structured Streaming").
pub fn trace_jsonl<K: KafkaBackend>(run: &StructuredRun<'_, K>) -> String {
    run.trace.iter().map(|l| serde_json::to_string(l).expect("trace lines serialize") + "\n").collect()
}
