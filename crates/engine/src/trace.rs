//! Trace events: everything the engine did, one JSON line each (schema: `docs/trace.md`).

use crate::checkpoint::Checkpoint;
use crate::error::SparkError;
use crate::offsets::{OffsetRange, PartitionOffset};
use crate::time::Time;
use serde::{Deserialize, Serialize};

/// One line of a trace: the logical time and what happened.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TraceLine {
    pub t: Time,
    #[serde(flatten)]
    pub event: TraceEvent,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "camelCase")]
pub enum TraceEvent {
    #[serde(rename_all = "camelCase")]
    ContextStarted { mode: StartMode, checkpoint_file: Option<String>, zero_time: Time, first_batch: Time, rescheduled: Vec<Time> },
    #[serde(rename_all = "camelCase")]
    CheckpointRead { file: String, ok: bool, error: Option<String> },
    #[serde(rename_all = "camelCase")]
    BatchGenerated { batch: Time, ranges: Vec<OffsetRange>, num_records: i64, rerun: bool, restored: bool },
    #[serde(rename_all = "camelCase")]
    CommitSent {
        group: String,
        offsets: Vec<PartitionOffset>,
        /// Sent by the driver consumer's `enable.auto.commit`, not by Spark's `commitAll`.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        auto: bool,
    },
    #[serde(rename_all = "camelCase")]
    CommitCompleted { group: String, offsets: Vec<PartitionOffset>, error: Option<String> },
    #[serde(rename_all = "camelCase")]
    JobStarted { batch: Time, output_op: usize, name: String },
    #[serde(rename_all = "camelCase")]
    Output { batch: Time, output_op: usize, lines: Vec<String> },
    #[serde(rename_all = "camelCase")]
    JobFinished { batch: Time, output_op: usize, error: Option<SparkError> },
    #[serde(rename_all = "camelCase")]
    BatchCompleted { batch: Time },
    #[serde(rename_all = "camelCase")]
    CheckpointWritten { file: String, checkpoint: Box<Checkpoint>, files: Vec<String> },
    #[serde(rename_all = "camelCase")]
    StateCheckpointed { batch: Time, file: String },
    #[serde(rename_all = "camelCase")]
    Error { class: String, message: String, phase: Phase },
    #[serde(rename_all = "camelCase")]
    ContextStopped { graceful: bool, killed: bool },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum StartMode {
    Fresh,
    Recovered,
}

/// Where an exception surfaced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Phase {
    /// Thrown out of `ssc.start()` (fresh start or recovery).
    Start,
    /// `generateJobs` of a timer batch (`reportError`, then `awaitTermination` rethrows).
    Generate,
    /// A job (task) failed.
    Job,
    /// `CheckpointReader.read` gave up.
    ReadCheckpoint,
}

impl TraceLine {
    /// The JSON line, exactly as written to a trace file.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("trace events always serialize")
    }
}
