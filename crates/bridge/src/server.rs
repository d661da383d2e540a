//! The websocket server: origin, token and workshop checks, the lab each connection holds (handed
//! out with a secret, resumed only by it), rate and size limits, quotas, the teacher's operations and
//! pushes, dispatch of protocol requests to [`kafka_client::Kafka`], Kafka status and log-end pushes.

use crate::labs::{Labs, Status};
use crate::namespace::Namespace;
use crate::quota::{record_bytes, Quotas};
use crate::room::{folder_bytes, reset_lab, snapshot, LabView};
use crate::workshop::{forbidden_page, index_page, Who, Workshop};
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response as HttpResponse};
use axum::routing::get;
use axum::Router;
use checkpoint_dir::CheckpointDir;
use engine::kafka::KafkaRequest;
use engine::storage::StorageRequest;
use kafka_client::{Kafka, OpError};
use protocol::*;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, watch};

#[derive(Clone, Debug)]
pub struct Config {
    pub bootstrap: String,
    /// Built web app to serve at `/` (optional).
    pub dist: Option<PathBuf>,
    /// Origins allowed besides the bridge's own (`http://<Host>`).
    pub allowed_origins: Vec<String>,
    /// Required as `?token=` on `/ws` when set (a token or a workshop is mandatory beyond loopback).
    pub token: Option<String>,
    /// Per-connection namespaces (on by default).
    pub namespaces: bool,
    /// Requests per second a connection may make on average, and the burst above it.
    pub rate_per_sec: f64,
    pub rate_burst: f64,
    /// Checkpoint files go to `<checkpoint_root>/<namespace>/…`.
    pub checkpoint_root: PathBuf,
    /// Workshop mode: the state folder (join code, teacher secret, participants.json).
    pub workshop: Option<PathBuf>,
    pub quotas: Quotas,
    /// Labs nobody holds for this long have their topics, groups and checkpoint folder deleted.
    pub idle_timeout: Duration,
    /// Labs this bridge hands out at most.
    pub max_labs: usize,
}

impl Config {
    pub fn new(bootstrap: impl Into<String>) -> Config {
        Config {
            bootstrap: bootstrap.into(),
            dist: None,
            allowed_origins: vec![],
            token: None,
            namespaces: true,
            rate_per_sec: 200.0,
            rate_burst: 400.0,
            checkpoint_root: PathBuf::from(".cache/checkpoints"),
            workshop: None,
            quotas: Quotas::default(),
            idle_timeout: Duration::from_secs(45 * 60),
            max_labs: 500,
        }
    }
}

/// What the teacher sends to every participant.
#[derive(Clone, Debug)]
enum Push {
    Chapter {
        lesson: String,
        chapter: u32,
    },
    Broadcast(String),
    Locked(bool),
    /// This lab was reset.
    Reset(String),
}

struct App {
    config: Config,
    kafka: Kafka,
    status: watch::Receiver<KafkaState>,
    workshop: Option<Workshop>,
    labs: Mutex<Labs>,
    pushes: broadcast::Sender<Push>,
    locked: AtomicBool,
    room: watch::Receiver<Vec<RoomLab>>,
    room_watchers: AtomicUsize,
}

impl App {
    /// The lab store; a panic elsewhere while it was held leaves plain data, still usable.
    fn labs(&self) -> std::sync::MutexGuard<'_, Labs> {
        self.labs.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn save_labs(&self) {
        if let Err(e) = self.labs().save() {
            eprintln!("bridge: cannot save the workshop's participants: {e}");
        }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// Serves until the listener fails. Refuses to listen beyond loopback without a token or a workshop.
pub async fn serve(listener: tokio::net::TcpListener, config: Config) -> std::io::Result<()> {
    let addr = listener.local_addr()?;
    let refuse = |m: String| std::io::Error::new(std::io::ErrorKind::PermissionDenied, m);
    if !addr.ip().is_loopback() && config.token.is_none() && config.workshop.is_none() {
        return Err(refuse(format!("listening on {addr} (beyond loopback) requires --token or --workshop")));
    }
    let workshop = match &config.workshop {
        Some(dir) if !config.namespaces => {
            return Err(refuse(format!("--workshop {} needs namespaces (drop --no-namespace)", dir.display())))
        }
        Some(dir) => Some(Workshop::open(dir).map_err(refuse)?),
        None => None,
    };
    let labs = match &workshop {
        Some(w) => Labs::load(&w.participants_file(), config.max_labs).map_err(refuse)?,
        None => Labs::in_memory(config.max_labs),
    };
    let kafka = Kafka::new(config.bootstrap.clone());
    let (status_tx, status_rx) =
        watch::channel(KafkaState { up: false, bootstrap: config.bootstrap.clone(), detail: Some("not checked yet".into()) });
    let (room_tx, room_rx) = watch::channel(Vec::new());
    let app = Arc::new(App {
        config: config.clone(),
        kafka,
        status: status_rx,
        workshop,
        labs: Mutex::new(labs),
        pushes: broadcast::channel(64).0,
        locked: AtomicBool::new(false),
        room: room_rx,
        room_watchers: AtomicUsize::new(0),
    });
    tokio::spawn(health(Arc::clone(&app), status_tx));
    tokio::spawn(room_task(Arc::clone(&app), room_tx));
    tokio::spawn(idle_cleanup(Arc::clone(&app)));
    let mut router = Router::new().route("/ws", get(ws_handler)).route("/health", get(health_handler));
    if app.workshop.is_some() {
        router = router.route("/", get(join_page)).route("/teacher", get(teacher_page));
    }
    let mut router = router.with_state(Arc::clone(&app));
    if let Some(dist) = &config.dist {
        router = router.fallback_service(tower_http::services::ServeDir::new(dist));
    }
    axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>()).await
}

/// Workshop: `/?join=CODE` is the page; without the code, a page saying where to get it.
async fn join_page(State(app): State<Arc<App>>, Query(query): Query<HashMap<String, String>>) -> HttpResponse {
    match app.workshop.as_ref().and_then(|w| w.who(&query)) {
        Some(Who::Participant) | Some(Who::Teacher) => index_page(app.config.dist.as_deref()),
        _ => forbidden_page(false),
    }
}

/// Workshop: `/teacher?secret=S` is the page (which reads its path); anything else is refused.
async fn teacher_page(State(app): State<Arc<App>>, Query(query): Query<HashMap<String, String>>) -> HttpResponse {
    let as_teacher: HashMap<String, String> = query.get("secret").map(|s| [("teacher".to_string(), s.clone())].into()).unwrap_or_default();
    match app.workshop.as_ref().and_then(|w| w.who(&as_teacher)) {
        Some(Who::Teacher) => index_page(app.config.dist.as_deref()),
        _ => forbidden_page(true),
    }
}

/// Computes the room once a second while a teacher watches it.
async fn room_task(app: Arc<App>, tx: watch::Sender<Vec<RoomLab>>) {
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        if tx.is_closed() {
            return;
        }
        if app.room_watchers.load(Ordering::Relaxed) == 0 {
            continue;
        }
        let labs = snapshot(&app.kafka, room_views(&app)).await;
        let _ = tx.send(labs);
    }
}

fn room_views(app: &App) -> Vec<LabView> {
    let labs = app.labs();
    labs.all().map(|l| LabView { record: l.record.clone(), status: l.status.clone(), online: l.online > 0 }).collect()
}

/// Deletes what idle labs left on the broker and disk; saves the participants now and then.
async fn idle_cleanup(app: Arc<App>) {
    let idle = app.config.idle_timeout;
    let every = (idle / 4).clamp(Duration::from_millis(100), Duration::from_secs(30));
    let idle_ms = idle.as_millis() as i64;
    loop {
        tokio::time::sleep(every).await;
        let now = now_ms();
        let idle_labs = app.labs().idle(now, idle_ms);
        for ns in idle_labs {
            match reset_lab(&app.kafka, &app.config.checkpoint_root, &ns).await {
                Ok(removed) => {
                    app.labs().cleaned(&ns);
                    if !removed.is_empty() {
                        eprintln!("bridge: lab {ns} idle for over {} s: removed {}", idle.as_secs(), removed.join(", "));
                    }
                }
                Err(e) => eprintln!("bridge: cleaning idle lab {ns}: {e}"),
            }
        }
        app.labs().forget_idle_solo(now, idle_ms);
        app.save_labs();
    }
}

/// Pings Kafka every second; publishes changes so every connection can tell its page.
async fn health(app: Arc<App>, tx: watch::Sender<KafkaState>) {
    loop {
        let state = match app.kafka.ping().await {
            Ok(()) => KafkaState { up: true, bootstrap: app.config.bootstrap.clone(), detail: None },
            Err(e) => KafkaState { up: false, bootstrap: app.config.bootstrap.clone(), detail: Some(e) },
        };
        tx.send_if_modified(|old| {
            let changed = old.up != state.up;
            if changed || old.detail.is_some() != state.detail.is_some() {
                *old = state;
            }
            changed
        });
        if tx.is_closed() && tx.receiver_count() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn health_handler(State(app): State<Arc<App>>) -> impl IntoResponse {
    let s = app.status.borrow().clone();
    (if s.up { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE }, serde_json::to_string(&s).unwrap_or_default())
}

async fn ws_handler(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    ws: WebSocketUpgrade,
) -> HttpResponse {
    if let Err(why) = check_origin(&headers, &app.config.allowed_origins) {
        return (StatusCode::FORBIDDEN, why).into_response();
    }
    if let Some(token) = &app.config.token {
        if !query.get("token").is_some_and(|t| crate::secret::same(t, token)) {
            return (StatusCode::UNAUTHORIZED, "missing or wrong ?token=").into_response();
        }
    }
    let who = match &app.workshop {
        None => Who::Solo,
        Some(w) => match w.who(&query) {
            Some(who) => who,
            None => return forbidden_page(query.contains_key("teacher")),
        },
    };
    // Frames up to 4× our limit reach us and get a clear FrameTooLarge reply; bigger ones are closed by
    // the websocket layer with close code 1009 (message too big).
    ws.max_message_size(MAX_FRAME_BYTES * 4).max_frame_size(MAX_FRAME_BYTES * 4).on_upgrade(move |socket| connection(socket, app, who))
}

/// Browsers always send `Origin`; it must be the bridge's own (`http://<Host>`, so a LAN address or
/// host name the page was loaded from works) or a configured one. Non-browser clients send none and
/// cannot be abused by a web page, so they pass.
pub fn check_origin(headers: &HeaderMap, allowed: &[String]) -> Result<(), String> {
    let Some(origin) = headers.get("origin").and_then(|o| o.to_str().ok()) else { return Ok(()) };
    let host = headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("");
    let own = [format!("http://{host}"), format!("https://{host}")];
    if own.iter().any(|o| o == origin) || allowed.iter().any(|a| a == origin) {
        Ok(())
    } else {
        Err(format!("origin {origin} is not allowed (own origin http://{host}; add others with --allow-origin)"))
    }
}

struct Bucket {
    tokens: f64,
    last: tokio::time::Instant,
}

/// The lab a connection holds, and who it is.
struct Holder {
    who: Who,
    /// `None`: a workshop participant that has not joined or resumed yet.
    ns: Option<Namespace>,
    participant: Option<String>,
    /// The lab held existed before this connection took it (the welcome says so).
    resumed: bool,
}

impl Holder {
    /// Takes lab `ns`, letting go of the one held before.
    fn hold(&mut self, app: &App, ns: Namespace, participant: Option<String>) {
        let now = now_ms();
        let mut labs = app.labs();
        if let Some(old) = &self.ns {
            labs.disconnected(old.prefix(), now);
        }
        labs.connected(ns.prefix(), now);
        self.ns = Some(ns);
        self.participant = participant;
    }

    fn release(&mut self, app: &App) {
        if let Some(old) = self.ns.take() {
            app.labs().disconnected(old.prefix(), now_ms());
        }
    }
}

/// Decrements the room's watcher count when a watching teacher stops or goes away.
struct RoomWatch<'a>(&'a AtomicUsize);

impl Drop for RoomWatch<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

async fn connection(mut socket: WebSocket, app: Arc<App>, who: Who) {
    let mut holder = Holder { who, ns: None, participant: None, resumed: false };
    // A solo page gets a lab at once (and its secret, once); a teacher gets the teacher's own lab; a
    // workshop participant gets one by joining or resuming.
    let mut first_secret = None;
    match who {
        Who::Solo if !app.config.namespaces => holder.ns = Some(Namespace::open()),
        Who::Solo => {
            let made = app.labs().create("", now_ms());
            match made {
                Ok((ns, secret)) => {
                    holder.hold(&app, ns, None);
                    first_secret = Some(secret);
                }
                Err(e) => {
                    let _ = send(&mut socket, Response::new(None, Reply::Error { code: ErrorCode::QuotaExceeded, message: e })).await;
                    return;
                }
            }
        }
        Who::Teacher => {
            let existed = app.labs().all().any(|l| l.record.teacher);
            let made = app.labs().teacher(now_ms());
            match made {
                Ok(ns) => {
                    holder.hold(&app, ns, Some(crate::labs::TEACHER.into()));
                    holder.resumed = existed;
                }
                Err(e) => {
                    let _ = send(&mut socket, Response::new(None, Reply::Error { code: ErrorCode::QuotaExceeded, message: e })).await;
                    return;
                }
            }
            app.save_labs();
        }
        Who::Participant => {}
    }
    connection_loop(&mut socket, &app, &mut holder, first_secret).await;
    holder.release(&app);
}

async fn connection_loop(socket: &mut WebSocket, app: &Arc<App>, holder: &mut Holder, first_secret: Option<String>) {
    let mut binary = false;
    let mut status = app.status.clone();
    let mut pushes = app.pushes.subscribe();
    let mut room: Option<(watch::Receiver<Vec<RoomLab>>, RoomWatch<'_>)> = None;
    let (tx, mut rx) = mpsc::channel::<Message>(256);
    let mut watches: BTreeMap<String, Vec<PartitionRange>> = BTreeMap::new();
    // group → (its __consumer_offsets partition, next offset to read; None = from the log start)
    let mut group_watches: BTreeMap<String, (i32, Option<i64>)> = BTreeMap::new();
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let (read_tx, mut read_rx) = mpsc::channel::<WatchRead>(1);
    let mut reading = false;
    let mut bucket = Bucket { tokens: app.config.rate_burst, last: tokio::time::Instant::now() };
    if send(socket, welcome(app, holder, binary, first_secret)).await.is_err() {
        return;
    }
    loop {
        tokio::select! {
            msg = socket.recv() => {
                let Some(Ok(msg)) = msg else { break };
                let text = match msg {
                    Message::Text(t) => t.as_str().to_string(),
                    Message::Binary(_) => {
                        let r = Response::new(None, Reply::Error { code: ErrorCode::BadFrame, message: "binary frames are only sent by the bridge; send JSON text".into() });
                        if send(socket, r).await.is_err() { break }
                        continue;
                    }
                    Message::Close(_) => break,
                    _ => continue,
                };
                // Token bucket: refill by elapsed time, spend one per request.
                let now = tokio::time::Instant::now();
                bucket.tokens = (bucket.tokens + now.duration_since(bucket.last).as_secs_f64() * app.config.rate_per_sec).min(app.config.rate_burst);
                bucket.last = now;
                let parsed = parse_request(&text);
                // Every frame costs a token, malformed ones too, so a flood of garbage is limited as well.
                if bucket.tokens < 1.0 {
                    let id = parsed.as_ref().map(|r| Some(r.id)).unwrap_or_else(|e| e.id);
                    let r = Response::new(id, Reply::Error { code: ErrorCode::RateLimited, message: format!("more than {} requests/s", app.config.rate_per_sec) });
                    if send(socket, r).await.is_err() { break }
                    continue;
                }
                bucket.tokens -= 1.0;
                let req = match parsed {
                    Ok(r) => r,
                    Err(e) => {
                        if send(socket, e.into_response()).await.is_err() { break }
                        continue;
                    }
                };
                let id = req.id;
                let answer = |r: Reply| Response::new(Some(id), r);
                match req.op {
                    Op::Hello { namespace, binary_records, join, resume } => {
                        binary = binary_records;
                        let r = match hello(app, holder, namespace, join, resume) {
                            Ok(secret) => { let mut w = welcome(app, holder, binary, secret); w.id = Some(id); w }
                            Err(e) => answer(Reply::Error { code: e.code, message: e.message }),
                        };
                        if send(socket, r).await.is_err() { break }
                    }
                    op @ (Op::WatchRoom { .. } | Op::PushChapter { .. } | Op::Broadcast { .. } | Op::Lock { .. } | Op::ResetLab { .. }) => {
                        if holder.who != Who::Teacher {
                            let name = op_name(&op);
                            let r = answer(Reply::Error { code: ErrorCode::NotTeacher, message: format!("`{name}` is the teacher's; this connection is {}", if holder.who == Who::Participant { "a participant" } else { "not in a workshop" }) });
                            if send(socket, r).await.is_err() { break }
                            continue;
                        }
                        let reply = match op {
                            Op::WatchRoom { on } => {
                                if on && room.is_none() {
                                    app.room_watchers.fetch_add(1, Ordering::Relaxed);
                                    room = Some((app.room.clone(), RoomWatch(&app.room_watchers)));
                                } else if !on {
                                    room = None;
                                }
                                if on { Some(Reply::Room { labs: snapshot(&app.kafka, room_views(app)).await }) } else { Some(Reply::Room { labs: vec![] }) }
                            }
                            Op::ResetLab { namespace } => {
                                let (app, tx) = (Arc::clone(app), tx.clone());
                                tokio::spawn(async move {
                                    let r = reset_labs(&app, namespace).await;
                                    let _ = tx.send(Message::Text(Response::new(Some(id), r).to_json().into())).await;
                                });
                                None
                            }
                            op => Some(teacher_push(app, op)),
                        };
                        if let Some(r) = reply {
                            if send(socket, answer(r)).await.is_err() { break }
                        }
                    }
                    _ if holder.ns.is_none() => {
                        let r = answer(Reply::Error { code: ErrorCode::UnknownLab, message: "no lab yet: send hello {join: {name}} (first visit) or hello {resume: SECRET} (the labSecret of your first welcome)".into() });
                        if send(socket, r).await.is_err() { break }
                    }
                    Op::LabStatus { lesson, chapter, job, exception, partitions, group } => {
                        let ns = holder.ns.as_ref().expect("checked above").prefix().to_string();
                        let r = if lesson.len() > 64 || partitions.len() > 256 || exception.as_ref().is_some_and(|e| e.class.len() + e.message.len() > 2048) {
                            Reply::Error { code: ErrorCode::InvalidArgument, message: format!("labStatus too large: lesson of {} bytes (max 64), {} partitions (max 256)", lesson.len(), partitions.len()) }
                        } else {
                            app.labs().report(&ns, lesson, chapter, Status { job, exception, partitions, group }, now_ms());
                            Reply::LabStatusStored {}
                        };
                        if send(socket, answer(r)).await.is_err() { break }
                    }
                    Op::Watch { topic, on } => {
                        let ns = holder.ns.as_ref().expect("checked above");
                        let reply = match ns.check("topic", &topic) {
                            Err(e) => Reply::Error { code: ErrorCode::Namespace, message: e },
                            Ok(()) => {
                                if on { watches.insert(topic.clone(), vec![]); } else { watches.remove(&topic); }
                                Reply::Topics { topics: watches.keys().map(|t| TopicSummary { topic: t.clone(), partitions: 0 }).collect() }
                            }
                        };
                        if send(socket, answer(reply)).await.is_err() { break }
                    }
                    Op::WatchOffsetsTopic { group, on } => {
                        let ns = holder.ns.as_ref().expect("checked above");
                        let reply = match ns.check("group", &group) {
                            Err(e) => Reply::Error { code: ErrorCode::Namespace, message: e },
                            Ok(()) if !on => {
                                group_watches.remove(&group);
                                Reply::OffsetsTopic { group, partition: -1, records: vec![] }
                            }
                            Ok(()) => match app.kafka.offsets_topic_partition(&group).await {
                                Ok(partition) => {
                                    group_watches.insert(group.clone(), (partition, None));
                                    Reply::OffsetsTopic { group, partition, records: vec![] }
                                }
                                Err(e) => Reply::Error { code: e.code, message: e.message },
                            },
                        };
                        if send(socket, answer(reply)).await.is_err() { break }
                    }
                    op => {
                        // Each request runs on its own task, so a slow one (JoinGroup) does not hold up the rest.
                        let (app, ns, tx, who) = (Arc::clone(app), holder.ns.clone().expect("checked above"), tx.clone(), holder.who);
                        tokio::spawn(async move {
                            let (name, started) = (op_name(&op), std::time::Instant::now());
                            let result = guarded_dispatch(&app, &ns, who, op).await;
                            // A page waits for this answer: say when Kafka kept it waiting (no data, no secret).
                            if started.elapsed() >= SLOW {
                                eprintln!("bridge: lab {}: {name} answered after {:.1} s", ns.prefix(), started.elapsed().as_secs_f64());
                            }
                            let msg = match result {
                                Ok(Reply::Records { batch }) if binary => Message::Binary(encode_records(id, &batch).into()),
                                Ok(reply) => Message::Text(Response::new(Some(id), reply).to_json().into()),
                                Err(e) => Message::Text(Response::new(Some(id), Reply::Error { code: e.code, message: e.message }).to_json().into()),
                            };
                            let _ = tx.send(msg).await;
                        });
                    }
                }
            }
            Some(out) = rx.recv() => {
                if socket.send(out).await.is_err() { break }
            }
            Ok(()) = status.changed() => {
                let kafka = status.borrow_and_update().clone();
                if send(socket, Response::new(None, Reply::KafkaStatus { kafka })).await.is_err() { break }
            }
            push = pushes.recv() => {
                let reply = match push {
                    Ok(p) if holder.who == Who::Participant => match p {
                        Push::Chapter { lesson, chapter } => Some(Reply::ChapterPushed { lesson, chapter }),
                        Push::Broadcast(text) => Some(Reply::Broadcast { text }),
                        Push::Locked(locked) => Some(Reply::Locked { locked }),
                        Push::Reset(ns) if holder.ns.as_ref().is_some_and(|n| n.prefix() == ns) => Some(Reply::LabReset { namespaces: vec![ns] }),
                        Push::Reset(_) => None,
                    },
                    // Pushes are for participants; a lagging receiver skips what it missed.
                    _ => None,
                };
                if let Some(r) = reply {
                    if send(socket, Response::new(None, r)).await.is_err() { break }
                }
            }
            labs = async { match room.as_mut() { Some((r, _)) => r.changed().await.map(|_| r.borrow_and_update().clone()), None => std::future::pending().await } } => {
                match labs {
                    Ok(labs) => if send(socket, Response::new(None, Reply::Room { labs })).await.is_err() { break },
                    Err(_) => room = None,
                }
            }
            // The watches' reads run on a task of their own, one at a time: a slow or stuck Kafka
            // read must not stop this connection from reading requests and sending pushes.
            _ = tick.tick(), if !reading && (!watches.is_empty() || !group_watches.is_empty()) => {
                reading = true;
                let groups: Vec<(String, i32, Option<i64>)> = group_watches.iter().map(|(g, (p, n))| (g.clone(), *p, *n)).collect();
                let topics: Vec<String> = watches.keys().cloned().collect();
                let (app, read_tx) = (Arc::clone(app), read_tx.clone());
                let lab = holder.ns.as_ref().map(|n| n.prefix().to_string()).unwrap_or_default();
                tokio::spawn(async move {
                    let started = std::time::Instant::now();
                    // One line per slow round: the deadline's, or the time a slow round took.
                    let read = match tokio::time::timeout(WATCH_DEADLINE, read_watches(&app.kafka, groups, topics)).await {
                        Ok(read) => {
                            if started.elapsed() >= SLOW {
                                eprintln!("bridge: lab {lab}: reading log ends and __consumer_offsets took {:.1} s", started.elapsed().as_secs_f64());
                            }
                            read
                        }
                        Err(_) => {
                            eprintln!("bridge: lab {lab}: reading log ends and __consumer_offsets gave no answer within {} s; trying again", WATCH_DEADLINE.as_secs());
                            WatchRead::default()
                        }
                    };
                    let _ = read_tx.send(read).await;
                });
            }
            Some(read) = read_rx.recv() => {
                reading = false;
                // A watch turned off (or on again) while the read ran is not changed by its answer.
                for GroupRead { group, partition, from, records, next } in read.groups {
                    let Some(watch) = group_watches.get_mut(&group) else { continue };
                    if *watch != (partition, from) { continue }
                    watch.1 = Some(next);
                    if !records.is_empty() {
                        let r = Response::new(None, Reply::OffsetsTopic { group, partition, records });
                        if send(socket, r).await.is_err() { return }
                    }
                }
                for (topic, parts) in read.topics {
                    let Some(known) = watches.get_mut(&topic) else { continue };
                    if *known != parts {
                        *known = parts.clone();
                        let r = Response::new(None, Reply::LogEnd { topic, partitions: parts });
                        if send(socket, r).await.is_err() { return }
                    }
                }
            }
        }
    }
}

/// An answer slower than this is logged: a page's engine is waiting for it (a JoinGroup waits
/// for the rebalance, `group.initial.rebalance.delay.ms` and the members' joins, and is not slow).
const SLOW: Duration = Duration::from_secs(10);

/// How long one round of a connection's watch reads may take before it is given up and tried again.
const WATCH_DEADLINE: Duration = Duration::from_secs(20);

/// One round of a connection's watches: per group its new `__consumer_offsets` records and the next
/// offset to read, per topic its log start and end. A read that failed is left out (tried next round).
#[derive(Default)]
struct WatchRead {
    groups: Vec<GroupRead>,
    topics: Vec<(String, Vec<PartitionRange>)>,
}

/// A group's records read from its `__consumer_offsets` partition, from `from` up to `next`.
struct GroupRead {
    group: String,
    partition: i32,
    from: Option<i64>,
    records: Vec<OffsetsTopicRecord>,
    next: i64,
}

async fn read_watches(kafka: &Kafka, groups: Vec<(String, i32, Option<i64>)>, topics: Vec<String>) -> WatchRead {
    let mut read = WatchRead::default();
    for (group, partition, next) in groups {
        if let Ok((records, new_next)) = kafka.read_offsets_topic(&group, partition, next).await {
            read.groups.push(GroupRead { group, partition, from: next, records, next: new_next });
        }
    }
    for topic in topics {
        if let Ok(parts) = kafka.describe_topic(&topic).await {
            read.topics.push((topic, parts));
        }
    }
    read
}

/// A request's `op` name, as the page sent it (for logs and errors: never its arguments).
fn op_name(op: &Op) -> String {
    // The Debug text starts with the variant's name; stop writing after it, so a large produce
    // or checkpoint write is not formatted for nothing.
    struct Head(String);
    impl std::fmt::Write for Head {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            self.0.push_str(s);
            if self.0.len() > 32 {
                Err(std::fmt::Error)
            } else {
                Ok(())
            }
        }
    }
    let mut head = Head(String::new());
    let _ = std::fmt::Write::write_fmt(&mut head, format_args!("{op:?}"));
    let variant: String = head.0.chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
    // As the page spells it: camelCase.
    let mut chars = variant.chars();
    chars.next().map(|c| c.to_ascii_lowercase().to_string() + chars.as_str()).unwrap_or_else(|| "?".into())
}

/// `hello`: resume by secret, join under a name, or keep the lab held; a namespace alone is refused.
/// Returns the new lab's secret when it made one.
fn hello(
    app: &App,
    holder: &mut Holder,
    namespace: Option<String>,
    join: Option<Join>,
    resume: Option<String>,
) -> Result<Option<String>, OpError> {
    let err = OpError::new;
    let now = now_ms();
    if holder.who == Who::Teacher {
        // The teacher's lab comes with the teacher secret; nothing to choose.
        return if join.is_some() {
            Err(err(ErrorCode::InvalidArgument, "the teacher has a lab of their own; join is for participants".into()))
        } else {
            Ok(None)
        };
    }
    if let Some(secret) = resume {
        let found = app.labs().resume(&secret, now);
        return match found {
            Some((ns, name)) => {
                holder.hold(app, ns, (!name.is_empty()).then_some(name));
                holder.resumed = true;
                Ok(None)
            }
            None => Err(err(
                ErrorCode::UnknownLab,
                "no lab has this secret on this bridge (a solo bridge forgets its labs when it stops); join again for a new lab".into(),
            )),
        };
    }
    if let Some(Join { name }) = join {
        let name = name.trim().to_string();
        let chars = name.chars().count();
        if chars == 0 || chars > protocol::workshop::MAX_NAME_CHARS || name.chars().any(char::is_control) {
            return Err(err(
                ErrorCode::InvalidArgument,
                format!("a display name has 1 to {} characters and no control characters; got {chars}", protocol::workshop::MAX_NAME_CHARS),
            ));
        }
        if holder.who == Who::Solo && !app.config.namespaces {
            return Err(err(
                ErrorCode::InvalidArgument,
                "this bridge runs without namespaces (--no-namespace): there are no labs to join".into(),
            ));
        }
        let made = app.labs().create(&name, now);
        let (ns, secret) = made.map_err(|e| err(ErrorCode::QuotaExceeded, e))?;
        app.save_labs();
        holder.hold(app, ns, Some(name));
        holder.resumed = false;
        return Ok(Some(secret));
    }
    match (namespace, &holder.ns) {
        (Some(asked), Some(held)) if asked == held.prefix() => Ok(None),
        (Some(asked), _) => Err(err(
            ErrorCode::ResumeNeedsSecret,
            format!("`{asked}` is shown on screen and proves nothing: resume a lab with hello {{resume: SECRET}}, the labSecret its first welcome carried"),
        )),
        (None, _) => Ok(None),
    }
}

/// Sends a teacher's push to every participant; the answer to the teacher repeats it.
fn teacher_push(app: &App, op: Op) -> Reply {
    match op {
        Op::PushChapter { lesson, chapter } => {
            let _ = app.pushes.send(Push::Chapter { lesson: lesson.clone(), chapter });
            Reply::ChapterPushed { lesson, chapter }
        }
        Op::Broadcast { text } => {
            let n = text.chars().count();
            if n == 0 || n > protocol::workshop::MAX_BROADCAST_CHARS {
                return Reply::Error {
                    code: ErrorCode::InvalidArgument,
                    message: format!("a broadcast has 1 to {} characters; got {n}", protocol::workshop::MAX_BROADCAST_CHARS),
                };
            }
            let _ = app.pushes.send(Push::Broadcast(text.clone()));
            Reply::Broadcast { text }
        }
        Op::Lock { locked } => {
            app.locked.store(locked, Ordering::Relaxed);
            let _ = app.pushes.send(Push::Locked(locked));
            Reply::Locked { locked }
        }
        other => Reply::Error { code: ErrorCode::InvalidArgument, message: format!("not a push: {other:?}") },
    }
}

/// The teacher's `resetLab`: one lab, or every participant's (not the teacher's own).
async fn reset_labs(app: &App, namespace: Option<String>) -> Reply {
    let targets: Vec<String> = {
        let labs = app.labs();
        match &namespace {
            Some(ns) if labs.get(ns).is_some() => vec![ns.clone()],
            Some(ns) => return Reply::Error { code: ErrorCode::UnknownLab, message: format!("no lab `{ns}` in this workshop") },
            None => labs.all().filter(|l| !l.record.teacher).map(|l| l.record.namespace.clone()).collect(),
        }
    };
    let mut done = Vec::new();
    for ns in targets {
        match reset_lab(&app.kafka, &app.config.checkpoint_root, &ns).await {
            Ok(_) => {
                app.labs().cleaned(&ns);
                let _ = app.pushes.send(Push::Reset(ns.clone()));
                done.push(ns);
            }
            Err(e) => {
                return Reply::Error { code: ErrorCode::Kafka, message: format!("reset {} of the labs, then {ns}: {e}", done.len()) };
            }
        }
    }
    Reply::LabReset { namespaces: done }
}

fn welcome(app: &App, holder: &Holder, binary: bool, lab_secret: Option<String>) -> Response {
    let role = match holder.who {
        Who::Solo => Role::Solo,
        Who::Participant => Role::Participant,
        Who::Teacher => Role::Teacher,
    };
    Response::new(
        None,
        Reply::Welcome {
            protocol_version: PROTOCOL_VERSION,
            namespace: holder.ns.as_ref().map(|n| n.prefix().to_string()).unwrap_or_default(),
            kafka: app.status.borrow().clone(),
            max_frame_bytes: MAX_FRAME_BYTES,
            binary_records: binary,
            lab_secret,
            participant: holder.participant.clone(),
            role,
            locked: holder.who == Who::Participant && app.locked.load(Ordering::Relaxed),
            resumed: holder.resumed,
            lesson: holder
                .ns
                .as_ref()
                .filter(|_| holder.resumed)
                .and_then(|ns| app.labs().get(ns.prefix()).map(|l| l.record.lesson.clone()))
                .filter(|l| !l.is_empty()),
        },
    )
}

async fn send(socket: &mut WebSocket, r: Response) -> Result<(), axum::Error> {
    socket.send(Message::Text(r.to_json().into())).await
}

/// The ops a teacher's lock refuses: they destroy what the lesson built (the job's own commits and
/// checkpoint rotation are not among them: `deleteTopic`, `deleteRecords`, an admin `commitOffsets`,
/// and deleting the whole checkpoint folder, a top-level storage path).
fn destructive(op: &Op) -> Option<&'static str> {
    match op {
        Op::DeleteTopic { .. } => Some("deleteTopic"),
        Op::DeleteRecords { .. } => Some("deleteRecords"),
        Op::CommitOffsets { .. } => Some("commitOffsets (a reset of the group's offsets)"),
        Op::Storage { request: StorageRequest::Delete { path } } if !path.contains('/') => Some("deleting the checkpoint"),
        _ => None,
    }
}

/// Lock and quotas before [`dispatch_with`], accounting and the lab's activity after.
async fn guarded_dispatch(app: &App, ns: &Namespace, who: Who, op: Op) -> Result<Reply, OpError> {
    let quota = |m: String| OpError::new(ErrorCode::QuotaExceeded, m);
    let lab = ns.prefix().to_string();
    let now = now_ms();
    if who == Who::Participant && app.locked.load(Ordering::Relaxed) {
        if let Some(what) = destructive(&op) {
            return Err(OpError::new(
                ErrorCode::LockedByTeacher,
                format!("the teacher has locked destructive operations: {what} is refused until they unlock"),
            ));
        }
    }
    let has_lab = app.labs().get(&lab).is_some();
    let q = &app.config.quotas;
    let mut produced = None;
    if has_lab {
        match &op {
            Op::CreateTopic { topic, partitions } => {
                let existing: Vec<(String, i32)> = app
                    .kafka
                    .list_topics()
                    .await?
                    .into_iter()
                    .filter(|t| t.topic.starts_with(&lab))
                    .map(|t| (t.topic, t.partitions))
                    .collect();
                q.check_create(&existing, topic, *partitions).map_err(quota)?;
            }
            Op::Produce { records, .. } => {
                let due = app.labs().get(&lab).is_some_and(|l| l.usage.measure_due(now));
                if due {
                    // What is really on the broker (it survives a bridge restart), at most every few seconds.
                    // A failed measure (Kafka restarting) keeps the last one; the produce tells Kafka's state.
                    if let Ok(sizes) = lab_topic_sizes(&app.kafka, &lab).await {
                        if let Some(l) = app.labs().get_mut(&lab) {
                            l.usage.measured(now, sizes);
                        }
                    }
                }
                let bytes = record_bytes(records);
                let mut labs = app.labs();
                let usage = &mut labs.get_mut(&lab).expect("checked above").usage;
                q.check_produce(usage, now, records.len() as u64, bytes).map_err(quota)?;
                produced = Some((records.len() as u64, bytes));
            }
            Op::Storage { request: StorageRequest::Write { bytes, .. } | StorageRequest::WriteCheckpoint { bytes, .. } } => {
                let dir = CheckpointDir::for_namespace(&app.config.checkpoint_root, &lab).root().to_path_buf();
                let on_disk = tokio::task::spawn_blocking(move || folder_bytes(&dir)).await.unwrap_or(0);
                q.check_checkpoint(on_disk, bytes.len() as u64).map_err(quota)?;
            }
            _ => {}
        }
    }
    let deleted = if let Op::DeleteTopic { topic } = &op { Some(topic.clone()) } else { None };
    let makes = !matches!(op, Op::DescribeTopic { .. } | Op::DescribeGroup { .. } | Op::Fetch { .. });
    let result = match op {
        // A workshop's lab topics carry configs that make the broker keep them within the lab's bytes.
        Op::CreateTopic { topic, partitions } if app.workshop.is_some() => {
            let configs = q.topic_configs();
            match ns.check("topic", &topic) {
                Err(e) => Err(ns_err(e)),
                Ok(()) => app
                    .kafka
                    .create_topic_with_configs(&topic, partitions, &configs)
                    .await
                    .map(|()| Reply::TopicCreated { topic, partitions }),
            }
        }
        op => dispatch_with(&app.kafka, &app.config.checkpoint_root, ns, op).await,
    };
    let mut labs = app.labs();
    labs.touch(&lab, now, makes);
    if let (Ok(_), Some(lab)) = (&result, labs.get_mut(&lab)) {
        if let Some((records, bytes)) = produced {
            lab.usage.produced(now, records, bytes);
        }
        if let Some(topic) = deleted {
            lab.usage.topic_deleted(&topic);
        }
    }
    result
}

/// The size on the broker of each of the lab's topics (`lab` is its namespace prefix).
pub async fn lab_topic_sizes(kafka: &Kafka, lab: &str) -> Result<BTreeMap<String, u64>, OpError> {
    let topics: Vec<String> = kafka.list_topics().await?.into_iter().map(|t| t.topic).filter(|t| t.starts_with(lab)).collect();
    let mut sizes = BTreeMap::new();
    for ((topic, _), bytes) in kafka.log_dir_sizes(&topics).await? {
        *sizes.entry(topic).or_default() += bytes;
    }
    Ok(sizes)
}

fn ns_err(e: String) -> OpError {
    OpError::new(ErrorCode::Namespace, e)
}

/// Checks every topic and group an engine request names.
fn check_engine(ns: &Namespace, req: &KafkaRequest) -> Result<(), String> {
    match req {
        KafkaRequest::GroupPoll { group, topics, .. } => {
            ns.check("group", group)?;
            topics.iter().try_for_each(|t| ns.check("topic", t))
        }
        KafkaRequest::LeaveGroup { group, .. } => ns.check("group", group),
        KafkaRequest::ListOffsets { partitions, .. } => partitions.iter().try_for_each(|tp| ns.check("topic", &tp.topic)),
        KafkaRequest::OffsetFetch { group, partitions } => {
            ns.check("group", group)?;
            partitions.iter().try_for_each(|tp| ns.check("topic", &tp.topic))
        }
        KafkaRequest::OffsetCommit { group, offsets, .. } => {
            ns.check("group", group)?;
            offsets.iter().try_for_each(|(tp, _)| ns.check("topic", &tp.topic))
        }
        KafkaRequest::Fetch { partition, .. } => ns.check("topic", &partition.topic),
        KafkaRequest::DescribeTopics { topics } => topics.iter().try_for_each(|t| ns.check("topic", t)),
        // Names no topic: its reply is cut to the namespace instead.
        KafkaRequest::ListTopics => Ok(()),
    }
}

/// Runs one request against Kafka (or the checkpoint folder).
pub async fn dispatch_with(kafka: &Kafka, checkpoint_root: &std::path::Path, ns: &Namespace, op: Op) -> Result<Reply, OpError> {
    let k = kafka;
    Ok(match op {
        Op::Hello { .. }
        | Op::Watch { .. }
        | Op::WatchOffsetsTopic { .. }
        | Op::LabStatus { .. }
        | Op::WatchRoom { .. }
        | Op::PushChapter { .. }
        | Op::Broadcast { .. }
        | Op::Lock { .. }
        | Op::ResetLab { .. } => return Err(OpError::new(ErrorCode::InvalidArgument, "handled by the connection")),
        Op::CreateTopic { topic, partitions } => {
            ns.check("topic", &topic).map_err(ns_err)?;
            k.create_topic(&topic, partitions).await?;
            Reply::TopicCreated { topic, partitions }
        }
        Op::DescribeTopic { topic } => {
            ns.check("topic", &topic).map_err(ns_err)?;
            let partitions = k.describe_topic(&topic).await?;
            Reply::Topic { topic, partitions }
        }
        Op::DeleteTopic { topic } => {
            ns.check("topic", &topic).map_err(ns_err)?;
            k.delete_topic(&topic).await?;
            Reply::TopicDeleted { topic }
        }
        Op::DeleteRecords { topic, partition, before_offset } => {
            ns.check("topic", &topic).map_err(ns_err)?;
            let log_start = k.delete_records(&topic, partition, before_offset).await?;
            Reply::RecordsDeleted { topic, partition, log_start }
        }
        Op::Produce { topic, records, partition } => {
            ns.check("topic", &topic).map_err(ns_err)?;
            let records = k.produce(&topic, &records, partition).await?;
            Reply::Produced { topic, records }
        }
        Op::Fetch { topic, partition, offset, max_records } => {
            ns.check("topic", &topic).map_err(ns_err)?;
            Reply::Records { batch: k.fetch(&topic, partition, offset, max_records).await? }
        }
        Op::DescribeGroup { group } => {
            ns.check("group", &group).map_err(ns_err)?;
            Reply::Group { group: k.describe_group(&group).await? }
        }
        Op::CommitOffsets { group, offsets } => {
            ns.check("group", &group).map_err(ns_err)?;
            offsets.iter().try_for_each(|o| ns.check("topic", &o.topic)).map_err(ns_err)?;
            let results = k.commit(&group, None, &offsets).await?;
            Reply::Committed { group, results }
        }
        Op::Storage { request } => {
            let mut disk = CheckpointDir::for_namespace(checkpoint_root, ns.prefix());
            let storage = tokio::task::spawn_blocking(move || engine::storage::serve(&mut disk, &request))
                .await
                .map_err(|e| OpError::new(ErrorCode::InvalidArgument, format!("storage task failed: {e}")))?;
            Reply::Storage { storage }
        }
        Op::CheckpointFiles { dir } => {
            let disk = CheckpointDir::for_namespace(checkpoint_root, ns.prefix());
            let listed = {
                let dir = dir.clone();
                tokio::task::spawn_blocking(move || disk.files_under(&dir, MAX_CHECKPOINT_FILES))
                    .await
                    .map_err(|e| OpError::new(ErrorCode::InvalidArgument, format!("storage task failed: {e}")))?
            };
            let files = listed.map_err(|e| OpError::new(ErrorCode::InvalidArgument, e))?;
            Reply::CheckpointFiles { dir, files: files.into_iter().map(|(path, bytes)| StoredFile { path, bytes }).collect() }
        }
        Op::Engine { request } => {
            check_engine(ns, &request).map_err(ns_err)?;
            let mut kafka = k.engine(&request).await;
            if let (KafkaRequest::ListTopics, engine::kafka::KafkaReply::Topics { topics }) = (&request, &mut kafka) {
                topics.retain(|(t, _)| ns.check("topic", t).is_ok());
            }
            Reply::Engine { kafka }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(origin: Option<&str>, host: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("host", host.parse().unwrap());
        if let Some(o) = origin {
            h.insert("origin", o.parse().unwrap());
        }
        h
    }

    #[test]
    fn origin_must_be_own_or_configured() {
        assert!(check_origin(&headers(Some("http://127.0.0.1:8787"), "127.0.0.1:8787"), &[]).is_ok());
        assert!(check_origin(&headers(None, "127.0.0.1:8787"), &[]).is_ok());
        let e = check_origin(&headers(Some("http://evil.example"), "127.0.0.1:8787"), &[]).unwrap_err();
        assert!(e.contains("evil.example"), "{e}");
        assert!(check_origin(&headers(Some("http://localhost:8080"), "127.0.0.1:8787"), &["http://localhost:8080".into()]).is_ok());
        // A workshop page loaded from the teacher's LAN address or host name talks to the same host.
        assert!(check_origin(&headers(Some("http://192.168.1.23:8787"), "192.168.1.23:8787"), &[]).is_ok());
        assert!(check_origin(&headers(Some("http://teacher.local:8787"), "teacher.local:8787"), &[]).is_ok());
        assert!(check_origin(&headers(Some("http://192.168.1.99:8787"), "192.168.1.23:8787"), &[]).is_err());
    }

    #[test]
    fn the_lock_refuses_what_destroys_a_lesson_and_not_the_jobs_own_work() {
        let del = |path: &str| Op::Storage { request: StorageRequest::Delete { path: path.into() } };
        assert!(destructive(&Op::DeleteTopic { topic: "t".into() }).is_some());
        assert!(destructive(&Op::DeleteRecords { topic: "t".into(), partition: 0, before_offset: 1 }).is_some());
        assert!(destructive(&Op::CommitOffsets { group: "g".into(), offsets: vec![] }).is_some());
        assert!(destructive(&del("ckpt")).is_some(), "the page's delete-the-checkpoint button");
        assert!(destructive(&del("ckpt/checkpoint-1000")).is_none(), "CheckpointWriter's rotation");
        assert!(destructive(&Op::Produce { topic: "t".into(), records: vec![], partition: None }).is_none());
    }

    #[test]
    fn an_op_is_named_as_the_page_spells_it_without_its_arguments() {
        let big = Op::Produce {
            topic: "secret-topic".into(),
            records: vec![protocol::NewRecord { key: None, value: "x".repeat(100_000) }; 3],
            partition: None,
        };
        assert_eq!(op_name(&big), "produce");
        assert_eq!(op_name(&Op::DeleteTopic { topic: "t".into() }), "deleteTopic");
        assert_eq!(serde_json::to_value(Op::DeleteTopic { topic: "t".into() }).unwrap()["op"], "deleteTopic", "serde's tag agrees");
    }
}
