//! A Structured Streaming checkpoint and its restart prediction as the CLI prints them.

use std::fmt::Write as _;

use engine::offsets::Offsets;

use super::{StructuredCheckpoint, StructuredPrediction};

fn offsets(o: Option<&Offsets>) -> String {
    match o {
        None => "-".into(),
        Some(o) if o.is_empty() => "{}".into(),
        Some(o) => o.iter().map(|(tp, v)| format!("{tp}={v}")).collect::<Vec<_>>().join(" "),
    }
}

/// The folder: its kind, query id, batches with their offsets and commit state, `sources/0/0`, state, next batch.
pub fn summary(cp: &StructuredCheckpoint) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{} (offset log written by Spark {})", cp.kind.label(), cp.spark);
    let _ = writeln!(out, "query id (metadata): {}", cp.query_id.as_deref().unwrap_or("-"));
    let _ = writeln!(out, "initial offsets (sources/0/0): {}", offsets(cp.initial_offsets.as_ref()));
    let _ = writeln!(out, "batch  committed  batchTimestampMs  end offsets (offsets/N)");
    for b in &cp.batches {
        let committed = match (b.committed, b.commit_file) {
            (true, _) => "yes",
            (false, true) => "unreadable",
            (false, false) => "NO",
        };
        let ts = b.batch_timestamp_ms.map_or("-".to_string(), |t| t.to_string());
        let end = if b.offsets_file { offsets(b.end.as_ref()) } else { "(no offsets file)".into() };
        let _ = writeln!(out, "{:>5}  {committed:>9}  {ts:>16}  {end}", b.id);
    }
    for s in &cp.state {
        let _ = writeln!(
            out,
            "state/{}: {} partition(s), {} file(s), newest version {}",
            s.operator,
            s.partitions,
            s.files,
            s.newest_version.map_or("-".into(), |v| v.to_string())
        );
    }
    match (&cp.next_batch, &cp.restart_error) {
        (_, Some(e)) => {
            let _ = writeln!(out, "restart: FAILS before it asks Kafka anything: {e}");
        }
        (Some(n), _) if n.rerun => {
            let _ = writeln!(
                out,
                "next batch: {} is RE-RUN (offsets/{} without commits/{}) from {} to the same end offsets {}",
                n.id,
                n.id,
                n.id,
                offsets(n.start.as_ref()),
                offsets(n.end.as_ref())
            );
        }
        (Some(n), _) => {
            let _ = writeln!(
                out,
                "next batch: {} starts at {} (the last committed end); its end is planned at the restart from the latest offsets",
                n.id,
                if n.id == 0 && n.start.is_none() { "startingOffsets (resolved at the start)".into() } else { offsets(n.start.as_ref()) }
            );
        }
        (None, None) => {}
    }
    for e in &cp.errors {
        let _ = writeln!(out, "error: {e}");
    }
    for w in &cp.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    out
}

/// "Will my restart lose data or fail?" as text.
pub fn prediction_text(p: &StructuredPrediction) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "will the restart lose data or fail? {}", p.headline);
    if !p.lanes.is_empty() {
        let _ = writeln!(out, "  partition                      checkpoint  re-run end  log start  log end");
        let o = |v: Option<i64>| v.map_or("-".to_string(), |v| v.to_string());
        for l in &p.lanes {
            let log = if l.exists == "yes" { format!("{:>9}  {:>7}", o(l.log_start), o(l.log_end)) } else { format!("{:>18}", l.exists) };
            let _ = writeln!(
                out,
                "  {:<30} {:>10}  {:>10}  {log}",
                format!("{}-{}", l.topic, l.partition),
                o(l.checkpoint_offset),
                o(l.rerun_end)
            );
        }
    }
    for oc in &p.outcomes {
        let _ = writeln!(
            out,
            "  failOnDataLoss={}: {}",
            oc.fail_on_data_loss,
            oc.error.as_ref().map_or("runs".to_string(), |e| format!("FAILS: {e}"))
        );
        for b in &oc.batches {
            let _ = writeln!(
                out,
                "    batch {}{}: {} — {} row(s)",
                b.batch_id,
                if b.rerun { " (re-run)" } else { "" },
                b.ranges.join("  "),
                b.rows
            );
        }
        for w in &oc.warnings {
            let _ = writeln!(out, "    warning: {}", w.lines().next().unwrap_or(""));
        }
        for c in &oc.lost {
            let _ = writeln!(out, "    lost {}-{}: {} record(s), {}", c.topic, c.partition, c.records, c.because);
        }
        for c in &oc.replayed {
            let _ = writeln!(out, "    may be written twice {}-{}: {} record(s), {}", c.topic, c.partition, c.records, c.because);
        }
        if let Some(r) = &oc.resumes_at {
            let _ = writeln!(out, "    then goes on from {}", offsets(Some(r)));
        }
    }
    for w in &p.ways_out {
        let _ = writeln!(out, "  way out: {}", w.title);
        for st in &w.starts {
            let _ = writeln!(
                out,
                "    {}-{} starts at {} ({})",
                st.topic,
                st.partition,
                st.offset.map_or("?".into(), |o| o.to_string()),
                st.source
            );
        }
        if let Some(e) = &w.failure {
            let _ = writeln!(out, "    still fails: {e}");
        }
        for c in &w.costs {
            let _ = writeln!(out, "    cost: {c}");
        }
    }
    for n in &p.notes {
        let _ = writeln!(out, "  note: {n}");
    }
    out
}
