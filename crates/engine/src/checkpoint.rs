//! Metadata checkpoints: what Spark's `Checkpoint` holds, our file format for it, and
//! `CheckpointWriter`/`CheckpointReader`'s file rules (`checkpoint-<ms>`, `.bk`, newest 10 kept).
//!
//! The file is our own format (`docs/checkpoint-format.md`): pretty JSON, versioned by `format`.

use crate::config::JobConfig;
use crate::offsets::{OffsetRange, PartitionOffset};
use crate::storage::Storage;
use crate::time::{Duration, Time};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const FORMAT: &str = "offset-lab-checkpoint/1";
/// `CheckpointWriter` keeps this many files (`MAX_ATTEMPTS`'s neighbour in Spark's source: 10).
pub const KEEP_FILES: usize = 10;

/// The content of one `checkpoint-<ms>` file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Checkpoint {
    pub format: String,
    pub master: String,
    /// `framework`: the app name.
    pub framework: String,
    pub checkpoint_time: Time,
    pub checkpoint_dir: String,
    /// The metadata checkpoint interval (= the batch interval).
    pub checkpoint_duration: Duration,
    /// `jobScheduler.getPendingTimes()`: batches submitted and not completed.
    pub pending_times: Vec<Time>,
    pub zero_time: Time,
    pub batch_duration: Duration,
    pub remember_duration: Duration,
    /// `DirectKafkaInputDStream.currentOffsets`.
    pub current_offsets: Vec<PartitionOffset>,
    /// `DirectKafkaInputDStream.commitQueue`, in queue order.
    pub commit_queue: Vec<OffsetRange>,
    /// `DirectKafkaInputDStreamCheckpointData.batchForTime`, ascending.
    pub batch_for_time: Vec<BatchRanges>,
    /// The state stream's `currentCheckpointFiles` (RDD checkpoint files), ascending.
    pub state_files: Vec<StateFile>,
    pub state_checkpoint_duration: Option<Duration>,
    pub strategy: String,
    pub topics: Vec<String>,
    pub kafka_params: BTreeMap<String, String>,
    pub spark_conf: BTreeMap<String, String>,
    /// The serialized graph: the job as `creatingFunc` built it.
    pub job: JobConfig,
    /// Stands for the serialVersionUIDs of the application's classes: a different value cannot be read.
    pub code_version: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchRanges {
    pub batch: Time,
    pub ranges: Vec<OffsetRange>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateFile {
    pub batch: Time,
    pub file: String,
}

impl Checkpoint {
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).expect("checkpoints always serialize");
        v.push(b'\n');
        v
    }

    /// Reads a checkpoint file; errors say what is wrong, like a failed deserialization would.
    pub fn from_bytes(bytes: &[u8]) -> Result<Checkpoint, String> {
        let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| format!("not a checkpoint file (invalid JSON: {e})"))?;
        match value.get("format").and_then(|f| f.as_str()) {
            Some(FORMAT) => {}
            Some(other) => return Err(format!("unsupported checkpoint format `{other}` (this build reads `{FORMAT}`)")),
            None => return Err("not a checkpoint file (no `format` field)".into()),
        }
        let cp: Checkpoint = serde_json::from_value(value).map_err(|e| format!("corrupt checkpoint: {e}"))?;
        cp.validate()?;
        Ok(cp)
    }

    /// `Checkpoint.validate()`: the fields Spark asserts, plus the ones recovery relies on.
    fn validate(&self) -> Result<(), String> {
        if self.master.is_empty() || self.framework.is_empty() {
            return Err("corrupt checkpoint: master and framework must be set".into());
        }
        if self.batch_duration.ms() <= 0 {
            return Err("corrupt checkpoint: batchDuration must be positive".into());
        }
        self.job.validate().map_err(|e| format!("corrupt checkpoint: {e}"))
    }
}

/// `checkpoint-<ms>`.
pub fn file_name(t: Time) -> String {
    format!("checkpoint-{}", t.ms())
}

/// `checkpoint-<ms>.bk`.
pub fn backup_name(t: Time) -> String {
    format!("checkpoint-{}.bk", t.ms())
}

/// Parses a name matching Spark's `checkpoint-(\d+)([\w\.]*)`: the time and whether a suffix follows.
pub fn parse_name(name: &str) -> Option<(Time, bool)> {
    let rest = name.strip_prefix("checkpoint-")?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let (num, suffix) = rest.split_at(digits);
    if !suffix.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.') {
        return None;
    }
    Some((Time(num.parse().ok()?), !suffix.is_empty()))
}

/// `Checkpoint.getCheckpointFiles`: oldest first, and `.bk` before the plain file of the same time.
pub fn sort_files(names: &[String]) -> Vec<String> {
    let mut files: Vec<(Time, bool, &String)> = names.iter().filter_map(|n| parse_name(n).map(|(t, bk)| (t, !bk, n))).collect();
    files.sort();
    files.into_iter().map(|(_, _, n)| n.clone()).collect()
}

/// The order `CheckpointReader.read` tries files in: newest first, plain before `.bk`.
pub fn reader_order(names: &[String]) -> Vec<String> {
    let mut files = sort_files(names);
    files.reverse();
    files
}

/// `CheckpointWriteHandler.run` against a storage: write `temp`, move an existing `checkpoint-T` to
/// `.bk`, rename `temp`, delete all but the newest 10. Returns the listing afterwards, sorted as Spark sorts.
pub fn write_rotating(storage: &mut dyn Storage, dir: &str, file_time: Time, bytes: &[u8]) -> Result<Vec<String>, String> {
    let temp = format!("{dir}/temp");
    let file = format!("{dir}/{}", file_name(file_time));
    let backup = format!("{dir}/{}", backup_name(file_time));
    storage.write(&temp, bytes)?;
    if storage.exists(&file) {
        if storage.exists(&backup) {
            storage.delete(&backup)?;
        }
        storage.rename(&file, &backup)?;
    }
    storage.rename(&temp, &file)?;
    let all = sort_files(&storage.list(dir)?);
    if all.len() > KEEP_FILES {
        for old in &all[..all.len() - KEEP_FILES] {
            storage.delete(&format!("{dir}/{old}"))?;
        }
    }
    Ok(sort_files(&storage.list(dir)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::MemoryStorage;

    #[test]
    fn names_follow_sparks_regex() {
        assert_eq!(parse_name("checkpoint-1000"), Some((Time(1000), false)));
        assert_eq!(parse_name("checkpoint-1000.bk"), Some((Time(1000), true)));
        assert_eq!(parse_name("checkpoint-"), None);
        assert_eq!(parse_name("checkpoint-12-x"), None);
        assert_eq!(parse_name("temp"), None);
    }

    #[test]
    fn reader_tries_newest_first_plain_before_backup() {
        let names: Vec<String> = ["checkpoint-5000.bk", "checkpoint-10000", "checkpoint-5000", "checkpoint-10000.bk", "temp", "abc"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(reader_order(&names), ["checkpoint-10000", "checkpoint-10000.bk", "checkpoint-5000", "checkpoint-5000.bk"]);
    }

    #[test]
    fn writer_rotates_to_backup_and_keeps_ten() {
        let mut s = MemoryStorage::default();
        for t in 1..=7 {
            write_rotating(&mut s, "ckpt", Time(t * 1000), b"gen").unwrap();
            let files = write_rotating(&mut s, "ckpt", Time(t * 1000), format!("done {t}").as_bytes()).unwrap();
            assert!(files.len() <= KEEP_FILES);
        }
        let files = s.list("ckpt").unwrap();
        assert_eq!(sort_files(&files).first().map(String::as_str), Some("checkpoint-3000.bk"));
        assert_eq!(files.len(), 10);
        assert_eq!(s.read("ckpt/checkpoint-7000").unwrap(), b"done 7");
        assert_eq!(s.read("ckpt/checkpoint-7000.bk").unwrap(), b"gen");
        assert!(!s.exists("ckpt/temp"));
    }
}
