//! A checkpoint folder real Spark 3.5.1 (Scala 2.13) wrote, read by the engine's log readers and written again,
//! byte for byte, by its writers: `tests/fixtures/spark-3.5.1-subscribe-pattern/` is the folder of a
//! `cargo xtask reference run scenarios/structured/subscribe-pattern.toml` (two topics, two batches; `.crc` files left out).

use engine::offsets::{Offsets, TopicPartition};
use std::path::Path;
use structured::{log, QueryConfig, Trigger};

fn file(rel: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/spark-3.5.1-subscribe-pattern").join(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn offsets(list: &[(&str, i64)]) -> Offsets {
    list.iter().map(|(t, o)| (TopicPartition::new(*t, 0), *o)).collect()
}

#[test]
fn the_engine_reads_and_writes_real_sparks_files() {
    let (a, b) = ("events-a-ref986363", "events-b-ref986363");
    let id = log::parse_metadata(&file("metadata")).unwrap();
    assert_eq!(id, "774ee970-ff20-4036-a21a-8af3b0e65f93");
    assert_eq!(log::metadata_file(&id).into_bytes(), file("metadata"));

    let initial = log::parse_initial_offsets(&file("sources/0/0")).unwrap();
    assert_eq!(initial, offsets(&[(a, 0)]));

    let cfg = QueryConfig::from_options(
        &[("kafka.bootstrap.servers", "127.0.0.1:9092"), ("subscribePattern", "events-.*"), ("startingOffsets", "earliest")],
        Trigger::ProcessingTime(engine::time::Duration(5000)),
        "ckpt",
        "file:/tmp/ckpt",
    )
    .unwrap();
    assert_eq!(log::initial_offsets_file(&initial, cfg.map_order()), file("sources/0/0"));

    for (n, want, ts) in [(0, offsets(&[(a, 1)]), 1_796_315_992_000), (1, offsets(&[(a, 2), (b, 2)]), 1_796_315_995_000)] {
        let bytes = file(&format!("offsets/{n}"));
        let seq = log::parse_offsets_file(&bytes).unwrap();
        assert_eq!(seq.source.as_ref(), Some(&want), "offsets/{n}");
        assert_eq!(seq.batch_timestamp_ms, Some(ts), "offsets/{n}");
        // the metadata's nine conf keys, their order, and the two topics' hash order, as Spark wrote them
        assert_eq!(log::offsets_file(&cfg, ts, &want), String::from_utf8(bytes).unwrap(), "offsets/{n}");
        let commit = file(&format!("commits/{n}"));
        log::parse_commit_file(&commit).unwrap();
        assert_eq!(log::commit_file(0).into_bytes(), commit, "commits/{n}");
    }
}
