//! The app shell: the reducer, the bridge socket and its outbox, the play and live timers,
//! keyboard shortcuts, share-link loading, the lab secret in `localStorage`, and the layout (the
//! lab, or the teacher's room).

use crate::bridge_socket::BridgeSocket;
use crate::components::*;
use crate::link;
use crate::state::{wall_ms, AppState, Link, Msg, Store};
use crate::workshop::{secret_key, Route, TeacherTab};
use gloo_timers::callback::{Interval, Timeout};
use wasm_bindgen::JsCast;
use yew::prelude::*;

/// Real milliseconds between play ticks.
const TICK_MS: u32 = 200;
/// Real milliseconds between live ticks (batches, facts, lesson steps).
const LIVE_TICK_MS: u32 = 250;

#[component]
pub fn App() -> Html {
    // The address says which page this is; a participant's lab secret for this bridge is in localStorage.
    let store: Store = use_reducer(|| {
        let route = page_route();
        let secret = match route {
            Route::Join { .. } => storage().and_then(|(st, key)| st.get_item(&key).ok().flatten()),
            _ => None,
        };
        AppState::for_page(route, secret)
    });
    let socket = use_mut_ref(|| None::<BridgeSocket>);

    // A share link in the fragment replays to the sharer's state, once, at mount.
    {
        let store = store.clone();
        use_effect_with((), move |_| {
            let hash = web_sys::window().and_then(|w| w.location().hash().ok()).unwrap_or_default();
            if hash.len() > 1 {
                store.dispatch(Msg::Load(link::decode(&hash)));
            }
        });
    }

    // The bridge: served by one (not `?offline`, no share link), the page connects to its websocket;
    // the bridge's welcome turns the untouched page into a lab on the real Kafka. A new generation is
    // a fresh lab; a reconnect opens the same lab again (the socket service reports `Opened`, and the
    // session's first frame is `hello` with its namespace).
    {
        let (store, socket) = (store.clone(), socket.clone());
        use_effect_with((store.connect_gen, store.reconnects), move |(gen, _)| {
            let report = {
                let store = store.clone();
                move |e| store.dispatch(Msg::Bridge(e, wall_ms()))
            };
            *socket.borrow_mut() = bridge_url(*gen, &store.workshop.route).and_then(|url| match BridgeSocket::connect(&url, report) {
                Ok(s) => Some(s),
                Err(e) => {
                    store.dispatch(Msg::SendFailed(e));
                    None
                }
            });
            move || drop(socket.borrow_mut().take())
        });
    }

    // The outbox: after every change, what the session queued for the bridge is sent (only on an
    // open connection; while reconnecting it waits in the session).
    {
        let (store, socket) = (store.clone(), socket.clone());
        use_effect_with(store.rev, move |_| {
            if let Some(ws) = socket.borrow().as_ref() {
                // The session's frames first: after a reconnect its hello must precede the page's own.
                let mut frames = if store.link == Link::Live { store.session.borrow_mut().take_frames() } else { Vec::new() };
                frames.append(&mut store.outbox.0.borrow_mut());
                if let Some(e) = frames.iter().find_map(|f| ws.send(f).err()) {
                    store.dispatch(Msg::SendFailed(e));
                }
            }
        });
    }

    // A participant's lab secret follows the state into localStorage (a reload, a second tab, a
    // closed lid take the same lab back); forgotten when the bridge no longer knows it.
    {
        let store = store.clone();
        use_effect_with(store.workshop.secret.clone(), move |secret| {
            if let (Route::Join { .. }, Some((st, key))) = (&store.workshop.route, storage()) {
                let _ = match secret {
                    Some(s) => st.set_item(&key, s),
                    None => st.remove_item(&key),
                };
            }
        });
    }

    // Reconnecting: the next attempt at its time.
    {
        let store = store.clone();
        use_effect_with(store.link.clone(), move |link| {
            let timer = match link {
                Link::Reconnecting { at_ms, .. } => {
                    let wait = (at_ms - wall_ms()).clamp(0, u32::MAX as i64) as u32;
                    Some(Timeout::new(wait, move || store.dispatch(Msg::Retry)))
                }
                _ => None,
            };
            move || drop(timer)
        });
    }

    // Live: the wall clock drives batches, facts and the walkthrough's steps.
    {
        let store = store.clone();
        use_effect_with(store.is_live(), move |live| {
            let timer = live.then(|| Interval::new(LIVE_TICK_MS, move || store.dispatch(Msg::LiveTick(wall_ms()))));
            move || drop(timer)
        });
    }

    // Play: logical time runs at `speed` × real time.
    {
        let store = store.clone();
        let (playing, speed) = (store.playing, store.speed);
        use_effect_with((playing, speed), move |_| {
            let timer = playing.then(|| Interval::new(TICK_MS, move || store.dispatch(Msg::Tick(TICK_MS as i64 * speed as i64))));
            move || drop(timer)
        });
    }

    // Keyboard: n = step one batch, p = play/pause (not while typing).
    {
        let store = store.clone();
        use_effect_with(store.playing, move |playing| {
            let playing = *playing;
            let doc = web_sys::window().and_then(|w| w.document());
            let cb = wasm_bindgen::closure::Closure::<dyn Fn(web_sys::KeyboardEvent)>::new(move |e: web_sys::KeyboardEvent| {
                let typing = e
                    .target()
                    .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                    .map(|el| matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT"))
                    .unwrap_or(false);
                if typing || e.ctrl_key() || e.meta_key() || e.alt_key() {
                    return;
                }
                match e.key().as_str() {
                    "n" => store.dispatch(Msg::StepBatch),
                    "p" => store.dispatch(Msg::Play(!playing)),
                    _ => {}
                }
            });
            if let Some(d) = &doc {
                let _ = d.add_event_listener_with_callback("keydown", cb.as_ref().unchecked_ref());
            }
            move || {
                if let Some(d) = &doc {
                    let _ = d.remove_event_listener_with_callback("keydown", cb.as_ref().unchecked_ref());
                }
            }
        });
    }

    let teacher_room = matches!(store.workshop.route, Route::Teacher { .. }) && store.workshop.tab == TeacherTab::Room;
    let class = classes!("app", store.presenter.then_some("presenter"));
    if teacher_room {
        return html! {
            <ContextProvider<Store> context={store.clone()}>
                <div {class}>
                    <Header />
                    if let Some(n) = &store.notice {
                        <p class="notice" role="alert">{ n }</p>
                    }
                    <Room />
                </div>
            </ContextProvider<Store>>
        };
    }
    // The trace-derived panels take props, not the store: a tick that only moves the clock leaves them be.
    let (session, trace_key, dispatch) = (store.session.clone(), store.trace_key(), store.dispatcher());
    let tool_lines = store.session.borrow().tool_lines.clone();
    let lesson = store.session.borrow().lesson_def();
    // The left column is the same for every lesson but for whose controls it holds (the query's or the DStream job's).
    let left = |controls: Html| {
        html! {
            <section class="col col-left" aria-label="Controls">
                <Walkthrough />
                { controls }
                <Produce />
                <ToolOutput lines={tool_lines.clone()} />
            </section>
        }
    };
    let columns = if !lesson.has_dstream() {
        // A Structured Streaming lesson: the query's panels in the DStream panels' places.
        html! { <main class="grid">
            { left(html! { <SsControls /> }) }
            <section class="col col-mid" aria-label="Offsets and batches">
                <SsNumbers />
                <SsBatches />
            </section>
            <section class="col col-right" aria-label="Checkpoint and code">
                <SsCheckpoint />
                <CodeView api={Api::Structured} />
            </section>
        </main> }
    } else if lesson.side_by_side() {
        html! { <main class="grid twin">
            { left(html! { <SsControls /> }) }
            <section class="col col-mid" aria-label="DStream" data-testid="column-dstream">
                <h2 class="api-title">{ "DStream (Kafka 0-10 direct stream)" }</h2>
                <Partitions />
                <Batches session={session.clone()} trace_key={trace_key.clone()} selected={store.selected_batch} {dispatch} />
                <CodeView api={Api::DStream} />
            </section>
            <section class="col col-right" aria-label="Structured Streaming" data-testid="column-structured">
                <h2 class="api-title">{ "Structured Streaming (Kafka source)" }</h2>
                <SsNumbers />
                <SsCheckpoint />
                <SsBatches />
                <CodeView api={Api::Structured} />
            </section>
        </main> }
    } else {
        html! { <main class="grid">
            { left(html! { <Controls /> }) }
            <section class="col col-mid" aria-label="Offsets and batches">
                <ErrorPanel current=true session={session.clone()} trace_key={trace_key.clone()} />
                <Partitions />
                <Batches session={session.clone()} trace_key={trace_key.clone()} selected={store.selected_batch} {dispatch} />
                <ErrorPanel current=false session={session.clone()} trace_key={trace_key.clone()} />
            </section>
            <section class="col col-right" aria-label="Group, checkpoints and output">
                <Group />
                <Checkpoints />
                <JobOutput {session} {trace_key} />
                <CodeView api={Api::DStream} />
                <Inspector />
            </section>
        </main> }
    };
    html! {
        <ContextProvider<Store> context={store.clone()}>
            <div {class}>
                <Header />
                <Pushes />
                if let Some(n) = &store.notice {
                    <p class="notice" role="alert">{ n }</p>
                }
                { columns }
                if store.dialog == Some(crate::state::Dialog::Rewind) { <RewindDialog /> }
                if store.dialog == Some(crate::state::Dialog::Settings) { <SettingsDialog /> }
                <JoinForm />
            </div>
        </ContextProvider<Store>>
    }
}

/// Which page the address asks for.
fn page_route() -> Route {
    let loc = web_sys::window().map(|w| w.location());
    let part =
        |f: fn(&web_sys::Location) -> Result<String, wasm_bindgen::JsValue>| loc.as_ref().and_then(|l| f(l).ok()).unwrap_or_default();
    Route::of(&part(web_sys::Location::pathname), &part(web_sys::Location::search))
}

/// localStorage and the lab secret's key for this bridge (its origin).
fn storage() -> Option<(web_sys::Storage, String)> {
    let w = web_sys::window()?;
    let origin = w.location().origin().ok()?;
    Some((w.local_storage().ok()??, secret_key(&origin)))
}

/// The bridge's websocket address, unless the page should stay a simulation: `?offline`, a share
/// link on first load (it replays in the simulation), or a page not served over http(s).
fn bridge_url(gen: u32, route: &Route) -> Option<String> {
    let loc = web_sys::window()?.location();
    let search = loc.search().ok()?;
    let offline = search.split(['?', '&']).any(|p| p == "offline");
    let shared = gen == 0 && loc.hash().ok()?.len() > 1;
    let scheme = match loc.protocol().ok()?.as_str() {
        "http:" => "ws",
        "https:" => "wss",
        _ => return None,
    };
    (!offline && !shared).then(|| format!("{scheme}://{}{}", loc.host().unwrap_or_default(), route.ws_path()))
}
