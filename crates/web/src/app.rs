//! The app shell: the reducer, the play timer, keyboard shortcuts, share-link loading and the layout.

use crate::components::*;
use crate::link;
use crate::state::{AppState, Msg, Store};
use gloo_timers::callback::Interval;
use wasm_bindgen::JsCast;
use yew::prelude::*;

/// Real milliseconds between play ticks.
const TICK_MS: u32 = 200;

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
                    </section>
                </main>
                if store.dialog == Some(crate::state::Dialog::Rewind) { <RewindDialog /> }
                if store.dialog == Some(crate::state::Dialog::Settings) { <SettingsDialog /> }
            </div>
        </ContextProvider<Store>>
    }
}
