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
    assert!(!folders.is_empty(), "no real Spark fixture: expected {}/<name>/expected.json (see docs/spark-checkpoint.md)", root.display());
    let mut bad = Vec::new();
    for dir in &folders {
        let name = dir.file_name().unwrap_or_default().to_string_lossy().into_owned();
        bad.extend(common::expected::check_folder(dir).into_iter().map(|m| format!("{name}/{m}")));
    }
    assert!(bad.is_empty(), "{} folders, {} mismatches:\n{}", folders.len(), bad.len(), bad.join("\n"));
}

#[test]
fn a_corrupted_file_with_a_crc_sidecar_is_unreadable_and_the_pick_moves_on() {
    // Real Spark folder with Hadoop's sidecars: flip one byte of the newest file, keep its old sidecar.
    let dir = common::fixtures().join("spark/spark351-lz4-subscribe");
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .expect("fixture folder")
        .flatten()
        .map(|e| (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).expect("read")))
        .collect();
    assert!(files.iter().filter(|(n, _)| n.ends_with(".crc")).count() >= 4, "the folder must keep Spark's .crc files");
    let limits = spark_checkpoint::Limits::default();
    let pick = |files: &[(String, Vec<u8>)]| {
        let entries = spark_checkpoint::inspect_directory(files.iter().map(|(n, b)| (n.as_str(), b.as_slice())), &limits);
        let pick = entries.iter().find(|e| e.restart_pick).map(|e| e.name.clone());
        (entries.into_iter().map(|e| (e.name, e.crc_sidecar, e.error)).collect::<Vec<_>>(), pick)
    };
    let (before, first) = pick(&files);
    assert!(before.iter().all(|(_, crc, _)| *crc == Some(true)), "{before:?}");
    let first = first.expect("a pick");
    let victim = files.iter_mut().find(|(n, _)| *n == first).expect("picked file");
    let last = victim.1.len() - 30;
    victim.1[last] ^= 0x40;
    let (after, second) = pick(&files);
    assert_ne!(second.as_deref(), Some(first.as_str()));
    let (_, crc, error) = after.iter().find(|(n, _, _)| *n == first).expect("entry");
    assert_eq!(*crc, Some(false));
    assert!(error.as_deref().unwrap_or("").contains("checksum mismatch"), "{error:?}");
}
