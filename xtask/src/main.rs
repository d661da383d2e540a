//! `cargo xtask <task>`: the project's own set-up, demo, test and benchmark commands.

mod kafka;
mod reference;
mod util;

use std::path::PathBuf;

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
        "test" => test(&ctx, rest),
        "kafka" => kafka::cli(&ctx, rest),
        "reference" => reference::cli(&ctx, rest),
        "bench" => bench(&ctx, rest),
        _ => {
            eprintln!("{}", HELP);
            if task == "help" { Ok(()) } else { Err(format!("unknown task `{task}`")) }
        }
    };
    if let Err(e) = result {
        eprintln!("xtask {task}: error: {e}");
        std::process::exit(1);
    }
}

const HELP: &str = "usage: cargo xtask <task>
  demo        build everything and run the demo
  test        run every test (what CI runs)
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

fn demo(_ctx: &Ctx, _args: &[String]) -> Result<(), String> {
    Err("demo: not wired yet".into())
}

fn test(_ctx: &Ctx, _args: &[String]) -> Result<(), String> {
    Err("test: not wired yet".into())
}

fn bench(_ctx: &Ctx, _args: &[String]) -> Result<(), String> {
    Err("bench: not wired yet".into())
}
