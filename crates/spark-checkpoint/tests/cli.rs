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
