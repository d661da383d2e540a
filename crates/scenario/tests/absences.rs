//! `expect` keys that say something is absent (`no_batch`, `no_current_offsets`, `no_group`, the
//! checkpoint's `no_current_offsets`): met when it is, failing with what was there when it is not.

use scenario::format;

const ABSENT: &str = r#"
version = 1
name = "absent"
[[topic]]
name = "words"
partitions = 3
[job]
topics = ["words"]
group = "g"
enable_auto_commit = false
[[step]]
at = "12:00:02"
do = "start"
[[step]]
at = "12:00:12"
do = "add_partitions"
topic = "words"
partitions = 4
[[step]]
at = "12:00:13"
do = "expect"
no_current_offsets = ["words-3"]
newest_checkpoint = { no_current_offsets = ["words-3"] }
no_group = ["console"]
[[step]]
at = "12:00:16"
do = "kill"
[[step]]
at = "12:00:31"
do = "expect"
no_batch = ["12:00:20", "12:00:25", "12:00:30"]
"#;

fn failures(text: &str) -> Vec<String> {
    let s = format::parse("absent.toml", text).unwrap_or_else(|e| panic!("{e}"));
    scenario::run_in_memory(&s).unwrap().failures
}

#[test]
fn absences_that_hold_are_met() {
    assert_eq!(failures(ABSENT), Vec::<String>::new());
}

#[test]
fn a_tracked_partition_a_generated_batch_and_an_existing_group_fail_naming_them() {
    let f = failures(&ABSENT.replace("no_current_offsets = [\"words-3\"]\n", "no_current_offsets = [\"words-3\", \"words-1\"]\n"));
    assert!(
        f.len() == 1 && f[0].contains("partitions in currentOffsets: expected [], got [TopicPartition { topic: \"words\", partition: 1 }]"),
        "{f:?}"
    );
    let f = failures(&ABSENT.replace("{ no_current_offsets = [\"words-3\"] }", "{ no_current_offsets = [\"words-0\"] }"));
    assert!(f.len() == 1 && f[0].contains("partitions in the checkpoint's currentOffsets: expected []"), "{f:?}");
    let f = failures(&ABSENT.replace("no_group = [\"console\"]", "no_group = [\"console\", \"g\"]"));
    assert!(f.len() == 1 && f[0].contains("groups that exist: expected [], got [\"g\"]"), "{f:?}");
    let f = failures(&ABSENT.replace("no_batch = [\"12:00:20\"", "no_batch = [\"12:00:15\", \"12:00:20\""));
    assert!(f.len() == 1 && f[0].contains("batches generated at: expected [], got [\"12:00:15\"]"), "{f:?}");
}

#[test]
fn a_group_without_members_that_keeps_its_offsets_exists() {
    // the job commits, then is killed: after the session times out its group is Empty, with offsets, not gone
    let text = ABSENT
        .replace("enable_auto_commit = false", "enable_auto_commit = false\nkafka_params = { \"session.timeout.ms\" = 6000 }")
        .replace(
            "do = \"start\"",
            "do = \"start\"\n[[step]]\nat = \"12:00:03\"\ndo = \"produce\"\ntopic = \"words\"\npartition = 0\nvalues = [\"a\"]",
        )
        .replace("no_batch = [\"12:00:20\", \"12:00:25\", \"12:00:30\"]", "group_state = \"Empty\"\nno_group = [\"g\"]");
    let f = failures(&text);
    assert!(f.len() == 1 && f[0].contains("groups that exist: expected [], got [\"g\"]"), "{f:?}");
}
