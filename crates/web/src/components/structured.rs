//! The Structured Streaming panels of a lesson with a query: its controls, the three numbers (the
//! offset log's newest batch, the executors' generated group, the log), the checkpoint as files with
//! their text, and the batches the sink ran.

use super::use_store;
use crate::session::{Act, TOPIC};
use crate::ss::SsSide;
use crate::state::Msg;
use engine::time::clock;
use yew::prelude::*;

#[component]
pub fn SsControls() -> Html {
    let store = use_store();
    let (running, both) = {
        let s = store.session.borrow();
        (s.job_running(), s.lesson_def().side_by_side())
    };
    let act = |a: Act| {
        let s = store.clone();
        Callback::from(move |_: MouseEvent| s.dispatch(Msg::Do(a.clone())))
    };
    let locked = store.workshop.destructive_locked();
    let why = |title: &'static str| if locked { crate::workshop::LOCKED_TITLE } else { title };
    let step = {
        let s = store.clone();
        Callback::from(move |_: MouseEvent| s.dispatch(Msg::StepBatch))
    };
    html! {
        <section class="panel controls" aria-labelledby="ss-controls-h">
            <h2 id="ss-controls-h">{ if both { "Both jobs & the cluster" } else { "Query & cluster" } }</h2>
            <div class="buttons">
                <button onclick={act(Act::Start(store.settings.clone()))} disabled={running} data-testid="ss-start"
                    title="spark.readStream…load().writeStream…start() in a new driver">{ "▶ Start" }</button>
                <button onclick={act(Act::Stop { graceful: true })} disabled={!running} data-testid="ss-stop" title="query.stop()">{ "■ Stop" }</button>
                <button onclick={act(Act::Kill)} disabled={!running} data-testid="ss-kill" title="kill -9 the driver">{ "✖ Kill" }</button>
                <button onclick={act(Act::KillInBatch)} disabled={!running} data-testid="ss-kill-in-batch"
                    title="kill -9 the driver inside the next batch: after offsets/N is written, before commits/N">{ "✖ Kill inside the next batch" }</button>
                <button onclick={step} data-testid="ss-step" title="to the query's next trigger">{ "Next trigger ›|" }</button>
                <button onclick={act(Act::ResetOffsets { args: SsSide::reset_args() })} disabled={locked} data-testid="ss-reset"
                    title={why("kafka-consumer-groups --reset-offsets --to-earliest --execute on the job's group")}>
                    { if both { "⟲ Rewind both groups to earliest" } else { "⟲ Rewind the executors' group to earliest" } }</button>
                <button onclick={act(Act::DeleteCheckpoint)} disabled={locked} data-testid="ss-delete-checkpoint" title={why("rm -r the checkpoint directory")}>{ "✖ Delete checkpoint" }</button>
                <button onclick={act(Act::RecreateTopic)} disabled={locked} data-testid="ss-recreate-topic" title={why("kafka-topics --delete, then --create with the same partitions")}>{ "♻ Delete & re-create topic" }</button>
            </div>
        </section>
    }
}

#[component]
pub fn SsNumbers() -> Html {
    let store = use_store();
    let s = store.session.borrow();
    let Some(ss) = &s.ss else { return html! {} };
    let rows = ss.rows();
    let group = ss.executor_group();
    let opt = |v: Option<i64>| v.map_or("–".to_string(), |v| v.to_string());
    html! {
        <section class="panel partitions ss-numbers" aria-labelledby="ss-parts-h">
            <h2 id="ss-parts-h">{ "Topic " }<code>{ TOPIC }</code>{ " — where the query stands" }</h2>
            if s.is_live() {
                <p class="hint" data-testid="ss-simulated">{ "This query runs on the in-memory Kafka model on this page, beside your live lab: Structured Streaming through the bridge is not there yet." }</p>
            }
            <table class="numbers" data-testid="ss-offsets-table">
                <caption class="sr">{ "Offsets per partition of the Structured Streaming query" }</caption>
                <thead><tr><th>{ "partition" }</th><th>{ "log start" }</th><th>{ "log end" }</th>
                    <th title="the newest offsets/N: the end offsets of batch N">{ "◆ offset log" }</th>
                    <th title="the executors' generated group">{ "● group" }</th></tr></thead>
                <tbody>
                    { for rows.iter().map(|r| {
                        let (start, end) = (r.log.map(|l| l.0), r.log.map(|l| l.1));
                        let log = match r.offset_log {
                            Some((n, o, true)) => html! { <>{ o.to_string() }<small>{ format!(" offsets/{n} ✓ committed") }</small></> },
                            Some((n, o, false)) => html! { <>{ o.to_string() }<small class="uncommitted">{ format!(" offsets/{n} ✗ not committed") }</small></> },
                            None => html! { "–" },
                        };
                        let behind = r.offset_log.zip(start).is_some_and(|(l, s)| l.1 < s);
                        let ahead = r.offset_log.zip(end).is_some_and(|(l, e)| l.1 > e);
                        html! { <>
                            <tr class={classes!((behind || ahead).then_some("warn"))} data-testid={format!("ss-row-{}", r.tp.partition)}>
                                <th scope="row">{ r.tp.partition.to_string() }</th>
                                <td>{ opt(start) }</td><td>{ opt(end) }</td><td>{ log }</td>
                                <td>{ r.group_committed.map_or_else(|| "none".to_string(), |c| c.to_string()) }</td>
                            </tr>
                            if behind || ahead {
                                <tr class="warn why-row"><td class="why" colspan="5">{
                                    if ahead { format!("⚠ the offset log is past the log end {}: the topic was re-created or truncated — failOnDataLoss decides", opt(end)) }
                                    else { format!("⚠ the offset log is behind the log start {}: retention deleted what the next batch would read", opt(start)) }
                                }</td></tr>
                            }
                        </> }
                    }) }
                </tbody>
            </table>
            <p class="note" data-testid="ss-group">
                { "● group: " }<code>{ group.clone().unwrap_or_else(|| "spark-kafka-source-<uuid>-<hash>-executor (made at the first start)".into()) }</code>
                { " — the executors' consumers use it to assign partitions and fetch; Spark never commits to it, and each start draws a new UUID, so it is a new group with nothing committed. Its numbers move only when a tool like kafka-consumer-groups writes them, and nothing in Spark reads them: the position is the offset log (◆) and the commit log." }
            </p>
        </section>
    }
}

#[component]
pub fn SsCheckpoint() -> Html {
    let store = use_store();
    let s = store.session.borrow();
    let Some(ss) = &s.ss else { return html! {} };
    let files = ss.files();
    let dir = &ss.run.scenario.structured.as_ref().map(|x| x.job.checkpoint_dir.clone()).unwrap_or_default();
    // The newest offsets/N is open unless the learner opened another file.
    let open = store
        .open_file
        .clone()
        .filter(|f| files.iter().any(|x| &x.name == f))
        .or_else(|| files.iter().rev().find(|f| f.name.starts_with("offsets/")).map(|f| f.name.clone()));
    let shown = open.as_ref().and_then(|o| files.iter().find(|f| &f.name == o));
    html! {
        <section class="panel checkpoints ss-checkpoint" aria-labelledby="ss-ckpt-h">
            <h2 id="ss-ckpt-h">{ format!("Checkpoint {dir}/ ({} files)", files.len()) }</h2>
            if files.is_empty() { <p class="hint" data-testid="ss-no-checkpoint">{ "empty — a new query: startingOffsets will be read" }</p> }
            <ul class="files" data-testid="ss-checkpoint-files">
                { for files.iter().map(|f| {
                    let (st, name) = (store.clone(), f.name.clone());
                    let onclick = Callback::from(move |_: MouseEvent| st.dispatch(Msg::OpenFile(Some(name.clone()))));
                    html! { <li class={classes!(f.uncommitted.then_some("uncommitted"))}>
                        <button class={classes!("link", (open.as_ref() == Some(&f.name)).then_some("sel"))} {onclick}>{ &f.name }</button>
                        if f.uncommitted { <small data-testid="ss-uncommitted">{ format!(" ✗ no commits/{} — a restart runs this batch again", f.name.trim_start_matches("offsets/")) }</small> }
                    </li> }
                }) }
            </ul>
            if let Some(f) = shown {
                <div class="file" data-testid="ss-checkpoint-content">
                    <h3>{ &f.name }</h3>
                    <p class="note">{ about(&f.name) }</p>
                    <pre data-testid="ss-file-text">{ &f.text }</pre>
                </div>
            }
        </section>
    }
}

/// What a checkpoint file is for, in a line.
fn about(name: &str) -> &'static str {
    if name == "metadata" {
        "The query's id (StreamMetadata): the same id across restarts from this checkpoint."
    } else if name.starts_with("offsets/") {
        "Written before the batch runs (OffsetSeqLog, v1): the batch's metadata, then the Kafka source's end offsets as JSON — the batch reads from the previous file's offsets up to these."
    } else if name.starts_with("commits/") {
        "Written after the sink succeeded (CommitLog): batch N is done; the restart goes on with N+1."
    } else {
        "KafkaSourceInitialOffsetWriter: where a new query started (startingOffsets resolved once); a zero byte, v1, the JSON."
    }
}

#[component]
pub fn SsBatches() -> Html {
    let store = use_store();
    let s = store.session.borrow();
    let Some(ss) = &s.ss else { return html! {} };
    let batches = ss.batches();
    let error = ss.current_error().cloned();
    let warnings = ss.warnings();
    html! {
        <section class="panel batches ss-batches" aria-labelledby="ss-batches-h">
            <h2 id="ss-batches-h">{ "Micro-batches the sink ran" }</h2>
            if let Some(e) = &error {
                <div class="error" role="alert" data-testid="ss-error">
                    <strong>{ &e.class }</strong>
                    <pre>{ e.message.lines().next().unwrap_or_default() }</pre>
                </div>
            }
            if !warnings.is_empty() {
                <details class="raw" data-testid="ss-warnings"><summary>{ format!("{} data-loss warning(s) in the driver's log", warnings.len()) }</summary>
                    { for warnings.iter().map(|w| html! { <pre>{ w.lines().next().unwrap_or_default() }</pre> }) }
                </details>
            }
            if batches.is_empty() { <p class="hint">{ "no batch yet" }</p> }
            <ol class="ss-batch-list" data-testid="ss-batches" reversed=true>
                { for batches.iter().rev().map(|b| {
                    let ranges: Vec<String> = b.ranges.iter().map(|(tp, f, u)| format!("{tp} [{f}, {u})")).collect();
                    html! { <li class={classes!(b.rerun.then_some("rerun"))} data-testid={format!("ss-batch-{}", b.batch_id)}>
                        <strong>{ format!("batch {}", b.batch_id) }</strong>{ format!(" · {} · ", clock(b.at)) }
                        { if ranges.is_empty() { "no new records".to_string() } else { ranges.join(", ") } }
                        if !b.values.is_empty() { { format!(" · rows: {}", b.values.join(" ")) } }
                        if b.rerun { <span class="badge rerun" data-testid="ss-rerun">{ " ↻ re-run of an uncommitted batch" }</span> }
                        { if b.committed { " · commits/ ✓".to_string() } else { " · not committed".to_string() } }
                    </li> }
                }) }
            </ol>
        </section>
    }
}
