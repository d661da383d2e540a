//! Offset Lab's Structured Streaming engine: `MicroBatchExecution` with the Kafka source
//! (`KafkaMicroBatchStream`), re-implemented as a deterministic, sans-IO state machine beside the
//! DStream engine and sharing its Kafka and storage request types and its gather/apply mechanism.
//!
//! The rules it encodes, with the Spark source files they come from, are in
//! `docs/structured-streaming.md`; comments name the Spark class and method of each rule.

pub mod consumer;
pub mod engine;
pub mod json;
pub mod limits;
pub mod log;
pub mod options;

pub use engine::{Engine, Event, Input, Output, TraceLine};
pub use options::{QueryConfig, SparkVersion, StartingOffsets, Strategy, Trigger};

#[cfg(test)]
mod tests;
