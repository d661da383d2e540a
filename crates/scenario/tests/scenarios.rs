//! Every shipped scenario, run against the in-memory model, plus the properties the runs rely on.

use engine::storage::{MemoryStorage, Storage};
use engine::time::Time;
use engine::trace::TraceEvent;
use scenario::format::{self, Scenario};
use scenario::runner::Run;
use std::path::PathBuf;

fn scenarios_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scenarios")
}

fn load(name: &str) -> Scenario {
    let path = scenarios_dir().join(format!("{name}.toml"));
    format::parse(name, &std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn shipped() -> Vec<Scenario> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(scenarios_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| format::parse(&p.display().to_string(), &std::fs::read_to_string(p).unwrap()).unwrap_or_else(|e| panic!("{e}")))
        .collect()
}

#[test]
fn every_shipped_scenario_meets_its_expectations() {
    let all = shipped();
    assert!(all.len() >= 11, "expected the seed scenarios and their variants, found {}", all.len());
    for s in &all {
        let expects = s.steps.iter().filter(|st| matches!(st.action, format::Action::Expect(_))).count();
        assert!(expects > 0, "{} checks nothing", s.name);
        let run = scenario::run_in_memory(s).unwrap();
        assert!(run.failures.is_empty(), "{}:\n{}", s.name, run.failures.join("\n"));
    }
}

#[test]
fn runs_are_deterministic() {
    for s in shipped() {
        let a = scenario::trace_jsonl(&scenario::run_in_memory(&s).unwrap());
        let b = scenario::trace_jsonl(&scenario::run_in_memory(&s).unwrap());
        assert!(!a.is_empty());
        assert_eq!(a, b, "{} gave two different traces", s.name);
    }
}

#[test]
fn a_wrong_expectation_fails_the_run_with_the_numbers() {
    let path = scenarios_dir().join("reset-ignored.toml");
    let text = std::fs::read_to_string(path).unwrap();
    let broken = text.replacen(
        r#"committed = { "words-0" = 3, "words-1" = 1, "words-2" = 1 }"#,
        r#"committed = { "words-0" = 4, "words-1" = 1, "words-2" = 1 }"#,
        1,
    );
    assert_ne!(text, broken);
    let s = format::parse("broken", &broken).unwrap();
    let run = scenario::run_in_memory(&s).unwrap();
    assert_eq!(run.failures.len(), 1, "{:?}", run.failures);
    assert!(
        run.failures[0].contains("committed: expected") && run.failures[0].contains("Some(4)") && run.failures[0].contains("Some(3)"),
        "{}",
        run.failures[0]
    );
}

/// §8.2 rows 8–8c: the restart re-runs 12:00:25 from restored ranges, computes the downtime grid,
/// and the first compute sends the restored commit queue, undoing the reset.
#[test]
fn spec_8_2_restart_rows() {
    let s = load("reset-ignored");
    let run = scenario::run_in_memory(&s).unwrap();
    let at = |hms: &str| Time(s.day_start.ms() + format::parse_clock(hms).unwrap());
    let started = run.trace.iter().find_map(|l| match &l.event {
        TraceEvent::ContextStarted { rescheduled, first_batch, .. } if !rescheduled.is_empty() => Some((rescheduled.clone(), *first_batch)),
        _ => None,
    });
    let (rescheduled, restart) = started.expect("a recovered start");
    assert_eq!(restart, at("12:01:05"));
    let want: Vec<Time> =
        ["12:00:25", "12:00:30", "12:00:35", "12:00:40", "12:00:45", "12:00:50", "12:00:55", "12:01:00"].iter().map(|t| at(t)).collect();
    assert_eq!(rescheduled, want);
    let restored: Vec<Time> = run
        .trace
        .iter()
        .filter_map(|l| match &l.event {
            TraceEvent::BatchGenerated { batch, restored: true, .. } => Some(*batch),
            _ => None,
        })
        .collect();
    assert_eq!(restored, vec![at("12:00:25")]);
    // The first commit after the restart happens inside 12:00:30's compute (so just before that
    // batch is announced), and sends {2,1,1}.
    let i =
        run.trace.iter().position(|l| matches!(&l.event, TraceEvent::BatchGenerated { batch, .. } if *batch == at("12:00:30"))).unwrap();
    match &run.trace[i - 1].event {
        TraceEvent::CommitSent { offsets, .. } => assert_eq!(offsets.iter().map(|o| o.offset).collect::<Vec<_>>(), vec![2, 1, 1]),
        other => panic!("expected the restored queue to be committed, got {other:?}"),
    }
}

#[test]
fn checkpoints_are_real_files_and_a_corrupt_one_is_skipped() {
    let s = load("reset-ignored");
    let dir = std::env::temp_dir().join(format!("offset-lab-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut run = Run::new(&s, Box::new(checkpoint_dir::CheckpointDir::new(&dir))).unwrap();
    let restart = s.steps.iter().position(|st| st.at == Time(s.day_start.ms() + format::parse_clock("12:01:03").unwrap())).unwrap();
    for (i, st) in s.steps.iter().enumerate().take(restart) {
        run.step(i, st);
    }
    let newest = dir.join("ckpt").join(format!("checkpoint-{}", s.day_start.ms() + format::parse_clock("12:00:25").unwrap()));
    assert!(newest.is_file(), "{} should exist on disk", newest.display());
    assert!(newest.with_extension("bk").is_file(), "the generation checkpoint was rotated to .bk");
    std::fs::write(&newest, b"\x00\x01 not a checkpoint").unwrap();
    run.step(restart, &s.steps[restart]);
    let reads: Vec<(String, bool)> = run
        .trace
        .iter()
        .filter_map(|l| match &l.event {
            TraceEvent::CheckpointRead { file, ok, .. } => Some((file.clone(), *ok)),
            _ => None,
        })
        .collect();
    let name = newest.file_name().unwrap().to_string_lossy().to_string();
    assert_eq!(reads, vec![(name.clone(), false), (format!("{name}.bk"), true)]);
    assert!(run.engine.is_running());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_unreadable_directory_of_checkpoints_fails_the_start() {
    let s = load("reset-ignored");
    let mut storage = MemoryStorage::default();
    storage.write("ckpt/checkpoint-1000", b"garbage").unwrap();
    let mut run = Run::new(&s, Box::new(storage)).unwrap();
    run.step(0, &s.steps[0]);
    assert!(!run.engine.is_running());
    assert!(run
        .trace
        .iter()
        .any(|l| matches!(&l.event, TraceEvent::Error { message, .. } if message == "Failed to read checkpoint from directory ckpt")));
}

#[test]
fn bad_scenario_files_say_what_is_wrong() {
    let text = std::fs::read_to_string(scenarios_dir().join("reset-ignored.toml")).unwrap();
    for (from, to, want) in [
        ("do = \"reset_offsets\"", "do = \"reset_offset\"", "unknown `do = \"reset_offset\"`"),
        ("batch_interval = \"5s\"", "batch_interval = \"5 seconds\"", "duration `5 seconds`"),
        ("strategy = \"Subscribe\"", "strategy = \"SubscribePattern\"", "strategy `SubscribePattern`"),
        ("partition = 1\n", "partition = 1\nbefore = 3\n", "`before` does not belong"),
    ] {
        let bad = text.replacen(from, to, 1);
        assert_ne!(bad, text, "{from}");
        let e = format::parse("x.toml", &bad).unwrap_err();
        assert!(e.contains(want), "{e}");
    }
}

/// A `metadata.max.age.ms` the consumer would reject fails the file at that key's line, naming the value.
#[test]
fn a_bad_metadata_max_age_names_its_line_and_value() {
    let text = std::fs::read_to_string(scenarios_dir().join("partitions-added.toml")).unwrap();
    let line = 1 + text.lines().position(|l| l.contains("\"metadata.max.age.ms\" = 30000")).expect("the scenario sets it");
    for (value, why) in [("\"soon\"", "Not a number of type LONG"), ("-1", "Value must be at least 0")] {
        let bad = text.replacen("\"metadata.max.age.ms\" = 30000", &format!("\"metadata.max.age.ms\" = {value}"), 1);
        let e = format::parse("x.toml", &bad).unwrap_err();
        let shown = value.trim_matches('"');
        assert!(e.starts_with(&format!("x.toml:{line}: ")), "{e}");
        assert!(e.contains(&format!("Invalid value {shown} for configuration metadata.max.age.ms: {why}")), "{e}");
    }
}

/// Real Spark (docs/known-differences.md §13): the auto-commit timer starts with the consumer, an
/// auto-commit reaches no callback, and `close()`'s synchronous auto-commit first runs the answered
/// callbacks (b4's, which a stop without auto-commit drops).
#[test]
fn auto_commits_have_no_callback_and_close_runs_the_answered_ones() {
    let s = load("auto-commit");
    let run = scenario::run_in_memory(&s).unwrap();
    let commits: Vec<(&str, i64)> = run
        .trace
        .iter()
        .filter_map(|l| match &l.event {
            TraceEvent::CommitSent { offsets, auto, .. } => Some((if *auto { "auto" } else { "sent" }, offsets[0].offset)),
            TraceEvent::CommitCompleted { offsets, .. } => Some(("callback", offsets[0].offset)),
            _ => None,
        })
        .collect();
    // b1 (3 s after the consumer's creation) does not auto-commit; b2..b4 do, then commitAll; the stop at
    // 12:00:22 runs b4's callback, then auto-commits the log end.
    let want = [
        ("auto", 0),
        ("sent", 0),
        ("callback", 0),
        ("auto", 0),
        ("sent", 0),
        ("callback", 0),
        ("auto", 12),
        ("sent", 5),
        ("callback", 5),
        ("auto", 12),
    ];
    assert_eq!(&commits[..want.len()], &want);
}
