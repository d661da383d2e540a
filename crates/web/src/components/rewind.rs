//! The rewind dialog: `kafka-consumer-groups --reset-offsets` strategies and scopes, a preview of
//! old → new per partition (the tool's own plan), the CLI command to copy, and the tool's refusal
//! while the job holds the group.

use super::use_store;
use crate::session::{Act, TOPIC};
use crate::state::Msg;
use yew::prelude::*;

const STRATEGIES: &[(&str, &str)] = &[
    ("--to-earliest", ""),
    ("--to-latest", ""),
    ("--to-current", ""),
    ("--to-offset", "0"),
    ("--shift-by", "-5"),
    ("--to-datetime", "2026-01-01T12:00:00.000"),
    ("--by-duration", "PT1M"),
];

#[component]
pub fn RewindDialog() -> Html {
    let store = use_store();
    let strategy = use_state(|| 4usize);
    let value = use_state(|| STRATEGIES[4].1.to_string());
    // Scope: None = --all-topics, Some(empty) = whole topic, Some(list) = those partitions.
    let scope = use_state(|| Some(vec![0i32]));
    let s = store.session.borrow();
    let group = s.group();
    let n = s.partitions();
    let (flag, _) = STRATEGIES[*strategy];
    let strategy_arg = if STRATEGIES[*strategy].1.is_empty() { flag.to_string() } else { format!("{flag} {}", *value) };
    let scope_arg = match &*scope {
        None => "--all-topics".to_string(),
        Some(p) if p.is_empty() => format!("--topic {TOPIC}"),
        Some(p) => format!("--topic {TOPIC}:{}", p.iter().map(i32::to_string).collect::<Vec<_>>().join(",")),
    };
    let args = format!("--bootstrap-server localhost:9092 --group {group} {scope_arg} {strategy_arg}");
    // The command for a terminal next to the page: live, with the names and address Kafka knows.
    let (cli_group, cli_scope, bootstrap) = match s.run.kafka.live() {
        Some(k) => (
            k.wire(&group),
            scope_arg.replace(&format!("--topic {TOPIC}"), &format!("--topic {}", k.wire(TOPIC))),
            k.kafka.bootstrap.clone(),
        ),
        None => (group.clone(), scope_arg.clone(), "localhost:9092".to_string()),
    };
    let cli = format!(
        "kafka-consumer-groups.sh --bootstrap-server {bootstrap} --group {cli_group} --reset-offsets {cli_scope} {strategy_arg} --execute"
    );
    let preview = s.preview_reset(&args);
    let committed = s.committed();
    drop(s);
    let close = {
        let st = store.clone();
        Callback::from(move |_: MouseEvent| st.dispatch(Msg::Dialog(None)))
    };
    let execute = {
        let (st, a) = (store.clone(), args.clone());
        Callback::from(move |_: MouseEvent| {
            st.dispatch(Msg::Do(Act::ResetOffsets { args: format!("{a} --execute") }));
            st.dispatch(Msg::Dialog(None));
        })
    };
    let on_strategy = {
        let (st, v) = (strategy.clone(), value.clone());
        Callback::from(move |e: Event| {
            let i: usize = e.target_unchecked_into::<web_sys::HtmlSelectElement>().value().parse().unwrap_or(0);
            st.set(i);
            v.set(STRATEGIES[i].1.to_string());
        })
    };
    let on_scope = {
        let sc = scope.clone();
        Callback::from(move |e: Event| {
            sc.set(match e.target_unchecked_into::<web_sys::HtmlSelectElement>().value().as_str() {
                "all" => None,
                "topic" => Some(vec![]),
                _ => Some(vec![0]),
            })
        })
    };
    let toggle = |p: i32| {
        let sc = scope.clone();
        Callback::from(move |_: Event| {
            let mut list = (*sc).clone().unwrap_or_default();
            if let Some(i) = list.iter().position(|x| *x == p) {
                list.remove(i);
            } else {
                list.push(p);
                list.sort();
            }
            if !list.is_empty() {
                sc.set(Some(list));
            }
        })
    };
    let scope_kind = match &*scope {
        None => "all",
        Some(p) if p.is_empty() => "topic",
        Some(_) => "parts",
    };
    html! {
        <div class="backdrop">
            <div class="dialog" role="dialog" aria-modal="true" aria-labelledby="rewind-h" data-testid="rewind-dialog">
                <h2 id="rewind-h">{ format!("Rewind group {group} — kafka-consumer-groups --reset-offsets") }</h2>
                <div class="form">
                    <label>{ "Strategy " }
                        <select onchange={on_strategy} aria-label="strategy" data-testid="reset-strategy">
                            { for STRATEGIES.iter().enumerate().map(|(i, (f, _))| html! { <option value={i.to_string()} selected={*strategy == i}>{ *f }</option> }) }
                        </select>
                    </label>
                    if !STRATEGIES[*strategy].1.is_empty() {
                        <label>{ " value " }
                            <input value={(*value).clone()} aria-label="strategy value" data-testid="reset-value"
                                oninput={let v = value.clone(); Callback::from(move |e: InputEvent| v.set(e.target_unchecked_into::<web_sys::HtmlInputElement>().value()))} />
                        </label>
                    }
                    <label>{ " Scope " }
                        <select onchange={on_scope} aria-label="scope">
                            <option value="parts" selected={scope_kind == "parts"}>{ format!("--topic {TOPIC}:<partitions>") }</option>
                            <option value="topic" selected={scope_kind == "topic"}>{ format!("--topic {TOPIC}") }</option>
                            <option value="all" selected={scope_kind == "all"}>{ "--all-topics" }</option>
                        </select>
                    </label>
                    if let Some(list) = scope.as_ref().filter(|l| !l.is_empty()) {
                        <span role="group" aria-label="partitions">
                            { for (0..n).map(|p| html! { <label class="check"><input type="checkbox" checked={list.contains(&p)} onchange={toggle(p)} />{ format!(" {p}") }</label> }) }
                        </span>
                    }
                </div>
                <h3>{ "Equivalent command" }</h3>
                <input class="cli" readonly=true value={cli} aria-label="equivalent CLI command" data-testid="reset-cli" />
                <h3>{ "Preview (the tool's --dry-run)" }</h3>
                { match &preview {
                    Err(e) => html! { <p class="refused" role="alert" data-testid="reset-refused">{ format!("✖ {e}") }</p> },
                    Ok(plan) => html! { <>
                        <table data-testid="reset-preview">
                            <thead><tr><th>{ "partition" }</th><th>{ "committed now" }</th><th>{ "" }</th><th>{ "new offset" }</th></tr></thead>
                            <tbody>{ for plan.offsets.iter().map(|(tp, o)| html! {
                                <tr><th scope="row">{ tp.to_string() }</th><td class="num">{ committed.get(tp).map_or("–".into(), |c| c.to_string()) }</td><td>{ "→" }</td><td class="num">{ o }</td></tr>
                            }) }</tbody>
                        </table>
                        <pre class="tool">{ plan.lines.join("\n") }</pre>
                    </> },
                } }
                <div class="buttons">
                    <button class="primary" onclick={execute} disabled={preview.is_err() || store.workshop.destructive_locked()} data-testid="reset-execute"
                        title={if store.workshop.destructive_locked() { crate::workshop::LOCKED_TITLE } else { "" }}>{ "Execute (--execute)" }</button>
                    <button onclick={close} data-testid="reset-close">{ "Close" }</button>
                </div>
            </div>
        </div>
    }
}
