//! `inspect <folder>` for a Structured Streaming checkpoint folder: the folder read recursively (state files
//! counted, not read), the summary, and with facts the restart prediction.

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use spark_checkpoint::structured::{self, FolderKind};

use crate::FactsFrom;

/// Files larger than this are listed, not read (a checkpoint's log files are a few KiB).
const MAX_FILE: u64 = 16 << 20;
/// Files in a folder walk: a checkpoint with a big state store has many.
const MAX_FILES: usize = 100_000;

/// The folder holds Structured Streaming's files rather than DStream `checkpoint-<ms>` files.
pub fn is_structured(dir: &Path) -> bool {
    let names: Vec<String> =
        std::fs::read_dir(dir).map(|l| l.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect()).unwrap_or_default();
    let probe: Vec<String> = names.iter().map(|n| if dir.join(n).is_dir() { format!("{n}/x") } else { n.clone() }).collect();
    FolderKind::detect(probe.iter().map(String::as_str)) == FolderKind::Structured
}

/// Every file under `dir` by `/`-separated relative path; `state/` files with empty contents (only names count).
fn walk(dir: &Path) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut out = Vec::new();
    let mut stack = vec![(dir.to_path_buf(), String::new())];
    while let Some((d, rel)) = stack.pop() {
        let list = std::fs::read_dir(&d).map_err(|e| format!("{}: {e}", d.display()))?;
        for e in list.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let path = if rel.is_empty() { name.clone() } else { format!("{rel}/{name}") };
            // Symlinks are not followed: a checkpoint folder has none, and a loop must not hang the walk.
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() {
                stack.push((e.path(), path));
            } else if ft.is_file() {
                if out.len() >= MAX_FILES {
                    return Err(format!("{}: more than {MAX_FILES} files", dir.display()));
                }
                let big = e.metadata().map_or(true, |m| m.len() > MAX_FILE);
                let bytes = if path.starts_with("state/") || big {
                    Vec::new()
                } else {
                    std::fs::read(e.path()).map_err(|err| format!("{path}: {err}"))?
                };
                out.push((path, bytes));
            }
        }
    }
    out.sort();
    Ok(out)
}

pub fn run(dir: &Path, json: bool, from: &FactsFrom, options: &[(String, String)], out: &mut String) -> ExitCode {
    let files = match walk(dir) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(1);
        }
    };
    let cp = structured::read_folder(files.iter().map(|(p, b)| (p.as_str(), b.as_slice())));
    let options: Vec<(&str, &str)> = options.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let prediction = match from.load(structured::wanted_topics(&cp), Default::default()) {
        None => None,
        Some(Ok(f)) => Some(structured::predict(&cp, &files, &f, &options)),
        Some(Err(e)) => {
            eprintln!("{e}");
            return ExitCode::from(1);
        }
    };
    if json {
        let mut v = serde_json::json!({ "directory": dir.display().to_string(), "structured": cp });
        if let Some(p) = &prediction {
            v["prediction"] = serde_json::to_value(p).unwrap_or_default();
        }
        let _ = writeln!(out, "{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    } else {
        let _ = writeln!(out, "{}", dir.display());
        let _ = write!(out, "{}", structured::summary(&cp));
        if let Some(p) = &prediction {
            let _ = write!(out, "\n{}", structured::prediction_text(p));
        }
    }
    if cp.errors.is_empty() && cp.restart_error.is_none() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
