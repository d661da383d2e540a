//! A client for a real Apache Kafka, by role: this file holds the connections (rskafka for the data
//! plane, kafka-protocol over [`wire`] for the rest) and their errors; [`data`] produces, fetches and
//! lists offsets; [`groups`] joins, heartbeats, commits, describes and reads `__consumer_offsets`
//! ([`offsets_topic`] decodes it); [`admin`] creates and deletes topics, adds partitions, deletes records
//! and resets offsets; [`engine`] answers the engine's `KafkaRequest`s.
//!
//! One broker is assumed (the project's own single-node Kafka): it is every partition's leader and every
//! group's coordinator, so no FindCoordinator round trip is made.

pub mod admin;
pub mod cleanup;
pub mod data;
pub mod engine;
pub mod groups;
pub mod log_dirs;
pub mod offsets_topic;
pub mod wire;

use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use protocol::ErrorCode;
use rskafka::client::error::{Error as RsError, ProtocolError};
use rskafka::client::partition::{PartitionClient, UnknownTopicHandling};
use rskafka::client::{Client, ClientBuilder};
use rskafka::BackoffConfig;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;
use wire::{Conn, WireError};

/// The record type `produce` takes: a key and a value, split where they were typed.
pub use protocol::NewRecord;

/// An operation's failure, as the page will see it.
#[derive(Clone, Debug, PartialEq)]
pub struct OpError {
    pub code: ErrorCode,
    pub message: String,
}

impl OpError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> OpError {
        OpError { code, message: message.into() }
    }
    pub(crate) fn invalid(message: impl Into<String>) -> OpError {
        OpError::new(ErrorCode::InvalidArgument, message)
    }
}

impl From<WireError> for OpError {
    fn from(e: WireError) -> OpError {
        match e {
            WireError::Io(_) => OpError::new(ErrorCode::KafkaUnavailable, e.to_string()),
            WireError::Protocol(_) => OpError::new(ErrorCode::Kafka, e.to_string()),
        }
    }
}

pub(crate) fn rs_error(what: &str, e: RsError) -> OpError {
    match &e {
        RsError::ServerError { protocol_error, error_message, .. } => OpError::new(
            ErrorCode::Kafka,
            format!("{what}: {}{}", protocol_name(*protocol_error), error_message.as_ref().map(|m| format!(" ({m})")).unwrap_or_default()),
        ),
        RsError::Connection(_) | RsError::Request(_) | RsError::RetryFailed(_) => {
            OpError::new(ErrorCode::KafkaUnavailable, format!("{what}: {e}"))
        }
        _ => OpError::new(ErrorCode::Kafka, format!("{what}: {e}")),
    }
}

/// rskafka's error as Kafka names it (`UNKNOWN_TOPIC_OR_PARTITION`).
fn protocol_name(p: ProtocolError) -> String {
    match p {
        ProtocolError::Unknown(c) => wire::error_name(c).unwrap_or_else(|| format!("ERROR_{c}")),
        other => wire::screaming_snake(&format!("{other:?}")),
    }
}

pub type Result<T> = std::result::Result<T, OpError>;

/// How long group requests wait out a coordinator that is still loading.
const COORDINATOR_WAIT: Duration = Duration::from_secs(30);

pub struct Kafka {
    bootstrap: String,
    timeout: Duration,
    rs: Mutex<Option<Arc<Client>>>,
    conn: Mutex<Option<Conn>>,
    /// The classic-group memberships this client holds for the engine's driver consumers.
    members: Mutex<HashMap<(String, String), groups::Membership>>,
    round_robin: std::sync::atomic::AtomicI32,
}

// Versions pinned to ones whose field layout this crate fills (all within Kafka 4.1's ranges).
pub(crate) const V_LIST_OFFSETS: i16 = 7;
pub(crate) const V_DESCRIBE_GROUPS: i16 = 5;
pub(crate) const V_OFFSET_FETCH: i16 = 7;
pub(crate) const V_OFFSET_COMMIT: i16 = 8;
pub(crate) const V_JOIN_GROUP: i16 = 9;
pub(crate) const V_SYNC_GROUP: i16 = 5;
pub(crate) const V_HEARTBEAT: i16 = 4;
pub(crate) const V_LEAVE_GROUP: i16 = 5;
pub(crate) const V_METADATA: i16 = 9;
pub(crate) const V_FIND_COORDINATOR: i16 = 4;
pub(crate) const V_CREATE_PARTITIONS: i16 = 3;

impl Kafka {
    pub fn new(bootstrap: impl Into<String>) -> Kafka {
        Kafka {
            bootstrap: bootstrap.into(),
            timeout: Duration::from_secs(10),
            rs: Mutex::new(None),
            conn: Mutex::new(None),
            members: Mutex::new(HashMap::new()),
            round_robin: std::sync::atomic::AtomicI32::new(0),
        }
    }

    pub fn bootstrap(&self) -> &str {
        &self.bootstrap
    }

    pub(crate) async fn client(&self) -> Result<Arc<Client>> {
        let mut guard = self.rs.lock().await;
        if let Some(c) = guard.as_ref() {
            return Ok(Arc::clone(c));
        }
        // rskafka retries forever by default; a deadline turns "Kafka is down" into an answer.
        let backoff = BackoffConfig {
            init_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_millis(500),
            base: 2.0,
            deadline: Some(Duration::from_secs(5)),
        };
        let build = ClientBuilder::new(vec![self.bootstrap.clone()]).client_id(wire::CLIENT_ID).backoff_config(backoff).build();
        let client = tokio::time::timeout(self.timeout, build)
            .await
            .map_err(|_| OpError::new(ErrorCode::KafkaUnavailable, format!("connecting to {} timed out", self.bootstrap)))?
            .map_err(|e| rs_error(&format!("connecting to {}", self.bootstrap), e))?;
        let client = Arc::new(client);
        *guard = Some(Arc::clone(&client));
        Ok(client)
    }

    /// Forgets the rskafka client after a connection failure so the next call reconnects.
    pub(crate) async fn on_rs_error(&self, e: OpError) -> OpError {
        if e.code == ErrorCode::KafkaUnavailable {
            *self.rs.lock().await = None;
        }
        e
    }

    pub(crate) async fn partition(&self, topic: &str, partition: i32) -> Result<PartitionClient> {
        let c = self.client().await?;
        match c.partition_client(topic, partition, UnknownTopicHandling::Error).await {
            Ok(p) => Ok(p),
            Err(e) => Err(self.on_rs_error(rs_error(&format!("{topic}-{partition}"), e)).await),
        }
    }

    /// A fresh broker answers group requests with these while it creates and loads
    /// `__consumer_offsets`; Kafka's AdminClient and consumer retry them, and so do we, for a while.
    pub(crate) fn coordinator_busy(error: &str) -> bool {
        ["NOT_COORDINATOR", "COORDINATOR_NOT_AVAILABLE", "COORDINATOR_LOAD_IN_PROGRESS"].iter().any(|c| error.contains(c))
    }

    /// Runs `f` until it stops failing with a transient coordinator error, up to [`COORDINATOR_WAIT`].
    pub(crate) async fn retry_coordinator<T, F, Fut>(&self, group: &str, mut f: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let started = std::time::Instant::now();
        loop {
            match f().await {
                Err(e) if Self::coordinator_busy(&e.message) && started.elapsed() < COORDINATOR_WAIT => self.await_coordinator(group).await,
                other => return other,
            }
        }
    }

    /// FindCoordinator, as every Kafka client sends before a group request: on a fresh broker it is
    /// what creates `__consumer_offsets`, without which no group request ever succeeds. Then a pause.
    pub(crate) async fn await_coordinator(&self, group: &str) {
        let req = FindCoordinatorRequest::default().with_key_type(0).with_coordinator_keys(vec![StrBytes::from_string(group.to_string())]);
        let _ = self.call::<_, FindCoordinatorResponse>(ApiKey::FindCoordinator, V_FIND_COORDINATOR, &req).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    pub(crate) async fn call<Req, Resp>(&self, key: ApiKey, version: i16, req: &Req) -> Result<Resp>
    where
        Req: kafka_protocol::protocol::Encodable + kafka_protocol::protocol::HeaderVersion,
        Resp: kafka_protocol::protocol::Decodable + kafka_protocol::protocol::HeaderVersion,
    {
        let mut guard = self.conn.lock().await;
        if guard.is_none() {
            *guard = Some(Conn::connect(&self.bootstrap, self.timeout).await?);
        }
        let result = guard.as_mut().expect("connected above").call(key as i16, version, req).await;
        if result.is_err() {
            *guard = None; // the stream may be mid-frame: never reuse it
        }
        Ok(result?)
    }

    /// True when Kafka answers a metadata request.
    pub async fn ping(&self) -> std::result::Result<(), String> {
        let c = self.client().await.map_err(|e| e.message)?;
        match c.list_topics().await {
            Ok(_) => Ok(()),
            Err(e) => Err(self.on_rs_error(rs_error("metadata", e)).await.message),
        }
    }
}
