//! The Spark view end to end on a checkpoint directory written by real ObjectOutputStream and real codecs
//! from stand-in classes with Spark's field layout (not Spark itself; see fixtures/gen/README.md).

mod common;

use spark_checkpoint::{inspect, Limits};

fn folder() -> std::path::PathBuf {
    common::fixtures().join("standin/kafka-subscribe")
}

#[test]
fn standin_directory_matches_expected_json() {
    let bad = common::expected::check_folder(&folder());
    assert!(bad.is_empty(), "{} mismatches:\n{}", bad.len(), bad.join("\n"));
}

#[test]
fn comparison_detects_a_wrong_offset() {
    // The checker itself must be able to fail: change one expected offset and it must complain.
    let mut expected = common::read_json(&folder().join("expected.json"));
    let entry = &mut expected["files"][0];
    entry["kafka"][0]["currentOffsets"][1]["offset"] = serde_json::json!(27);
    let name = entry["file"].as_str().unwrap().to_string();
    let bytes = std::fs::read(folder().join(&name)).unwrap();
    let ins = inspect(Some(&name), &bytes, &Limits::default()).unwrap();
    let bad = common::expected::compare(&ins, entry);
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert!(bad[0].contains("currentOffsets"), "{bad:?}");
}

#[test]
fn graph_walk_finds_every_stream_and_the_overriding_fields() {
    let name = "checkpoint-1795616358000";
    let ins = inspect(Some(name), &std::fs::read(folder().join(name)).unwrap(), &Limits::default()).unwrap();
    let classes: Vec<&str> = ins.checkpoint.streams.iter().map(|s| s.class.rsplit('.').next().unwrap()).collect();
    assert_eq!(classes, ["DirectKafkaInputDStream", "ForEachDStream", "StateDStream", "MappedDStream"]);
    let state = &ins.checkpoint.streams[2];
    // StateDStream.mustCheckpoint (true) overrides DStream.mustCheckpoint (false).
    assert_eq!(state.must_checkpoint, Some(true));
    assert_eq!(state.checkpoint_duration, Some(10_000));
    assert!(ins.checkpoint.streams[0].is_input && ins.checkpoint.streams[1].is_output);
    // DirectKafkaInputDStream.checkpointData (with batchForTime) overrides DStream.checkpointData (empty).
    let kafka = ins.kafka_streams().next().unwrap();
    assert_eq!(kafka.batch_for_time.len(), 2);
    assert_eq!(kafka.location_strategy.as_deref(), Some("PreferConsistent"));
    assert_eq!(kafka.backpressure, Some(false));
    assert_eq!(kafka.executor_kafka_params["auto.offset.reset"], "none");
    assert!(ins.warnings.is_empty(), "{:?}", ins.warnings);
}

#[test]
fn every_prefix_of_a_checkpoint_is_rejected_without_panicking() {
    for name in ["checkpoint-1795616358000", "checkpoint-1795616356000", "checkpoint-1795616356000.bk"] {
        let bytes = std::fs::read(folder().join(name)).unwrap();
        for len in 0..bytes.len() {
            let cut = &bytes[..len];
            // Like Spark's readers, lz4 tolerates a missing end block (21 bytes) and zstd a missing
            // empty last block (3 bytes); the object is then complete, and a warning says so.
            let tolerated = match name {
                "checkpoint-1795616358000" => 21,
                "checkpoint-1795616356000" => 3,
                _ => 0,
            };
            let whole_object = len >= bytes.len() - tolerated;
            match inspect(Some(name), cut, &Limits::default()) {
                Ok(ins) => assert!(whole_object && !ins.warnings.is_empty(), "{name} prefix {len} decoded"),
                Err(e) => assert!(!e.to_string().is_empty()),
            }
        }
    }
}

#[test]
fn file_name_time_is_compared_with_checkpoint_time() {
    let bytes = std::fs::read(folder().join("checkpoint-1795616358000")).unwrap();
    let ins = inspect(Some("checkpoint-1795616999000"), &bytes, &Limits::default()).unwrap();
    assert!(ins.warnings.iter().any(|w| w.contains("1795616999000") && w.contains("1795616358000")), "{:?}", ins.warnings);
}
