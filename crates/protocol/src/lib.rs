//! Websocket messages between the Offset Lab page and the bridge (see docs/protocol.md).
//!
//! Every frame is JSON text, except record batches, which a client may ask to receive as compact binary
//! frames ([`encode_records`]/[`decode_records`]); the JSON form of the same batch stays available for
//! debugging. Requests carry the protocol version `v` and a client-chosen `id`; replies echo the `id`,
//! pushes have none.

pub use kafka_model::GroupState;
use serde::{Deserialize, Serialize};

pub mod binary;
pub mod workshop;
pub use binary::{decode_records, encode_records, DecodeError};
pub use engine::kafka::{KafkaReply, KafkaRequest};
pub use engine::storage::{StorageReply, StorageRequest};
pub use kafka_model::offsets_topic::{GroupMetadataMember, GroupMetadataValue, OffsetCommitValue, OffsetsTopicRecord};
pub use kafka_model::PartitionRange;
pub use workshop::{JobState, Join, LabException, Role, RoomLab, RoomPartition, StatusPartition};

/// A file in a connection's checkpoint folder ([`Reply::CheckpointFiles`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredFile {
    pub path: String,
    pub bytes: u64,
}

/// Files a [`Reply::CheckpointFiles`] lists at most (a lab's checkpoint of a few batches has tens).
pub const MAX_CHECKPOINT_FILES: usize = 2_000;

/// The version this crate speaks; a frame with another `v` gets [`ErrorCode::UnsupportedVersion`].
pub const PROTOCOL_VERSION: u32 = 1;
/// The largest frame the bridge accepts (bytes); larger ones get [`ErrorCode::FrameTooLarge`].
pub const MAX_FRAME_BYTES: usize = 256 * 1024;
/// The separator of `key:::value` lines, as with `kafka-console-producer --property key.separator=:::`.
pub const DEFAULT_KEY_SEPARATOR: &str = ":::";

/// Page → bridge.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Request {
    pub v: u32,
    pub id: u64,
    #[serde(flatten)]
    pub op: Op,
}

/// What the page asks of the bridge. Topic and group names must start with the connection's namespace
/// (from [`Reply::Welcome`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase")]
pub enum Op {
    /// First frame of a connection (optional). `resume` takes back the lab whose `labSecret` a
    /// [`Reply::Welcome`] handed this client before; `join` asks for a new lab under a display name
    /// (workshop mode). `namespace` alone is refused with [`ErrorCode::ResumeNeedsSecret`] (a namespace
    /// is shown on screen, so it proves nothing); next to `resume` it is ignored. `binary_records` asks
    /// for [`Reply::Records`] as binary frames.
    #[serde(rename_all = "camelCase")]
    Hello {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        namespace: Option<String>,
        #[serde(default)]
        binary_records: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        join: Option<Join>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resume: Option<String>,
    },
    /// The participant's page reports its lab (when it changes, at most once a second); the teacher's
    /// room shows it next to what the bridge reads from Kafka. Answered with [`Reply::LabStatusStored`].
    LabStatus {
        lesson: String,
        chapter: u32,
        job: JobState,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        exception: Option<LabException>,
        #[serde(default)]
        partitions: Vec<StatusPartition>,
        /// The job's consumer group (the room shows its committed offsets); without it the bridge uses
        /// the lab's first group on the broker.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        group: Option<String>,
    },
    /// Teacher: start (`on`, the default) or stop [`Reply::Room`] pushes, one a second.
    WatchRoom {
        #[serde(default = "yes")]
        on: bool,
    },
    /// Teacher: every participant gets [`Reply::ChapterPushed`] (and may decline).
    PushChapter {
        lesson: String,
        chapter: u32,
    },
    /// Teacher: every participant gets [`Reply::Broadcast`] (at most 280 characters).
    Broadcast {
        text: String,
    },
    /// Teacher: lock or unlock the participants' destructive operations.
    Lock {
        locked: bool,
    },
    /// Teacher: delete one lab's (`namespace`) or every lab's (none) topics, groups and checkpoint folder.
    ResetLab {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        namespace: Option<String>,
    },
    CreateTopic {
        topic: String,
        partitions: i32,
    },
    /// Log start and log end of every partition.
    DescribeTopic {
        topic: String,
    },
    DeleteTopic {
        topic: String,
    },
    /// `kafka-delete-records`: move the log start of one partition up to `before_offset`.
    #[serde(rename_all = "camelCase")]
    DeleteRecords {
        topic: String,
        partition: i32,
        before_offset: i64,
    },
    /// Produce records, each a key (null when absent) and a value, as the client split them (the
    /// console producer's `key:::value` lines are split where they are typed). Keyed records are
    /// partitioned like the Java client (murmur2) unless `partition` is given.
    Produce {
        topic: String,
        records: Vec<NewRecord>,
        #[serde(default)]
        partition: Option<i32>,
    },
    /// Records `[offset, offset + max_records)` of one partition (fewer at the log end).
    #[serde(rename_all = "camelCase")]
    Fetch {
        topic: String,
        partition: i32,
        offset: i64,
        max_records: u32,
    },
    /// State, members, committed offsets and lag, like `kafka-consumer-groups --describe`.
    DescribeGroup {
        group: String,
    },
    /// OffsetCommit with generation −1 (what an admin client or an Assign-mode consumer sends).
    CommitOffsets {
        group: String,
        offsets: Vec<PartitionOffset>,
    },
    /// Relay one of the engine's Kafka requests; answered with [`Reply::Engine`].
    Engine {
        request: KafkaRequest,
    },
    /// Relay one of the engine's checkpoint-storage requests; answered with [`Reply::Storage`]. Paths are
    /// relative to this connection's folder under the bridge's checkpoint root.
    Storage {
        request: StorageRequest,
    },
    /// Every file under `dir` of this connection's checkpoint folder, subfolders included, with its
    /// size; answered with [`Reply::CheckpointFiles`]. A resumed page reads its checkpoint back with
    /// it, then one storage `read` per file (a storage `list` names only the files directly in a folder).
    CheckpointFiles {
        dir: String,
    },
    /// Start (`true`) or stop pushing [`Reply::LogEnd`] for a topic.
    Watch {
        topic: String,
        on: bool,
    },
    /// Start (`true`) or stop pushing [`Reply::OffsetsTopic`]: the group's records in `__consumer_offsets`,
    /// decoded, from the partition's log start on.
    WatchOffsetsTopic {
        group: String,
        on: bool,
    },
}

/// Bridge → page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Response {
    pub v: u32,
    /// The request's id; `None` for pushes and for frames too broken to carry one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    #[serde(flatten)]
    pub reply: Reply,
}

impl Response {
    pub fn new(id: Option<u64>, reply: Reply) -> Response {
        Response { v: PROTOCOL_VERSION, id, reply }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "camelCase")]
pub enum Reply {
    /// Sent once when the connection opens, and again in answer to `hello`.
    #[serde(rename_all = "camelCase")]
    /// `namespace` is empty for a workshop participant that has not joined or resumed yet.
    /// `lab_secret` is in the one Welcome that creates a lab, and in no other frame.
    Welcome {
        protocol_version: u32,
        namespace: String,
        kafka: KafkaState,
        max_frame_bytes: usize,
        binary_records: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        lab_secret: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        participant: Option<String>,
        #[serde(default)]
        role: Role,
        #[serde(default)]
        locked: bool,
        /// The lab existed before this connection (a resume by secret, the teacher's own lab again):
        /// its topics, group and checkpoint folder may hold what an earlier page made.
        #[serde(default)]
        resumed: bool,
        /// A resumed lab's lesson as its page last reported it (`seed`, `retention`…): a reloaded page
        /// opens the lesson whose job wrote the checkpoint it reads back.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        lesson: Option<String>,
    },
    /// Answer to `labStatus`.
    LabStatusStored {},
    /// Push (every second to a teacher that asked with `watchRoom`; also the answer to it).
    Room {
        labs: Vec<RoomLab>,
    },
    /// Push to participants (and the answer to the teacher's `pushChapter`).
    ChapterPushed {
        lesson: String,
        chapter: u32,
    },
    /// Push to participants (and the answer to the teacher's `broadcast`).
    Broadcast {
        text: String,
    },
    /// Push to participants on `lock` (and the answer to it).
    Locked {
        locked: bool,
    },
    /// Push to a participant whose lab was reset (its page starts a fresh run in the same lab), and the
    /// answer to the teacher's `resetLab`, naming every lab it reset.
    LabReset {
        #[serde(default)]
        namespaces: Vec<String>,
    },
    Topics {
        topics: Vec<TopicSummary>,
    },
    Topic {
        topic: String,
        partitions: Vec<PartitionRange>,
    },
    TopicCreated {
        topic: String,
        partitions: i32,
    },
    TopicDeleted {
        topic: String,
    },
    #[serde(rename_all = "camelCase")]
    RecordsDeleted {
        topic: String,
        partition: i32,
        log_start: i64,
    },
    Produced {
        topic: String,
        records: Vec<ProducedRecord>,
    },
    Records {
        batch: RecordBatch,
    },
    Group {
        group: GroupDescription,
    },
    Committed {
        group: String,
        results: Vec<CommitResult>,
    },
    Engine {
        kafka: KafkaReply,
    },
    Storage {
        storage: StorageReply,
    },
    /// Answer to `checkpointFiles`: paths relative to the folder (`ckpt/checkpoint-5000`,
    /// `ckpt/<uuid>/rdd-3`), sorted, at most [`MAX_CHECKPOINT_FILES`].
    CheckpointFiles {
        dir: String,
        files: Vec<StoredFile>,
    },
    /// Push: a watched topic's log end moved.
    #[serde(rename_all = "camelCase")]
    LogEnd {
        topic: String,
        partitions: Vec<PartitionRange>,
    },
    /// Push: new records of a watched group in `__consumer_offsets` (partition `partition` of it).
    OffsetsTopic {
        group: String,
        partition: i32,
        records: Vec<OffsetsTopicRecord>,
    },
    /// Push: Kafka went away or came back.
    KafkaStatus {
        kafka: KafkaState,
    },
    Error {
        code: ErrorCode,
        message: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KafkaState {
    pub up: bool,
    pub bootstrap: String,
    /// Why Kafka is down, when it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicSummary {
    pub topic: String,
    pub partitions: i32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionOffset {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

/// A record to produce.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewRecord {
    #[serde(default)]
    pub key: Option<String>,
    pub value: String,
}

impl NewRecord {
    pub fn new(key: Option<&str>, value: &str) -> NewRecord {
        NewRecord { key: key.map(str::to_string), value: value.to_string() }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProducedRecord {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<String>,
    pub value: String,
}

/// Records of one partition. Keys and values are shown as UTF-8 (invalid bytes replaced).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordBatch {
    pub topic: String,
    pub partition: i32,
    pub high_watermark: i64,
    pub records: Vec<Record>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub offset: i64,
    /// Epoch milliseconds.
    pub timestamp: i64,
    pub key: Option<String>,
    pub value: String,
}

/// What `kafka-consumer-groups --describe` shows, plus the members' assignments.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupDescription {
    pub group: String,
    /// Spelled as Kafka does: `"Empty"`, `"Stable"`, `"PreparingRebalance"`, `"CompletingRebalance"` or
    /// `"Dead"` (does not exist).
    pub state: GroupState,
    pub protocol_type: String,
    pub protocol: String,
    pub members: Vec<Member>,
    pub offsets: Vec<GroupOffset>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    pub member_id: String,
    pub client_id: String,
    pub host: String,
    pub assignment: Vec<TopicPartitions>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicPartitions {
    pub topic: String,
    pub partitions: Vec<i32>,
}

/// One row of `--describe`: CURRENT-OFFSET, LOG-END-OFFSET, LAG, CONSUMER-ID (`None` prints as `-`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupOffset {
    pub topic: String,
    pub partition: i32,
    pub committed: Option<i64>,
    pub log_end: Option<i64>,
    pub lag: Option<i64>,
    pub member_id: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitResult {
    pub topic: String,
    pub partition: i32,
    /// Kafka's error name (`UNKNOWN_MEMBER_ID`, …), `None` on success.
    pub error: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ErrorCode {
    /// Not JSON, or not a request this protocol knows the shape of.
    BadFrame,
    FrameTooLarge,
    UnsupportedVersion,
    UnknownOp,
    /// A topic or group outside the connection's namespace.
    Namespace,
    RateLimited,
    InvalidArgument,
    /// Kafka cannot be reached; the bridge keeps trying.
    KafkaUnavailable,
    /// Kafka answered with an error (named in the message).
    Kafka,
    /// `hello` named a namespace without the lab's secret.
    ResumeNeedsSecret,
    /// `hello {resume}` with a secret no lab has (or `resetLab` naming no lab).
    UnknownLab,
    /// A teacher-only op from a participant.
    NotTeacher,
    /// A destructive op while the teacher has locked them.
    LockedByTeacher,
    /// A lab quota (topics, partitions, records per minute, bytes on the broker, checkpoint bytes);
    /// the message names the limit and the numbers.
    QuotaExceeded,
}

fn yes() -> bool {
    true
}

impl Request {
    pub fn new(id: u64, op: Op) -> Request {
        Request { v: PROTOCOL_VERSION, id, op }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("requests always serialize")
    }
}

impl Response {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("responses always serialize")
    }
}

/// Why a text frame is not a valid [`Request`]; carries the id when the frame had one.
#[derive(Clone, Debug, PartialEq)]
pub struct FrameError {
    pub id: Option<u64>,
    pub code: ErrorCode,
    pub message: String,
}

impl FrameError {
    pub fn into_response(self) -> Response {
        Response::new(self.id, Reply::Error { code: self.code, message: self.message })
    }
}

/// Parses and validates one text frame: size, JSON, version, known op, then the op's fields.
pub fn parse_request(text: &str) -> Result<Request, FrameError> {
    let err = |id, code, message: String| FrameError { id, code, message };
    if text.len() > MAX_FRAME_BYTES {
        return Err(err(None, ErrorCode::FrameTooLarge, format!("frame of {} bytes exceeds the limit of {MAX_FRAME_BYTES}", text.len())));
    }
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| err(None, ErrorCode::BadFrame, format!("not JSON: {e}")))?;
    let Some(obj) = value.as_object() else {
        return Err(err(None, ErrorCode::BadFrame, "a request is a JSON object".into()));
    };
    let id = obj.get("id").and_then(|i| i.as_u64());
    let Some(id_ok) = id else {
        return Err(err(None, ErrorCode::BadFrame, "missing or invalid `id` (an unsigned integer)".into()));
    };
    match obj.get("v").and_then(|v| v.as_u64()) {
        Some(v) if v == PROTOCOL_VERSION as u64 => {}
        Some(v) => {
            return Err(err(
                Some(id_ok),
                ErrorCode::UnsupportedVersion,
                format!("protocol version {v}; this bridge speaks {PROTOCOL_VERSION}"),
            ))
        }
        None => return Err(err(Some(id_ok), ErrorCode::BadFrame, "missing or invalid `v` (protocol version)".into())),
    }
    let Some(op) = obj.get("op").and_then(|o| o.as_str()) else {
        return Err(err(Some(id_ok), ErrorCode::BadFrame, "missing `op`".into()));
    };
    if !OP_NAMES.contains(&op) {
        return Err(err(Some(id_ok), ErrorCode::UnknownOp, format!("unknown op `{op}`; known: {}", OP_NAMES.join(", "))));
    }
    serde_json::from_value::<Request>(value.clone())
        .map_err(|e| err(Some(id_ok), ErrorCode::BadFrame, format!("invalid `{op}` request: {e}")))
}

/// The `op` names of [`Op`], as they appear on the wire.
pub const OP_NAMES: &[&str] = &[
    "hello",
    "createTopic",
    "describeTopic",
    "deleteTopic",
    "deleteRecords",
    "produce",
    "fetch",
    "describeGroup",
    "commitOffsets",
    "engine",
    "storage",
    "checkpointFiles",
    "watch",
    "watchOffsetsTopic",
    "labStatus",
    "watchRoom",
    "pushChapter",
    "broadcast",
    "lock",
    "resetLab",
];

#[cfg(test)]
mod tests {
    use super::*;
    use engine::offsets::TopicPartition;

    #[test]
    fn a_group_description_carries_the_state_in_kafkas_spelling() {
        let g = GroupDescription {
            group: "g".into(),
            state: GroupState::CompletingRebalance,
            protocol_type: "consumer".into(),
            protocol: "range".into(),
            members: vec![],
            offsets: vec![],
        };
        let json = serde_json::to_string(&g).unwrap();
        assert!(json.contains(r#""state":"CompletingRebalance""#), "{json}");
        assert_eq!(serde_json::from_str::<GroupDescription>(&json).unwrap(), g);
        let other = json.replace("CompletingRebalance", "Assigning");
        assert!(serde_json::from_str::<GroupDescription>(&other).unwrap_err().to_string().contains("Assigning"));
    }

    #[test]
    fn requests_round_trip_through_json_with_their_wire_names() {
        let ops = vec![
            Op::Hello { namespace: Some("lab-0123abcd-".into()), binary_records: true, join: None, resume: None },
            Op::CreateTopic { topic: "t".into(), partitions: 3 },
            Op::DeleteRecords { topic: "t".into(), partition: 0, before_offset: 2 },
            Op::Produce { topic: "t".into(), records: vec![NewRecord::new(Some("k"), "v"), NewRecord::new(None, "w")], partition: None },
            Op::Fetch { topic: "t".into(), partition: 1, offset: 0, max_records: 10 },
            Op::DescribeTopic { topic: "t".into() },
            Op::CommitOffsets { group: "g".into(), offsets: vec![PartitionOffset { topic: "t".into(), partition: 0, offset: 4 }] },
            Op::WatchOffsetsTopic { group: "g".into(), on: true },
            Op::CheckpointFiles { dir: "ckpt".into() },
            Op::Engine { request: KafkaRequest::OffsetFetch { group: "g".into(), partitions: vec![TopicPartition::new("t", 0)] } },
        ];
        for (i, op) in ops.into_iter().enumerate() {
            let req = Request::new(i as u64, op);
            let json = req.to_json();
            let name = serde_json::from_str::<serde_json::Value>(&json).unwrap()["op"].as_str().unwrap().to_string();
            assert!(OP_NAMES.contains(&name.as_str()), "{name} missing from OP_NAMES");
            assert_eq!(parse_request(&json).unwrap(), req, "{json}");
        }
    }

    #[test]
    fn consumer_offsets_records_keep_their_wire_shape() {
        let r = OffsetsTopicRecord::OffsetCommit {
            offset: 3,
            group: "g".into(),
            topic: "t".into(),
            partition: 0,
            value: Some(OffsetCommitValue {
                version: 4,
                offset: 5,
                leader_epoch: -1,
                metadata: String::new(),
                commit_timestamp: 7,
                expire_timestamp: None,
            }),
        };
        let json = Response::new(None, Reply::OffsetsTopic { group: "g".into(), partition: 1, records: vec![r] }).to_json();
        assert_eq!(
            json,
            r#"{"v":1,"reply":"offsetsTopic","group":"g","partition":1,"records":[{"kind":"offsetCommit","offset":3,"group":"g","topic":"t","partition":0,"value":{"version":4,"offset":5,"leaderEpoch":-1,"metadata":"","commitTimestamp":7,"expireTimestamp":null}}]}"#
        );
        let tombstone = OffsetsTopicRecord::GroupMetadata { offset: 4, group: "g".into(), value: None };
        assert_eq!(serde_json::to_string(&tombstone).unwrap(), r#"{"kind":"groupMetadata","offset":4,"group":"g","value":null}"#);
    }

    #[test]
    fn the_wire_format_is_camel_case() {
        let json = Request::new(7, Op::DeleteRecords { topic: "t".into(), partition: 0, before_offset: 2 }).to_json();
        assert_eq!(json, r#"{"v":1,"id":7,"op":"deleteRecords","topic":"t","partition":0,"beforeOffset":2}"#);
        let reply = Response::new(Some(7), Reply::RecordsDeleted { topic: "t".into(), partition: 0, log_start: 2 }).to_json();
        assert_eq!(reply, r#"{"v":1,"id":7,"reply":"recordsDeleted","topic":"t","partition":0,"logStart":2}"#);
    }

    #[test]
    fn malformed_frames_get_precise_errors() {
        let code = |t: &str| parse_request(t).unwrap_err();
        assert_eq!(code("{nope").code, ErrorCode::BadFrame);
        assert_eq!(code("[1]").code, ErrorCode::BadFrame);
        assert_eq!(code(r#"{"v":1,"op":"deleteTopic","topic":"t"}"#).id, None);
        let e = code(r#"{"v":2,"id":3,"op":"deleteTopic","topic":"t"}"#);
        assert_eq!((e.id, e.code), (Some(3), ErrorCode::UnsupportedVersion));
        let e = code(r#"{"v":1,"id":4,"op":"formatDisk"}"#);
        assert_eq!((e.id, e.code), (Some(4), ErrorCode::UnknownOp));
        assert!(e.message.contains("formatDisk"));
        let e = code(r#"{"v":1,"id":5,"op":"createTopic","topic":"t"}"#);
        assert_eq!((e.id, e.code), (Some(5), ErrorCode::BadFrame));
        assert!(e.message.contains("partitions"), "{}", e.message);
        let big = format!(r#"{{"v":1,"id":6,"op":"produce","topic":"t","lines":["{}"]}}"#, "x".repeat(MAX_FRAME_BYTES));
        assert_eq!(code(&big).code, ErrorCode::FrameTooLarge);
    }
}
