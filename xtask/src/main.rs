//! `cargo xtask <task>`: the project's own set-up, demo, test and benchmark commands.

mod kafka;
mod real_scenarios;
mod reference;
mod util;
mod wasm;
mod web;
mod workshop;

use std::path::PathBuf;
use std::process::Command;
use util::{cargo, run, step};

/// What every task needs to know about where it runs.
pub struct Ctx {
    /// The workspace root.
    pub root: PathBuf,
    /// Ignored folder for downloads and tools (`.cache/` unless `OFFSET_LAB_CACHE` says otherwise).
    pub cache: PathBuf,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let ctx = Ctx::new();
    let (task, rest) = match args.split_first() {
        Some((t, r)) => (t.as_str(), r),
        None => ("help", &[][..]),
    };
    let result = match task {
        "demo" => demo(&ctx, rest),
        "workshop" => workshop::cli(&ctx, rest),
        "test" => test(&ctx, rest),
        "kafka" => kafka::cli(&ctx, rest),
        "reference" => reference::cli(&ctx, rest),
        "bench" => bench(&ctx, rest),
        _ => {
            eprintln!("{}", HELP);
            if task == "help" {
                Ok(())
            } else {
                Err(format!("unknown task `{task}`"))
            }
        }
    };
    if let Err(e) = result {
        eprintln!("xtask {task}: error: {e}");
        std::process::exit(1);
    }
}

const HELP: &str = "usage: cargo xtask <task>
  demo        build the page, start Kafka and the bridge, print the URL (--headless: tables instead)
  workshop    the same for a room: bridge on the LAN with a join code, QR code, teacher URL (--clean after)
  test        run every test (what CI runs); `test <stage>...` runs only those stages
  bench       print benchmark figures
  kafka ...   real Apache Kafka on loopback: start | stop | reset | status | <tool> [args]
  reference   real Spark reference harness";

impl Ctx {
    fn new() -> Ctx {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf();
        let cache = std::env::var_os("OFFSET_LAB_CACHE").map(PathBuf::from).unwrap_or_else(|| root.join(".cache"));
        Ctx { root, cache }
    }
}

/// The shipped scenarios, sorted.
pub fn scenario_files(ctx: &Ctx) -> Result<Vec<PathBuf>, String> {
    let dir = ctx.root.join("scenarios");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    v.sort();
    Ok(v)
}

/// Builds the `offset-lab` CLI and returns its path.
fn build_offset_lab(ctx: &Ctx, release: bool) -> Result<PathBuf, String> {
    let mut c = cargo(&ctx.root);
    c.args(["build", "-q", "-p", "scenario", "--bin", "offset-lab"]);
    if release {
        c.arg("--release");
    }
    run(&mut c)?;
    Ok(ctx.root.join("target").join(if release { "release" } else { "debug" }).join("offset-lab"))
}

/// The playground: builds the page, starts Kafka and the bridge, prints the URL and serves until
/// Ctrl-C. `--headless` instead runs the seed's experiment as tables, leaving the checkpoint files on disk.
fn demo(ctx: &Ctx, args: &[String]) -> Result<(), String> {
    if args.iter().any(|a| a == "--headless") {
        return demo_headless(ctx);
    }
    let dist = serve_setup(ctx)?;
    let listen = std::env::var("OFFSET_LAB_LISTEN").unwrap_or_else(|_| "127.0.0.1:8787".into());
    let checkpoints = ctx.cache.join("checkpoints");
    println!("\nOffset Lab is at  http://{listen}/   (Kafka at {}, checkpoint files under {})", kafka::bootstrap(), checkpoints.display());
    println!("Kafka's own tools next to it: cargo xtask kafka consumer-groups --bootstrap-server {} --list", kafka::bootstrap());
    println!("Ctrl-C stops the bridge; `cargo xtask kafka stop` stops Kafka.\n");
    run(Command::new(ctx.root.join("target/debug/bridge"))
        .args(["--listen", &listen, "--bootstrap", &kafka::bootstrap(), "--dist"])
        .arg(&dist)
        .arg("--checkpoints")
        .arg(&checkpoints))
}

/// What `demo` and `workshop` both need: the page built, Kafka running, the bridge built. Returns `dist/`.
pub fn serve_setup(ctx: &Ctx) -> Result<PathBuf, String> {
    let dist = web::build(ctx)?;
    kafka::ensure_started(ctx)?;
    step("building the bridge");
    run(cargo(&ctx.root).args(["build", "-q", "-p", "bridge"]))?;
    Ok(dist)
}

/// The seed's experiment, headless, as readable tables, with the checkpoint files left on disk.
fn demo_headless(ctx: &Ctx) -> Result<(), String> {
    step("building the offset-lab CLI (release)");
    let bin = build_offset_lab(ctx, true)?;
    let dir = ctx.cache.join("demo-checkpoints");
    let _ = std::fs::remove_dir_all(&dir);
    for name in ["reset-ignored", "topic-recreated", "checkpoint-deleted"] {
        step(&format!("scenario {name}"));
        run(Command::new(&bin).arg("run").arg(ctx.root.join(format!("scenarios/{name}.toml"))).arg("--dir").arg(&dir))?;
    }
    println!("\nThe checkpoint files these runs wrote are under {}/<scenario>/ckpt (ls them).", dir.display());
    println!("More scenarios: {}/scenarios; run one with `cargo run -q -p scenario --bin offset-lab -- run <file>`.", ctx.root.display());
    Ok(())
}

/// Every test: style (rustfmt), the workspace's unit and integration tests, native vs WASM traces,
/// the browser tests, the tests against a real Kafka, the shipped scenarios on real Spark. Prints
/// every stage's count and time, then one summary line; fails if anything failed or could not run.
/// `cargo xtask test <stage>...` runs only the named stages (one Kafka start serves all of them).
fn test(ctx: &Ctx, args: &[String]) -> Result<(), String> {
    const STAGES: [&str; 8] = ["style", "workspace", "wasm", "web", "kafka", "real-scenarios", "live", "reference"];
    if let Some(bad) = args.iter().find(|a| !STAGES.contains(&a.as_str())) {
        return Err(format!("unknown stage `{bad}`; stages: {}", STAGES.join(", ")));
    }
    let wanted = |s: &str| args.is_empty() || args.iter().any(|a| a == s);
    let started = std::time::Instant::now();
    // (name, (passed, failed) or why it could not run, seconds)
    type Stage = (&'static str, Result<(u32, u32), String>, u64);
    let mut stages: Vec<Stage> = Vec::new();
    let mut stage = |name: &'static str, f: &mut dyn FnMut() -> Result<(u32, u32), String>| {
        let t = std::time::Instant::now();
        let r = f();
        stages.push((name, r, t.elapsed().as_secs()));
    };
    if wanted("style") {
        stage("style (rustfmt, clippy -D warnings)", &mut || style_stage(ctx));
    }
    if wanted("workspace") {
        step("workspace tests: cargo test --workspace (with the real-Spark checkpoint fixtures)");
        stage("workspace (cargo test)", &mut || {
            util::cargo_test(&ctx.root, &["--workspace", "--features", "spark-checkpoint/spark-fixtures"])
        });
    }
    if wanted("wasm") {
        stage("native vs WASM traces", &mut || build_offset_lab(ctx, false).and_then(|bin| wasm::test_stage(ctx, &bin)));
    }
    if wanted("web") {
        stage("web (browser component tests, Playwright e2e)", &mut || web::test_stage(ctx));
    }
    let on_kafka = ["kafka", "real-scenarios", "live", "reference"];
    if on_kafka.iter().any(|s| wanted(s)) {
        let kafka_was_running = kafka::is_running(ctx);
        match kafka::ensure_started(ctx) {
            Ok(()) => {
                if wanted("kafka") {
                    stage("real Kafka (bridge)", &mut || kafka::test_stage(ctx));
                }
                if wanted("real-scenarios") {
                    stage("real Kafka (engine scenarios)", &mut || real_scenarios::test_stage(ctx));
                }
                if wanted("live") {
                    stage("real Kafka (the page through the bridge, Playwright)", &mut || web::live_test_stage(ctx));
                }
                if wanted("reference") {
                    // Maven/Spark that cannot be set up is an Err: counted as a failure, never a silent pass
                    stage("real Spark 3.5.1 (reference harness, reference/test-scenarios.txt)", &mut || reference::test_stage(ctx));
                }
                if !kafka_was_running {
                    if let Err(e) = kafka::stop(ctx) {
                        eprintln!("warning: {e}");
                    }
                }
            }
            Err(e) => stage("real Kafka", &mut || Err(e.clone())),
        }
    }
    let (mut passed, mut failed) = (0, 0);
    eprintln!("\n==> summary ({} s)", started.elapsed().as_secs());
    for (name, r, secs) in &stages {
        match r {
            Ok((p, f)) => {
                eprintln!("  {name}: {p} passed, {f} failed ({secs} s)");
                passed += p;
                failed += f;
            }
            Err(e) => {
                eprintln!("  {name}: could not run: {e} ({secs} s)");
                failed += 1;
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    if failed == 0 {
        Ok(())
    } else {
        Err(format!("{failed} failed"))
    }
}

/// The tree is formatted as rustfmt.toml says, and clippy finds nothing (natively, and in the page's
/// wasm-only shell): each check counts as one test.
fn style_stage(ctx: &Ctx) -> Result<(u32, u32), String> {
    let checks: [(&str, &[&str]); 3] = [
        ("rustfmt", &["fmt", "--all", "--check"]),
        ("clippy", &["clippy", "-q", "--workspace", "--all-targets", "--", "-D", "warnings"]),
        ("clippy (the page, wasm32)", &["clippy", "-q", "-p", "web", "--target", "wasm32-unknown-unknown", "--", "-D", "warnings"]),
    ];
    web::ensure_wasm_target()?;
    let (mut passed, mut failed) = (0, 0);
    for (name, args) in checks {
        step(&format!("style: cargo {}", args.join(" ")));
        let ok = cargo(&ctx.root).args(args).status().map_err(|e| format!("cannot run cargo {}: {e}", args[0]))?.success();
        println!("style: {name} {}", if ok { "clean" } else { "FOUND PROBLEMS (see above)" });
        if ok {
            passed += 1
        } else {
            failed += 1
        }
    }
    Ok((passed, failed))
}

/// Benchmark figures (never pass/fail): the engine natively and in WebAssembly.
fn bench(ctx: &Ctx, _args: &[String]) -> Result<(), String> {
    step("building the offset-lab CLI (release)");
    let bin = build_offset_lab(ctx, true)?;
    run(Command::new(&bin).arg("bench"))?;
    let wasm = wasm::build(ctx)?;
    step("the same records workload natively and in WebAssembly (Node), best of 3");
    println!("  {:>10}  {:>10}  {:>12}  {:>12}  {:>10}", "partitions", "records", "native rec/s", "wasm rec/s", "wasm/native");
    for p in ["1", "10", "100"] {
        let n = "100000";
        let secs = |c: &mut Command| -> Result<f64, String> {
            let out = c.output().map_err(|e| e.to_string())?;
            String::from_utf8_lossy(&out.stdout)
                .trim()
                .parse::<f64>()
                .map_err(|_| format!("{c:?}: {}", String::from_utf8_lossy(&out.stderr)))
        };
        let native = secs(Command::new(&bin).args(["bench-records", p, n]))?;
        let in_wasm = secs(Command::new("node").arg(ctx.root.join("crates/engine-wasm/bench.mjs")).arg(&wasm).args([p, n]))?;
        let n: f64 = n.parse().unwrap();
        println!("  {p:>10}  {n:>10}  {:>12.0}  {:>12.0}  {:>9.2}x", n / native, n / in_wasm, in_wasm / native);
    }
    Ok(())
}
