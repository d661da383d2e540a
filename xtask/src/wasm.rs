//! The engine in WebAssembly: build `engine-wasm`, run every shipped scenario through it in Node,
//! and require the trace to be byte-identical to the native one.

use crate::util::{cargo, run, step};
use crate::Ctx;
use std::path::PathBuf;
use std::process::Command;

pub const TARGET: &str = "wasm32-unknown-unknown";

/// `rustup target add` is idempotent and fast when the target is there.
pub fn ensure_target() -> Result<(), String> {
    let installed = Command::new("rustup").args(["target", "list", "--installed"]).output().map_err(|e| format!("rustup: {e}"))?;
    if String::from_utf8_lossy(&installed.stdout).lines().any(|l| l.trim() == TARGET) {
        return Ok(());
    }
    step(&format!("installing the Rust target {TARGET}"));
    run(Command::new("rustup").args(["target", "add", TARGET]))
}

pub fn build(ctx: &Ctx) -> Result<PathBuf, String> {
    ensure_target()?;
    step("building the engine for WebAssembly (engine-wasm, release)");
    run(cargo(&ctx.root).args(["build", "-p", "engine-wasm", "--release", "--target", TARGET]))?;
    Ok(ctx.root.join("target").join(TARGET).join("release/engine_wasm.wasm"))
}

/// Native vs WASM trace for every scenario; returns (identical, different).
pub fn test_stage(ctx: &Ctx, offset_lab: &PathBuf) -> Result<(u32, u32), String> {
    let wasm = build(ctx)?;
    let out = ctx.cache.join("wasm-traces");
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let scenarios = crate::scenario_files(ctx)?;
    step(&format!("running {} scenarios natively and in WebAssembly (Node), comparing traces", scenarios.len()));
    let mut node = Command::new("node");
    node.arg(ctx.root.join("crates/engine-wasm/run.mjs")).arg(&wasm).arg(&out).args(&scenarios);
    run(&mut node)?;
    let (mut same, mut diff) = (0, 0);
    for s in &scenarios {
        let name = s.file_stem().unwrap().to_string_lossy().to_string();
        let native = Command::new(offset_lab).args(["run", "--trace"]).arg(s).output().map_err(|e| e.to_string())?;
        let in_wasm = std::fs::read(out.join(format!("{name}.wasm.jsonl"))).map_err(|e| e.to_string())?;
        if !native.stdout.is_empty() && native.stdout == in_wasm {
            println!("wasm trace identical: {name} ({} lines)", in_wasm.iter().filter(|b| **b == b'\n').count());
            same += 1;
        } else {
            println!("wasm trace DIFFERS: {name} (native {} bytes, wasm {} bytes)", native.stdout.len(), in_wasm.len());
            diff += 1;
        }
    }
    Ok((same, diff))
}
