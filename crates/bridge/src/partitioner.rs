//! Where a keyed record goes, exactly as the Java producer decides, and `key:::value` line parsing:
//! the same code the in-memory Kafka model uses (`kafka_model::partitioner`).

pub use kafka_model::partitioner::{murmur2, parse_line, partition_for_key};
