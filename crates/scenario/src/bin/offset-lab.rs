//! `offset-lab`: run scenarios headless and print what Spark would do, batch by batch.

use checkpoint_dir::CheckpointDir;
use scenario::{format, table};
use std::process::ExitCode;

const USAGE: &str = "usage:
  offset-lab run <scenario.toml>... [--trace] [--dir <checkpoint-root>] [--bootstrap <host:port>]
      run against the in-memory Kafka model; prints a readable table per step,
      or the JSON-lines trace with --trace (schema: docs/trace.md).
      --dir keeps checkpoint files in a real directory (default: in memory).
      --bootstrap runs against a real Kafka, in real time (build with --features real-kafka);
      the scenario's topics are deleted and re-created first.
      Exits 1 when an `expect` step fails, 2 on a bad scenario file.
  offset-lab check <scenario.toml>...   parse and check files only
  offset-lab bench                      print benchmark figures";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("run") => run(&args[1..]),
        Some("check") => check(&args[1..]),
        Some("bench") => {
            scenario_bench();
            ExitCode::SUCCESS
        }
        // The records workload alone, best of 3, in seconds: what `cargo xtask bench` compares with WASM.
        Some("bench-records") => match (args.get(1).and_then(|p| p.parse().ok()), args.get(2).and_then(|n| n.parse().ok())) {
            (Some(p), Some(n)) => {
                let best = (0..3)
                    .map(|_| {
                        let t = std::time::Instant::now();
                        assert_eq!(scenario::bench::records_batch(p, n), n as i64);
                        t.elapsed().as_secs_f64()
                    })
                    .fold(f64::INFINITY, f64::min);
                println!("{best:.6}");
                ExitCode::SUCCESS
            }
            _ => {
                eprintln!("usage: offset-lab bench-records <partitions> <records>");
                ExitCode::from(2)
            }
        },
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn load(path: &str) -> Result<format::Scenario, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    format::parse(path, &text)
}

fn check(files: &[String]) -> ExitCode {
    let mut bad = 0;
    for f in files {
        match load(f) {
            Ok(s) => println!("{f}: ok ({} steps)", s.steps.len()),
            Err(e) => {
                eprintln!("{e}");
                bad += 1;
            }
        }
    }
    if bad == 0 && !files.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    }
}

fn run(args: &[String]) -> ExitCode {
    let mut files = Vec::new();
    let (mut trace, mut dir, mut bootstrap) = (false, None, None);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--trace" => trace = true,
            "--bootstrap" => match it.next() {
                Some(b) => bootstrap = Some(b.clone()),
                None => {
                    eprintln!("--bootstrap needs host:port\n{USAGE}");
                    return ExitCode::from(2);
                }
            },
            "--dir" => match it.next() {
                Some(d) => dir = Some(d.clone()),
                None => {
                    eprintln!("--dir needs a directory\n{USAGE}");
                    return ExitCode::from(2);
                }
            },
            f if !f.starts_with("--") => files.push(f.to_string()),
            other => {
                eprintln!("unknown option {other}\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    if files.is_empty() {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    }
    let mut failed = false;
    for f in &files {
        let s = match load(f) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::from(2);
            }
        };
        let storage: Box<dyn engine::storage::Storage> = match &dir {
            Some(d) => Box::new(CheckpointDir::new(std::path::Path::new(d).join(&s.name))),
            None => Box::new(engine::storage::MemoryStorage::default()),
        };
        let outcome = match &bootstrap {
            // `[job] api = "structured"`: crates/structured's engine (scenario::structured)
            None if s.structured.is_some() => scenario::structured::run_with(&s, storage).map(|run| report_structured(&s, &run, trace)),
            Some(_) if s.structured.is_some() => {
                Err("Structured Streaming scenarios run against the in-memory model only (no --bootstrap yet)".into())
            }
            None => scenario::run_with(&s, storage).map(|run| report(&s, &run.trace, &run.log, &run.failures, trace)),
            Some(b) => run_real(&s, storage, b, trace),
        };
        match outcome {
            Ok(ok) => failed |= !ok,
            Err(e) => {
                eprintln!("{f}: {e}");
                return ExitCode::from(2);
            }
        }
    }
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Prints a finished run; true when every expectation was met.
fn report(
    s: &format::Scenario,
    trace_lines: &[engine::trace::TraceLine],
    log: &[scenario::runner::LogEntry],
    failures: &[String],
    trace: bool,
) -> bool {
    if trace {
        for l in trace_lines {
            println!("{}", l.to_json());
        }
    } else {
        print!("{}", table::render(&format!("═══ {} — {}", s.name, s.title), log));
    }
    for fail in failures {
        eprintln!("✗ {fail}");
    }
    if failures.is_empty() {
        eprintln!("{}: all expectations met", s.name);
    }
    failures.is_empty()
}

/// Prints a finished Structured Streaming run; true when every expectation was met.
fn report_structured(s: &format::Scenario, run: &scenario::structured::StructuredRun<'_>, trace: bool) -> bool {
    if trace {
        print!("{}", scenario::structured::trace_jsonl(run));
    } else {
        println!("═══ {} — {}", s.name, s.title);
        for l in &run.log {
            println!("{l}");
        }
    }
    for fail in &run.failures {
        eprintln!("✗ {fail}");
    }
    if run.failures.is_empty() {
        eprintln!("{}: all expectations met", s.name);
    }
    run.failures.is_empty()
}

#[cfg(feature = "real-kafka")]
fn run_real(s: &format::Scenario, storage: Box<dyn engine::storage::Storage>, bootstrap: &str, trace: bool) -> Result<bool, String> {
    let topics: Vec<String> = s.topics.iter().map(|t| t.0.clone()).collect();
    let kafka = scenario::real::RealKafka::connect(bootstrap, &topics, s.job.group_id())?;
    let mut run = scenario::runner::Run::with_kafka(s, storage, kafka)?;
    run.run_all();
    // A driver still running at the end leaves the group, so the next run does not wait for it.
    run.stop_if_running();
    Ok(report(s, &run.trace, &run.log, &run.failures, trace))
}

#[cfg(not(feature = "real-kafka"))]
fn run_real(_: &format::Scenario, _: Box<dyn engine::storage::Storage>, _: &str, _: bool) -> Result<bool, String> {
    Err("this build has no real-Kafka support: build with `cargo run -p scenario --features real-kafka --bin offset-lab`".into())
}

fn scenario_bench() {
    scenario::bench::print_all();
}
