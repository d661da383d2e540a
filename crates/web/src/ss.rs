//! The Structured Streaming side of a session: `scenario`'s `StructuredRun` (the `crates/structured` engine
//! on the in-memory Kafka model and the same storage as the DStream side) driven by lesson steps and page
//! actions, and what the page shows of it: the three numbers, the checkpoint's files, the batches.

use crate::session::{Act, TOPIC};
use engine::error::SparkError;
use engine::offsets::{Offsets, TopicPartition};
use engine::storage::MemoryStorage;
use engine::time::Time;
use kafka_model::KafkaModel;
use scenario::backend::KafkaBackend;
use scenario::format::{Action, Scenario, StructuredAction, StructuredJob, StructuredStep};
use scenario::structured::{StructuredRun, EXECUTOR_GROUP};
use structured::log::{batch_ids, parse_offsets_file};
use structured::{Event, Output};

pub struct SsSide {
    pub run: StructuredRun<'static, KafkaModel>,
    /// The job of the newest start (a step may change its options), else the scenario's.
    pub job: StructuredJob,
}

/// One partition's three numbers for a Structured Streaming query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SsRow {
    pub tp: TopicPartition,
    /// The newest `offsets/N`'s end offset for the partition, with N and whether `commits/N` exists.
    pub offset_log: Option<(i64, i64, bool)>,
    /// What the executors' group has committed (Spark never commits to it; a reset may have).
    pub group_committed: Option<i64>,
    pub log: Option<(i64, i64)>,
}

/// One file of the query's checkpoint, its bytes as text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SsFile {
    pub name: String,
    pub text: String,
    /// `offsets/N` without `commits/N`: the batch a restart runs again.
    pub uncommitted: bool,
}

/// One run of a batch's sink.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SsBatch {
    pub at: Time,
    pub batch_id: i64,
    pub ranges: Vec<(TopicPartition, i64, i64)>,
    pub values: Vec<String>,
    /// The same batch id ran before (a restart re-ran an uncommitted batch).
    pub rerun: bool,
    pub committed: bool,
}

impl SsSide {
    pub fn new(scenario: &'static Scenario) -> SsSide {
        let spec = scenario.structured.as_ref().expect("a Structured Streaming scenario");
        let run = StructuredRun::new(scenario, Box::new(MemoryStorage::default())).expect("the lesson's topics are valid");
        SsSide { run, job: spec.job.clone() }
    }

    fn spec(&self) -> &'static scenario::format::StructuredScenario {
        self.run.scenario.structured.as_ref().expect("checked in new")
    }

    /// Step `i` of the scenario, at `at` (not before the session's clock).
    pub fn lesson_step(&mut self, i: usize, at: Time) {
        let Some(step) = self.spec().steps.get(i) else { return };
        self.do_action(i, at, step.action.clone());
    }

    /// A page action as the query's driver or Kafka's tools see it; `false` when it means nothing here.
    pub fn page_act(&mut self, index: usize, at: Time, act: &Act) -> Vec<String> {
        let kafka = |a| vec![StructuredAction::Kafka(a)];
        let actions = match act {
            Act::Lesson(_) => vec![],
            Act::Start(_) => vec![StructuredAction::Start { job: self.spec().job.clone() }],
            Act::Stop { .. } => vec![StructuredAction::Stop],
            Act::Kill => vec![StructuredAction::Kill { in_batch: false }],
            Act::KillInBatch => vec![StructuredAction::Kill { in_batch: true }],
            Act::Produce { partition, lines } => {
                kafka(Action::Produce { topic: TOPIC.into(), records: crate::session::produce_records(*partition, lines) })
            }
            Act::RecreateTopic => {
                let n = self.run.kafka.partitions(TOPIC).unwrap_or(1).max(1);
                let mut a = kafka(Action::DeleteTopic { topic: TOPIC.into() });
                a.extend(kafka(Action::CreateTopic { topic: TOPIC.into(), partitions: n }));
                a
            }
            Act::DeleteRecords { partition, before } => {
                kafka(Action::DeleteRecords { partition: TopicPartition::new(TOPIC, *partition), before: *before })
            }
            Act::ResetOffsets { args } => kafka(Action::ResetOffsets { args: args.clone() }),
            Act::DeleteCheckpoint => vec![StructuredAction::DeleteCheckpoint],
            Act::ChangeCode => vec![],
        };
        let before = self.run.log.len();
        for a in actions {
            self.do_action(index, at, a);
        }
        tool_lines(&self.run.log[before..])
    }

    fn do_action(&mut self, index: usize, at: Time, action: StructuredAction) {
        if let StructuredAction::Start { job } = &action {
            self.job = job.clone();
        }
        self.run.step(index, &StructuredStep { at, action, line: 0 });
    }

    pub fn advance_to(&mut self, t: Time) {
        self.run.advance_to(t);
    }

    /// The next trigger, if the query runs (the run has drained the engine's outputs).
    pub fn next_trigger(&mut self) -> Option<Time> {
        match self.run.engine.poll_output() {
            Output::Timeout(t) => Some(t),
            _ => None,
        }
    }

    pub fn is_running(&self) -> bool {
        self.run.engine.is_running()
    }

    /// The executors' group of the newest start: `spark-kafka-source-<uuid>-<hash>-executor`.
    pub fn executor_group(&self) -> Option<String> {
        self.run.trace.iter().rev().find_map(|l| match &l.event {
            Event::QueryStarted { executor_group, .. } => Some(executor_group.clone()),
            _ => None,
        })
    }

    /// The exception the query last terminated with, unless it was started again since.
    pub fn current_error(&self) -> Option<&SparkError> {
        self.run.trace.iter().rev().find_map(|l| match &l.event {
            Event::QueryTerminated { error, .. } => Some(error.as_ref()),
            Event::QueryStarted { .. } => Some(None),
            _ => None,
        })?
    }

    pub fn warnings(&self) -> Vec<String> {
        self.run
            .trace
            .iter()
            .filter_map(|l| match &l.event {
                Event::DataLossWarning { message } => Some(message.clone()),
                _ => None,
            })
            .collect()
    }

    fn dir(&self) -> &str {
        &self.spec().job.checkpoint_dir
    }

    fn ids(&self, sub: &str) -> Vec<i64> {
        batch_ids(&self.run.storage.list(&format!("{}/{sub}", self.dir())).unwrap_or_default())
    }

    /// The checkpoint's files in the order Spark's folders list them: `commits/`, `metadata`,
    /// `offsets/`, `sources/0/0`.
    pub fn files(&self) -> Vec<SsFile> {
        let dir = self.dir();
        let commits = self.ids("commits");
        let mut names: Vec<(String, bool)> = commits.iter().map(|i| (format!("commits/{i}"), false)).collect();
        names.push(("metadata".into(), false));
        names.extend(self.ids("offsets").into_iter().map(|i| (format!("offsets/{i}"), !commits.contains(&i))));
        names.push(("sources/0/0".into(), false));
        names
            .into_iter()
            .filter_map(|(name, uncommitted)| {
                let bytes = self.run.storage.read(&format!("{dir}/{name}")).ok()?;
                Some(SsFile { text: shown_text(&bytes), name, uncommitted })
            })
            .collect()
    }

    /// Per partition of the lesson's topic: the offset log, the executors' group, the log.
    pub fn rows(&self) -> Vec<SsRow> {
        let newest = self.ids("offsets").last().copied();
        let committed_ids = self.ids("commits");
        let logged: Option<(i64, Offsets)> = newest.and_then(|n| {
            let bytes = self.run.storage.read(&format!("{}/offsets/{n}", self.dir())).ok()?;
            Some((n, parse_offsets_file(&bytes).ok()?.source?))
        });
        let group = self.executor_group().map(|g| self.run.kafka.committed(&g)).unwrap_or_default();
        (0..self.run.kafka.partitions(TOPIC).unwrap_or(0))
            .map(|p| {
                let tp = TopicPartition::new(TOPIC, p);
                let offset_log = logged.as_ref().and_then(|(n, o)| o.get(&tp).map(|x| (*n, *x, committed_ids.contains(n))));
                SsRow { offset_log, group_committed: group.get(&tp).copied(), log: self.run.kafka.log_range(&tp), tp }
            })
            .collect()
    }

    /// Every run of the sink, oldest first.
    pub fn batches(&self) -> Vec<SsBatch> {
        let mut out: Vec<SsBatch> = Vec::new();
        // `populateStartOffsets` found offsets/N without commits/N: batch N runs again.
        let mut rerun_of = None;
        for l in &self.run.trace {
            match &l.event {
                Event::QueryStarted { rerun, batch_id, .. } => rerun_of = rerun.then_some(*batch_id),
                Event::BatchRun { batch_id, ranges, rows } => {
                    let rerun = rerun_of.take() == Some(*batch_id) || out.iter().any(|b| b.batch_id == *batch_id);
                    out.push(SsBatch {
                        at: l.t,
                        batch_id: *batch_id,
                        ranges: ranges.iter().map(|r| (r.topic_partition(), r.from_offset, r.until_offset)).collect(),
                        values: rows.iter().map(|r| r.value.clone()).collect(),
                        rerun,
                        committed: false,
                    });
                }
                Event::CommitLogWritten { batch_id, .. } => {
                    if let Some(b) = out.iter_mut().rev().find(|b| b.batch_id == *batch_id) {
                        b.committed = true;
                    }
                }
                _ => {}
            }
        }
        out
    }

    /// The placeholder the page's rewind uses for the executors' group.
    pub fn reset_args() -> String {
        format!("--bootstrap-server 127.0.0.1:9092 --group {EXECUTOR_GROUP} --topic {TOPIC} --to-earliest --execute")
    }
}

/// The tools' output among the run's log lines (steps, trace lines and checks are shown elsewhere).
fn tool_lines(log: &[String]) -> Vec<String> {
    log.iter()
        .filter_map(|l| l.strip_prefix("  ").filter(|t| !t.starts_with('{')).or_else(|| l.strip_prefix("✗ ")))
        .map(str::to_string)
        .collect()
}

/// A file's bytes as the page prints them: text as written, a byte that is not printable as `\u0000`
/// (`sources/0/0` starts with a zero byte, SPARK-19517).
pub fn shown_text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .chars()
        .map(|c| if c.is_control() && c != '\n' { format!("\\u{:04x}", c as u32) } else { c.to_string() })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lessons::LESSONS;

    fn side(id: &str) -> SsSide {
        SsSide::new(LESSONS.iter().find(|l| l.id == id).unwrap().structured().unwrap())
    }

    fn run_steps(s: &mut SsSide, steps: std::ops::Range<usize>) {
        for i in steps {
            let at = s.spec().steps[i].at;
            s.lesson_step(i, at);
        }
    }

    #[test]
    fn the_checkpoint_files_are_the_engines_bytes_and_the_killed_batch_is_marked_uncommitted() {
        let mut s = side("ss-rerun-uncommitted");
        // start, kill inside batch 1, produce d e, expect at 12:00:12
        run_steps(&mut s, 0..5);
        let files = s.files();
        let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["commits/0", "metadata", "offsets/0", "offsets/1", "sources/0/0"]);
        let o1 = files.iter().find(|f| f.name == "offsets/1").unwrap();
        assert!(o1.uncommitted);
        assert!(o1.text.starts_with("v1\n{\"batchWatermarkMs\":0,\"batchTimestampMs\":"), "{}", o1.text);
        assert!(o1.text.ends_with("\n{\"words\":{\"0\":5}}"), "{}", o1.text);
        assert!(!files.iter().find(|f| f.name == "offsets/0").unwrap().uncommitted);
        let src = files.iter().find(|f| f.name == "sources/0/0").unwrap();
        assert_eq!(src.text, "\\u0000v1\n{\"words\":{\"0\":0}}");
        let rows = s.rows();
        assert_eq!(rows[0].offset_log, Some((1, 5, false)));
        assert_eq!(rows[0].log, Some((0, 5)));
        assert_eq!(rows[0].group_committed, None);
        // the restart re-runs batch 1 with its logged range only
        let n = s.spec().steps.len();
        run_steps(&mut s, 5..n);
        let b = s.batches();
        let again: Vec<&SsBatch> = b.iter().filter(|b| b.batch_id == 1).collect();
        assert_eq!(again.len(), 1, "the killed run never reached the sink: {b:?}");
        assert_eq!(again[0].ranges, vec![(TopicPartition::new(TOPIC, 0), 3, 5)]);
        assert!(again[0].rerun && again[0].committed);
        assert!(b.iter().filter(|b| b.batch_id != 1).all(|b| !b.rerun));
        assert_eq!(s.run.failures, Vec::<String>::new());
    }

    #[test]
    fn a_reset_of_the_executors_group_shows_in_the_group_column_and_the_offset_log_keeps_the_position() {
        let mut s = side("ss-reset-ignored");
        run_steps(&mut s, 0..7);
        let group = s.executor_group().unwrap();
        assert!(group.starts_with("spark-kafka-source-") && group.ends_with("-executor"), "{group}");
        let rows = s.rows();
        assert_eq!(rows.iter().map(|r| r.group_committed).collect::<Vec<_>>(), [Some(0), Some(0)]);
        assert_eq!(rows.iter().map(|r| r.offset_log).collect::<Vec<_>>(), [Some((1, 3, true)), Some((1, 2, true))]);
        // The page's own rewind names the same group through the placeholder.
        let out = s.page_act(
            99,
            Time(s.run.scenario.day_start.ms() + 12 * 3_600_000 + 20_000),
            &Act::ResetOffsets { args: SsSide::reset_args() },
        );
        assert!(out.iter().any(|l| l.contains(&group)), "{out:?}");
    }

    #[test]
    fn data_loss_with_fail_on_data_loss_true_ends_the_query_with_sparks_message() {
        let mut s = side("ss-data-loss-fail");
        let n = s.spec().steps.len();
        run_steps(&mut s, 0..n);
        let e = s.current_error().unwrap();
        assert_eq!(e.class, "java.lang.IllegalStateException");
        assert!(e.message.starts_with("Partition words-0's offset was changed from 4 to 1"), "{}", e.message);
        assert!(!s.is_running());
        assert!(s.files().iter().any(|f| f.name == "offsets/1" && f.uncommitted));
    }
}
