//! The reference harness: real Spark runs the shipped scenarios and its trace is diffed with the engine's.
//!
//! The harness itself is a Maven project, `reference/spark` (Spark 3.5.1, Scala 2.13; see
//! `docs/reference-harness.md`): `offsetlab.SeedJob` is the seed's job with the trace instrumentation,
//! `offsetlab.Driver` runs a scenario file against the real Kafka of `cargo xtask kafka`, one job JVM per
//! `start`, and `offsetlab.Diff` compares its trace with the engine's. This module builds it, runs it and counts.
//!
//! CLI (`cargo xtask reference …`):
//! - `build`: `mvn -q -o compile` (online only when the offline build cannot resolve);
//! - `run <scenario.toml> [--scale S] [--codec lz4|zstd|snappy] [--out DIR]`: real Spark only;
//! - `diff <run-dir> <engine-trace.jsonl> <scenario.toml>`: compare two traces;
//! - `check <scenario.toml>…`: run on Spark, produce the engine's trace, diff (what `test` does for each file);
//! - `handoff <scenario.toml>…`: `check`, with every restart of a Structured Streaming scenario made by real Spark
//!   from the checkpoint folder the engine wrote up to that step;
//! - `test`: [`test_stage`] alone;
//! - `fixtures`: write real checkpoint files for `crates/spark-checkpoint/fixtures/spark/`;
//! - `bench`: figures, never pass/fail: real Spark's empty-batch overhead and records/s beside the engine's.
//!
//! Runs go to `target/reference/<scenario>/`. The time scale defaults to 1 (real Spark at the scenario's own
//! batch interval); `OFFSET_LAB_REFERENCE_SCALE` changes it for `test`.

use crate::util::step;
use crate::{kafka, Ctx};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const HELP: &str = "usage: cargo xtask reference <command>
  build                                   compile the harness (Maven, offline when cached)
  run <scenario.toml> [--scale S] [--codec C] [--out DIR]
                                          run a scenario on real Spark + real Kafka
  diff <run-dir> <engine-trace> <scenario.toml>
                                          diff a Spark run's trace with an engine trace
  check <scenario.toml>...                run on Spark, run the engine, diff
  handoff <scenario.toml>...              the same, every restart of a structured scenario from the engine's checkpoint
  test                                    check every scenario in reference/test-scenarios.txt (what `cargo xtask test` runs)
  fixtures                                write real checkpoint fixtures for crates/spark-checkpoint
  order [--write]                         the JVM's collection orders equal crates/engine's fixture (--write: rewrite it)
  bench                                   real Spark's per-batch overhead and records/s next to the engine's (figures only)";

/// `cargo xtask reference <args>`.
pub fn cli(ctx: &Ctx, args: &[String]) -> Result<(), String> {
    let (cmd, rest) = match args.split_first() {
        Some((c, r)) => (c.as_str(), r),
        None => ("help", &[][..]),
    };
    match cmd {
        "build" => build(ctx).map(|_| ()),
        "run" => {
            let (files, opts) = split_opts(rest);
            let scenario = files.first().ok_or("run: which scenario file?")?;
            let cp = build(ctx)?;
            kafka::ensure_started(ctx)?;
            let out = opts.get("out").map(PathBuf::from).unwrap_or_else(|| run_dir(ctx, Path::new(scenario)));
            let ok = run_spark(
                ctx,
                &cp,
                Path::new(scenario),
                &out,
                opts.get("scale").map(String::as_str),
                opts.get("codec").map(String::as_str),
            )?;
            eprintln!("trace: {}", out.join("trace.jsonl").display());
            if ok {
                Ok(())
            } else {
                Err("some expectations failed on real Spark (see expect.jsonl)".into())
            }
        }
        "diff" => {
            let [run, engine, scenario] = rest else { return Err("diff <run-dir> <engine-trace> <scenario.toml>".into()) };
            let cp = build(ctx)?;
            if diff(ctx, &cp, Path::new(run), Path::new(engine), Path::new(scenario))? {
                Ok(())
            } else {
                Err("unexplained differences".into())
            }
        }
        "check" => {
            let (files, _) = split_opts(rest);
            let (p, f) = check_all(ctx, &files.iter().map(PathBuf::from).collect::<Vec<_>>())?;
            println!("reference: {p} passed, {f} failed");
            if f == 0 {
                Ok(())
            } else {
                Err(format!("{f} scenario(s) differ from real Spark"))
            }
        }
        "handoff" => {
            let (files, _) = split_opts(rest);
            if files.is_empty() {
                return Err("handoff <scenario.toml>…: which Structured Streaming scenarios?".into());
            }
            let entries: Vec<(PathBuf, bool)> = files.iter().map(|f| (PathBuf::from(f), true)).collect();
            let (p, f) = check_lanes(ctx, &entries, &[])?;
            println!("reference: {p} passed, {f} failed");
            if f == 0 {
                Ok(())
            } else {
                Err(format!("{f} scenario(s) differ from real Spark"))
            }
        }
        "test" => {
            let (p, f) = test_stage(ctx)?;
            println!("reference: {p} passed, {f} failed");
            if f == 0 {
                Ok(())
            } else {
                Err(format!("{f} scenario(s) differ from real Spark"))
            }
        }
        "fixtures" => fixtures(ctx),
        "order" => {
            let cp = build(ctx)?;
            collection_order(ctx, &cp, rest.iter().any(|a| a == "--write"))
        }
        "bench" => bench(ctx),
        _ => {
            eprintln!("{HELP}");
            if cmd == "help" {
                Ok(())
            } else {
                Err(format!("unknown command `{cmd}`"))
            }
        }
    }
}

/// The real-Spark part of `cargo xtask test`; returns (passed, failed) counts.
///
/// Runs the scenarios listed in `reference/test-scenarios.txt` (the file says why the others are left out; they are
/// reported as not run and counted neither way).
pub fn test_stage(ctx: &Ctx) -> Result<(u32, u32), String> {
    let list = ctx.root.join("reference").join("test-scenarios.txt");
    let text = fs::read_to_string(&list).map_err(|e| format!("{}: {e}", list.display()))?;
    // `<file>` runs in the main lane, `<file> beside` in a second lane next to it (a scenario that mostly waits on a
    // wall-clock Kafka timeout, so that its minutes overlap the others')
    // `<file> [beside] handoff`: a Structured Streaming scenario whose every restart real Spark makes from the
    // checkpoint the engine wrote (see `handoff_checkpoints`)
    let mut beside = Vec::new();
    let mut files: Vec<(PathBuf, bool)> = Vec::new();
    for l in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        match l.split_whitespace().collect::<Vec<_>>()[..] {
            [f] => files.push((ctx.root.join(f), false)),
            [f, "beside"] => beside.push((ctx.root.join(f), false)),
            [f, "handoff"] => files.push((ctx.root.join(f), true)),
            [f, "beside", "handoff"] => beside.push((ctx.root.join(f), true)),
            _ => {
                return Err(format!(
                    "{}: cannot read the line `{l}` (`<file>`, `<file> beside`, `<file> handoff` or `<file> beside handoff`)",
                    list.display()
                ))
            }
        }
    }
    let listed: Vec<PathBuf> = files.iter().chain(&beside).map(|(f, _)| f.clone()).collect();
    if files.is_empty() {
        return Err(format!("no scenarios listed in {}", list.display()));
    }
    if let Some(missing) = listed.iter().find(|f| !f.is_file()) {
        return Err(format!("{} lists {}, which does not exist", list.display(), missing.display()));
    }
    if let Ok(all) = fs::read_dir(ctx.root.join("scenarios")) {
        let mut left: Vec<String> = all
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml") && !listed.contains(p))
            .map(|p| p.display().to_string())
            .collect();
        left.sort();
        for p in left {
            eprintln!("reference: not run (see reference/test-scenarios.txt): {p}");
        }
    }
    // the JVM judges the engine's collection-order fixture first (a second or two), then the scenarios
    let order = build(ctx).and_then(|cp| collection_order(ctx, &cp, false));
    if let Err(e) = &order {
        eprintln!("reference: FAILED collection order: {e}");
    }
    let (p, f) = check_lanes(ctx, &files, &beside)?;
    Ok(if order.is_ok() { (p + 1, f) } else { (p, f + 1) })
}

fn check_all(ctx: &Ctx, files: &[PathBuf]) -> Result<(u32, u32), String> {
    check_lanes(ctx, &files.iter().map(|f| (f.clone(), false)).collect::<Vec<_>>(), &[])
}

/// Runs `main` one at a time and, beside them, `beside` one at a time. The scenario clock waits for Spark, so a
/// second lane makes runs slower, never different (docs/reference-harness.md).
fn check_lanes(ctx: &Ctx, main: &[(PathBuf, bool)], beside: &[(PathBuf, bool)]) -> Result<(u32, u32), String> {
    let started = Instant::now();
    let cp = build(ctx)?;
    kafka::ensure_started(ctx)?;
    let (a, b) = std::thread::scope(|s| {
        let second = s.spawn(|| check_lane(ctx, &cp, beside));
        let first = check_lane(ctx, &cp, main);
        (first, second.join().unwrap_or((0, beside.len() as u32)))
    });
    let (passed, failed) = (a.0 + b.0, a.1 + b.1);
    eprintln!("reference: {passed} passed, {failed} failed in {:.0} s", started.elapsed().as_secs_f64());
    Ok((passed, failed))
}

fn check_lane(ctx: &Ctx, cp: &str, files: &[(PathBuf, bool)]) -> (u32, u32) {
    let scale = std::env::var("OFFSET_LAB_REFERENCE_SCALE").ok();
    let (mut passed, mut failed) = (0, 0);
    for (f, handoff) in files {
        let t = Instant::now();
        step(&format!(
            "reference: {}{} on real Spark",
            f.display(),
            if *handoff { " (restarts from the engine's checkpoints)" } else { "" }
        ));
        let mut out = run_dir(ctx, f);
        if *handoff {
            out.set_file_name(format!("{}-handoff", out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()));
        }
        let verdict = (if *handoff { handoff_checkpoints(ctx, f, &out) } else { Ok(None) })
            .and_then(|engine_ckpts| run_spark_with(ctx, cp, f, &out, scale.as_deref(), None, engine_ckpts.as_deref()))
            .and_then(|_| engine_trace(ctx, f, &out.join("engine.jsonl")))
            .and_then(|engine| diff(ctx, cp, &out, &engine, f));
        match verdict {
            Ok(true) => passed += 1,
            Ok(false) => failed += 1,
            Err(e) => {
                eprintln!("reference: {}: {e}", f.display());
                failed += 1
            }
        }
        eprintln!("reference: {} took {:.0} s", f.display(), t.elapsed().as_secs_f64());
    }
    (passed, failed)
}

fn split_opts(args: &[String]) -> (Vec<String>, std::collections::BTreeMap<String, String>) {
    let mut files = Vec::new();
    let mut opts = std::collections::BTreeMap::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if let Some(k) = a.strip_prefix("--") {
            opts.insert(k.to_string(), it.next().cloned().unwrap_or_default());
        } else {
            files.push(a.clone());
        }
    }
    (files, opts)
}

fn spark_dir(ctx: &Ctx) -> PathBuf {
    ctx.root.join("reference").join("spark")
}

fn run_dir(ctx: &Ctx, scenario: &Path) -> PathBuf {
    let mut stem = scenario.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "scenario".into());
    // scenarios/structured/reset-ignored.toml must not share scenarios/reset-ignored.toml's run folder (the lanes run side by side)
    if scenario.parent().and_then(Path::file_name).is_some_and(|d| d == "structured") {
        stem = format!("structured-{stem}");
    }
    ctx.root.join("target").join(if spark4() { "reference-spark4" } else { "reference" }).join(stem)
}

/// `OFFSET_LAB_SPARK=4` builds and runs the harness on Spark 4.2 (`-Pspark4`, classes in `target-spark4/`);
/// anything else, or nothing, is Spark 3.5.1, the one `cargo xtask test` judges with.
fn spark4() -> bool {
    std::env::var("OFFSET_LAB_SPARK").is_ok_and(|v| v.trim() == "4")
}

/// Compiles the harness and returns the job/driver classpath (classes + Maven's resolved jars).
fn build(ctx: &Ctx) -> Result<String, String> {
    let dir = spark_dir(ctx);
    let (profile, target): (&[&str], &str) = if spark4() { (&["-Pspark4"], "target-spark4") } else { (&[], "target") };
    step(&format!("reference: mvn compile (reference/spark, Spark {})", if spark4() { "4.2.0" } else { "3.5.1" }));
    let offline = Command::new("mvn").args(["-q", "-o", "compile"]).args(profile).current_dir(&dir).status();
    let ok = matches!(offline, Ok(s) if s.success());
    if !ok {
        // first use on this machine: let Maven resolve Spark from Central into ~/.m2
        let s = Command::new("mvn")
            .args(["-q", "compile"])
            .args(profile)
            .current_dir(&dir)
            .status()
            .map_err(|e| format!("cannot run mvn: {e}"))?;
        if !s.success() {
            return Err(format!("mvn compile failed in {}", dir.display()));
        }
    }
    let jars = fs::read_to_string(dir.join(target).join("classpath.txt")).map_err(|e| format!("{target}/classpath.txt: {e}"))?;
    // Runs use a jar snapshot of this build, so a rebuild meanwhile cannot change classes under running JVMs.
    let snap_dir = ctx.root.join("target").join("reference");
    fs::create_dir_all(&snap_dir).map_err(|e| format!("{}: {e}", snap_dir.display()))?;
    let snap = snap_dir.join(format!("harness-{}.jar", std::process::id()));
    let s = Command::new("jar")
        .arg("cf")
        .arg(&snap)
        .arg("-C")
        .arg(dir.join(target).join("classes"))
        .arg(".")
        .status()
        .map_err(|e| format!("cannot run jar: {e}"))?;
    if !s.success() {
        return Err("jar (snapshot of the harness classes) failed".into());
    }
    Ok(format!("{}:{}", snap.display(), jars.trim()))
}

fn tools_log4j(ctx: &Ctx) -> Result<PathBuf, String> {
    let path = ctx.root.join("target").join("reference").join("tools-log4j2.properties");
    fs::create_dir_all(path.parent().unwrap()).map_err(|e| e.to_string())?;
    // Kafka's tools print their clamping warnings (WARN) to stderr; the driver records them as tool output.
    fs::write(
        &path,
        "status = warn\nappender.err.type = Console\nappender.err.name = STDERR\nappender.err.target = SYSTEM_ERR\n\
         appender.err.layout.type = PatternLayout\nappender.err.layout.pattern = %p %m%n\n\
         rootLogger.level = warn\nrootLogger.appenderRef.err.ref = STDERR\n",
    )
    .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

/// `java … <main>` with the options every driver run needs: this checkout's broker (`OFFSET_LAB_KAFKA_PORT`),
/// Kafka's jars for its tools, the job's classpath.
fn driver_command(ctx: &Ctx, cp: &str, main: &str) -> Result<Command, String> {
    let kafka_cp = kafka::java_classpath(ctx)?;
    let mut c = Command::new("java");
    c.args(["-Xmx512m", "-XX:+UseSerialGC", "-cp", cp, main])
        .arg("--bootstrap")
        .arg(kafka::bootstrap())
        .arg("--kafka-classpath")
        .arg(&kafka_cp)
        .arg("--kafka-log4j")
        .arg(tools_log4j(ctx)?)
        .arg("--job-classpath")
        .arg(cp)
        .arg("--variant-src")
        .arg(spark_dir(ctx).join("src/variant/offsetlab/StateSum.java"));
    Ok(c)
}

/// Runs one scenario on real Spark; Ok(false) when an `expect` step failed there.
fn run_spark(ctx: &Ctx, cp: &str, scenario: &Path, out: &Path, scale: Option<&str>, codec: Option<&str>) -> Result<bool, String> {
    run_spark_with(ctx, cp, scenario, out, scale, codec, None)
}

/// `run_spark`, and with `engine_ckpts` (from [`handoff_checkpoints`]) every restart of a Structured Streaming
/// scenario starts from the checkpoint the engine wrote up to that step (`OFFSET_LAB_ENGINE_CHECKPOINTS`).
fn run_spark_with(
    ctx: &Ctx,
    cp: &str,
    scenario: &Path,
    out: &Path,
    scale: Option<&str>,
    codec: Option<&str>,
    engine_ckpts: Option<&Path>,
) -> Result<bool, String> {
    let mut c = driver_command(ctx, cp, "offsetlab.Driver")?;
    if let Some(d) = engine_ckpts {
        c.env("OFFSET_LAB_ENGINE_CHECKPOINTS", d);
    }
    c.arg("--scenario").arg(scenario).arg("--out").arg(out);
    if let Some(s) = scale {
        c.arg("--scale").arg(s);
    }
    if let Some(k) = codec {
        c.arg("--codec").arg(k);
    }
    let status = c.status().map_err(|e| format!("cannot run java: {e}"))?;
    match status.code() {
        Some(0) => Ok(true),
        Some(1) => Ok(false),
        _ => Err(format!("scenario driver failed ({status}); see {}", out.join("driver.log").display())),
    }
}

/// The engine's trace of the same scenario, from the lead's CLI.
fn engine_trace(ctx: &Ctx, scenario: &Path, dest: &Path) -> Result<PathBuf, String> {
    let out = Command::new("cargo")
        .args(["run", "-q", "-p", "scenario", "--bin", "offset-lab", "--", "run", "--trace"])
        .arg(scenario)
        .current_dir(&ctx.root)
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !out.status.success() {
        return Err(format!("offset-lab run --trace {} failed: {}", scenario.display(), String::from_utf8_lossy(&out.stderr)));
    }
    fs::write(dest, &out.stdout).map_err(|e| format!("{}: {e}", dest.display()))?;
    Ok(dest.to_path_buf())
}

/// Ok(true) when every difference is a known one (reference/known-differences.txt).
fn diff(ctx: &Ctx, cp: &str, run: &Path, engine: &Path, scenario: &Path) -> Result<bool, String> {
    let status = Command::new("java")
        .args(["-Xmx256m", "-XX:+UseSerialGC", "-cp", cp, "offsetlab.Diff"])
        .arg("--run")
        .arg(run)
        .arg("--engine")
        .arg(engine)
        .arg("--scenario")
        .arg(scenario)
        .arg("--known")
        .arg(ctx.root.join("reference").join("known-differences.txt"))
        .status()
        .map_err(|e| format!("cannot run java: {e}"))?;
    match status.code() {
        Some(0) => Ok(true),
        Some(1) => Ok(false),
        _ => Err(format!("trace diff failed ({status})")),
    }
}

/// The committed fixture `crates/engine`'s order test recomputes (`crates/engine/tests/scala_order.rs`).
fn order_fixture(ctx: &Ctx) -> PathBuf {
    ctx.root.join("crates/engine/tests/fixtures/collection-order.jsonl")
}

/// `offsetlab.CollectionOrder` prints the JVM's iteration orders (Java 17, Scala 2.13, kafka-clients'
/// `TopicPartition`); they must equal the committed fixture the engine's test reads, so that a fixture edited by
/// hand, or a JVM that orders differently, fails here. `write` rewrites the fixture instead.
fn collection_order(ctx: &Ctx, cp: &str, write: bool) -> Result<(), String> {
    let out = Command::new("java")
        .args(["-Xmx256m", "-XX:+UseSerialGC", "-cp", cp, "offsetlab.CollectionOrder"])
        .output()
        .map_err(|e| format!("cannot run java: {e}"))?;
    if !out.status.success() {
        return Err(format!("offsetlab.CollectionOrder failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    let jvm = String::from_utf8_lossy(&out.stdout).into_owned();
    let path = order_fixture(ctx);
    if write {
        fs::create_dir_all(path.parent().unwrap()).map_err(|e| e.to_string())?;
        fs::write(&path, &jvm).map_err(|e| format!("{}: {e}", path.display()))?;
        println!("wrote {} ({} orders)", path.display(), jvm.lines().count());
        return Ok(());
    }
    let committed = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let differ: Vec<(usize, &str, &str)> =
        jvm.lines().zip(committed.lines()).enumerate().filter(|(_, (a, b))| a != b).map(|(i, (a, b))| (i + 1, a, b)).collect();
    if let Some((line, a, b)) = differ.first() {
        return Err(format!(
            "{}: line {line} differs from the JVM ({} line(s) differ)\n  JVM:     {a}\n  fixture: {b}",
            path.display(),
            differ.len()
        ));
    }
    if jvm.lines().count() != committed.lines().count() {
        return Err(format!("{}: {} lines, the JVM prints {}", path.display(), committed.lines().count(), jvm.lines().count()));
    }
    println!("collection order: the JVM's {} orders equal {}", jvm.lines().count(), path.display());
    Ok(())
}

/// Real checkpoint files for the decoder's tests (what `crates/spark-checkpoint`'s own generator does not cover:
/// `updateStateByKey` state references, jobs that failed after a restart): run a harness scenario, then
/// `Fixtures` copies the newest files and writes what Spark itself deserialized next to them.
fn fixtures(ctx: &Ctx) -> Result<(), String> {
    let cp = build(ctx)?;
    kafka::ensure_started(ctx)?;
    let dest = ctx.root.join("crates/spark-checkpoint/fixtures/spark");
    let scen = ctx.root.join("reference/scenarios");
    let version = if spark4() { "spark420" } else { "spark351" };
    for (kind, file, codec) in [
        ("lz4-subscribe-state", "ref-reset-ignored.toml", "lz4"),
        ("zstd-subscribe-state", "ref-reset-ignored.toml", "zstd"),
        ("lz4-assign-after-failed-jobs", "ref-assign-kill-delete-records.toml", "lz4"),
    ] {
        let name = format!("harness-{version}-{kind}");
        let name = name.as_str();
        let out = run_dir(ctx, Path::new("fixtures")).join(name);
        step(&format!("reference: fixture {name}"));
        // expectations may fail on a slow machine; the files are what Spark wrote either way
        run_spark(ctx, &cp, &scen.join(file), &out, None, Some(codec))?;
        copy_fixture(&cp, &out.join("storage/ckpt"), &dest.join(name), codec)?;
    }
    Ok(())
}

fn copy_fixture(cp: &str, ckpt: &Path, dest: &Path, codec: &str) -> Result<(), String> {
    let s = Command::new("java")
        .args(["-Xmx256m", "-cp", cp, "org.apache.spark.streaming.offsetlab.Fixtures"])
        .arg("--ckpt")
        .arg(ckpt)
        .arg("--dest")
        .arg(dest)
        .arg("--codec")
        .arg(codec)
        .arg("--files")
        .arg("2")
        .status()
        .map_err(|e| format!("cannot run java: {e}"))?;
    if s.success() {
        Ok(())
    } else {
        Err(format!("fixture {}: copying failed", dest.display()))
    }
}

/// `cargo xtask reference bench`: the engine benchmark's workloads (`offset-lab bench`, `bench-records`) on real Spark,
/// in the same run, as ratios. Spark runs them through the scenario driver with `--pace fast` (`offsetlab.Bench`): the
/// scenario clock moves on as soon as a batch is done, so a batch's wall time is Spark's processing time.
fn bench(ctx: &Ctx) -> Result<(), String> {
    const RECORDS: &str = "100000";
    const PARTITIONS: [&str; 2] = ["1", "10"];
    const EMPTY: &str = "40";
    let cp = build(ctx)?;
    kafka::ensure_started(ctx)?;
    step("building the offset-lab CLI (release)");
    let mut c = crate::util::cargo(&ctx.root);
    c.args(["build", "-q", "--release", "-p", "scenario", "--bin", "offset-lab"]);
    crate::util::run(&mut c)?;
    let bin = ctx.root.join("target/release/offset-lab");
    let out = |c: &mut Command| -> Result<String, String> {
        let o = c.output().map_err(|e| format!("{c:?}: {e}"))?;
        if !o.status.success() {
            return Err(format!("{c:?} failed: {}", String::from_utf8_lossy(&o.stderr)));
        }
        Ok(String::from_utf8_lossy(&o.stdout).into_owned())
    };

    step("the engine (native, release): empty batches and one batch of 100 000 records");
    let engine_text = out(Command::new(&bin).arg("bench"))?;
    // "empty batches (…): N batches, X µs per batch"
    let engine_empty_us: f64 = engine_text
        .lines()
        .find(|l| l.starts_with("empty batches"))
        .and_then(|l| l.rsplit(", ").next())
        .and_then(|l| l.split_whitespace().next())
        .and_then(|x| x.parse().ok())
        .ok_or("offset-lab bench printed no empty-batch figure")?;
    let mut engine_records = Vec::new();
    for p in PARTITIONS {
        let secs: f64 =
            out(Command::new(&bin).args(["bench-records", p, RECORDS]))?.trim().parse().map_err(|e| format!("bench-records: {e}"))?;
        engine_records.push(secs);
    }

    step("real Spark 3.5.1 (local[2]) on the same workloads, through the scenario driver (--pace fast)");
    let dir = ctx.root.join("target/reference/bench");
    let mut c = driver_command(ctx, &cp, "offsetlab.Bench")?;
    c.arg("--out").arg(&dir).args(["--records", RECORDS, "--partitions", &PARTITIONS.join(","), "--empty", EMPTY]);
    let spark_text = out(&mut c)?;
    let figure = |kind: &str, p: Option<&str>, field: &str| -> Option<f64> {
        spark_text
            .lines()
            .find(|l| l.contains(&format!("\"kind\":\"{kind}\"")) && p.is_none_or(|p| l.contains(&format!("\"partitions\":{p},"))))
            .and_then(|l| l.split(&format!("\"{field}\":")).nth(1))
            .and_then(|v| v.trim_start_matches('"').split(['"', ',', '}']).next())
            .and_then(|v| v.parse().ok())
    };

    let load = fs::read_to_string("/proc/loadavg").ok().and_then(|l| l.split_whitespace().next().map(String::from)).unwrap_or_default();
    println!("\nReal Spark vs the engine (figures, not tests; load average {load}; both measured in this run)\n");
    println!("per-batch overhead, empty batches (3 partitions, checkpointing on, generation + both jobs + both checkpoints):");
    match figure("empty", None, "msPerBatch") {
        Some(ms) => println!(
            "  Spark {ms:.1} ms per batch, engine {engine_empty_us:.1} µs per batch: Spark/engine {:.0}x",
            ms * 1000.0 / engine_empty_us
        ),
        None => println!("  Spark: no figure ({})", spark_text.lines().find(|l| l.contains("\"empty\"")).unwrap_or("no output")),
    }
    println!("\nrecords/s, one batch of {RECORDS} records (1 000 keys) through map → updateStateByKey, print, commitAsync:");
    println!("  {:>10}  {:>12}  {:>12}  {:>12}", "partitions", "Spark rec/s", "engine rec/s", "engine/Spark");
    let n: f64 = RECORDS.parse().unwrap();
    for (p, engine) in PARTITIONS.iter().zip(&engine_records) {
        match figure("records", Some(p), "seconds") {
            Some(spark) => println!("  {p:>10}  {:>12.0}  {:>12.0}  {:>11.1}x", n / spark, n / engine, spark / engine),
            None => println!(
                "  {p:>10}  no Spark figure: {}",
                spark_text.lines().find(|l| l.contains(&format!("\"partitions\":{p},"))).unwrap_or("no output")
            ),
        }
    }
    println!("  (Spark: from the scenario clock reaching the batch to its batchCompleted, second batch of a warm JVM, records");
    println!("   already in Kafka; engine: `offset-lab bench-records`, best of 3, which also produces into its in-memory Kafka)");
    Ok(())
}

/// For each `start` step of `scenario` after its first, the checkpoint the engine writes when it runs the steps before
/// it: `offset-lab run --dir <out>/engine-checkpoints/step-<n>` of the scenario cut before step n (its `[[chapter]]`
/// tables left out). Returns the folder the driver reads them from (`step-<n>/<scenario name>/<checkpoint_dir>`).
fn handoff_checkpoints(ctx: &Ctx, scenario: &Path, out: &Path) -> Result<Option<PathBuf>, String> {
    let text = fs::read_to_string(scenario).map_err(|e| format!("{}: {e}", scenario.display()))?;
    let root = out.with_file_name(format!("{}-engine-checkpoints", out.file_name().map(|n| n.to_string_lossy()).unwrap_or_default()));
    let _ = fs::remove_dir_all(&root);
    fs::create_dir_all(&root).map_err(|e| format!("{}: {e}", root.display()))?;
    let blocks = toml_blocks(&text);
    let steps: Vec<usize> = blocks.iter().enumerate().filter(|(_, (h, _))| h == "[[step]]").map(|(i, _)| i).collect();
    let starts: Vec<usize> = steps
        .iter()
        .enumerate()
        .filter(|(_, b)| blocks[**b].1.lines().any(|l| l.split('#').next().unwrap_or("").replace(' ', "") == "do=\"start\""))
        .map(|(n, _)| n)
        .collect();
    for &n in starts.iter().skip(1) {
        // the scenario up to (not including) step n, without chapters (they may name later steps)
        let cut: String = blocks[..steps[n]].iter().filter(|(h, _)| h != "[[chapter]]").map(|(_, b)| b.as_str()).collect();
        let file = root.join(format!("step-{}.toml", n + 1));
        fs::write(&file, cut).map_err(|e| format!("{}: {e}", file.display()))?;
        let dir = root.join(format!("step-{}", n + 1));
        let o = Command::new("cargo")
            .args(["run", "-q", "-p", "scenario", "--bin", "offset-lab", "--", "run", "--dir"])
            .arg(&dir)
            .arg(&file)
            .current_dir(&ctx.root)
            .output()
            .map_err(|e| format!("cannot run cargo: {e}"))?;
        if !o.status.success() {
            return Err(format!(
                "offset-lab run --dir {} {} failed: {}",
                dir.display(),
                file.display(),
                String::from_utf8_lossy(&o.stderr)
            ));
        }
    }
    Ok(Some(root))
}

/// A TOML file cut at its `[[…]]` headers: (header, the block's text with the header), the text before the first as
/// header "". Enough for scenario files, whose steps and chapters are `[[step]]` / `[[chapter]]` tables.
fn toml_blocks(text: &str) -> Vec<(String, String)> {
    let mut blocks = vec![(String::new(), String::new())];
    for line in text.split_inclusive('\n') {
        let t = line.trim();
        if t.starts_with("[[") && t.ends_with("]]") {
            blocks.push((t.to_string(), String::new()));
        }
        blocks.last_mut().expect("one block at least").1.push_str(line);
    }
    blocks
}
