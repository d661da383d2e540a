//! The CLI's readable summary of an inspection (the page renders its own from the same data).

use std::fmt::Write;

use crate::spark::{KafkaStream, OffsetRange};
use crate::Inspection;

/// `1795616358000` → `2026-11-25T14:59:18Z`, so users can match times with their logs (UTC, no crate needed).
pub fn utc(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem / 60 % 60, rem % 60)
}

fn time(ms: i64) -> String {
    format!("{ms} ({})", utc(ms))
}

fn ms(d: Option<i64>) -> String {
    d.map_or_else(|| "-".to_string(), |d| format!("{d} ms"))
}

fn range(r: &OffsetRange) -> String {
    format!("{}-{} [{}, {})", r.topic, r.partition, r.from_offset, r.until_offset)
}

fn kafka(out: &mut String, k: &KafkaStream) {
    let s = k.consumer_strategy.as_ref();
    let what = match s {
        Some(s) => {
            let target = s
                .topics
                .as_ref()
                .map(|t| format!("topics {}", t.join(", ")))
                .or_else(|| s.pattern.as_ref().map(|p| format!("pattern {p}")))
                .or_else(|| {
                    s.topic_partitions.as_ref().map(|tps| {
                        let names: Vec<String> = tps.iter().map(|tp| format!("{}-{}", tp.topic, tp.partition)).collect();
                        format!("partitions {}", names.join(", "))
                    })
                })
                .unwrap_or_default();
            format!("{} {target}", s.kind)
        }
        None => "unknown consumer strategy".to_string(),
    };
    let id = k.id.map_or_else(|| "?".to_string(), |i| i.to_string());
    let _ = writeln!(out, "kafka direct stream {id}: {what}");
    if let Some(s) = s {
        for key in ["group.id", "bootstrap.servers", "auto.offset.reset", "enable.auto.commit"] {
            if let Some(v) = s.kafka_params.get(key) {
                let v = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                let _ = writeln!(out, "  {key:<20} {v}");
            }
        }
    }
    let _ = writeln!(out, "  currentOffsets       {} partition(s): where the next batch starts", k.current_offsets.len());
    for o in &k.current_offsets {
        let _ = writeln!(out, "    {}-{} {}", o.topic, o.partition, o.offset);
    }
    if k.commit_queue.is_empty() {
        let _ = writeln!(out, "  commitQueue          empty");
    } else {
        // Queued by commitAsync; the next batch's compute sends them to Kafka.
        let _ = writeln!(out, "  commitQueue          {} range(s) not yet sent to Kafka", k.commit_queue.len());
        for r in &k.commit_queue {
            let _ = writeln!(out, "    {}", range(r));
        }
    }
    let _ = writeln!(out, "  batchForTime         {} batch(es), re-run on restart", k.batch_for_time.len());
    for b in &k.batch_for_time {
        let ranges: Vec<String> = b.ranges.iter().map(range).collect();
        let _ = writeln!(out, "    {}  {}", time(b.time), ranges.join("  "));
    }
}

pub fn summary(ins: &Inspection) -> String {
    let mut out = String::new();
    let cp = &ins.checkpoint;
    let f = &ins.framing;
    let end = match f.end_marker {
        Some(true) => ", end marker present",
        Some(false) => ", END MARKER MISSING",
        None => "",
    };
    let _ = writeln!(
        out,
        "codec                {}: {} bytes -> {} bytes of Java serialization, {} chunk(s){end}, {} objects",
        f.codec, f.compressed_bytes, ins.java_serialization_bytes, f.chunks, ins.entries
    );
    let _ = writeln!(out, "checkpointTime       {}", time(cp.checkpoint_time));
    let _ = writeln!(out, "app                  {} on {}", cp.app_name, cp.master);
    let _ = writeln!(out, "checkpointDir        {}", cp.checkpoint_dir.as_deref().unwrap_or("-"));
    let _ = writeln!(out, "batch / checkpoint   {} / {}", ms(cp.batch_duration), ms(cp.checkpoint_duration));
    let pending: Vec<String> = cp.pending_times.iter().map(|t| time(*t)).collect();
    let _ = writeln!(
        out,
        "pendingTimes         {}",
        if pending.is_empty() { "none".into() } else { format!("{} (re-run on restart)", pending.join(", ")) }
    );
    if let (Some(z), Some(s)) = (cp.zero_time, cp.start_time) {
        let _ = writeln!(out, "graph                zeroTime {}, startTime {}", time(z), time(s));
    }
    let _ = writeln!(out, "streams");
    for s in &cp.streams {
        let role = match (s.is_input, s.is_output) {
            (true, _) => " (input)",
            (_, true) => " (output)",
            _ => "",
        };
        let parents: Vec<String> = s.parents.iter().map(|p| format!("#{p}")).collect();
        let from = if parents.is_empty() { String::new() } else { format!(" <- {}", parents.join(", ")) };
        let short = s.class.rsplit('.').next().unwrap_or(&s.class);
        let _ = writeln!(
            out,
            "  #{} {short}{role}{from}: remember {}, checkpoint every {}",
            s.handle,
            ms(s.remember_duration),
            ms(s.checkpoint_duration)
        );
        for r in &s.rdd_checkpoints {
            let _ = writeln!(out, "      RDD checkpoint {} -> {}", time(r.time), r.path);
        }
    }
    for k in ins.kafka_streams() {
        kafka(&mut out, k);
    }
    let _ = writeln!(out, "sparkConf            {} entries", cp.spark_conf.len());
    for (k, v) in &cp.spark_conf {
        let _ = writeln!(out, "  {k} = {v}");
    }
    for w in &ins.warnings {
        let _ = writeln!(out, "WARNING: {w}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::utc;

    #[test]
    fn utc_matches_known_instants() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(utc(1_795_616_358_000), "2026-11-25T14:19:18Z");
        assert_eq!(utc(-1000), "1969-12-31T23:59:59Z");
    }
}
