//! The Offset Lab bridge: a websocket server in front of a real Apache Kafka (see docs/bridge.md and,
//! for workshops, docs/workshop.md). The Kafka operations are `kafka_client`'s; checkpoint files go to
//! a `checkpoint_dir::CheckpointDir`.

pub mod labs;
pub mod namespace;
pub mod quota;
pub mod room;
pub mod secret;
pub mod server;
pub mod workshop;
