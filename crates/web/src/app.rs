//! The app shell: the reducer, the play timer, keyboard shortcuts, share-link loading and the layout.

use crate::components::*;
use crate::link;
use crate::state::{AppState, Link, Msg, Store};
use gloo_timers::callback::Interval;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use yew::prelude::*;

/// Real milliseconds between play ticks.
const TICK_MS: u32 = 200;
/// Real milliseconds between live ticks (batches, facts, lesson steps).
const LIVE_TICK_MS: u32 = 250;

#[component]
pub fn App() -> Html {
    let store: Store = use_reducer(AppState::default);

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
    // the bridge's welcome turns the untouched page into a lab on the real Kafka.
    {
        let store = store.clone();
        use_effect_with(store.connect_gen, move |gen| {
            let socket = bridge_url(*gen).and_then(|url| web_sys::WebSocket::new(&url).ok());
            let mut closures = None;
            if let Some(ws) = &socket {
                let s1 = store.clone();
                let on_message = Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |e: web_sys::MessageEvent| {
                    if let Some(text) = e.data().as_string() {
                        s1.dispatch(Msg::Frame(text));
                    }
                });
                let s2 = store.clone();
                let on_close = Closure::<dyn Fn(web_sys::CloseEvent)>::new(move |e: web_sys::CloseEvent| {
                    let why = if e.reason().is_empty() { format!("closed with code {}", e.code()) } else { e.reason() };
                    s2.dispatch(Msg::Closed(why));
                });
                ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
                ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
                closures = Some((on_message, on_close));
                store.dispatch(Msg::Socket(std::rc::Rc::new(ws.clone())));
            }
            move || {
                if let Some(ws) = socket {
                    ws.set_onmessage(None);
                    ws.set_onclose(None);
                    let _ = ws.close();
                }
                drop(closures);
            }
        });
    }

    // Live: the wall clock drives batches, facts and the walkthrough's steps.
    {
        let store = store.clone();
        let live = store.link == Link::Live || matches!(store.link, Link::Lost(_));
        use_effect_with(live, move |live| {
            let timer = live.then(|| Interval::new(LIVE_TICK_MS, move || store.dispatch(Msg::LiveTick)));
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

    let class = classes!("app", store.presenter.then_some("presenter"));
    html! {
        <ContextProvider<Store> context={store.clone()}>
            <div {class}>
                <Header />
                if let Some(n) = &store.notice {
                    <p class="notice" role="alert">{ n }</p>
                }
                <main class="grid">
                    <section class="col col-left" aria-label="Controls">
                        <Walkthrough />
                        <Controls />
                        <Produce />
                        <ToolOutput />
                    </section>
                    <section class="col col-mid" aria-label="Offsets and batches">
                        <ErrorPanel current=true />
                        <Partitions />
                        <Batches />
                        <ErrorPanel current=false />
                    </section>
                    <section class="col col-right" aria-label="Group, checkpoints and output">
                        <Group />
                        <Checkpoints />
                        <JobOutput />
                        <Inspector />
                    </section>
                </main>
                if store.dialog == Some(crate::state::Dialog::Rewind) { <RewindDialog /> }
                if store.dialog == Some(crate::state::Dialog::Settings) { <SettingsDialog /> }
            </div>
        </ContextProvider<Store>>
    }
}

/// The bridge's websocket address, unless the page should stay a simulation: `?offline`, a share
/// link on first load (it replays in the simulation), or a page not served over http(s).
fn bridge_url(gen: u32) -> Option<String> {
    let loc = web_sys::window()?.location();
    let search = loc.search().ok()?;
    let offline = search.split(['?', '&']).any(|p| p == "offline");
    let shared = gen == 0 && loc.hash().ok()?.len() > 1;
    let scheme = match loc.protocol().ok()?.as_str() {
        "http:" => "ws",
        "https:" => "wss",
        _ => return None,
    };
    (!offline && !shared).then(|| format!("{scheme}://{}/ws", loc.host().unwrap_or_default()))
}
