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
use crate::workshop::{JoinForm, Route, Workshop, WorkshopMsg};
use engine::time::Time;
use protocol::{ErrorCode, Op, Reply, Request, Response, Role};
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

/// Frames of the page itself (hello, the workshop's ops), beside the session's own outbox; drained
/// by the app's effect after the session's frames. Equal when it is the same outbox.
#[derive(Clone, Default)]
pub struct Outbox(pub Rc<RefCell<Vec<String>>>);

impl PartialEq for Outbox {
    fn eq(&self, other: &Outbox) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

/// The page's own requests take ids far above the session's, so a reply is never taken for the other's.
const PAGE_IDS: u64 = 1 << 40;

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
    pub workshop: Workshop,
    pub outbox: Outbox,
    next_id: u64,
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
    /// The Structured Streaming side: its trace, its log and whether the query runs.
    ss: Option<(usize, usize, bool)>,
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
    ss: Option<(usize, usize, bool)>,
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
            ss: s.ss.as_ref().map(|ss| (ss.run.trace.len(), ss.run.log.len(), ss.is_running())),
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
    Workshop(WorkshopMsg),
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
            workshop: Workshop::default(),
            outbox: Outbox::default(),
            next_id: PAGE_IDS,
            seen,
            rev: 0,
        }
    }

    /// The page at `route` (from the address), with the lab secret `localStorage` held for this
    /// bridge (read by the app before the first render).
    pub fn for_page(route: Route, stored_secret: Option<String>) -> AppState {
        AppState { workshop: Workshop::new(route, stored_secret), ..AppState::default() }
    }

    /// The next state after `msg`, or `None` when the page would show the same thing (and there is
    /// nothing to send).
    pub fn update(&self, msg: Msg) -> Option<AppState> {
        let mut next = self.clone();
        next.apply(msg);
        next.start_fresh_run_when_clean();
        next.seen = Seen::of(&next.session.borrow());
        let frames = next.session.borrow().has_frames() || !next.outbox.0.borrow().is_empty();
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
            ss: s.ss,
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
            Msg::LiveTick(now) => {
                self.session.borrow_mut().tick_live(now);
                self.report(now);
            }
            Msg::Workshop(m) => self.workshop_msg(m),
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
            Msg::NewPlayground | Msg::ChooseLesson(_) if live && self.workshop.role != Role::Solo => {
                // A workshop lab is bound to its participant: a fresh run cleans the same lab up.
                let lesson = match msg {
                    Msg::ChooseLesson(l) => l,
                    _ => self.session.borrow().lesson,
                };
                if self.workshop.destructive_locked() {
                    self.notice = Some(crate::workshop::LOCKED_TITLE.into());
                } else {
                    self.clean_up_for_fresh_run(lesson, None);
                }
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

    /// Queues one of the page's own requests.
    fn send(&mut self, op: Op) {
        self.next_id += 1;
        self.outbox.0.borrow_mut().push(Request::new(self.next_id, op).to_json());
    }

    fn bridge(&mut self, event: Event, now: i64, live: bool) {
        if let Event::Frame(Ok(Response { reply: Reply::Welcome { namespace, lab_secret, participant, role, locked, .. }, .. })) = &event {
            self.welcomed(namespace, lab_secret, participant, *role, *locked, live);
        }
        match event {
            Event::Opened if live => {
                self.session.borrow_mut().reconnected(self.workshop.resume_hello());
                self.link = Link::Live;
                self.notice = None;
                self.workshop.reporter.forget();
                if self.workshop.role == Role::Teacher {
                    self.send(Op::WatchRoom { on: true });
                }
            }
            // A participant with a lab takes it back; without one, the join form asks for a name.
            Event::Opened => match &self.workshop.route {
                Route::Join { .. } if self.workshop.secret.is_some() => self.send(self.workshop.resume_hello()),
                Route::Join { .. } => self.workshop.join_form = Some(JoinForm::default()),
                Route::Teacher { .. } => self.send(self.workshop.resume_hello()),
                Route::Solo => {}
            },
            Event::Frame(Ok(Response { reply, id, .. })) if is_workshop_reply(&reply) => self.workshop_reply(reply, id, now, live),
            Event::Frame(Err(e)) => {
                self.notice = Some(format!("The bridge sent a frame this page cannot read; it was ignored and the session goes on: {e}"))
            }
            // The first frame is the bridge's welcome: an untouched page moves to the real Kafka.
            Event::Frame(Ok(protocol::Response {
                reply: protocol::Reply::Welcome { namespace, kafka, resumed, lesson: reported, .. },
                ..
            })) if !live => {
                if namespace.is_empty() {
                    // A workshop participant not joined yet: the join form (or the resume) is under way.
                } else if self.session.borrow().entries.is_empty() {
                    // A resumed lab opens the lesson its page was on: that lesson's job wrote the checkpoint.
                    let known = reported.and_then(|id| crate::lessons::LESSONS.iter().position(|l| l.id == id));
                    let lesson = known.filter(|_| resumed).unwrap_or(self.session.borrow().lesson);
                    self.set_session(Session::live(lesson, &namespace, kafka, now, resumed));
                    self.link = Link::Live;
                    self.workshop.join_form = None;
                    if self.workshop.role == Role::Teacher {
                        self.send(Op::WatchRoom { on: true });
                    }
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

/// Replies the workshop's part of the page handles (the session never sees them).
fn is_workshop_reply(reply: &Reply) -> bool {
    match reply {
        Reply::Room { .. }
        | Reply::ChapterPushed { .. }
        | Reply::Broadcast { .. }
        | Reply::Locked { .. }
        | Reply::LabReset { .. }
        | Reply::LabStatusStored {} => true,
        Reply::Error { code, .. } => matches!(code, ErrorCode::UnknownLab | ErrorCode::ResumeNeedsSecret | ErrorCode::NotTeacher),
        _ => false,
    }
}

impl AppState {
    /// What a welcome says about this page: its role, name, lock, and the lab's secret — kept only
    /// from the welcome of the lab this page has (a solo bridge opens a fresh lab on every
    /// connection before the page's `hello` takes the old one back).
    fn welcomed(&mut self, namespace: &str, secret: &Option<String>, name: &Option<String>, role: Role, locked: bool, live: bool) {
        let ours = !live || self.session.borrow().run.kafka.live().is_some_and(|k| k.ns == namespace);
        if !ours || namespace.is_empty() {
            return;
        }
        let w = &mut self.workshop;
        w.role = role;
        w.locked = locked;
        if name.is_some() {
            w.name = name.clone();
        }
        if secret.is_some() {
            w.secret = secret.clone();
        }
    }

    fn workshop_reply(&mut self, reply: Reply, id: Option<u64>, now: i64, live: bool) {
        let w = &mut self.workshop;
        match reply {
            Reply::Room { labs } => {
                w.room = labs;
                w.room_at = now;
            }
            Reply::ChapterPushed { lesson, chapter } if w.role == Role::Participant => w.pushed = Some((lesson, chapter)),
            Reply::ChapterPushed { lesson, chapter } => {
                self.notice = Some(format!("Pushed to every participant: {}", crate::workshop::where_label(&lesson, chapter)))
            }
            Reply::Broadcast { text } if w.role == Role::Participant => w.broadcast = Some(text),
            Reply::Broadcast { .. } => self.notice = Some("Message sent to every participant.".into()),
            Reply::Locked { locked } => w.locked = locked,
            Reply::LabReset { namespaces } => {
                let ns = self.session.borrow().run.kafka.live().map(|k| k.ns.clone());
                let mine = ns.is_some_and(|ns| namespaces.is_empty() && w.role == Role::Participant || namespaces.contains(&ns));
                if w.role == Role::Teacher {
                    self.notice =
                        Some(format!("Reset {} lab(s): their topics, groups and checkpoint folders are deleted.", namespaces.len()));
                }
                if mine && live {
                    // The bridge has already deleted everything: the fresh run starts at once.
                    let lesson = self.session.borrow().lesson;
                    self.workshop.fresh_run = Some((lesson, None));
                    self.start_fresh_run(now);
                    if self.workshop.role == Role::Participant {
                        self.notice = Some("Your teacher reset your lab: a fresh run of the lesson, in the same lab.".into());
                    }
                }
            }
            Reply::LabStatusStored {} => {}
            Reply::Error { code: ErrorCode::UnknownLab | ErrorCode::ResumeNeedsSecret, message } => {
                w.secret = None;
                let lesson = self.session.borrow().lesson;
                match w.route {
                    Route::Join { .. } => {
                        w.join_form = Some(JoinForm {
                            notice: Some(format!(
                                "This workshop's bridge does not know your lab ({message}). Join again with your name to get a new one."
                            )),
                        });
                        w.name = None;
                        // Back to the page before joining; the socket stays open for the join.
                        self.set_session(Session::for_lesson(lesson));
                        self.link = Link::Offline;
                    }
                    _ => {
                        // Solo: the bridge restarted and forgot the lab; a fresh one is the way on.
                        self.notice = Some(format!("The bridge no longer knows this lab ({message}): this is a fresh lab."));
                        self.start_over(lesson, true);
                    }
                }
            }
            Reply::Error { code, message } => self.notice = Some(format!("The bridge refused ({code:?}, request {id:?}): {message}")),
            _ => {}
        }
    }

    fn workshop_msg(&mut self, m: WorkshopMsg) {
        let w = &mut self.workshop;
        match m {
            WorkshopMsg::Join(name) => {
                let name = name.trim().chars().take(protocol::workshop::MAX_NAME_CHARS).collect::<String>();
                if name.is_empty() {
                    w.join_form = Some(JoinForm { notice: Some("Type the name the teacher will see next to your lab.".into()) });
                    return;
                }
                w.join_form = None;
                self.send(Op::Hello { namespace: None, binary_records: false, join: Some(protocol::Join { name }), resume: None });
            }
            WorkshopMsg::Go => {
                let Some((lesson, chapter)) = w.pushed.take() else { return };
                let Some((l, _)) = crate::workshop::lesson_by_id(&lesson) else {
                    self.notice = Some(format!("This page does not have the lesson {lesson:?} your teacher pushed."));
                    return;
                };
                self.go_to(l, chapter);
            }
            WorkshopMsg::Stay => w.pushed = None,
            WorkshopMsg::DismissBroadcast => w.broadcast = None,
            WorkshopMsg::PushChapter { lesson, chapter } => self.send(Op::PushChapter { lesson, chapter }),
            WorkshopMsg::Broadcast(text) => {
                let text = text.trim().to_string();
                if text.chars().count() > protocol::workshop::MAX_BROADCAST_CHARS {
                    self.notice = Some(format!(
                        "A message has at most {} characters; this one has {}.",
                        protocol::workshop::MAX_BROADCAST_CHARS,
                        text.chars().count()
                    ));
                } else if !text.is_empty() {
                    self.send(Op::Broadcast { text });
                }
            }
            WorkshopMsg::Lock(locked) => {
                w.locked = locked;
                self.send(Op::Lock { locked });
            }
            WorkshopMsg::AskReset(which) => w.confirm_reset = Some(which),
            WorkshopMsg::ConfirmReset(yes) => {
                if let Some(namespace) = w.confirm_reset.take().filter(|_| yes) {
                    self.send(Op::ResetLab { namespace });
                }
            }
            WorkshopMsg::Mirror(ns) => w.mirror = ns,
            WorkshopMsg::Tab(t) => w.tab = t,
        }
    }

    /// Follows the teacher to chapter `chapter` of lesson `lesson`: on the walkthrough of that lesson
    /// the chapters up to it run in real time; anywhere else a fresh run of it in the same lab does.
    fn go_to(&mut self, lesson: usize, chapter: u32) {
        let k = chapter as usize;
        let mut s = self.session.borrow_mut();
        let chapters = crate::lessons::LESSONS[lesson].chapters();
        let Some(target) = chapters.get(k) else { return };
        let next = walkthrough::chapter_done(&s).map_or(0, |d| d + 1);
        let on_it = s.lesson == lesson && s.schedule.is_empty() && s.lesson_progress() == chapters.get(next).map(|c| c.steps.start);
        if s.lesson == lesson && next > k {
            return; // already there
        }
        if on_it && s.is_live() {
            s.schedule_steps(chapters[next].steps.start..target.steps.end);
        } else if !s.is_live() {
            drop(s);
            self.set_session(walkthrough::session_at(lesson, k));
        } else {
            drop(s);
            if self.workshop.destructive_locked() {
                self.notice = Some(format!("A fresh run needs the topic deleted. {}", crate::workshop::LOCKED_TITLE));
            } else {
                self.clean_up_for_fresh_run(lesson, Some(chapter));
            }
        }
    }

    /// The old run's clean-up in its own lab: the job killed, the checkpoint folder and the topic
    /// deleted (deleting the topic drops the group's offsets for it); the fresh run starts when the
    /// bridge has answered all of it.
    fn clean_up_for_fresh_run(&mut self, lesson: usize, chapter: Option<u32>) {
        let mut s = self.session.borrow_mut();
        s.schedule.clear();
        if s.run.engine.is_running() {
            s.apply(Act::Kill);
        }
        s.apply(Act::DeleteCheckpoint);
        let _ = scenario::backend::KafkaBackend::delete_topic(&mut s.run.kafka, crate::session::TOPIC);
        drop(s);
        self.workshop.fresh_run = Some((lesson, chapter));
        self.notice = None;
    }

    fn start_fresh_run_when_clean(&mut self) {
        let clean = {
            let s = self.session.borrow();
            match s.run.kafka.live() {
                Some(k) => self.workshop.fresh_run.is_some() && k.connected && k.waiting() == 0 && !s.has_frames(),
                None => false,
            }
        };
        if clean {
            let now = self.session.borrow().now.ms();
            self.start_fresh_run(now);
        }
    }

    /// A fresh session of the pending lesson on the same lab (namespace), and its chapters up to
    /// the one asked for scheduled in real time.
    fn start_fresh_run(&mut self, now: i64) {
        let Some((lesson, chapter)) = self.workshop.fresh_run.take() else { return };
        let Some((ns, kafka)) = self.session.borrow().run.kafka.live().map(|k| (k.ns.clone(), k.kafka.clone())) else { return };
        // The lab was emptied first (reset, or Go's clean slate): made as new.
        let mut s = Session::live(lesson, &ns, kafka, now.max(self.session.borrow().now.ms()), false);
        if let Some(k) = chapter {
            let chapters = s.lesson_def().chapters();
            if let Some(c) = chapters.get(k as usize) {
                s.schedule_steps(0..c.steps.end);
            }
        }
        self.set_session(s);
        self.share_url = None;
        self.workshop.reporter.forget();
    }

    /// A participant reports its lab when the report changed, at most once a second.
    fn report(&mut self, now: i64) {
        if self.workshop.role != Role::Participant || self.link != Link::Live {
            return;
        }
        let report = crate::workshop::LabReport::of(&self.session.borrow());
        if let Some(r) = self.workshop.reporter.due(report, now) {
            let op = {
                let s = self.session.borrow();
                let k = s.run.kafka.live().expect("a live link has a live Kafka");
                r.op(|t| k.wire(t))
            };
            self.send(op);
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
        welcome_as("lab-0123456789ab-", Some("s3cr3t"), None, protocol::Role::Solo)
    }

    fn welcome_as(ns: &str, secret: Option<&str>, name: Option<&str>, role: protocol::Role) -> Event {
        let kafka = KafkaState { up: true, bootstrap: "127.0.0.1:9092".into(), detail: None };
        let reply = Reply::Welcome {
            protocol_version: 1,
            namespace: ns.into(),
            kafka,
            max_frame_bytes: 262_144,
            binary_records: false,
            lab_secret: secret.map(String::from),
            participant: name.map(String::from),
            role,
            locked: false,
            resumed: secret.is_none(),
            lesson: None,
        };
        Event::Frame(Ok(Response::new(None, reply)))
    }

    fn push(reply: Reply) -> Msg {
        Msg::Bridge(Event::Frame(Ok(Response::new(None, reply))), NOW)
    }

    /// The page's own frames sent since the last call.
    fn sent(s: &AppState) -> Vec<protocol::Op> {
        s.outbox.0.borrow_mut().drain(..).map(|f| serde_json::from_str::<protocol::Request>(&f).unwrap().op).collect()
    }

    /// A participant's page that joined as Ada.
    fn joined() -> AppState {
        let s = AppState::for_page(Route::Join { code: "c0de".into() }, None);
        let s = s.update(Msg::Bridge(Event::Opened, NOW)).expect("the join form");
        let s = s
            .update(Msg::Workshop(WorkshopMsg::Join("Ada".into())))
            .unwrap()
            .update(Msg::Bridge(welcome_as("lab-00000000000a-", Some("ada-secret"), Some("Ada"), protocol::Role::Participant), NOW))
            .unwrap();
        sent(&s);
        s
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
    fn a_reloaded_participant_opens_the_labs_lesson_and_reads_its_checkpoint_back_first() {
        let s = AppState::for_page(Route::Join { code: "c0de".into() }, Some("ada-secret".into()));
        let s = s.update(Msg::Bridge(Event::Opened, NOW)).unwrap();
        assert!(matches!(&sent(&s)[..], [protocol::Op::Hello { resume: Some(r), .. }] if r == "ada-secret"));
        let Event::Frame(Ok(mut r)) = welcome_as("lab-00000000000a-", None, Some("Ada"), protocol::Role::Participant) else {
            unreachable!()
        };
        if let Reply::Welcome { lesson, .. } = &mut r.reply {
            *lesson = Some("retention".into());
        }
        let s = s.update(Msg::Bridge(Event::Frame(Ok(r)), NOW)).unwrap();
        assert_eq!(s.link, Link::Live);
        assert_eq!(s.session.borrow().lesson_def().id, "retention");
        assert!(s.session.borrow().restoring(), "the checkpoint is read back before the job may start");
        let frames = s.session.borrow_mut().take_frames();
        assert!(
            frames.iter().any(|f| f.contains("\"op\":\"describeTopic\"")) && !frames.iter().any(|f| f.contains("createTopic")),
            "{frames:?}"
        );
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
    fn a_structured_lesson_goes_by_chapters_and_triggers_and_its_restart_re_runs_the_uncommitted_batch() {
        let i = crate::lessons::LESSONS.iter().position(|l| l.id == "ss-rerun-uncommitted").unwrap();
        let s = AppState::default().update(Msg::ChooseLesson(i)).unwrap();
        let s = s.update(Msg::NextChapter).unwrap();
        assert!(s.session.borrow().job_running());
        let s = s.update(Msg::NextChapter).unwrap();
        {
            let sess = s.session.borrow();
            let ss = sess.ss.as_ref().unwrap();
            assert!(ss.files().iter().any(|f| f.name == "offsets/1" && f.uncommitted));
            assert!(!sess.job_running());
            assert_eq!(sess.failures(), Vec::<String>::new());
            assert_eq!(sess.run.trace, vec![], "a Structured Streaming lesson runs no DStream job");
        }
        // The page's own start and one step: the query's next trigger on its 5 s grid re-runs batch 1.
        let s = s.update(Msg::Do(Act::Start(Settings::default()))).unwrap();
        let before = s.session.borrow().now;
        let s = s.update(Msg::StepBatch).unwrap();
        let now = s.session.borrow().now;
        assert!(now > before && now.ms() % 5_000 == 0 && now.ms() - before.ms() <= 5_000, "{before:?} → {now:?}");
        let b = s.session.borrow().ss.as_ref().unwrap().batches();
        assert!(b.iter().any(|b| b.batch_id == 1 && b.rerun && b.committed), "{b:?}");
        // A kill inside the next batch, after records: offsets/2 without commits/2.
        let s = s.update(Msg::Do(Act::Produce { partition: Some(0), lines: vec!["z".into()] })).unwrap();
        let s = s.update(Msg::Do(Act::KillInBatch)).unwrap();
        let s = s.update(Msg::StepBatch).unwrap();
        let sess = s.session.borrow();
        let ss = sess.ss.as_ref().unwrap();
        assert!(!ss.is_running());
        assert_eq!(ss.files().iter().filter(|f| f.uncommitted).map(|f| f.name.as_str()).collect::<Vec<_>>(), ["offsets/2"]);
        assert_eq!(ss.rows()[0].offset_log, Some((2, 6, false)));
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
        // The lab is taken back by its secret, never by the namespace (shown on screen, it proves nothing).
        let first: protocol::Request = serde_json::from_str(&s.session.borrow_mut().take_frames()[0]).unwrap();
        assert!(matches!(&first.op, protocol::Op::Hello { namespace: None, resume: Some(r), .. } if r == "s3cr3t"), "{first:?}");
        // The solo bridge's own welcome of a fresh connection (a new lab) does not replace the secret.
        let s = s.update(Msg::Bridge(welcome_as("lab-0000000000ff-", Some("other"), None, protocol::Role::Solo), NOW + 3_300)).unwrap();
        assert_eq!(s.workshop.secret.as_deref(), Some("s3cr3t"));
        assert_eq!(s.session.borrow().run.kafka.live().unwrap().ns, "lab-0123456789ab-");
        // The next loss waits one second again.
        let s = s.update(Msg::Bridge(Event::Closed("x".into()), NOW + 9_000)).unwrap();
        assert!(matches!(s.link, Link::Reconnecting { attempt: 1, .. }));
        // A page that never had a bridge stays a simulation.
        let sim = AppState::default().update(Msg::Bridge(Event::Closed("no bridge".into()), NOW));
        assert!(sim.is_none_or(|s| s.link == Link::Offline));
    }

    #[test]
    fn a_participant_joins_by_name_and_keeps_the_labs_secret() {
        let s = AppState::for_page(Route::Join { code: "c0de".into() }, None);
        // The bridge's first welcome has no lab yet: the page stays as it is.
        let s = s.update(Msg::Bridge(Event::Opened, NOW)).expect("the join form");
        assert_eq!(s.workshop.join_form, Some(JoinForm::default()));
        let s = s.update(Msg::Bridge(welcome_as("", None, None, protocol::Role::Participant), NOW)).unwrap_or(s);
        assert!(!s.is_live());
        let s = s.update(Msg::Workshop(WorkshopMsg::Join("   ".into()))).unwrap();
        assert!(s.workshop.join_form.as_ref().unwrap().notice.is_some(), "an empty name is asked again");
        assert!(sent(&s).is_empty());
        let s = s.update(Msg::Workshop(WorkshopMsg::Join(" Ada ".into()))).unwrap();
        assert!(matches!(&sent(&s)[..], [protocol::Op::Hello { join: Some(j), resume: None, namespace: None, .. }] if j.name == "Ada"));
        assert_eq!(s.workshop.join_form, None);
        let s = s
            .update(Msg::Bridge(welcome_as("lab-00000000000a-", Some("ada-secret"), Some("Ada"), protocol::Role::Participant), NOW))
            .unwrap();
        assert!(s.is_live());
        assert_eq!((s.workshop.name.as_deref(), s.workshop.secret.as_deref()), (Some("Ada"), Some("ada-secret")));
        assert_eq!(s.workshop.role, protocol::Role::Participant);
    }

    #[test]
    fn a_stored_secret_resumes_and_an_unknown_lab_shows_the_join_form_again() {
        let s = AppState::for_page(Route::Join { code: "c0de".into() }, Some("old".into()));
        let s = s.update(Msg::Bridge(Event::Opened, NOW)).unwrap();
        assert!(matches!(&sent(&s)[..], [protocol::Op::Hello { resume: Some(r), join: None, .. }] if r == "old"));
        assert_eq!(s.workshop.join_form, None);
        let e = Reply::Error { code: ErrorCode::UnknownLab, message: "no lab has this secret".into() };
        let s = s.update(push(e)).unwrap();
        assert_eq!(s.workshop.secret, None, "forgotten (the app's effect removes it from localStorage)");
        let notice = s.workshop.join_form.clone().and_then(|f| f.notice).unwrap();
        assert!(notice.contains("does not know your lab") && notice.contains("no lab has this secret"), "{notice}");
        // A stored secret means nothing outside a workshop participant's page.
        assert_eq!(AppState::for_page(Route::Solo, Some("x".into())).workshop.secret, None);
    }

    #[test]
    fn the_teachers_pushes_reach_a_participant() {
        let s = joined();
        let s = s.update(push(Reply::ChapterPushed { lesson: "seed".into(), chapter: 1 })).unwrap();
        assert_eq!(s.workshop.pushed, Some(("seed".into(), 1)));
        let stay = s.update(Msg::Workshop(WorkshopMsg::Stay)).unwrap();
        assert_eq!((stay.workshop.pushed.clone(), stay.session.borrow().schedule.len()), (None, 0));
        // Go on the walkthrough's start: chapters 1 and 2 run in real time.
        let go = s.update(Msg::Workshop(WorkshopMsg::Go)).unwrap();
        let end = crate::lessons::LESSONS[0].chapters()[1].steps.end;
        assert_eq!(go.session.borrow().schedule.iter().map(|d| d.1).collect::<Vec<_>>(), (0..end).collect::<Vec<_>>());
        let s = s.update(push(Reply::Broadcast { text: "Break until 11:00".into() })).unwrap();
        assert_eq!(s.workshop.broadcast.as_deref(), Some("Break until 11:00"));
        let s = s.update(push(Reply::Locked { locked: true })).unwrap();
        assert!(s.workshop.destructive_locked());
        let before = s.session.borrow().entries.len();
        let s = s.update(Msg::NewPlayground).unwrap();
        assert!(s.notice.as_deref().unwrap().contains("locked"));
        assert_eq!((s.session.borrow().entries.len(), s.workshop.fresh_run), (before, None), "no clean-up while locked");
    }

    #[test]
    fn a_reset_lab_starts_a_fresh_run_in_the_same_lab() {
        let s = joined();
        s.session.borrow_mut().apply(crate::session::Act::Start(Default::default()));
        let old = s.session.clone();
        let s = s.update(push(Reply::LabReset { namespaces: vec!["lab-00000000000a-".into()] })).unwrap();
        assert!(s.session != old, "a fresh session");
        assert_eq!(s.session.borrow().run.kafka.live().unwrap().ns, "lab-00000000000a-");
        assert!(!s.session.borrow().run.engine.is_running());
        let frames = s.session.borrow_mut().take_frames();
        assert!(frames.iter().any(|f| f.contains("createTopic") && f.contains("lab-00000000000a-words")), "{frames:?}");
        // Another lab's reset leaves this one be.
        let same = s.session.clone();
        let s = s.update(push(Reply::LabReset { namespaces: vec!["lab-00000000000b-".into()] })).unwrap_or(s);
        assert!(s.session == same);
    }

    #[test]
    fn a_participant_reports_its_lab_when_it_changes_at_most_once_a_second() {
        let s = joined();
        s.session.borrow_mut().take_frames();
        let s = s.update(Msg::LiveTick(NOW + 250)).unwrap();
        let ops = sent(&s);
        let [protocol::Op::LabStatus { lesson, job, partitions, .. }] = &ops[..] else { panic!("{ops:?}") };
        assert_eq!((lesson.as_str(), *job), ("seed", protocol::JobState::Idle));
        assert!(partitions.iter().all(|p| p.topic == "lab-00000000000a-words"), "{partitions:?}");
        s.session.borrow_mut().apply(crate::session::Act::Start(Default::default()));
        let s = s.update(Msg::LiveTick(NOW + 500)).unwrap_or(s);
        assert!(sent(&s).is_empty(), "within the second");
        let s = s.update(Msg::LiveTick(NOW + 1_300)).unwrap();
        assert!(matches!(&sent(&s)[..], [protocol::Op::LabStatus { job: protocol::JobState::Running, .. }]));
        let s = s.update(Msg::LiveTick(NOW + 2_600)).unwrap_or(s);
        assert!(sent(&s).is_empty(), "unchanged");
    }

    #[test]
    fn the_teacher_watches_the_room_and_acts_on_it() {
        let s = AppState::for_page(Route::Teacher { secret: "t".into() }, None);
        let s = s.update(Msg::Bridge(Event::Opened, NOW)).unwrap();
        assert!(matches!(&sent(&s)[..], [protocol::Op::Hello { resume: None, join: None, namespace: None, .. }]));
        let s = s.update(Msg::Bridge(welcome_as("lab-0000000000ee-", None, None, protocol::Role::Teacher), NOW)).unwrap();
        assert!(matches!(&sent(&s)[..], [protocol::Op::WatchRoom { on: true }]));
        let lab = protocol::RoomLab {
            namespace: "lab-00000000000a-".into(),
            name: "Ada".into(),
            lesson: "seed".into(),
            chapter: 2,
            job: protocol::JobState::Running,
            exception: None,
            partitions: vec![],
            last_activity_ms: NOW - 12_000,
            online: true,
        };
        let s = s.update(push(Reply::Room { labs: vec![lab] })).unwrap();
        assert_eq!((s.workshop.room.len(), s.workshop.room_at), (1, NOW));
        let s = s.update(Msg::Workshop(WorkshopMsg::Mirror(Some("lab-00000000000a-".into())))).unwrap();
        assert_eq!(s.workshop.mirrored().map(|l| l.name.as_str()), Some("Ada"));
        let s = s.update(Msg::Workshop(WorkshopMsg::PushChapter { lesson: "seed".into(), chapter: 3 })).unwrap();
        assert!(matches!(&sent(&s)[..], [protocol::Op::PushChapter { chapter: 3, .. }]));
        let s = s.update(Msg::Workshop(WorkshopMsg::Broadcast("x".repeat(281)))).unwrap();
        assert!(sent(&s).is_empty() && s.notice.as_deref().unwrap().contains("281"));
        let s = s.update(Msg::Workshop(WorkshopMsg::Lock(true))).unwrap();
        assert!(matches!(&sent(&s)[..], [protocol::Op::Lock { locked: true }]));
        assert!(!s.workshop.destructive_locked(), "the teacher's own buttons stay on");
        // A reset asks first; cancelled, nothing is sent.
        let s = s.update(Msg::Workshop(WorkshopMsg::AskReset(None))).unwrap();
        let cancelled = s.update(Msg::Workshop(WorkshopMsg::ConfirmReset(false))).unwrap();
        assert!(sent(&cancelled).is_empty());
        let s = s.update(Msg::Workshop(WorkshopMsg::AskReset(Some("lab-00000000000a-".into())))).unwrap();
        let s = s.update(Msg::Workshop(WorkshopMsg::ConfirmReset(true))).unwrap();
        assert!(matches!(&sent(&s)[..], [protocol::Op::ResetLab { namespace: Some(ns) }] if ns == "lab-00000000000a-"));
        // A participant's reset leaves the teacher's own lab be.
        let own = s.session.clone();
        let s = s.update(push(Reply::LabReset { namespaces: vec!["lab-00000000000a-".into()] })).unwrap();
        assert!(s.session == own && s.notice.as_deref().unwrap().starts_with("Reset 1 lab(s)"));
    }
}
