//! `bridge`: serve the Offset Lab page and its websocket in front of a real Kafka.

use bridge::server::{serve, Config};

const USAGE: &str = "usage: bridge [--listen 127.0.0.1:8787] [--bootstrap 127.0.0.1:9092] [--dist DIR]
              [--allow-origin ORIGIN]... [--token TOKEN] [--no-namespace] [--checkpoints DIR]
              [--workshop DIR [--clean]] [--idle-timeout 45m] [--max-labs 500]
              [--max-topics 5] [--max-partitions 24] [--max-records-per-minute 20000]
              [--max-broker-bytes 50MiB] [--max-checkpoint-bytes 20MiB]
env: OFFSET_LAB_BRIDGE_LISTEN, OFFSET_LAB_KAFKA_BOOTSTRAP, OFFSET_LAB_CHECKPOINTS (default .cache/checkpoints)";

fn main() {
    if let Err(e) = run() {
        eprintln!("bridge: {e}\n{USAGE}");
        std::process::exit(2);
    }
}

fn run() -> Result<(), String> {
    let mut listen = std::env::var("OFFSET_LAB_BRIDGE_LISTEN").unwrap_or_else(|_| "127.0.0.1:8787".into());
    let mut config = Config::new(std::env::var("OFFSET_LAB_KAFKA_BOOTSTRAP").unwrap_or_else(|_| "127.0.0.1:9092".into()));
    if let Ok(dir) = std::env::var("OFFSET_LAB_CHECKPOINTS") {
        config.checkpoint_root = dir.into();
    }
    let mut clean = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match a.as_str() {
            "--listen" => listen = value("--listen")?,
            "--bootstrap" => config.bootstrap = value("--bootstrap")?,
            "--dist" => config.dist = Some(value("--dist")?.into()),
            "--allow-origin" => config.allowed_origins.push(value("--allow-origin")?),
            "--token" => config.token = Some(value("--token")?),
            "--no-namespace" => config.namespaces = false,
            "--checkpoints" => config.checkpoint_root = value("--checkpoints")?.into(),
            "--workshop" => config.workshop = Some(value("--workshop")?.into()),
            "--clean" => clean = true,
            "--idle-timeout" => config.idle_timeout = duration("--idle-timeout", &value("--idle-timeout")?)?,
            "--max-labs" => config.max_labs = number("--max-labs", &value("--max-labs")?)? as usize,
            "--max-topics" => config.quotas.topics = number("--max-topics", &value("--max-topics")?)? as usize,
            "--max-partitions" => config.quotas.partitions = number("--max-partitions", &value("--max-partitions")?)? as i64,
            "--max-records-per-minute" => {
                config.quotas.records_per_minute = number("--max-records-per-minute", &value("--max-records-per-minute")?)?
            }
            "--max-broker-bytes" => config.quotas.broker_bytes = number("--max-broker-bytes", &value("--max-broker-bytes")?)?,
            "--max-checkpoint-bytes" => {
                config.quotas.checkpoint_bytes = number("--max-checkpoint-bytes", &value("--max-checkpoint-bytes")?)?
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    if clean {
        let Some(state) = config.workshop.clone() else { return Err("--clean needs --workshop DIR".into()) };
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
        let kafka = kafka_client::Kafka::new(config.bootstrap.clone());
        let removed = rt.block_on(bridge::room::clean_workshop(&kafka, &config.checkpoint_root, &state))?;
        if removed.is_empty() {
            println!("nothing to remove: {} does not exist", state.display());
        }
        for r in removed {
            println!("removed {r}");
        }
        return Ok(());
    }
    if let Some(dir) = &config.workshop {
        eprintln!("bridge: workshop state in {} (join code, teacher secret, participants.json)", dir.display());
    }
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(&listen).await.map_err(|e| format!("cannot listen on {listen}: {e}"))?;
        eprintln!("bridge: http://{} (ws at /ws), Kafka at {}", listener.local_addr().map_err(|e| e.to_string())?, config.bootstrap);
        serve(listener, config).await.map_err(|e| e.to_string())
    })
}

/// `20000`, `50MB`, `20MiB`, `64KB`: a count, or bytes with a decimal or binary unit.
fn number(flag: &str, v: &str) -> Result<u64, String> {
    let units: [(&str, u64); 6] =
        [("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("KB", 1_000), ("MB", 1_000_000), ("GB", 1_000_000_000)];
    let (digits, factor) = units.iter().find_map(|(u, f)| v.strip_suffix(u).map(|d| (d, *f))).unwrap_or((v, 1));
    digits
        .trim()
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(factor))
        .ok_or_else(|| format!("{flag} {v}: not a number (e.g. 20000 or 50MB)"))
}

/// `45m`, `90s`, `2h`, or seconds.
fn duration(flag: &str, v: &str) -> Result<std::time::Duration, String> {
    let (digits, factor) = match v.chars().last() {
        Some('s') => (&v[..v.len() - 1], 1),
        Some('m') => (&v[..v.len() - 1], 60),
        Some('h') => (&v[..v.len() - 1], 3600),
        _ => (v, 1),
    };
    let secs: f64 = digits.parse().map_err(|_| format!("{flag} {v}: not a duration (e.g. 45m, 90s, 2h)"))?;
    if !(secs * factor as f64).is_finite() || secs <= 0.0 {
        return Err(format!("{flag} {v}: must be a positive duration"));
    }
    Ok(std::time::Duration::from_secs_f64(secs * factor as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_durations_parse_and_bad_ones_name_the_flag() {
        assert_eq!(number("--max-broker-bytes", "50MB"), Ok(50_000_000));
        assert_eq!(number("--max-broker-bytes", "20MiB"), Ok(20 << 20));
        assert_eq!(number("--max-topics", "5"), Ok(5));
        assert!(number("--max-topics", "five").unwrap_err().contains("--max-topics five"));
        assert_eq!(duration("--idle-timeout", "45m"), Ok(std::time::Duration::from_secs(2700)));
        assert_eq!(duration("--idle-timeout", "0.5s"), Ok(std::time::Duration::from_millis(500)));
        assert!(duration("--idle-timeout", "-1").is_err());
        assert!(duration("--idle-timeout", "soon").unwrap_err().contains("--idle-timeout"));
    }
}
