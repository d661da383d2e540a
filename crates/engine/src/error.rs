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

/// Spark's and Kafka's failure texts around offsets, built in one place so the engine's run and the
/// checkpoint inspector's prediction (`spark-checkpoint`'s `predict`) say exactly the same words.
pub mod messages {
    use super::{SparkError, KAFKA_TIMEOUT, NO_OFFSET_FOR_PARTITION, OFFSET_OUT_OF_RANGE};
    use crate::offsets::{java_list, TopicPartition};

    /// `spark.streaming.kafka.consumer.poll.ms`, defaulting to `spark.network.timeout` (120 s).
    pub const POLL_TIMEOUT_MS: i64 = 120_000;

    /// `StreamInputInfo`'s `require(numRecords >= 0)` on the driver.
    pub fn num_records_negative() -> SparkError {
        SparkError::requirement("numRecords must not be negative")
    }

    /// `KafkaRDD.compute`'s `require(from <= until, errBeginAfterEnd)` in the executor task.
    pub fn beginning_after_end(from: i64, until: i64, topic: &str, partition: i32) -> SparkError {
        SparkError::requirement(format!(
            "Beginning offset {from} is after the ending offset {until} for topic {topic} partition {partition}. You either provided an invalid fromOffset, or the Kafka topic has been damaged"
        ))
    }

    /// kafka-clients 3.4.1 (Spark 3.5's) `FetchCollector`/`Fetcher` text; leader and epoch are the
    /// lab's single broker and a topic's first leader epoch.
    pub fn fetch_out_of_range(offset: i64, tp: &TopicPartition) -> SparkError {
        SparkError::new(
            OFFSET_OUT_OF_RANGE,
            format!(
                "Fetch position FetchPosition{{offset={offset}, offsetEpoch=Optional.empty, currentLeader=LeaderAndEpoch{{leader=Optional[127.0.0.1:9092 (id: 1 rack: null)], epoch=0}}}} is out of range for partition {tp}"
            ),
        )
    }

    /// The executor's consumer polled `POLL_TIMEOUT_MS` and got no record at `offset`.
    pub fn failed_to_get_records(group_id: Option<&str>, tp: &TopicPartition, offset: i64) -> SparkError {
        let executor_group = format!("spark-executor-{}", group_id.unwrap_or("null"));
        SparkError::requirement(format!("Failed to get records for {executor_group} {tp} {offset} after polling for {POLL_TIMEOUT_MS}"))
    }

    /// `seek` on a partition the subscription did not assign (`SubscriptionState`).
    pub fn no_current_assignment(tp: &TopicPartition) -> SparkError {
        SparkError::illegal_state(format!("No current assignment for partition {tp}"))
    }

    /// `position()` with `auto.offset.reset=none` and no committed offset: the partitions of a Java `HashSet`
    /// filled in `tps`' order (`SubscriptionState.resetInitializingPositions`), printed in its order.
    pub fn no_offset_for_partition(tps: &[TopicPartition]) -> SparkError {
        let set = crate::scala_order::java_hash_order(tps, crate::scala_order::topic_partition_hash);
        SparkError::new(NO_OFFSET_FOR_PARTITION, format!("Undefined offset with no reset policy for partitions: {}", java_list(&set)))
    }

    /// `position()` of a partition the broker does not know, after `default.api.timeout.ms`.
    pub fn position_timeout(tp: &TopicPartition) -> SparkError {
        SparkError::new(KAFKA_TIMEOUT, format!("Timeout of 60000ms expired before the position for partition {tp} could be determined"))
    }
}
