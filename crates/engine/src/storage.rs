//! Checkpoint storage: the requests the engine makes, and the synchronous interface shells implement.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::time::Time;

/// What the engine asks of the checkpoint directory. Paths are `/`-separated and relative to the
/// run's storage root (`ckpt/checkpoint-1000`, `ckpt/<uuid>/rdd-3`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum StorageRequest {
    /// The names of the files directly in `dir` (none if it does not exist).
    List {
        dir: String,
    },
    Read {
        path: String,
    },
    /// A metadata checkpoint, written with `CheckpointWriter`'s rules ([`crate::checkpoint::write_rotating`]).
    #[serde(rename_all = "camelCase")]
    WriteCheckpoint {
        dir: String,
        file_time: Time,
        bytes: Vec<u8>,
    },
    /// Any other file (state RDD checkpoints), written atomically.
    Write {
        path: String,
        bytes: Vec<u8>,
    },
    /// Deletes a file, or a directory with everything under it.
    Delete {
        path: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum StorageReply {
    Listing {
        result: Result<Vec<String>, String>,
    },
    Bytes {
        result: Result<Vec<u8>, String>,
    },
    /// The checkpoint directory listing after the write and rotation.
    Written {
        result: Result<Vec<String>, String>,
    },
    Done {
        result: Result<(), String>,
    },
}

/// A filesystem as `CheckpointWriter` uses it. Shells implement it: in memory, a directory on disk,
/// browser storage.
pub trait Storage {
    /// File names directly in `dir`, sorted; empty when `dir` does not exist.
    fn list(&self, dir: &str) -> Result<Vec<String>, String>;
    fn read(&self, path: &str) -> Result<Vec<u8>, String>;
    /// Replaces `path` atomically.
    fn write(&mut self, path: &str, bytes: &[u8]) -> Result<(), String>;
    fn rename(&mut self, from: &str, to: &str) -> Result<(), String>;
    /// Deletes a file, or a directory and everything under it; deleting nothing is fine.
    fn delete(&mut self, path: &str) -> Result<(), String>;
    fn exists(&self, path: &str) -> bool;
}

/// Answers a storage request against a [`Storage`].
pub fn serve(storage: &mut dyn Storage, req: &StorageRequest) -> StorageReply {
    match req {
        StorageRequest::List { dir } => StorageReply::Listing { result: storage.list(dir) },
        StorageRequest::Read { path } => StorageReply::Bytes { result: storage.read(path) },
        StorageRequest::WriteCheckpoint { dir, file_time, bytes } => {
            StorageReply::Written { result: crate::checkpoint::write_rotating(storage, dir, *file_time, bytes) }
        }
        StorageRequest::Write { path, bytes } => StorageReply::Done { result: storage.write(path, bytes) },
        StorageRequest::Delete { path } => StorageReply::Done { result: storage.delete(path) },
    }
}

/// Files in memory, keyed by full path. Used by tests, the CLI's default and the offline page.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemoryStorage {
    pub files: BTreeMap<String, Vec<u8>>,
}

impl Storage for MemoryStorage {
    fn list(&self, dir: &str) -> Result<Vec<String>, String> {
        let prefix = format!("{}/", dir.trim_end_matches('/'));
        Ok(self.files.keys().filter_map(|k| k.strip_prefix(&prefix)).filter(|rest| !rest.contains('/')).map(str::to_string).collect())
    }
    fn read(&self, path: &str) -> Result<Vec<u8>, String> {
        self.files.get(path).cloned().ok_or_else(|| format!("File {path} does not exist"))
    }
    fn write(&mut self, path: &str, bytes: &[u8]) -> Result<(), String> {
        self.files.insert(path.to_string(), bytes.to_vec());
        Ok(())
    }
    fn rename(&mut self, from: &str, to: &str) -> Result<(), String> {
        let bytes = self.files.remove(from).ok_or_else(|| format!("File {from} does not exist"))?;
        self.files.insert(to.to_string(), bytes);
        Ok(())
    }
    fn delete(&mut self, path: &str) -> Result<(), String> {
        let prefix = format!("{}/", path.trim_end_matches('/'));
        self.files.retain(|k, _| k != path && !k.starts_with(&prefix));
        Ok(())
    }
    fn exists(&self, path: &str) -> bool {
        self.files.contains_key(path)
    }
}
