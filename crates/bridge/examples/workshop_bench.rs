//! `cargo xtask workshop bench`: simulated participants drive the seed lesson's actions at workshop pace
//! through the real websocket protocol against the real Kafka, with a bridge process of its own; prints
//! errors, acknowledged-but-lost records, action latency and the processes' CPU and memory. Run twice:
//! undisturbed, and with Kafka restarted once and the bridge restarted once mid-run. Figures, not a test.
//!
//! `--soak` instead pushes the volume of a 3-hour workshop in compressed time (every participant
//! `--volume-mib` MiB of 1 KiB records) and samples the broker's data folder on disk (as `du` counts
//! it) every 30 s: with the lab topics' retention.bytes and segment.bytes it levels off.
//!
//! Flags: --bootstrap HOST:PORT --bridge BIN --xtask BIN [--participants 50] [--seconds 300]
//! [--kafka-pid-file PATH] [--only calm|restarts] [--soak --kafka-data DIR [--volume-mib 60]]

use futures_util::{SinkExt, StreamExt};
use protocol::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

#[derive(Clone)]
struct Args {
    bootstrap: String,
    bridge: PathBuf,
    xtask: PathBuf,
    participants: usize,
    seconds: u64,
    kafka_pid_file: Option<PathBuf>,
    only: Option<String>,
    soak: bool,
    kafka_data: Option<PathBuf>,
    volume_mib: u64,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        bootstrap: "127.0.0.1:9092".into(),
        bridge: "target/release/bridge".into(),
        xtask: "target/debug/xtask".into(),
        participants: 50,
        seconds: 300,
        kafka_pid_file: None,
        only: None,
        soak: false,
        kafka_data: None,
        volume_mib: 60,
    };
    let mut it = std::env::args().skip(1);
    while let Some(f) = it.next() {
        let mut v = || it.next().ok_or(format!("{f} needs a value"));
        match f.as_str() {
            "--bootstrap" => a.bootstrap = v()?,
            "--bridge" => a.bridge = v()?.into(),
            "--xtask" => a.xtask = v()?.into(),
            "--participants" => a.participants = v()?.parse().map_err(|e| format!("--participants: {e}"))?,
            "--seconds" => a.seconds = v()?.parse().map_err(|e| format!("--seconds: {e}"))?,
            "--kafka-pid-file" => a.kafka_pid_file = Some(v()?.into()),
            "--only" => a.only = Some(v()?),
            "--soak" => a.soak = true,
            "--kafka-data" => a.kafka_data = Some(v()?.into()),
            "--volume-mib" => a.volume_mib = v()?.parse().map_err(|e| format!("--volume-mib: {e}"))?,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(a)
}

/// The bridge under test, as its own process (so its CPU and memory can be read, and it can be killed).
struct Bridge {
    child: Child,
    addr: String,
}

fn start_bridge(args: &Args, dir: &Path, port: u16) -> Bridge {
    let addr = format!("127.0.0.1:{port}");
    let child = Command::new(&args.bridge)
        .args(["--listen", &addr, "--bootstrap", &args.bootstrap, "--checkpoints"])
        .arg(dir.join("checkpoints"))
        .arg("--workshop")
        .arg(dir.join("state"))
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", args.bridge.display()));
    for _ in 0..200 {
        if std::net::TcpStream::connect(&addr).is_ok() && dir.join("state/join-code").exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Bridge { child, addr }
}

/// Stops the bridge and removes what the run made: its labs' topics and groups (`--clean`) and its folder.
fn stop_and_clean(mut bridge: Bridge, args: &Args, dir: &Path) {
    let _ = bridge.child.kill();
    let _ = bridge.child.wait();
    let _ = Command::new(&args.bridge)
        .args(["--clean", "--bootstrap", &args.bootstrap, "--checkpoints"])
        .arg(dir.join("checkpoints"))
        .arg("--workshop")
        .arg(dir.join("state"))
        .stdout(std::process::Stdio::null())
        .status();
    let _ = std::fs::remove_dir_all(dir);
}

/// (CPU seconds, RSS bytes) of a process from /proc.
fn proc_usage(pid: u32) -> Option<(f64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss_kb: u64 = status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?.trim().trim_end_matches(" kB").trim().parse().ok()?;
    Some((ticks / 100.0, rss_kb * 1024))
}

#[derive(Default)]
struct Tally {
    actions: u64,
    errors: BTreeMap<String, u64>,
    latencies_ms: Vec<f64>,
    reconnects: u64,
    /// (topic, partition) → offset → value, as the bridge acknowledged them.
    acked: BTreeMap<(String, i32), BTreeMap<i64, String>>,
    /// topic → the secret of the lab it is in (to read it back as its owner).
    owners: BTreeMap<String, String>,
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

struct Conn {
    ws: Ws,
    next: u64,
}

impl Conn {
    async fn open(addr: &str, join: &str) -> Option<Conn> {
        let (mut ws, _) =
            tokio::time::timeout(Duration::from_secs(5), tokio_tungstenite::connect_async(format!("ws://{addr}/ws?join={join}")))
                .await
                .ok()?
                .ok()?;
        // The welcome.
        tokio::time::timeout(Duration::from_secs(5), ws.next()).await.ok()??.ok()?;
        Some(Conn { ws, next: 0 })
    }

    /// The reply, or None when the connection broke (or 30 s passed).
    async fn call(&mut self, op: Op) -> Option<Reply> {
        self.next += 1;
        let id = self.next;
        self.ws.send(Message::Text(Request::new(id, op).to_json().into())).await.ok()?;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let msg = tokio::time::timeout_at(deadline, self.ws.next()).await.ok()??.ok()?;
            if let Message::Text(t) = msg {
                let r: Response = serde_json::from_str(t.as_str()).ok()?;
                if r.id == Some(id) {
                    return Some(r.reply);
                }
            }
        }
    }
}

/// One participant: join, then the seed lesson's actions at workshop pace until `until`.
async fn participant(i: usize, addr: Arc<Mutex<String>>, join: String, until: Instant, tally: Arc<Mutex<Tally>>) {
    let addr_now = || addr.lock().unwrap().clone();
    let mut conn = loop {
        if let Some(c) = Conn::open(&addr_now(), &join).await {
            break c;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let hello = |join: Option<String>, resume: Option<String>| Op::Hello {
        namespace: None,
        binary_records: false,
        join: join.map(|name| Join { name }),
        resume,
    };
    let (ns, secret) = match conn.call(hello(Some(format!("p{i:02}")), None)).await {
        Some(Reply::Welcome { namespace, lab_secret: Some(s), .. }) => (namespace, s),
        r => {
            *tally.lock().unwrap().errors.entry(format!("join: {r:?}")).or_default() += 1;
            return;
        }
    };
    let topic = format!("{ns}words");
    let group = format!("{ns}g");
    tally.lock().unwrap().owners.insert(topic.clone(), secret.clone());
    let mut created = false;
    let mut step: u64 = 0;
    // Spread the room's actions over time: each participant acts every 2 s, offset by its number.
    tokio::time::sleep(Duration::from_millis((i as u64 * 37) % 2000)).await;
    while Instant::now() < until {
        let op = if !created {
            Op::CreateTopic { topic: topic.clone(), partitions: 3 }
        } else {
            match step % 5 {
                0 | 2 => Op::Produce {
                    topic: topic.clone(),
                    records: (0..5).map(|k| NewRecord::new(Some(&format!("k{}", (step + k) % 7)), &format!("p{i}-{step}-{k}"))).collect(),
                    partition: None,
                },
                1 => Op::DescribeTopic { topic: topic.clone() },
                3 => Op::Storage {
                    request: engine::storage::StorageRequest::WriteCheckpoint {
                        dir: "ckpt".into(),
                        file_time: engine::time::Time(1_000 * step as i64),
                        bytes: vec![b'x'; 300],
                    },
                },
                _ => Op::DescribeGroup { group: group.clone() },
            }
        };
        let kind = match &op {
            Op::CreateTopic { .. } => "createTopic",
            Op::Produce { .. } => "produce",
            Op::DescribeTopic { .. } => "describeTopic",
            Op::Storage { .. } => "storage",
            _ => "describeGroup",
        };
        let t0 = Instant::now();
        let reply = conn.call(op).await;
        let ms = t0.elapsed().as_secs_f64() * 1000.0;
        {
            let mut t = tally.lock().unwrap();
            t.actions += 1;
            match &reply {
                Some(Reply::Error { code, message }) => {
                    // TOPIC_ALREADY_EXISTS after a reconnect means the create had gone through.
                    if kind == "createTopic" && message.contains("TOPIC_ALREADY_EXISTS") {
                        created = true;
                    } else {
                        *t.errors.entry(format!("{kind}: {code:?}")).or_default() += 1;
                    }
                }
                Some(r) => {
                    t.latencies_ms.push(ms);
                    match r {
                        Reply::TopicCreated { .. } => created = true,
                        Reply::Produced { records, .. } => {
                            for rec in records {
                                t.acked.entry((topic.clone(), rec.partition)).or_default().insert(rec.offset, rec.value.clone());
                            }
                        }
                        _ => {}
                    }
                }
                None => *t.errors.entry(format!("{kind}: connection lost")).or_default() += 1,
            }
        }
        if reply.is_none() {
            // Reconnect to our own lab by its secret, wherever the bridge is now.
            loop {
                if Instant::now() > until + Duration::from_secs(60) {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
                if let Some(mut c) = Conn::open(&addr_now(), &join).await {
                    match c.call(hello(None, Some(secret.clone()))).await {
                        Some(Reply::Welcome { namespace, .. }) if namespace == ns => {
                            conn = c;
                            tally.lock().unwrap().reconnects += 1;
                            break;
                        }
                        Some(r) => {
                            *tally.lock().unwrap().errors.entry(format!("resume: {r:?}")).or_default() += 1;
                        }
                        None => {}
                    }
                }
            }
            continue;
        }
        step += 1;
        tokio::time::sleep(Duration::from_millis(2000)).await;
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

async fn phase(args: &Args, restarts: bool) {
    let dir = std::env::temp_dir().join(format!("offset-lab-workshop-bench-{}-{}", std::process::id(), restarts));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut bridge = start_bridge(args, &dir, port);
    let join = std::fs::read_to_string(dir.join("state/join-code")).unwrap().trim().to_string();
    let addr = Arc::new(Mutex::new(bridge.addr.clone()));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let started = Instant::now();
    let until = started + Duration::from_secs(args.seconds);
    let tasks: Vec<_> =
        (0..args.participants).map(|i| tokio::spawn(participant(i, Arc::clone(&addr), join.clone(), until, Arc::clone(&tally)))).collect();

    let kafka_pid =
        || args.kafka_pid_file.as_ref().and_then(|f| std::fs::read_to_string(f).ok()).and_then(|s| s.trim().parse::<u32>().ok());
    let (mut bridge_rss_max, mut kafka_rss_max, mut bridge_cpu) = (0u64, 0u64, 0.0f64);
    let mut cpu_base = proc_usage(bridge.child.id()).map(|u| u.0).unwrap_or(0.0);
    let (mut kafka_restarted, mut bridge_restarted) = (!restarts, !restarts);
    while Instant::now() < until {
        tokio::time::sleep(Duration::from_secs(1)).await;
        if let Some((cpu, rss)) = proc_usage(bridge.child.id()) {
            bridge_rss_max = bridge_rss_max.max(rss);
            bridge_cpu = bridge_cpu.max(cpu - cpu_base);
        }
        if let Some((_, rss)) = kafka_pid().and_then(proc_usage) {
            kafka_rss_max = kafka_rss_max.max(rss);
        }
        let t = started.elapsed().as_secs();
        if !kafka_restarted && t >= args.seconds / 3 {
            kafka_restarted = true;
            eprintln!("bench: restarting Kafka at {t} s");
            let x = args.xtask.clone();
            tokio::task::spawn_blocking(move || {
                let _ = Command::new(&x).args(["kafka", "stop"]).status();
                let _ = Command::new(&x).args(["kafka", "start"]).status();
            })
            .await
            .unwrap();
            eprintln!("bench: Kafka back at {} s", started.elapsed().as_secs());
        }
        if !bridge_restarted && t >= 2 * args.seconds / 3 {
            bridge_restarted = true;
            eprintln!("bench: restarting the bridge at {t} s");
            let spent = proc_usage(bridge.child.id()).map(|u| u.0 - cpu_base).unwrap_or(0.0);
            let _ = bridge.child.kill();
            let _ = bridge.child.wait();
            // Same port, same state folder: the participants resume by their secrets.
            bridge = start_bridge(args, &dir, port);
            *addr.lock().unwrap() = bridge.addr.clone();
            cpu_base = -spent;
        }
    }
    for t in tasks {
        let _ = t.await;
    }
    let elapsed = started.elapsed().as_secs_f64();

    // Every acknowledged record must be in Kafka: read each partition back through the bridge.
    let (acked, owners, mut lost) = {
        let t = tally.lock().unwrap();
        (t.acked.clone(), t.owners.clone(), 0u64)
    };
    let mut readers: BTreeMap<String, Conn> = BTreeMap::new();
    for ((topic, partition), records) in &acked {
        if !readers.contains_key(topic) {
            let mut c = Conn::open(&bridge.addr, &join).await.expect("the bridge serves the read-back");
            let resume = Op::Hello { namespace: None, binary_records: false, join: None, resume: owners.get(topic).cloned() };
            c.call(resume).await.expect("resumes the owner's lab");
            readers.insert(topic.clone(), c);
        }
        let reader = readers.get_mut(topic).expect("inserted above");
        let mut seen = BTreeMap::new();
        let mut offset = 0;
        let end = records.keys().max().copied().unwrap_or(-1);
        while offset <= end {
            match reader.call(Op::Fetch { topic: topic.clone(), partition: *partition, offset, max_records: 500 }).await {
                Some(Reply::Records { batch }) if !batch.records.is_empty() => {
                    for r in &batch.records {
                        seen.insert(r.offset, r.value.clone());
                    }
                    offset = batch.records.last().unwrap().offset + 1;
                }
                _ => break,
            }
        }
        lost += records.iter().filter(|(o, v)| seen.get(o) != Some(v)).count() as u64;
    }
    drop(readers);
    stop_and_clean(bridge, args, &dir);

    let t = tally.lock().unwrap();
    let mut lat = t.latencies_ms.clone();
    lat.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let records: usize = acked.values().map(|m| m.len()).sum();
    println!(
        "\n== {} participants, {:.0} s{} ==",
        args.participants,
        elapsed,
        if restarts { ", Kafka restarted once, bridge restarted once" } else { "" }
    );
    println!("actions {} ({:.1}/s), acknowledged records {records}, acknowledged-but-lost {lost}", t.actions, t.actions as f64 / elapsed);
    println!("action latency p50 {:.1} ms, p99 {:.1} ms (successful actions)", percentile(&lat, 0.5), percentile(&lat, 0.99));
    println!("errors {} (reconnects {}):", t.errors.values().sum::<u64>(), t.reconnects);
    for (k, n) in &t.errors {
        println!("  {n:>6}  {k}");
    }
    println!(
        "bridge CPU {:.1} s ({:.1} % of one core), bridge RSS max {:.1} MiB, Kafka RSS max {:.1} MiB",
        bridge_cpu,
        100.0 * bridge_cpu / elapsed,
        bridge_rss_max as f64 / 1048576.0,
        kafka_rss_max as f64 / 1048576.0
    );
}

/// Bytes a folder takes on disk, as `du` counts them (allocated blocks: Kafka's preallocated index
/// files are sparse and count for what they hold).
fn disk_bytes(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => disk_bytes(&e.path()),
            Ok(m) => m.blocks() * 512,
            Err(_) => 0,
        })
        .sum()
}

/// A workshop's volume in compressed time: each participant produces `volume_mib` MiB of 1 KiB
/// records in frames of 200, evenly over `seconds`; the broker's data folder is sampled every 30 s.
async fn soak(args: &Args) {
    const RECORD: usize = 1024;
    const PER_FRAME: usize = 200;
    let data = args.kafka_data.clone().expect("--soak needs --kafka-data");
    let dir = std::env::temp_dir().join(format!("offset-lab-workshop-soak-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let bridge = start_bridge(args, &dir, port);
    let join = std::fs::read_to_string(dir.join("state/join-code")).unwrap().trim().to_string();
    let frames_each = (args.volume_mib * 1024 * 1024).div_ceil((RECORD * PER_FRAME) as u64);
    let every = Duration::from_secs_f64(args.seconds as f64 / frames_each as f64);
    let compressed = 3.0 * 3600.0 / args.seconds as f64;
    println!(
        "\n== soak: {} participants × {} MiB each (1 KiB records, {frames_each} frames of {PER_FRAME}), simulated volume of a 3-hour workshop \
         (a participant producing about 0.33 MiB a minute) in compressed time: {} s, {compressed:.1}× ==",
        args.participants, args.volume_mib, args.seconds
    );
    let tally = Arc::new(Mutex::new(Tally::default()));
    let started = Instant::now();
    let until = started + Duration::from_secs(args.seconds);
    let tasks: Vec<_> = (0..args.participants)
        .map(|i| {
            let (addr, join, tally) = (bridge.addr.clone(), join.clone(), Arc::clone(&tally));
            tokio::spawn(async move {
                let Some(mut conn) = Conn::open(&addr, &join).await else { return };
                let hello =
                    Op::Hello { namespace: None, binary_records: false, join: Some(Join { name: format!("s{i:02}") }), resume: None };
                let Some(Reply::Welcome { namespace, .. }) = conn.call(hello).await else { return };
                let topic = format!("{namespace}words");
                conn.call(Op::CreateTopic { topic: topic.clone(), partitions: 3 }).await;
                let value = "x".repeat(RECORD);
                tokio::time::sleep(Duration::from_millis((i as u64 * 97) % 2000)).await;
                for n in 0..frames_each {
                    let due = started + every.mul_f64(n as f64);
                    if Instant::now() > until + Duration::from_secs(60) {
                        break;
                    }
                    tokio::time::sleep_until(due.into()).await;
                    let records = (0..PER_FRAME).map(|k| NewRecord::new(Some(&format!("k{k}")), &value)).collect();
                    let reply = conn.call(Op::Produce { topic: topic.clone(), records, partition: None }).await;
                    let mut t = tally.lock().unwrap();
                    t.actions += 1;
                    match reply {
                        Some(Reply::Produced { .. }) => {}
                        Some(Reply::Error { code, .. }) => *t.errors.entry(format!("produce: {code:?}")).or_default() += 1,
                        Some(_) | None => *t.errors.entry("produce: no reply".into()).or_default() += 1,
                    }
                }
            })
        })
        .collect();
    let base = disk_bytes(&data);
    let mib = |b: u64| b as f64 / 1048576.0;
    println!("  {:>6}  {:>9}  {:>12}", "soak", "workshop", "Kafka data");
    println!("  {:>5}s  {:>7}min  {:>8.1} MiB  (before)", 0, 0, mib(base));
    let mut samples = vec![base];
    while tasks.iter().any(|t| !t.is_finished()) {
        tokio::time::sleep(Duration::from_secs(30)).await;
        let t = started.elapsed().as_secs();
        let bytes = disk_bytes(&data);
        samples.push(bytes);
        let produced = tally.lock().unwrap().actions * (RECORD * PER_FRAME) as u64;
        println!(
            "  {t:>5}s  {:>7.0}min  {:>8.1} MiB  ({:.0} MiB produced so far)",
            t as f64 * compressed / 60.0,
            mib(bytes),
            mib(produced)
        );
    }
    for t in tasks {
        let _ = t.await;
    }
    let t = tally.lock().unwrap();
    let max = samples.iter().copied().max().unwrap_or(0);
    let quotas = bridge::quota::Quotas::default();
    let configs: BTreeMap<String, u64> = quotas.topic_configs().into_iter().filter_map(|(k, v)| Some((k, v.parse().ok()?))).collect();
    let per_partition = configs.get("retention.bytes").copied().unwrap_or(0) + configs.get("segment.bytes").copied().unwrap_or(0);
    println!(
        "produced {:.0} MiB in {} frames ({} errors{}); Kafka data max {:.1} MiB, {:.1} MiB over the start; \
         bound by the topics' configs: {} partitions × (retention.bytes + segment.bytes = {:.2} MiB) = {:.0} MiB of segments",
        mib(t.actions * (RECORD * PER_FRAME) as u64),
        t.actions,
        t.errors.values().sum::<u64>(),
        t.errors.iter().map(|(k, n)| format!(", {n} {k}")).collect::<String>(),
        mib(max),
        mib(max.saturating_sub(base)),
        args.participants * 3,
        mib(per_partition),
        mib(per_partition * (args.participants as u64) * 3)
    );
    drop(t);
    stop_and_clean(bridge, args, &dir);
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("workshop_bench: {e}");
            std::process::exit(2);
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        if args.soak {
            return soak(&args).await;
        }
        if args.only.as_deref() != Some("restarts") {
            phase(&args, false).await;
        }
        if args.only.as_deref() != Some("calm") {
            phase(&args, true).await;
        }
    });
}
