//! Offset Lab's engine: Spark Streaming's DStream micro-batch engine with the Kafka 0-10 direct
//! stream, re-implemented as a deterministic, sans-IO state machine.
//!
//! It never does I/O and never reads a clock: user operations, time and replies from Kafka and the
//! checkpoint storage come in ([`Engine::handle_input`], [`Engine::handle_timeout`],
//! [`Engine::handle_reply`]); requests and trace events go out ([`Engine::poll_output`]).
//! The behaviour follows `shared/spec/spark-semantics.md`; section numbers in comments refer to it.

pub mod checkpoint;
pub mod config;
mod context;
pub mod error;
pub mod io;
mod jobs;
pub mod kafka;
pub mod offsets;
pub mod pipeline;
pub mod scala_order;
pub mod state;
pub mod storage;
mod stream;
pub mod time;
pub mod trace;

pub use context::{Engine, Input, Output, Refused, MASTER};
pub use io::{Reply, Request};
pub use stream::{METADATA_MAX_AGE_MS, SESSION_TIMEOUT_MS};
