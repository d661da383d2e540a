//! The web page's tasks: install its tools (Trunk, wasm-bindgen-cli, npm wasm-opt, Chromium,
//! playwright-core) idempotently, build `dist/` with `trunk build --release --offline`, and run the
//! browser tests (wasm-bindgen-test in headless Chromium, then Playwright end-to-end).
//!
//! Tools live outside the repo (`$OFFSET_LAB_TOOLS`, default `~/.cache/offset-lab/tools`) so fresh
//! clones on the same machine reuse them. Nothing is downloaded except from crates.io, npm and apt.

use crate::util::{cargo, run, run_counting, step, test_summary};
use crate::Ctx;
use std::path::{Path, PathBuf};
use std::process::Command;

const TRUNK: &str = "0.21.14";
/// Must equal `wasm-bindgen` in Cargo.lock (crates/web pins `=0.2.130`).
const WASM_BINDGEN: &str = "0.2.130";
const BINARYEN: &str = "132.0.0";
const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Where the page's tools are installed.
pub fn tools_dir() -> PathBuf {
    if let Some(t) = std::env::var_os("OFFSET_LAB_TOOLS") {
        return PathBuf::from(t);
    }
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/tmp"));
    home.join(".cache/offset-lab/tools")
}

/// PATH with the npm wasm-opt first (Debian's binaryen 108 cannot read rustc 1.95 output), then our bin.
fn path_env(tools: &Path) -> String {
    let old = std::env::var("PATH").unwrap_or_default();
    format!("{}:{}:{old}", tools.join("npm/node_modules/.bin").display(), tools.join("bin").display())
}

fn version_of(exe: &Path) -> Option<String> {
    let out = Command::new(exe).arg("--version").output().ok()?;
    Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The `wasm32-unknown-unknown` target (and clippy, for the style stage's check of the page).
pub fn ensure_wasm_target() -> Result<(), String> {
    let installed = String::from_utf8_lossy(
        &Command::new("rustup").args(["target", "list", "--installed"]).output().map(|o| o.stdout).unwrap_or_default(),
    )
    .to_string();
    if !installed.lines().any(|l| l.trim() == "wasm32-unknown-unknown") {
        step("web: rustup target add wasm32-unknown-unknown");
        run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))?;
    }
    Ok(())
}

/// Installs whatever is missing; cheap when everything is there.
pub fn ensure_tools(ctx: &Ctx) -> Result<PathBuf, String> {
    let tools = tools_dir();
    std::fs::create_dir_all(&tools).map_err(|e| format!("cannot create {}: {e}", tools.display()))?;
    ensure_wasm_target()?;
    for (name, krate, version, locked) in [("trunk", "trunk", TRUNK, true), ("wasm-bindgen", "wasm-bindgen-cli", WASM_BINDGEN, false)] {
        let exe = tools.join("bin").join(name);
        if version_of(&exe).is_some_and(|v| v.contains(version)) {
            continue;
        }
        step(&format!("web: cargo install {krate} {version} into {} (10-20 minutes on a busy 2-core machine; once)", tools.display()));
        let mut c = cargo(&ctx.root);
        c.args(["install", krate, "--version", version, "--root"]).arg(&tools);
        // wasm-bindgen-cli's lockfile names a webpki-roots the registry mirror lacks (toolchain.md).
        if locked {
            c.arg("--locked");
        }
        run(&mut c)?;
    }
    let wasm_opt = tools.join("npm/node_modules/.bin/wasm-opt");
    if !version_of(&wasm_opt).is_some_and(|v| v.contains("132")) {
        step(&format!("web: npm i binaryen@{BINARYEN} (wasm-opt)"));
        run(Command::new("npm")
            .args(["i", "--no-audit", "--no-fund", "--prefix"])
            .arg(tools.join("npm"))
            .arg(format!("binaryen@{BINARYEN}")))?;
    }
    if !Path::new(CHROMIUM).exists() || !Path::new(CHROMEDRIVER).exists() {
        step("web: apt-get install chromium chromium-driver");
        run(Command::new("apt-get").arg("update"))?;
        run(Command::new("apt-get").args(["install", "-y", "chromium", "chromium-driver"]))?;
    }
    let e2e = ctx.root.join("e2e");
    if !e2e.join("node_modules/playwright-core").exists() {
        step("web: npm ci in e2e/ (playwright-core, pinned by e2e/package-lock.json)");
        run(Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(&e2e))?;
    }
    Ok(tools)
}

/// The page's own target dir and release profile for size (the workspace's release profile is for speed).
fn web_env(c: &mut Command, ctx: &Ctx, tools: &Path) {
    c.env("PATH", path_env(tools))
        .env("CARGO_TARGET_DIR", ctx.root.join("target/web"))
        .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "z")
        .env("CARGO_PROFILE_RELEASE_LTO", "true")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "1")
        .env("CARGO_PROFILE_RELEASE_PANIC", "abort");
}

/// Builds the page into `<root>/dist` and returns that directory.
pub fn build(ctx: &Ctx) -> Result<PathBuf, String> {
    let tools = ensure_tools(ctx)?;
    step("web: cargo fetch (so the offline build finds every crate)");
    run(cargo(&ctx.root).arg("fetch"))?;
    step("web: trunk build --release --offline");
    let mut c = Command::new(tools.join("bin/trunk"));
    c.args(["build", "--release", "--offline"]).current_dir(&ctx.root);
    web_env(&mut c, ctx, &tools);
    run(&mut c)?;
    let dist = ctx.root.join("dist");
    report_sizes(&dist);
    Ok(dist)
}

/// Prints the bundle's weight (raw and gzip -9) so every change that touches dependencies shows it.
fn report_sizes(dist: &Path) {
    let Ok(entries) = std::fs::read_dir(dist) else { return };
    for e in entries.flatten() {
        let p = e.path();
        let ext = p.extension().and_then(|x| x.to_str()).unwrap_or("");
        if !matches!(ext, "wasm" | "js" | "css" | "html") {
            continue;
        }
        let raw = e.metadata().map(|m| m.len()).unwrap_or(0);
        let gz = Command::new("sh")
            .arg("-c")
            .arg(format!("gzip -9c '{}' | wc -c", p.display()))
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse::<u64>().ok());
        eprintln!(
            "    {:<40} {raw:>9} bytes, gzip -9 {}",
            p.file_name().unwrap_or_default().to_string_lossy(),
            gz.map_or("?".into(), |g| g.to_string())
        );
    }
}

/// `e2e: 4 passed, 0 failed`
fn e2e_summary(line: &str) -> Option<(u32, u32)> {
    let rest = line.strip_prefix("e2e: ")?;
    let (p, f) = rest.split_once(", ")?;
    Some((p.strip_suffix(" passed")?.parse().ok()?, f.strip_suffix(" failed")?.parse().ok()?))
}

/// The browser tests: component tests (wasm-bindgen-test in headless Chromium via chromedriver)
/// and Playwright end-to-end tests against the built page. The web crate's native unit tests
/// run in `cargo test --workspace` and are not counted here.
pub fn test_stage(ctx: &Ctx) -> Result<(u32, u32), String> {
    let dist = build(ctx)?;
    let tools = tools_dir();
    step("web: component tests in headless Chromium (wasm-bindgen-test)");
    let mut c = cargo(&ctx.root);
    c.args(["test", "-p", "web", "--target", "wasm32-unknown-unknown", "--color", "never"])
        .env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER", tools.join("bin/wasm-bindgen-test-runner"))
        .env("CHROMEDRIVER", CHROMEDRIVER)
        .env("WASM_BINDGEN_TEST_TIMEOUT", "120");
    // Same target dir as the release build: debug artifacts live beside the release ones.
    web_env(&mut c, ctx, &tools);
    let (p1, f1) = run_counting(c, test_summary)?;
    step("web: end-to-end tests (Playwright on Debian's Chromium; screenshots in e2e/artifacts/)");
    let mut c = Command::new("node");
    c.arg("run.mjs").arg(&dist).current_dir(ctx.root.join("e2e")).env("CHROMIUM", CHROMIUM);
    let (p2, f2) = run_counting(c, e2e_summary)?;
    Ok((p1 + p2, f1 + f2))
}

/// The page served by the bridge on the real Kafka (which must be running): Playwright drives the
/// walkthrough and a rewind in real time (`e2e/live.mjs`, ~4 minutes), then a workshop
/// (`e2e/workshop.mjs`).
pub fn live_test_stage(ctx: &Ctx) -> Result<(u32, u32), String> {
    let dist = ctx.root.join("dist");
    if !dist.join("index.html").exists() {
        build(ctx)?;
    }
    step("web on the real Kafka: building the bridge");
    run(cargo(&ctx.root).args(["build", "-q", "-p", "bridge"]))?;
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map_err(|e| e.to_string())?.port();
    let checkpoints = ctx.cache.join("e2e-checkpoints");
    let _ = std::fs::remove_dir_all(&checkpoints);
    let mut bridge = Command::new(ctx.root.join("target/debug/bridge"))
        .args(["--listen", &format!("127.0.0.1:{port}"), "--bootstrap", &crate::kafka::bootstrap(), "--dist"])
        .arg(&dist)
        .arg("--checkpoints")
        .arg(&checkpoints)
        .spawn()
        .map_err(|e| format!("cannot start the bridge: {e}"))?;
    let url = format!("http://127.0.0.1:{port}/");
    let up = (0..100).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(100));
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    step(&format!("web on the real Kafka: Playwright against the bridge at {url} (real time, ~4 minutes)"));
    let result = if up {
        let mut c = Command::new("node");
        c.arg("live.mjs").arg(&url).arg(&checkpoints).current_dir(ctx.root.join("e2e")).env("CHROMIUM", CHROMIUM);
        run_counting(c, e2e_summary)
    } else {
        Err(format!("the bridge did not listen on port {port}"))
    };
    let _ = bridge.kill();
    let _ = bridge.wait();
    let (p2, f2) = workshop_test(ctx, &dist)?;
    result.map(|(p, f)| (p + p2, f + f2))
}

/// A workshop on the same Kafka: the bridge with `--workshop` on a fresh state folder, and
/// Playwright with three participants and the teacher (`e2e/workshop.mjs`, ~1 minute).
fn workshop_test(ctx: &Ctx, dist: &Path) -> Result<(u32, u32), String> {
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map_err(|e| e.to_string())?.port();
    let state = ctx.cache.join("e2e-workshop");
    let checkpoints = ctx.cache.join("e2e-workshop-checkpoints");
    for d in [&state, &checkpoints] {
        let _ = std::fs::remove_dir_all(d);
    }
    let mut bridge = Command::new(ctx.root.join("target/debug/bridge"))
        .args(["--listen", &format!("127.0.0.1:{port}"), "--bootstrap", &crate::kafka::bootstrap(), "--dist"])
        .arg(dist)
        .arg("--checkpoints")
        .arg(&checkpoints)
        .arg("--workshop")
        .arg(&state)
        .spawn()
        .map_err(|e| format!("cannot start the workshop bridge: {e}"))?;
    let url = format!("http://127.0.0.1:{port}/");
    // Listening, and the join code and teacher secret written.
    let up = (0..100).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(100));
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
            && state.join("join-code").exists()
            && state.join("teacher-secret").exists()
    });
    step(&format!("web on the real Kafka: a workshop (3 participants, the teacher) against the bridge at {url}"));
    let result = if up {
        let mut c = Command::new("node");
        c.arg("workshop.mjs").arg(&url).arg(&state).current_dir(ctx.root.join("e2e")).env("CHROMIUM", CHROMIUM);
        run_counting(c, e2e_summary)
    } else {
        Err(format!("the workshop bridge did not listen on port {port} with its join code in {}", state.display()))
    };
    let _ = bridge.kill();
    let _ = bridge.wait();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e2e_summary_lines() {
        assert_eq!(e2e_summary("e2e: 4 passed, 1 failed"), Some((4, 1)));
        assert_eq!(e2e_summary("ok   something"), None);
    }
}
