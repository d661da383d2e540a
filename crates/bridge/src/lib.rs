//! The Offset Lab bridge: a websocket server in front of a real Apache Kafka (see docs/bridge.md).

pub mod client;
pub mod namespace;
pub mod offsets_topic;
pub mod partitioner;
pub mod reset;
pub mod server;
pub mod storage;
pub mod wire;
