//! Labs, identities and the teacher's operations against a real Kafka: a namespace alone resumes
//! nothing, a secret does (also after a bridge restart), wrong join codes and origins are refused before
//! the upgrade, crafted frames cannot reach another lab, the lock, quotas, idle cleanup, resetting one
//! lab, and the room's numbers. Needs `--features kafka-tests` and OFFSET_LAB_KAFKA_BOOTSTRAP (`cargo
//! xtask test kafka` sets both).

use bridge::server::{serve, Config};
use engine::kafka::{KafkaReply, KafkaRequest};
use engine::offsets::TopicPartition;
use engine::storage::{StorageReply, StorageRequest};
use futures_util::{SinkExt, StreamExt};
use protocol::*;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

fn bootstrap() -> String {
    std::env::var("OFFSET_LAB_KAFKA_BOOTSTRAP").expect("OFFSET_LAB_KAFKA_BOOTSTRAP is not set: run through `cargo xtask test kafka`")
}

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("offset-lab-workshop-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A workshop bridge on a fresh port with its state and checkpoints under `dir`.
fn workshop_config(dir: &Path) -> Config {
    let mut c = Config::new(bootstrap());
    c.workshop = Some(dir.join("state"));
    c.checkpoint_root = dir.join("checkpoints");
    c
}

async fn start(config: Config) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let h = tokio::spawn(async move { serve(listener, config).await.unwrap() });
    // Serving means the workshop's state folder is open (its join code written).
    for _ in 0..100 {
        if http_get(&addr, "/health").await.0 != 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (addr, h)
}

fn read_secret(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join("state").join(file)).unwrap().trim().to_string()
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

struct Client {
    ws: Ws,
    next: u64,
    welcome: Reply,
    /// Pushes (no id) that arrived while waiting for a reply.
    pushes: Vec<Reply>,
}

impl Client {
    /// Connects to `/ws?<query>`; Err is the HTTP status of a refused upgrade.
    async fn try_connect(addr: &str, query: &str, origin: Option<&str>) -> Result<Client, u16> {
        let mut req = format!("ws://{addr}/ws?{query}").into_client_request().unwrap();
        if let Some(o) = origin {
            req.headers_mut().insert("origin", o.parse().unwrap());
        }
        let ws = match tokio_tungstenite::connect_async(req).await {
            Ok((ws, _)) => ws,
            Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => return Err(resp.status().as_u16()),
            Err(e) => panic!("connect: {e}"),
        };
        let mut c = Client { ws, next: 0, welcome: Reply::LabStatusStored {}, pushes: vec![] };
        c.welcome = c.frame().await.reply;
        assert!(matches!(c.welcome, Reply::Welcome { .. }), "{:?}", c.welcome);
        Ok(c)
    }

    async fn connect(addr: &str, query: &str) -> Client {
        Client::try_connect(addr, query, None).await.unwrap_or_else(|s| panic!("refused with {s}"))
    }

    async fn frame(&mut self) -> Response {
        loop {
            let msg = tokio::time::timeout(Duration::from_secs(60), self.ws.next())
                .await
                .expect("a frame within 60 s")
                .expect("open")
                .expect("ok");
            if let Message::Text(t) = msg {
                return serde_json::from_str(t.as_str()).unwrap_or_else(|e| panic!("bad frame {t}: {e}"));
            }
        }
    }

    async fn call(&mut self, op: Op) -> Reply {
        self.next += 1;
        let id = self.next;
        self.ws.send(Message::Text(Request::new(id, op).to_json().into())).await.unwrap();
        loop {
            let r = self.frame().await;
            match r.id {
                Some(i) if i == id => return r.reply,
                None => self.pushes.push(r.reply),
                _ => {}
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

    async fn refused(&mut self, op: Op, want: ErrorCode) -> String {
        match self.call(op.clone()).await {
            Reply::Error { code, message } if code == want => message,
            r => panic!("{op:?}: wanted {want:?}, got {r:?}"),
        }
    }

    /// The next push matching `f`, waiting for it.
    async fn push(&mut self, f: impl Fn(&Reply) -> bool) -> Reply {
        if let Some(i) = self.pushes.iter().position(&f) {
            return self.pushes.remove(i);
        }
        loop {
            let r = self.frame().await;
            if r.id.is_none() && f(&r.reply) {
                return r.reply;
            }
        }
    }

    /// `hello {join: {name}}`: the new lab's namespace and secret.
    async fn join(&mut self, name: &str) -> (String, String) {
        match self.ok(hello(Some(name), None)).await {
            Reply::Welcome { namespace, lab_secret: Some(secret), participant, role: Role::Participant, .. } => {
                assert_eq!(participant.as_deref(), Some(name));
                (namespace, secret)
            }
            r => panic!("{r:?}"),
        }
    }

    fn namespace(&self) -> String {
        match &self.welcome {
            Reply::Welcome { namespace, .. } => namespace.clone(),
            r => panic!("{r:?}"),
        }
    }
}

fn hello(join: Option<&str>, resume: Option<&str>) -> Op {
    Op::Hello { namespace: None, binary_records: false, join: join.map(|n| Join { name: n.into() }), resume: resume.map(String::from) }
}

fn produce(topic: &str, n: usize) -> Op {
    Op::Produce { topic: topic.into(), records: (0..n).map(|i| NewRecord::new(None, &format!("v{i}"))).collect(), partition: Some(0) }
}

/// A raw HTTP GET: (status, content type, body).
async fn http_get(addr: &str, path: &str) -> (u16, String, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8_lossy(&buf).to_string();
    let status = text.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let ctype = text.lines().find_map(|l| l.strip_prefix("content-type: ")).unwrap_or("").to_string();
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    (status, ctype, body)
}

async fn topics_on_broker(prefix: &str) -> Vec<String> {
    let k = kafka_client::Kafka::new(bootstrap());
    k.list_topics().await.unwrap().into_iter().map(|t| t.topic).filter(|t| t.starts_with(prefix)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn solo_a_namespace_alone_is_refused_and_the_secret_resumes() {
    let dir = temp("solo");
    let mut config = Config::new(bootstrap());
    config.checkpoint_root = dir.join("checkpoints");
    let (addr, _h) = start(config).await;
    let mut ada = Client::connect(&addr, "").await;
    let (ns, secret) = match &ada.welcome {
        Reply::Welcome { namespace, lab_secret: Some(s), role: Role::Solo, .. } => (namespace.clone(), s.clone()),
        r => panic!("a solo welcome hands the lab's secret: {r:?}"),
    };
    let topic = format!("{ns}words");
    ada.ok(Op::CreateTopic { topic: topic.clone(), partitions: 1 }).await;

    // Someone who read the namespace off the projector.
    let mut eve = Client::connect(&addr, "").await;
    let eve_ns = eve.namespace();
    assert_ne!(eve_ns, ns);
    let msg = eve
        .refused(Op::Hello { namespace: Some(ns.clone()), binary_records: false, join: None, resume: None }, ErrorCode::ResumeNeedsSecret)
        .await;
    assert!(msg.contains(&ns), "{msg}");
    eve.refused(produce(&topic, 1), ErrorCode::Namespace).await;
    eve.refused(hello(None, Some(&ns)), ErrorCode::UnknownLab).await;
    // Its own namespace is fine to name (nothing is gained).
    eve.ok(Op::Hello { namespace: Some(eve_ns), binary_records: false, join: None, resume: None }).await;

    // Ada's second tab.
    let mut tab = Client::connect(&addr, "").await;
    match tab.ok(hello(None, Some(&secret))).await {
        Reply::Welcome { namespace, lab_secret: None, .. } => assert_eq!(namespace, ns),
        r => panic!("{r:?}"),
    }
    tab.ok(produce(&topic, 2)).await;
    ada.ok(Op::DeleteTopic { topic }).await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workshop_lab_is_resumed_by_its_secret_after_a_bridge_restart() {
    let dir = temp("restart");
    let (addr, first) = start(workshop_config(&dir)).await;
    let join = read_secret(&dir, "join-code");
    let mut ada = Client::connect(&addr, &format!("join={join}")).await;
    assert!(matches!(&ada.welcome, Reply::Welcome { namespace, role: Role::Participant, lab_secret: None, .. } if namespace.is_empty()));
    ada.refused(Op::DescribeTopic { topic: "x".into() }, ErrorCode::UnknownLab).await;
    let (ns, secret) = ada.join("Ada").await;
    let topic = format!("{ns}words");
    ada.ok(Op::CreateTopic { topic: topic.clone(), partitions: 1 }).await;
    ada.ok(produce(&topic, 3)).await;
    ada.ok(Op::Storage {
        request: StorageRequest::WriteCheckpoint { dir: "ckpt".into(), file_time: engine::time::Time(5000), bytes: b"five".to_vec() },
    })
    .await;
    ada.ok(Op::Storage { request: StorageRequest::Write { path: "ckpt/u1/rdd-1".into(), bytes: b"state".to_vec() } }).await;
    let status =
        Op::LabStatus { lesson: "retention".into(), chapter: 1, job: JobState::Running, exception: None, partitions: vec![], group: None };
    ada.ok(status).await;
    // A reload on the same bridge: the welcome says the lab is resumed, and on which lesson.
    let mut tab = Client::connect(&addr, &format!("join={join}")).await;
    match tab.ok(hello(None, Some(&secret))).await {
        Reply::Welcome { namespace, resumed: true, lesson, .. } => {
            assert_eq!((namespace, lesson.as_deref()), (ns.clone(), Some("retention")))
        }
        r => panic!("{r:?}"),
    }
    drop(tab);
    let file = std::fs::read_to_string(dir.join("state/participants.json")).unwrap();
    assert!(file.contains("\"Ada\"") && file.contains(&ns) && !file.contains(&secret), "{file}");

    // The bridge stops; a new one starts on the same state folder (and another port).
    drop(ada);
    first.abort();
    let _ = first.await;
    // The second bridge allows 50 bytes on the broker: the three records already there (measured on
    // Kafka, not counted from zero by the new bridge) leave no room.
    let mut config = workshop_config(&dir);
    config.quotas.broker_bytes = 50;
    let (addr2, _h) = start(config).await;
    assert_eq!(read_secret(&dir, "join-code"), join, "the join code is made once");
    let mut back = Client::connect(&addr2, &format!("join={join}")).await;
    match back.ok(hello(None, Some(&secret))).await {
        Reply::Welcome { namespace, participant, lab_secret: None, resumed, .. } => {
            assert_eq!(namespace, ns);
            assert_eq!(participant.as_deref(), Some("Ada"));
            assert!(resumed, "the welcome says the lab was there before");
        }
        r => panic!("{r:?}"),
    }
    // The page reads its checkpoint back: every file under ckpt (subfolders too) with its size, then each one.
    let files = match back.ok(Op::CheckpointFiles { dir: "ckpt".into() }).await {
        Reply::CheckpointFiles { files, .. } => files.into_iter().map(|f| (f.path, f.bytes)).collect::<Vec<_>>(),
        r => panic!("{r:?}"),
    };
    assert_eq!(files, vec![("ckpt/checkpoint-5000".to_string(), 4), ("ckpt/u1/rdd-1".to_string(), 5)]);
    match back.ok(Op::Storage { request: StorageRequest::Read { path: "ckpt/u1/rdd-1".into() } }).await {
        Reply::Storage { storage: StorageReply::Bytes { result: Ok(b) } } => assert_eq!(b, b"state"),
        r => panic!("{r:?}"),
    }
    let refused = back.refused(Op::CheckpointFiles { dir: "../lab-000000000000".into() }, ErrorCode::InvalidArgument).await;
    assert!(refused.contains("invalid storage path"), "another lab's folder: {refused}");
    match back.ok(Op::DescribeTopic { topic: topic.clone() }).await {
        Reply::Topic { partitions, .. } => assert_eq!(partitions[0].log_end, 3),
        r => panic!("{r:?}"),
    }
    let msg = back.refused(produce(&topic, 1), ErrorCode::QuotaExceeded).await;
    let on_broker: u64 =
        msg.strip_prefix("broker-bytes quota: ").and_then(|m| m.split(' ').next()).and_then(|n| n.parse().ok()).unwrap_or(0);
    assert!(on_broker > 50 && msg.contains("bytes of this lab's topics on the broker"), "{msg}");
    back.refused(hello(None, Some("0123456789abcdef0123456789abcdef")), ErrorCode::UnknownLab).await;
    back.ok(Op::DeleteTopic { topic }).await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_join_codes_teacher_secrets_and_origins_are_refused_readably() {
    let dir = temp("http");
    let dist = dir.join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    std::fs::write(dist.join("index.html"), "<!doctype html><p>the page</p>").unwrap();
    std::fs::write(dist.join("app.js"), "// js").unwrap();
    let mut config = workshop_config(&dir);
    config.dist = Some(dist);
    let (addr, _h) = start(config).await;
    let (join, teacher) = (read_secret(&dir, "join-code"), read_secret(&dir, "teacher-secret"));

    for path in ["/", "/?join=nope", "/?join=", &format!("/?teacher={join}")] {
        let (status, ctype, body) = http_get(&addr, path).await;
        assert_eq!(status, 403, "{path}");
        assert!(ctype.starts_with("text/html"), "{path}: {ctype}");
        assert!(body.contains("needs the link or QR code your teacher shows"), "{path}: {body}");
    }
    for path in ["/teacher", "/teacher?secret=nope", &format!("/teacher?secret={join}")] {
        let (status, _, body) = http_get(&addr, path).await;
        assert_eq!(status, 403, "{path}");
        assert!(body.contains("teacher link"), "{path}: {body}");
    }
    assert!(http_get(&addr, &format!("/?join={join}")).await.2.contains("the page"));
    assert!(http_get(&addr, &format!("/teacher?secret={teacher}")).await.2.contains("the page"));
    assert_eq!(http_get(&addr, "/app.js").await.0, 200, "assets hold nothing secret");

    assert_eq!(Client::try_connect(&addr, "join=nope", None).await.err(), Some(403));
    assert_eq!(Client::try_connect(&addr, "", None).await.err(), Some(403));
    assert_eq!(Client::try_connect(&addr, "teacher=nope", None).await.err(), Some(403));
    assert_eq!(Client::try_connect(&addr, &format!("join={join}"), Some("http://evil.example")).await.err(), Some(403));
    // The page loaded from the bridge's own address (a LAN address in a room) passes.
    let own = format!("http://{addr}");
    assert!(Client::try_connect(&addr, &format!("join={join}"), Some(&own)).await.is_ok());
    let t = Client::try_connect(&addr, &format!("teacher={teacher}"), Some(&own)).await.unwrap();
    assert!(matches!(&t.welcome, Reply::Welcome { role: Role::Teacher, namespace, .. } if !namespace.is_empty()));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crafted_frames_cannot_reach_another_lab() {
    let dir = temp("crafted");
    let (addr, _h) = start(workshop_config(&dir)).await;
    let join = read_secret(&dir, "join-code");
    let mut ada = Client::connect(&addr, &format!("join={join}")).await;
    let (ada_ns, _) = ada.join("Ada").await;
    let mut bob = Client::connect(&addr, &format!("join={join}")).await;
    let (bob_ns, _) = bob.join("Bob").await;
    let (ada_topic, ada_group) = (format!("{ada_ns}words"), format!("{ada_ns}g"));
    ada.ok(Op::CreateTopic { topic: ada_topic.clone(), partitions: 1 }).await;
    ada.ok(produce(&ada_topic, 2)).await;
    ada.ok(Op::Storage {
        request: StorageRequest::WriteCheckpoint { dir: "ckpt".into(), file_time: engine::time::Time(1000), bytes: b"x".to_vec() },
    })
    .await;

    bob.refused(produce(&ada_topic, 1), ErrorCode::Namespace).await;
    bob.refused(Op::DescribeTopic { topic: ada_topic.clone() }, ErrorCode::Namespace).await;
    bob.refused(Op::DeleteTopic { topic: ada_topic.clone() }, ErrorCode::Namespace).await;
    bob.refused(Op::DescribeGroup { group: ada_group.clone() }, ErrorCode::Namespace).await;
    bob.refused(Op::CommitOffsets { group: ada_group.clone(), offsets: vec![] }, ErrorCode::Namespace).await;
    bob.refused(Op::WatchOffsetsTopic { group: ada_group.clone(), on: true }, ErrorCode::Namespace).await;
    let fetch = KafkaRequest::OffsetFetch { group: ada_group.clone(), partitions: vec![TopicPartition::new(&ada_topic, 0)] };
    bob.refused(Op::Engine { request: fetch }, ErrorCode::Namespace).await;
    // Bob's own group reading Ada's topic is refused too.
    let fetch = KafkaRequest::OffsetFetch { group: format!("{bob_ns}g"), partitions: vec![TopicPartition::new(&ada_topic, 0)] };
    bob.refused(Op::Engine { request: fetch }, ErrorCode::Namespace).await;
    match bob.ok(Op::Engine { request: KafkaRequest::ListTopics }).await {
        Reply::Engine { kafka: KafkaReply::Topics { topics } } => assert!(topics.iter().all(|(t, _)| t.starts_with(&bob_ns)), "{topics:?}"),
        r => panic!("{r:?}"),
    }
    // Checkpoint paths are relative to Bob's own folder; none leaves it.
    let ada_folder = ada_ns.trim_end_matches('-');
    for path in [format!("../{ada_folder}/ckpt/checkpoint-1000"), "/etc/passwd".into(), format!("ckpt/../../{ada_folder}/ckpt")] {
        match bob.ok(Op::Storage { request: StorageRequest::Read { path: path.clone() } }).await {
            Reply::Storage { storage: StorageReply::Bytes { result: Err(e) } } => {
                assert!(e.contains("invalid storage path"), "{path}: {e}")
            }
            r => panic!("{path}: {r:?}"),
        }
    }
    match bob.ok(Op::Storage { request: StorageRequest::List { dir: "ckpt".into() } }).await {
        Reply::Storage { storage: StorageReply::Listing { result: Ok(files) } } => assert!(files.is_empty(), "{files:?}"),
        r => panic!("{r:?}"),
    }
    ada.ok(Op::DeleteTopic { topic: ada_topic }).await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teacher_ops_lock_pushes_and_not_teacher() {
    let dir = temp("teacher");
    let (addr, _h) = start(workshop_config(&dir)).await;
    let (join, secret) = (read_secret(&dir, "join-code"), read_secret(&dir, "teacher-secret"));
    let mut ada = Client::connect(&addr, &format!("join={join}")).await;
    let (ns, _) = ada.join("Ada").await;
    for op in [
        Op::WatchRoom { on: true },
        Op::PushChapter { lesson: "seed".into(), chapter: 1 },
        Op::Broadcast { text: "hi".into() },
        Op::Lock { locked: true },
        Op::ResetLab { namespace: None },
    ] {
        ada.refused(op, ErrorCode::NotTeacher).await;
    }
    let mut teacher = Client::connect(&addr, &format!("teacher={secret}")).await;
    let teacher_ns = teacher.namespace();
    assert_eq!(Client::connect(&addr, &format!("teacher={secret}")).await.namespace(), teacher_ns, "the teacher's lab is stable");

    let topic = format!("{ns}words");
    ada.ok(Op::CreateTopic { topic: topic.clone(), partitions: 1 }).await;
    assert_eq!(teacher.ok(Op::Lock { locked: true }).await, Reply::Locked { locked: true });
    assert_eq!(ada.push(|r| matches!(r, Reply::Locked { .. })).await, Reply::Locked { locked: true });
    let msg = ada.refused(Op::DeleteTopic { topic: topic.clone() }, ErrorCode::LockedByTeacher).await;
    assert!(msg.contains("deleteTopic"), "{msg}");
    ada.refused(Op::DeleteRecords { topic: topic.clone(), partition: 0, before_offset: 0 }, ErrorCode::LockedByTeacher).await;
    ada.refused(Op::Storage { request: StorageRequest::Delete { path: "ckpt".into() } }, ErrorCode::LockedByTeacher).await;
    ada.ok(produce(&topic, 1)).await;
    // A participant who arrives now sees the lock in the welcome.
    let late = Client::connect(&addr, &format!("join={join}")).await;
    assert!(matches!(late.welcome, Reply::Welcome { locked: true, .. }));

    teacher.ok(Op::PushChapter { lesson: "retention".into(), chapter: 2 }).await;
    assert_eq!(
        ada.push(|r| matches!(r, Reply::ChapterPushed { .. })).await,
        Reply::ChapterPushed { lesson: "retention".into(), chapter: 2 }
    );
    teacher.ok(Op::Broadcast { text: "Break until 11:00".into() }).await;
    assert_eq!(ada.push(|r| matches!(r, Reply::Broadcast { .. })).await, Reply::Broadcast { text: "Break until 11:00".into() });
    let long = "x".repeat(281);
    assert!(teacher.refused(Op::Broadcast { text: long }, ErrorCode::InvalidArgument).await.contains("281"));

    teacher.ok(Op::Lock { locked: false }).await;
    ada.push(|r| matches!(r, Reply::Locked { locked: false })).await;
    ada.ok(Op::DeleteTopic { topic }).await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quota_refusals_name_the_limit_and_the_numbers() {
    let dir = temp("quota");
    let mut config = workshop_config(&dir);
    config.quotas.topics = 1;
    config.quotas.records_per_minute = 3;
    config.quotas.checkpoint_bytes = 10;
    let (addr, _h) = start(config).await;
    let join = read_secret(&dir, "join-code");
    let mut ada = Client::connect(&addr, &format!("join={join}")).await;
    let (ns, _) = ada.join("Ada").await;
    let topic = format!("{ns}words");
    ada.ok(Op::CreateTopic { topic: topic.clone(), partitions: 1 }).await;
    let msg = ada.refused(Op::CreateTopic { topic: format!("{ns}other"), partitions: 1 }, ErrorCode::QuotaExceeded).await;
    assert!(msg.contains("1 topics of 1 allowed"), "{msg}");
    ada.ok(produce(&topic, 2)).await;
    let msg = ada.refused(produce(&topic, 2), ErrorCode::QuotaExceeded).await;
    assert!(msg.contains("2 records in the last 60 s + 2 = 4 > 3 allowed"), "{msg}");
    ada.ok(produce(&topic, 1)).await;
    let big = StorageRequest::Write { path: "ckpt/state".into(), bytes: vec![0; 11] };
    let msg = ada.refused(Op::Storage { request: big }, ErrorCode::QuotaExceeded).await;
    assert!(msg.contains("0 bytes in this lab's checkpoint folder + 11 = 11 > 10 allowed"), "{msg}");
    ada.ok(Op::DeleteTopic { topic }).await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_lab_loses_its_topics_and_checkpoints_but_keeps_its_record() {
    let dir = temp("idle");
    let mut config = workshop_config(&dir);
    config.idle_timeout = Duration::from_secs(1);
    let (addr, _h) = start(config).await;
    let join = read_secret(&dir, "join-code");
    let mut ada = Client::connect(&addr, &format!("join={join}")).await;
    let (ns, secret) = ada.join("Ada").await;
    let topic = format!("{ns}words");
    ada.ok(Op::CreateTopic { topic: topic.clone(), partitions: 1 }).await;
    ada.ok(Op::Storage {
        request: StorageRequest::WriteCheckpoint { dir: "ckpt".into(), file_time: engine::time::Time(1000), bytes: b"x".to_vec() },
    })
    .await;
    let folder = dir.join("checkpoints").join(ns.trim_end_matches('-'));
    assert!(folder.exists());
    // While connected nothing goes, however long.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(topics_on_broker(&ns).await, vec![topic.clone()]);
    drop(ada);
    let started = std::time::Instant::now();
    while !topics_on_broker(&ns).await.is_empty() || folder.exists() {
        assert!(started.elapsed() < Duration::from_secs(30), "the idle lab's topic and folder are still there after 30 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The record stays: the participant resumes into an empty lab.
    let mut back = Client::connect(&addr, &format!("join={join}")).await;
    assert!(matches!(back.ok(hello(None, Some(&secret))).await, Reply::Welcome { namespace, .. } if namespace == ns));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_lab_clears_one_lab_and_leaves_the_others() {
    let dir = temp("reset");
    let (addr, _h) = start(workshop_config(&dir)).await;
    let (join, secret) = (read_secret(&dir, "join-code"), read_secret(&dir, "teacher-secret"));
    let mut ada = Client::connect(&addr, &format!("join={join}")).await;
    let (ada_ns, _) = ada.join("Ada").await;
    let mut bob = Client::connect(&addr, &format!("join={join}")).await;
    let (bob_ns, _) = bob.join("Bob").await;
    for (c, ns) in [(&mut ada, &ada_ns), (&mut bob, &bob_ns)] {
        let topic = format!("{ns}words");
        c.ok(Op::CreateTopic { topic: topic.clone(), partitions: 1 }).await;
        c.ok(produce(&topic, 2)).await;
        c.ok(Op::CommitOffsets { group: format!("{ns}g"), offsets: vec![PartitionOffset { topic, partition: 0, offset: 1 }] }).await;
        c.ok(Op::Storage {
            request: StorageRequest::WriteCheckpoint { dir: "ckpt".into(), file_time: engine::time::Time(1000), bytes: b"x".to_vec() },
        })
        .await;
    }
    let mut teacher = Client::connect(&addr, &format!("teacher={secret}")).await;
    teacher.refused(Op::ResetLab { namespace: Some("lab-000000000000-".into()) }, ErrorCode::UnknownLab).await;
    assert_eq!(teacher.ok(Op::ResetLab { namespace: Some(ada_ns.clone()) }).await, Reply::LabReset { namespaces: vec![ada_ns.clone()] });
    assert_eq!(ada.push(|r| matches!(r, Reply::LabReset { .. })).await, Reply::LabReset { namespaces: vec![ada_ns.clone()] });
    assert!(topics_on_broker(&ada_ns).await.is_empty());
    assert!(!dir.join("checkpoints").join(ada_ns.trim_end_matches('-')).exists());
    let groups = kafka_client::Kafka::new(bootstrap()).list_groups().await.unwrap();
    assert!(!groups.contains(&format!("{ada_ns}g")), "{groups:?}");
    // Bob's lab is untouched.
    assert_eq!(topics_on_broker(&bob_ns).await, vec![format!("{bob_ns}words")]);
    assert!(groups.contains(&format!("{bob_ns}g")));
    assert!(dir.join("checkpoints").join(bob_ns.trim_end_matches('-')).join("ckpt").exists());
    assert!(bob.pushes.iter().all(|r| !matches!(r, Reply::LabReset { .. })), "{:?}", bob.pushes);
    // Ada's lab goes on: the same namespace can be used again at once.
    ada.ok(Op::CreateTopic { topic: format!("{ada_ns}words"), partitions: 1 }).await;
    teacher.ok(Op::ResetLab { namespace: None }).await;
    assert!(topics_on_broker(&bob_ns).await.is_empty() && topics_on_broker(&ada_ns).await.is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_room_shows_checkpoint_committed_and_log_offsets() {
    let dir = temp("room");
    let (addr, _h) = start(workshop_config(&dir)).await;
    let (join, secret) = (read_secret(&dir, "join-code"), read_secret(&dir, "teacher-secret"));
    let mut ada = Client::connect(&addr, &format!("join={join}")).await;
    let (ns, _) = ada.join("Ada").await;
    let (topic, group) = (format!("{ns}words"), format!("{ns}g"));
    ada.ok(Op::CreateTopic { topic: topic.clone(), partitions: 2 }).await;
    ada.ok(produce(&topic, 5)).await;
    ada.ok(Op::CommitOffsets { group: group.clone(), offsets: vec![PartitionOffset { topic: topic.clone(), partition: 0, offset: 3 }] })
        .await;
    let status = Op::LabStatus {
        lesson: "seed".into(),
        chapter: 2,
        job: JobState::Crashed,
        exception: Some(LabException {
            class: "java.lang.IllegalArgumentException".into(),
            message: "requirement failed: numRecords must not be negative".into(),
        }),
        partitions: vec![StatusPartition { topic: topic.clone(), partition: 0, checkpoint: Some(2) }],
        group: Some(group),
    };
    assert_eq!(ada.ok(status).await, Reply::LabStatusStored {});

    let mut teacher = Client::connect(&addr, &format!("teacher={secret}")).await;
    let check = |labs: &[RoomLab]| {
        let lab = labs.iter().find(|l| l.namespace == ns).expect("Ada's lab in the room");
        assert_eq!((lab.name.as_str(), lab.lesson.as_str(), lab.chapter, lab.job, lab.online), ("Ada", "seed", 2, JobState::Crashed, true));
        assert_eq!(lab.exception.as_ref().unwrap().class, "java.lang.IllegalArgumentException");
        let p0 = RoomPartition { topic: topic.clone(), partition: 0, checkpoint: Some(2), committed: Some(3), log_start: 0, log_end: 5 };
        let p1 = RoomPartition { topic: topic.clone(), partition: 1, checkpoint: None, committed: None, log_start: 0, log_end: 0 };
        assert_eq!(lab.partitions, vec![p0, p1]);
        assert!(labs.iter().any(|l| l.name == "teacher"));
    };
    match teacher.ok(Op::WatchRoom { on: true }).await {
        Reply::Room { labs } => check(&labs),
        r => panic!("{r:?}"),
    }
    // …and then once a second.
    match teacher.push(|r| matches!(r, Reply::Room { .. })).await {
        Reply::Room { labs } => check(&labs),
        r => panic!("{r:?}"),
    }
    drop(ada);
    let started = std::time::Instant::now();
    loop {
        if let Reply::Room { labs } = teacher.push(|r| matches!(r, Reply::Room { .. })).await {
            if labs.iter().any(|l| l.namespace == ns && !l.online) {
                break;
            }
        }
        assert!(started.elapsed() < Duration::from_secs(20), "Ada still online 20 s after leaving");
    }
    teacher.ok(Op::ResetLab { namespace: Some(ns) }).await;
    std::fs::remove_dir_all(&dir).unwrap();
}
