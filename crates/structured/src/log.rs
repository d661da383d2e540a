//! The checkpoint's files as Spark writes them: `metadata`, `sources/0/0`, `offsets/N`, `commits/N`.

use crate::json;
use crate::options::{QueryConfig, ScalaVersion, SparkVersion};
use engine::offsets::Offsets;

/// `StreamMetadata.write`: json4s' `{"id":"<query id>"}`, nothing after it.
pub fn metadata_file(query_id: &str) -> String {
    format!("{{\"id\":\"{query_id}\"}}")
}

pub fn parse_metadata(bytes: &[u8]) -> Result<String, String> {
    read_metadata(bytes).map_err(|e| e.message)
}

/// [`parse_metadata`] with the byte of what is wrong.
pub fn read_metadata(bytes: &[u8]) -> Result<String, LogError> {
    let v: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        let line_start = bytes.iter().enumerate().filter(|(_, b)| **b == b'\n').map(|(i, _)| i + 1).take(e.line().saturating_sub(1)).last();
        LogError::json(e.line(), line_start.unwrap_or(0), "metadata", &e)
    })?;
    v.get("id").and_then(|i| i.as_str()).map(str::to_string).ok_or_else(|| LogError::at(1, 0, "metadata has no \"id\""))
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
    read_initial_offsets(bytes).map_err(|e| e.message)
}

/// Where a checkpoint file could not be read: its 1-based line and the byte offset in the file, when known,
/// and the message (Spark's where Spark has one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogError {
    pub line: Option<usize>,
    pub byte: Option<usize>,
    pub message: String,
}

impl LogError {
    fn at(line: usize, byte: usize, message: impl Into<String>) -> LogError {
        LogError { line: Some(line), byte: Some(byte), message: message.into() }
    }

    /// A JSON error inside the line that starts at `start`: serde's column becomes the file's byte.
    fn json(line: usize, start: usize, what: &str, e: &serde_json::Error) -> LogError {
        LogError::at(line, start + e.column().saturating_sub(1), format!("{what} is not JSON: {e}"))
    }
}

impl std::fmt::Display for LogError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.line, self.byte) {
            (Some(l), Some(b)) => write!(f, "line {l} (byte {b}): {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

/// The file's lines as Spark's `Source.getLines` gives them (`\n`, `\r\n` stripped), each with its byte offset.
fn lines_at(bytes: &[u8]) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < bytes.len() {
        let end = bytes[start..].iter().position(|b| *b == b'\n').map_or(bytes.len(), |i| start + i);
        let line = bytes[start..end].strip_suffix(b"\r").unwrap_or(&bytes[start..end]);
        out.push((start, String::from_utf8_lossy(line).into_owned()));
        start = end + 1;
    }
    out
}

/// [`parse_initial_offsets`] with the line and byte of what is wrong.
pub fn read_initial_offsets(bytes: &[u8]) -> Result<Offsets, LogError> {
    let content = String::from_utf8_lossy(bytes.get(1..).unwrap_or_default()).to_string();
    if content.is_empty() {
        return Err(LogError::at(1, bytes.len(), "requirement failed"));
    }
    if content.starts_with('v') {
        let Some(nl) = content.find('\n').filter(|i| *i > 0) else {
            return Err(LogError::at(1, 1, "Log file was malformed: failed to detect the log file version line."));
        };
        validate_version(&content[..nl], 1).map_err(|m| LogError::at(1, 1, m))?;
        json::parse_partition_offsets(&content[nl + 1..]).map_err(|m| LogError::at(2, nl + 2, m))
    } else {
        json::parse_partition_offsets(&content).map_err(|m| LogError::at(1, 1, m))
    }
}

/// `HDFSMetadataLog.validateVersion` (`MetadataVersionUtil` in 3.5.1: its `IllegalStateException` texts, read in the
/// spark-sql 3.5.1 jar; `HDFSMetadataLog` prefixes them with `Failed to read log file <path>. `).
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

/// One `offsets/N` file read back: the metadata's batch timestamp and conf, and the Kafka source's offsets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OffsetSeq {
    pub batch_timestamp_ms: Option<i64>,
    pub source: Option<Offsets>,
    /// `OffsetSeqMetadata.conf` (the SQL confs Spark records; Spark 4 adds keys of its own).
    pub conf: std::collections::BTreeMap<String, String>,
}

/// `OffsetSeqLog.deserialize`: `-` stands for a source without an offset.
pub fn parse_offsets_file(bytes: &[u8]) -> Result<OffsetSeq, String> {
    read_offsets_file(bytes).map_err(|e| e.message)
}

/// [`parse_offsets_file`] with the line and byte of what is wrong.
pub fn read_offsets_file(bytes: &[u8]) -> Result<OffsetSeq, LogError> {
    let lines = lines_at(bytes);
    let mut lines = lines.iter().enumerate().map(|(i, (at, l))| (i + 1, *at, l.as_str()));
    let (_, _, version) = lines.next().ok_or_else(|| LogError::at(1, 0, "Incomplete log file"))?;
    validate_version(version, 1).map_err(|m| LogError::at(1, 0, m))?;
    let (mut batch_timestamp_ms, mut conf) = (None, std::collections::BTreeMap::new());
    if let Some((n, at, metadata)) = lines.next().filter(|(_, _, m)| !m.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(metadata).map_err(|e| LogError::json(n, at, "offset log metadata", &e))?;
        batch_timestamp_ms = v.get("batchTimestampMs").and_then(|t| t.as_i64());
        for (k, val) in v.get("conf").and_then(|c| c.as_object()).into_iter().flatten() {
            conf.insert(k.clone(), val.as_str().map_or_else(|| val.to_string(), str::to_string));
        }
    }
    let source = match lines.next() {
        None | Some((_, _, "-")) => None,
        Some((n, at, json)) => Some(json::parse_partition_offsets(json).map_err(|m| LogError::at(n, at, m))?),
    };
    if let Some((n, at, _)) = lines.next() {
        return Err(LogError::at(n, at, "the offset log names more than one source; this engine models one Kafka source"));
    }
    Ok(OffsetSeq { batch_timestamp_ms, source, conf })
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

/// `CommitLog.deserialize` with the line and byte of what is wrong: the version, then `CommitMetadata`'s JSON
/// (`{}` when the line is missing); its `nextBatchWatermarkMs`.
pub fn read_commit_file(bytes: &[u8]) -> Result<i64, LogError> {
    let lines = lines_at(bytes);
    let (_, version) = lines.first().ok_or_else(|| LogError::at(1, 0, "Incomplete log file in the offset commit log"))?;
    validate_version(version, 1).map_err(|m| LogError::at(1, 0, m))?;
    let Some((at, json)) = lines.get(1) else { return Ok(0) };
    let v: serde_json::Value = serde_json::from_str(json).map_err(|e| LogError::json(2, *at, "commit log metadata", &e))?;
    Ok(v.get("nextBatchWatermarkMs").and_then(|w| w.as_i64()).unwrap_or(0))
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
        assert_eq!(back.batch_timestamp_ms, Some(1_767_268_800_000));
        assert_eq!(back.source, Some(words(&[(0, 5), (1, 3)])));
        assert_eq!(back.conf["spark.sql.shuffle.partitions"], "200");
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
        assert_eq!(parse_offsets_file(b"v1\n\n-").unwrap(), OffsetSeq { batch_timestamp_ms: None, source: None, conf: Default::default() });
        assert_eq!(batch_ids(&["10".into(), "2".into(), ".2.tmp".into()]), vec![2, 10]);
    }

    #[test]
    fn located_errors_name_line_and_byte() {
        let e = read_offsets_file(b"v1\n{\"batchWatermarkMs\":0,\"batchTi").unwrap_err();
        assert_eq!((e.line, e.byte), (Some(2), Some(32)));
        assert!(e.message.starts_with("offset log metadata is not JSON: EOF while parsing"), "{}", e.message);
        let e = read_offsets_file(b"v1\n{}\n{\"w\":{\"0\":x}}").unwrap_err();
        assert_eq!((e.line, e.byte), (Some(3), Some(6)));
        let e = read_offsets_file(b"v7\n{}\n{}").unwrap_err();
        assert_eq!(e.to_string(), "line 1 (byte 0): UnsupportedLogVersion: maximum supported log version is v1, but encountered v7. The log file was produced by a newer version of Spark and cannot be read by this version. Please upgrade.");
        assert_eq!(read_offsets_file(b"").unwrap_err().message, "Incomplete log file");
        assert_eq!(read_commit_file(b"v1\n{\"nextBatchWatermarkMs\":5}"), Ok(5));
        assert_eq!(read_commit_file(b"v1\n{\"next").unwrap_err().line, Some(2));
        assert_eq!(
            read_initial_offsets(b"\0v1").unwrap_err().message,
            "Log file was malformed: failed to detect the log file version line."
        );
        assert_eq!(read_metadata(b"{\"id\":").unwrap_err().line, Some(1));
    }
}
