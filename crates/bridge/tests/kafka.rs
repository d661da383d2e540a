//! The bridge against a real Kafka, compared with Kafka's own tools. Run by `cargo xtask test`
//! (which starts Kafka and sets the variables below); needs `--features kafka-tests`.
//!
//! Env: OFFSET_LAB_KAFKA_BOOTSTRAP (host:port), OFFSET_LAB_KAFKA_CLASSPATH (java -cp of Kafka's jars),
//! OFFSET_LAB_KAFKA_LOG4J (the tools' log4j2 config, so their warnings reach stderr).

use bridge::partitioner::partition_for_key;
use bridge::server::{serve, Config};
use engine::kafka::{KafkaReply, KafkaRequest};
use engine::offsets::TopicPartition;
use futures_util::{SinkExt, StreamExt};
use protocol::*;
use std::collections::BTreeSet;
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

/// Runs a Kafka tool class; returns (exit code, stdout, stderr).
fn kafka_tool(class: &str, args: &[String]) -> (i32, String, String) {
    let out = Command::new("java")
        .args(["-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"])
        .arg(format!("-Dlog4j2.configurationFile={}", env("OFFSET_LAB_KAFKA_LOG4J")))
        .arg("-cp")
        .arg(env("OFFSET_LAB_KAFKA_CLASSPATH"))
        .arg(class)
        .args(args)
        .output()
        .expect("java runs");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

async fn kafka_tool_async(class: &'static str, args: Vec<String>) -> (i32, String, String) {
    tokio::task::spawn_blocking(move || kafka_tool(class, &args)).await.unwrap()
}

const CGC: &str = "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand";

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

/// What `kafka-consumer-groups --reset-offsets --dry-run` printed, in the bridge's terms.
#[derive(Debug, PartialEq)]
struct ToolReset {
    plan: BTreeSet<(String, i32, i64)>,
    warnings: BTreeSet<String>,
    error: Option<String>,
}

fn parse_tool_reset(group: &str, code: i32, out: &str, err: &str) -> ToolReset {
    let mut plan = BTreeSet::new();
    let mut warnings = BTreeSet::new();
    let mut error = None;
    for line in out.lines() {
        let cols: Vec<&str> = line.split_whitespace().collect();
        if cols.len() == 4 && cols[0] == group {
            plan.insert((cols[1].to_string(), cols[2].parse().unwrap(), cols[3].parse().unwrap()));
        } else if line.starts_with("Warn: ") {
            warnings.insert(line.trim_end().to_string());
        } else if let Some(e) = line.strip_prefix("Error: ") {
            error = Some(e.trim_end().to_string());
        }
    }
    for line in err.lines() {
        if let Some(i) = line.find(" WARN New offset") {
            let w = &line[i + " WARN ".len()..];
            let w = w.rsplit_once(" (org.apache").map(|(a, _)| a).unwrap_or(w);
            warnings.insert(w.to_string());
        }
    }
    if code != 0 && error.is_none() {
        // Usage errors (e.g. --shift-by without a committed offset) go to stderr before the usage text.
        error = err.lines().find(|l| !l.trim().is_empty()).map(|l| l.trim().to_string());
    }
    ToolReset { plan, warnings, error }
}

fn tool_args(bootstrap: &str, group: &str, scope: &ResetScope, strategy: &ResetStrategy) -> Vec<String> {
    let mut a = s(&["--bootstrap-server", bootstrap, "--group", group, "--reset-offsets", "--dry-run"]);
    match scope {
        ResetScope::AllTopics => a.push("--all-topics".into()),
        ResetScope::Topics { topics } => {
            for t in topics {
                a.push("--topic".into());
                a.push(match &t.partitions {
                    None => t.topic.clone(),
                    Some(ps) => format!("{}:{}", t.topic, ps.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(",")),
                });
            }
        }
    }
    match strategy {
        ResetStrategy::ToEarliest => a.push("--to-earliest".into()),
        ResetStrategy::ToLatest => a.push("--to-latest".into()),
        ResetStrategy::ToCurrent => a.push("--to-current".into()),
        ResetStrategy::ToOffset { offset } => a.extend(["--to-offset".into(), offset.to_string()]),
        ResetStrategy::ShiftBy { by } => a.extend(["--shift-by".into(), by.to_string()]),
        ResetStrategy::ToDatetime { timestamp_ms } => {
            let dt = chrono_like_utc(*timestamp_ms);
            a.extend(["--to-datetime".into(), dt]);
        }
        ResetStrategy::ByDuration { duration_ms } => a.extend(["--by-duration".into(), format!("PT{}S", duration_ms / 1000)]),
    }
    a
}

/// `YYYY-MM-DDTHH:mm:SS.sssZ` for epoch milliseconds (the tool's --to-datetime format, in UTC).
fn chrono_like_utc(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z", rem / 3600, rem % 3600 / 60, rem % 60, ms.rem_euclid(1000))
}

fn bridge_reset(reply: Reply) -> ToolReset {
    match reply {
        Reply::ResetOffsets { plan } => ToolReset {
            plan: plan.plan.into_iter().map(|o| (o.topic, o.partition, o.offset)).collect(),
            warnings: plan.warnings.into_iter().collect(),
            error: plan.refused,
        },
        Reply::Error { code: ErrorCode::Refused, message } => {
            ToolReset { plan: BTreeSet::new(), warnings: BTreeSet::new(), error: Some(message) }
        }
        other => panic!("unexpected reply {other:?}"),
    }
}

type Row = (String, i32, String, String, String, String);

/// The bridge's describe as the tool's columns TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG CONSUMER-ID.
fn describe_rows(d: &GroupDescription) -> BTreeSet<Row> {
    let dash = |o: Option<i64>| o.map(|v| v.to_string()).unwrap_or_else(|| "-".into());
    d.offsets
        .iter()
        .map(|o| {
            (
                o.topic.clone(),
                o.partition,
                dash(o.committed),
                dash(o.log_end),
                dash(o.lag),
                o.member_id.clone().unwrap_or_else(|| "-".into()),
            )
        })
        .collect()
}

fn tool_describe_rows(group: &str, out: &str) -> BTreeSet<Row> {
    let rows: BTreeSet<Row> = out
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|c| c.len() >= 7 && c[0] == group)
        .map(|c| (c[1].to_string(), c[2].parse().unwrap(), c[3].to_string(), c[4].to_string(), c[5].to_string(), c[6].to_string()))
        .collect();
    assert!(!rows.is_empty(), "no rows in the tool's describe:\n{out}");
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topics_produce_fetch_offsets_and_delete_records() {
    let bootstrap = env("OFFSET_LAB_KAFKA_BOOTSTRAP");
    let addr = start_bridge(Config::new(&bootstrap)).await;
    let mut c = Client::connect(&addr).await;
    let t = c.name("words");
    assert_eq!(c.ok(Op::CreateTopic { topic: t.clone(), partitions: 3 }).await, Reply::TopicCreated { topic: t.clone(), partitions: 3 });
    match c.ok(Op::ListTopics).await {
        Reply::Topics { topics } => assert_eq!(topics, vec![TopicSummary { topic: t.clone(), partitions: 3 }]),
        r => panic!("{r:?}"),
    }
    let records = keyed(&["a:::1", "b:::2", "c:::3", "a:::4", "d:::5", "e:::6"]);
    let produced = match c.ok(Op::Produce { topic: t.clone(), records, partition: None }).await {
        Reply::Produced { records, .. } => records,
        r => panic!("{r:?}"),
    };
    assert_eq!(produced.len(), 6);
    for r in &produced {
        assert_eq!(r.partition, partition_for_key(r.key.as_ref().unwrap().as_bytes(), 3), "{r:?}");
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
    c.ok(Op::Hello { namespace: Some(c.ns.clone()), binary_records: true }).await;
    match c.ok(Op::Fetch { topic: t.clone(), partition: pa, offset: 1, max_records: 1 }).await {
        Reply::Records { batch } => {
            assert_eq!(batch.records.len(), 1);
            assert_eq!(batch.records[0].offset, 1);
        }
        r => panic!("{r:?}"),
    }

    // Delete records moves the log start; list offsets sees it.
    assert_eq!(
        c.ok(Op::DeleteRecords { topic: t.clone(), partition: pa, before_offset: 1 }).await,
        Reply::RecordsDeleted { topic: t.clone(), partition: pa, log_start: 1 }
    );
    match c.ok(Op::ListOffsets { topic: t.clone(), spec: OffsetQuery::Earliest }).await {
        Reply::Offsets { offsets, .. } => assert_eq!(offsets[pa as usize].offset, Some(1)),
        r => panic!("{r:?}"),
    }
    match c.ok(Op::ListOffsets { topic: t.clone(), spec: OffsetQuery::Latest }).await {
        Reply::Offsets { offsets, .. } => assert_eq!(offsets[pa as usize].offset, Some(end_a)),
        r => panic!("{r:?}"),
    }
    match c.ok(Op::ListOffsets { topic: t.clone(), spec: OffsetQuery::Timestamp { ms: 4_102_444_800_000 } }).await {
        Reply::Offsets { offsets, .. } => assert!(offsets.iter().all(|o| o.offset.is_none()), "{offsets:?}"),
        r => panic!("{r:?}"),
    }
    match c.ok(Op::ListOffsets { topic: t.clone(), spec: OffsetQuery::Timestamp { ms: 0 } }).await {
        Reply::Offsets { offsets, .. } => assert_eq!(offsets[pa as usize].offset, Some(1)),
        r => panic!("{r:?}"),
    }

    assert_eq!(c.ok(Op::DeleteTopic { topic: t.clone() }).await, Reply::TopicDeleted { topic: t.clone() });
    match c.ok(Op::ListTopics).await {
        Reply::Topics { topics } => assert!(topics.is_empty(), "{topics:?}"),
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_land_where_the_console_producer_puts_them() {
    let bootstrap = env("OFFSET_LAB_KAFKA_BOOTSTRAP");
    let addr = start_bridge(Config::new(&bootstrap)).await;
    let mut c = Client::connect(&addr).await;
    let t = c.name("placement");
    c.ok(Op::CreateTopic { topic: t.clone(), partitions: 5 }).await;
    let keys: Vec<String> = (0..40).map(|i| format!("key-{i}")).collect();
    let input: String = keys.iter().map(|k| format!("{k}:::v\n")).collect();
    let mut child = Command::new("java")
        .args(["-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"])
        .arg(format!("-Dlog4j2.configurationFile={}", env("OFFSET_LAB_KAFKA_LOG4J")))
        .arg("-cp")
        .arg(env("OFFSET_LAB_KAFKA_CLASSPATH"))
        .arg("org.apache.kafka.tools.ConsoleProducer")
        .args(["--bootstrap-server", &bootstrap, "--topic", &t, "--property", "parse.key=true", "--property", "key.separator=:::"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    assert!(tokio::task::spawn_blocking(move || child.wait()).await.unwrap().unwrap().success());
    let mut seen = 0;
    for p in 0..5 {
        if let Reply::Records { batch } = c.ok(Op::Fetch { topic: t.clone(), partition: p, offset: 0, max_records: 100 }).await {
            for r in batch.records {
                let k = r.key.unwrap();
                assert_eq!(partition_for_key(k.as_bytes(), 5), p, "console producer put {k} on partition {p}");
                seen += 1;
            }
        }
    }
    assert_eq!(seen, 40);
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
async fn reset_offsets_matches_the_real_tools_dry_run() {
    let bootstrap = env("OFFSET_LAB_KAFKA_BOOTSTRAP");
    let addr = start_bridge(Config::new(&bootstrap)).await;
    let mut c = Client::connect(&addr).await;
    let (t, g) = reset_fixture(&mut c).await;
    let topic = |parts: Option<Vec<i32>>| ResetScope::Topics { topics: vec![TopicScope { topic: t.clone(), partitions: parts }] };
    let cases: Vec<(ResetScope, ResetStrategy)> = vec![
        (ResetScope::AllTopics, ResetStrategy::ToEarliest),
        (topic(None), ResetStrategy::ToEarliest),
        (topic(None), ResetStrategy::ToLatest),
        (topic(None), ResetStrategy::ToCurrent),
        (topic(Some(vec![0, 2])), ResetStrategy::ToOffset { offset: 1 }),
        (topic(None), ResetStrategy::ToOffset { offset: 100 }),
        (ResetScope::AllTopics, ResetStrategy::ShiftBy { by: -5 }),
        (ResetScope::AllTopics, ResetStrategy::ShiftBy { by: 2 }),
        (topic(None), ResetStrategy::ShiftBy { by: 1 }),
        (topic(None), ResetStrategy::ToDatetime { timestamp_ms: 0 }),
        (topic(None), ResetStrategy::ToDatetime { timestamp_ms: 4_102_444_800_000 }),
        (topic(Some(vec![1])), ResetStrategy::ByDuration { duration_ms: 3_600_000 }),
    ];
    for (scope, strategy) in cases {
        let ours = bridge_reset(
            c.call(Op::ResetOffsets { group: g.clone(), scope: scope.clone(), strategy: strategy.clone(), execute: false }).await,
        );
        let (code, out, err) = kafka_tool_async(CGC, tool_args(&bootstrap, &g, &scope, &strategy)).await;
        let theirs = parse_tool_reset(&g, code, &out, &err);
        assert!(!theirs.plan.is_empty() || theirs.error.is_some(), "the tool's output did not parse:\n{out}\n{err}");
        assert_eq!(ours, theirs, "{scope:?} {strategy:?}\n--- tool stdout ---\n{out}\n--- tool stderr ---\n{err}");
    }
    // Sanity: the comparison above saw clamping and the fallback at least once.
    let ours = bridge_reset(
        c.call(Op::ResetOffsets {
            group: g.clone(),
            scope: topic(None),
            strategy: ResetStrategy::ToOffset { offset: 100 },
            execute: false,
        })
        .await,
    );
    assert_eq!(ours.warnings.len(), 3);

    // --execute changes the committed offsets.
    let r =
        c.ok(Op::ResetOffsets { group: g.clone(), scope: topic(Some(vec![2])), strategy: ResetStrategy::ToEarliest, execute: true }).await;
    assert!(matches!(r, Reply::ResetOffsets { plan: ResetPlan { executed: true, .. } }), "{r:?}");
    match c.ok(Op::DescribeGroup { group: g.clone() }).await {
        Reply::Group { group } => {
            assert_eq!(group.state, protocol::GroupState::Empty);
            type Described = (i32, Option<i64>, Option<i64>, Option<i64>);
            let rows: Vec<Described> = group.offsets.iter().map(|o| (o.partition, o.committed, o.log_end, o.lag)).collect();
            assert_eq!(rows, vec![(0, Some(3), Some(4), Some(1)), (1, Some(1), Some(5), Some(4)), (2, Some(0), Some(6), Some(6))]);
        }
        r => panic!("{r:?}"),
    }
    c.ok(Op::DeleteTopic { topic: t }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_membership_keeps_the_group_stable_and_reset_is_refused_like_the_tool() {
    let bootstrap = env("OFFSET_LAB_KAFKA_BOOTSTRAP");
    let addr = start_bridge(Config::new(&bootstrap)).await;
    let mut c = Client::connect(&addr).await;
    let (t, g) = reset_fixture(&mut c).await;
    let poll = KafkaRequest::GroupPoll {
        group: g.clone(),
        member_id: None,
        client_id: "driver".into(),
        topics: vec![t.clone()],
        session_timeout_ms: 120_000,
    };
    let (member, generation) = match c.ok(Op::Engine { request: poll }).await {
        Reply::Engine { kafka: KafkaReply::Assignment { member_id, generation, partitions } } => {
            assert_eq!(partitions, (0..3).map(|p| TopicPartition::new(t.clone(), p)).collect::<Vec<_>>());
            (member_id, generation)
        }
        r => panic!("{r:?}"),
    };
    // A second poll heartbeats and keeps the assignment.
    let poll = KafkaRequest::GroupPoll {
        group: g.clone(),
        member_id: Some(member.clone()),
        client_id: "driver".into(),
        topics: vec![t.clone()],
        session_timeout_ms: 120_000,
    };
    assert!(
        matches!(c.ok(Op::Engine { request: poll }).await, Reply::Engine { kafka: KafkaReply::Assignment { generation: g2, .. } } if g2 == generation)
    );

    let scope = ResetScope::AllTopics;
    let strategy = ResetStrategy::ToEarliest;
    let ours =
        bridge_reset(c.call(Op::ResetOffsets { group: g.clone(), scope: scope.clone(), strategy: strategy.clone(), execute: false }).await);
    let (code, out, err) = kafka_tool_async(CGC, tool_args(&bootstrap, &g, &scope, &strategy)).await;
    assert_eq!(ours, parse_tool_reset(&g, code, &out, &err), "tool: {out}\n{err}");
    assert_eq!(ours.error, Some(format!("Assignments can only be reset if the group '{g}' is inactive, but the current state is Stable.")));

    // A member's commit (with generation) works; an admin commit (generation −1) is fenced.
    let commit = KafkaRequest::OffsetCommit {
        group: g.clone(),
        member: Some((member.clone(), generation)),
        offsets: vec![(TopicPartition::new(t.clone(), 1), 2)],
    };
    assert_eq!(c.ok(Op::Engine { request: commit }).await, Reply::Engine { kafka: KafkaReply::CommitResult { result: Ok(()) } });
    let commit = KafkaRequest::OffsetCommit { group: g.clone(), member: None, offsets: vec![(TopicPartition::new(t.clone(), 1), 3)] };
    match c.ok(Op::Engine { request: commit }).await {
        Reply::Engine { kafka: KafkaReply::CommitResult { result: Err(e) } } => {
            assert_ne!(e, engine::kafka::KafkaError::Other(String::new()))
        }
        r => panic!("{r:?}"),
    }
    // Our describe equals `kafka-consumer-groups --describe` row for row.
    let described = match c.ok(Op::DescribeGroup { group: g.clone() }).await {
        Reply::Group { group } => group,
        r => panic!("{r:?}"),
    };
    let (_, out, err) = kafka_tool_async(CGC, s(&["--bootstrap-server", &bootstrap, "--describe", "--group", &g])).await;
    assert_eq!(describe_rows(&described), tool_describe_rows(&g, &out), "tool:\n{out}\n{err}");
    let (_, out, _) = kafka_tool_async(CGC, s(&["--bootstrap-server", &bootstrap, "--list"])).await;
    let listed: BTreeSet<String> = out.lines().map(|l| l.trim().to_string()).filter(|l| l.starts_with(&c.ns)).collect();
    match c.ok(Op::ListGroups).await {
        Reply::Groups { groups } => assert_eq!(groups.into_iter().map(|g| g.group).collect::<BTreeSet<_>>(), listed),
        r => panic!("{r:?}"),
    }
    match c.ok(Op::DescribeGroup { group: g.clone() }).await {
        Reply::Group { group } => {
            assert_eq!(group.state, protocol::GroupState::Stable);
            assert_eq!(group.members.len(), 1);
            assert_eq!(group.members[0].member_id, member);
            assert_eq!(group.offsets.iter().find(|o| o.partition == 1).unwrap().committed, Some(2));
            assert!(group.offsets.iter().all(|o| o.member_id.as_deref() == Some(member.as_str())));
        }
        r => panic!("{r:?}"),
    }
    // The engine's offset fetch and fetch.
    let fetch = KafkaRequest::OffsetFetch {
        group: g.clone(),
        partitions: vec![TopicPartition::new(t.clone(), 1), TopicPartition::new(t.clone(), 2)],
    };
    assert_eq!(
        c.ok(Op::Engine { request: fetch }).await,
        Reply::Engine {
            kafka: KafkaReply::Committed {
                offsets: vec![(TopicPartition::new(t.clone(), 1), Some(2)), (TopicPartition::new(t.clone(), 2), None)]
            }
        }
    );
    match c
        .ok(Op::Engine { request: KafkaRequest::Fetch { partition: TopicPartition::new(t.clone(), 0), offset: 2, max_records: 10 } })
        .await
    {
        Reply::Engine { kafka: KafkaReply::Records { records, log_start_offset, high_watermark } } => {
            assert_eq!((log_start_offset, high_watermark), (2, 4));
            assert_eq!(records.iter().map(|r| r.offset).collect::<Vec<_>>(), vec![2, 3]);
        }
        r => panic!("{r:?}"),
    }
    // Below the log start: OFFSET_OUT_OF_RANGE, as an executor would see it.
    match c
        .ok(Op::Engine { request: KafkaRequest::Fetch { partition: TopicPartition::new(t.clone(), 0), offset: 0, max_records: 10 } })
        .await
    {
        Reply::Engine { kafka: KafkaReply::FetchError { error } } => assert_eq!(error, engine::kafka::KafkaError::OffsetOutOfRange),
        r => panic!("{r:?}"),
    }

    // Leaving empties the group; the reset is then allowed.
    assert_eq!(
        c.ok(Op::Engine { request: KafkaRequest::LeaveGroup { group: g.clone(), member_id: member } }).await,
        Reply::Engine { kafka: KafkaReply::Left }
    );
    let ours = bridge_reset(c.call(Op::ResetOffsets { group: g.clone(), scope, strategy, execute: false }).await);
    assert_eq!(ours.error, None);
    assert_eq!(ours.plan.len(), 2);
    c.ok(Op::DeleteTopic { topic: t }).await;
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
    match b.ok(Op::ListTopics).await {
        Reply::Topics { topics } => assert!(topics.is_empty(), "{topics:?}"),
        r => panic!("{r:?}"),
    }
    for op in [
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
    b.send_raw(r#"{"v":1,"id":77,"op":"rmRf"}"#.into()).await;
    assert!(matches!(b.frame().await, Either::Text(Response { id: Some(77), reply: Reply::Error { code: ErrorCode::UnknownOp, .. }, .. })));
    b.send_raw(format!(r#"{{"v":1,"id":78,"op":"listTopics","pad":"{}"}}"#, "x".repeat(MAX_FRAME_BYTES))).await;
    assert!(matches!(b.frame().await, Either::Text(Response { reply: Reply::Error { code: ErrorCode::FrameTooLarge, .. }, .. })));
    b.ws.send(Message::Binary(vec![1, 2, 3].into())).await.unwrap();
    assert!(matches!(b.frame().await, Either::Text(Response { reply: Reply::Error { code: ErrorCode::BadFrame, .. }, .. })));
    assert!(matches!(b.ok(Op::ListTopics).await, Reply::Topics { .. }));
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
    match c.call(Op::ListTopics).await {
        Reply::Error { code: ErrorCode::KafkaUnavailable, message } => assert!(message.contains(&port.to_string()), "{message}"),
        r => panic!("{r:?}"),
    }
    match c.call(Op::ListGroups).await {
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

/// Every JSON object the `__consumer_offsets` formatter printed for `group` (it prints them back to back).
fn formatter_records(bootstrap: &str, partition: i32, formatter: &str, group: &str) -> Vec<serde_json::Value> {
    let (_, out, err) = kafka_tool(
        "org.apache.kafka.tools.consumer.ConsoleConsumer",
        &s(&[
            "--bootstrap-server",
            bootstrap,
            "--topic",
            "__consumer_offsets",
            "--partition",
            &partition.to_string(),
            "--offset",
            "earliest",
            "--formatter",
            formatter,
            "--consumer-property",
            "exclude.internal.topics=false",
            "--timeout-ms",
            "5000",
        ]),
    );
    let all: Vec<serde_json::Value> =
        serde_json::Deserializer::from_str(&out).into_iter::<serde_json::Value>().map(|v| v.expect("formatter JSON")).collect();
    assert!(!all.is_empty(), "the formatter printed nothing for partition {partition}: {err}");
    all.into_iter().filter(|v| v["key"]["data"]["group"] == group).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumer_offsets_feed_matches_kafkas_formatters() {
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
        Reply::OffsetsTopic { partition, .. } => partition,
        r => panic!("{r:?}"),
    };
    let b2 = bootstrap.clone();
    let g2 = g.clone();
    let (commits, groups) = tokio::task::spawn_blocking(move || {
        (
            formatter_records(&b2, partition, "org.apache.kafka.tools.consumer.OffsetsMessageFormatter", &g2),
            formatter_records(&b2, partition, "org.apache.kafka.tools.consumer.GroupMetadataMessageFormatter", &g2),
        )
    })
    .await
    .unwrap();
    assert_eq!(commits.len(), 3, "{commits:?}");
    assert!(groups.len() >= 2, "{groups:?}");

    // Collect the bridge's pushes until it has as many records as the formatters printed.
    let mut ours = Vec::new();
    while ours.len() < commits.len() + groups.len() {
        if let Either::Text(Response { reply: Reply::OffsetsTopic { group, records, .. }, id: None, .. }) = c.frame().await {
            assert_eq!(group, g);
            ours.extend(records);
        }
    }
    let our_commits: Vec<serde_json::Value> = ours
        .iter()
        .filter_map(|r| match r {
            OffsetsTopicRecord::OffsetCommit { group, topic, partition, value, .. } => Some(serde_json::json!({
                "key": {"type": 1, "data": {"group": group, "topic": topic, "partition": partition}},
                "value": value.as_ref().map(|v| serde_json::json!({"version": v.version, "data": {
                    "offset": v.offset, "leaderEpoch": v.leader_epoch, "metadata": v.metadata, "commitTimestamp": v.commit_timestamp}}))
            })),
            _ => None,
        })
        .collect();
    assert_eq!(our_commits, commits);
    let summary = |v: &serde_json::Value| {
        let d = &v["value"]["data"];
        let members: Vec<serde_json::Value> = d["members"]
            .as_array()
            .map(|ms| {
                ms.iter()
                    .map(|m| serde_json::json!([m["memberId"], m["clientId"], m["clientHost"], m["sessionTimeout"], m["rebalanceTimeout"]]))
                    .collect()
            })
            .unwrap_or_default();
        serde_json::json!([
            v["value"]["version"],
            d["protocolType"],
            d["generation"],
            d["protocol"],
            d["leader"],
            d["currentStateTimestamp"],
            members
        ])
    };
    let our_groups: Vec<serde_json::Value> = ours
        .iter()
        .filter_map(|r| match r {
            OffsetsTopicRecord::GroupMetadata { value, .. } => Some(match value {
                None => serde_json::json!(null),
                Some(v) => serde_json::json!([
                    v.version,
                    v.protocol_type,
                    v.generation,
                    v.protocol,
                    v.leader,
                    v.current_state_timestamp,
                    v.members
                        .iter()
                        .map(|m| serde_json::json!([m.member_id, m.client_id, m.client_host, m.session_timeout, m.rebalance_timeout]))
                        .collect::<Vec<_>>()
                ]),
            }),
            _ => None,
        })
        .collect();
    let their_groups: Vec<serde_json::Value> =
        groups.iter().map(|v| if v["value"].is_null() { serde_json::json!(null) } else { summary(v) }).collect();
    assert_eq!(our_groups, their_groups);
    c.ok(Op::DeleteTopic { topic: t }).await;
}
