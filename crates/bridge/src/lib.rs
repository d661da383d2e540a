//! The Offset Lab bridge: a websocket server in front of a real Apache Kafka (see docs/bridge.md). The
//! Kafka operations are `kafka_client`'s; checkpoint files go to a `checkpoint_dir::CheckpointDir`.

pub mod namespace;
pub mod server;
