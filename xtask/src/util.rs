//! Small helpers for running commands and printing progress.

use std::process::Command;

/// Prints a step banner so long tasks show where they are.
pub fn step(msg: &str) {
    eprintln!("\n==> {msg}");
}

/// Runs a command, inheriting stdio; an error names the command and its exit status.
pub fn run(cmd: &mut Command) -> Result<(), String> {
    let shown = format!("{cmd:?}");
    let status = cmd.status().map_err(|e| format!("cannot run {shown}: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("{shown} failed: {status}")) }
}
