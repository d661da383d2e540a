//! Benchmarks: figures, never pass/fail. The workloads are deterministic and clock-free (so the
//! WASM build can run them too); only [`print_all`] reads a clock, around them.

use crate::format::{Action, Scenario, Step};
use crate::runner::Run;
use engine::config::JobConfig;
use engine::storage::MemoryStorage;
use engine::time::Time;
use std::collections::BTreeMap;
use std::time::Instant;

const DAY: i64 = 1_767_225_600_000; // 2026-01-01T00:00Z
const NOON: i64 = DAY + 12 * 3_600_000;

fn scenario(partitions: i32, steps: Vec<(i64, Action)>) -> Scenario {
    Scenario {
        name: "bench".into(),
        title: String::new(),
        description: String::new(),
        day_start: Time(DAY),
        topics: vec![("words".into(), partitions)],
        job: JobConfig::seed(&["words"], "g"),
        steps: steps.into_iter().map(|(ms, action)| Step { at: Time(NOON + ms), action, line: 0 }).collect(),
        chapters: Vec::new(),
        structured: None,
    }
}

fn records(partitions: i32, n: usize, keys: usize) -> Vec<(Option<i32>, Option<String>, String)> {
    (0..n).map(|i| (Some((i % partitions as usize) as i32), None, format!("k{}", i % keys))).collect()
}

fn start_and_produce(partitions: i32, n: usize, keys: usize) -> Scenario {
    let job = JobConfig::seed(&["words"], "g");
    scenario(
        partitions,
        vec![(2_000, Action::Start { job }), (3_000, Action::Produce { topic: "words".into(), records: records(partitions, n, keys) })],
    )
}

/// Runs the setup steps, then hands the run to `measure`.
fn with_run<T>(s: &Scenario, measure: impl FnOnce(&mut Run) -> T) -> T {
    let mut run = Run::new(s, Box::new(MemoryStorage::default())).expect("bench scenario is valid");
    for (i, st) in s.steps.iter().enumerate() {
        run.step(i, st);
    }
    measure(&mut run)
}

/// One batch reading `n` records spread over `partitions`, through `map → updateStateByKey`.
/// Returns the records the batch reported.
pub fn records_batch(partitions: i32, n: usize) -> i64 {
    let s = start_and_produce(partitions, n, 1000);
    with_run(&s, |run| {
        run.advance_to(Time(NOON + 5_000));
        num_records(run)
    })
}

fn num_records(run: &Run) -> i64 {
    run.trace
        .iter()
        .filter_map(|l| match &l.event {
            engine::trace::TraceEvent::BatchGenerated { num_records, .. } => Some(*num_records),
            _ => None,
        })
        .sum()
}

/// `batches` empty batches of a running seed job (checkpointing on). Returns the batches generated.
pub fn empty_batches(batches: i64) -> usize {
    let s = scenario(3, vec![(2_000, Action::Start { job: JobConfig::seed(&["words"], "g") })]);
    with_run(&s, |run| {
        run.advance_to(Time(NOON + 5_000 * batches));
        run.trace.iter().filter(|l| matches!(l.event, engine::trace::TraceEvent::BatchGenerated { .. })).count()
    })
}

/// The same aggregation without Spark's machinery: a word count over the same values.
pub fn baseline_count(partitions: i32, n: usize) -> usize {
    let mut m: BTreeMap<String, i64> = BTreeMap::new();
    for (_, _, v) in records(partitions, n, 1000) {
        *m.entry(v).or_insert(0) += 1;
    }
    m.len()
}

fn per_sec(n: f64, secs: f64) -> String {
    format!("{:>12.0}", n / secs)
}

pub fn print_all() {
    println!("Offset Lab engine benchmarks (native, release build; figures, not tests)\n");
    println!("records/s through map → updateStateByKey, one batch of 100 000 records (1 000 keys):");
    println!("  {:>10}  {:>12}  {:>12}  {:>8}", "partitions", "engine", "baseline", "ratio");
    for p in [1, 10, 100] {
        let n = 100_000;
        let t = Instant::now();
        let got = records_batch(p, n);
        let engine = t.elapsed().as_secs_f64();
        assert_eq!(got, n as i64, "the batch must read every record");
        let t = Instant::now();
        let _ = baseline_count(p, n);
        let base = t.elapsed().as_secs_f64();
        println!("  {p:>10}  {}  {}  {:>7.1}x", per_sec(n as f64, engine), per_sec(n as f64, base), engine / base);
    }
    println!("  (baseline: a BTreeMap word count of the same values in the same run; ratio = engine time / baseline time;");
    println!("   engine time includes producing into the in-memory Kafka, fetching, checkpoints and print)");

    let batches = 2_000;
    let t = Instant::now();
    let n = empty_batches(batches);
    let per = t.elapsed().as_secs_f64() / n as f64;
    println!("\nempty batches (3 partitions, two metadata checkpoints each): {n} batches, {:.1} µs per batch", per * 1e6);

    println!("\nupdateStateByKey state checkpoint (state file written at the 10 s batch) and restore (restart re-runs it):");
    for keys in [10_000usize, 100_000] {
        let (write, restore) = state_write_restore(keys);
        println!("  {keys:>7} keys: write batch {:>8.1} ms, restore start {:>8.1} ms", write * 1e3, restore * 1e3);
    }
}

/// Times the batch that writes the state file, and a recovery that reads it back.
fn state_write_restore(keys: usize) -> (f64, f64) {
    let mut s = start_and_produce(1, keys, keys);
    s.steps.push(Step { at: Time(NOON + 12_000), action: Action::Stop { graceful: false }, line: 0 });
    s.steps.push(Step { at: Time(NOON + 20_000), action: Action::Start { job: JobConfig::seed(&["words"], "g") }, line: 0 });
    let mut run = Run::new(&s, Box::new(MemoryStorage::default())).expect("valid");
    run.step(0, &s.steps[0]);
    run.step(1, &s.steps[1]);
    run.advance_to(Time(NOON + 6_000));
    let t = Instant::now();
    run.advance_to(Time(NOON + 11_000));
    let write = t.elapsed().as_secs_f64();
    run.step(2, &s.steps[2]);
    let t = Instant::now();
    run.step(3, &s.steps[3]);
    let restore = t.elapsed().as_secs_f64();
    assert_eq!(run.engine.state().map(|m| m.len()), Some(keys), "the restored state must hold every key");
    (write, restore)
}
