//! A Structured Streaming checkpoint folder (`metadata`, `offsets/N`, `commits/N`, `sources/0/0`, `state/`) read
//! with `crates/structured`'s own log readers — the ones its engine reads and writes with — and told apart from a
//! DStream one (`checkpoint-<ms>` files). Pure: the caller lists the folder (natively, or a browser's directory pick).

mod predict;
mod text;

use std::collections::BTreeMap;

use engine::offsets::Offsets;
use serde::Serialize;
use structured::log;

use crate::crc_sidecar::{sidecar_name, verify};
use crate::files::CheckpointName;

pub use predict::{predict, wanted_topics, Outcome, RunBatch, StructuredPrediction};
pub use text::{prediction_text, summary};

/// What kind of checkpoint a folder holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum FolderKind {
    /// `checkpoint-<ms>[.bk]` files: `StreamingContext.checkpoint` (DStreams).
    DStream,
    /// `metadata` with the query id, `offsets/`, `commits/`, `sources/`: `writeStream.option("checkpointLocation")`.
    Structured,
    Unknown,
}

impl FolderKind {
    /// From the folder's relative paths (`offsets/0`, `checkpoint-1795616358000`, …).
    pub fn detect<'a>(paths: impl IntoIterator<Item = &'a str>) -> FolderKind {
        let (mut ss, mut ds) = (false, false);
        for p in paths {
            let first = p.split('/').next().unwrap_or("");
            ss |= p == "metadata" || (p.contains('/') && matches!(first, "offsets" | "commits" | "sources"));
            ds |= !p.contains('/') && CheckpointName::parse(p).is_some();
        }
        match (ss, ds) {
            (true, _) => FolderKind::Structured,
            (false, true) => FolderKind::DStream,
            _ => FolderKind::Unknown,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            FolderKind::DStream => "a Spark Streaming (DStream) checkpoint directory",
            FolderKind::Structured => "a Structured Streaming checkpoint folder",
            FolderKind::Unknown => "no Spark checkpoint",
        }
    }
}

/// A file of the folder that could not be read: which, where (line and byte when known), and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileError {
    pub file: String,
    pub line: Option<usize>,
    pub byte: Option<usize>,
    pub message: String,
}

impl std::fmt::Display for FileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.line, self.byte) {
            (Some(l), Some(b)) => write!(f, "{}: line {l}, byte {b}: {}", self.file, self.message),
            (None, Some(b)) => write!(f, "{}: byte {b}: {}", self.file, self.message),
            _ => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// One batch of the offset log and its commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Batch {
    pub id: i64,
    /// `offsets/N`'s Kafka source offsets: where the batch ends. `None` when the file is missing or unreadable.
    pub end: Option<Offsets>,
    pub batch_timestamp_ms: Option<i64>,
    /// `commits/N` exists and reads: the sink finished the batch.
    pub committed: bool,
    pub offsets_file: bool,
    pub commit_file: bool,
}

/// The `state/` folder of a stateful query: per operator its store partitions and newest version file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StateOperator {
    pub operator: String,
    pub partitions: usize,
    pub newest_version: Option<i64>,
    pub files: usize,
}

/// Where the restart goes on (`MicroBatchExecution.populateStartOffsets`, as the engine decides it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NextBatch {
    pub id: i64,
    /// The last logged batch is not committed: it runs again with exactly its logged end offsets.
    pub rerun: bool,
    /// Where it starts: the previous batch's end, or `sources/0/0` for batch 0 (`None`: resolved at the restart).
    pub start: Option<Offsets>,
    /// For a re-run, the logged end; otherwise planned at the restart from the latest offsets.
    pub end: Option<Offsets>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StructuredCheckpoint {
    pub kind: FolderKind,
    pub query_id: Option<String>,
    /// `sources/0/0`: the offsets `startingOffsets` resolved to when the query was new.
    pub initial_offsets: Option<Offsets>,
    pub batches: Vec<Batch>,
    /// The Spark line that wrote the offset log, from its conf keys (Spark 4 adds `stateStore.encodingFormat`).
    pub spark: String,
    pub state: Vec<StateOperator>,
    /// Every file the folder has, with its size, by relative path.
    pub files: BTreeMap<String, usize>,
    pub errors: Vec<FileError>,
    pub warnings: Vec<String>,
    /// `None` when the files a restart reads cannot be read (see `errors`) or the folder has no offset log.
    pub next_batch: Option<NextBatch>,
    /// What the restart does before it asks Kafka anything, when that already fails (a file it must read is bad).
    pub restart_error: Option<String>,
}

impl StructuredCheckpoint {
    /// The Kafka source's position after the last committed batch, or `sources/0/0`.
    pub fn committed_end(&self) -> Option<&Offsets> {
        self.batches.iter().rev().find(|b| b.committed).and_then(|b| b.end.as_ref()).or(self.initial_offsets.as_ref())
    }
}

/// The folder as `(relative path, bytes)` pairs, `/`-separated from the checkpoint's root (`offsets/3`, `metadata`).
pub fn read_folder<'a>(files: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> StructuredCheckpoint {
    let files: BTreeMap<&str, &[u8]> = files.into_iter().collect();
    let kind = FolderKind::detect(files.keys().copied());
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    // On file:// Hadoop's ChecksumFileSystem checks a `.name.crc` sidecar while Spark reads: a mismatch fails the read.
    let read = |path: &str, errors: &mut Vec<FileError>| -> Option<&[u8]> {
        let bytes = *files.get(path)?;
        let (dir, name) = path.rsplit_once('/').map_or(("", path), |(d, n)| (d, n));
        let side = if dir.is_empty() { sidecar_name(name) } else { format!("{dir}/{}", sidecar_name(name)) };
        if let Some(Err(why)) = files.get(side.as_str()).map(|s| verify(bytes, s)) {
            errors.push(FileError {
                file: path.into(),
                line: None,
                byte: None,
                message: format!("{side}: {why} (org.apache.hadoop.fs.ChecksumException)"),
            });
            return None;
        }
        Some(bytes)
    };
    let located = |file: &str, e: log::LogError| FileError { file: file.into(), line: e.line, byte: e.byte, message: e.message };
    let query_id = read("metadata", &mut errors).and_then(|b| log::read_metadata(b).map_err(|e| errors.push(located("metadata", e))).ok());
    if !files.contains_key("metadata") {
        warnings.push("no metadata file: a restart writes a new one with a new query id".into());
    }
    let initial_offsets = read("sources/0/0", &mut errors)
        .and_then(|b| log::read_initial_offsets(b).map_err(|e| errors.push(located("sources/0/0", e))).ok());
    let ids = |dir: &str| -> Vec<i64> {
        let names: Vec<String> = files.keys().filter_map(|p| p.strip_prefix(dir)).filter(|n| !n.contains('/')).map(String::from).collect();
        log::batch_ids(&names)
    };
    let (offset_ids, commit_ids) = (ids("offsets/"), ids("commits/"));
    let mut batches: BTreeMap<i64, Batch> = BTreeMap::new();
    let mut confs = Vec::new();
    for id in &offset_ids {
        let path = format!("offsets/{id}");
        let seq = read(&path, &mut errors).and_then(|b| log::read_offsets_file(b).map_err(|e| errors.push(located(&path, e))).ok());
        if let Some(s) = &seq {
            confs.push(s.conf.clone());
        }
        let b = batches.entry(*id).or_insert_with(|| empty_batch(*id));
        b.offsets_file = true;
        b.batch_timestamp_ms = seq.as_ref().and_then(|s| s.batch_timestamp_ms);
        b.end = seq.and_then(|s| s.source);
    }
    for id in &commit_ids {
        let path = format!("commits/{id}");
        let ok = read(&path, &mut errors).is_some_and(|b| log::read_commit_file(b).map_err(|e| errors.push(located(&path, e))).is_ok());
        let b = batches.entry(*id).or_insert_with(|| empty_batch(*id));
        b.commit_file = true;
        b.committed = ok;
    }
    if let (Some(first), Some(last)) = (offset_ids.first(), offset_ids.last()) {
        let missing: Vec<String> = (*first..=*last).filter(|i| !offset_ids.contains(i)).map(|i| i.to_string()).collect();
        if !missing.is_empty() {
            warnings.push(format!("offsets/ lacks batch(es) {} between {first} and {last}", missing.join(", ")));
        }
        if *first > 0 {
            warnings.push(format!("offsets/ starts at batch {first}: earlier files were purged (minBatchesToRetain)"));
        }
    }
    let spark4 = confs.iter().any(|c| c.contains_key("spark.sql.streaming.stateStore.encodingFormat"));
    let spark = if confs.is_empty() {
        "unknown"
    } else if spark4 {
        "4.x"
    } else {
        "3.x"
    }
    .to_string();
    let sizes = files.iter().map(|(p, b)| (p.to_string(), b.len())).collect();
    let mut cp = StructuredCheckpoint {
        kind,
        query_id,
        initial_offsets,
        batches: batches.into_values().collect(),
        spark,
        state: state_operators(files.keys().copied()),
        files: sizes,
        errors,
        warnings,
        next_batch: None,
        restart_error: None,
    };
    let files: Vec<(String, Vec<u8>)> = files.iter().map(|(p, b)| (p.to_string(), b.to_vec())).collect();
    match predict::populate(&cp, &files) {
        Ok(next) => cp.next_batch = next,
        Err(e) => cp.restart_error = Some(e),
    }
    cp
}

fn empty_batch(id: i64) -> Batch {
    Batch { id, end: None, batch_timestamp_ms: None, committed: false, offsets_file: false, commit_file: false }
}

/// `state/<operator>/<partition>/<version>.delta|.snapshot` (HDFS-backed store) or RocksDB's `<version>.zip`.
fn state_operators<'a>(paths: impl Iterator<Item = &'a str>) -> Vec<StateOperator> {
    let mut ops: BTreeMap<String, (std::collections::BTreeSet<String>, Option<i64>, usize)> = BTreeMap::new();
    for p in paths {
        let parts: Vec<&str> = p.split('/').collect();
        let ["state", op, part, file, ..] = parts[..] else { continue };
        let e = ops.entry(op.to_string()).or_default();
        e.0.insert(part.to_string());
        e.2 += 1;
        let version = file.split('.').next().and_then(|v| v.parse::<i64>().ok());
        e.1 = e.1.max(version);
    }
    ops.into_iter()
        .map(|(operator, (parts, newest_version, files))| StateOperator { operator, partitions: parts.len(), newest_version, files })
        .collect()
}
