//! A whole checkpoint directory: every `checkpoint-<ms>[.bk]` in Spark's reader order, and which one a restart picks.

use serde::Serialize;

use crate::crc_sidecar::{sidecar_name, verify};
use crate::files::{reader_order, CheckpointName};
use crate::{inspect, Error, Inspection, Limits};

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryEntry {
    pub name: String,
    pub parsed_name: CheckpointName,
    pub size: usize,
    /// `Some(true/false)` when a Hadoop `.crc` sidecar was given and it matched or not.
    pub crc_sidecar: Option<bool>,
    /// The first readable file in reader order: what `CheckpointReader.read` returns on restart.
    pub restart_pick: bool,
    #[serde(skip)]
    pub result: Result<Inspection, Error>,
    /// The error text when the file could not be read (Spark would log it and try the next).
    pub error: Option<String>,
}

/// Takes `(file name, bytes)` pairs (the caller lists the directory, natively or from a browser drop);
/// names that are not checkpoint files are ignored, like Spark's `checkpoint-(\d+)([\w.]*)` filter, except
/// `.checkpoint-<ms>[.bk].crc` sidecars, which are checked against their file.
pub fn inspect_directory<'a>(files: impl IntoIterator<Item = (&'a str, &'a [u8])>, limits: &Limits) -> Vec<DirectoryEntry> {
    let files: Vec<(&str, &[u8])> = files.into_iter().collect();
    let order = reader_order(files.iter().map(|(n, _)| *n));
    let mut picked = false;
    order
        .into_iter()
        .map(|(name, parsed_name)| {
            let bytes = files.iter().find(|(n, _)| *n == name).map_or(&[][..], |(_, b)| *b);
            // On file:// Hadoop checks the sidecar while Spark reads, so a mismatch makes the file unreadable.
            let sidecar = sidecar_name(name);
            let crc_ok = files.iter().find(|(n, _)| *n == sidecar).map(|(_, side)| verify(bytes, side));
            let result = match &crc_ok {
                Some(Err(why)) => Err(Error::codec("crc sidecar", 0, format!("{sidecar}: {why}"))),
                _ => inspect(Some(name), bytes, limits),
            };
            let restart_pick = !picked && result.is_ok();
            picked |= restart_pick;
            let error = result.as_ref().err().map(ToString::to_string);
            let crc_sidecar = crc_ok.map(|r| r.is_ok());
            DirectoryEntry { name: name.to_string(), parsed_name, size: bytes.len(), crc_sidecar, restart_pick, result, error }
        })
        .collect()
}
