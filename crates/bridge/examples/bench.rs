//! Benchmark (prints figures; not a test): produce and fetch records/s through the bridge's websocket
//! against rskafka direct in the same run, and produce → log-end push latency as the page sees it.
//!
//! `cargo run -p bridge --release --example bench -- [--bootstrap 127.0.0.1:9092] [--records 20000]`
//! (`cargo xtask kafka bench` starts Kafka first and runs this).

use bridge::server::{serve, Config};
use futures_util::{SinkExt, StreamExt};
use protocol::*;
use rskafka::client::partition::{Compression, OffsetAt, UnknownTopicHandling};
use rskafka::client::ClientBuilder;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn call(ws: &mut Ws, id: u64, op: Op) -> Reply {
    ws.send(Message::Text(Request::new(id, op).to_json().into())).await.unwrap();
    loop {
        match ws.next().await.unwrap().unwrap() {
            Message::Text(t) => {
                let r: Response = serde_json::from_str(t.as_str()).unwrap();
                if r.id == Some(id) {
                    if let Reply::Error { code, message } = &r.reply {
                        panic!("request {id}: {code:?} {message}");
                    }
                    return r.reply;
                }
            }
            Message::Binary(b) => {
                let (rid, batch) = decode_records(&b).unwrap();
                if rid == id {
                    return Reply::Records { batch };
                }
            }
            _ => {}
        }
    }
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut bootstrap = std::env::var("OFFSET_LAB_KAFKA_BOOTSTRAP").unwrap_or_else(|_| "127.0.0.1:9092".into());
    let mut n: usize = 20_000;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--bootstrap" => bootstrap = args.next().expect("--bootstrap value"),
            "--records" => n = args.next().expect("--records value").parse().expect("a number"),
            _ => panic!("unknown argument {a}"),
        }
    }
    const BATCH: usize = 500;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve(listener, Config::new(&bootstrap)));
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws")).await.unwrap();
    let ns = match ws.next().await.unwrap().unwrap() {
        Message::Text(t) => match serde_json::from_str::<Response>(t.as_str()).unwrap().reply {
            Reply::Welcome { namespace, .. } => namespace,
            r => panic!("{r:?}"),
        },
        m => panic!("{m:?}"),
    };
    let mut id = 0;
    let mut next = || {
        id += 1;
        id
    };
    call(&mut ws, next(), Op::Hello { namespace: None, binary_records: true, join: None, resume: None }).await;
    let value = "x".repeat(100);
    let client = ClientBuilder::new(vec![bootstrap.clone()]).build().await.unwrap();
    // Two rounds, alternating bridge and direct; the second (warm) round is reported.
    let mut figures = (0.0, 0.0, 0.0, 0.0);
    let mut topics = Vec::new();
    for round in 0..2 {
        let (t_ws, t_rs) = (format!("{ns}bench-ws-{round}"), format!("{ns}bench-rs-{round}"));
        for t in [&t_ws, &t_rs] {
            call(&mut ws, next(), Op::CreateTopic { topic: t.clone(), partitions: 1 }).await;
            topics.push(t.clone());
        }
        // Through the bridge.
        let start = Instant::now();
        for b in 0..n.div_ceil(BATCH) {
            let lines: Vec<String> = (b * BATCH..((b + 1) * BATCH).min(n)).map(|i| format!("k{i}:::{value}")).collect();
            call(&mut ws, next(), Op::Produce { topic: t_ws.clone(), lines, separator: Some(":::".into()), partition: Some(0) }).await;
        }
        figures.0 = n as f64 / start.elapsed().as_secs_f64();
        let start = Instant::now();
        let mut offset = 0i64;
        while (offset as usize) < n {
            match call(&mut ws, next(), Op::Fetch { topic: t_ws.clone(), partition: 0, offset, max_records: 5_000 }).await {
                Reply::Records { batch } => offset = batch.records.last().map(|r| r.offset + 1).unwrap_or(offset),
                r => panic!("{r:?}"),
            }
        }
        figures.2 = n as f64 / start.elapsed().as_secs_f64();

        // rskafka direct, same sizes.
        let pc = client.partition_client(t_rs.clone(), 0, UnknownTopicHandling::Retry).await.unwrap();
        let start = Instant::now();
        for b in 0..n.div_ceil(BATCH) {
            let now = chrono::Utc::now();
            let records = (b * BATCH..((b + 1) * BATCH).min(n))
                .map(|i| rskafka::record::Record {
                    key: Some(format!("k{i}").into_bytes()),
                    value: Some(value.clone().into_bytes()),
                    headers: Default::default(),
                    timestamp: now,
                })
                .collect();
            pc.produce(records, Compression::NoCompression).await.unwrap();
        }
        figures.1 = n as f64 / start.elapsed().as_secs_f64();
        let start = Instant::now();
        let mut offset = 0i64;
        while (offset as usize) < n {
            let (recs, _) = pc.fetch_records(offset, 1..1_048_576, 50).await.unwrap();
            offset = recs.last().map(|r| r.offset + 1).unwrap_or(offset);
        }
        figures.3 = n as f64 / start.elapsed().as_secs_f64();
        assert_eq!(pc.get_offset(OffsetAt::Latest).await.unwrap(), n as i64);
    }
    let (ws_produce, rs_produce, ws_fetch, rs_fetch) = figures;
    let t_ws = topics[0].clone();

    // Produce → the page sees the new log end (a `logEnd` push of a watched topic).
    call(&mut ws, next(), Op::Watch { topic: t_ws.clone(), on: true }).await;
    let mut latencies = Vec::new();
    let mut end = n as i64;
    // Let the first push (the current state) arrive.
    loop {
        if let Message::Text(t) = ws.next().await.unwrap().unwrap() {
            if let Reply::LogEnd { .. } = serde_json::from_str::<Response>(t.as_str()).unwrap().reply {
                break;
            }
        }
    }
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..100 {
        // A pseudo-random pause, so samples fall anywhere in the bridge's polling period.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        tokio::time::sleep(Duration::from_millis(seed % 200)).await;
        let start = Instant::now();
        let pid = next();
        ws.send(Message::Text(
            Request::new(
                pid,
                Op::Produce { topic: t_ws.clone(), lines: vec!["k:::v".into()], separator: Some(":::".into()), partition: Some(0) },
            )
            .to_json()
            .into(),
        ))
        .await
        .unwrap();
        end += 1;
        loop {
            if let Message::Text(t) = ws.next().await.unwrap().unwrap() {
                if let Reply::LogEnd { partitions, .. } = serde_json::from_str::<Response>(t.as_str()).unwrap().reply {
                    if partitions[0].log_end >= end {
                        latencies.push(start.elapsed());
                        break;
                    }
                }
            }
        }
    }
    latencies.sort();
    for t in &topics {
        call(&mut ws, next(), Op::DeleteTopic { topic: t.clone() }).await;
    }
    println!("records: {n} × ~{} bytes, batches of {BATCH}, one partition, Kafka at {bootstrap}", value.len() + 6);
    println!("produce  bridge (websocket, JSON)   {ws_produce:>10.0} records/s");
    println!("produce  rskafka direct              {rs_produce:>10.0} records/s   bridge/direct = {:.2}", ws_produce / rs_produce);
    println!("fetch    bridge (websocket, binary) {ws_fetch:>10.0} records/s");
    println!("fetch    rskafka direct              {rs_fetch:>10.0} records/s   bridge/direct = {:.2}", ws_fetch / rs_fetch);
    println!(
        "produce → logEnd push on the page: p50 {:?}, p99 {:?} (100 samples; the bridge polls watched topics every 200 ms)",
        pct(&latencies, 0.5),
        pct(&latencies, 0.99)
    );
}
