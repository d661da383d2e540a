//! The engine against a real Kafka: shipped scenarios run in real time with `offset-lab run
//! --bootstrap`, and their expectations (written from Spark's and Kafka's rules) must hold there too.

use crate::util::{cargo, run, step};
use crate::Ctx;
use std::process::Command;

/// Short enough for CI (each plays its clock in real time), and between them they cover the seed's
/// experiment: reset ignored after a checkpointed restart, and the re-created topic's exception.
const SCENARIOS: &[&str] = &["shift-without-commit", "reset-ignored", "topic-recreated"];

pub fn test_stage(ctx: &Ctx) -> Result<(u32, u32), String> {
    step("building offset-lab with real-Kafka support");
    run(cargo(&ctx.root).args(["build", "-q", "-p", "scenario", "--features", "real-kafka", "--bin", "offset-lab"]))?;
    let bin = ctx.root.join("target/debug/offset-lab");
    let dir = ctx.cache.join("real-kafka-runs");
    let _ = std::fs::remove_dir_all(&dir);
    let (mut passed, mut failed) = (0, 0);
    for name in SCENARIOS {
        step(&format!("scenario {name} against the real Kafka at {} (real time)", crate::kafka::bootstrap()));
        let status = Command::new(&bin)
            .args(["run", "--bootstrap", &crate::kafka::bootstrap(), "--dir"])
            .arg(&dir)
            .arg(ctx.root.join(format!("scenarios/{name}.toml")))
            .status()
            .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
        if status.success() {
            println!("real Kafka scenario passed: {name}");
            passed += 1;
        } else {
            println!("real Kafka scenario FAILED: {name} ({status})");
            failed += 1;
        }
    }
    Ok((passed, failed))
}
