//! Scenario files, the headless runner (engine + in-memory Kafka + checkpoint storage) and the
//! readable table. The `offset-lab` binary is the CLI over it.

pub mod backend;
pub mod bench;
pub mod expect;
pub mod format;
pub mod group_mask;
#[cfg(feature = "real-kafka")]
pub mod real;
pub mod runner;
pub mod structured;
pub mod table;

use engine::storage::{MemoryStorage, Storage};

/// Runs a scenario against the in-memory model; returns the run for inspection.
pub fn run_in_memory(s: &format::Scenario) -> Result<runner::Run<'_>, String> {
    run_with(s, Box::new(MemoryStorage::default()))
}

pub fn run_with(s: &format::Scenario, storage: Box<dyn Storage>) -> Result<runner::Run<'_>, String> {
    let mut run = runner::Run::new(s, storage)?;
    run.run_all();
    Ok(run)
}

/// The trace as JSON lines.
pub fn trace_jsonl<K: backend::KafkaBackend>(run: &runner::Run<'_, K>) -> String {
    let mut s = String::new();
    for l in &run.trace {
        s.push_str(&l.to_json());
        s.push('\n');
    }
    s
}
