//! The page's session: the engine and a Kafka (scenario's `Run`) driven by the page's actions.
//! Offline the Kafka is the in-memory model on a logical clock, replayable from the action log alone
//! (that log is what a share link carries); live it is a real broker behind the bridge, on the wall
//! clock, with checkpoint files copied to the bridge's directory.

use crate::bridge_storage::{BridgeStorage, StorageLink};
use crate::kafka::WebKafka;
use crate::lessons::{Lesson, Side, LESSONS};
use crate::live::LiveKafka;
use crate::ss::SsSide;
use engine::config::{JobConfig, Strategy};
use engine::offsets::{Offsets, TopicPartition};
use engine::time::{Duration, Time};
use kafka_model::partitioner::parse_line;
use kafka_model::KafkaModel;
use scenario::backend::KafkaBackend;
use scenario::format::{Action, Scenario, Step};
use scenario::runner::{LogEntry, Run};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

/// The job knobs the settings dialog offers; applied by `getOrCreate` only when no checkpoint is read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    #[serde(rename = "b")]
    pub batch_secs: i64,
    #[serde(rename = "r")]
    pub max_rate_per_partition: i64,
    #[serde(rename = "a")]
    pub assign: bool,
    #[serde(rename = "o")]
    pub auto_offset_reset: String,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings { batch_secs: 5, max_rate_per_partition: 0, assign: false, auto_offset_reset: "latest".into() }
    }
}

impl Settings {
    /// `creatingFunc`'s job with these settings, from the lesson's job.
    pub fn job(&self, base: &JobConfig, partitions: i32) -> JobConfig {
        let mut job = base.clone();
        job.batch_duration = Duration::seconds(self.batch_secs.max(1));
        job.max_rate_per_partition = self.max_rate_per_partition.max(0);
        job.kafka_params.insert("auto.offset.reset".into(), self.auto_offset_reset.clone());
        if self.assign {
            let topic = job.strategy.topics().into_iter().next().unwrap_or_else(|| "words".into());
            let parts = (0..partitions.max(1)).map(|p| TopicPartition::new(topic.clone(), p)).collect();
            job.strategy = Strategy::Assign { partitions: parts, offsets: Default::default() };
        }
        job
    }
}

/// One thing the user (or the walkthrough) did. Short serde names keep share links short.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Act {
    /// Step `i` of the embedded lesson.
    #[serde(rename = "L")]
    Lesson(usize),
    #[serde(rename = "S")]
    Start(Settings),
    #[serde(rename = "T")]
    Stop { graceful: bool },
    #[serde(rename = "K")]
    Kill,
    /// Console-producer lines (`key:::value`); with a partition, the whole line is the value.
    #[serde(rename = "P")]
    Produce { partition: Option<i32>, lines: Vec<String> },
    #[serde(rename = "D")]
    RecreateTopic,
    #[serde(rename = "R")]
    DeleteRecords { partition: i32, before: i64 },
    #[serde(rename = "G")]
    ResetOffsets { args: String },
    #[serde(rename = "C")]
    DeleteCheckpoint,
    #[serde(rename = "X")]
    ChangeCode,
    /// `kill -9` of the driver inside the next batch (Structured Streaming: after `offsets/N`, before
    /// `commits/N`); a DStream job is killed at once.
    #[serde(rename = "B")]
    KillInBatch,
}

/// An action at a logical time (epoch ms).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub at: i64,
    pub act: Act,
}

pub const TOPIC: &str = "words";

/// Live walkthrough: how long after its time a lesson check may still turn true.
pub const LIVE_CHECK_GRACE_MS: i64 = 4_000;

pub struct Session {
    /// Index into [`LESSONS`]: the walkthrough followed, and the topics and job of the playground.
    pub lesson: usize,
    pub run: Run<'static, WebKafka>,
    pub entries: Vec<Entry>,
    pub now: Time,
    /// What the last tool (reset, delete-records, topic command, producer) printed.
    pub tool_lines: Vec<String>,
    /// Live: the checkpoint storage's copies to the bridge (the run holds the storage itself).
    storage_link: Option<Rc<RefCell<StorageLink>>>,
    /// Live walkthrough: lesson steps waiting for their (real) time, `(due ms, step)`.
    pub schedule: VecDeque<(i64, usize)>,
    /// Live walkthrough: when the newest lesson step ran, real ms and its lesson time.
    last_lesson: Option<(i64, i64)>,
    /// The group's lag (log end − committed) per partition, sampled at every batch-grid point.
    pub lag_history: VecDeque<LagSample>,
    /// A lesson with a Structured Streaming query: its run, on its own in-memory Kafka (`ss.rs`).
    pub ss: Option<SsSide>,
    /// Actions asked for while the checkpoint was read back, done (in order) once it is in.
    deferred: Vec<Act>,
}

/// One sample of [`Session::lag_history`]: `None` where nothing is committed.
#[derive(Clone, Debug, PartialEq)]
pub struct LagSample {
    pub at: Time,
    pub lag: Vec<(TopicPartition, Option<i64>)>,
}

/// Lag samples kept (two minutes of 5 s batches).
pub const LAG_SAMPLES: usize = 24;

impl Default for Session {
    fn default() -> Session {
        Session::new()
    }
}

impl Session {
    /// A fresh playground at 12:00:00 on the lesson's day: topic `words` with 3 empty partitions.
    pub fn new() -> Session {
        Session::for_lesson(0)
    }

    /// A fresh simulation for lesson `lesson` (an unknown index is the seed lesson).
    pub fn for_lesson(lesson: usize) -> Session {
        let lesson = if lesson < LESSONS.len() { lesson } else { 0 };
        let s = LESSONS[lesson].scenario();
        let storage = Box::new(engine::storage::MemoryStorage::default());
        let run = Run::with_kafka(s, storage, WebKafka::Model(KafkaModel::new())).expect("the lesson's topics are valid");
        Session::start(lesson, run, Time(s.day_start.ms() + 12 * 3_600_000), None)
    }

    /// A lab on a real Kafka: the bridge welcomed this page with namespace `ns`; the lesson's topic
    /// is created there, and the clock is the wall clock (`now_ms`). A `resumed` lab (the welcome
    /// says it existed before) looks its topic up instead of creating it, and reads its checkpoint
    /// folder back from the bridge before the engine may start: `getOrCreate` then restores from it.
    pub fn live(lesson: usize, ns: &str, kafka: protocol::KafkaState, now_ms: i64, resumed: bool) -> Session {
        let lesson = if lesson < LESSONS.len() { lesson } else { 0 };
        let s = LESSONS[lesson].scenario();
        let (storage, link) = BridgeStorage::new();
        let group = s.job.group_id().unwrap_or("g").to_string();
        let mut k = LiveKafka::new(ns, kafka, TOPIC, &group);
        k.resumed = resumed;
        let mut run = Run::with_kafka(s, Box::new(storage), WebKafka::Live(Box::new(k))).expect("creating a topic is only queued");
        if let Some(k) = run.kafka.live_mut() {
            k.resumed = false; // topics made later (re-create) are made as asked
        }
        match &s.job.checkpoint_dir {
            Some(dir) if resumed && !dir.is_empty() => link.borrow_mut().restore_from_bridge(dir),
            _ => {}
        }
        Session::start(lesson, run, Time(now_ms), Some(link))
    }

    /// Live: the lab's checkpoint is still being read back from the bridge; the engine waits.
    pub fn restoring(&self) -> bool {
        self.storage_link.as_ref().is_some_and(|l| l.borrow().restoring())
    }

    /// A session over a fresh run whose clock starts at `now`.
    fn start(lesson: usize, run: Run<'static, WebKafka>, now: Time, storage_link: Option<Rc<RefCell<StorageLink>>>) -> Session {
        let mut session = Session {
            lesson,
            run,
            entries: Vec::new(),
            now,
            tool_lines: Vec::new(),
            storage_link,
            schedule: VecDeque::new(),
            last_lesson: None,
            lag_history: VecDeque::new(),
            ss: LESSONS[lesson].structured().map(SsSide::new),
            deferred: Vec::new(),
        };
        session.run.advance_to(now);
        session
    }

    pub fn lesson_def(&self) -> &'static Lesson {
        &LESSONS[self.lesson]
    }

    /// The lesson's scenario: its steps, topics and job.
    pub fn scenario(&self) -> &'static Scenario {
        self.lesson_def().scenario()
    }

    pub fn is_live(&self) -> bool {
        self.run.kafka.live().is_some()
    }

    /// Live: the frames to send to the bridge now: Kafka's, then the checkpoint storage's.
    pub fn take_frames(&mut self) -> Vec<String> {
        let Some(k) = self.run.kafka.live_mut() else { return Vec::new() };
        let mut frames = k.take_frames();
        self.tool_lines.append(&mut k.notes);
        if let Some(link) = &self.storage_link {
            let mut link = link.borrow_mut();
            if k.connected {
                frames.extend(link.take_frame(|| k.fresh_id()));
            }
            self.tool_lines.append(&mut link.notes);
        }
        frames
    }

    /// Whether [`Session::take_frames`] has something to send.
    pub fn has_frames(&self) -> bool {
        let Some(k) = self.run.kafka.live() else { return false };
        k.has_frames() || (k.connected && self.storage_link.as_ref().is_some_and(|l| l.borrow().has_frame()))
    }

    /// Live: a frame from the bridge, as text (tests; the page reads frames in `bridge_socket`).
    pub fn handle_frame(&mut self, text: &str, now_ms: i64) -> Result<(), String> {
        if self.run.kafka.live().is_none() {
            return Err("no bridge connection in the simulation".into());
        }
        self.handle_response(LiveKafka::parse_frame(text)?, now_ms);
        Ok(())
    }

    /// Live: a reply or push from the bridge. A reply to a checkpoint copy goes to the storage, one
    /// to a Kafka request is delivered to the run (the engine gets it once), and time moves to `now_ms`.
    pub fn handle_response(&mut self, response: protocol::Response, now_ms: i64) {
        let Some(k) = self.run.kafka.live_mut() else { return };
        k.advance(Time(now_ms));
        let mut reply = None;
        match &self.storage_link {
            Some(link) if link.borrow().owns(&response) => {
                let mut link = link.borrow_mut();
                link.handle_response(response);
                self.tool_lines.append(&mut link.notes);
            }
            _ => reply = k.handle_response(response),
        }
        self.tool_lines.append(&mut k.notes);
        if let Some((id, reply)) = reply {
            if let Err(e) = self.run.deliver(id, reply) {
                self.tool_lines.push(format!("bridge: {e}"));
            }
        }
        self.advance_to(Time(now_ms));
        if !self.restoring() && !self.deferred.is_empty() {
            let notes = std::mem::take(&mut self.tool_lines);
            for act in std::mem::take(&mut self.deferred) {
                self.apply(act);
            }
            self.tool_lines.splice(0..0, notes);
        }
    }

    /// Live: the bridge connection closed; the run's requests that wait fail now.
    pub fn disconnected(&mut self, why: &str) {
        let Some(k) = self.run.kafka.live_mut() else { return };
        for (id, reply) in k.disconnected(why) {
            // Each was asked by the run and is answered here for the first time.
            let _ = self.run.deliver(id, reply);
        }
        if let Some(link) = &self.storage_link {
            link.borrow_mut().disconnected();
        }
    }

    /// Live: the bridge connection is open again; `hello` takes the lab back.
    pub fn reconnected(&mut self, hello: protocol::Op) {
        if let Some(k) = self.run.kafka.live_mut() {
            k.reconnected(hello);
        }
    }

    /// Live: the wall clock moved on: facts are refreshed, batches fire, due lesson steps run.
    pub fn tick_live(&mut self, now_ms: i64) {
        if let Some(k) = self.run.kafka.live_mut() {
            k.poll_facts(now_ms);
        }
        self.advance_to(Time(now_ms));
        while let Some(&(due, i)) = self.schedule.front().filter(|_| !self.restoring()) {
            let is_expect = self.lesson_def().steps().get(i).is_some_and(|s| s.is_expect);
            let fresh = self.run.kafka.live().and_then(|k| k.facts_asked_at).is_some_and(|t| t >= due);
            // A check reads facts asked for after its time, so it never judges a stale picture.
            if due > now_ms || (is_expect && !fresh) {
                break;
            }
            let (failures, log, entries) = (self.run.failures.len(), self.run.log.len(), self.entries.len());
            self.apply(Act::Lesson(i));
            if self.run.failures.len() > failures && now_ms < due + LIVE_CHECK_GRACE_MS {
                // Real requests take real time: a check that does not hold yet is tried again.
                self.run.failures.truncate(failures);
                self.run.log.truncate(log);
                self.entries.truncate(entries);
                break;
            }
            self.schedule.pop_front();
        }
    }

    /// Live walkthrough: schedules a chapter's steps with the lesson's own spacing between steps
    /// and at the lesson's place in the batch grid (12:00:11 is 1 s after a batch, so its check
    /// runs 1 s after one here too); real time cannot jump ahead.
    pub fn schedule_steps(&mut self, steps: std::ops::Range<usize>) {
        let now = self.now.ms();
        let steps_of = self.lesson_def().steps();
        let grid = self.scenario().job.batch_duration.ms().max(1);
        let mut prev = self.schedule.back().map(|&(d, i)| (d, steps_of[i].at.ms())).or(self.last_lesson);
        for i in steps {
            let step_at = steps_of[i].at.ms();
            let due = match prev {
                Some((real, at)) if real + (step_at - at).max(0) >= now => real + (step_at - at).max(0),
                _ => now + (step_at - now).rem_euclid(grid),
            };
            self.schedule.push_back((due, i));
            prev = Some((due, step_at));
        }
    }

    /// The group's state as the page prints it, and its committed offsets, from whichever Kafka this is.
    pub fn group_state(&self) -> String {
        self.run.group_state_text(&self.group())
    }

    pub fn committed(&self) -> Offsets {
        self.run.kafka.committed(&self.group())
    }

    /// The name Kafka knows a page topic or group by (live: with the namespace prefix).
    pub fn kafka_name(&self, name: &str) -> String {
        self.run.kafka.live().map_or(name.to_string(), |k| k.wire(name))
    }

    /// Rebuilds the exact state from an action log and the final time (share links, replays).
    pub fn replay(lesson: usize, entries: &[Entry], now: i64) -> Session {
        let mut s = Session::for_lesson(lesson);
        for e in entries {
            s.apply_at(e.at, e.act.clone());
        }
        s.advance_to(Time(now));
        s
    }

    pub fn partitions(&self) -> i32 {
        self.run.kafka.partitions(TOPIC).unwrap_or(0)
    }

    pub fn group(&self) -> String {
        self.scenario().job.group_id().unwrap_or("g").to_string()
    }

    /// Does `act` now; returns what the tool printed or why the engine refused.
    pub fn apply(&mut self, act: Act) {
        if self.restoring() {
            // getOrCreate must see the checkpoint: nothing runs before the copy is in.
            self.tool_lines = vec!["reading this lab's checkpoint back from the bridge; the action follows when it is in".into()];
            self.deferred.push(act);
            return;
        }
        let at = self.now.ms();
        self.apply_at(at, act);
    }

    fn apply_at(&mut self, at: i64, act: Act) {
        let step = match &act {
            Act::Lesson(i) => self.lesson_def().steps().get(*i).copied(),
            _ => None,
        };
        let at = match step {
            Some(s) if !self.is_live() => s.at.ms().max(self.now.ms()).max(at),
            _ => at.max(self.now.ms()),
        };
        if let Act::Lesson(_) = &act {
            self.last_lesson = step.map(|s| (at, s.at.ms()));
        }
        // Time passes the session's way first (lag samples), then the step runs at its time.
        self.advance_to(Time(at));
        self.entries.push(Entry { at, act: act.clone() });
        let before = self.run.log.len();
        let index = self.entries.len() - 1;
        let mut lines = Vec::new();
        if let Some(ss) = &mut self.ss {
            match step {
                Some(s) if s.side == Side::Structured => ss.lesson_step(s.index, Time(at)),
                _ => lines = ss.page_act(index, Time(at), &act),
            }
        }
        let dstream_acts = LESSONS[self.lesson].has_dstream() && step.is_none_or(|s| s.side == Side::DStream);
        for action in self.actions(&act).into_iter().filter(|_| dstream_acts) {
            let step = Step { at: Time(at), action, line: 0 };
            self.run.step(index, &step);
        }
        self.now = Time(at);
        // What the tools printed, and refusals, for the page's "tool output" box.
        for l in &self.run.log[before..] {
            match l {
                LogEntry::Tool { lines: t, .. } => lines.extend(t.iter().cloned()),
                LogEntry::Failure { message, .. } if !matches!(act, Act::Lesson(_)) => lines.push(message.clone()),
                _ => {}
            }
        }
        if !lines.is_empty() || !matches!(act, Act::Lesson(_)) {
            self.tool_lines = lines;
        }
    }

    /// The scenario actions one page action stands for.
    fn actions(&self, act: &Act) -> Vec<Action> {
        match act {
            Act::Lesson(i) => match self.lesson_def().steps().get(*i) {
                Some(s) if s.side == Side::DStream => self.scenario().steps.get(s.index).map(|s| s.action.clone()).into_iter().collect(),
                _ => vec![],
            },
            Act::Start(settings) => vec![Action::Start { job: settings.job(&self.scenario().job, self.partitions()) }],
            Act::Stop { graceful } => vec![Action::Stop { graceful: *graceful }],
            Act::Kill | Act::KillInBatch => vec![Action::Kill],
            Act::Produce { partition, lines } => {
                vec![Action::Produce { topic: TOPIC.into(), records: produce_records(*partition, lines) }]
            }
            Act::RecreateTopic => {
                let n = self.partitions().max(1);
                vec![Action::DeleteTopic { topic: TOPIC.into() }, Action::CreateTopic { topic: TOPIC.into(), partitions: n }]
            }
            Act::DeleteRecords { partition, before } => {
                vec![Action::DeleteRecords { partition: TopicPartition::new(TOPIC, *partition), before: *before }]
            }
            // The page's rewind of a side-by-side lesson names the query's group by its placeholder.
            Act::ResetOffsets { args } => {
                vec![Action::ResetOffsets { args: args.replace(scenario::structured::EXECUTOR_GROUP, &self.group()) }]
            }
            Act::DeleteCheckpoint => vec![Action::DeleteCheckpoint],
            Act::ChangeCode => vec![Action::ChangeCode],
        }
    }

    /// Lets the job run until `t` (batches fire at their own times).
    /// The lag is sampled at each batch-grid point on the way (same samples however time is cut).
    pub fn advance_to(&mut self, t: Time) {
        let grid = self.scenario().job.batch_duration;
        while t > self.now {
            let next = self.now.next_grid_point(grid).min(t);
            self.run.advance_to(next);
            if let Some(ss) = &mut self.ss {
                ss.advance_to(next);
            }
            self.now = next;
            if next.is_multiple_of(Time(0), grid) {
                self.sample_lag();
            }
        }
    }

    fn sample_lag(&mut self) {
        let committed = self.committed();
        let mut lag = Vec::new();
        for p in 0..self.partitions() {
            let tp = TopicPartition::new(TOPIC, p);
            let end = self.run.kafka.log_range(&tp).map(|r| r.1);
            lag.push((tp.clone(), end.zip(committed.get(&tp)).map(|(e, c)| e - c)));
        }
        self.lag_history.push_back(LagSample { at: self.now, lag });
        if self.lag_history.len() > LAG_SAMPLES {
            self.lag_history.pop_front();
        }
    }

    /// "Step one batch": to the engine's next timer (the next batch), or one batch interval when idle.
    pub fn step_batch(&mut self, batch_secs: i64) {
        let ss_only = !self.lesson_def().has_dstream();
        let next = match &mut self.ss {
            Some(ss) if ss_only => ss.next_trigger(),
            _ => self.run.engine.next_timeout(),
        }
        .filter(|t| *t > self.now);
        let to = next.unwrap_or(Time(self.now.ms() + batch_secs.max(1) * 1000));
        self.advance_to(to);
    }

    /// The tool's plan for `args` without executing (the rewind dialog's preview), or its refusal.
    pub fn preview_reset(&self, args: &str) -> Result<kafka_model::reset::ResetPlan, String> {
        // An explicit --dry-run: without it the tool would also warn that nothing is performed.
        let dry = format!("{} --dry-run", args.replace("--execute", "").replace("--dry-run", "").trim());
        let parsed = kafka_model::reset::parse_args(&dry)?;
        kafka_model::reset::plan(&parsed, &self.run.kafka as &dyn kafka_model::reset::ResetView)
    }

    /// The checkpoint directory's files, as Spark sorts them.
    pub fn checkpoint_files(&self) -> Vec<String> {
        self.run.status(self.now).checkpoint_files
    }

    /// A checkpoint file's bytes as text (our format is pretty JSON).
    pub fn read_file(&self, name: &str) -> Option<String> {
        let dir = self.scenario().job.checkpoint_dir.clone()?;
        let bytes = self.run.storage.read(&format!("{dir}/{name}")).ok()?;
        Some(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Whether a job runs: the DStream job, or the Structured Streaming query.
    pub fn job_running(&self) -> bool {
        self.run.engine.is_running() || self.ss.as_ref().is_some_and(SsSide::is_running)
    }

    /// The lesson's checks that failed, on either side.
    pub fn failures(&self) -> Vec<String> {
        let mut f = self.run.failures.clone();
        f.extend(self.ss.iter().flat_map(|ss| ss.run.failures.iter().cloned()));
        f
    }

    /// How far the walkthrough got: the number of leading lesson steps in the log, if the log is
    /// nothing but lesson steps.
    pub fn lesson_progress(&self) -> Option<usize> {
        let mut n = 0;
        for e in &self.entries {
            match e.act {
                Act::Lesson(i) if i == n => n += 1,
                _ => return None,
            }
        }
        Some(n)
    }
}

/// The records of a produce action: split here, as the console producer splits what is typed; a line without
/// the separator is a value without a key (the model then asks for a key or a partition). With a partition,
/// the whole line is the value. Both APIs' sides produce through this.
pub(crate) fn produce_records(partition: Option<i32>, lines: &[String]) -> Vec<(Option<i32>, Option<String>, String)> {
    lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| match partition {
            Some(p) => (Some(p), None, l.clone()),
            None => {
                let (k, v) = parse_line(l, Some(protocol::DEFAULT_KEY_SEPARATOR), i + 1).unwrap_or((None, l.clone()));
                (None, k, v)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_bridge::TestBridge;

    #[test]
    fn the_lesson_runs_with_every_expectation_met() {
        let mut s = Session::new();
        for i in 0..s.scenario().steps.len() {
            s.apply(Act::Lesson(i));
        }
        assert_eq!(s.run.failures, Vec::<String>::new());
        assert_eq!(s.lesson_progress(), Some(s.scenario().steps.len()));
    }

    #[test]
    fn replay_gives_the_same_trace() {
        let mut s = Session::new();
        s.apply(Act::Start(Settings::default()));
        s.advance_to(Time(s.now.ms() + 7_000));
        s.apply(Act::Produce { partition: None, lines: vec!["k1:::a".into(), "k2:::b".into()] });
        s.step_batch(5);
        s.apply(Act::Stop { graceful: true });
        s.advance_to(Time(s.now.ms() + 20_000));
        let r = Session::replay(0, &s.entries, s.now.ms());
        assert_eq!(r.run.trace, s.run.trace);
        assert!(r.run.trace.iter().any(|l| matches!(&l.event, engine::trace::TraceEvent::BatchGenerated { num_records: 2, .. })));
    }

    #[test]
    fn lag_is_sampled_at_batch_times_and_a_replay_has_the_same_samples() {
        let mut s = Session::new();
        s.apply(Act::Start(Settings::default()));
        s.advance_to(Time(s.now.ms() + 11_000));
        s.apply(Act::Produce { partition: Some(0), lines: vec!["a".into(), "b".into()] });
        s.advance_to(Time(s.now.ms() + 1_000));
        s.advance_to(Time(s.now.ms() + 20_000));
        let lag0: Vec<Option<i64>> = s.lag_history.iter().map(|x| x.lag[0].1).collect();
        // Nothing committed at the first batch, then 0; the produced records are lag 2 until the
        // commit of the batch that read them is sent at the next batch.
        assert!(lag0.contains(&Some(2)) && lag0.last() == Some(&Some(0)), "{lag0:?}");
        assert!(s.lag_history.iter().all(|x| x.at.ms() % 5_000 == 0));
        let r = Session::replay(0, &s.entries, s.now.ms());
        assert_eq!(r.lag_history, s.lag_history);
    }

    #[test]
    fn reset_is_refused_while_the_job_holds_the_group_and_previewed_after_stop() {
        let mut s = Session::new();
        s.apply(Act::Start(Settings::default()));
        s.advance_to(Time(s.now.ms() + 11_000));
        let args = "--group g --topic words --to-earliest --execute";
        let refused = s.preview_reset(args).unwrap_err();
        assert!(refused.contains("inactive"), "{refused}");
        s.apply(Act::Stop { graceful: false });
        s.advance_to(Time(s.now.ms() + 1_000));
        let plan = s.preview_reset(args).unwrap();
        assert!(!plan.execute);
        assert!(!plan.lines.iter().any(|l| l.contains("--execute option is missing")), "{:?}", plan.lines);
        assert_eq!(plan.offsets.len(), 3);
    }

    #[test]
    fn a_live_chapter_keeps_the_lessons_spacing_and_place_in_the_batch_grid() {
        let kafka = protocol::KafkaState { up: true, bootstrap: "127.0.0.1:9092".into(), detail: None };
        let now = 1_764_600_003_300; // 3.3 s after a 5 s boundary
        let mut s = Session::live(0, "lab-0123456789ab-", kafka, now, false);
        assert!(s.is_live());
        let frames = s.take_frames();
        assert!(frames.iter().any(|f| f.contains("\"op\":\"createTopic\"") && f.contains("lab-0123456789ab-words")), "{frames:?}");
        s.schedule_steps(0..2);
        let due: Vec<i64> = s.schedule.iter().map(|d| d.0).collect();
        // Step 1 is at 12:00:02 (2 s after a batch), step 2 nine seconds later.
        assert_eq!(due, vec![now + 3_700, now + 3_700 + 9_000]);
        // Not due yet: nothing runs.
        s.tick_live(now + 1_000);
        assert_eq!(s.entries.len(), 0);
        s.tick_live(now + 3_700);
        assert_eq!(s.entries.len(), 1);
        assert!(s.run.engine.is_running());
    }

    #[test]
    fn a_live_job_runs_on_replies_delivered_once_by_id_and_its_checkpoints_go_to_the_bridge_storage() {
        let kafka = protocol::KafkaState { up: true, bootstrap: "127.0.0.1:9092".into(), detail: None };
        // After the lesson's day: the page's Kafka never runs behind the lesson's clock.
        let mut now = 1_796_000_000_000;
        let mut s = Session::live(0, "lab-0123456789ab-", kafka, now, false);
        let mut bridge = TestBridge::default();
        bridge.answer_all(&mut s, now);
        s.tick_live(now);
        bridge.answer_all(&mut s, now);
        s.apply(Act::Start(Settings::default()));
        let mut answered = bridge.answer_all(&mut s, now);
        for _ in 0..3 {
            now += 5_000;
            s.tick_live(now);
            answered += bridge.answer_all(&mut s, now);
        }
        assert!(answered > 5, "{answered}");
        assert_eq!(s.run.awaiting(), 0);
        assert!(s.tool_lines.is_empty(), "{:?}", s.tool_lines);
        assert!(s.run.trace.iter().any(|l| matches!(l.event, engine::trace::TraceEvent::BatchGenerated { .. })));
        assert!(!s.checkpoint_files().is_empty());
        assert_eq!(s.storage_link.as_ref().map(|l| l.borrow().waiting()), Some(0), "every copy reached the bridge");
        // A reply nobody waits for (the bridge sending one twice) is dropped by the connection, not fed again.
        let trace = s.run.trace.len();
        let dup = protocol::Response::new(Some(1), protocol::Reply::Engine { kafka: engine::kafka::KafkaReply::Left });
        s.handle_frame(&dup.to_json(), now).unwrap();
        assert_eq!(s.run.trace.len(), trace);
        assert!(s.tool_lines.is_empty(), "{:?}", s.tool_lines);
    }

    /// The checkpoint offsets the page shows (◆ per partition of `words`).
    fn checkpointed(s: &Session) -> Vec<Option<i64>> {
        s.run.status(s.now).rows.iter().map(|r| r.checkpointed).collect()
    }

    #[test]
    fn a_resumed_lab_reads_its_checkpoint_back_before_get_or_create_and_its_batches_go_on() {
        let kafka = protocol::KafkaState { up: true, bootstrap: "127.0.0.1:9092".into(), detail: None };
        let mut now = 1_796_000_000_000;
        let mut bridge = TestBridge::default();
        // The first page: a job reads two records and checkpoints.
        let mut first = Session::live(0, "lab-0123456789ab-", kafka.clone(), now, false);
        bridge.answer_all(&mut first, now);
        first.tick_live(now);
        bridge.answer_all(&mut first, now);
        first.apply(Act::Start(Settings::default()));
        bridge.answer_all(&mut first, now);
        for i in 0..4 {
            if i == 1 {
                first.apply(Act::Produce { partition: Some(0), lines: vec!["a".into(), "b".into()] });
            }
            now += 5_000;
            first.tick_live(now);
            bridge.answer_all(&mut first, now);
        }
        let before = checkpointed(&first);
        assert_eq!(before[0], Some(2), "{before:?}");
        let last_batch = batches(&first).last().copied().unwrap();
        // The tab closes with its job stopped (a killed member would hold the group until its session times out).
        first.apply(Act::Stop { graceful: true });
        for _ in 0..4 {
            now += 5_000;
            first.tick_live(now);
            bridge.answer_all(&mut first, now);
        }
        assert!(!first.run.engine.is_running());
        // The reload: a new page in the same lab. Start is asked for at once, before the copy is in.
        now += 10_000;
        let mut page = Session::live(0, "lab-0123456789ab-", kafka, now, true);
        page.apply(Act::Start(Settings::default()));
        assert!(page.restoring() && !page.run.engine.is_running(), "getOrCreate waits for the checkpoint");
        // A resumed lab asks for its topic's metadata instead of creating it again.
        bridge.answer_all(&mut page, now);
        assert!(!page.restoring());
        assert!(page.tool_lines.iter().any(|l| l.starts_with("read this lab's checkpoint back from the bridge")), "{:?}", page.tool_lines);
        assert!(!page.tool_lines.iter().any(|l| l.contains("exists")), "{:?}", page.tool_lines);
        assert_eq!(checkpointed(&page), before, "the same checkpoint offsets after the reload");
        let recovered = page
            .run
            .trace
            .iter()
            .any(|l| matches!(&l.event, engine::trace::TraceEvent::ContextStarted { mode: engine::trace::StartMode::Recovered, .. }));
        assert!(recovered, "getOrCreate restored from the checkpoint");
        page.apply(Act::Produce { partition: Some(0), lines: vec!["c".into()] });
        for _ in 0..3 {
            now += 5_000;
            page.tick_live(now);
            bridge.answer_all(&mut page, now);
        }
        // The batch timeline goes on after the last batch before the reload, from the checkpoint's offsets.
        let after = batches(&page);
        assert!(after.iter().all(|b| *b > last_batch), "{after:?} after {last_batch}");
        let read_c = page.run.trace.iter().any(|l| {
            matches!(&l.event, engine::trace::TraceEvent::BatchGenerated { ranges, restored: false, .. }
                if ranges.iter().any(|r| r.partition == 0 && r.from_offset == 2 && r.until_offset == 3))
        });
        assert!(read_c, "the first batch computed after the reload reads [2, 3) of words-0");
        assert_eq!(checkpointed(&page)[0], Some(3));
    }

    /// The batch times of a session's trace.
    fn batches(s: &Session) -> Vec<i64> {
        s.run
            .trace
            .iter()
            .filter_map(|l| match &l.event {
                engine::trace::TraceEvent::BatchGenerated { batch, .. } => Some(batch.ms()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_structured_lesson_replays_from_its_actions_to_the_same_query() {
        let lesson = LESSONS.iter().position(|l| l.id == "ss-reset-ignored").unwrap();
        let mut s = Session::for_lesson(lesson);
        for i in 0..4 {
            s.apply(Act::Lesson(i));
        }
        s.apply(Act::Produce { partition: Some(1), lines: vec!["x".into()] });
        s.apply(Act::KillInBatch);
        s.step_batch(5);
        s.apply(Act::Start(Settings::default()));
        s.step_batch(5);
        let ss = s.ss.as_ref().unwrap();
        assert!(ss.batches().iter().any(|b| b.rerun), "{:?}", ss.batches());
        assert!(s.run.trace.is_empty(), "the idle DStream side ran nothing");
        let r = Session::replay(lesson, &s.entries, s.now.ms());
        assert_eq!(r.ss.as_ref().unwrap().run.trace, ss.run.trace);
        assert_eq!(r.ss.as_ref().unwrap().files(), ss.files());
    }

    #[test]
    fn producing_without_a_key_or_partition_shows_the_models_error() {
        let mut s = Session::new();
        s.apply(Act::Produce { partition: None, lines: vec!["novalue".into()] });
        assert!(s.tool_lines.iter().any(|l| l.starts_with("ERROR")), "{:?}", s.tool_lines);
        assert_eq!(s.run.kafka.model().unwrap().log(&TopicPartition::new(TOPIC, 0)).unwrap().log_end(), 0);
    }
}
