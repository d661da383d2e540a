//! The page's state: the session (engine + Kafka, large, so mutated in place behind a shared
//! handle) and UI-only plain data. [`AppState::update`] turns a [`Msg`] into the next state, or
//! `None` when nothing the page shows changed — the reducer then returns the same `Rc` and Yew skips
//! the render. No I/O here: times come in the messages, frames leave through the session's outbox
//! (drained by the app's effect), timers and the socket live in the app and `bridge_socket`.

use crate::bridge_socket::{self, Event};
use crate::kafka::WebKafka;
use crate::link::{self, Shared};
use crate::session::{Act, Session, Settings};
use crate::walkthrough;
use engine::time::Time;
use scenario::runner::StatusRow;
use std::cell::RefCell;
use std::rc::Rc;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialog {
    Rewind,
    Settings,
}

/// The page's link to a bridge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Link {
    /// No bridge (a static deployment, `?offline`, a share link): the simulation.
    Offline,
    Connecting,
    Live,
    /// A live session lost its bridge: the next attempt is at `at_ms` (wall clock); the session
    /// keeps what it had.
    Reconnecting {
        why: String,
        attempt: u32,
        at_ms: i64,
    },
}

/// The session behind a handle: equal when it is the same session.
#[derive(Clone)]
pub struct SessionRef(pub Rc<RefCell<Session>>);

impl SessionRef {
    fn new(s: Session) -> SessionRef {
        SessionRef(Rc::new(RefCell::new(s)))
    }
}

impl PartialEq for SessionRef {
    fn eq(&self, other: &SessionRef) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

impl std::ops::Deref for SessionRef {
    type Target = RefCell<Session>;
    fn deref(&self) -> &RefCell<Session> {
        &self.0
    }
}

#[derive(Clone, PartialEq)]
pub struct AppState {
    pub session: SessionRef,
    pub settings: Settings,
    pub playing: bool,
    /// Logical seconds per real second while playing.
    pub speed: u32,
    pub presenter: bool,
    /// Index into the batch timeline; `None` follows the newest batch.
    pub selected_batch: Option<usize>,
    pub open_file: Option<String>,
    pub dialog: Option<Dialog>,
    pub share_url: Option<String>,
    /// Why a share link could not be opened, a frame could not be read, …
    pub notice: Option<String>,
    pub link: Link,
    /// Bumped to open a new bridge connection (a fresh namespace: new topic, group and checkpoint folder).
    pub connect_gen: u32,
    /// Bumped to open the connection again after a loss (the same namespace, resumed by `hello`).
    pub reconnects: u32,
    /// What the page showed of the session when it last changed.
    seen: Seen,
    /// Bumped by every change; the outbox is drained after each.
    pub rev: u64,
}

/// What the panels show of the session, cheap to take: equal before and after a message means
/// there is nothing to render again.
#[derive(Clone, Debug, Default, PartialEq)]
struct Seen {
    /// The clock as shown (live: whole seconds).
    clock: i64,
    trace: usize,
    log: usize,
    failures: usize,
    entries: usize,
    tool_lines: usize,
    running: bool,
    rows: Vec<StatusRow>,
    group_state: String,
    members: Vec<String>,
    checkpoint_files: usize,
    offsets_topic: usize,
    lag: (usize, Option<Time>),
    /// The walkthrough's live schedule: steps left and seconds to the next.
    schedule: (usize, Option<i64>),
    /// Live: Kafka's health and the requests in flight.
    kafka: Option<(bool, Option<String>, usize)>,
}

/// What the trace-derived panels (batches, the error, the job's output) are drawn from: they render
/// again only when it changes, not at every tick of the clock.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceKey {
    trace: usize,
    rows: Vec<StatusRow>,
    group_state: String,
    running: bool,
    checkpoint_files: usize,
}

impl Seen {
    fn of(s: &Session) -> Seen {
        let now = s.now.ms();
        let status = s.run.status(s.now);
        let live = s.run.kafka.live();
        Seen {
            clock: shown_clock(s).ms(),
            trace: s.run.trace.len(),
            log: s.run.log.len(),
            failures: s.run.failures.len(),
            entries: s.entries.len(),
            tool_lines: s.tool_lines.len(),
            running: status.running,
            rows: status.rows,
            group_state: status.group_state,
            members: s.run.kafka.members(&status.group),
            checkpoint_files: status.checkpoint_files.len(),
            offsets_topic: match &s.run.kafka {
                WebKafka::Model(m) => m.offsets_topic.len(),
                WebKafka::Live(k) => k.offsets_topic.len(),
            },
            lag: (s.lag_history.len(), s.lag_history.back().map(|l| l.at)),
            schedule: (s.schedule.len(), s.schedule.front().map(|(due, _)| countdown_secs(*due, now))),
            kafka: live.map(|k| (k.kafka.up, k.kafka.detail.clone(), k.waiting())),
        }
    }
}

/// The time the header shows: logical time in the simulation, the wall clock's second live.
pub fn shown_clock(s: &Session) -> Time {
    if s.is_live() {
        Time(s.now.ms() - s.now.ms().rem_euclid(1000))
    } else {
        s.now
    }
}

/// Whole seconds from `now_ms` to `due_ms`, rounded up ("the next in 3 s").
pub fn countdown_secs(due_ms: i64, now_ms: i64) -> i64 {
    ((due_ms - now_ms).max(0) + 999) / 1000
}

impl Default for AppState {
    fn default() -> AppState {
        AppState::with_session(Session::new())
    }
}

pub enum Msg {
    Do(Act),
    /// Real time passed while playing: advance by this many logical ms.
    Tick(i64),
    StepBatch,
    Play(bool),
    Speed(u32),
    Presenter(bool),
    SelectBatch(Option<usize>),
    OpenFile(Option<String>),
    Dialog(Option<Dialog>),
    Settings(Settings),
    /// Replay the walkthrough from scratch to the end of chapter k.
    Chapter(usize),
    /// Apply the next chapter on top of the current session.
    NextChapter,
    Share(String),
    Load(Result<Shared, String>),
    NewPlayground,
    /// Follow another lesson (a fresh session; live: a fresh lab).
    ChooseLesson(usize),
    /// The bridge socket reported something, at this wall-clock time (epoch ms).
    Bridge(Event, i64),
    /// The reconnect wait is over: open the connection again.
    Retry,
    /// A frame could not be handed to the socket.
    SendFailed(String),
    /// Live: the wall clock ticked (epoch ms).
    LiveTick(i64),
}

const LIVE_ONLY_FORWARD: &str = "On a real Kafka time only runs forward: chapters cannot be replayed or skipped. New starts a fresh lab (new topic, group and checkpoint folder) to begin again.";

impl AppState {
    pub fn with_session(session: Session) -> AppState {
        let seen = Seen::of(&session);
        AppState {
            session: SessionRef::new(session),
            settings: Settings::default(),
            playing: false,
            speed: 1,
            presenter: false,
            selected_batch: None,
            open_file: None,
            dialog: None,
            share_url: None,
            notice: None,
            link: Link::Offline,
            connect_gen: 0,
            reconnects: 0,
            seen,
            rev: 0,
        }
    }

    /// The next state after `msg`, or `None` when the page would show the same thing (and there is
    /// nothing to send).
    pub fn update(&self, msg: Msg) -> Option<AppState> {
        let mut next = self.clone();
        next.apply(msg);
        next.seen = Seen::of(&next.session.borrow());
        let frames = next.session.borrow().has_frames();
        if next == *self && !frames {
            return None;
        }
        next.rev += 1;
        Some(next)
    }

    pub fn trace_key(&self) -> TraceKey {
        let s = &self.seen;
        TraceKey {
            trace: s.trace,
            rows: s.rows.clone(),
            group_state: s.group_state.clone(),
            running: s.running,
            checkpoint_files: s.checkpoint_files,
        }
    }

    /// A live session: frames go to the bridge and the wall clock drives it.
    pub fn is_live(&self) -> bool {
        matches!(self.link, Link::Live | Link::Reconnecting { .. })
    }

    fn set_session(&mut self, s: Session) {
        self.session = SessionRef::new(s);
        self.playing = false;
        self.selected_batch = None;
        self.open_file = None;
    }

    /// A fresh session of `lesson`; `reconnect` also opens a new bridge connection (a fresh lab).
    fn start_over(&mut self, lesson: usize, reconnect: bool) {
        self.set_session(Session::for_lesson(lesson));
        self.share_url = None;
        if reconnect {
            self.connect_gen += 1;
            self.link = Link::Connecting;
        }
    }

    fn apply(&mut self, msg: Msg) {
        let live = self.session.borrow().is_live();
        match msg {
            Msg::Bridge(event, now) => self.bridge(event, now, live),
            Msg::Retry => {
                if matches!(self.link, Link::Reconnecting { .. }) {
                    self.reconnects += 1;
                }
            }
            Msg::SendFailed(e) => self.notice = Some(e),
            Msg::LiveTick(now) => self.session.borrow_mut().tick_live(now),
            Msg::Tick(_) | Msg::StepBatch | Msg::Chapter(_) if live => {
                if let Msg::Chapter(k) = msg {
                    let done = walkthrough::chapter_done(&self.session.borrow());
                    if k == done.map_or(0, |d| d + 1) {
                        return self.apply(Msg::NextChapter);
                    }
                    self.notice = Some(LIVE_ONLY_FORWARD.into());
                }
            }
            Msg::NextChapter if live => {
                let done = walkthrough::chapter_done(&self.session.borrow());
                let k = done.map_or(0, |d| d + 1);
                let mut s = self.session.borrow_mut();
                let lesson = s.lesson_def();
                match lesson.chapters().get(k) {
                    Some(c) if s.schedule.is_empty() && s.lesson_progress() == Some(c.steps.start) => {
                        s.schedule_steps(c.steps.clone());
                        // A chapter that only looks (checks) follows at once: on a real Kafka what it
                        // looks at lasts one batch, not until someone clicks.
                        for c in lesson.chapters()[k + 1..].iter().take_while(|c| walkthrough::only_checks(lesson, c)) {
                            s.schedule_steps(c.steps.clone());
                        }
                    }
                    Some(_) if !s.schedule.is_empty() => {}
                    Some(_) => {
                        self.notice = Some(format!(
                            "The walkthrough follows its own steps; after other actions it needs a fresh lab. {LIVE_ONLY_FORWARD}"
                        ))
                    }
                    None => {}
                }
                drop(s);
                self.selected_batch = None;
            }
            Msg::NewPlayground | Msg::ChooseLesson(_) => {
                let lesson = match msg {
                    Msg::ChooseLesson(l) => l,
                    _ => self.session.borrow().lesson,
                };
                // With a bridge, a fresh session is a fresh lab too: a new connection, a new namespace.
                let reconnect = live || self.link == Link::Connecting;
                if reconnect && matches!(msg, Msg::NewPlayground) {
                    self.notice = None;
                }
                self.start_over(lesson, reconnect);
            }
            Msg::Do(act) => {
                self.session.borrow_mut().apply(act);
                self.share_url = None;
            }
            Msg::Tick(ms) => {
                let mut s = self.session.borrow_mut();
                let t = Time(s.now.ms() + ms);
                s.advance_to(t);
            }
            Msg::StepBatch => {
                self.playing = false;
                self.session.borrow_mut().step_batch(self.settings.batch_secs);
            }
            Msg::Play(p) => self.playing = p,
            Msg::Speed(x) => self.speed = x.clamp(1, 60),
            Msg::Presenter(p) => self.presenter = p,
            Msg::SelectBatch(i) => self.selected_batch = i,
            Msg::OpenFile(f) => self.open_file = f,
            Msg::Dialog(d) => self.dialog = d,
            Msg::Settings(s) => {
                self.settings = s;
                self.dialog = None;
            }
            Msg::Chapter(k) => {
                let lesson = self.session.borrow().lesson;
                self.set_session(walkthrough::session_at(lesson, k));
            }
            Msg::NextChapter => {
                let done = walkthrough::chapter_done(&self.session.borrow());
                let k = done.map_or(0, |d| d + 1);
                let lesson = self.session.borrow().lesson;
                match (done, walkthrough::LESSONS[lesson].chapters().get(k)) {
                    (_, None) => {}
                    // Only on top of the previous chapter; chapter 1 always starts from 12:00:00.
                    (Some(_), Some(c)) if self.session.borrow().lesson_progress() == Some(c.steps.start) => {
                        let mut s = self.session.borrow_mut();
                        for i in c.steps.clone() {
                            s.apply(Act::Lesson(i));
                        }
                    }
                    // Not on the walkthrough yet, or off it (manual actions): start it over.
                    _ => self.session = SessionRef::new(walkthrough::session_at(lesson, 0)),
                }
                self.playing = false;
                self.selected_batch = None;
            }
            Msg::Share(url) => self.share_url = Some(url),
            Msg::Load(Ok(shared)) => {
                self.session = SessionRef::new(Session::replay(shared.lesson, &shared.entries, shared.now));
                self.notice = None;
            }
            Msg::Load(Err(e)) => self.notice = Some(format!("This share link could not be opened: {e}")),
        }
    }

    fn bridge(&mut self, event: Event, now: i64, live: bool) {
        match event {
            Event::Opened if live => {
                self.session.borrow_mut().reconnected();
                self.link = Link::Live;
                self.notice = None;
            }
            Event::Opened => {}
            Event::Frame(Err(e)) => {
                self.notice = Some(format!("The bridge sent a frame this page cannot read; it was ignored and the session goes on: {e}"))
            }
            // The first frame is the bridge's welcome: an untouched page moves to the real Kafka.
            Event::Frame(Ok(protocol::Response { reply: protocol::Reply::Welcome { namespace, kafka, .. }, .. })) if !live => {
                if self.session.borrow().entries.is_empty() {
                    let lesson = self.session.borrow().lesson;
                    self.set_session(Session::live(lesson, &namespace, kafka, now));
                    self.link = Link::Live;
                } else {
                    self.notice = Some(
                        "A bridge to a real Kafka answered, but this page already has a simulation going: New switches to the real Kafka."
                            .into(),
                    );
                }
            }
            Event::Frame(Ok(_)) if !live => {}
            Event::Frame(Ok(r)) => {
                self.session.borrow_mut().handle_response(r, now);
                if let Link::Reconnecting { .. } = self.link {
                    self.link = Link::Live;
                }
            }
            Event::Closed(why) if live => {
                let mut s = self.session.borrow_mut();
                s.advance_to(Time(now));
                s.disconnected(&why);
                drop(s);
                // A connection that opened counts as a success: the wait starts again from the first.
                let attempt = match &self.link {
                    Link::Reconnecting { attempt, .. } => attempt + 1,
                    _ => 1,
                };
                self.link = Link::Reconnecting { why, attempt, at_ms: now + bridge_socket::backoff_ms(attempt) };
            }
            Event::Closed(_) => self.link = Link::Offline,
        }
    }
}

/// The share fragment for the current session.
pub fn share_fragment(state: &AppState) -> String {
    let s = state.session.borrow();
    link::encode(&Shared { entries: s.entries.clone(), now: s.now.ms(), lesson: s.lesson })
}

#[cfg(target_arch = "wasm32")]
pub use shell::{wall_ms, Store};

#[cfg(target_arch = "wasm32")]
mod shell {
    use super::{AppState, Msg};
    use std::rc::Rc;
    use yew::prelude::*;

    impl Reducible for AppState {
        type Action = Msg;

        fn reduce(self: Rc<Self>, msg: Msg) -> Rc<Self> {
            match self.update(msg) {
                Some(next) => Rc::new(next),
                None => self,
            }
        }
    }

    pub type Store = UseReducerHandle<AppState>;

    /// The wall clock in epoch ms (live sessions run on it); read where messages are made, never in the reducer.
    pub fn wall_ms() -> i64 {
        web_sys::window().and_then(|w| w.performance()).map_or(0, |p| (p.time_origin() + p.now()) as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::{KafkaState, Reply, Response};

    const NOW: i64 = 1_764_600_003_100;

    fn welcome() -> Event {
        let kafka = KafkaState { up: true, bootstrap: "127.0.0.1:9092".into(), detail: None };
        let reply = Reply::Welcome {
            protocol_version: 1,
            namespace: "lab-0123456789ab-".into(),
            kafka,
            max_frame_bytes: 262_144,
            binary_records: false,
            lab_secret: None,
            participant: None,
            role: protocol::Role::Solo,
            locked: false,
        };
        Event::Frame(Ok(Response::new(None, reply)))
    }

    /// A page the bridge welcomed, its first frames sent.
    fn live() -> AppState {
        let s = AppState { link: Link::Connecting, ..AppState::default() };
        let s = s.update(Msg::Bridge(welcome(), NOW)).expect("the welcome makes a lab");
        assert_eq!(s.link, Link::Live);
        s.session.borrow_mut().take_frames();
        s
    }

    #[test]
    fn a_tick_that_changes_nothing_shown_keeps_the_state() {
        let s = live();
        // The first tick asks for facts: frames to send, a change.
        let s = s.update(Msg::LiveTick(NOW + 250)).expect("facts are asked for");
        assert!(s.session.borrow().has_frames());
        s.session.borrow_mut().take_frames();
        // Within the same second, no facts due, nothing scheduled: the same state.
        assert!(s.update(Msg::LiveTick(NOW + 500)).is_none());
        assert!(s.update(Msg::LiveTick(NOW + 750)).is_none());
        // The clock's second turns: shown.
        assert!(s.update(Msg::LiveTick(NOW + 900)).is_some());
        // UI-only messages that change nothing are no-ops too; those that do are not.
        let sim = AppState::default();
        assert!(sim.update(Msg::Play(false)).is_none());
        assert!(sim.update(Msg::SelectBatch(None)).is_none());
        assert!(sim.update(Msg::Play(true)).is_some_and(|n| n.playing && n.rev == sim.rev + 1));
        assert!(sim.update(Msg::Tick(200)).is_some());
    }

    #[test]
    fn a_malformed_frame_shows_an_error_and_the_session_goes_on() {
        let s = live();
        let bad = bridge_socket::read_frame(r#"{"v":1,"reply":"surprise"}"#);
        let s = s.update(Msg::Bridge(Event::Frame(bad), NOW + 300)).expect("the error is shown");
        let notice = s.notice.clone().unwrap();
        assert!(notice.starts_with("The bridge sent a frame this page cannot read") && notice.contains("surprise"), "{notice}");
        assert_eq!(s.link, Link::Live);
        let down = r#"{"v":1,"reply":"kafkaStatus","kafka":{"up":false,"bootstrap":"127.0.0.1:9092","detail":"gone"}}"#;
        let s = s.update(Msg::Bridge(Event::Frame(bridge_socket::read_frame(down)), NOW + 400)).unwrap();
        assert!(!s.session.borrow().run.kafka.live().unwrap().kafka.up);
    }

    #[test]
    fn a_lost_bridge_is_retried_with_backoff_and_the_namespace_resumed() {
        let s = live();
        let s = s.update(Msg::Bridge(Event::Closed("bridge restarted".into()), NOW)).unwrap();
        assert_eq!(s.link, Link::Reconnecting { why: "bridge restarted".into(), attempt: 1, at_ms: NOW + 1_000 });
        let s = s.update(Msg::Retry).unwrap();
        assert_eq!(s.reconnects, 1);
        // The attempt fails: the wait doubles.
        let s = s.update(Msg::Bridge(Event::Closed("closed with code 1006".into()), NOW + 1_100)).unwrap();
        assert!(matches!(s.link, Link::Reconnecting { attempt: 2, at_ms, .. } if at_ms == NOW + 3_100));
        let s = s.update(Msg::Bridge(Event::Opened, NOW + 3_200)).unwrap();
        assert_eq!(s.link, Link::Live);
        let first: protocol::Request = serde_json::from_str(&s.session.borrow_mut().take_frames()[0]).unwrap();
        assert!(matches!(first.op, protocol::Op::Hello { namespace: Some(ns), .. } if ns == "lab-0123456789ab-"));
        // The next loss waits one second again.
        let s = s.update(Msg::Bridge(Event::Closed("x".into()), NOW + 9_000)).unwrap();
        assert!(matches!(s.link, Link::Reconnecting { attempt: 1, .. }));
        // A page that never had a bridge stays a simulation.
        let sim = AppState::default().update(Msg::Bridge(Event::Closed("no bridge".into()), NOW));
        assert!(sim.is_none_or(|s| s.link == Link::Offline));
    }
}
