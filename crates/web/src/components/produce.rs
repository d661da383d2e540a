//! The console producer: `key:::value` lines (or plain values to one partition) and quick buttons.

use super::use_store;
use crate::session::Act;
use crate::state::Msg;
use yew::prelude::*;

#[component]
pub fn Produce() -> Html {
    let store = use_store();
    let text = use_state(|| "k1:::a\nk2:::b".to_string());
    let target = use_state(|| None::<i32>);
    let partitions = store.session.borrow().partitions();
    let send = |partition: Option<i32>, lines: Vec<String>| {
        let s = store.clone();
        Callback::from(move |_: MouseEvent| s.dispatch(Msg::Do(Act::Produce { partition, lines: lines.clone() })))
    };
    let on_send = {
        let (s, t, p) = (store.clone(), text.clone(), target.clone());
        Callback::from(move |_: MouseEvent| {
            s.dispatch(Msg::Do(Act::Produce { partition: *p, lines: t.lines().map(str::to_string).collect() }))
        })
    };
    let many: Vec<String> = (0..10_000).map(|i| format!("k{i}:::w{}", i % 7)).collect();
    html! {
        <section class="panel produce" aria-labelledby="produce-h">
            <h2 id="produce-h">{ "Produce to words" }</h2>
            <label for="produce-lines">{ "kafka-console-producer lines (" }<code>{ "key:::value" }</code>{ ")" }</label>
            <textarea id="produce-lines" rows="3" value={(*text).clone()} data-testid="produce-lines"
                oninput={let t = text.clone(); Callback::from(move |e: InputEvent| t.set(e.target_unchecked_into::<web_sys::HtmlTextAreaElement>().value()))} />
            <div class="inline">
                <label>{ "to " }
                    <select aria-label="target partition" onchange={let p = target.clone(); Callback::from(move |e: Event| p.set(e.target_unchecked_into::<web_sys::HtmlSelectElement>().value().parse().ok()))}>
                        <option value="key" selected={target.is_none()}>{ "partition by key (murmur2)" }</option>
                        { for (0..partitions).map(|p| html! { <option value={p.to_string()} selected={*target == Some(p)}>{ format!("partition {p} (whole line is the value)") }</option> }) }
                    </select>
                </label>
                <button onclick={on_send} class="primary" data-testid="produce">{ "Send" }</button>
            </div>
            <div class="buttons quick" role="group" aria-label="Quick produce">
                <button onclick={send(Some(0), vec!["a".into(), "b".into()])} data-testid="quick-p0">{ "a, b → p0" }</button>
                <button onclick={send(Some(1), vec!["a".into()])}>{ "a → p1" }</button>
                <button onclick={send(Some(2), vec!["c".into()])}>{ "c → p2" }</button>
                <button onclick={send(None, many)} title="10 000 keyed records spread by murmur2">{ "10 000 records" }</button>
            </div>
        </section>
    }
}
