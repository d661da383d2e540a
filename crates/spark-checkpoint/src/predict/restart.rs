//! The restart in the engine: the decoded Spark checkpoint as the engine's `Checkpoint` (its job guessed
//! from the graph), the facts as an in-memory Kafka whose records are synthetic (only offsets matter), and a
//! small loop answering the engine's requests until its first computed batch has run its jobs.

use std::collections::BTreeSet;

use engine::checkpoint::{self, BatchRanges, Checkpoint as EngineCheckpoint, StateFile};
use engine::config::{JobConfig, OutputOp, Strategy, Transform};
use engine::error::SparkError;
use engine::offsets::{OffsetRange, Offsets, PartitionOffset, TopicPartition as Tp};
use engine::storage::{self, MemoryStorage};
use engine::time::{Duration, Time};
use engine::trace::{Phase, StartMode, TraceEvent};
use engine::{Engine, Input, Output, Reply, Request};
use kafka_model::KafkaModel;

use super::{json_text, Subject};

/// The checkpoint directory inside the simulation's storage.
const DIR: &str = "ckpt";
/// The simulated application's classes: the same as the checkpoint's, so it is read.
const CODE: u32 = 1;
/// Batches an `updateStateByKey` may have to replay that the simulation takes on.
const MAX_LINEAGE: i64 = 100_000;
/// Engine outputs handled before the loop gives up (a restart and one batch take a few hundred).
const MAX_STEPS: usize = 1_000_000;

/// Everything a run needs: the job `creatingFunc` would build, the checkpoint, the Kafka, and when.
pub(super) struct Setup {
    job: JobConfig,
    checkpoint: EngineCheckpoint,
    kafka: KafkaModel,
    /// The earliest restart whose `JobGenerator.restart` computes a batch: that batch's time.
    pub(super) now: Time,
}

/// What the engine did, in trace order, up to the end of its first computed batch or its first exception.
#[derive(Default)]
pub(super) struct Run {
    pub(super) events: Vec<TraceEvent>,
    /// The first `compute`'s batch time and ranges, also when it threw.
    pub(super) computed: Option<(Time, Vec<OffsetRange>)>,
    /// A fresh start's positions as `ContextStarted` left them.
    pub(super) positions: Option<Offsets>,
    first_batch: Option<Time>,
}

impl Setup {
    pub(super) fn new(s: &Subject) -> Result<Setup, String> {
        let job = job(s)?;
        let checkpoint = engine_checkpoint(s, &job)?;
        let now = first_compute_time(&checkpoint);
        lineage_fits(&checkpoint, now)?;
        let kafka = seed(s, now)?;
        Ok(Setup { job, checkpoint, kafka, now })
    }

    /// `getOrCreate` finds the checkpoint (and the state RDD files it references).
    pub(super) fn restart(&self) -> Run {
        let mut files = std::collections::BTreeMap::new();
        files.insert(format!("{DIR}/{}", checkpoint::file_name(self.checkpoint.checkpoint_time)), self.checkpoint.to_bytes());
        for f in &self.checkpoint.state_files {
            // The state's values do not matter to what is read from Kafka: an empty state stands for it.
            files.insert(f.file.clone(), b"{}".to_vec());
        }
        drive(&self.job, MemoryStorage { files }, self.kafka.clone(), self.now)
    }

    /// A new (or emptied) checkpoint directory: `creatingFunc` runs the same job from scratch.
    pub(super) fn fresh_start(&self) -> Run {
        drive(&self.job, MemoryStorage::default(), self.kafka.clone(), self.now)
    }
}

impl Run {
    /// The exception that stopped the context, where, and the batch it belongs to.
    pub(super) fn error(&self) -> Option<(SparkError, Phase, Option<Time>)> {
        let mut batch = self.computed.as_ref().map(|(t, _)| *t);
        for e in &self.events {
            match e {
                TraceEvent::JobFinished { batch: b, error: Some(_), .. } => batch = Some(*b),
                TraceEvent::Error { class, message, phase } => {
                    return Some((SparkError::new(class, message.clone()), *phase, batch));
                }
                _ => {}
            }
        }
        None
    }

    /// Restored batches in the order they were re-run, with their checkpointed ranges.
    pub(super) fn restored(&self) -> impl Iterator<Item = (Time, &[OffsetRange])> {
        self.events.iter().filter_map(|e| match e {
            TraceEvent::BatchGenerated { batch, ranges, restored: true, .. } => Some((*batch, ranges.as_slice())),
            _ => None,
        })
    }

    /// Every job of the batch ran and none failed.
    pub(super) fn completed(&self, batch: Time) -> bool {
        self.events.iter().any(|e| matches!(e, TraceEvent::BatchCompleted { batch: b } if *b == batch))
            && !self.events.iter().any(|e| matches!(e, TraceEvent::JobFinished { batch: b, error: Some(_), .. } if *b == batch))
    }

    /// The error of the batch's failed job, if one failed.
    pub(super) fn job_error(&self, batch: Time) -> Option<&SparkError> {
        self.events.iter().find_map(|e| match e {
            TraceEvent::JobFinished { batch: b, error: Some(err), .. } if *b == batch => Some(err),
            _ => None,
        })
    }

    /// `commitAll` sent the restored `commitQueue` (not an auto-commit).
    pub(super) fn commit_sent(&self) -> bool {
        self.events.iter().any(|e| matches!(e, TraceEvent::CommitSent { auto: false, .. }))
    }

    /// Keeps an event; true once the context stopped.
    fn record(&mut self, engine: &Engine, event: TraceEvent) -> bool {
        let done = match &event {
            TraceEvent::ContextStarted { mode: StartMode::Fresh, .. } => {
                self.positions = engine.current_offsets().cloned();
                false
            }
            TraceEvent::BatchGenerated { batch, restored: false, .. } => {
                self.first_batch.get_or_insert(*batch);
                false
            }
            TraceEvent::Error { .. } | TraceEvent::ContextStopped { .. } => true,
            _ => false,
        };
        self.events.push(event);
        done
    }
}

/// The engine, the storage and the Kafka wired together until the run shows its first batch.
fn drive(job: &JobConfig, mut storage: MemoryStorage, mut kafka: KafkaModel, now: Time) -> Run {
    let mut engine = Engine::new();
    let mut run = Run::default();
    if engine.handle_input(now, Input::Start { job: Box::new(job.clone()), code_version: CODE }).is_err() {
        return run;
    }
    for _ in 0..MAX_STEPS {
        match engine.poll_output() {
            Output::Request { id, request } => {
                let reply = match &request {
                    // Nothing else is in the simulated group, so no JoinGroup waits.
                    Request::Kafka(k) => match kafka.serve(k) {
                        Some(r) => Reply::Kafka(r),
                        None => break,
                    },
                    Request::Storage(s) => Reply::Storage(storage::serve(&mut storage, s)),
                };
                let _ = engine.handle_reply(id, reply);
            }
            Output::Trace(line) => {
                if run.record(&engine, line.event) {
                    break;
                }
            }
            // The first batch's jobs are done once the engine waits for the next batch.
            Output::Timeout(_) if run.first_batch.is_some() => break,
            Output::Timeout(t) => {
                kafka.advance(t);
                if engine.handle_timeout(t).is_err() {
                    break;
                }
            }
            Output::Idle => break,
        }
    }
    run.computed = engine.last_compute().cloned();
    run
}

/// The job as the checkpoint's graph shows it. Closures are not readable, so outputs are guessed: a stateful
/// graph prints its state and commits from `foreachRDD` (the state of a re-run batch comes from its RDD file
/// or from the Kafka ranges since), a stateless one prints every batch's records.
fn job(s: &Subject) -> Result<JobConfig, String> {
    let cs = s.k.consumer_strategy.as_ref().ok_or("the checkpoint names no consumer strategy")?;
    let offsets = s.user_offsets();
    let strategy = match cs.kind.as_str() {
        "Assign" => Strategy::Assign {
            partitions: cs.topic_partitions.iter().flatten().map(|tp| Tp::new(tp.topic.clone(), tp.partition)).collect(),
            offsets,
        },
        "Subscribe" | "SubscribePattern" => Strategy::Subscribe { topics: s.topics().into_iter().collect(), offsets },
        other => return Err(format!("consumer strategy {other} is not one of kafka010's: nothing is predicted")),
    };
    let conf = |key: &str| s.cp.spark_conf.iter().find(|(k, _)| k == key).and_then(|(_, v)| v.trim().parse::<i64>().ok());
    let batch = s.cp.batch_duration.filter(|d| *d > 0).ok_or("the checkpoint has no batch interval: nothing is predicted")?;
    let (pipeline, outputs) = if s.stateful {
        (vec![Transform::MapValueOne, Transform::UpdateStateByKeySum], vec![OutputOp::Print(10), OutputOp::ForeachRddCommitAsync])
    } else {
        (vec![Transform::MapValue], vec![OutputOp::Print(10)])
    };
    let job = JobConfig {
        app_name: non_empty(&s.cp.app_name, "app"),
        checkpoint_dir: Some(DIR.into()),
        batch_duration: Duration(batch),
        strategy,
        kafka_params: cs.kafka_params.iter().filter_map(|(k, v)| json_text(v).map(|v| (k.clone(), v))).collect(),
        max_rate_per_partition: s
            .k
            .max_rate_per_partition
            .filter(|r| *r > 0)
            .or(conf("spark.streaming.kafka.maxRatePerPartition"))
            .unwrap_or(0),
        min_rate_per_partition: conf("spark.streaming.kafka.minRatePerPartition").unwrap_or(1),
        pipeline,
        outputs,
    };
    job.validate().map_err(|e| format!("the checkpoint's job cannot run: {e}"))?;
    Ok(job)
}

fn non_empty(s: &str, or: &str) -> String {
    if s.is_empty() { or } else { s }.to_string()
}

fn engine_range(r: &crate::spark::OffsetRange) -> OffsetRange {
    OffsetRange { topic: r.topic.clone(), partition: r.partition, from_offset: r.from_offset, until_offset: r.until_offset }
}

/// What the engine's `CheckpointReader` would read for the same Spark checkpoint.
fn engine_checkpoint(s: &Subject, job: &JobConfig) -> Result<EngineCheckpoint, String> {
    let cp = s.cp;
    let zero_time = cp.zero_time.ok_or("the checkpoint's graph has no zeroTime: nothing is predicted")?;
    let mut batch_for_time: Vec<BatchRanges> =
        s.k.batch_for_time
            .iter()
            .map(|b| BatchRanges { batch: Time(b.time), ranges: b.ranges.iter().map(engine_range).collect() })
            .collect();
    batch_for_time.sort_by_key(|b| b.batch);
    let state_times: BTreeSet<(i64, &str)> =
        cp.streams.iter().filter(|st| !st.is_input).flat_map(|st| st.rdd_checkpoints.iter().map(|r| (r.time, r.path.as_str()))).collect();
    Ok(EngineCheckpoint {
        format: checkpoint::FORMAT.into(),
        master: non_empty(&cp.master, "local[2]"),
        framework: job.app_name.clone(),
        checkpoint_time: Time(cp.checkpoint_time),
        checkpoint_dir: DIR.into(),
        checkpoint_duration: Duration(cp.checkpoint_duration.unwrap_or(job.batch_duration.ms())),
        pending_times: cp.pending_times.iter().map(|t| Time(*t)).collect(),
        zero_time: Time(zero_time),
        batch_duration: job.batch_duration,
        remember_duration: cp.remember_duration.map_or(job.remember_duration(), Duration),
        // in the checkpoint's (the Map's) order, which the engine's restart seeks in
        current_offsets: s
            .k
            .current_offsets
            .iter()
            .map(|o| PartitionOffset { topic: o.topic.clone(), partition: o.partition, offset: o.offset })
            .collect(),
        commit_queue: s.k.commit_queue.iter().map(engine_range).collect(),
        batch_for_time,
        state_files: state_times.into_iter().map(|(t, f)| StateFile { batch: Time(t), file: f.to_string() }).collect(),
        state_checkpoint_duration: job.state_checkpoint_duration(),
        strategy: job.strategy.name().into(),
        topics: job.strategy.topics(),
        kafka_params: job.kafka_params.clone(),
        spark_conf: cp.spark_conf.iter().cloned().collect(),
        job: job.clone(),
        code_version: CODE,
    })
}

/// The first batch a restart computes: the first pending or downtime time without a restored RDD.
fn first_compute_time(cp: &EngineCheckpoint) -> Time {
    let restored: BTreeSet<Time> = cp.batch_for_time.iter().map(|b| b.batch).collect();
    let mut t = cp.checkpoint_time;
    while restored.contains(&t) {
        t = t.plus(cp.batch_duration);
    }
    cp.pending_times.iter().copied().filter(|p| !restored.contains(p)).chain([t]).min().unwrap_or(t)
}

/// Without a state RDD file the state is rebuilt from every batch since `zeroTime`: refuse an endless replay.
fn lineage_fits(cp: &EngineCheckpoint, now: Time) -> Result<(), String> {
    if !cp.job.has_state() {
        return Ok(());
    }
    let base = cp.state_files.iter().map(|f| f.batch).filter(|t| *t <= now).max().unwrap_or(cp.zero_time);
    let batches = (now.ms() - base.ms()) / cp.batch_duration.ms();
    if batches > MAX_LINEAGE {
        return Err(format!(
            "the updateStateByKey state would be rebuilt from {batches} batches since {} (no state RDD file after it): more than the {MAX_LINEAGE} simulated, nothing is predicted",
            base.ms()
        ));
    }
    Ok(())
}

/// The facts as a Kafka: each partition's log from the lowest offset the restart can ask for (the log start
/// itself when `auto.offset.reset=earliest` may ask) to its end, and the group's committed offsets.
fn seed(s: &Subject, now: Time) -> Result<KafkaModel, String> {
    let mut kafka = super::seed::kafka(s.facts, &s.needed_topics(), now, &|tp, start, end| lowest_read(s, tp, start, end))?;
    for (group, g) in &s.facts.groups {
        let offsets: Vec<(Tp, i64)> = g
            .committed
            .iter()
            .map(|c| (Tp::new(c.topic.clone(), c.partition), c.offset))
            .filter(|(tp, _)| kafka.log(tp).is_some())
            .collect();
        if !offsets.is_empty() {
            kafka.commit(group, None, &offsets).map_err(|e| format!("facts: the committed offsets of {group}: {}", e.name()))?;
        }
    }
    Ok(kafka)
}

/// Below this offset nothing is fetched or listed by the restart or a fresh start, so the records under it
/// can be left out (a fetch below it gets the same OFFSET_OUT_OF_RANGE as below the real log start).
fn lowest_read(s: &Subject, tp: &Tp, log_start: i64, log_end: i64) -> i64 {
    if s.reset == "earliest" {
        return log_start;
    }
    let restored = s.k.batch_for_time.iter().flat_map(|b| b.ranges.iter());
    let asked =
        restored.filter(|r| r.topic == tp.topic && r.partition == tp.partition && r.until_offset > r.from_offset).map(|r| r.from_offset);
    let user = s.user_offsets();
    let known = [s.current.get(tp), s.committed.get(tp), user.get(tp)].into_iter().flatten().copied();
    asked.chain(known).min().map_or(log_end, |o| o.min(log_end)).max(log_start)
}
