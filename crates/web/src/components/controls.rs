//! The job and cluster controls: start (getOrCreate), graceful stop, kill, delete checkpoint,
//! change code, rewind group, delete & re-create topic, delete records, settings.

use super::use_store;
use crate::session::Act;
use crate::state::{Dialog, Msg};
use yew::prelude::*;

#[component]
pub fn Controls() -> Html {
    let store = use_store();
    let running = store.session.borrow().job_running();
    let partitions = store.session.borrow().partitions();
    let act = |a: Act| {
        let s = store.clone();
        Callback::from(move |_: MouseEvent| s.dispatch(Msg::Do(a.clone())))
    };
    let dialog = |d: Dialog| {
        let s = store.clone();
        Callback::from(move |_: MouseEvent| s.dispatch(Msg::Dialog(Some(d))))
    };
    // The teacher's lock: destructive buttons off, their text readable, the tooltip says why.
    let locked = store.workshop.destructive_locked();
    let why = |title: &'static str| if locked { crate::workshop::LOCKED_TITLE } else { title };
    let del_part = use_state(|| 0i32);
    let del_before = use_state(|| 1i64);
    let on_del = {
        let (s, p, b) = (store.clone(), del_part.clone(), del_before.clone());
        Callback::from(move |_: MouseEvent| s.dispatch(Msg::Do(Act::DeleteRecords { partition: *p, before: *b })))
    };
    html! {
        <section class="panel controls" aria-labelledby="controls-h">
            <h2 id="controls-h">{ "Job & cluster" }</h2>
            <div class="buttons">
                <button onclick={act(Act::Start(store.settings.clone()))} disabled={running} data-testid="start"
                    title="StreamingContext.getOrCreate(checkpointDir, creatingFunc).start()">{ "▶ Start (getOrCreate)" }</button>
                <button onclick={act(Act::Stop { graceful: true })} disabled={!running} data-testid="stop"
                    title="ssc.stop(stopSparkContext = true, stopGracefully = true)">{ "■ Graceful stop" }</button>
                <button onclick={act(Act::Kill)} disabled={!running} data-testid="kill" title="kill -9 the driver">{ "✖ Kill" }</button>
                <button onclick={dialog(Dialog::Rewind)} class="primary" data-testid="rewind">{ "⟲ Rewind group…" }</button>
                <button onclick={act(Act::DeleteCheckpoint)} data-testid="delete-checkpoint" disabled={locked} title={why("rm -r the checkpoint directory")}>{ "✖ Delete checkpoint" }</button>
                <button onclick={act(Act::ChangeCode)} data-testid="change-code" title="the application's classes change: old checkpoints no longer deserialize">{ "✎ Change code" }</button>
                <button onclick={act(Act::RecreateTopic)} data-testid="recreate-topic" disabled={locked} title={why("kafka-topics --delete, then --create with the same partitions")}>{ "♻ Delete & re-create topic" }</button>
                <button onclick={dialog(Dialog::Settings)} data-testid="settings">{ "⚙ Settings…" }</button>
            </div>
            <div class="inline" role="group" aria-label="Delete records">
                <label>{ "kafka-delete-records: partition " }
                    <select aria-label="partition" onchange={let p = del_part.clone(); Callback::from(move |e: Event| p.set(e.target_unchecked_into::<web_sys::HtmlSelectElement>().value().parse().unwrap_or(0)))}>
                        { for (0..partitions).map(|p| html! { <option value={p.to_string()} selected={*del_part == p}>{ p }</option> }) }
                    </select>
                </label>
                <label>{ " before offset " }
                    <input type="number" min="0" class="num" value={del_before.to_string()} aria-label="before offset"
                        oninput={let b = del_before.clone(); Callback::from(move |e: InputEvent| b.set(e.target_unchecked_into::<web_sys::HtmlInputElement>().value().parse().unwrap_or(0)))} />
                </label>
                <button onclick={on_del} data-testid="delete-records" disabled={locked} title={why("kafka-delete-records --offset-json-file …")}>{ "Delete records" }</button>
            </div>
        </section>
    }
}
