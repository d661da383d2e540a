//! Exceptions as the JVM prints them: a class name and Spark's or Kafka's exact message.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SparkError {
    pub class: String,
    pub message: String,
}

impl SparkError {
    pub fn new(class: &str, message: impl Into<String>) -> SparkError {
        SparkError { class: class.into(), message: message.into() }
    }

    /// Scala's `require(cond, msg)` failing.
    pub fn requirement(message: impl fmt::Display) -> SparkError {
        SparkError::new(ILLEGAL_ARGUMENT, format!("requirement failed: {message}"))
    }

    pub fn illegal_state(message: impl Into<String>) -> SparkError {
        SparkError::new(ILLEGAL_STATE, message)
    }
}

impl fmt::Display for SparkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.class, self.message)
    }
}

pub const ILLEGAL_ARGUMENT: &str = "java.lang.IllegalArgumentException";
pub const ILLEGAL_STATE: &str = "java.lang.IllegalStateException";
pub const SPARK_EXCEPTION: &str = "org.apache.spark.SparkException";
pub const OFFSET_OUT_OF_RANGE: &str = "org.apache.kafka.clients.consumer.OffsetOutOfRangeException";
pub const NO_OFFSET_FOR_PARTITION: &str = "org.apache.kafka.clients.consumer.NoOffsetForPartitionException";
pub const KAFKA_TIMEOUT: &str = "org.apache.kafka.common.errors.TimeoutException";
