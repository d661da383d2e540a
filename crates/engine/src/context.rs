//! `StreamingContext` and `JobGenerator` as a sans-IO state machine: the [`Engine`].
//!
//! Contract (as str0m's): after every `handle_*` call, drain [`Engine::poll_output`] until it
//! returns [`Output::Timeout`] or [`Output::Idle`]. Requests must be answered with
//! [`Engine::handle_reply`]; time only moves through [`Engine::handle_timeout`] and the `now` of inputs.

use crate::checkpoint::{self, BatchRanges, Checkpoint, StateFile};
use crate::config::{JobConfig, OutputOp};
use crate::error::{self, SparkError};
use crate::io::{Gather, Memo, Pending, Reply, Request};
use crate::jobs::{self, JobData};
use crate::kafka::{KafkaReply, KafkaRequest};

use crate::offsets;
use crate::state::{self, StateDStream};
use crate::storage::{StorageReply, StorageRequest};
use crate::stream::{DirectKafkaInputDStream, GeneratedRdd};
use crate::time::Time;
use crate::trace::{Phase, StartMode, TraceEvent, TraceLine};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// What the user (or the scenario) does to the driver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// A new driver process runs `StreamingContext.getOrCreate(dir, creatingFunc).start()`.
    /// `code_version` stands for the application's compiled classes.
    Start { job: Box<JobConfig>, code_version: u32 },
    /// `ssc.stop(stopSparkContext = true, stopGracefully = graceful)`.
    Stop { graceful: bool },
    /// `kill -9` of the driver.
    Kill,
}

/// What the engine wants done.
#[derive(Clone, Debug, PartialEq)]
pub enum Output {
    Request {
        id: u64,
        request: Request,
    },
    Trace(TraceLine),
    /// Call [`Engine::handle_timeout`] at this time (the next batch).
    Timeout(Time),
    /// Nothing to do until an input or a reply arrives.
    Idle,
}

/// Why an input was refused; the engine is unchanged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused(pub String);

#[derive(Clone, Debug, PartialEq, Eq)]
enum Task {
    /// `getOrCreate`: read the checkpoint directory, then recover or create.
    GetOrCreate,
    /// `DirectKafkaInputDStream.start()` on a fresh context.
    StartStream,
    /// `generateJobs(time)`; `rerun` when rescheduled by `JobGenerator.restart`.
    Generate {
        time: Time,
        rerun: bool,
    },
    RunJobs {
        time: Time,
    },
    /// A state RDD checkpoint file.
    WriteState {
        time: Time,
        path: String,
        bytes: Vec<u8>,
    },
    /// `DoCheckpoint(time, clearCheckpointDataLater = completion)`.
    Checkpoint {
        time: Time,
        completion: bool,
    },
    /// `ClearCheckpointData`: delete state files no checkpoint needs any more.
    DeleteFiles {
        paths: Vec<String>,
    },
    /// `graph.stop()` → `consumer.close()`, then the context is stopped.
    Shutdown {
        graceful: bool,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    Starting,
    Active,
    /// Graceful stop: the timer runs up to and including `last`.
    Stopping {
        last: Time,
    },
}

/// One driver process: the `StreamingContext` and everything it holds in memory.
struct App {
    job: JobConfig,
    code_version: u32,
    status: Status,
    zero_time: Time,
    next_batch: Option<Time>,
    stream: DirectKafkaInputDStream,
    state: StateDStream,
    /// `jobScheduler.jobSets`: generated batches whose jobs have not all succeeded.
    job_sets: BTreeSet<Time>,
    /// `CheckpointWriter.latestCheckpointTime`.
    latest_checkpoint_time: Option<Time>,
    /// `sc.setCheckpointDir` → `<dir>/<uuid>/`, new in every process.
    rdd_dir: Option<String>,
    next_rdd_id: u64,
    tasks: VecDeque<Task>,
    /// Answered commits whose callback has not run: kafka-clients runs `OffsetCommitCallback`s inside the
    /// driver consumer's next `poll` (the next `compute`), and `close` drops those still waiting.
    completed_commits: Vec<TraceEvent>,
}

/// The whole engine: at most one driver process at a time, plus the I/O bookkeeping.
pub struct Engine {
    now: Time,
    app: Option<App>,
    processes: u64,
    next_id: u64,
    in_flight: BTreeMap<u64, Request>,
    /// Ids of `enable.auto.commit`'s OffsetCommits still in flight.
    auto_commits: BTreeSet<u64>,
    memo: Memo,
    out: VecDeque<Output>,
    /// The batch time and offset ranges of the latest `compute`, kept when `StreamInputInfo`'s check threw.
    last_compute: Option<(Time, Vec<offsets::OffsetRange>)>,
    /// The `updateStateByKey` state of the run that ended (stopped, killed or crashed), until the next start.
    ended_state: Option<state::StateMap>,
}

impl Default for Engine {
    fn default() -> Self {
        Engine::new()
    }
}

impl Engine {
    pub fn new() -> Engine {
        Engine {
            now: Time(0),
            app: None,
            processes: 0,
            next_id: 1,
            in_flight: BTreeMap::new(),
            auto_commits: BTreeSet::new(),
            memo: Memo::default(),
            out: VecDeque::new(),
            last_compute: None,
            ended_state: None,
        }
    }

    pub fn now(&self) -> Time {
        self.now
    }

    /// A user operation at time `now`.
    pub fn handle_input(&mut self, now: Time, input: Input) -> Result<(), Refused> {
        self.advance_clock(now)?;
        match input {
            Input::Start { job, code_version } => {
                if self.app.is_some() {
                    return Err(Refused("the streaming context is already running; stop or kill it first".into()));
                }
                job.validate().map_err(Refused)?;
                self.processes += 1;
                self.ended_state = None;
                self.app = Some(App::new(*job, code_version));
                self.memo = Memo::default();
            }
            Input::Stop { graceful } => {
                let Some(app) = self.app.as_mut() else { return Err(Refused("the streaming context is not running".into())) };
                match (graceful, app.next_batch) {
                    // The timer is waiting for `next`: it fires, the loop exits, one more callback follows.
                    (true, Some(next)) => {
                        let last = next.plus(app.job.batch_duration);
                        app.status = Status::Stopping { last };
                    }
                    _ => {
                        app.tasks.clear();
                        app.next_batch = None;
                        app.tasks.push_back(Task::Shutdown { graceful });
                        self.memo = Memo::default();
                    }
                }
            }
            Input::Kill => {
                if self.app.is_none() {
                    return Err(Refused("the streaming context is not running".into()));
                }
                self.end_app();
                self.memo = Memo::default();
                self.in_flight.clear();
                self.auto_commits.clear();
                self.trace(TraceEvent::ContextStopped { graceful: false, killed: true });
            }
        }
        self.drive();
        Ok(())
    }

    /// Time has reached `now`: the timer fires every batch due.
    pub fn handle_timeout(&mut self, now: Time) -> Result<(), Refused> {
        self.advance_clock(now)?;
        if let Some(app) = self.app.as_mut() {
            while let Some(next) = app.next_batch.filter(|n| *n <= now) {
                app.tasks.push_back(Task::Generate { time: next, rerun: false });
                app.next_batch = match app.status {
                    Status::Stopping { last } if next >= last => None,
                    _ => Some(next.plus(app.job.batch_duration)),
                };
            }
        }
        self.drive();
        Ok(())
    }

    /// The answer to request `id`. Answers to requests of a killed process are ignored.
    pub fn handle_reply(&mut self, id: u64, reply: Reply) -> Result<(), Refused> {
        let Some(req) = self.in_flight.remove(&id) else {
            return Err(Refused(format!("no request {id} is waiting for a reply")));
        };
        // A commit is fire-and-forget for Spark; its answer only reaches the callback.
        let gathered = self.memo.asked.contains(&req);
        // An auto-commit's answer goes to no callback of the application's.
        if self.auto_commits.remove(&id) {
            return Ok(());
        }
        if let (false, Request::Kafka(KafkaRequest::OffsetCommit { group, offsets, .. })) = (gathered, &req) {
            let error = match &reply {
                Reply::Kafka(KafkaReply::CommitResult { result: Ok(()) }) => None,
                Reply::Kafka(KafkaReply::CommitResult { result: Err(e) } | KafkaReply::Failed { error: e }) => Some(e.name()),
                other => Some(format!("unexpected reply {other:?}")),
            };
            let offsets = offsets::to_list(&offsets.iter().cloned().collect());
            if let Some(app) = self.app.as_mut() {
                app.completed_commits.push(TraceEvent::CommitCompleted { group: group.clone(), offsets, error });
            }
            return Ok(());
        }
        self.memo.insert(req, reply);
        self.drive();
        Ok(())
    }

    pub fn poll_output(&mut self) -> Output {
        if let Some(o) = self.out.pop_front() {
            return o;
        }
        match self.next_timeout() {
            Some(t) => Output::Timeout(t),
            None => Output::Idle,
        }
    }

    /// When the timer fires next (it runs even while a task waits for Kafka, as Spark's timer thread does).
    pub fn next_timeout(&self) -> Option<Time> {
        self.app.as_ref().and_then(|a| a.next_batch)
    }

    /// Whether a streaming context is running (started and not stopped).
    pub fn is_running(&self) -> bool {
        self.app.is_some()
    }

    /// The stream's `currentOffsets`, if a context runs.
    pub fn current_offsets(&self) -> Option<&offsets::Offsets> {
        self.app.as_ref().map(|a| &a.stream.current_offsets)
    }

    /// The batch time and ranges of the latest `compute`, also when it threw `numRecords must not be
    /// negative` (no trace event carries them then): what the checkpoint inspector shows next to the exception.
    pub fn last_compute(&self) -> Option<&(Time, Vec<offsets::OffsetRange>)> {
        self.last_compute.as_ref()
    }

    /// The `updateStateByKey` state as the job's `print()` last showed it: while a context runs, that
    /// of its newest computed batch (none before its first, also after a recovery: the restored
    /// state is read lazily, at that batch); after it stopped, was killed or crashed, that of its
    /// last batch, until the next start. (The reference harness reads the same: the last `print()`
    /// of the current driver process.)
    pub fn state(&self) -> Option<&state::StateMap> {
        match &self.app {
            Some(a) => a.state.materialized.as_ref().map(|(_, m)| m),
            None => self.ended_state.as_ref(),
        }
    }

    /// The running context ends; its newest state stays readable through [`Engine::state`].
    fn end_app(&mut self) {
        if let Some(app) = self.app.take() {
            self.ended_state = app.state.materialized.map(|(_, m)| m);
        }
    }

    fn advance_clock(&mut self, now: Time) -> Result<(), Refused> {
        if now < self.now {
            return Err(Refused(format!("time cannot go backwards (now {}, given {})", self.now.ms(), now.ms())));
        }
        self.now = now;
        Ok(())
    }

    fn trace(&mut self, event: TraceEvent) {
        self.out.push_back(Output::Trace(TraceLine { t: self.now, event }));
    }

    fn request(&mut self, request: Request) {
        let id = self.next_id;
        self.next_id += 1;
        self.in_flight.insert(id, request.clone());
        self.out.push_back(Output::Request { id, request });
    }

    /// Runs tasks until one waits for replies or none is left.
    fn drive(&mut self) {
        loop {
            if self.memo.waiting() {
                return;
            }
            let Some(task) = self.app.as_ref().and_then(|a| a.tasks.front().cloned()) else { return };
            let memo = std::mem::take(&mut self.memo);
            let mut g = Gather::new(&memo);
            let effect = self.gather(&task, &mut g);
            let missing = std::mem::take(&mut g.missing);
            match effect {
                Ok(effect) => {
                    if let Some(app) = self.app.as_mut() {
                        app.tasks.pop_front();
                    }
                    self.apply(task, effect);
                }
                Err(Pending) => {
                    let mut memo = memo;
                    for req in missing {
                        if memo.asked.insert(req.clone()) {
                            self.request(req);
                        }
                    }
                    self.memo = memo;
                    return;
                }
            }
        }
    }
}

/// What a task found out, ready to be applied.
enum Effect {
    GetOrCreate {
        tried: Vec<(String, Result<(), String>)>,
        found: Option<(String, Box<Checkpoint>)>,
        failed: Option<SparkError>,
    },
    StartStream(crate::stream::Gathered<offsets::Offsets>),
    Restored,
    Compute(crate::stream::Gathered<crate::stream::ComputeInputs>),
    Jobs(Vec<Result<JobData, SparkError>>),
    StateWritten(Result<(), String>),
    Checkpoint {
        content: Box<Checkpoint>,
        file_time: Time,
        files: BTreeMap<Time, String>,
        result: Result<Vec<String>, String>,
    },
    Skip,
    /// The consumer closed; `close()` may have auto-committed these offsets first.
    Shutdown(Option<(String, offsets::Offsets)>),
}

impl Engine {
    fn gather(&self, task: &Task, g: &mut Gather) -> Result<Effect, Pending> {
        let app = self.app.as_ref().expect("tasks only run inside an app");
        Ok(match task {
            Task::GetOrCreate => app.gather_get_or_create(g)?,
            Task::StartStream => Effect::StartStream(app.stream.gather_start(&app.job, g)?),
            Task::Generate { time, rerun } => match app.stream.generated.get(time) {
                Some(rdd) if *rerun && rdd.restored => Effect::Restored,
                _ => Effect::Compute(app.stream.gather_compute(&app.job, g)?),
            },
            Task::RunJobs { time } => Effect::Jobs(jobs::gather_jobs(&app.job, &app.stream, &app.state, app.zero_time, *time, g)?),
            Task::WriteState { path, bytes, .. } => {
                match g.storage(StorageRequest::Write { path: path.clone(), bytes: bytes.clone() }).ok_or(Pending)? {
                    StorageReply::Done { result } => Effect::StateWritten(result.clone()),
                    other => Effect::StateWritten(Err(format!("unexpected storage reply {other:?}"))),
                }
            }
            Task::Checkpoint { time, .. } => {
                let Some(dir) = app.job.checkpoint_dir.clone() else { return Ok(Effect::Skip) };
                let files = app.state.checkpoint_files_at();
                let content = app.checkpoint(*time, &files);
                let file_time = app.latest_checkpoint_time.map_or(*time, |l| l.max(*time));
                let req = StorageRequest::WriteCheckpoint { dir, file_time, bytes: content.to_bytes() };
                let result = match g.storage(req).ok_or(Pending)? {
                    StorageReply::Written { result } => result.clone(),
                    other => Err(format!("unexpected storage reply {other:?}")),
                };
                Effect::Checkpoint { content: Box::new(content), file_time, files, result }
            }
            Task::DeleteFiles { paths } => {
                for p in paths {
                    g.storage(StorageRequest::Delete { path: p.clone() });
                }
                g.ready()?;
                Effect::Skip
            }
            Task::Shutdown { .. } => {
                let mut auto = None;
                if let (Some(c), Some(group)) = (&app.stream.consumer, app.job.group_id()) {
                    // `close()` commits the positions synchronously when auto-commit is on.
                    if let Some(offsets) = c.clone().auto_commit_due(&app.job, self.now, true) {
                        let req = KafkaRequest::OffsetCommit {
                            group: group.into(),
                            member: c.member.clone(),
                            offsets: offsets.clone().into_iter().collect(),
                        };
                        // its answer reaches no callback of the application's
                        g.kafka(req).ok_or(Pending)?;
                        auto = Some((group.to_string(), offsets));
                    }
                    if let Some((member_id, _)) = &c.member {
                        g.kafka(KafkaRequest::LeaveGroup { group: group.into(), member_id: member_id.clone() }).ok_or(Pending)?;
                    }
                }
                Effect::Shutdown(auto)
            }
        })
    }

    fn apply(&mut self, task: Task, effect: Effect) {
        match (task, effect) {
            (Task::GetOrCreate, Effect::GetOrCreate { tried, found, failed }) => self.apply_get_or_create(tried, found, failed),
            (Task::StartStream, Effect::StartStream(gathered)) => {
                let app = self.app.as_mut().expect("app");
                app.stream.keep_consumer(gathered.consumer, self.now);
                match gathered.result {
                    Ok(positions) => {
                        app.stream.start_from(positions);
                        if let Some(c) = &mut app.stream.consumer {
                            c.seeks.clear();
                        }
                        let first = app.zero_time.plus(app.job.batch_duration);
                        app.status = Status::Active;
                        app.next_batch = Some(first);
                        let zero_time = app.zero_time;
                        self.trace(TraceEvent::ContextStarted {
                            mode: StartMode::Fresh,
                            checkpoint_file: None,
                            zero_time,
                            first_batch: first,
                            rescheduled: vec![],
                        });
                    }
                    Err(e) => self.fail(e, Phase::Start),
                }
            }
            (Task::Generate { time, rerun }, Effect::Restored) => {
                let app = self.app.as_mut().expect("app");
                let ranges = app.stream.generated[&time].ranges.clone();
                app.job_sets.insert(time);
                app.tasks.push_back(Task::RunJobs { time });
                debug_assert!(rerun);
                self.trace(TraceEvent::BatchGenerated { batch: time, ranges, num_records: 0, rerun: true, restored: true });
            }
            (Task::Generate { time, rerun }, Effect::Compute(gathered)) => self.apply_generate(time, rerun, gathered),
            (Task::RunJobs { time }, Effect::Jobs(results)) => self.apply_jobs(time, results),
            (Task::WriteState { time, path, .. }, Effect::StateWritten(result)) => {
                if result.is_ok() {
                    let app = self.app.as_mut().expect("app");
                    app.state.files.insert(time, path.clone());
                    self.trace(TraceEvent::StateCheckpointed { batch: time, file: path });
                }
            }
            (Task::Checkpoint { time, completion }, Effect::Checkpoint { content, file_time, files, result }) => {
                let app = self.app.as_mut().expect("app");
                app.latest_checkpoint_time = Some(file_time);
                app.state.update(time, files);
                // Spark's writer logs a failed write and goes on; nothing reaches the application.
                let Ok(listing) = result else { return };
                let stale = if completion { app.state.cleanup(time) } else { Vec::new() };
                if !stale.is_empty() {
                    app.tasks.push_front(Task::DeleteFiles { paths: stale });
                }
                self.trace(TraceEvent::CheckpointWritten { file: checkpoint::file_name(file_time), checkpoint: content, files: listing });
            }
            (Task::Shutdown { graceful }, Effect::Shutdown(auto)) => {
                if let Some((group, offsets)) = auto {
                    // The synchronous commit in `close` first runs the callbacks of answered commits (the
                    // reference harness saw it); without auto-commit they are dropped. An auto-commit has no
                    // callback of the application's, so nothing traces its answer.
                    let answered = self.app.as_mut().map(|a| std::mem::take(&mut a.completed_commits)).unwrap_or_default();
                    for done in answered {
                        self.trace(done);
                    }
                    self.trace(TraceEvent::CommitSent { group, offsets: offsets::to_list(&offsets), auto: true });
                }
                self.end_app();
                self.memo = Memo::default();
                self.trace(TraceEvent::ContextStopped { graceful, killed: false });
            }
            (_, Effect::Skip) => {}
            (task, _) => unreachable!("effect does not belong to task {task:?}"),
        }
    }

    /// `consumer.commitAsync`: fire and forget; the answer only reaches the callback.
    fn send_commit(&mut self, group: String, member: Option<(String, i32)>, offsets: offsets::Offsets, auto: bool) {
        self.trace(TraceEvent::CommitSent { group: group.clone(), offsets: offsets::to_list(&offsets), auto });
        if auto {
            self.auto_commits.insert(self.next_id);
        }
        self.request(Request::Kafka(KafkaRequest::OffsetCommit { group, member, offsets: offsets.into_iter().collect() }));
    }

    /// An exception reached the application: it is reported and the context stops (the driver's
    /// `awaitTermination` or `start` rethrows, the JVM exits, the shutdown hook closes the consumer).
    fn fail(&mut self, e: SparkError, phase: Phase) {
        self.trace(TraceEvent::Error { class: e.class, message: e.message, phase });
        if let Some(app) = self.app.as_mut() {
            app.next_batch = None;
            app.tasks.retain(|t| matches!(t, Task::Checkpoint { .. }));
            app.tasks.push_back(Task::Shutdown { graceful: false });
        }
    }

    fn apply_get_or_create(
        &mut self,
        tried: Vec<(String, Result<(), String>)>,
        found: Option<(String, Box<Checkpoint>)>,
        failed: Option<SparkError>,
    ) {
        for (file, r) in tried {
            let (ok, error) = match r {
                Ok(()) => (true, None),
                Err(e) => (false, Some(e)),
            };
            self.trace(TraceEvent::CheckpointRead { file, ok, error });
        }
        if let Some(e) = failed {
            self.trace(TraceEvent::Error { class: e.class, message: e.message, phase: Phase::ReadCheckpoint });
            self.end_app();
            self.trace(TraceEvent::ContextStopped { graceful: false, killed: false });
            return;
        }
        let now = self.now;
        let uuid = run_uuid(now, self.processes);
        let app = self.app.as_mut().expect("app");
        app.rdd_dir = app.job.checkpoint_dir.as_ref().map(|d| format!("{d}/{uuid}"));
        match found {
            None => {
                if let Err(e) = app.validate_at_start() {
                    return self.fail(e, Phase::Start);
                }
                // `RecurringTimer.getStartTime`; `graph.start(startTime - batchDuration)`.
                let first = now.next_grid_point(app.job.batch_duration);
                app.zero_time = first.minus(app.job.batch_duration);
                app.tasks.push_back(Task::StartStream);
            }
            Some((file, cp)) => {
                app.restore(&cp);
                let batch = app.job.batch_duration;
                let restart_time = now.next_grid_point_from(app.zero_time, batch);
                let mut times: BTreeSet<Time> = cp.pending_times.iter().copied().filter(|t| *t < restart_time).collect();
                let mut t = cp.checkpoint_time;
                while t < restart_time {
                    times.insert(t);
                    t = t.plus(batch);
                }
                for &time in &times {
                    app.tasks.push_back(Task::Generate { time, rerun: true });
                }
                app.status = Status::Active;
                app.next_batch = Some(restart_time);
                let zero_time = app.zero_time;
                self.trace(TraceEvent::ContextStarted {
                    mode: StartMode::Recovered,
                    checkpoint_file: Some(file),
                    zero_time,
                    first_batch: restart_time,
                    rescheduled: times.into_iter().collect(),
                });
            }
        }
    }

    fn apply_generate(&mut self, time: Time, rerun: bool, gathered: crate::stream::Gathered<crate::stream::ComputeInputs>) {
        let app = self.app.as_mut().expect("app");
        app.stream.keep_consumer(gathered.consumer, self.now);
        // `paranoidPoll` at the start of compute runs the callbacks of the commits answered since the last one.
        for done in std::mem::take(&mut app.completed_commits) {
            self.trace(done);
        }
        let app = self.app.as_mut().expect("app");
        // The poll at the start of compute auto-commits the positions the previous compute left.
        let now = self.now;
        let auto = app.stream.consumer.as_mut().and_then(|c| c.auto_commit_due(&app.job, now, false).map(|o| (o, c.member.clone())));
        if let Some((offsets, member)) = auto {
            let group = app.job.group_id().unwrap_or_default().to_string();
            self.send_commit(group, member, offsets, true);
        }
        let app = self.app.as_mut().expect("app");
        let ranges = gathered.result.map(|inputs| app.stream.offset_ranges(&app.job, inputs));
        if let Ok(r) = &ranges {
            self.last_compute = Some((time, r.clone()));
        }
        let computed = ranges.and_then(|r| app.stream.apply_ranges(r));
        match computed {
            Ok(c) => {
                app.stream.generated.insert(time, GeneratedRdd { ranges: c.ranges.clone(), restored: false });
                app.job_sets.insert(time);
                let commit = c.commit.map(|offsets| {
                    let member = app.stream.consumer.as_ref().and_then(|c| c.member.clone());
                    (app.job.group_id().unwrap_or_default().to_string(), member, offsets)
                });
                if !rerun {
                    app.tasks.push_back(Task::Checkpoint { time, completion: false });
                }
                app.tasks.push_back(Task::RunJobs { time });
                // `commitAll` runs inside `compute`, before the job set is submitted (and so before
                // Spark's listeners hear of the batch): the commit comes first.
                if let Some((group, member, offsets)) = commit {
                    self.send_commit(group, member, offsets, false);
                }
                // Re-run batches carry no input info: Spark's UI shows 0 records for them.
                let num_records = if rerun { 0 } else { c.num_records };
                self.trace(TraceEvent::BatchGenerated { batch: time, ranges: c.ranges, num_records, rerun, restored: false });
            }
            Err(e) if rerun => {
                // No `Try` around rescheduled generation: the exception leaves `ssc.start()`.
                app.tasks.clear();
                self.fail(e, Phase::Start);
            }
            Err(e) => {
                // `generateJobs` reports the error, and still posts `DoCheckpoint(time)`.
                if app.job.checkpoint_dir.is_some() {
                    app.tasks.push_front(Task::Checkpoint { time, completion: false });
                }
                self.fail(e, Phase::Generate);
            }
        }
    }

    fn apply_jobs(&mut self, time: Time, results: Vec<Result<JobData, SparkError>>) {
        let mut first_error = None;
        let mut last_ok = true;
        for (i, result) in results.into_iter().enumerate() {
            let op = self.app.as_ref().expect("app").job.outputs[i].clone();
            self.trace(TraceEvent::JobStarted { batch: time, output_op: i, name: op.name().into() });
            let error = match result {
                Ok(JobData::Print { data, state }) => {
                    let OutputOp::Print(n) = op else { unreachable!("print data for a print job") };
                    if let Some(s) = state {
                        self.store_state(time, s);
                    }
                    self.trace(TraceEvent::Output { batch: time, output_op: i, lines: crate::pipeline::print_lines(time, &data, n) });
                    None
                }
                Ok(JobData::Commit(ranges)) => {
                    self.app.as_mut().expect("app").stream.commit_async(&ranges);
                    None
                }
                Err(e) => Some(e),
            };
            if let (Some(e), None) = (&error, &first_error) {
                first_error = Some(e.clone());
            }
            last_ok = error.is_none();
            self.trace(TraceEvent::JobFinished { batch: time, output_op: i, error });
        }
        // `handleJobCompletion` completes the batch when its last job to finish succeeds, even if an
        // earlier one failed (the reference harness saw it); otherwise the batch stays in `jobSets`,
        // so in `pendingTimes` of later checkpoints. Either way the first error stops the application.
        if last_ok {
            self.complete_batch(time);
        }
        if let Some(e) = first_error {
            self.fail(e, Phase::Job);
        }
    }

    /// `onBatchCompletion`: forget old RDDs, write the completion checkpoint.
    fn complete_batch(&mut self, time: Time) {
        let app = self.app.as_mut().expect("app");
        app.job_sets.remove(&time);
        // `graph.clearMetadata(time)`: forget RDDs older than the remember duration.
        let horizon = time.minus(app.job.remember_duration());
        app.stream.generated.retain(|t, _| *t > horizon);
        app.state.rdds.retain(|t| *t > horizon);
        if app.job.checkpoint_dir.is_some() {
            // `ClearMetadata(time)` → `DoCheckpoint(time)` on the JobGenerator's loop while the job thread moves to
            // the next job set: the checkpoint is taken before later batches' jobs run (after a recovery, the
            // re-run batches' checkpoints interleave with their jobs), behind only the state files it refers to.
            let at = app.tasks.iter().position(|t| !matches!(t, Task::WriteState { .. })).unwrap_or(app.tasks.len());
            app.tasks.insert(at, Task::Checkpoint { time, completion: true });
        }
        if matches!(app.status, Status::Stopping { last } if time >= last) {
            app.tasks.push_back(Task::Shutdown { graceful: true });
        }
        self.trace(TraceEvent::BatchCompleted { batch: time });
    }

    /// The state RDD of `time` now exists; at checkpoint-interval times it is also written to a file.
    fn store_state(&mut self, time: Time, s: state::StateMap) {
        let app = self.app.as_mut().expect("app");
        // A state RDD restored from its file is not written again.
        let due = app.job.state_checkpoint_duration().is_some_and(|cd| time.is_multiple_of(app.zero_time, cd))
            && !app.state.files.contains_key(&time);
        if let (true, Some(dir)) = (due, &app.rdd_dir) {
            let path = format!("{dir}/rdd-{}", app.next_rdd_id);
            app.next_rdd_id += 1;
            // The file is written after the job, before the batch's completion checkpoint.
            let at = app.tasks.iter().position(|t| !matches!(t, Task::WriteState { .. })).unwrap_or(app.tasks.len());
            app.tasks.insert(at, Task::WriteState { time, path, bytes: state::encode(&s) });
        }
        app.state.rdds.insert(time);
        app.state.materialized = Some((time, s));
    }
}

impl App {
    fn new(job: JobConfig, code_version: u32) -> App {
        App {
            job,
            code_version,
            status: Status::Starting,
            zero_time: Time(0),
            next_batch: None,
            stream: DirectKafkaInputDStream::default(),
            state: StateDStream::default(),
            job_sets: BTreeSet::new(),
            latest_checkpoint_time: None,
            rdd_dir: None,
            next_rdd_id: 1,
            tasks: VecDeque::from([Task::GetOrCreate]),
            completed_commits: Vec::new(),
        }
    }

    /// `CheckpointReader.read`: newest file first, falling back past unreadable ones.
    fn gather_get_or_create(&self, g: &mut Gather) -> Result<Effect, Pending> {
        let Some(dir) = &self.job.checkpoint_dir else {
            return Ok(Effect::GetOrCreate { tried: vec![], found: None, failed: None });
        };
        let names = match g.storage(StorageRequest::List { dir: dir.clone() }).ok_or(Pending)? {
            StorageReply::Listing { result: Ok(names) } => names.clone(),
            _ => Vec::new(),
        };
        let mut tried = Vec::new();
        for name in checkpoint::reader_order(&names) {
            let path = format!("{dir}/{name}");
            let read = match g.storage(StorageRequest::Read { path }).ok_or(Pending)? {
                StorageReply::Bytes { result: Ok(bytes) } => Checkpoint::from_bytes(bytes).and_then(|cp| self.check_classes(cp)),
                StorageReply::Bytes { result: Err(e) } => Err(e.clone()),
                other => Err(format!("unexpected storage reply {other:?}")),
            };
            match read {
                Ok(cp) => {
                    tried.push((name.clone(), Ok(())));
                    return Ok(Effect::GetOrCreate { tried, found: Some((name, Box::new(cp))), failed: None });
                }
                Err(e) => tried.push((name, Err(e))),
            }
        }
        let failed =
            (!tried.is_empty()).then(|| SparkError::new(error::SPARK_EXCEPTION, format!("Failed to read checkpoint from directory {dir}")));
        Ok(Effect::GetOrCreate { tried, found: None, failed })
    }

    /// Deserializing the graph needs the same classes that wrote it.
    fn check_classes(&self, cp: Checkpoint) -> Result<Checkpoint, String> {
        if cp.code_version == self.code_version {
            Ok(cp)
        } else {
            Err(format!(
                "java.io.InvalidClassException: {}$$anonfun$1; local class incompatible: stream classdesc serialVersionUID = {}, local class serialVersionUID = {}",
                cp.framework, cp.code_version, self.code_version
            ))
        }
    }

    /// `StreamingContext.validate()` and `DStream.validateAtStart()` for a new context.
    fn validate_at_start(&self) -> Result<(), SparkError> {
        if self.job.outputs.is_empty() {
            return Err(SparkError::requirement("No output operations registered, so nothing to execute"));
        }
        if self.job.has_state() && self.job.checkpoint_dir.is_none() {
            return Err(SparkError::requirement(
                "The checkpoint directory has not been set. Please set it by StreamingContext.checkpoint().",
            ));
        }
        Ok(())
    }

    /// The recovered context: graph, offsets, queue, restored RDDs and conf from the checkpoint.
    fn restore(&mut self, cp: &Checkpoint) {
        self.job = cp.job.clone();
        self.zero_time = cp.zero_time;
        self.stream.restore_current(&cp.current_offsets);
        self.stream.commit_queue = cp.commit_queue.clone();
        for b in &cp.batch_for_time {
            self.stream.generated.insert(b.batch, GeneratedRdd { ranges: b.ranges.clone(), restored: true });
        }
        for f in &cp.state_files {
            self.state.rdds.insert(f.batch);
            self.state.files.insert(f.batch, f.file.clone());
            self.state.current_files.insert(f.batch, f.file.clone());
        }
    }

    /// `new Checkpoint(ssc, time)` after `graph.updateCheckpointData(time)`.
    fn checkpoint(&self, time: Time, state_files: &BTreeMap<Time, String>) -> Checkpoint {
        let job = &self.job;
        let mut spark_conf = BTreeMap::new();
        spark_conf.insert("spark.app.name".to_string(), job.app_name.clone());
        spark_conf.insert("spark.master".to_string(), MASTER.to_string());
        spark_conf.insert("spark.streaming.kafka.maxRatePerPartition".to_string(), job.max_rate_per_partition.to_string());
        spark_conf.insert("spark.streaming.kafka.minRatePerPartition".to_string(), job.min_rate_per_partition.to_string());
        Checkpoint {
            format: checkpoint::FORMAT.into(),
            master: MASTER.into(),
            framework: job.app_name.clone(),
            checkpoint_time: time,
            checkpoint_dir: job.checkpoint_dir.clone().unwrap_or_default(),
            checkpoint_duration: job.batch_duration,
            pending_times: self.job_sets.iter().copied().collect(),
            zero_time: self.zero_time,
            batch_duration: job.batch_duration,
            remember_duration: job.remember_duration(),
            // in the map's order, as Java serialization of Spark's `Map1`–`Map4` keeps it
            current_offsets: self
                .stream
                .current_keys()
                .into_iter()
                .map(|tp| offsets::PartitionOffset { offset: self.stream.current_offsets[&tp], topic: tp.topic, partition: tp.partition })
                .collect(),
            commit_queue: self.stream.commit_queue.clone(),
            batch_for_time: self.stream.generated.iter().map(|(t, r)| BatchRanges { batch: *t, ranges: r.ranges.clone() }).collect(),
            state_files: state_files.iter().map(|(t, f)| StateFile { batch: *t, file: f.clone() }).collect(),
            state_checkpoint_duration: job.state_checkpoint_duration(),
            strategy: job.strategy.name().into(),
            topics: job.strategy.topics(),
            kafka_params: job.kafka_params.clone(),
            spark_conf,
            job: job.clone(),
            code_version: self.code_version,
        }
    }
}

/// The master every lab job runs with, as the seed's job does.
pub const MASTER: &str = "local[2]";

/// A UUID-shaped name for `<checkpointDir>/<uuid>/`, derived from the start time and the process
/// count so runs are reproducible.
fn run_uuid(now: Time, process: u64) -> String {
    let mut x = (now.ms() as u64) ^ process.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut next = || {
        // splitmix64
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let (a, b) = (next(), next());
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        (b >> 48) & 0x3fff | 0x8000,
        b & 0xffff_ffff_ffff
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::KafkaReply;

    fn started() -> Engine {
        let mut e = Engine::new();
        e.handle_input(Time(2_000), Input::Start { job: Box::new(JobConfig::seed(&["words"], "g")), code_version: 1 }).unwrap();
        e
    }

    #[test]
    fn bad_inputs_are_refused_and_change_nothing() {
        let mut e = Engine::new();
        assert!(e.handle_input(Time(0), Input::Stop { graceful: true }).is_err());
        assert!(e.handle_input(Time(0), Input::Kill).is_err());
        let mut e = started();
        let again = e.handle_input(Time(2_000), Input::Start { job: Box::new(JobConfig::seed(&["words"], "g")), code_version: 1 });
        assert!(again.unwrap_err().0.contains("already running"));
        assert!(e.handle_timeout(Time(1_000)).unwrap_err().0.contains("backwards"));
        assert!(e.handle_reply(999, Reply::Kafka(KafkaReply::Left)).is_err());
        let mut bad = JobConfig::seed(&["words"], "g");
        bad.kafka_params.insert("auto.offset.reset".into(), "smallest".into());
        assert!(Engine::new()
            .handle_input(Time(0), Input::Start { job: Box::new(bad), code_version: 1 })
            .unwrap_err()
            .0
            .contains("smallest"));
    }

    #[test]
    fn the_first_thing_a_start_does_is_list_the_checkpoint_directory() {
        let mut e = started();
        match e.poll_output() {
            Output::Request { request: Request::Storage(StorageRequest::List { dir }), .. } => assert_eq!(dir, "ckpt"),
            other => panic!("unexpected {other:?}"),
        }
        // Nothing else happens until that request is answered.
        assert_eq!(e.poll_output(), Output::Idle);
    }
}
