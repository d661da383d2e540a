//! The Spark-aware view: one call from file bytes to the checkpoint summary users need.

mod checkpoint;
pub mod collections;
mod dstream;
pub mod kafka;
pub mod view;

use serde::Serialize;

pub use checkpoint::{Checkpoint, CHECKPOINT};
pub use dstream::{DStreamInfo, RddCheckpoint};
pub use kafka::{BatchRanges, ConsumerStrategy, KafkaStream, OffsetRange, PartitionOffset, TopicPartition};

use crate::codec::{self, Framing};
use crate::files::CheckpointName;
use crate::jser::{self, Stream};
use crate::{Limits, Result};

/// Everything read from one checkpoint file.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Inspection {
    /// Parsed from the file name when it is `checkpoint-<ms>[suffix]`.
    pub file_name: Option<CheckpointName>,
    pub framing: Framing,
    pub java_serialization_bytes: usize,
    pub entries: usize,
    pub checkpoint: Checkpoint,
    /// Codec warnings plus anything odd between name and content.
    pub warnings: Vec<String>,
    #[serde(skip)]
    pub stream: Stream,
}

impl Inspection {
    /// The raw object tree for the curious (every entry once, shared ones as `{"$ref": id}`).
    pub fn raw_tree(&self, limits: &Limits) -> serde_json::Value {
        jser::tree::render(&self.stream, limits)
    }

    pub fn kafka_streams(&self) -> impl Iterator<Item = &KafkaStream> {
        self.checkpoint.streams.iter().filter_map(|s| s.kafka.as_ref())
    }
}

/// Decodes one checkpoint file; `file_name` (just the name, no directory) adds the name's time.
pub fn inspect(file_name: Option<&str>, bytes: &[u8], limits: &Limits) -> Result<Inspection> {
    let (raw, framing) = codec::decompress(bytes, limits)?;
    let stream = jser::parse(&raw, limits)?;
    let view = view::View { s: &stream, limits };
    let checkpoint = checkpoint::checkpoint(&view)?;
    let file_name = file_name.and_then(CheckpointName::parse);
    let mut warnings = framing.warnings.clone();
    if let Some(name) = &file_name {
        // CheckpointWriter names a late write by the newest checkpoint time it has seen (SPARK-11740).
        if name.time != checkpoint.checkpoint_time {
            warnings.push(format!(
                "file name time {} differs from checkpointTime {} (a late write is named by the newest time)",
                name.time, checkpoint.checkpoint_time
            ));
        }
    }
    Ok(Inspection { file_name, framing, java_serialization_bytes: raw.len(), entries: stream.entries.len(), checkpoint, warnings, stream })
}
