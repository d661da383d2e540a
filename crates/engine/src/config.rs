//! The job `creatingFunc` builds: Spark conf, kafkaParams, consumer strategy and the DStream operations.

use crate::offsets::TopicPartition;
use crate::time::Duration;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Everything a job's `creatingFunc` decides. On recovery this comes from the checkpoint instead.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobConfig {
    pub app_name: String,
    /// `ssc.checkpoint(dir)`; `None` means no checkpointing at all.
    pub checkpoint_dir: Option<String>,
    pub batch_duration: Duration,
    pub strategy: Strategy,
    /// `group.id`, `auto.offset.reset`, `enable.auto.commit` and anything else given.
    pub kafka_params: BTreeMap<String, String>,
    /// `spark.streaming.kafka.maxRatePerPartition` (0 = no limit).
    pub max_rate_per_partition: i64,
    /// `spark.streaming.kafka.minRatePerPartition` (default 1).
    pub min_rate_per_partition: i64,
    /// Transformations applied to the Kafka stream, in order.
    pub pipeline: Vec<Transform>,
    /// Output operations, run in order for every batch.
    pub outputs: Vec<OutputOp>,
}

/// `ConsumerStrategies.Subscribe` or `Assign`, with the optional starting offsets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum Strategy {
    Subscribe { topics: Vec<String>, offsets: BTreeMap<TopicPartition, i64> },
    Assign { partitions: Vec<TopicPartition>, offsets: BTreeMap<TopicPartition, i64> },
}

impl Strategy {
    pub fn name(&self) -> &'static str {
        match self {
            Strategy::Subscribe { .. } => "Subscribe",
            Strategy::Assign { .. } => "Assign",
        }
    }
    pub fn user_offsets(&self) -> &BTreeMap<TopicPartition, i64> {
        match self {
            Strategy::Subscribe { offsets, .. } | Strategy::Assign { offsets, .. } => offsets,
        }
    }
    pub fn topics(&self) -> Vec<String> {
        match self {
            Strategy::Subscribe { topics, .. } => topics.clone(),
            Strategy::Assign { partitions, .. } => {
                let mut t: Vec<String> = partitions.iter().map(|tp| tp.topic.clone()).collect();
                t.dedup();
                t
            }
        }
    }
}

/// A DStream transformation. The text form is what a Spark user writes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Transform {
    /// `map(r => (r.value, 1))`
    MapValueOne,
    /// `map(r => (r.key, 1))`
    MapKeyOne,
    /// `map(r => r.value)`
    MapValue,
    /// `flatMap(_.split(" "))` on text
    FlatMapWords,
    /// `filter(_.contains("x"))`
    FilterContains(String),
    /// `reduceByKey(_ + _)`
    ReduceByKeySum,
    /// `updateStateByKey(sum)`: the running total per key.
    UpdateStateByKeySum,
}

/// An output operation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum OutputOp {
    /// `print()` (10 elements) or `print(n)` on the pipeline's end.
    Print(usize),
    /// `foreachRDD { rdd => stream.commitAsync(rdd.offsetRanges) }` on the Kafka stream.
    ForeachRddCommitAsync,
}

const TRANSFORMS: &[&str] = &[
    "map(r => (r.value, 1))",
    "map(r => (r.key, 1))",
    "map(r => r.value)",
    "flatMap(_.split(\" \"))",
    "filter(_.contains(\"…\"))",
    "reduceByKey(_ + _)",
    "updateStateByKey(sum)",
];

impl From<Transform> for String {
    fn from(t: Transform) -> String {
        match t {
            Transform::MapValueOne => "map(r => (r.value, 1))".into(),
            Transform::MapKeyOne => "map(r => (r.key, 1))".into(),
            Transform::MapValue => "map(r => r.value)".into(),
            Transform::FlatMapWords => "flatMap(_.split(\" \"))".into(),
            Transform::FilterContains(s) => format!("filter(_.contains(\"{s}\"))"),
            Transform::ReduceByKeySum => "reduceByKey(_ + _)".into(),
            Transform::UpdateStateByKeySum => "updateStateByKey(sum)".into(),
        }
    }
}

impl TryFrom<String> for Transform {
    type Error = String;
    fn try_from(s: String) -> Result<Transform, String> {
        let compact: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        Ok(match compact.as_str() {
            "map(r=>(r.value,1))" => Transform::MapValueOne,
            "map(r=>(r.key,1))" => Transform::MapKeyOne,
            "map(r=>r.value)" | "map(_.value)" => Transform::MapValue,
            "flatMap(_.split(\"\"))" => Transform::FlatMapWords,
            "reduceByKey(_+_)" => Transform::ReduceByKeySum,
            "updateStateByKey(sum)" => Transform::UpdateStateByKeySum,
            _ => match s.trim().strip_prefix("filter(_.contains(\"").and_then(|r| r.strip_suffix("\"))")) {
                Some(needle) => Transform::FilterContains(needle.into()),
                None => return Err(format!("unknown transformation `{s}`; known: {}", TRANSFORMS.join(", "))),
            },
        })
    }
}

impl From<OutputOp> for String {
    fn from(o: OutputOp) -> String {
        match o {
            OutputOp::Print(10) => "print()".into(),
            OutputOp::Print(n) => format!("print({n})"),
            OutputOp::ForeachRddCommitAsync => "foreachRDD(commitAsync)".into(),
        }
    }
}

impl TryFrom<String> for OutputOp {
    type Error = String;
    fn try_from(s: String) -> Result<OutputOp, String> {
        let compact: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        if compact == "print()" {
            return Ok(OutputOp::Print(10));
        }
        if compact == "foreachRDD(commitAsync)" {
            return Ok(OutputOp::ForeachRddCommitAsync);
        }
        if let Some(n) = compact.strip_prefix("print(").and_then(|r| r.strip_suffix(')')) {
            if let Ok(n) = n.parse::<usize>() {
                if n > 0 {
                    return Ok(OutputOp::Print(n));
                }
            }
        }
        Err(format!("unknown output operation `{s}`; known: print(), print(n), foreachRDD(commitAsync)"))
    }
}

impl OutputOp {
    /// The name Spark's UI gives the job.
    pub fn name(&self) -> &'static str {
        match self {
            OutputOp::Print(_) => "print",
            OutputOp::ForeachRddCommitAsync => "foreachRDD",
        }
    }
}

impl JobConfig {
    /// The seed's job: Subscribe to `topics`, count values with `updateStateByKey`, print, commitAsync.
    pub fn seed(topics: &[&str], group: &str) -> JobConfig {
        let mut kafka_params = BTreeMap::new();
        kafka_params.insert("group.id".into(), group.into());
        kafka_params.insert("auto.offset.reset".into(), "latest".into());
        kafka_params.insert("enable.auto.commit".into(), "false".into());
        JobConfig {
            app_name: "words".into(),
            checkpoint_dir: Some("ckpt".into()),
            batch_duration: Duration::seconds(5),
            strategy: Strategy::Subscribe { topics: topics.iter().map(|t| t.to_string()).collect(), offsets: BTreeMap::new() },
            kafka_params,
            max_rate_per_partition: 0,
            min_rate_per_partition: 1,
            pipeline: vec![Transform::MapValueOne, Transform::UpdateStateByKeySum],
            outputs: vec![OutputOp::Print(10), OutputOp::ForeachRddCommitAsync],
        }
    }

    pub fn group_id(&self) -> Option<&str> {
        self.kafka_params.get("group.id").map(String::as_str)
    }

    /// A consumer setting in milliseconds from `kafkaParams` (`session.timeout.ms`, `auto.commit.interval.ms`),
    /// else kafka-clients' default.
    pub fn consumer_ms(&self, key: &str, default: i64) -> i64 {
        self.kafka_params.get(key).and_then(|v| v.trim().parse().ok()).unwrap_or(default)
    }

    /// `auto.offset.reset`, Kafka's default being `latest`.
    pub fn auto_offset_reset(&self) -> &str {
        self.kafka_params.get("auto.offset.reset").map(String::as_str).unwrap_or("latest")
    }

    pub fn has_state(&self) -> bool {
        self.pipeline.contains(&Transform::UpdateStateByKeySum)
    }

    /// The state stream's checkpoint interval: `slide * ceil(10 s / slide)` (`DStream.initialize`).
    pub fn state_checkpoint_duration(&self) -> Option<Duration> {
        self.has_state().then(|| {
            let slide = self.batch_duration.ms();
            Duration(slide * ((10_000 + slide - 1) / slide))
        })
    }

    /// `rememberDuration` of the Kafka stream: the maximum its children ask for (§3.3, §5).
    pub fn remember_duration(&self) -> Duration {
        match self.state_checkpoint_duration() {
            Some(cd) if self.batch_duration <= cd => Duration(cd.ms() * 2),
            _ => self.batch_duration,
        }
    }

    /// Checks what Spark checks before it starts (`validateAtStart`) and what makes no sense here.
    pub fn validate(&self) -> Result<(), String> {
        if self.batch_duration.ms() <= 0 {
            return Err("batch interval must be positive".into());
        }
        if self.strategy.topics().is_empty() {
            return Err("the stream needs at least one topic".into());
        }
        if self.min_rate_per_partition < 0 || self.max_rate_per_partition < 0 {
            return Err("rates per partition cannot be negative here".into());
        }
        match self.auto_offset_reset() {
            "latest" | "earliest" | "none" => {}
            other => {
                return Err(format!(
                    "Invalid value {other} for configuration auto.offset.reset: String must be one of: latest, earliest, none"
                ))
            }
        }
        // kafka-clients' ConfigDef: a LONG, at least 0; the consumer's constructor throws ConfigException otherwise
        if let Some(v) = self.kafka_params.get("metadata.max.age.ms") {
            match v.trim().parse::<i64>() {
                Ok(ms) if ms >= 0 => {}
                Ok(_) => return Err(format!("Invalid value {v} for configuration metadata.max.age.ms: Value must be at least 0")),
                Err(_) => return Err(format!("Invalid value {v} for configuration metadata.max.age.ms: Not a number of type LONG")),
            }
        }
        let reducers = self.pipeline.iter().filter(|t| matches!(t, Transform::ReduceByKeySum | Transform::UpdateStateByKeySum)).count();
        if reducers > 1 {
            return Err("at most one of reduceByKey / updateStateByKey per pipeline".into());
        }
        if self.pipeline.iter().skip_while(|t| !matches!(t, Transform::ReduceByKeySum | Transform::UpdateStateByKeySum)).count() > 1 {
            return Err("reduceByKey / updateStateByKey must be the pipeline's last step".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_spark_users_write() {
        assert_eq!(Transform::try_from("map( r => (r.value, 1) )".to_string()), Ok(Transform::MapValueOne));
        assert_eq!(Transform::try_from("filter(_.contains(\"ab\"))".to_string()), Ok(Transform::FilterContains("ab".into())));
        assert!(Transform::try_from("map(x => x * 2)".to_string()).unwrap_err().contains("known:"));
        assert_eq!(OutputOp::try_from("print(3)".to_string()), Ok(OutputOp::Print(3)));
        assert_eq!(String::from(OutputOp::Print(10)), "print()");
    }

    #[test]
    fn derived_durations_follow_spark() {
        let mut job = JobConfig::seed(&["words"], "g");
        assert_eq!(job.state_checkpoint_duration(), Some(Duration(10_000)));
        assert_eq!(job.remember_duration(), Duration(20_000));
        job.batch_duration = Duration(3_000);
        assert_eq!(job.state_checkpoint_duration(), Some(Duration(12_000)));
        job.batch_duration = Duration(15_000);
        assert_eq!(job.state_checkpoint_duration(), Some(Duration(15_000)));
        assert_eq!(job.remember_duration(), Duration(30_000));
        job.pipeline = vec![Transform::MapValue];
        assert_eq!(job.remember_duration(), Duration(15_000));
    }
}
