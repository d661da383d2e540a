//! The page's reducer: the offline session behind a shared handle plus UI-only state; buttons
//! dispatch `Msg`s that become session actions, the panels render from the session.

use crate::link::{self, Shared};
use crate::session::{Act, Session, Settings};
use crate::walkthrough;
use engine::time::Time;
use std::cell::RefCell;
use std::rc::Rc;
use yew::prelude::*;

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
    /// The bridge connection closed; the session keeps what it had.
    Lost(String),
}

#[derive(Clone)]
pub struct AppState {
    /// The simulation; mutated in place (it is large), `rev` tells Yew something changed.
    pub session: Rc<RefCell<Session>>,
    pub rev: u64,
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
    /// Why a share link could not be opened.
    pub notice: Option<String>,
    pub link: Link,
    pub ws: Option<Rc<web_sys::WebSocket>>,
    /// Bumped to open a new bridge connection (a fresh namespace: new topic, group, checkpoint folder).
    pub connect_gen: u32,
}

impl Default for AppState {
    fn default() -> AppState {
        AppState {
            session: Rc::new(RefCell::new(Session::new())),
            rev: 0,
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
            ws: None,
            connect_gen: 0,
        }
    }
}

impl AppState {
    /// A fresh session of `lesson`; `reconnect` also opens a new bridge connection (a fresh lab).
    fn start_over(&mut self, lesson: usize, reconnect: bool) {
        self.session = Rc::new(RefCell::new(Session::for_lesson(lesson)));
        self.playing = false;
        self.selected_batch = None;
        self.open_file = None;
        self.share_url = None;
        if reconnect {
            self.connect_gen += 1;
            self.ws = None;
            self.link = Link::Connecting;
        }
    }
}

impl PartialEq for AppState {
    fn eq(&self, other: &AppState) -> bool {
        Rc::ptr_eq(&self.session, &other.session) && self.rev == other.rev
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
    /// A websocket to the bridge is opening.
    Socket(Rc<web_sys::WebSocket>),
    /// A text frame from the bridge.
    Frame(String),
    /// The websocket closed (why).
    Closed(String),
    /// Live: the wall clock ticked.
    LiveTick,
}

/// The wall clock in epoch ms (live sessions run on it).
pub fn wall_ms() -> i64 {
    web_sys::window().and_then(|w| w.performance()).map_or(0, |p| (p.time_origin() + p.now()) as i64)
}

const LIVE_ONLY_FORWARD: &str = "On a real Kafka time only runs forward: chapters cannot be replayed or skipped. New starts a fresh lab (new topic, group and checkpoint folder) to begin again.";

impl Reducible for AppState {
    type Action = Msg;

    fn reduce(self: Rc<Self>, msg: Msg) -> Rc<Self> {
        let mut next = (*self).clone();
        next.rev += 1;
        let live = next.session.borrow().is_live();
        match msg {
            Msg::Socket(ws) => {
                next.ws = Some(ws);
                next.link = Link::Connecting;
            }
            Msg::Frame(text) if !live => {
                // The first frame is the bridge's welcome: an untouched page moves to the real Kafka.
                if let Ok(protocol::Response { reply: protocol::Reply::Welcome { namespace, kafka, .. }, .. }) = serde_json::from_str(&text)
                {
                    if next.session.borrow().entries.is_empty() {
                        let lesson = next.session.borrow().lesson;
                        next.session = Rc::new(RefCell::new(Session::live(lesson, &namespace, kafka, wall_ms())));
                        next.link = Link::Live;
                        next.playing = false;
                        next.selected_batch = None;
                        next.open_file = None;
                    } else {
                        next.notice = Some("A bridge to a real Kafka answered, but this page already has a simulation going: New switches to the real Kafka.".into());
                    }
                }
            }
            Msg::Frame(text) => {
                if let Err(e) = next.session.borrow_mut().handle_frame(&text, wall_ms()) {
                    next.notice = Some(e);
                }
            }
            Msg::Closed(why) => {
                next.ws = None;
                if live {
                    next.session.borrow_mut().disconnected(&why);
                    next.link = Link::Lost(why);
                } else {
                    next.link = Link::Offline;
                }
            }
            Msg::LiveTick => next.session.borrow_mut().tick_live(wall_ms()),
            Msg::Tick(_) | Msg::StepBatch | Msg::Chapter(_) if live => {
                if let Msg::Chapter(k) = msg {
                    let done = walkthrough::chapter_done(&next.session.borrow());
                    if k == done.map_or(0, |d| d + 1) {
                        return Rc::new(next).reduce(Msg::NextChapter);
                    }
                    next.notice = Some(LIVE_ONLY_FORWARD.into());
                }
            }
            Msg::NextChapter if live => {
                let done = walkthrough::chapter_done(&next.session.borrow());
                let k = done.map_or(0, |d| d + 1);
                let mut s = next.session.borrow_mut();
                let lesson = s.lesson_def();
                match lesson.chapters.get(k) {
                    Some(c) if s.schedule.is_empty() && s.lesson_progress() == Some(c.steps.0) => {
                        s.schedule_steps(c.steps.0..c.steps.1);
                        // A chapter that only looks (checks) follows at once: on a real Kafka what it
                        // looks at lasts one batch, not until someone clicks.
                        for c in lesson.chapters[k + 1..].iter().take_while(|c| walkthrough::only_checks(lesson, c)) {
                            s.schedule_steps(c.steps.0..c.steps.1);
                        }
                    }
                    Some(_) if !s.schedule.is_empty() => {}
                    Some(_) => {
                        next.notice = Some(format!(
                            "The walkthrough follows its own steps; after other actions it needs a fresh lab. {LIVE_ONLY_FORWARD}"
                        ))
                    }
                    None => {}
                }
                drop(s);
                next.selected_batch = None;
            }
            Msg::NewPlayground | Msg::ChooseLesson(_) => {
                let lesson = match msg {
                    Msg::ChooseLesson(l) => l,
                    _ => next.session.borrow().lesson,
                };
                // With a bridge, a fresh session is a fresh lab too: a new connection, a new namespace.
                let reconnect = live || next.link == Link::Connecting;
                if reconnect && matches!(msg, Msg::NewPlayground) {
                    next.notice = None;
                }
                next.start_over(lesson, reconnect);
            }
            Msg::Do(act) => {
                next.session.borrow_mut().apply(act);
                next.share_url = None;
            }
            Msg::Tick(ms) => {
                let mut s = next.session.borrow_mut();
                let t = Time(s.now.ms() + ms);
                s.advance_to(t);
            }
            Msg::StepBatch => {
                next.playing = false;
                next.session.borrow_mut().step_batch(next.settings.batch_secs);
            }
            Msg::Play(p) => next.playing = p,
            Msg::Speed(x) => next.speed = x.clamp(1, 60),
            Msg::Presenter(p) => next.presenter = p,
            Msg::SelectBatch(i) => next.selected_batch = i,
            Msg::OpenFile(f) => next.open_file = f,
            Msg::Dialog(d) => next.dialog = d,
            Msg::Settings(s) => {
                next.settings = s;
                next.dialog = None;
            }
            Msg::Chapter(k) => {
                let lesson = next.session.borrow().lesson;
                next.session = Rc::new(RefCell::new(walkthrough::session_at(lesson, k)));
                next.playing = false;
                next.selected_batch = None;
                next.open_file = None;
            }
            Msg::NextChapter => {
                let done = walkthrough::chapter_done(&next.session.borrow());
                let k = done.map_or(0, |d| d + 1);
                let lesson = next.session.borrow().lesson;
                match (done, walkthrough::LESSONS[lesson].chapters.get(k)) {
                    (_, None) => {}
                    // Only on top of the previous chapter; chapter 1 always starts from 12:00:00.
                    (Some(_), Some(c)) if next.session.borrow().lesson_progress() == Some(c.steps.0) => {
                        let mut s = next.session.borrow_mut();
                        for i in c.steps.0..c.steps.1 {
                            s.apply(Act::Lesson(i));
                        }
                    }
                    // Not on the walkthrough yet, or off it (manual actions): start it over.
                    _ => next.session = Rc::new(RefCell::new(walkthrough::session_at(lesson, 0))),
                }
                next.playing = false;
                next.selected_batch = None;
            }
            Msg::Share(url) => next.share_url = Some(url),
            Msg::Load(Ok(shared)) => {
                next.session = Rc::new(RefCell::new(Session::replay(shared.lesson, &shared.entries, shared.now)));
                next.notice = None;
            }
            Msg::Load(Err(e)) => next.notice = Some(format!("This share link could not be opened: {e}")),
        }
        if let Some(ws) = &next.ws {
            for frame in next.session.borrow_mut().take_frames() {
                if let Err(e) = ws.send_with_str(&frame) {
                    next.notice = Some(format!("could not send to the bridge: {e:?}"));
                }
            }
        }
        Rc::new(next)
    }
}

pub type Store = UseReducerHandle<AppState>;

/// The share fragment for the current session.
pub fn share_fragment(state: &AppState) -> String {
    let s = state.session.borrow();
    link::encode(&Shared { entries: s.entries.clone(), now: s.now.ms(), lesson: s.lesson })
}
