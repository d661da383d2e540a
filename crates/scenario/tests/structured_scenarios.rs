//! Every shipped Structured Streaming scenario (`scenarios/structured/`), run against the in-memory model.

use engine::storage::MemoryStorage;
use scenario::format::{self, Scenario, StructuredAction};
use std::path::PathBuf;

fn shipped() -> Vec<Scenario> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/structured");
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|x| x == "toml")).collect();
    files.sort();
    files
        .iter()
        .map(|p| format::parse(&p.display().to_string(), &std::fs::read_to_string(p).unwrap()).unwrap_or_else(|e| panic!("{e}")))
        .collect()
}

#[test]
fn every_structured_scenario_meets_its_expectations_and_runs_the_same_twice() {
    let all = shipped();
    assert!(all.len() >= 8, "found {}", all.len());
    for s in &all {
        let spec = s.structured.as_ref().unwrap_or_else(|| panic!("{} has no api = \"structured\"", s.name));
        assert!(spec.steps.iter().any(|st| matches!(st.action, StructuredAction::Expect(_))), "{} checks nothing", s.name);
        let run = scenario::structured::run_with(s, Box::new(MemoryStorage::default())).unwrap();
        assert!(run.failures.is_empty(), "{}:\n{}", s.name, run.failures.join("\n"));
        let again = scenario::structured::run_with(s, Box::new(MemoryStorage::default())).unwrap();
        assert_eq!(scenario::structured::trace_jsonl(&run), scenario::structured::trace_jsonl(&again), "{}", s.name);
    }
}

#[test]
fn a_wrong_structured_expectation_fails_with_the_numbers() {
    let s = shipped().into_iter().find(|s| s.name == "ss-rerun-uncommitted").unwrap();
    let text = std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/structured/rerun-uncommitted.toml"))
        .unwrap()
        .replace(r#""1" = { "words-0" = [3, 5] }"#, r#""1" = { "words-0" = [3, 7] }"#);
    let broken = format::parse("broken", &text).unwrap();
    let run = scenario::structured::run_with(&broken, Box::new(MemoryStorage::default())).unwrap();
    assert_eq!(run.failures.len(), 1, "{:?}", run.failures);
    assert!(run.failures[0].contains("ranges of batch 1") && run.failures[0].contains("(3, 5)"), "{}", run.failures[0]);
    assert!(scenario::structured::run_with(&s, Box::new(MemoryStorage::default())).unwrap().failures.is_empty());
}
