//! `spark-checkpoint inspect <file-or-directory> [--json] [--tree] [--facts f.json | --bootstrap host:port]`:
//! read Spark checkpoints without a JVM, and predict what a restart from them will do.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use serde_json::json;
use spark_checkpoint::predict::{self, Facts};
use spark_checkpoint::spark::Checkpoint;
use spark_checkpoint::{inspect, inspect_directory, text, Limits};

#[cfg(feature = "live")]
mod live;
mod structured_cli;

const USAGE: &str =
    "usage: spark-checkpoint inspect <checkpoint-file-or-directory> [--json] [--tree] [--facts <facts.json> | --bootstrap <host:port>]
  a directory: every checkpoint-<ms>[.bk] newest first, in Spark's reader order, the restart pick marked
  --json       machine-readable output
  --tree       with --json, add the raw Java object tree of each file
  --facts      predict what a restart does against these live facts (log start/end, committed offsets, group
               state; format in docs/spark-checkpoint.md)
  --bootstrap  the same against a live Kafka (built with --features live)
  a Structured Streaming checkpoint folder (metadata, offsets/, commits/, sources/) is recognised: its batches,
  commit state and next batch, and with --facts/--bootstrap whether a restart loses data or fails
  (failOnDataLoss true and false) and the ways out
  --option k=v the query's source option (maxOffsetsPerTrigger, subscribePattern, …; repeatable)";

/// Where the live facts come from.
pub(crate) enum FactsFrom {
    None,
    File(String),
    Bootstrap(String),
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let json = args.iter().any(|a| a == "--json");
    let tree = args.iter().any(|a| a == "--tree");
    let value = |flag: &str| args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1)).cloned();
    let facts_from = match (value("--facts"), value("--bootstrap")) {
        (Some(f), None) => FactsFrom::File(f),
        (None, Some(b)) => FactsFrom::Bootstrap(b),
        (None, None) => FactsFrom::None,
        (Some(_), Some(_)) => {
            eprintln!("--facts and --bootstrap are exclusive\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let mut rest = Vec::new();
    let mut skip = false;
    for a in &args {
        if std::mem::take(&mut skip) {
            continue;
        }
        if a == "--facts" || a == "--bootstrap" || a == "--option" {
            skip = true;
        } else if !a.starts_with("--") {
            rest.push(a);
        }
    }
    match rest.as_slice() {
        [cmd, path] if cmd.as_str() == "inspect" => {
            let mut out = String::new();
            let options: Vec<(String, String)> = args
                .windows(2)
                .filter(|w| w[0] == "--option")
                .filter_map(|w| w[1].split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
                .collect();
            let code = if Path::new(path).is_dir() && structured_cli::is_structured(Path::new(path)) {
                structured_cli::run(Path::new(path), json, &facts_from, &options, &mut out)
            } else {
                run(Path::new(path), json, tree, &facts_from, &mut out)
            };
            // One write, errors ignored: `| head` closing the pipe is not a failure of ours.
            let _ = std::io::stdout().write_all(out.as_bytes());
            code
        }
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

impl FactsFrom {
    /// The facts of these topics and groups, or the reason there are none (printed, exit code 1); `None` when
    /// no facts were asked for. One loader for both APIs' checkpoints.
    pub(crate) fn load(&self, topics: BTreeSet<String>, groups: BTreeSet<String>) -> Option<Result<Facts, String>> {
        match self {
            FactsFrom::None => None,
            FactsFrom::File(f) => Some(
                std::fs::read_to_string(f)
                    .map_err(|e| format!("{f}: {e}"))
                    .and_then(|s| serde_json::from_str(&s).map_err(|e| format!("{f}: not a facts file: {e}"))),
            ),
            #[cfg(feature = "live")]
            FactsFrom::Bootstrap(b) => Some(live::facts_for(b, topics, groups)),
            #[cfg(not(feature = "live"))]
            FactsFrom::Bootstrap(b) => {
                let _ = (topics, groups);
                Some(Err(format!("--bootstrap {b} needs the live feature: cargo run -p spark-checkpoint --features live -- inspect ...")))
            }
        }
    }
}

/// Appends the prediction (text, or the `prediction` key of `v`); false when the facts could not be had.
fn prediction(cp: &Checkpoint, from: &FactsFrom, json: Option<&mut serde_json::Value>, out: &mut String) -> bool {
    let (topics, groups) = predict::wanted(cp);
    let Some(facts) = from.load(topics, groups) else { return true };
    match facts {
        Ok(facts) => {
            let p = predict::predict(cp, &facts);
            match json {
                Some(v) => v["prediction"] = serde_json::to_value(&p).unwrap_or_default(),
                None => {
                    let _ = write!(out, "\n{}", predict::text(&p));
                }
            }
            true
        }
        Err(e) => {
            eprintln!("{e}");
            false
        }
    }
}

fn run(path: &Path, json: bool, tree: bool, facts: &FactsFrom, out: &mut String) -> ExitCode {
    let limits = Limits::default();
    if path.is_dir() {
        return directory(path, json, tree, facts, &limits, out);
    }
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{}: {e}", path.display());
            return ExitCode::from(1);
        }
    };
    let name = path.file_name().and_then(|n| n.to_str());
    match inspect(name, &bytes, &limits) {
        Ok(ins) => {
            if json {
                let mut v = serde_json::to_value(&ins).unwrap_or_default();
                if tree {
                    v["rawTree"] = ins.raw_tree(&limits);
                }
                if !prediction(&ins.checkpoint, facts, Some(&mut v), out) {
                    return ExitCode::from(1);
                }
                let _ = writeln!(out, "{}", serde_json::to_string_pretty(&v).unwrap_or_default());
            } else {
                let _ = writeln!(out, "{}", path.display());
                let _ = write!(out, "{}", text::summary(&ins));
                if !prediction(&ins.checkpoint, facts, None, out) {
                    return ExitCode::from(1);
                }
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            if json {
                let _ = writeln!(out, "{}", json!({ "file": path.display().to_string(), "error": e.to_string() }));
            } else {
                eprintln!("{}: {e}", path.display());
            }
            ExitCode::from(1)
        }
    }
}

fn directory(dir: &Path, json: bool, tree: bool, facts: &FactsFrom, limits: &Limits, out: &mut String) -> ExitCode {
    let mut files = Vec::new();
    let listing = match std::fs::read_dir(dir) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{}: {e}", dir.display());
            return ExitCode::from(1);
        }
    };
    for entry in listing.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        // Only checkpoint files and their Hadoop .crc sidecars are read; rdd dirs, temp, ... are skipped.
        let sidecar = name.strip_prefix('.').and_then(|n| n.strip_suffix(".crc"));
        let wanted = spark_checkpoint::files::CheckpointName::parse(&name).is_some()
            || sidecar.is_some_and(|n| spark_checkpoint::files::CheckpointName::parse(n).is_some());
        if wanted && entry.path().is_file() {
            if let Ok(bytes) = std::fs::read(entry.path()) {
                files.push((name, bytes));
            }
        }
    }
    let entries = inspect_directory(files.iter().map(|(n, b)| (n.as_str(), b.as_slice())), limits);
    let picked = entries.iter().any(|e| e.restart_pick);
    if json {
        let list: Vec<_> = entries
            .iter()
            .map(|e| {
                let mut v = serde_json::to_value(e).unwrap_or_default();
                if let Ok(ins) = &e.result {
                    v["inspection"] = serde_json::to_value(ins).unwrap_or_default();
                    if tree {
                        v["inspection"]["rawTree"] = ins.raw_tree(limits);
                    }
                }
                v
            })
            .collect();
        let mut doc = json!({ "directory": dir.display().to_string(), "files": list });
        if let Some(Ok(ins)) = entries.iter().find(|e| e.restart_pick).map(|e| &e.result) {
            if !prediction(&ins.checkpoint, facts, Some(&mut doc), out) {
                return ExitCode::from(1);
            }
        }
        let _ = writeln!(out, "{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else {
        let _ = writeln!(out, "{}: {} checkpoint file(s), newest first (Spark's reader order)", dir.display(), entries.len());
        for e in &entries {
            let mark = if e.restart_pick { "  <= a restart reads this one" } else { "" };
            match &e.result {
                Ok(ins) => {
                    let _ = writeln!(out, "\n== {} ({} bytes){mark}", e.name, e.size);
                    let _ = write!(out, "{}", text::summary(ins));
                }
                Err(err) => {
                    let _ = writeln!(out, "\n== {} ({} bytes): UNREADABLE, Spark skips it: {err}", e.name, e.size);
                }
            }
        }
        if !picked {
            let _ = writeln!(out, "\nno readable checkpoint: Spark fails with \"Failed to read checkpoint from directory\"");
        }
        if let Some(Ok(ins)) = entries.iter().find(|e| e.restart_pick).map(|e| &e.result) {
            let _ = write!(out, "\nfor the restart pick {}:", entries.iter().find(|e| e.restart_pick).map_or("", |e| e.name.as_str()));
            if !prediction(&ins.checkpoint, facts, None, out) {
                return ExitCode::from(1);
            }
        }
    }
    if picked {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
