//! `inspect --bootstrap`: the prediction against a real Kafka (`cargo xtask test` starts one and sets
//! OFFSET_LAB_KAFKA_BOOTSTRAP). The fixture's topic is re-created short, then deleted.
#![cfg(feature = "kafka-tests")]

use std::path::{Path, PathBuf};
use std::process::Command;

use kafka_client::{Kafka, NewRecord};
use spark_checkpoint::{inspect_directory, Limits};

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/spark/spark351-lz4-subscribe")
}

fn restart_pick() -> spark_checkpoint::spark::Checkpoint {
    let mut files = Vec::new();
    for e in std::fs::read_dir(fixture_dir()).unwrap().flatten() {
        files.push((e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap()));
    }
    let entries = inspect_directory(files.iter().map(|(n, b)| (n.as_str(), b.as_slice())), &Limits::default());
    entries.into_iter().find(|e| e.restart_pick).unwrap().result.unwrap().checkpoint
}

fn cli(bootstrap: &str, json: bool) -> (i32, String, String) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_spark-checkpoint"));
    c.arg("inspect").arg(fixture_dir()).args(["--bootstrap", bootstrap]);
    if json {
        c.arg("--json");
    }
    let out = c.output().expect("run the CLI");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn bootstrap_predicts_against_the_live_topic_and_group() {
    let bootstrap = std::env::var("OFFSET_LAB_KAFKA_BOOTSTRAP").expect("OFFSET_LAB_KAFKA_BOOTSTRAP");
    let cp = restart_pick();
    let k = cp.streams.iter().find_map(|s| s.kafka.as_ref()).unwrap();
    let topic = k.current_offsets[0].topic.clone();
    let partitions = k.current_offsets.iter().map(|o| o.partition).max().unwrap() + 1;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let kafka = Kafka::new(bootstrap.clone());

    // The topic "re-created": same partitions, 3 records on partition 0 only.
    rt.block_on(async {
        let _ = kafka.delete_topic(&topic).await;
        kafka.create_topic(&topic, partitions).await.expect("create topic");
        let records: Vec<NewRecord> = (0..3).map(|i| NewRecord::new(None, &format!("v{i}"))).collect();
        kafka.produce(&topic, &records, Some(0)).await.expect("produce");
    });
    let (code, out, err) = cli(&bootstrap, false);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("will the restart crash? the restart crashes: java.lang.IllegalArgumentException: requirement failed: numRecords must not be negative"), "{out}");
    let p0 = k.current_offsets.iter().find(|o| o.partition == 0).unwrap();
    assert!(out.contains(&format!("{topic}-0 [{}, 3) = {}", p0.offset, 3 - p0.offset)), "{out}");
    let (code, out, err) = cli(&bootstrap, true);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    let lanes = v["prediction"]["streams"][0]["lanes"].as_array().expect("lanes").clone();
    let ends: Vec<i64> = lanes.iter().map(|l| l["logEnd"].as_i64().unwrap()).collect();
    let mut want = vec![0; partitions as usize];
    want[0] = 3;
    assert_eq!(ends, want);
    assert_eq!(v["prediction"]["crashes"], true);

    // The topic deleted: the checkpoint's partitions are not assigned.
    rt.block_on(async { kafka.delete_topic(&topic).await.expect("delete topic") });
    let (code, out, err) = cli(&bootstrap, false);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&format!("java.lang.IllegalStateException: No current assignment for partition {topic}-0")), "{out}");
    assert!(out.contains("no topic"), "{out}");
}

/// A Structured Streaming folder (real Spark's, after its retention run) against a live topic whose log start
/// passed the checkpoint: fails with failOnDataLoss=true, loses the deleted records with false.
#[test]
fn bootstrap_predicts_a_structured_streaming_restart() {
    let bootstrap = std::env::var("OFFSET_LAB_KAFKA_BOOTSTRAP").expect("OFFSET_LAB_KAFKA_BOOTSTRAP");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/structured/spark351-retention");
    let topic = "words-ref724895";
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let kafka = Kafka::new(bootstrap.clone());
    rt.block_on(async {
        let _ = kafka.delete_topic(topic).await;
        kafka.create_topic(topic, 1).await.expect("create topic");
        let records: Vec<NewRecord> = (0..7).map(|i| NewRecord::new(None, &format!("v{i}"))).collect();
        kafka.produce(topic, &records, Some(0)).await.expect("produce");
        kafka.delete_records(topic, 0, 5).await.expect("delete records");
    });
    let out =
        Command::new(env!("CARGO_BIN_EXE_spark-checkpoint")).arg("inspect").arg(&dir).args(["--bootstrap", &bootstrap]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        text.contains(
            "the restart fails (failOnDataLoss=true, Spark's default): org.apache.kafka.clients.consumer.OffsetOutOfRangeException"
        ),
        "{text}"
    );
    assert!(text.contains("with failOnDataLoss=false it goes on and loses 3 record(s)"), "{text}");
    rt.block_on(async { kafka.delete_topic(topic).await.expect("delete topic") });
}
