//! The checkpoint's files as Spark writes them: `metadata`, `sources/0/0`, `offsets/N`, `commits/N`.

use crate::json;
use crate::options::{QueryConfig, ScalaVersion, SparkVersion};
use engine::offsets::Offsets;

/// `StreamMetadata.write`: json4s' `{"id":"<query id>"}`, nothing after it.
pub fn metadata_file(query_id: &str) -> String {
    format!("{{\"id\":\"{query_id}\"}}")
}

pub fn parse_metadata(bytes: &[u8]) -> Result<String, String> {
    let v: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| format!("metadata is not JSON: {e}"))?;
    v.get("id").and_then(|i| i.as_str()).map(str::to_string).ok_or_else(|| "metadata has no \"id\"".into())
}

/// `KafkaSourceInitialOffsetWriter.serialize`: a zero byte (SPARK-19517), `v1\n`, the offsets' JSON.
pub fn initial_offsets_file(offsets: &Offsets, scala: ScalaVersion) -> Vec<u8> {
    let mut b = vec![0u8];
    b.extend_from_slice(b"v1\n");
    b.extend_from_slice(json::partition_offsets(offsets, scala).as_bytes());
    b
}

/// `KafkaSourceInitialOffsetWriter.deserialize`, including Spark 2.1.0's file without a version line.
pub fn parse_initial_offsets(bytes: &[u8]) -> Result<Offsets, String> {
    let content = String::from_utf8_lossy(bytes.get(1..).unwrap_or_default()).to_string();
    if content.is_empty() {
        return Err("requirement failed".into());
    }
    if content.starts_with('v') {
        let Some(nl) = content.find('\n').filter(|i| *i > 0) else {
            return Err("Log file was malformed: failed to detect the log file version line.".into());
        };
        validate_version(&content[..nl], 1)?;
        json::parse_partition_offsets(&content[nl + 1..])
    } else {
        json::parse_partition_offsets(&content)
    }
}

/// `HDFSMetadataLog.validateVersion`. The message for a newer version is inferred — real Spark decides.
pub fn validate_version(line: &str, max: i64) -> Result<(), String> {
    let v = line.trim().strip_prefix('v').and_then(|n| n.parse::<i64>().ok());
    match v {
        Some(v) if v > 0 && v <= max => Ok(()),
        Some(v) if v > max => Err(format!(
            "UnsupportedLogVersion: maximum supported log version is v{max}, but encountered v{v}. The log file was produced by a newer version of Spark and cannot be read by this version. Please upgrade."
        )),
        _ => Err(format!("Log file was malformed: failed to read correct log version from {line}.")),
    }
}

/// `OffsetSeqMetadata.json` (json4s, the case class's field order). `conf` holds
/// `OffsetSeqMetadata.relevantSQLConfs` (Spark 4 adds `stateStore.encodingFormat` and
/// `pruneFiltersCanPruneStreamingSubplan`) in a Scala immutable `Map`, written in its hash order.
/// The two orders below are the ones real files show, Scala 2.12 and 2.13 (the 2.13 one alike for
/// Spark 3.5's nine keys and Spark 4's eleven) — taken from those files, real Spark decides.
pub fn offset_seq_metadata(cfg: &QueryConfig, batch_timestamp_ms: i64) -> String {
    let sp = cfg.shuffle_partitions.to_string();
    let provider = "org.apache.spark.sql.execution.streaming.state.HDFSBackedStateStoreProvider";
    let value = |k: &str| -> &str {
        match k {
            "spark.sql.streaming.stateStore.providerClass" => provider,
            "spark.sql.streaming.stateStore.compression.codec" => "lz4",
            "spark.sql.streaming.stateStore.rocksdb.formatVersion" => "5",
            "spark.sql.streaming.stateStore.encodingFormat" => "unsaferow",
            "spark.sql.streaming.statefulOperator.useStrictDistribution" => "true",
            "spark.sql.streaming.multipleWatermarkPolicy" => "min",
            "spark.sql.shuffle.partitions" => &sp,
            "spark.sql.optimizer.pruneFiltersCanPruneStreamingSubplan" => "false",
            _ => "2",
        }
    };
    let order: &[&str] = match cfg.map_order() {
        ScalaVersion::V2_12 => &[
            "spark.sql.streaming.stateStore.providerClass",
            "spark.sql.streaming.join.stateFormatVersion",
            "spark.sql.streaming.stateStore.compression.codec",
            "spark.sql.streaming.stateStore.rocksdb.formatVersion",
            "spark.sql.streaming.statefulOperator.useStrictDistribution",
            "spark.sql.streaming.flatMapGroupsWithState.stateFormatVersion",
            "spark.sql.streaming.multipleWatermarkPolicy",
            "spark.sql.streaming.aggregation.stateFormatVersion",
            "spark.sql.shuffle.partitions",
        ],
        ScalaVersion::V2_13 => &[
            "spark.sql.streaming.stateStore.providerClass",
            "spark.sql.streaming.stateStore.rocksdb.formatVersion",
            "spark.sql.streaming.stateStore.encodingFormat",
            "spark.sql.streaming.statefulOperator.useStrictDistribution",
            "spark.sql.streaming.flatMapGroupsWithState.stateFormatVersion",
            "spark.sql.streaming.multipleWatermarkPolicy",
            "spark.sql.streaming.aggregation.stateFormatVersion",
            "spark.sql.shuffle.partitions",
            "spark.sql.streaming.join.stateFormatVersion",
            "spark.sql.streaming.stateStore.compression.codec",
            "spark.sql.optimizer.pruneFiltersCanPruneStreamingSubplan",
        ],
    };
    let spark4_only = ["spark.sql.streaming.stateStore.encodingFormat", "spark.sql.optimizer.pruneFiltersCanPruneStreamingSubplan"];
    let conf: Vec<String> = order
        .iter()
        .filter(|k| cfg.spark == SparkVersion::V4_0 || !spark4_only.contains(k))
        .map(|k| format!("\"{k}\":\"{}\"", value(k)))
        .collect();
    format!("{{\"batchWatermarkMs\":0,\"batchTimestampMs\":{batch_timestamp_ms},\"conf\":{{{}}}}}", conf.join(","))
}

/// `OffsetSeqLog.serialize` (v1): `v1`, the metadata line, one line per source, no final newline.
pub fn offsets_file(cfg: &QueryConfig, batch_timestamp_ms: i64, source: &Offsets) -> String {
    format!("v1\n{}\n{}", offset_seq_metadata(cfg, batch_timestamp_ms), json::partition_offsets(source, cfg.map_order()))
}

/// One `offsets/N` file read back: the metadata's batch timestamp and the Kafka source's offsets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OffsetSeq {
    pub batch_timestamp_ms: Option<i64>,
    pub source: Option<Offsets>,
}

/// `OffsetSeqLog.deserialize`: `-` stands for a source without an offset.
pub fn parse_offsets_file(bytes: &[u8]) -> Result<OffsetSeq, String> {
    let text = String::from_utf8_lossy(bytes);
    let mut lines = text.lines();
    let version = lines.next().ok_or("Incomplete log file")?;
    validate_version(version, 1)?;
    let metadata = lines.next().unwrap_or("").trim();
    let batch_timestamp_ms = if metadata.is_empty() {
        None
    } else {
        let v: serde_json::Value = serde_json::from_str(metadata).map_err(|e| format!("offset log metadata is not JSON: {e}"))?;
        v.get("batchTimestampMs").and_then(|t| t.as_i64())
    };
    let source = match lines.next() {
        None | Some("-") => None,
        Some(json) => Some(json::parse_partition_offsets(json)?),
    };
    if lines.next().is_some() {
        return Err("the offset log names more than one source; this engine models one Kafka source".into());
    }
    Ok(OffsetSeq { batch_timestamp_ms, source })
}

/// `CommitLog.serialize`: `v1` and `CommitMetadata(nextBatchWatermarkMs)`'s JSON.
pub fn commit_file(next_batch_watermark_ms: i64) -> String {
    format!("v1\n{{\"nextBatchWatermarkMs\":{next_batch_watermark_ms}}}")
}

pub fn parse_commit_file(bytes: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(bytes);
    let first = text.lines().next().ok_or("Incomplete log file in the offset commit log")?;
    validate_version(first, 1)
}

/// `HDFSMetadataLog`'s batch files in a listing: names that are batch ids, sorted.
pub fn batch_ids(names: &[String]) -> Vec<i64> {
    let mut ids: Vec<i64> = names.iter().filter_map(|n| n.parse::<i64>().ok()).filter(|i| *i >= 0).collect();
    ids.sort();
    ids
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::Trigger;
    use engine::offsets::TopicPartition;
    use engine::time::Duration;

    fn cfg() -> QueryConfig {
        QueryConfig::from_options(
            &[("kafka.bootstrap.servers", "k:9092"), ("subscribe", "words")],
            Trigger::ProcessingTime(Duration(0)),
            "ckpt",
            "file:/tmp/ckpt",
        )
        .unwrap()
    }

    fn words(list: &[(i32, i64)]) -> Offsets {
        list.iter().map(|(p, o)| (TopicPartition::new("words", *p), *o)).collect()
    }

    #[test]
    fn offsets_file_exact_text() {
        let mut c = cfg();
        c.scala = ScalaVersion::V2_12;
        let text = offsets_file(&c, 1_767_268_800_000, &words(&[(0, 5), (1, 3)]));
        assert_eq!(
            text,
            "v1\n{\"batchWatermarkMs\":0,\"batchTimestampMs\":1767268800000,\"conf\":{\
             \"spark.sql.streaming.stateStore.providerClass\":\"org.apache.spark.sql.execution.streaming.state.HDFSBackedStateStoreProvider\",\
             \"spark.sql.streaming.join.stateFormatVersion\":\"2\",\
             \"spark.sql.streaming.stateStore.compression.codec\":\"lz4\",\
             \"spark.sql.streaming.stateStore.rocksdb.formatVersion\":\"5\",\
             \"spark.sql.streaming.statefulOperator.useStrictDistribution\":\"true\",\
             \"spark.sql.streaming.flatMapGroupsWithState.stateFormatVersion\":\"2\",\
             \"spark.sql.streaming.multipleWatermarkPolicy\":\"min\",\
             \"spark.sql.streaming.aggregation.stateFormatVersion\":\"2\",\
             \"spark.sql.shuffle.partitions\":\"200\"}}\n{\"words\":{\"1\":3,\"0\":5}}"
        );
        let back = parse_offsets_file(text.as_bytes()).unwrap();
        assert_eq!(back, OffsetSeq { batch_timestamp_ms: Some(1_767_268_800_000), source: Some(words(&[(0, 5), (1, 3)])) });
    }

    #[test]
    fn offsets_file_scala_213_and_spark_4() {
        let mut c = cfg();
        let text = offsets_file(&c, 5, &words(&[(0, 5), (1, 3)]));
        assert_eq!(
            text,
            "v1\n{\"batchWatermarkMs\":0,\"batchTimestampMs\":5,\"conf\":{\
             \"spark.sql.streaming.stateStore.providerClass\":\"org.apache.spark.sql.execution.streaming.state.HDFSBackedStateStoreProvider\",\
             \"spark.sql.streaming.stateStore.rocksdb.formatVersion\":\"5\",\
             \"spark.sql.streaming.statefulOperator.useStrictDistribution\":\"true\",\
             \"spark.sql.streaming.flatMapGroupsWithState.stateFormatVersion\":\"2\",\
             \"spark.sql.streaming.multipleWatermarkPolicy\":\"min\",\
             \"spark.sql.streaming.aggregation.stateFormatVersion\":\"2\",\
             \"spark.sql.shuffle.partitions\":\"200\",\
             \"spark.sql.streaming.join.stateFormatVersion\":\"2\",\
             \"spark.sql.streaming.stateStore.compression.codec\":\"lz4\"}}\n{\"words\":{\"0\":5,\"1\":3}}"
        );
        c.spark = SparkVersion::V4_0;
        c.scala = ScalaVersion::V2_12;
        let text = offsets_file(&c, 5, &words(&[(0, 5), (1, 3)]));
        // Spark 4 is 2.13 only: its order, with its two extra keys.
        assert!(text.contains(",\"spark.sql.streaming.stateStore.encodingFormat\":\"unsaferow\","), "{text}");
        assert!(
            text.ends_with("\"spark.sql.optimizer.pruneFiltersCanPruneStreamingSubplan\":\"false\"}}\n{\"words\":{\"0\":5,\"1\":3}}"),
            "{text}"
        );
    }

    #[test]
    fn commit_initial_and_metadata_files() {
        assert_eq!(commit_file(0), "v1\n{\"nextBatchWatermarkMs\":0}");
        assert!(parse_commit_file(b"v1\n{\"nextBatchWatermarkMs\":0}").is_ok());
        let b = initial_offsets_file(&words(&[(0, 0)]), ScalaVersion::V2_12);
        assert_eq!(b, b"\0v1\n{\"words\":{\"0\":0}}".to_vec());
        assert_eq!(parse_initial_offsets(&b).unwrap(), words(&[(0, 0)]));
        assert_eq!(parse_initial_offsets(b"\0{\"words\":{\"0\":4}}").unwrap(), words(&[(0, 4)]));
        assert_eq!(metadata_file("abc"), "{\"id\":\"abc\"}");
        assert_eq!(parse_metadata(b"{\"id\":\"abc\"}\n").unwrap(), "abc");
    }

    #[test]
    fn versions_refused() {
        assert!(parse_offsets_file(b"v2\n\n{}").unwrap_err().contains("maximum supported log version is v1, but encountered v2"));
        assert!(parse_offsets_file(b"x\n").unwrap_err().contains("malformed"));
        assert_eq!(parse_offsets_file(b"v1\n\n-").unwrap(), OffsetSeq { batch_timestamp_ms: None, source: None });
        assert_eq!(batch_ids(&["10".into(), "2".into(), ".2.tmp".into()]), vec![2, 10]);
    }
}
