//! Small helpers for running commands, counting test results and printing progress.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

/// Prints a step banner so long tasks show where they are.
pub fn step(msg: &str) {
    eprintln!("\n==> {msg}");
}

/// Runs a command, inheriting stdio; an error names the command and its exit status.
pub fn run(cmd: &mut Command) -> Result<(), String> {
    let shown = format!("{cmd:?}");
    let status = cmd.status().map_err(|e| format!("cannot run {shown}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{shown} failed: {status}"))
    }
}

/// This xtask binary's path. A rebuild while it runs (`cargo test --workspace` relinks it) leaves
/// Linux reporting `… (deleted)`; the fresh binary at the same path does the same work.
pub fn xtask_exe() -> Result<std::path::PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let shown = exe.to_string_lossy();
    Ok(match shown.strip_suffix(" (deleted)") {
        Some(live) => std::path::PathBuf::from(live),
        None => exe,
    })
}

/// `cargo`, as the one running xtask.
pub fn cargo(root: &Path) -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(root);
    c
}

/// Runs `cargo test <args>`, echoing its output, and returns the summed (passed, failed).
pub fn cargo_test(root: &Path, args: &[&str]) -> Result<(u32, u32), String> {
    let mut c = cargo(root);
    c.arg("test").args(args).args(["--color", "never"]);
    run_counting(c, test_summary)
}

/// Runs a test command, echoing its output, and sums the (passed, failed) of every line `parse`
/// recognises. A run that reports nothing, or fails without a failed test (a crash, a build
/// error), counts as a failure, never as a pass.
pub fn run_counting(mut c: Command, parse: fn(&str) -> Option<(u32, u32)>) -> Result<(u32, u32), String> {
    let shown = format!("{c:?}");
    let mut child = c.stdout(Stdio::piped()).spawn().map_err(|e| format!("cannot run {shown}: {e}"))?;
    let out = child.stdout.take().expect("piped stdout");
    let (mut passed, mut failed, mut seen) = (0, 0, false);
    for line in BufReader::new(out).lines() {
        let line = line.map_err(|e| e.to_string())?;
        println!("{line}");
        if let Some((p, f)) = parse(&line) {
            passed += p;
            failed += f;
            seen = true;
        }
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    if !seen {
        return Err(format!("{shown} printed no test results ({status})"));
    }
    if !status.success() && failed == 0 {
        failed += 1;
    }
    Ok((passed, failed))
}

/// Parses libtest's `test result: ok. 3 passed; 1 failed; …` into (passed, failed).
pub fn test_summary(line: &str) -> Option<(u32, u32)> {
    let rest = line.trim().strip_prefix("test result: ")?;
    let rest = rest.trim_start_matches("ok.").trim_start_matches("FAILED.");
    let count = |what: &str| -> Option<u32> { rest.split(';').find_map(|p| p.trim().strip_suffix(what)?.trim().parse().ok()) };
    Some((count(" passed").or_else(|| count("passed"))?, count(" failed").or_else(|| count("failed"))?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_libtest_summaries() {
        assert_eq!(test_summary("test result: ok. 12 passed; 0 failed; 1 ignored; 0 measured"), Some((12, 0)));
        assert_eq!(test_summary("test result: FAILED. 3 passed; 2 failed; 0 ignored"), Some((3, 2)));
        assert_eq!(test_summary("running 3 tests"), None);
    }
}
