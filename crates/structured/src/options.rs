//! A query's configuration: the Kafka source's options as `readStream.format("kafka").option(..)`
//! takes them (validated with `KafkaSourceProvider`'s messages), the trigger, and the checkpoint.

use crate::json;
use engine::offsets::{Offsets, TopicPartition};
use engine::time::Duration;

/// Which Spark the engine behaves as: the conf keys of the offset log's metadata, the data-loss messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SparkVersion {
    V3_5,
    V4_0,
}

/// The Scala Spark is built with: it decides the key order of every map Spark writes as JSON.
/// Spark 3.5 ships for 2.12 and 2.13 (Offset Lab's reference harness runs the 2.13 build); Spark 4 is 2.13 only.
pub use engine::scala_order::ScalaVersion;

/// `ConsumerStrategy`: `assign`, `subscribe` or `subscribePattern`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Strategy {
    Subscribe(Vec<String>),
    /// A Java regex in Spark; here Rust's `regex`, which has no look-around or back-references
    /// (a pattern using them is refused).
    SubscribePattern(String),
    Assign(Vec<TopicPartition>),
}

impl Strategy {
    /// The named topics (none for a pattern, whose topics come from a listing).
    pub fn topics(&self) -> Vec<String> {
        let mut t: Vec<String> = match self {
            Strategy::Subscribe(t) => t.clone(),
            Strategy::SubscribePattern(_) => Vec::new(),
            Strategy::Assign(tps) => tps.iter().map(|tp| tp.topic.clone()).collect(),
        };
        t.sort();
        t.dedup();
        t
    }
}

/// `KafkaOffsetRangeLimit` for `startingOffsets`: `-2` is earliest and `-1` latest in the JSON form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StartingOffsets {
    Earliest,
    Latest,
    Specific(Offsets),
    /// `startingOffsetsByTimestamp` (`SpecificTimestampRangeLimit`): a time per partition.
    Timestamps(Offsets, NoMatch),
    /// `startingTimestamp` (`GlobalTimestampRangeLimit`): one time for every partition.
    Timestamp(i64, NoMatch),
}

/// `startingOffsetsByTimestampStrategy` (`StrategyOnNoMatchStartingOffset`): what a partition with no
/// record at or after the time starts from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoMatch {
    Error,
    Latest,
}

/// `KafkaOffsetRangeLimit.EARLIEST` / `LATEST`.
pub const EARLIEST: i64 = -2;
pub const LATEST: i64 = -1;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// `Trigger.ProcessingTime(interval)`; the default trigger is `ProcessingTime(0)`.
    ProcessingTime(Duration),
    Once,
    AvailableNow,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryConfig {
    pub strategy: Strategy,
    pub starting_offsets: StartingOffsets,
    pub max_offsets_per_trigger: Option<i64>,
    /// `minOffsetsPerTrigger` with `maxTriggerDelay` (`crate::limits`).
    pub min_offsets_per_trigger: Option<crate::limits::MinRows>,
    pub fail_on_data_loss: bool,
    pub group_id_prefix: Option<String>,
    /// `kafka.group.id`: the executors' consumers use it instead of the generated one.
    pub kafka_group_id: Option<String>,
    pub trigger: Trigger,
    /// The checkpoint folder in the engine's storage (`ckpt`).
    pub checkpoint: String,
    /// The checkpoint location as Spark resolves it (`file:/tmp/ckpt`): its `sources/0` is the
    /// `metadataPath` whose `hashCode` ends the group id.
    pub checkpoint_uri: String,
    /// Stands for `UUID.randomUUID`, so runs are reproducible.
    pub uuid_seed: u64,
    pub spark: SparkVersion,
    pub scala: ScalaVersion,
    /// `spark.sql.streaming.minBatchesToRetain` (default 100).
    pub min_batches_to_retain: i64,
    /// `spark.sql.shuffle.partitions`, recorded in the offset log's metadata.
    pub shuffle_partitions: i64,
}

impl QueryConfig {
    /// The source's options, case-insensitive as in `KafkaSourceProvider` (keys such as
    /// `startingOffsets`, `kafka.bootstrap.servers`), with the query's trigger and checkpoint.
    pub fn from_options(options: &[(&str, &str)], trigger: Trigger, checkpoint: &str, checkpoint_uri: &str) -> Result<QueryConfig, String> {
        let get = |k: &str| options.iter().rev().find(|(key, _)| key.eq_ignore_ascii_case(k)).map(|(_, v)| v.to_string());
        // KafkaSourceProvider.validateStreamOptions
        if get("endingOffsets").is_some() {
            return Err("ending offset not valid in streaming queries".into());
        }
        // KafkaSourceProvider.validateGeneralOptions
        let keys = "subscribe, subscribepattern, assign";
        let given: Vec<&str> = ["subscribe", "subscribepattern", "assign"].into_iter().filter(|k| get(k).is_some()).collect();
        if given.is_empty() {
            return Err(format!("One of the following options must be specified for Kafka source: {keys}. See the docs for more details."));
        }
        if given.len() > 1 {
            return Err(format!(
                "Only one of the following options can be specified for Kafka source: {keys}. See the docs for more details."
            ));
        }
        let value = get(given[0]).expect("found above");
        let strategy = match given[0] {
            "assign" => {
                if !value.trim().starts_with('{') {
                    return Err(format!("No topicpartitions to assign as specified value for option 'assign' is '{value}'"));
                }
                Strategy::Assign(json::parse_partitions(&value)?)
            }
            "subscribe" => {
                let topics: Vec<String> = value.split(',').map(str::trim).filter(|t| !t.is_empty()).map(String::from).collect();
                if topics.is_empty() {
                    return Err(format!("No topics to subscribe to as specified value for option 'subscribe' is '{value}'"));
                }
                Strategy::Subscribe(topics)
            }
            _ => {
                if value.trim().is_empty() {
                    return Err(format!("Pattern to subscribe is empty as specified value for option 'subscribePattern' is '{value}'"));
                }
                let pattern = value.trim().to_string();
                regex::Regex::new(&pattern).map_err(|e| format!("subscribePattern `{pattern}` cannot be used here: {e}"))?;
                Strategy::SubscribePattern(pattern)
            }
        };
        if get("kafka.bootstrap.servers").is_none() {
            return Err("Option 'kafka.bootstrap.servers' must be specified for configuring Kafka consumer".into());
        }
        for c in ["enable.auto.commit", "interceptor.classes"] {
            if get(&format!("kafka.{c}")).is_some() {
                return Err(format!("Kafka option '{c}' is not supported"));
            }
        }
        if get("kafka.auto.offset.reset").is_some() {
            return Err("Kafka option 'auto.offset.reset' is not supported. Instead set the source option 'startingoffsets' to 'earliest' or 'latest' to specify where to start.".into());
        }
        // KafkaSourceProvider.getKafkaOffsetRangeLimit: a global timestamp, else timestamps per
        // partition, else startingOffsets (default LatestOffsetRangeLimit for streams).
        let no_match = match get("startingOffsetsByTimestampStrategy") {
            None => NoMatch::Error,
            Some(v) if v.eq_ignore_ascii_case("error") => NoMatch::Error,
            Some(v) if v.eq_ignore_ascii_case("latest") => NoMatch::Latest,
            // Enumeration.withName (message inferred — real Spark decides)
            Some(v) => return Err(format!("No value found for '{}'", v.to_uppercase())),
        };
        let starting_offsets = if let Some(ts) = get("startingTimestamp") {
            let ts = ts.trim();
            StartingOffsets::Timestamp(ts.parse().map_err(|_| format!("Expected a single long value, got {ts}"))?, no_match)
        } else if let Some(json) = get("startingOffsetsByTimestamp") {
            StartingOffsets::Timestamps(json::parse_partition_timestamps(json.trim())?, no_match)
        } else {
            match get("startingOffsets").map(|s| s.trim().to_string()) {
                None => StartingOffsets::Latest,
                Some(s) if s.eq_ignore_ascii_case("latest") => StartingOffsets::Latest,
                Some(s) if s.eq_ignore_ascii_case("earliest") => StartingOffsets::Earliest,
                Some(s) => StartingOffsets::Specific(json::parse_partition_offsets(&s)?),
            }
        };
        let long = |k: &str| -> Result<Option<i64>, String> {
            get(k).map(|v| v.trim().parse::<i64>().map_err(|_| format!("For input string: \"{v}\""))).transpose()
        };
        let max_offsets_per_trigger = long("maxOffsetsPerTrigger")?;
        // KafkaSourceProvider.validateGeneralOptions; KafkaMicroBatchStream's maxTriggerDelayMs (Utils.timeStringAsMs)
        let min_offsets_per_trigger = match long("minOffsetsPerTrigger")? {
            None => None,
            Some(min) => {
                if let Some(max) = max_offsets_per_trigger.filter(|max| min > *max) {
                    return Err(format!("The value of minOffsetPerTrigger({min}) is higher than the maxOffsetsPerTrigger({max})."));
                }
                let delay = get("maxTriggerDelay").map(|d| crate::limits::time_string_as_ms(&d)).transpose()?;
                Some(crate::limits::MinRows { min, max_trigger_delay_ms: delay.unwrap_or(crate::limits::DEFAULT_MAX_TRIGGER_DELAY_MS) })
            }
        };
        // Scala's `toBoolean`
        let fail_on_data_loss = match get("failOnDataLoss") {
            None => true,
            Some(v) if v.eq_ignore_ascii_case("true") => true,
            Some(v) if v.eq_ignore_ascii_case("false") => false,
            Some(v) => return Err(format!("For input string: \"{v}\"")),
        };
        Ok(QueryConfig {
            strategy,
            starting_offsets,
            max_offsets_per_trigger,
            min_offsets_per_trigger,
            fail_on_data_loss,
            group_id_prefix: get("groupIdPrefix"),
            kafka_group_id: get("kafka.group.id"),
            trigger,
            checkpoint: checkpoint.trim_end_matches('/').to_string(),
            checkpoint_uri: checkpoint_uri.trim_end_matches('/').to_string(),
            uuid_seed: 1,
            spark: SparkVersion::V3_5,
            scala: ScalaVersion::V2_13,
            min_batches_to_retain: 100,
            shuffle_partitions: 200,
        })
    }

    /// `KafkaSourceProvider.streamingUniqueGroupId`: `<groupIdPrefix>-<UUID>-<metadataPath.hashCode>`,
    /// the prefix defaulting to `spark-kafka-source`, the metadata path being `<checkpoint>/sources/0`.
    pub fn unique_group_id(&self) -> String {
        let prefix = self.group_id_prefix.as_deref().unwrap_or("spark-kafka-source");
        let metadata_path = format!("{}/sources/0", self.checkpoint_uri);
        format!("{prefix}-{}-{}", uuid(self.uuid_seed, 1), json::java_string_hash(&metadata_path))
    }

    /// `kafkaParamsForExecutors`: `setIfUnset(group.id, <unique>-executor)`. The executors' consumers
    /// `assign` and never commit, so this group holds no offsets Spark reads.
    pub fn executor_group_id(&self) -> String {
        self.kafka_group_id.clone().unwrap_or_else(|| format!("{}-executor", self.unique_group_id()))
    }

    /// The prefix Spark hands the driver's offset reader (`driverGroupIdPrefix`). The default
    /// Admin-based reader (`KafkaOffsetReaderAdmin`) joins no group with it.
    pub fn driver_group_prefix(&self) -> String {
        format!("{}-driver", self.unique_group_id())
    }

    /// The consumer-based reader's group (`KafkaOffsetReaderConsumer.nextGroupId`: the prefix, `-`, and a
    /// counter that grows each time the consumer is re-created), unless `kafka.group.id` is set.
    pub fn driver_consumer_group_id(&self, consumer_number: u32) -> String {
        self.kafka_group_id.clone().unwrap_or_else(|| format!("{}-{consumer_number}", self.driver_group_prefix()))
    }

    /// Spark 4 has no Scala 2.12 build, so a 4.0 query always writes 2.13's order.
    pub fn map_order(&self) -> ScalaVersion {
        match self.spark {
            SparkVersion::V4_0 => ScalaVersion::V2_13,
            SparkVersion::V3_5 => self.scala,
        }
    }

    /// The query id written to the checkpoint's `metadata` file.
    pub fn query_id(&self) -> String {
        uuid(self.uuid_seed, 2)
    }
}

/// A version-4-shaped UUID made from `seed` and `stream` (splitmix64), standing for `UUID.randomUUID`.
pub fn uuid(seed: u64, stream: u64) -> String {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15).wrapping_add(stream);
    let mut next = || {
        x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let hi = (next() & !0xf000) | 0x4000;
    let lo = (next() & !(0b11 << 62)) | (0b10 << 62);
    format!("{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", hi >> 32, (hi >> 16) & 0xffff, hi & 0xffff, lo >> 48, lo & 0xffff_ffff_ffff)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOOT: (&str, &str) = ("kafka.bootstrap.servers", "localhost:9092");

    fn cfg(opts: &[(&str, &str)]) -> Result<QueryConfig, String> {
        QueryConfig::from_options(opts, Trigger::ProcessingTime(Duration(0)), "ckpt", "file:/tmp/ckpt")
    }

    #[test]
    fn strategies_and_sparks_messages() {
        assert_eq!(
            cfg(&[BOOT]).unwrap_err(),
            "One of the following options must be specified for Kafka source: subscribe, subscribepattern, assign. See the docs for more details."
        );
        assert!(cfg(&[BOOT, ("subscribe", "a"), ("assign", "{}")]).unwrap_err().starts_with("Only one of"));
        assert_eq!(
            cfg(&[BOOT, ("subscribe", " , ")]).unwrap_err(),
            "No topics to subscribe to as specified value for option 'subscribe' is ' , '"
        );
        assert_eq!(
            cfg(&[BOOT, ("assign", "w-0")]).unwrap_err(),
            "No topicpartitions to assign as specified value for option 'assign' is 'w-0'"
        );
        assert_eq!(
            cfg(&[("subscribe", "w")]).unwrap_err(),
            "Option 'kafka.bootstrap.servers' must be specified for configuring Kafka consumer"
        );
        let c = cfg(&[BOOT, ("SUBSCRIBE", "w, v"), ("startingoffsets", "earliest"), ("failOnDataLoss", "FALSE")]).unwrap();
        assert_eq!(c.strategy, Strategy::Subscribe(vec!["w".into(), "v".into()]));
        assert_eq!(c.starting_offsets, StartingOffsets::Earliest);
        assert!(!c.fail_on_data_loss);
        assert_eq!(cfg(&[BOOT, ("subscribe", "w"), ("failOnDataLoss", "yes")]).unwrap_err(), "For input string: \"yes\"");
        let c = cfg(&[BOOT, ("subscribe", "w"), ("startingOffsets", r#"{"w":{"0":-2,"1":7}}"#)]).unwrap();
        let StartingOffsets::Specific(o) = c.starting_offsets else { panic!("specific") };
        assert_eq!(o[&TopicPartition::new("w", 0)], EARLIEST);
    }

    #[test]
    fn group_id_shape() {
        let c = cfg(&[BOOT, ("subscribe", "w")]).unwrap();
        let id = c.unique_group_id();
        let hash = json::java_string_hash("file:/tmp/ckpt/sources/0");
        assert!(id.starts_with("spark-kafka-source-"), "{id}");
        assert!(id.ends_with(&format!("-{hash}")), "{id}");
        let uuid = &id["spark-kafka-source-".len()..id.len() - format!("-{hash}").len()];
        assert_eq!(uuid.len(), 36);
        assert_eq!(&uuid[14..15], "4");
        assert_eq!(c.executor_group_id(), format!("{id}-executor"));
        assert_eq!(c.driver_group_prefix(), format!("{id}-driver"));
        assert_eq!(c.driver_consumer_group_id(0), format!("{id}-driver-0"));
        let c = cfg(&[BOOT, ("subscribe", "w"), ("groupIdPrefix", "mine"), ("kafka.group.id", "fixed")]).unwrap();
        assert!(c.unique_group_id().starts_with("mine-"));
        assert_eq!(c.executor_group_id(), "fixed");
    }
}
