//! The prediction as the CLI prints it (`inspect … --facts`).

use super::Prediction;

/// The prediction as the CLI prints it.
pub fn text(p: &Prediction) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(out, "will the restart crash? {}", p.headline);
    for s in &p.streams {
        let _ = writeln!(
            out,
            "kafka direct stream {}: {} group {} auto.offset.reset {}",
            s.stream_id.map_or("?".into(), |i| i.to_string()),
            s.strategy,
            s.group_id.as_deref().unwrap_or("(none)"),
            s.auto_offset_reset
        );
        let _ = writeln!(out, "  partition                      checkpoint  log start  log end  committed  queued commit");
        for l in &s.lanes {
            let o = |v: Option<i64>| v.map_or("-".to_string(), |v| v.to_string());
            let log = if l.exists == "yes" { format!("{:>9}  {:>7}", o(l.log_start), o(l.log_end)) } else { format!("{:>18}", l.exists) };
            let _ = writeln!(
                out,
                "  {:<30} {:>10}  {log}  {:>9}  {:>13}",
                format!("{}-{}", l.topic, l.partition),
                o(l.checkpoint_offset),
                o(l.committed),
                o(l.queued_commit)
            );
        }
        for f in &s.failures {
            let when = f.batch_time.map_or(String::new(), |t| format!(" (batch {t})"));
            let _ = writeln!(
                out,
                "  {} {}{when}: {}\n      because {}",
                if f.certain { "FAILS" } else { "MAY FAIL" },
                f.side,
                f.exception,
                f.because
            );
        }
        if let Some(fb) = s.first_batch.as_ref().filter(|fb| fb.ranges.is_empty()) {
            let why = if fb.driver_error.is_some() { "the driver fails before it" } else { "no partition with known offsets" };
            let _ = writeln!(out, "  first new batch{}: not computed, {why}", fb.time.map_or(String::new(), |t| format!(" {t}")));
        }
        if let Some(fb) = s.first_batch.as_ref().filter(|fb| !fb.ranges.is_empty()) {
            let ranges: Vec<String> =
                fb.ranges.iter().map(|r| format!("{}-{} [{}, {})", r.topic, r.partition, r.from_offset, r.until_offset)).collect();
            let _ = writeln!(
                out,
                "  first new batch{}: {} numRecords {}",
                fb.time.map_or(String::new(), |t| format!(" {t}")),
                ranges.join("  "),
                fb.num_records
            );
        }
        for r in &s.re_read {
            let _ = writeln!(out, "  re-read {}-{}: {} record(s), {}", r.topic, r.partition, r.records, r.because);
        }
        for r in &s.skipped {
            let _ = writeln!(out, "  skipped {}-{}: {} record(s), {}", r.topic, r.partition, r.records, r.because);
        }
        if !s.commits.is_empty() {
            let _ =
                writeln!(out, "  restored commitQueue{}:", if s.commits_sent { ", committed at the first compute" } else { ", NOT sent" });
            for c in &s.commits {
                let _ = writeln!(out, "    {}-{} -> {}: {}", c.topic, c.partition, c.will_commit, c.note);
            }
        }
        for w in &s.ways_out {
            let _ = writeln!(out, "  way out: {}", w.title);
            for st in &w.starts {
                let at = st.offset.map_or("?".into(), |o| o.to_string());
                if st.records > 0 {
                    let _ =
                        writeln!(out, "    {}-{}: produce {} record(s) to reach {at} ({})", st.topic, st.partition, st.records, st.source);
                } else {
                    let _ = writeln!(out, "    {}-{} starts at {at} ({})", st.topic, st.partition, st.source);
                }
            }
            if let Some(e) = &w.failure {
                let _ = writeln!(out, "    still fails: {e}");
            }
            for c in &w.costs {
                let _ = writeln!(out, "    cost: {c}");
            }
        }
        for n in &s.notes {
            let _ = writeln!(out, "  note: {n}");
        }
    }
    out
}
