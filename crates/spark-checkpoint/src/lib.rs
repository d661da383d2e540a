//! Offset Lab's Spark Streaming checkpoint reader: codec framing → Java serialization → the Spark/Kafka view.
//!
//! Pure Rust and no I/O, so it runs the same natively and in the browser (`wasm32-unknown-unknown`).

pub mod codec;
pub mod crc_sidecar;
mod directory;
mod error;
pub mod files;
pub mod jser;
mod limits;
pub mod predict;
pub mod spark;
pub mod structured;
pub mod text;
#[cfg(feature = "wasm-abi")]
pub mod wasm_abi;

pub use directory::{inspect_directory, DirectoryEntry};
pub use error::{Error, Layer, Result};
pub use limits::Limits;
pub use spark::{inspect, Inspection};
