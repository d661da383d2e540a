//! What a scenario checks and shows: `expect` steps judged against the run, the status table's
//! numbers (log, Spark's view, the checkpoint's and the group's), and a step as a short phrase.

use crate::backend::KafkaBackend;
use crate::format::{Action, Expect, Step};
use crate::runner::Run;
use engine::checkpoint::{self, Checkpoint};
use engine::offsets::{Offsets, TopicPartition};
use engine::time::{clock, Time};
use engine::trace::{TraceEvent, TraceLine};
use std::collections::BTreeMap;
use std::fmt::Debug;

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

/// What the run saw that expectations read later.
#[derive(Clone, Debug, Default)]
pub(crate) struct Observed {
    pub tool_output: Vec<String>,
    pub output_since_expect: Vec<String>,
    pub last_error: Option<(String, String)>,
    pub any_error: bool,
}

impl Observed {
    pub fn record(&mut self, line: &TraceLine) {
        match &line.event {
            TraceEvent::Output { lines, .. } => self.output_since_expect.extend(lines.iter().cloned()),
            TraceEvent::Error { class, message, .. } => {
                self.last_error = Some((class.clone(), message.clone()));
                self.any_error = true;
            }
            _ => {}
        }
    }
}

impl<K: KafkaBackend> Run<'_, K> {
    /// The group's state as the table and `expect` print it.
    pub fn group_state_text(&self, group: &str) -> String {
        self.kafka.group_state(group).map_or_else(|e| format!("unknown ({e})"), |s| s.to_string())
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
        Status { at, rows, group_state: self.group_state_text(&group), group, running: self.engine.is_running(), checkpoint_files: files }
    }

    pub(crate) fn check(&mut self, index: usize, step: &Step, e: &Expect) {
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
        // absences: each lists what it expected absent and was there, so the failure names it
        if let Some(x) = &e.no_current_offsets {
            let cur = self.engine.current_offsets().cloned().unwrap_or_default();
            eq("partitions in currentOffsets", &Vec::<&TopicPartition>::new(), &present(x, |tp| cur.contains_key(tp)));
        }
        if let Some(x) = &e.no_group {
            // Kafka describes a group it does not have as Dead with no members (the model says so;
            // a real broker may refuse the describe instead) and lists no offsets for it
            let exists = |g: &String| {
                let dead = match self.kafka.group_state(g) {
                    Ok(s) => s == kafka_model::GroupState::Dead,
                    Err(e) => e.contains("does not exist"),
                };
                !dead || !self.kafka.committed(g).is_empty()
            };
            eq("groups that exist", &Vec::<&String>::new(), &present(x, exists));
        }
        if let Some(x) = &e.no_batch {
            let mut generated = Vec::new();
            for when in x {
                let Ok(ms) = crate::format::parse_clock(when) else {
                    eq("batch time", &"a clock time like 12:00:05", when);
                    continue;
                };
                let batch = Time(self.scenario.day_start.ms() + ms);
                if self.trace.iter().any(|l| matches!(&l.event, TraceEvent::BatchGenerated { batch: b, .. } if *b == batch)) {
                    generated.push(when);
                }
            }
            eq("batches generated at", &Vec::<&String>::new(), &generated);
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
                let (want, got) = log_offsets(&self.kafka, x, start);
                eq(what, &want, &got);
            }
        }
        if let Some(x) = &e.group_state {
            eq("group state", x, &self.group_state_text(&group));
        }
        if let Some(x) = e.running {
            eq("running", &x, &self.engine.is_running());
        }
        if let Some(x) = &e.error {
            eq("last error", &Some(x.clone()), &self.observed.last_error.as_ref().map(|e| e.1.clone()));
        }
        if let Some(x) = &e.error_class {
            eq("last error class", &Some(x.clone()), &self.observed.last_error.as_ref().map(|e| e.0.clone()));
        }
        if e.no_error == Some(true) {
            eq("errors so far", &None::<(String, String)>, &self.observed.any_error.then(|| self.observed.last_error.clone()).flatten());
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
                    if let Some(o) = &x.no_current_offsets {
                        let cur = engine::offsets::from_list(&cp.current_offsets);
                        eq(
                            "partitions in the checkpoint's currentOffsets",
                            &Vec::<&TopicPartition>::new(),
                            &present(o, |tp| cur.contains_key(tp)),
                        );
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
            eq("print() output", x, &self.observed.output_since_expect);
        }
        if let Some(x) = &e.tool_output {
            eq("tool output", x, &self.observed.tool_output);
        }
        self.observed.output_since_expect.clear();
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

/// The items of an absence expectation that are there after all.
fn present<T>(items: &[T], mut there: impl FnMut(&T) -> bool) -> Vec<&T> {
    items.iter().filter(|i| there(i)).collect()
}

/// An `expect`'s log starts (`start`) or log ends, next to what Kafka has (none for a partition it
/// does not have): the same check for the DStream and the Structured Streaming runner.
pub(crate) type LogOffsets = BTreeMap<TopicPartition, Option<i64>>;
pub(crate) fn log_offsets(kafka: &impl KafkaBackend, want: &BTreeMap<TopicPartition, i64>, start: bool) -> (LogOffsets, LogOffsets) {
    let got = want.keys().map(|tp| (tp.clone(), kafka.log_range(tp).map(|l| if start { l.0 } else { l.1 }))).collect();
    (want.iter().map(|(tp, o)| (tp.clone(), Some(*o))).collect(), got)
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
