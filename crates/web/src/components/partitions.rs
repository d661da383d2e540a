//! Partitions as log lanes: offset cells between log start and log end, and three markers —
//! Spark's currentOffsets (▲ S), the newest checkpoint's offsets (◆ K) and the group's committed
//! offset (● G) — each with a letter and a shape, so disagreement never depends on colour.

use super::use_store;
use crate::kafka::{Cell, WebKafka};
use crate::session::TOPIC;
use scenario::runner::StatusRow;
use yew::prelude::*;

/// At most this many offset cells per lane; older ones collapse into "… n older".
const MAX_CELLS: i64 = 16;

#[component]
pub fn Partitions() -> Html {
    let store = use_store();
    let s = store.session.borrow();
    let status = s.run.status(s.now);
    html! {
        <section class="panel partitions" aria-labelledby="parts-h">
            <h2 id="parts-h">{ "Topic " }<code>{ TOPIC }</code>{ " — where everyone stands" }
                if s.is_live() { <small class="hint">{ format!(" on Kafka: {}", s.kafka_name(TOPIC)) }</small> }</h2>
            <p class="legend">
                <span class="mk cur">{ "▲ S" }</span>{ " Spark's currentOffsets  " }
                <span class="mk ckpt">{ "◆ K" }</span>{ " newest checkpoint  " }
                <span class="mk grp">{ "● G" }</span>{ " group committed  " }
                <span class="cell rec sample">{ "a" }</span>{ " record  " }
                <span class="cell gone sample">{ "×" }</span>{ " deleted" }
            </p>
            { for status.rows.iter().map(|r| lane(r, &s.run.kafka)) }
            <table class="numbers" data-testid="offsets-table">
                <caption class="sr">{ "Offsets per partition" }</caption>
                <thead><tr><th>{ "partition" }</th><th>{ "log start" }</th><th>{ "log end" }</th><th>{ "▲ current" }<wbr />{ "Offsets" }</th><th>{ "◆ checkpoint" }</th><th>{ "● committed" }</th><th>{ "lag" }</th></tr></thead>
                <tbody>
                    { for status.rows.iter().map(|r| {
                        let lag = match (r.log_end, r.committed) { (Some(e), Some(c)) => (e - c).to_string(), _ => "–".into() };
                        let warn = disagreement(r);
                        // The note gets a row of its own under the numbers: beside them it would
                        // widen the table past the column at 1366 px.
                        html! { <>
                            <tr class={classes!(warn.is_some().then_some("warn"))} data-testid={format!("row-{}", r.partition)}>
                                <th scope="row">{ r.partition.to_string() }</th>
                                <td>{ opt(r.log_start) }</td><td>{ opt(r.log_end) }</td>
                                <td>{ opt(r.current) }</td><td>{ opt(r.checkpointed) }</td><td>{ opt(r.committed) }</td>
                                <td>{ lag }</td>
                            </tr>
                            if let Some(w) = warn {
                                <tr class="warn why-row" data-testid={format!("why-{}", r.partition)}><td class="why" colspan="7">{ format!("⚠ {w}") }</td></tr>
                            }
                        </> }
                    }) }
                </tbody>
            </table>
        </section>
    }
}

fn opt(v: Option<i64>) -> String {
    v.map_or("–".into(), |v| v.to_string())
}

/// The one-line reason a row deserves attention, with its numbers.
fn disagreement(r: &StatusRow) -> Option<String> {
    crate::workshop::disagreement(r.checkpointed, r.committed, r.log_start, r.log_end)
}

fn lane(r: &StatusRow, kafka: &WebKafka) -> Html {
    let start = r.log_start.unwrap_or(0);
    let end = r.log_end.unwrap_or(0);
    let markers = [r.current, r.checkpointed, r.committed];
    let hi = markers.iter().flatten().copied().chain([end]).max().unwrap_or(end) + 1;
    let lo_all = markers.iter().flatten().copied().chain([start]).min().unwrap_or(start).max(0).min(hi);
    let lo = lo_all.max(hi - MAX_CELLS);
    let cell = |o: i64| -> Html {
        let (class, text, title) = match kafka.cell(&r.partition, o) {
            _ if o < start => ("gone", "×".to_string(), format!("offset {o}: deleted (below log start {start})")),
            Cell::Record { key, value } => {
                let v: String = value.chars().take(3).collect();
                ("rec", v, format!("offset {o}: key {key:?} value {value:?}"))
            }
            Cell::Unseen => ("rec", "·".to_string(), format!("offset {o}: a record this page has not fetched")),
            Cell::Absent => ("empty", String::new(), format!("offset {o}: beyond the log end {end}")),
        };
        html! { <span class={classes!("cell", class)} title={title}><span class="off">{ o }</span><span class="val">{ text }</span></span> }
    };
    let marker = |v: Option<i64>, class: &'static str, label: &'static str, name: &'static str| -> Html {
        let Some(v) = v else { return html! {} };
        let (pos, clipped) = if v < lo { (0, true) } else { (v - lo, false) };
        let style = format!("--pos:{pos}");
        html! { <span class={classes!("mk", class, clipped.then_some("clipped"))} style={style} title={format!("{name}: {v}")}>
            { format!("{label} {}{v}", if clipped { "◀" } else { "" }) }
        </span> }
    };
    html! {
        <div class="lane" data-testid={format!("lane-{}", r.partition)} aria-label={format!("{} log start {start} log end {end}", r.partition)}>
            <div class="lane-name">{ r.partition.to_string() }<small>{ format!("[{start}, {end})") }</small></div>
            <div class="lane-body">
                <div class="cells">
                    if lo > lo_all { <span class="cell more" title="older offsets hidden">{ format!("…{}", lo - lo_all) }</span> }
                    { for (lo..hi).map(cell) }
                </div>
                <div class="marks" style={format!("--shift:{}", if lo > lo_all { 1 } else { 0 })}>
                    { marker(r.current, "cur", "▲ S", "Spark currentOffsets") }
                    { marker(r.checkpointed, "ckpt", "◆ K", "newest checkpoint currentOffsets") }
                    { marker(r.committed, "grp", "● G", "group committed offset") }
                </div>
            </div>
        </div>
    }
}
