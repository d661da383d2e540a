//! A participant's workshop parts: the join form, and what the teacher sends — a pushed chapter
//! (Go / Stay, never modal), a broadcast message, the lock.

use super::use_store;
use crate::state::Msg;
use crate::workshop::{where_label, WorkshopMsg, LOCKED_TITLE};
use yew::prelude::*;

/// The join form: a participant without a lab names themselves.
#[component]
pub fn JoinForm() -> Html {
    let store = use_store();
    let name = use_state(String::new);
    let Some(form) = store.workshop.join_form.clone() else { return html! {} };
    let on_submit = {
        let (s, name) = (store.clone(), name.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            s.dispatch(Msg::Workshop(WorkshopMsg::Join((*name).clone())));
        })
    };
    let on_input = {
        let name = name.clone();
        Callback::from(move |e: InputEvent| name.set(e.target_unchecked_into::<web_sys::HtmlInputElement>().value()))
    };
    html! {
        <div class="backdrop">
            <form class="dialog join" onsubmit={on_submit} aria-labelledby="join-h" data-testid="join-form">
                <h2 id="join-h">{ "Join the workshop" }</h2>
                <p>{ "You get a lab of your own on the room's Kafka: a topic, a consumer group and a checkpoint folder. \
                      Your teacher sees your name next to it." }</p>
                if let Some(n) = &form.notice {
                    <p class="refused" role="alert" data-testid="join-notice">{ n }</p>
                }
                <label>{ "Your name " }
                    <input type="text" maxlength="40" autofocus=true value={(*name).clone()} oninput={on_input} data-testid="join-name" aria-label="Your name" />
                </label>
                <button type="submit" class="primary" data-testid="join">{ "Join" }</button>
            </form>
        </div>
    }
}

/// The teacher's pushes as a participant sees them.
#[component]
pub fn Pushes() -> Html {
    let store = use_store();
    let w = &store.workshop;
    let d = |m: WorkshopMsg| {
        let s = store.clone();
        Callback::from(move |_: MouseEvent| s.dispatch(Msg::Workshop(m.clone())))
    };
    html! {
        <>
            if let Some((lesson, chapter)) = &w.pushed {
                <div class="push" role="status" data-testid="pushed">
                    <span>{ format!("Your teacher moved to {} — ", where_label(lesson, *chapter)) }</span>
                    <button class="primary" onclick={d(WorkshopMsg::Go)} data-testid="pushed-go">{ "Go" }</button>
                    <button onclick={d(WorkshopMsg::Stay)} data-testid="pushed-stay">{ "Stay" }</button>
                </div>
            }
            if let Some(text) = &w.broadcast {
                <div class="broadcast" role="status" data-testid="broadcast">
                    <strong>{ "From your teacher: " }</strong><span>{ text }</span>
                    <button class="link" onclick={d(WorkshopMsg::DismissBroadcast)} aria-label="Dismiss the message">{ "✕" }</button>
                </div>
            }
            if w.destructive_locked() {
                <div class="locked-note" role="status" data-testid="locked" title={LOCKED_TITLE}>
                    { "Locked: your teacher has locked the destructive buttons for the moment." }
                </div>
            }
        </>
    }
}
