//! A whole checkpoint directory: every `checkpoint-<ms>[.bk]` in Spark's reader order, and which one a restart picks.

use serde::Serialize;

use crate::files::{reader_order, CheckpointName};
use crate::{inspect, Error, Inspection, Limits};

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryEntry {
    pub name: String,
    pub parsed_name: CheckpointName,
    pub size: usize,
    /// The first readable file in reader order: what `CheckpointReader.read` returns on restart.
    pub restart_pick: bool,
    #[serde(skip)]
    pub result: Result<Inspection, Error>,
    /// The error text when the file could not be read (Spark would log it and try the next).
    pub error: Option<String>,
}

/// Takes `(file name, bytes)` pairs (the caller lists the directory, natively or from a browser drop);
/// names that are not checkpoint files are ignored, like Spark's `checkpoint-(\d+)([\w.]*)` filter.
pub fn inspect_directory<'a>(files: impl IntoIterator<Item = (&'a str, &'a [u8])>, limits: &Limits) -> Vec<DirectoryEntry> {
    let files: Vec<(&str, &[u8])> = files.into_iter().collect();
    let order = reader_order(files.iter().map(|(n, _)| *n));
    let mut picked = false;
    order
        .into_iter()
        .map(|(name, parsed_name)| {
            let bytes = files.iter().find(|(n, _)| *n == name).map_or(&[][..], |(_, b)| *b);
            let result = inspect(Some(name), bytes, limits);
            let restart_pick = !picked && result.is_ok();
            picked |= restart_pick;
            let error = result.as_ref().err().map(ToString::to_string);
            DirectoryEntry { name: name.to_string(), parsed_name, size: bytes.len(), restart_pick, result, error }
        })
        .collect()
}
