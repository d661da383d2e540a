//! The bridge's websocket against a real Kafka: namespaces, frames, pushes, Kafka going away, and the
//! `__consumer_offsets` feed compared with Kafka's own formatters (the client itself is tested in
//! `crates/kafka-client/tests/kafka.rs`). Run by `cargo xtask test`
//! (which starts Kafka and sets the variables below); needs `--features kafka-tests`.
//!
//! Env: OFFSET_LAB_KAFKA_BOOTSTRAP (host:port); OFFSET_LAB_XTASK and OFFSET_LAB_CACHE for the test that
//! stops and restarts a broker of its own.

use bridge::server::{serve, Config};
use engine::kafka::{KafkaReply, KafkaRequest};
use engine::offsets::TopicPartition;
use futures_util::{SinkExt, StreamExt};
use protocol::*;
use std::process::Command;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run these tests through `cargo xtask test` (it starts Kafka)"))
}

async fn start_bridge(config: Config) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move { serve(listener, config).await.unwrap() });
    addr
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

struct Client {
    ws: Ws,
    /// Feed pushes (`logEnd`, `offsetsTopic`) that arrived while waiting for a reply, kept for `frame`.
    pending: std::collections::VecDeque<Response>,
    next: u64,
    ns: String,
    welcome_kafka: KafkaState,
}

impl Client {
    async fn connect(addr: &str) -> Client {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws")).await.expect("websocket connects");
        let mut c = Client {
            ws,
            pending: Default::default(),
            next: 0,
            ns: String::new(),
            welcome_kafka: KafkaState { up: false, bootstrap: String::new(), detail: None },
        };
        match c.frame().await {
            Either::Text(Response { reply: Reply::Welcome { namespace, kafka, .. }, .. }) => {
                c.ns = namespace;
                c.welcome_kafka = kafka;
            }
            other => panic!("expected welcome, got {other:?}"),
        }
        c
    }

    fn name(&self, s: &str) -> String {
        format!("{}{s}", self.ns)
    }

    async fn frame(&mut self) -> Either {
        if let Some(r) = self.pending.pop_front() {
            return Either::Text(r);
        }
        self.wire_frame().await
    }

    async fn wire_frame(&mut self) -> Either {
        loop {
            let msg = tokio::time::timeout(std::time::Duration::from_secs(60), self.ws.next())
                .await
                .expect("a frame within 60 s")
                .expect("open")
                .expect("ok");
            match msg {
                Message::Text(t) => return Either::Text(serde_json::from_str(t.as_str()).unwrap_or_else(|e| panic!("bad reply {t}: {e}"))),
                Message::Binary(b) => return Either::Binary(decode_records(&b).expect("valid binary frame")),
                _ => continue,
            }
        }
    }

    async fn send_raw(&mut self, text: String) {
        self.ws.send(Message::Text(text.into())).await.unwrap();
    }

    /// Sends `op` and returns the reply with its id (pushes in between are skipped).
    async fn call(&mut self, op: Op) -> Reply {
        self.next += 1;
        let id = self.next;
        self.send_raw(Request::new(id, op).to_json()).await;
        loop {
            match self.wire_frame().await {
                Either::Text(r) if r.id == Some(id) => return r.reply,
                Either::Binary((rid, batch)) if rid == id => return Reply::Records { batch },
                Either::Text(r) if matches!(r.reply, Reply::LogEnd { .. } | Reply::OffsetsTopic { .. }) => self.pending.push_back(r),
                _ => continue,
            }
        }
    }

    async fn ok(&mut self, op: Op) -> Reply {
        let r = self.call(op.clone()).await;
        if let Reply::Error { code, message } = &r {
            panic!("{op:?} failed: {code:?} {message}");
        }
        r
    }
}

/// Console-producer lines split as the tool splits them (`key:::value`).
fn keyed(lines: &[&str]) -> Vec<NewRecord> {
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let (k, v) = kafka_model::partitioner::parse_line(l, Some(":::"), i + 1).unwrap();
            NewRecord { key: k, value: v }
        })
        .collect()
}

#[derive(Debug)]
enum Either {
    Text(Response),
    Binary((u64, RecordBatch)),
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topics_produce_fetch_watch_and_delete_records() {
    let bootstrap = env("OFFSET_LAB_KAFKA_BOOTSTRAP");
    let addr = start_bridge(Config::new(&bootstrap)).await;
    let mut c = Client::connect(&addr).await;
    let t = c.name("words");
    assert_eq!(c.ok(Op::CreateTopic { topic: t.clone(), partitions: 3 }).await, Reply::TopicCreated { topic: t.clone(), partitions: 3 });
    let records = keyed(&["a:::1", "b:::2", "c:::3", "a:::4", "d:::5", "e:::6"]);
    let produced = match c.ok(Op::Produce { topic: t.clone(), records, partition: None }).await {
        Reply::Produced { records, .. } => records,
        r => panic!("{r:?}"),
    };
    assert_eq!(produced.len(), 6);
    for r in &produced {
        assert_eq!(r.partition, kafka_model::partitioner::partition_for_key(r.key.as_ref().unwrap().as_bytes(), 3), "{r:?}");
    }
    // Per partition, records got consecutive offsets from 0 in the order they were given.
    for p in 0..3 {
        let offs: Vec<i64> = produced.iter().filter(|r| r.partition == p).map(|r| r.offset).collect();
        assert_eq!(offs, (0..offs.len() as i64).collect::<Vec<_>>(), "partition {p}");
    }

    let described = match c.ok(Op::DescribeTopic { topic: t.clone() }).await {
        Reply::Topic { partitions, .. } => partitions,
        r => panic!("{r:?}"),
    };
    let total: i64 = described.iter().map(|p| p.log_end - p.log_start).sum();
    assert_eq!(total, 6);
    let pa = produced[0].partition;
    let end_a = described[pa as usize].log_end;
    assert!(end_a >= 2);

    // A watched topic pushes its log ends now and after every change.
    match c.ok(Op::Watch { topic: t.clone(), on: true }).await {
        Reply::Topics { topics } => assert_eq!(topics.len(), 1),
        r => panic!("{r:?}"),
    }
    let mut pushed = None;
    let target = described.clone();
    c.ok(Op::Produce { topic: t.clone(), records: keyed(&["a:::7"]), partition: None }).await;
    while pushed.is_none() {
        if let Either::Text(Response { id: None, reply: Reply::LogEnd { topic, partitions }, .. }) = c.frame().await {
            assert_eq!(topic, t);
            if partitions[pa as usize].log_end == target[pa as usize].log_end + 1 {
                pushed = Some(partitions);
            }
        }
    }
    c.ok(Op::Watch { topic: t.clone(), on: false }).await;
    let end_a = end_a + 1;

    // Fetch, JSON.
    match c.ok(Op::Fetch { topic: t.clone(), partition: pa, offset: 0, max_records: 100 }).await {
        Reply::Records { batch } => {
            assert_eq!(batch.high_watermark, end_a);
            assert_eq!(batch.records.len() as i64, end_a);
            assert_eq!(batch.records.iter().map(|r| r.offset).collect::<Vec<_>>(), (0..end_a).collect::<Vec<_>>());
            assert_eq!(batch.records[0].key.as_deref(), Some("a"));
            assert_eq!(batch.records[0].value, "1");
        }
        r => panic!("{r:?}"),
    }
    // Fetch, binary frames, with max_records.
    c.ok(Op::Hello { namespace: None, binary_records: true, join: None, resume: None }).await;
    match c.ok(Op::Fetch { topic: t.clone(), partition: pa, offset: 1, max_records: 1 }).await {
        Reply::Records { batch } => {
            assert_eq!(batch.records.len(), 1);
            assert_eq!(batch.records[0].offset, 1);
        }
        r => panic!("{r:?}"),
    }

    // Delete records moves the log start.
    assert_eq!(
        c.ok(Op::DeleteRecords { topic: t.clone(), partition: pa, before_offset: 1 }).await,
        Reply::RecordsDeleted { topic: t.clone(), partition: pa, log_start: 1 }
    );
    match c.ok(Op::DescribeTopic { topic: t.clone() }).await {
        Reply::Topic { partitions, .. } => assert_eq!((partitions[pa as usize].log_start, partitions[pa as usize].log_end), (1, end_a)),
        r => panic!("{r:?}"),
    }

    assert_eq!(c.ok(Op::DeleteTopic { topic: t.clone() }).await, Reply::TopicDeleted { topic: t.clone() });
    match c.call(Op::DescribeTopic { topic: t.clone() }).await {
        Reply::Error { code: ErrorCode::Kafka, message } => assert!(message.contains("UNKNOWN_TOPIC_OR_PARTITION"), "{message}"),
        r => panic!("{r:?}"),
    }
    // Deleted and re-created at once with the same name (§6(a)): a fresh, empty log.
    c.ok(Op::CreateTopic { topic: t.clone(), partitions: 1 }).await;
    match c.ok(Op::DescribeTopic { topic: t.clone() }).await {
        Reply::Topic { partitions, .. } => assert_eq!(partitions, vec![PartitionRange { partition: 0, log_start: 0, log_end: 0 }]),
        r => panic!("{r:?}"),
    }
    c.ok(Op::DeleteTopic { topic: t }).await;
}

/// Sets up topic `t` (3 partitions) and group `g`: p0 log [2, 4+), p1 some records, p2 none committed.
async fn reset_fixture(c: &mut Client) -> (String, String) {
    let t = c.name("reset");
    let g = c.name("g");
    c.ok(Op::CreateTopic { topic: t.clone(), partitions: 3 }).await;
    for p in 0..3 {
        let records = (0..(4 + p)).map(|i| NewRecord::new(None, &format!("v{i}"))).collect();
        c.ok(Op::Produce { topic: t.clone(), records, partition: Some(p) }).await;
    }
    c.ok(Op::DeleteRecords { topic: t.clone(), partition: 0, before_offset: 2 }).await;
    let offsets =
        vec![PartitionOffset { topic: t.clone(), partition: 0, offset: 3 }, PartitionOffset { topic: t.clone(), partition: 1, offset: 1 }];
    match c.ok(Op::CommitOffsets { group: g.clone(), offsets }).await {
        Reply::Committed { results, .. } => assert!(results.iter().all(|r| r.error.is_none()), "{results:?}"),
        r => panic!("{r:?}"),
    }
    (t, g)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespaces_frames_and_origins_are_enforced() {
    let bootstrap = env("OFFSET_LAB_KAFKA_BOOTSTRAP");
    let addr = start_bridge(Config::new(&bootstrap)).await;
    let mut a = Client::connect(&addr).await;
    let mut b = Client::connect(&addr).await;
    assert_ne!(a.ns, b.ns);
    let ta = a.name("mine");
    a.ok(Op::CreateTopic { topic: ta.clone(), partitions: 1 }).await;
    // b can neither see nor touch a's topic.
    for op in [
        Op::DescribeTopic { topic: ta.clone() },
        Op::DeleteTopic { topic: ta.clone() },
        Op::Fetch { topic: ta.clone(), partition: 0, offset: 0, max_records: 1 },
        Op::DescribeGroup { group: a.name("g") },
        Op::CreateTopic { topic: "unprefixed".into(), partitions: 1 },
        Op::Engine { request: KafkaRequest::Fetch { partition: TopicPartition::new(ta.clone(), 0), offset: 0, max_records: 1 } },
    ] {
        match b.call(op.clone()).await {
            Reply::Error { code: ErrorCode::Namespace, .. } => {}
            r => panic!("{op:?} was not refused: {r:?}"),
        }
    }
    // Malformed frames get error replies and the connection stays usable.
    b.send_raw("{not json".into()).await;
    assert!(matches!(b.frame().await, Either::Text(Response { id: None, reply: Reply::Error { code: ErrorCode::BadFrame, .. }, .. })));
    b.send_raw(r#"{"v":1,"id":77,"op":"listTopics"}"#.into()).await;
    assert!(matches!(b.frame().await, Either::Text(Response { id: Some(77), reply: Reply::Error { code: ErrorCode::UnknownOp, .. }, .. })));
    b.send_raw(format!(r#"{{"v":1,"id":78,"op":"deleteTopic","topic":"{}"}}"#, "x".repeat(MAX_FRAME_BYTES))).await;
    assert!(matches!(b.frame().await, Either::Text(Response { reply: Reply::Error { code: ErrorCode::FrameTooLarge, .. }, .. })));
    b.ws.send(Message::Binary(vec![1, 2, 3].into())).await.unwrap();
    assert!(matches!(b.frame().await, Either::Text(Response { reply: Reply::Error { code: ErrorCode::BadFrame, .. }, .. })));
    assert!(matches!(b.ok(Op::Watch { topic: b.name("t"), on: false }).await, Reply::Topics { .. }));
    // A produce to a partition the topic does not have is refused, naming both.
    match a.call(Op::Produce { topic: ta.clone(), records: keyed(&["k:::v"]), partition: Some(7) }).await {
        Reply::Error { code: ErrorCode::InvalidArgument, message } => assert!(message.contains("partition 7"), "{message}"),
        r => panic!("{r:?}"),
    }
    // A foreign Origin is refused at the upgrade.
    let mut req = format!("ws://{addr}/ws").into_client_request().unwrap();
    req.headers_mut().insert("origin", "http://evil.example".parse().unwrap());
    match tokio_tungstenite::connect_async(req).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => assert_eq!(resp.status(), 403),
        other => panic!("foreign origin accepted: {:?}", other.map(|_| ())),
    }
    a.ok(Op::DeleteTopic { topic: ta }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_unreachable_gives_clear_errors_and_the_bridge_keeps_serving() {
    // A port with nothing behind it: bind, note the port, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = start_bridge(Config::new(format!("127.0.0.1:{port}"))).await;
    let mut c = Client::connect(&addr).await;
    assert!(!c.welcome_kafka.up);
    match c.call(Op::DescribeTopic { topic: c.name("t") }).await {
        Reply::Error { code: ErrorCode::KafkaUnavailable, message } => assert!(message.contains(&port.to_string()), "{message}"),
        r => panic!("{r:?}"),
    }
    match c.call(Op::DescribeGroup { group: c.name("g") }).await {
        Reply::Error { code: ErrorCode::KafkaUnavailable, .. } => {}
        r => panic!("{r:?}"),
    }
    // Still serving: a new connection is welcomed.
    let c2 = Client::connect(&addr).await;
    assert!(!c2.ns.is_empty());
}

/// A broker of this test's own on free ports, driven through `cargo xtask kafka` (the binary is passed
/// in `OFFSET_LAB_XTASK`); stopped and wiped when dropped.
struct OwnKafka {
    port: u16,
}

/// Runs `xtask kafka <cmd>` for the broker on `port`.
fn own_kafka(port: u16, cmd: &str) {
    let status = Command::new(env("OFFSET_LAB_XTASK"))
        .args(["kafka", cmd])
        .env("OFFSET_LAB_KAFKA_PORT", port.to_string())
        .env("OFFSET_LAB_CACHE", env("OFFSET_LAB_CACHE"))
        .status()
        .expect("xtask runs");
    assert!(status.success(), "xtask kafka {cmd} on port {port} failed: {status}");
}

async fn own_kafka_async(port: u16, cmd: &'static str) {
    tokio::task::spawn_blocking(move || own_kafka(port, cmd)).await.unwrap()
}

fn free_port_pair() -> u16 {
    loop {
        let p = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        if p < 65535 && std::net::TcpListener::bind(("127.0.0.1", p + 1)).is_ok() {
            return p;
        }
    }
}

impl Drop for OwnKafka {
    fn drop(&mut self) {
        own_kafka(self.port, "reset");
    }
}

impl Client {
    /// Waits for a `kafkaStatus` push saying `up`.
    async fn await_status(&mut self, up: bool) {
        loop {
            if let Either::Text(Response { reply: Reply::KafkaStatus { kafka }, .. }) = self.frame().await {
                if kafka.up == up {
                    return;
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_stopped_and_restarted_mid_session() {
    let own = OwnKafka { port: free_port_pair() };
    own_kafka_async(own.port, "start").await;
    let addr = start_bridge(Config::new(format!("127.0.0.1:{}", own.port))).await;
    let mut c = Client::connect(&addr).await;
    if !c.welcome_kafka.up {
        c.await_status(true).await;
    }
    let t = c.name("durable");
    c.ok(Op::CreateTopic { topic: t.clone(), partitions: 1 }).await;
    c.ok(Op::Produce { topic: t.clone(), records: keyed(&["k:::1", "k:::2", "k:::3"]), partition: None }).await;

    own_kafka_async(own.port, "stop").await;
    c.await_status(false).await;
    match c.call(Op::Fetch { topic: t.clone(), partition: 0, offset: 0, max_records: 10 }).await {
        Reply::Error { code: ErrorCode::KafkaUnavailable, .. } => {}
        r => panic!("expected kafkaUnavailable while Kafka is stopped, got {r:?}"),
    }

    own_kafka_async(own.port, "start").await;
    c.await_status(true).await;
    // Nothing acknowledged was lost, and the session goes on.
    match c.ok(Op::Fetch { topic: t.clone(), partition: 0, offset: 0, max_records: 10 }).await {
        Reply::Records { batch } => assert_eq!(batch.records.iter().map(|r| r.value.as_str()).collect::<Vec<_>>(), vec!["1", "2", "3"]),
        r => panic!("{r:?}"),
    }
    match c.ok(Op::Produce { topic: t.clone(), records: keyed(&["k:::4"]), partition: None }).await {
        Reply::Produced { records, .. } => assert_eq!(records[0].offset, 3),
        r => panic!("{r:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumer_offsets_feed_pushes_the_groups_records() {
    let bootstrap = env("OFFSET_LAB_KAFKA_BOOTSTRAP");
    let addr = start_bridge(Config::new(&bootstrap)).await;
    let mut c = Client::connect(&addr).await;
    let (t, g) = reset_fixture(&mut c).await;
    // A member joins and leaves (GroupMetadata records), and commits once more (an OffsetCommit record).
    let poll = KafkaRequest::GroupPoll {
        group: g.clone(),
        member_id: None,
        client_id: "driver".into(),
        topics: vec![t.clone()],
        session_timeout_ms: 120_000,
        metadata_max_age_ms: engine::METADATA_MAX_AGE_MS,
    };
    let (member, generation) = match c.ok(Op::Engine { request: poll }).await {
        Reply::Engine { kafka: KafkaReply::Assignment { member_id, generation, .. } } => (member_id, generation),
        r => panic!("{r:?}"),
    };
    let commit = KafkaRequest::OffsetCommit {
        group: g.clone(),
        member: Some((member.clone(), generation)),
        offsets: vec![(TopicPartition::new(t.clone(), 1), 2)],
    };
    c.ok(Op::Engine { request: commit }).await;
    c.ok(Op::Engine { request: KafkaRequest::LeaveGroup { group: g.clone(), member_id: member } }).await;

    let partition = match c.ok(Op::WatchOffsetsTopic { group: g.clone(), on: true }).await {
        Reply::OffsetsTopic { partition, records, .. } => {
            assert!(records.is_empty(), "the first answer names the partition; records come as pushes");
            partition
        }
        r => panic!("{r:?}"),
    };
    // The pushes carry what the client reads from that partition (compared with Kafka's own formatters
    // in crates/kafka-client/tests/kafka.rs): 3 commits, a join and a leave at least.
    let (expected, _) = kafka_client::Kafka::new(&bootstrap).read_offsets_topic(&g, partition, None).await.unwrap();
    assert!(expected.len() >= 5, "{expected:?}");
    let mut ours = Vec::new();
    while ours.len() < expected.len() {
        if let Either::Text(Response { reply: Reply::OffsetsTopic { group, records, .. }, id: None, .. }) = c.frame().await {
            assert_eq!(group, g);
            ours.extend(records);
        }
    }
    assert_eq!(ours, expected);
    c.ok(Op::WatchOffsetsTopic { group: g.clone(), on: false }).await;
    c.ok(Op::DeleteTopic { topic: t }).await;
}
