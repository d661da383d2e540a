//! Real Spark checkpoints from the reference harness (`fixtures/spark/<name>/` + `expected.json`) decode to
//! exactly what the harness says Spark wrote. Behind `--features spark-fixtures`; fails when none exist.
#![cfg(feature = "spark-fixtures")]

mod common;

#[test]
fn every_real_spark_fixture_matches_its_expected_json() {
    let root = common::fixtures().join("spark");
    let mut folders: Vec<_> = std::fs::read_dir(&root)
        .map(|rd| rd.flatten().map(|e| e.path()).filter(|p| p.join("expected.json").is_file()).collect())
        .unwrap_or_default();
    folders.sort();
    assert!(
        !folders.is_empty(),
        "no real Spark fixture: expected {}/<name>/expected.json (see docs/spark-checkpoint.md)",
        root.display()
    );
    let mut bad = Vec::new();
    for dir in &folders {
        let name = dir.file_name().unwrap_or_default().to_string_lossy().into_owned();
        bad.extend(common::expected::check_folder(dir).into_iter().map(|m| format!("{name}/{m}")));
    }
    assert!(bad.is_empty(), "{} folders, {} mismatches:\n{}", folders.len(), bad.len(), bad.join("\n"));
}
