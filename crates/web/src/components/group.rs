//! The consumer group as the coordinator sees it: state, members, lag per partition over the last
//! batches, and the `__consumer_offsets` records as they arrive.

use super::use_store;
use yew::prelude::*;

/// Newest `__consumer_offsets` records shown.
const RECORDS: usize = 8;

#[component]
pub fn Group() -> Html {
    let store = use_store();
    let s = store.session.borrow();
    let name = s.group();
    let state = s.group_state();
    let members = s.run.kafka.members(&name);
    let records = s.run.kafka.offsets_topic_lines();
    let on_kafka = s.is_live().then(|| s.kafka_name(&name));
    let lag = lag_rows(&s.lag_history);
    html! {
        <section class="panel group" aria-labelledby="group-h">
            <h2 id="group-h">{ "Consumer group " }<code>{ &name }</code>{ ": " }<span class="state" data-testid="group-state">{ state }</span></h2>
            if let Some(n) = on_kafka { <p class="hint">{ "on Kafka: " }<code>{ n }</code></p> }
            <p class="members">{ if members.is_empty() { "no members".to_string() } else { format!("members: {}", members.join(", ")) } }</p>
            <h3>{ "Lag (log end − committed) at each batch" }</h3>
            <table class="lag" data-testid="lag">
                { for lag.iter().map(|(tp, values)| html! {
                    <tr>
                        <th scope="row">{ tp }</th>
                        <td>{ sparkline(values) }</td>
                        <td class="num" title="the newest sample; – where nothing is committed">{ values.last().copied().flatten().map_or("–".into(), |v| v.to_string()) }</td>
                    </tr>
                }) }
            </table>
            <h3>{ format!("__consumer_offsets ({} records, newest first)", records.len()) }</h3>
            <ul class="records" data-testid="offsets-topic">
                { for records.iter().rev().take(RECORDS).map(|r| html! { <li>{ r }</li> }) }
            </ul>
        </section>
    }
}

/// Per partition, its lag at each sample (oldest first).
fn lag_rows(history: &std::collections::VecDeque<crate::session::LagSample>) -> Vec<(String, Vec<Option<i64>>)> {
    let mut rows: Vec<(String, Vec<Option<i64>>)> = Vec::new();
    for (i, sample) in history.iter().enumerate() {
        for (tp, v) in &sample.lag {
            let name = tp.to_string();
            let row = match rows.iter().position(|r| r.0 == name) {
                Some(r) => r,
                None => {
                    rows.push((name, vec![None; i]));
                    rows.len() - 1
                }
            };
            rows[row].1.push(*v);
        }
    }
    rows
}

/// A small line of the lag over time; the numbers are in its title for screen readers and hover.
fn sparkline(values: &[Option<i64>]) -> Html {
    let (w, h) = (120.0, 18.0);
    let max = values.iter().flatten().copied().max().unwrap_or(0).max(1) as f64;
    let step = if values.len() > 1 { w / (values.len() - 1) as f64 } else { 0.0 };
    let points: Vec<String> = values
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.map(|v| format!("{:.1},{:.1}", i as f64 * step, h - 1.0 - (v as f64 / max) * (h - 2.0))))
        .collect();
    let title = values.iter().map(|v| v.map_or("–".into(), |v| v.to_string())).collect::<Vec<_>>().join(" ");
    html! {
        <svg class="spark" width={w.to_string()} height={h.to_string()} role="img" aria-label={format!("lag at each batch: {title}")}>
            <title>{ format!("lag at each batch: {title}") }</title>
            <polyline points={points.join(" ")} fill="none" stroke="currentColor" stroke-width="1.5" />
        </svg>
    }
}
