//! The workshop as the page sees it: which page this is (solo, a participant's `/?join=CODE`, the
//! teacher's `/teacher?secret=S`), the lab secret kept per bridge origin, what the teacher pushed
//! (a chapter, a message, the lock), the status a participant reports, and the compact numbers of
//! the teacher's room. Plain data and pure functions: the app's effects read the address and
//! `localStorage` and hand the results in; nothing here touches the browser.

use crate::lessons::LESSONS;
use crate::session::Session;
use crate::views::{error_is_current, last_error};
use crate::walkthrough::chapter_done;
use protocol::{JobState, LabException, Op, Role, RoomLab, StatusPartition};

/// The workshop's part of the page's state (plain data; the reducer in `state.rs` changes it).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Workshop {
    pub route: Route,
    /// What the bridge's welcome said this page is.
    pub role: Role,
    /// The participant's display name, from the welcome.
    pub name: Option<String>,
    /// The lab's secret: from the welcome that made the lab, or from `localStorage` at load. The
    /// app's effect keeps `localStorage` equal to it on a participant's page.
    pub secret: Option<String>,
    /// The join form is shown (a participant without a lab), with why, if it is shown again.
    pub join_form: Option<JoinForm>,
    /// The teacher moved everyone to (lesson id, chapter index): Go or Stay.
    pub pushed: Option<(String, u32)>,
    pub broadcast: Option<String>,
    /// The teacher locked the destructive buttons.
    pub locked: bool,
    /// The teacher's room: every lab, and when the bridge sent it (epoch ms).
    pub room: Vec<RoomLab>,
    pub room_at: i64,
    /// The lab the teacher opened as a read-only mirror (its namespace).
    pub mirror: Option<String>,
    /// The teacher sees the room, or their own lab.
    pub tab: TeacherTab,
    /// A reset waiting for the teacher's confirmation: one lab (its namespace) or all (`None`).
    pub confirm_reset: Option<Option<String>>,
    /// A fresh run of (lesson, up to chapter) in the same lab, started once the old run's clean-up
    /// (kill, delete the checkpoint folder, delete the topic) has been answered by the bridge.
    pub fresh_run: Option<(usize, Option<u32>)>,
    pub reporter: Reporter,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JoinForm {
    pub notice: Option<String>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TeacherTab {
    #[default]
    Room,
    OwnLab,
}

/// What the workshop's parts of the page ask the reducer to do.
#[derive(Clone, Debug, PartialEq)]
pub enum WorkshopMsg {
    /// The join form's name.
    Join(String),
    /// Follow the chapter the teacher pushed, or stay where one is.
    Go,
    Stay,
    DismissBroadcast,
    PushChapter {
        lesson: String,
        chapter: u32,
    },
    Broadcast(String),
    Lock(bool),
    /// Ask to reset one lab (its namespace) or all; `ConfirmReset(true)` sends it.
    AskReset(Option<String>),
    ConfirmReset(bool),
    Mirror(Option<String>),
    Tab(TeacherTab),
}

impl Workshop {
    /// A page at `route`, with the lab secret `localStorage` held for this bridge, if any.
    pub fn new(route: Route, stored_secret: Option<String>) -> Workshop {
        let secret = matches!(route, Route::Join { .. }).then_some(stored_secret).flatten();
        Workshop { route, secret, ..Workshop::default() }
    }

    /// The first frame of a connection that takes a lab back: the lab's secret (solo and
    /// participants), or nothing but the teacher's own connection (`?teacher=S` names them).
    pub fn resume_hello(&self) -> Op {
        let resume = match self.route {
            Route::Teacher { .. } => None,
            _ => self.secret.clone(),
        };
        Op::Hello { namespace: None, binary_records: false, join: None, resume }
    }

    /// Participants' destructive buttons are off while the teacher holds the lock.
    pub fn destructive_locked(&self) -> bool {
        self.locked && self.role == Role::Participant
    }

    /// The lab the mirror shows, if it is still in the room.
    pub fn mirrored(&self) -> Option<&RoomLab> {
        let ns = self.mirror.as_ref()?;
        self.room.iter().find(|l| &l.namespace == ns)
    }
}

/// The tooltip of a button the teacher locked.
pub const LOCKED_TITLE: &str = "Your teacher has locked this for the moment; everything stays readable. It comes back when they unlock.";

/// Which page the address asks for.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Route {
    /// Today's demo: no join code, every fresh page a lab of its own.
    #[default]
    Solo,
    /// A workshop participant's page (`/?join=CODE`).
    Join { code: String },
    /// The teacher's page (`/teacher?secret=S`).
    Teacher { secret: String },
}

impl Route {
    /// The route of a page at `path` with query `search` (`?a=b&c`, as `location.search` gives it).
    pub fn of(path: &str, search: &str) -> Route {
        let teacher = path.trim_end_matches('/').ends_with("/teacher");
        match (teacher, query(search, "secret"), query(search, "join")) {
            (true, Some(secret), _) => Route::Teacher { secret },
            (false, _, Some(code)) => Route::Join { code },
            _ => Route::Solo,
        }
    }

    /// The websocket's path and query on the bridge that served the page.
    pub fn ws_path(&self) -> String {
        match self {
            Route::Solo => "/ws".into(),
            Route::Join { code } => format!("/ws?join={}", encode(code)),
            Route::Teacher { secret } => format!("/ws?teacher={}", encode(secret)),
        }
    }
}

/// The `localStorage` key of the lab secret for a bridge origin: each bridge (a LAN address, a
/// host name, loopback) hands out its own secrets, so one browser can be in two workshops.
pub fn secret_key(origin: &str) -> String {
    format!("offset-lab.lab-secret.{origin}")
}

/// A query parameter's value, percent-decoded; `None` when absent or empty.
pub fn query(search: &str, key: &str) -> Option<String> {
    search.trim_start_matches('?').split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == key && !v.is_empty()).then(|| decode(v))
    })
}

/// Percent-encodes everything but unreserved characters (RFC 3986).
pub fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Percent-decodes (`+` is a space, as forms send it); a broken escape stays as it is.
fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => match b.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()) {
                Some(v) => {
                    out.push(v);
                    i += 3;
                    continue;
                }
                None => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The job as the teacher's grid shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Job {
    /// Never started in this run.
    Idle,
    Running,
    Stopped,
    /// Died: the exception's class and the first line of its message.
    Crashed {
        class: String,
        first_line: String,
    },
}

impl Job {
    pub fn label(&self) -> &'static str {
        match self {
            Job::Idle => "idle",
            Job::Running => "running",
            Job::Stopped => "stopped",
            Job::Crashed { .. } => "crashed",
        }
    }
}

/// What a participant's page reports about its lab (the bridge adds what it reads from Kafka).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabReport {
    /// The lesson's id (`seed`, `retention`, …).
    pub lesson: String,
    /// The chapter shown (running or the last completed), as an index into the lesson's chapters;
    /// 0 before the walkthrough's first chapter.
    pub chapter: u32,
    pub job: Job,
    /// Per partition of the lesson's topic: the engine's currentOffsets of the newest checkpointed
    /// batch (none before the first checkpoint).
    pub partitions: Vec<(String, i32, Option<i64>)>,
    /// The job's consumer group (the room shows its committed offsets).
    pub group: String,
}

impl LabReport {
    /// The report of a session, from the engine's trace and the checkpoint it wrote.
    pub fn of(s: &Session) -> LabReport {
        let job = if s.run.engine.is_running() {
            Job::Running
        } else if let Some((class, message, ..)) = last_error(&s.run.trace).filter(|_| error_is_current(&s.run.trace)) {
            Job::Crashed { class, first_line: message.lines().next().unwrap_or_default().to_string() }
        } else if s.run.trace.is_empty() {
            Job::Idle
        } else {
            Job::Stopped
        };
        let status = s.run.status(s.now);
        let partitions = status.rows.iter().map(|r| (r.partition.topic.clone(), r.partition.partition, r.checkpointed)).collect();
        LabReport {
            lesson: s.lesson_def().id.to_string(),
            chapter: shown_chapter(s).unwrap_or(0) as u32,
            job,
            partitions,
            group: s.group(),
        }
    }
}

impl LabReport {
    /// The `labStatus` frame, with Kafka's names (`wire` adds the lab's namespace prefix).
    pub fn op(&self, wire: impl Fn(&str) -> String) -> Op {
        let (job, exception) = match &self.job {
            Job::Idle => (JobState::Idle, None),
            Job::Running => (JobState::Running, None),
            Job::Stopped => (JobState::Stopped, None),
            Job::Crashed { class, first_line } => {
                (JobState::Crashed, Some(LabException { class: class.clone(), message: first_line.clone() }))
            }
        };
        let partitions =
            self.partitions.iter().map(|(t, p, k)| StatusPartition { topic: wire(t), partition: *p, checkpoint: *k }).collect();
        Op::LabStatus { lesson: self.lesson.clone(), chapter: self.chapter, job, exception, partitions, group: Some(wire(&self.group)) }
    }
}

/// The chapter the walkthrough panel shows: the one running live, else the last completed.
pub fn shown_chapter(s: &Session) -> Option<usize> {
    let running = s.schedule.front().and_then(|(_, i)| crate::walkthrough::chapter_of(s.lesson_def(), *i));
    running.or_else(|| chapter_done(s))
}

/// A report is sent when it changed, at most once per this many ms.
pub const REPORT_EVERY_MS: i64 = 1_000;

/// When the last report went out, and what it said.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reporter {
    last: Option<(i64, LabReport)>,
}

impl Reporter {
    /// `report` if it is to be sent at `now_ms` (it differs from the last one sent, and the last
    /// one is at least [`REPORT_EVERY_MS`] old); the reporter then counts it as sent.
    pub fn due(&mut self, report: LabReport, now_ms: i64) -> Option<LabReport> {
        match &self.last {
            Some((at, last)) if *last == report || now_ms - at < REPORT_EVERY_MS => None,
            _ => {
                self.last = Some((now_ms, report.clone()));
                Some(report)
            }
        }
    }

    /// A new connection knows nothing of what was reported: the next report goes out at once.
    pub fn forget(&mut self) {
        self.last = None;
    }
}

/// A lesson's index and title from its id; an unknown id is `None`.
pub fn lesson_by_id(id: &str) -> Option<(usize, &'static str)> {
    LESSONS.iter().position(|l| l.id == id).map(|i| (i, LESSONS[i].title))
}

/// "lesson · chapter" for people: the lesson's short title and the chapter (an index) with its title.
pub fn where_label(lesson: &str, chapter: u32) -> String {
    let Some((i, title)) = lesson_by_id(lesson) else { return format!("{lesson} · chapter {}", chapter + 1) };
    let chapters = LESSONS[i].chapters();
    let short = title.split(':').next().unwrap_or(title);
    match chapters.get(chapter as usize) {
        Some(c) => format!("{short} · {}/{} {}", chapter + 1, chapters.len(), c.title),
        None => format!("{short} · chapter {}", chapter + 1),
    }
}

/// "12 s ago", "3 min ago", "1 h 5 min ago": the time since the lab's last activity.
pub fn ago(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..=59 => format!("{s} s ago"),
        60..=3599 => format!("{} min ago", s / 60),
        _ => format!("{} h {} min ago", s / 3600, s % 3600 / 60),
    }
}

/// "[0, 12)" for a partition's log start and end.
pub fn log_range(start: i64, end: i64) -> String {
    format!("[{start}, {end})")
}

/// The one-line reason a partition's numbers disagree, with the numbers: the checkpoint is what a
/// restart reads from, so it is compared with the log and with the group's commit.
pub fn disagreement(checkpoint: Option<i64>, committed: Option<i64>, log_start: Option<i64>, log_end: Option<i64>) -> Option<String> {
    let end = log_end?;
    let start = log_start.unwrap_or(0);
    if let Some(k) = checkpoint.filter(|k| *k > end) {
        return Some(format!("checkpoint {k} > log end {end}"));
    }
    if let Some(k) = checkpoint.filter(|k| *k < start) {
        return Some(format!("checkpoint {k} < log start {start}"));
    }
    match (checkpoint, committed) {
        (Some(k), Some(g)) if k != g => Some(format!("checkpoint {k} ≠ committed {g}: a restart reads from {k}")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::Act;
    use crate::walkthrough::session_at;

    #[test]
    fn the_address_names_the_page() {
        assert_eq!(Route::of("/", ""), Route::Solo);
        assert_eq!(Route::of("/", "?offline"), Route::Solo);
        assert_eq!(Route::of("/", "?join=ab12cd"), Route::Join { code: "ab12cd".into() });
        assert_eq!(Route::of("/index.html", "?x=1&join=a%2Bb"), Route::Join { code: "a+b".into() });
        assert_eq!(Route::of("/teacher", "?secret=s3"), Route::Teacher { secret: "s3".into() });
        assert_eq!(Route::of("/teacher/", "?secret=s3&join=x"), Route::Teacher { secret: "s3".into() });
        // No secret on /teacher, an empty code: nothing to connect with, the solo page.
        assert_eq!(Route::of("/teacher", ""), Route::Solo);
        assert_eq!(Route::of("/", "?join="), Route::Solo);
        assert_eq!(Route::Join { code: "a b&c".into() }.ws_path(), "/ws?join=a%20b%26c");
        assert_eq!(Route::Teacher { secret: "s3".into() }.ws_path(), "/ws?teacher=s3");
        assert_eq!(Route::Solo.ws_path(), "/ws");
        assert_eq!(secret_key("http://192.168.1.20:8787"), "offset-lab.lab-secret.http://192.168.1.20:8787");
    }

    #[test]
    fn percent_decoding_keeps_broken_escapes() {
        assert_eq!(query("?join=%zz1", "join").as_deref(), Some("%zz1"));
        assert_eq!(query("?join=ab%", "join").as_deref(), Some("ab%"));
        assert_eq!(query("?join=%C3%A9+x", "join").as_deref(), Some("é x"));
        assert_eq!(query("join=1", "joi"), None);
    }

    #[test]
    fn the_report_follows_the_job_and_the_checkpoint() {
        let mut s = Session::new();
        let r = LabReport::of(&s);
        assert_eq!((r.lesson.as_str(), r.chapter, &r.job), ("seed", 0, &Job::Idle));
        assert!(r.partitions.iter().all(|p| p.0 == "words" && p.2.is_none()), "{:?}", r.partitions);
        s.apply(Act::Start(Default::default()));
        assert_eq!(LabReport::of(&s).job, Job::Running);
        s.apply(Act::Stop { graceful: true });
        s.advance_to(engine::time::Time(s.now.ms() + 10_000));
        assert_eq!(LabReport::of(&s).job, Job::Stopped);
        // The seed lesson's chapter 8 ends with the numRecords exception.
        let s = session_at(0, 7);
        let r = LabReport::of(&s);
        assert_eq!(Some(r.chapter as usize), chapter_done(&s));
        assert_eq!(
            r.job,
            Job::Crashed {
                class: "java.lang.IllegalArgumentException".into(),
                first_line: "requirement failed: numRecords must not be negative".into()
            }
        );
        // The checkpoint's offsets are the engine's, per partition of the topic.
        let status = s.run.status(s.now);
        let expected: Vec<Option<i64>> = status.rows.iter().map(|r| r.checkpointed).collect();
        assert_eq!(r.partitions.iter().map(|p| p.2).collect::<Vec<_>>(), expected);
        assert!(expected.iter().any(|k| k.is_some_and(|k| k > 0)), "{expected:?}");
    }

    #[test]
    fn the_report_frame_carries_kafkas_names_and_the_exceptions_first_line() {
        let r = LabReport {
            lesson: "seed".into(),
            chapter: 7,
            job: Job::Crashed { class: "java.lang.IllegalArgumentException".into(), first_line: "requirement failed".into() },
            partitions: vec![("words".into(), 0, Some(2)), ("words".into(), 1, None)],
            group: "g".into(),
        };
        let Op::LabStatus { lesson, chapter, job, exception, partitions, group } = r.op(|t| format!("lab-1-{t}")) else { panic!() };
        assert_eq!(group.as_deref(), Some("lab-1-g"));
        assert_eq!((lesson.as_str(), chapter, job), ("seed", 7, JobState::Crashed));
        assert_eq!(exception.map(|e| e.message), Some("requirement failed".into()));
        assert_eq!(
            partitions,
            vec![
                StatusPartition { topic: "lab-1-words".into(), partition: 0, checkpoint: Some(2) },
                StatusPartition { topic: "lab-1-words".into(), partition: 1, checkpoint: None }
            ]
        );
    }

    #[test]
    fn reports_go_out_when_they_change_at_most_once_a_second() {
        let s = Session::new();
        let r = LabReport::of(&s);
        let mut rep = Reporter::default();
        assert_eq!(rep.due(r.clone(), 10_000), Some(r.clone()));
        assert_eq!(rep.due(r.clone(), 12_000), None, "unchanged");
        let running = LabReport { job: Job::Running, ..r.clone() };
        assert_eq!(rep.due(running.clone(), 12_500), Some(running.clone()));
        let stopped = LabReport { job: Job::Stopped, ..r.clone() };
        assert_eq!(rep.due(stopped.clone(), 13_000), None, "within the second");
        assert_eq!(rep.due(stopped.clone(), 13_500), Some(stopped.clone()));
        rep.forget();
        assert_eq!(rep.due(stopped.clone(), 13_600), Some(stopped));
    }

    #[test]
    fn labels_for_people() {
        assert_eq!(ago(12_400), "12 s ago");
        assert_eq!(ago(-5), "0 s ago");
        assert_eq!(ago(185_000), "3 min ago");
        assert_eq!(ago(3_900_000), "1 h 5 min ago");
        assert_eq!(log_range(0, 12), "[0, 12)");
        let chapters = LESSONS[0].chapters();
        assert_eq!(where_label("seed", 0), format!("The seed experiment · 1/{} {}", chapters.len(), chapters[0].title));
        assert_eq!(where_label("seed", 99), "The seed experiment · chapter 100");
        assert_eq!(where_label("nope", 2), "nope · chapter 3");
    }

    #[test]
    fn disagreements_name_their_numbers() {
        assert_eq!(disagreement(Some(4), Some(4), Some(0), Some(4)), None);
        assert_eq!(disagreement(Some(4), None, Some(0), Some(0)).as_deref(), Some("checkpoint 4 > log end 0"));
        assert_eq!(disagreement(Some(1), Some(1), Some(3), Some(9)).as_deref(), Some("checkpoint 1 < log start 3"));
        assert_eq!(disagreement(Some(2), Some(0), Some(0), Some(2)).as_deref(), Some("checkpoint 2 ≠ committed 0: a restart reads from 2"));
        assert_eq!(disagreement(Some(2), Some(0), Some(0), None), None, "no log facts yet");
    }
}
