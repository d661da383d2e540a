//! In-memory Kafka model (being written).
