//! `spark-checkpoint inspect <file-or-directory> [--json] [--tree]`: read Spark checkpoints without a JVM.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use serde_json::json;
use spark_checkpoint::{inspect, inspect_directory, text, Limits};

const USAGE: &str = "usage: spark-checkpoint inspect <checkpoint-file-or-directory> [--json] [--tree]
  a directory: every checkpoint-<ms>[.bk] newest first, in Spark's reader order, the restart pick marked
  --json   machine-readable output
  --tree   with --json, add the raw Java object tree of each file";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let json = args.iter().any(|a| a == "--json");
    let tree = args.iter().any(|a| a == "--tree");
    let rest: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    match rest.as_slice() {
        [cmd, path] if cmd.as_str() == "inspect" => {
            let mut out = String::new();
            let code = run(Path::new(path), json, tree, &mut out);
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

fn run(path: &Path, json: bool, tree: bool, out: &mut String) -> ExitCode {
    let limits = Limits::default();
    if path.is_dir() {
        return directory(path, json, tree, &limits, out);
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
                let _ = writeln!(out, "{}", serde_json::to_string_pretty(&v).unwrap_or_default());
            } else {
                let _ = writeln!(out, "{}", path.display());
                let _ = write!(out, "{}", text::summary(&ins));
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

fn directory(dir: &Path, json: bool, tree: bool, limits: &Limits, out: &mut String) -> ExitCode {
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
        let doc = json!({ "directory": dir.display().to_string(), "files": list });
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
    }
    if picked { ExitCode::SUCCESS } else { ExitCode::from(1) }
}
