//! The top bar: title, SIMULATION or LIVE (and Kafka's health), the clock, time controls, presenter mode, share.

use super::use_store;
use crate::state::{countdown_secs, share_fragment, shown_clock, Link, Msg};
use engine::time::clock;
use yew::prelude::*;

#[component]
pub fn Header() -> Html {
    let store = use_store();
    let (now, running, live) = {
        let s = store.session.borrow();
        let live = s.run.kafka.live().map(|k| (k.ns.clone(), k.kafka.clone(), k.waiting()));
        (clock(shown_clock(&s)), s.job_running(), live)
    };
    let d = |m: fn(&crate::state::Store) -> Msg| {
        let s = store.clone();
        Callback::from(move |_: MouseEvent| s.dispatch(m(&s)))
    };
    let on_speed = {
        let s = store.clone();
        Callback::from(move |e: Event| {
            let v = e.target_unchecked_into::<web_sys::HtmlSelectElement>().value();
            s.dispatch(Msg::Speed(v.parse().unwrap_or(1)));
        })
    };
    let on_share = {
        let s = store.clone();
        Callback::from(move |_: MouseEvent| {
            let frag = share_fragment(&s);
            if let Some(w) = web_sys::window() {
                let loc = w.location();
                let base = format!(
                    "{}{}{}",
                    loc.origin().unwrap_or_default(),
                    loc.pathname().unwrap_or_default(),
                    loc.search().unwrap_or_default()
                );
                let url = format!("{base}#{frag}");
                // replaceState: the address bar carries the link without reloading the page.
                if let Ok(h) = w.history() {
                    let _ = h.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url));
                }
                s.dispatch(Msg::Share(url));
            }
        })
    };
    html! {
        <header class="top">
            <h1>{ "Offset Lab" }</h1>
            { match (&store.workshop.role, &store.workshop.name) {
                (protocol::Role::Participant, Some(name)) => html! { <span class="badge who" data-testid="participant" title="Your name in the workshop; the teacher sees it next to your lab">{ format!("You: {name}") }</span> },
                (protocol::Role::Teacher, _) => html! { <span class="badge who" data-testid="participant">{ "Teacher" }</span> },
                _ => html! {},
            } }
            { match (&live, &store.link) {
                (Some((ns, kafka, _)), Link::Live) if kafka.up => html! {
                    <span class="badge live" data-testid="mode" title={format!("Topics and groups on this Kafka carry the prefix {ns}; checkpoint files go to the bridge's folder {}", ns.trim_end_matches('-'))}>
                        { format!("LIVE · Apache Kafka at {} via the bridge", kafka.bootstrap) }</span> },
                (Some((_, kafka, _)), Link::Live) => html! {
                    <span class="badge down" role="alert" data-testid="mode">{ format!("LIVE · Kafka at {} is down: {}", kafka.bootstrap, kafka.detail.clone().unwrap_or_default()) }</span> },
                (Some(_), Link::Reconnecting { why, at_ms, .. }) => {
                    let secs = countdown_secs(*at_ms, store.session.borrow().now.ms());
                    let when = if secs > 0 { format!("reconnecting in {secs} s") } else { "reconnecting…".to_string() };
                    html! { <span class="badge down" role="alert" data-testid="mode">{ format!("LIVE · the bridge went away ({why}); {when}") }</span> }
                }
                _ => html! {
                    <span class="badge sim" data-testid="mode" title="No Kafka is involved: the page runs Offset Lab's in-memory Kafka model">{ "SIMULATION · in-memory Kafka model" }</span> },
            } }
            <span class="clock" aria-label={if live.is_some() { "wall-clock time (UTC)" } else { "logical time" }} data-testid="clock">{ now }</span>
            <span class={classes!("badge", if running { "run" } else { "stopped" })} data-testid="running">
                { if running { "● job running" } else { "■ job not running" } }
            </span>
            if let Some((_, _, waiting)) = &live {
                <span class="time" title="A real Kafka runs on the wall clock: no pause, step or speed">
                    { if *waiting > 0 { format!("real time · {waiting} request(s) in flight") } else { "real time".to_string() } }
                </span>
            } else {
            <div class="time" role="group" aria-label="Time">
                <button onclick={d(|_| Msg::StepBatch)} aria-label="Step one batch (n)" title="Step one batch (key n)" data-testid="step">{ "Step batch ›|" }</button>
                if store.playing {
                    <button onclick={d(|_| Msg::Play(false))} aria-label="Pause (p)" data-testid="pause">{ "⏸ Pause" }</button>
                } else {
                    <button onclick={d(|_| Msg::Play(true))} aria-label="Play (p)" data-testid="play">{ "▶ Play" }</button>
                }
                <label>{ "Speed " }
                    <select onchange={on_speed} aria-label="Speed">
                        { for [1u32, 2, 5, 10, 30].iter().map(|x| html! { <option value={x.to_string()} selected={store.speed == *x}>{ format!("{x}×") }</option> }) }
                    </select>
                </label>
            </div>
            }
            <div class="right">
                <label class="toggle"><input type="checkbox" checked={store.presenter}
                    onchange={let s = store.clone(); Callback::from(move |_| s.dispatch(Msg::Presenter(!s.presenter)))} />{ " Presenter" }</label>
                <button onclick={on_share} data-testid="share">{ "Share link" }</button>
                if store.workshop.role == protocol::Role::Teacher {
                    <button onclick={let s = store.clone(); Callback::from(move |_| s.dispatch(Msg::Workshop(crate::workshop::WorkshopMsg::Tab(crate::workshop::TeacherTab::Room))))}
                        data-testid="room-tab">{ "◂ The room" }</button>
                }
                <button onclick={d(|_| Msg::NewPlayground)} disabled={store.workshop.destructive_locked()} data-testid="new"
                    title={if store.workshop.destructive_locked() { crate::workshop::LOCKED_TITLE } else if store.workshop.role != protocol::Role::Solo && live.is_some() { "A fresh run in your lab: the topic and the checkpoint folder are deleted and made again" } else if live.is_some() { "A fresh lab on the real Kafka: new topic, group and checkpoint folder" } else { "Back to an empty topic at 12:00:00" }}>{ "New" }</button>
            </div>
            if let Some(url) = &store.share_url {
                <input class="share-url" readonly=true value={url.clone()} aria-label="Share link" data-testid="share-url" />
            }
        </header>
    }
}
