//! The batch timeline in Spark UI's words (time, status, numRecords, re-run) and the selected
//! batch's details: every partition's OffsetRange, empty and negative ones too.

use crate::explain::{explain, failed_row};
use crate::state::{AppState, Msg, SessionRef, TraceKey};
use crate::views::{batches, error_is_current, last_error, restart_time, BatchRow, BatchStatus};
use engine::time::clock;
use yew::prelude::*;

/// Rows shown in the timeline (newest first); older ones are dropped.
const SHOWN: usize = 40;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub session: SessionRef,
    /// The timeline changes only with it.
    pub trace_key: TraceKey,
    pub selected: Option<usize>,
    pub dispatch: UseReducerDispatcher<AppState>,
}

#[component]
pub fn Batches(props: &Props) -> Html {
    let s = props.session.borrow();
    let mut rows = batches(&s.run.trace);
    // A compute that threw never became a batch; show the ranges it had, marked as such.
    if error_is_current(&s.run.trace) {
        if let Some((class, message, _, at)) = last_error(&s.run.trace) {
            let e = explain(&class, &message, &s.run.status(s.now));
            if !e.failed_ranges.is_empty() && e.failed_ranges.iter().any(|r| r.count() < 0) {
                rows.push(failed_row(&e, restart_time(&s.run.trace).unwrap_or(at)));
            }
        }
    }
    let selected = props.selected.filter(|i| *i < rows.len()).or(rows.len().checked_sub(1));
    let first = rows.len().saturating_sub(SHOWN);
    html! {
        <section class="panel batches" aria-labelledby="batches-h">
            <h2 id="batches-h">{ format!("Batches ({})", rows.len()) }</h2>
            <div class="batch-split">
                <div class="timeline">
                    <table data-testid="batches">
                        <thead><tr><th>{ "batch time" }</th><th>{ "status" }</th><th>{ "numRecords" }</th><th>{ "" }</th></tr></thead>
                        <tbody>
                        { for rows.iter().enumerate().skip(first).rev().map(|(i, r)| {
                            let st = props.dispatch.clone();
                            let onclick = Callback::from(move |_: MouseEvent| st.dispatch(Msg::SelectBatch(Some(i))));
                            let sel = selected == Some(i);
                            html! { <tr class={classes!(status_class(r), sel.then_some("sel"), (r.num_records < 0).then_some("neg"))} aria-selected={sel.to_string()}>
                                <td><button class="link" {onclick} aria-label={format!("batch {}", clock(r.batch))}>{ clock(r.batch) }</button></td>
                                <td>{ status_text(r) }</td>
                                <td class="num">{ r.num_records }</td>
                                <td>{ tags(r) }</td>
                            </tr> }
                        }) }
                        </tbody>
                    </table>
                </div>
                { selected.and_then(|i| rows.get(i)).map(details).unwrap_or_default() }
            </div>
        </section>
    }
}

fn status_class(r: &BatchRow) -> &'static str {
    match r.status {
        BatchStatus::Done => "done",
        BatchStatus::Failed => "failed",
        BatchStatus::Running => "running",
        BatchStatus::Queued => "queued",
        BatchStatus::NotCompleted => "notdone",
    }
}

/// Icon + word: status never relies on colour.
fn status_text(r: &BatchRow) -> String {
    let icon = match r.status {
        BatchStatus::Done => "✓",
        BatchStatus::Failed => "✖",
        BatchStatus::Running => "…",
        BatchStatus::Queued => "⧗",
        BatchStatus::NotCompleted => "○",
    };
    format!("{icon} {}", r.status.label())
}

fn tags(r: &BatchRow) -> Html {
    html! { <>
        if r.rerun { <span class="tag">{ "re-run after recovery" }</span> }
        if r.synthetic { <span class="tag">{ "never generated" }</span> }
    </> }
}

fn details(r: &BatchRow) -> Html {
    html! {
        <div class="details" data-testid="batch-details" aria-live="polite">
            <h3>{ format!("Batch {} — {}", clock(r.batch), status_text(r)) }</h3>
            if r.synthetic {
                <p class="note">{ "The compute of this batch threw, so Spark never generated it; these are the ranges it computed: from currentOffsets (restored from the checkpoint) to the log end." }</p>
            } else if r.restored {
                <p class="note">{ "Ranges restored from the checkpoint (batchForTime), not computed: numRecords shows 0 as in Spark's UI." }</p>
            }
            <table>
                <thead><tr><th>{ "partition" }</th><th>{ "fromOffset" }</th><th>{ "untilOffset" }</th><th>{ "count" }</th></tr></thead>
                <tbody>
                { for r.ranges.iter().map(|o| html! {
                    <tr class={classes!((o.count() < 0).then_some("neg"))}>
                        <th scope="row">{ format!("{}-{}", o.topic, o.partition) }</th>
                        <td class="num">{ o.from_offset }</td><td class="num">{ o.until_offset }</td>
                        <td class="num">{ if o.count() < 0 { format!("✖ {} (negative)", o.count()) } else if o.count() == 0 { "0 (empty)".to_string() } else { o.count().to_string() } }</td>
                    </tr>
                }) }
                </tbody>
            </table>
            if let Some(e) = &r.error { <pre class="exception">{ e }</pre> }
            if !r.output.is_empty() {
                <h4>{ "print()" }</h4>
                <pre class="print">{ r.output.join("\n") }</pre>
            }
        </div>
    }
}
