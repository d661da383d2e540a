//! The websocket server: origin and token checks, per-connection namespace, rate and size limits,
//! dispatch of protocol requests to [`kafka_client::Kafka`], Kafka status and log-end pushes.

use crate::namespace::Namespace;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response as HttpResponse};
use axum::routing::get;
use axum::Router;
use checkpoint_dir::CheckpointDir;
use engine::kafka::KafkaRequest;
use kafka_client::{Kafka, OpError};
use protocol::*;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

#[derive(Clone, Debug)]
pub struct Config {
    pub bootstrap: String,
    /// Built web app to serve at `/` (optional).
    pub dist: Option<PathBuf>,
    /// Origins allowed besides the bridge's own (`http://<Host>`).
    pub allowed_origins: Vec<String>,
    /// Required as `?token=` on `/ws` when set (mandatory when listening beyond loopback).
    pub token: Option<String>,
    /// Per-connection namespaces (on by default).
    pub namespaces: bool,
    /// Requests per second a connection may make on average, and the burst above it.
    pub rate_per_sec: f64,
    pub rate_burst: f64,
    /// Checkpoint files go to `<checkpoint_root>/<namespace>/…`.
    pub checkpoint_root: PathBuf,
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
        }
    }
}

struct App {
    config: Config,
    kafka: Kafka,
    status: watch::Receiver<KafkaState>,
}

/// Serves until the listener fails. Refuses to listen beyond loopback without a token.
pub async fn serve(listener: tokio::net::TcpListener, config: Config) -> std::io::Result<()> {
    let addr = listener.local_addr()?;
    if !addr.ip().is_loopback() && config.token.is_none() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            format!("listening on {addr} (beyond loopback) requires --token"),
        ));
    }
    let kafka = Kafka::new(config.bootstrap.clone());
    let (status_tx, status_rx) =
        watch::channel(KafkaState { up: false, bootstrap: config.bootstrap.clone(), detail: Some("not checked yet".into()) });
    let app = Arc::new(App { config: config.clone(), kafka, status: status_rx });
    tokio::spawn(health(Arc::clone(&app), status_tx));
    let mut router = Router::new().route("/ws", get(ws_handler)).route("/health", get(health_handler)).with_state(Arc::clone(&app));
    if let Some(dist) = &config.dist {
        router = router.fallback_service(tower_http::services::ServeDir::new(dist));
    }
    axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>()).await
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
        if query.get("token") != Some(token) {
            return (StatusCode::UNAUTHORIZED, "missing or wrong ?token=").into_response();
        }
    }
    // Frames up to 4× our limit reach us and get a clear FrameTooLarge reply; bigger ones are closed by
    // the websocket layer with close code 1009 (message too big).
    ws.max_message_size(MAX_FRAME_BYTES * 4).max_frame_size(MAX_FRAME_BYTES * 4).on_upgrade(move |socket| connection(socket, app))
}

/// Browsers always send `Origin`; it must be the bridge's own (`http://<Host>`) or a configured one.
/// Non-browser clients send none and cannot be abused by a web page, so they pass.
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

async fn connection(mut socket: WebSocket, app: Arc<App>) {
    let mut ns = if app.config.namespaces { Namespace::fresh() } else { Namespace::open() };
    let mut binary = false;
    let mut status = app.status.clone();
    let (tx, mut rx) = mpsc::channel::<Message>(256);
    let mut watches: BTreeMap<String, Vec<PartitionRange>> = BTreeMap::new();
    // group → (its __consumer_offsets partition, next offset to read; None = from the log start)
    let mut group_watches: BTreeMap<String, (i32, Option<i64>)> = BTreeMap::new();
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    let mut bucket = Bucket { tokens: app.config.rate_burst, last: tokio::time::Instant::now() };
    if send(&mut socket, welcome(&app, &ns, binary)).await.is_err() {
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
                        if send(&mut socket, r).await.is_err() { break }
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
                    if send(&mut socket, r).await.is_err() { break }
                    continue;
                }
                bucket.tokens -= 1.0;
                let req = match parsed {
                    Ok(r) => r,
                    Err(e) => {
                        if send(&mut socket, e.into_response()).await.is_err() { break }
                        continue;
                    }
                };
                match req.op {
                    Op::Hello { namespace, binary_records, .. } => {
                        let reply = match namespace {
                            Some(p) if app.config.namespaces => match Namespace::resume(&p) {
                                Some(n) => { ns = n; None }
                                None => Some(Reply::Error { code: ErrorCode::Namespace, message: format!("`{p}` is not a namespace this bridge hands out (lab-<12 hex digits>-)") }),
                            },
                            _ => None,
                        };
                        binary = binary_records;
                        let r = reply.map(|r| Response::new(Some(req.id), r)).unwrap_or_else(|| { let mut w = welcome(&app, &ns, binary); w.id = Some(req.id); w });
                        if send(&mut socket, r).await.is_err() { break }
                    }
                    Op::Watch { topic, on } => {
                        let reply = match ns.check("topic", &topic) {
                            Err(e) => Reply::Error { code: ErrorCode::Namespace, message: e },
                            Ok(()) => {
                                if on { watches.insert(topic.clone(), vec![]); } else { watches.remove(&topic); }
                                Reply::Topics { topics: watches.keys().map(|t| TopicSummary { topic: t.clone(), partitions: 0 }).collect() }
                            }
                        };
                        if send(&mut socket, Response::new(Some(req.id), reply)).await.is_err() { break }
                    }
                    Op::WatchOffsetsTopic { group, on } => {
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
                        if send(&mut socket, Response::new(Some(req.id), reply)).await.is_err() { break }
                    }
                    op => {
                        // Each request runs on its own task, so a slow one (JoinGroup) does not hold up the rest.
                        let (app, ns, tx) = (Arc::clone(&app), ns.clone(), tx.clone());
                        let id = req.id;
                        tokio::spawn(async move {
                            let msg = match dispatch(&app, &ns, op).await {
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
                if send(&mut socket, Response::new(None, Reply::KafkaStatus { kafka })).await.is_err() { break }
            }
            _ = tick.tick(), if !watches.is_empty() || !group_watches.is_empty() => {
                let groups: Vec<(String, i32, Option<i64>)> = group_watches.iter().map(|(g, (p, n))| (g.clone(), *p, *n)).collect();
                for (group, partition, next) in groups {
                    if let Ok((records, new_next)) = app.kafka.read_offsets_topic(&group, partition, next).await {
                        group_watches.insert(group.clone(), (partition, Some(new_next)));
                        if !records.is_empty() {
                            let r = Response::new(None, Reply::OffsetsTopic { group, partition, records });
                            if send(&mut socket, r).await.is_err() { return }
                        }
                    }
                }
                let topics: Vec<String> = watches.keys().cloned().collect();
                for topic in topics {
                    if let Ok(parts) = app.kafka.describe_topic(&topic).await {
                        if watches.get(&topic) != Some(&parts) {
                            watches.insert(topic.clone(), parts.clone());
                            let r = Response::new(None, Reply::LogEnd { topic, partitions: parts });
                            if send(&mut socket, r).await.is_err() { return }
                        }
                    }
                }
            }
        }
    }
}

fn welcome(app: &App, ns: &Namespace, binary: bool) -> Response {
    Response::new(
        None,
        Reply::Welcome {
            protocol_version: PROTOCOL_VERSION,
            namespace: ns.prefix().to_string(),
            kafka: app.status.borrow().clone(),
            max_frame_bytes: MAX_FRAME_BYTES,
            binary_records: binary,
            lab_secret: None,
            participant: None,
            role: Role::Solo,
            locked: false,
        },
    )
}

async fn send(socket: &mut WebSocket, r: Response) -> Result<(), axum::Error> {
    socket.send(Message::Text(r.to_json().into())).await
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
        Op::Produce { topic, lines, separator, partition } => {
            ns.check("topic", &topic).map_err(ns_err)?;
            let records = k.produce(&topic, &lines, separator.as_deref(), partition).await?;
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

async fn dispatch(app: &App, ns: &Namespace, op: Op) -> Result<Reply, OpError> {
    dispatch_with(&app.kafka, &app.config.checkpoint_root, ns, op).await
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
    }
}
