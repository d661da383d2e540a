//! The `inspect` CLI end to end: directory order and restart mark, the readable summary, `--json`, exit codes.

mod common;

use std::process::Command;

fn inspect(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_spark-checkpoint")).arg("inspect").args(args).output().expect("run CLI");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn directory_lists_newest_first_and_marks_the_restart_pick() {
    let dir = common::fixtures().join("standin/kafka-subscribe");
    let (code, text) = inspect(&[dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{text}");
    let order: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("== ")).map(|l| l.split(' ').next().unwrap()).collect();
    assert_eq!(
        order,
        [
            "checkpoint-1795616360000",
            "checkpoint-1795616358000",
            "checkpoint-1795616358000.bk",
            "checkpoint-1795616356000",
            "checkpoint-1795616356000.bk"
        ]
    );
    let marked: Vec<&str> = text.lines().filter(|l| l.contains("<= a restart reads this one")).collect();
    assert_eq!(marked.len(), 1);
    assert!(marked[0].starts_with("== checkpoint-1795616358000 "), "{}", marked[0]);
    assert!(text.contains("checkpoint-1795616360000 (1594 bytes): UNREADABLE"), "{text}");
    assert!(text.contains("    words-1 26"), "{text}");
    assert!(text.contains("    words-0 [12, 14)"), "{text}");
}

#[test]
fn json_output_of_a_file_parses_and_holds_the_offsets() {
    let file = common::fixtures().join("standin/kafka-subscribe/checkpoint-1795616356000.bk");
    let (code, text) = inspect(&[file.to_str().unwrap(), "--json", "--tree"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(v["framing"]["codec"], "snappy");
    assert_eq!(v["fileName"]["isBackup"], true);
    assert_eq!(v["checkpoint"]["pendingTimes"][0], 1795616356000i64);
    let kafka = v["checkpoint"]["streams"].as_array().unwrap().iter().find_map(|s| s.get("kafka").filter(|k| !k.is_null())).unwrap();
    assert_eq!(kafka["currentOffsets"][1]["offset"], 26);
    assert_eq!(v["rawTree"][0]["$class"], "org.apache.spark.streaming.Checkpoint");
}

#[test]
fn unreadable_file_exits_1_with_the_reason() {
    let file = common::fixtures().join("standin/kafka-subscribe/checkpoint-1795616360000");
    let (code, text) = inspect(&[file.to_str().unwrap(), "--json"]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    assert!(v["error"].as_str().unwrap().contains("block body needs 3146 bytes, 1573 left"), "{v}");
    let (code, _) = inspect(&[]);
    assert_eq!(code, 2);
}

#[test]
fn facts_file_adds_the_prediction_for_a_file_and_for_the_restart_pick_of_a_directory() {
    let dir = common::fixtures().join("spark/spark351-lz4-subscribe");
    // Facts from the decoded file itself: the topic re-created empty with the same partitions.
    let (_, json) = inspect(&[dir.join("checkpoint-1795621810000").to_str().unwrap(), "--json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let offsets =
        v["checkpoint"]["streams"].as_array().unwrap().iter().find_map(|s| s["kafka"]["currentOffsets"].as_array()).unwrap().clone();
    let topic = offsets[0]["topic"].as_str().unwrap().to_string();
    let parts: Vec<_> = offsets.iter().map(|o| serde_json::json!({"partition": o["partition"], "logStart": 0, "logEnd": 0})).collect();
    let facts = std::env::temp_dir().join(format!("offset-lab-facts-{}.json", std::process::id()));
    std::fs::write(&facts, serde_json::json!({ "topics": { topic.clone(): parts } }).to_string()).unwrap();
    let f = facts.to_str().unwrap();

    let (code, text) = inspect(&[dir.join("checkpoint-1795621810000").to_str().unwrap(), "--facts", f]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("\nwill the restart crash? the restart crashes: java.lang.IllegalArgumentException: requirement failed: numRecords must not be negative\n"), "{text}");
    let (code, text) = inspect(&[dir.to_str().unwrap(), "--facts", f]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("for the restart pick checkpoint-1795621810000:\nwill the restart crash? the restart crashes"), "{text}");
    let (code, json) = inspect(&[dir.to_str().unwrap(), "--facts", f, "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["prediction"]["crashes"], true);
    let total: i64 = offsets.iter().map(|o| o["offset"].as_i64().unwrap()).sum();
    assert_eq!(v["prediction"]["streams"][0]["firstBatch"]["numRecords"], -total);

    // A missing or broken facts file is an error, not an empty prediction.
    std::fs::write(&facts, "{not json").unwrap();
    let (code, _) = inspect(&[dir.to_str().unwrap(), "--facts", f]);
    assert_eq!(code, 1);
    let _ = std::fs::remove_file(&facts);
    let (code, _) = inspect(&[dir.to_str().unwrap(), "--facts", f]);
    assert_eq!(code, 1);
}

#[test]
fn a_structured_streaming_folder_is_recognised_and_predicted_from_facts() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/structured/spark351-topic-recreated-fail-true");
    let (code, text) = inspect(&[dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("a Structured Streaming checkpoint folder"), "{text}");
    assert!(text.contains("next batch: 1 is RE-RUN (offsets/1 without commits/1)"), "{text}");
    let facts = std::env::temp_dir().join(format!("offset-lab-ss-facts-{}.json", std::process::id()));
    let topic = "words-ref832975";
    std::fs::write(&facts, serde_json::json!({ "topics": { topic: [{"partition": 0, "logStart": 0, "logEnd": 1}] } }).to_string()).unwrap();
    let (code, text) = inspect(&[dir.to_str().unwrap(), "--facts", facts.to_str().unwrap()]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains(&format!("the restart fails (failOnDataLoss=true, Spark's default): java.lang.IllegalStateException: Partition {topic}-0's offset was changed from 4 to 1")), "{text}");
    assert!(text.contains("with failOnDataLoss=false it goes on and loses 1 record(s)"), "{text}");
    let (code, json) = inspect(&[dir.to_str().unwrap(), "--facts", facts.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["structured"]["nextBatch"]["rerun"], true);
    assert_eq!(v["prediction"]["outcomes"][1]["lost"][0]["records"], 1);
    let _ = std::fs::remove_file(&facts);
}
