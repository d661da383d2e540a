//! The workshop's frames: who a connection is (solo, participant, teacher), what a participant's page
//! reports about its lab, and what the teacher's room view shows (see docs/protocol.md, "Workshop").

use serde::{Deserialize, Serialize};

/// Longest text of a teacher's broadcast, in characters.
pub const MAX_BROADCAST_CHARS: usize = 280;
/// Longest display name a participant may choose, in characters.
pub const MAX_NAME_CHARS: usize = 40;

/// `hello {join: {name}}`: a participant's first visit (workshop mode).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Join {
    pub name: String,
}

/// What the bridge took this connection to be.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Role {
    /// One person at one machine (`cargo xtask demo`): every fresh connection gets a lab.
    #[default]
    Solo,
    Participant,
    Teacher,
}

/// The streaming job's state as the participant's page sees it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum JobState {
    Running,
    Stopped,
    Crashed,
    /// Never started in this lab.
    #[default]
    Idle,
}

/// The exception a crashed job died with: Java's class name and the message's first line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabException {
    pub class: String,
    pub message: String,
}

/// One partition as the page reports it: the checkpoint's offset (the newest checkpoint's
/// `untilOffset`), when there is one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusPartition {
    pub topic: String,
    pub partition: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<i64>,
}

/// One partition in the teacher's room: the three numbers. `checkpoint` is the page's report;
/// `committed`, `logStart` and `logEnd` are read by the bridge from Kafka.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoomPartition {
    pub topic: String,
    pub partition: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub committed: Option<i64>,
    pub log_start: i64,
    pub log_end: i64,
}

/// One lab in the teacher's room.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoomLab {
    pub namespace: String,
    /// The participant's display name (`teacher` for the teacher's own lab).
    pub name: String,
    /// Lesson id and chapter index (0-based) the page last reported; empty / 0 before the first report.
    pub lesson: String,
    pub chapter: u32,
    pub job: JobState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exception: Option<LabException>,
    pub partitions: Vec<RoomPartition>,
    /// Epoch milliseconds of the lab's last request.
    pub last_activity_ms: i64,
    /// A connection holds the lab now.
    pub online: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{parse_request, ErrorCode, KafkaState, Op, Reply, Request, Response, OP_NAMES};

    fn round_trip(op: Op) -> String {
        let req = Request::new(3, op);
        let json = req.to_json();
        let name = serde_json::from_str::<serde_json::Value>(&json).unwrap()["op"].as_str().unwrap().to_string();
        assert!(OP_NAMES.contains(&name.as_str()), "{name} missing from OP_NAMES");
        assert_eq!(parse_request(&json).unwrap(), req, "{json}");
        json
    }

    #[test]
    fn workshop_requests_round_trip_with_their_wire_names() {
        let hello = Op::Hello { namespace: None, binary_records: false, join: Some(Join { name: "Ada".into() }), resume: None };
        assert_eq!(round_trip(hello), r#"{"v":1,"id":3,"op":"hello","binaryRecords":false,"join":{"name":"Ada"}}"#);
        let resume = Op::Hello { namespace: None, binary_records: true, join: None, resume: Some("s3cr3t".into()) };
        assert_eq!(round_trip(resume), r#"{"v":1,"id":3,"op":"hello","binaryRecords":true,"resume":"s3cr3t"}"#);
        let status = Op::LabStatus {
            lesson: "seed".into(),
            chapter: 2,
            job: JobState::Crashed,
            exception: Some(LabException { class: "java.lang.IllegalArgumentException".into(), message: "requirement failed".into() }),
            partitions: vec![StatusPartition { topic: "lab-0123456789ab-words".into(), partition: 0, checkpoint: Some(4) }],
            group: Some("lab-0123456789ab-g".into()),
        };
        assert_eq!(
            round_trip(status),
            r#"{"v":1,"id":3,"op":"labStatus","lesson":"seed","chapter":2,"job":"crashed","exception":{"class":"java.lang.IllegalArgumentException","message":"requirement failed"},"partitions":[{"topic":"lab-0123456789ab-words","partition":0,"checkpoint":4}],"group":"lab-0123456789ab-g"}"#
        );
        assert_eq!(round_trip(Op::WatchRoom { on: true }), r#"{"v":1,"id":3,"op":"watchRoom","on":true}"#);
        round_trip(Op::PushChapter { lesson: "retention".into(), chapter: 1 });
        round_trip(Op::Broadcast { text: "Break until 11:00".into() });
        assert_eq!(round_trip(Op::Lock { locked: true }), r#"{"v":1,"id":3,"op":"lock","locked":true}"#);
        assert_eq!(round_trip(Op::ResetLab { namespace: None }), r#"{"v":1,"id":3,"op":"resetLab"}"#);
        round_trip(Op::ResetLab { namespace: Some("lab-0123456789ab-".into()) });
    }

    #[test]
    fn short_forms_the_page_may_send_parse() {
        let r = parse_request(r#"{"v":1,"id":1,"op":"hello"}"#).unwrap();
        assert_eq!(r.op, Op::Hello { namespace: None, binary_records: false, join: None, resume: None });
        assert_eq!(parse_request(r#"{"v":1,"id":1,"op":"watchRoom"}"#).unwrap().op, Op::WatchRoom { on: true });
        let r = parse_request(r#"{"v":1,"id":1,"op":"labStatus","lesson":"seed","chapter":0,"job":"idle"}"#).unwrap();
        assert!(matches!(r.op, Op::LabStatus { job: JobState::Idle, ref partitions, .. } if partitions.is_empty()));
        let e = parse_request(r#"{"v":1,"id":1,"op":"labStatus","lesson":"seed","chapter":0,"job":"sleeping"}"#).unwrap_err();
        assert_eq!(e.code, ErrorCode::BadFrame);
    }

    #[test]
    fn workshop_replies_round_trip() {
        let kafka = KafkaState { up: true, bootstrap: "127.0.0.1:9092".into(), detail: None };
        let replies = vec![
            Reply::Welcome {
                protocol_version: 1,
                namespace: "lab-0123456789ab-".into(),
                kafka,
                max_frame_bytes: 262_144,
                binary_records: false,
                lab_secret: Some("s3cr3t".into()),
                participant: Some("Ada".into()),
                role: Role::Participant,
                locked: true,
                resumed: true,
                lesson: Some("retention".into()),
            },
            Reply::LabStatusStored {},
            Reply::Room {
                labs: vec![RoomLab {
                    namespace: "lab-0123456789ab-".into(),
                    name: "Ada".into(),
                    lesson: "seed".into(),
                    chapter: 1,
                    job: JobState::Running,
                    exception: None,
                    partitions: vec![RoomPartition {
                        topic: "lab-0123456789ab-words".into(),
                        partition: 0,
                        checkpoint: Some(3),
                        committed: None,
                        log_start: 0,
                        log_end: 7,
                    }],
                    last_activity_ms: 1_764_600_000_000,
                    online: true,
                }],
            },
            Reply::ChapterPushed { lesson: "seed".into(), chapter: 2 },
            Reply::Broadcast { text: "hi".into() },
            Reply::Locked { locked: false },
            Reply::LabReset { namespaces: vec!["lab-0123456789ab-".into()] },
            Reply::Error { code: ErrorCode::QuotaExceeded, message: "x".into() },
        ];
        for r in replies {
            let json = Response::new(Some(1), r).to_json();
            assert_eq!(serde_json::to_string(&serde_json::from_str::<Response>(&json).unwrap()).unwrap(), json);
        }
        let room = Response::new(None, Reply::Room { labs: vec![] }).to_json();
        assert_eq!(room, r#"{"v":1,"reply":"room","labs":[]}"#);
    }

    #[test]
    fn an_old_welcome_still_parses_as_solo_and_unlocked() {
        let old = r#"{"v":1,"reply":"welcome","protocolVersion":1,"namespace":"lab-0c1d2e3f4a5b-","kafka":{"up":true,"bootstrap":"127.0.0.1:9092"},"maxFrameBytes":262144,"binaryRecords":false}"#;
        let r: Response = serde_json::from_str(old).unwrap();
        assert!(matches!(r.reply, Reply::Welcome { role: Role::Solo, locked: false, lab_secret: None, .. }));
    }

    #[test]
    fn error_codes_keep_their_wire_names() {
        let names: Vec<String> = [
            ErrorCode::ResumeNeedsSecret,
            ErrorCode::UnknownLab,
            ErrorCode::NotTeacher,
            ErrorCode::LockedByTeacher,
            ErrorCode::QuotaExceeded,
        ]
        .iter()
        .map(|c| serde_json::to_string(c).unwrap())
        .collect();
        assert_eq!(names, [r#""resumeNeedsSecret""#, r#""unknownLab""#, r#""notTeacher""#, r#""lockedByTeacher""#, r#""quotaExceeded""#]);
    }
}
