//! The checkpoint inspector: open real Spark checkpoint files (they never leave the browser), read the
//! offsets inside, see them on partition lanes, and what a restart would do against the page's Kafka.

use std::rc::Rc;

use super::use_store;
use crate::inspect::{
    default_selection, facts, lane_offsets, load, stream_partitions, structured_facts, structured_folder, FileView, LaneScale,
};
use crate::state::Store;
use spark_checkpoint::predict::{predict, Prediction, StreamPrediction};
use spark_checkpoint::spark::{Checkpoint, KafkaStream, OffsetRange};
use spark_checkpoint::structured::{self, read_folder, StructuredCheckpoint};
use spark_checkpoint::text::utc;
use spark_checkpoint::Limits;
use yew::prelude::*;

/// A folder's files by path from its root.
type Files = Vec<(String, Vec<u8>)>;

/// What the user opened: the decoded files, each one's raw tree (rendered once), and the decode time.
struct Loaded {
    /// A Structured Streaming checkpoint folder (a directory pick), with its files by path from its root.
    structured: Option<(StructuredCheckpoint, Files)>,
    files: Vec<FileView>,
    trees: Vec<Option<String>>,
    decode_ms: f64,
}

fn now_ms() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map_or(0.0, |p| p.now())
}

/// Reads every file of a `FileList` (the inputs' or a drop's), then decodes them all.
fn read_files(
    list: web_sys::FileList,
    loaded: UseStateHandle<Option<Rc<Loaded>>>,
    selected: UseStateHandle<usize>,
    busy: UseStateHandle<bool>,
) {
    let files: Vec<web_sys::File> = (0..list.length()).filter_map(|i| list.item(i)).collect();
    if files.is_empty() {
        return;
    }
    busy.set(true);
    wasm_bindgen_futures::spawn_local(async move {
        let mut raw = Vec::new();
        for f in files {
            if let Ok(buf) = wasm_bindgen_futures::JsFuture::from(f.array_buffer()).await {
                // A directory pick names each file by its path inside the picked folder (`ckpt/offsets/0`).
                let rel = js_sys::Reflect::get(&f, &"webkitRelativePath".into()).ok().and_then(|v| v.as_string()).filter(|p| !p.is_empty());
                raw.push((rel.unwrap_or_else(|| f.name()), js_sys::Uint8Array::new(&buf).to_vec()));
            }
        }
        let t0 = now_ms();
        let structured = structured_folder(&raw).map(|files| (read_folder(files.iter().map(|(p, b)| (p.as_str(), b.as_slice()))), files));
        let views = if structured.is_some() { Vec::new() } else { load(&raw) };
        let decode_ms = now_ms() - t0;
        let limits = Limits::default();
        let trees = views
            .iter()
            .map(|v| v.result.as_ref().ok().map(|ins| serde_json::to_string_pretty(&ins.raw_tree(&limits)).unwrap_or_default()))
            .collect();
        selected.set(default_selection(&views));
        loaded.set(Some(Rc::new(Loaded { structured, files: views, trees, decode_ms })));
        busy.set(false);
    });
}

#[component]
pub fn Inspector() -> Html {
    let store = use_store();
    let open = use_state(|| false);
    let loaded = use_state(|| None::<Rc<Loaded>>);
    let selected = use_state(|| 0usize);
    let busy = use_state(|| false);
    let over = use_state(|| false);
    let files_ref = use_node_ref();

    let toggle = {
        let open = open.clone();
        Callback::from(move |_: MouseEvent| open.set(!*open))
    };
    let on_input = {
        let (l, s, b) = (loaded.clone(), selected.clone(), busy.clone());
        Callback::from(move |e: Event| {
            let input: web_sys::HtmlInputElement = e.target_unchecked_into();
            if let Some(list) = input.files() {
                read_files(list, l.clone(), s.clone(), b.clone());
            }
        })
    };
    let on_drop = {
        let (l, s, b, o) = (loaded.clone(), selected.clone(), busy.clone(), over.clone());
        Callback::from(move |e: DragEvent| {
            e.prevent_default();
            o.set(false);
            if let Some(list) = e.data_transfer().and_then(|d| d.files()) {
                read_files(list, l.clone(), s.clone(), b.clone());
            }
        })
    };
    let on_drag_over = {
        let o = over.clone();
        Callback::from(move |e: DragEvent| {
            e.prevent_default();
            o.set(true);
        })
    };
    let on_drag_leave = {
        let o = over.clone();
        Callback::from(move |_: DragEvent| o.set(false))
    };
    // The drop zone is also a button: Enter or Space opens the file chooser.
    let choose = {
        let r = files_ref.clone();
        move || {
            if let Some(input) = r.cast::<web_sys::HtmlInputElement>() {
                input.click();
            }
        }
    };
    let on_zone_click = {
        let c = choose.clone();
        Callback::from(move |_: MouseEvent| c())
    };
    let on_zone_key = Callback::from(move |e: KeyboardEvent| {
        if e.key() == "Enter" || e.key() == " " {
            e.prevent_default();
            choose();
        }
    });
    let on_dialog_key = {
        let open = open.clone();
        Callback::from(move |e: KeyboardEvent| {
            if e.key() == "Escape" {
                open.set(false);
            }
        })
    };

    let entry = html! {
        <section class="panel inspector-entry" aria-labelledby="insp-h">
            <h2 id="insp-h">{ "Checkpoint inspector" }</h2>
            <p class="hint">{ "Open a real Spark checkpoint-<ms> file or directory, or a Structured Streaming checkpoint folder (metadata, offsets/, commits/: pick the directory): the offsets inside, and whether a restart from it crashes or loses data against this page's Kafka. The file never leaves the browser." }</p>
            <button data-testid="inspector-open" aria-expanded={(*open).to_string()} onclick={toggle.clone()}>{ "Open checkpoint inspector…" }</button>
        </section>
    };
    if !*open {
        return entry;
    }
    let sel = *selected;
    html! {
        <>
        { entry }
        <div class="backdrop" onkeydown={on_dialog_key}>
            <div class="dialog inspector" role="dialog" aria-modal="true" aria-labelledby="insp-dlg-h" data-testid="inspector">
                <h2 id="insp-dlg-h">{ "Checkpoint inspector" }<button class="close" aria-label="Close the inspector" onclick={toggle}>{ "✕ close" }</button></h2>
                <div class="inline">
                    <label for="insp-files">{ "Checkpoint files " }</label>
                    <input id="insp-files" ref={files_ref} type="file" multiple=true data-testid="inspector-files" onchange={on_input.clone()} />
                    <label for="insp-dir">{ " or a whole directory " }</label>
                    <input id="insp-dir" type="file" multiple=true webkitdirectory=true data-testid="inspector-dir" onchange={on_input} />
                </div>
                <div class={classes!("dropzone", over.then_some("over"))} role="button" tabindex="0" aria-label="Drop checkpoint files here, or press Enter to choose them"
                    ondrop={on_drop} ondragover={on_drag_over} ondragleave={on_drag_leave} onclick={on_zone_click} onkeydown={on_zone_key} data-testid="inspector-drop">
                    { if *over { "Release to read the files" } else { "Drop checkpoint-<ms> files here (select them all from the directory), or press Enter to choose" } }
                </div>
                if *busy { <p class="hint" role="status">{ "reading…" }</p> }
                if let Some(l) = &*loaded { { loaded_view(&store, l, sel, selected.clone()) } }
            </div>
        </div>
        </>
    }
}

fn loaded_view(store: &Store, l: &Rc<Loaded>, sel: usize, selected: UseStateHandle<usize>) -> Html {
    if let Some((cp, files)) = &l.structured {
        return structured_view(store, cp, files, l.decode_ms);
    }
    if l.files.is_empty() {
        return html! { <p class="hint" data-testid="inspector-none">{ "none of these is a checkpoint file" }</p> };
    }
    let listed = l.files.iter().filter(|f| f.listed).count();
    let picked = l.files.iter().any(|f| f.restart_pick);
    html! {
        <>
        <h3>{ format!("{} file(s), Spark's reader order (newest first)", l.files.len()) }</h3>
        <p class="hint" data-testid="inspector-timing">{ format!("decoded in the page in {:.1} ms", l.decode_ms) }</p>
        <table class="numbers" data-testid="inspector-files-table">
            <thead><tr><th>{ "file" }</th><th>{ "bytes" }</th><th>{ "on restart" }</th><th></th></tr></thead>
            <tbody>
            { for l.files.iter().enumerate().map(|(i, f)| {
                let what = match (&f.result, f.restart_pick, f.listed) {
                    (_, true, _) => "⇐ a restart reads this one".to_string(),
                    (Err(e), _, _) => format!("✖ unreadable, Spark skips it: {e}"),
                    (Ok(_), _, false) => "not named checkpoint-<ms>: Spark's reader does not list it".to_string(),
                    (Ok(_), false, true) => "older: read only if the newer ones fail".to_string(),
                };
                let crc = match f.crc_sidecar { Some(true) => " (.crc ok)", Some(false) => " (.crc mismatch)", None => "" };
                let s = selected.clone();
                let onclick = Callback::from(move |_: MouseEvent| s.set(i));
                html! { <tr class={classes!(f.restart_pick.then_some("pick"), f.result.is_err().then_some("bad"))} data-testid={format!("inspector-file-{i}")}>
                    <th scope="row">{ &f.name }{ crc }</th><td class="num">{ f.size }</td><td>{ what }</td>
                    <td><button class="link" aria-pressed={(i == sel).to_string()} {onclick}>{ if i == sel { "shown" } else { "show" } }</button></td>
                </tr> }
            }) }
            </tbody>
        </table>
        if listed > 0 && !picked { <p class="exception" role="alert">{ "No readable checkpoint: getOrCreate fails with org.apache.spark.SparkException: Failed to read checkpoint from directory" }</p> }
        if let Some(f) = l.files.get(sel) {
            { match &f.result {
                Ok(ins) => file_view(store, &f.name, &ins.checkpoint, &ins.warnings, l.trees.get(sel).cloned().flatten()),
                Err(e) => html! { <p class="exception" data-testid="inspector-error">{ format!("{}: {e}", f.name) }</p> },
            } }
        }
        </>
    }
}

fn ms(d: Option<i64>) -> String {
    d.map_or("–".into(), |d| format!("{d} ms"))
}

fn range(r: &OffsetRange) -> String {
    format!("{}-{} [{}, {})", r.topic, r.partition, r.from_offset, r.until_offset)
}

fn file_view(store: &Store, name: &str, cp: &Checkpoint, warnings: &[String], tree: Option<String>) -> Html {
    let (kafka_label, live) = page_facts(store, cp);
    let prediction = Some((kafka_label, predict(cp, &live)));
    let pending = if cp.pending_times.is_empty() {
        "none".to_string()
    } else {
        cp.pending_times.iter().map(|t| utc(*t)).collect::<Vec<_>>().join(", ")
    };
    html! {
        <div class="inspected" data-testid="inspector-summary">
            <h3>{ name }</h3>
            <dl class="facts">
                <dt>{ "checkpointTime" }</dt><dd data-testid="inspector-time">{ format!("{} ({})", cp.checkpoint_time, utc(cp.checkpoint_time)) }</dd>
                <dt>{ "app" }</dt><dd>{ format!("{} on {}", cp.app_name, cp.master) }</dd>
                <dt>{ "batch / checkpoint interval" }</dt><dd>{ format!("{} / {}", ms(cp.batch_duration), ms(cp.checkpoint_duration)) }</dd>
                <dt>{ "pendingTimes (re-run on restart)" }</dt><dd data-testid="inspector-pending">{ pending }</dd>
                <dt>{ "checkpointDir" }</dt><dd>{ cp.checkpoint_dir.clone().unwrap_or_else(|| "–".into()) }</dd>
            </dl>
            { for warnings.iter().map(|w| html! { <p class="note">{ format!("⚠ {w}") }</p> }) }
            if let Some((label, p)) = &prediction { { prediction_view(label, p) } }
            { for cp.streams.iter().filter_map(|s| s.kafka.as_ref()).map(|k| {
                let sp = prediction.as_ref().and_then(|(_, p)| p.streams.iter().find(|s| s.stream_id == k.id));
                stream_view(k, sp)
            }) }
            <details class="raw">
                <summary>{ "Raw Java object tree (every object once, shared ones as {\"$ref\": id})" }</summary>
                <pre data-testid="inspector-tree">{ tree.unwrap_or_default() }</pre>
            </details>
        </div>
    }
}

/// The page's Kafka as facts for the prediction (read through `KafkaBackend` only), and how to name it.
fn page_facts(store: &Store, cp: &Checkpoint) -> (String, spark_checkpoint::predict::Facts) {
    let s = store.session.borrow();
    let label =
        if s.is_live() { "the page's Kafka (real, through the bridge)" } else { "the page's Kafka (simulation: the in-memory model)" };
    (label.to_string(), facts(&s.run.kafka, cp))
}

fn stream_view(k: &KafkaStream, sp: Option<&StreamPrediction>) -> Html {
    let cs = k.consumer_strategy.as_ref();
    let kind = cs.map_or("?".to_string(), |c| c.kind.clone());
    let what = cs.map_or(String::new(), |c| {
        if let Some(t) = &c.topics {
            format!("topics {}", t.join(", "))
        } else if let Some(p) = &c.pattern {
            format!("pattern {p}")
        } else if let Some(tps) = &c.topic_partitions {
            format!("partitions {}", tps.iter().map(|tp| format!("{}-{}", tp.topic, tp.partition)).collect::<Vec<_>>().join(", "))
        } else {
            String::new()
        }
    });
    let param = |key: &str| {
        cs.and_then(|c| c.kafka_params.get(key)).map_or("–".to_string(), |v| v.as_str().map_or(v.to_string(), str::to_string))
    };
    html! {
        <div class="stream" data-testid={format!("inspector-stream-{}", k.id.unwrap_or(0))}>
            <h3>{ format!("Kafka direct stream {}: {kind} {what}", k.id.map_or("?".into(), |i| i.to_string())) }</h3>
            <p>{ format!("group.id {} · auto.offset.reset {} · enable.auto.commit {}", param("group.id"), param("auto.offset.reset"), param("enable.auto.commit")) }</p>
            { lanes_view(k, sp) }
            <table class="numbers" data-testid="inspector-offsets">
                <caption>{ "currentOffsets: where the next batch starts" }</caption>
                <thead><tr><th>{ "partition" }</th><th>{ "◆ checkpoint" }</th><th>{ "log start" }</th><th>{ "log end" }</th><th>{ "● committed" }</th><th>{ "▼ queued commit" }</th></tr></thead>
                <tbody>
                { for k.current_offsets.iter().map(|o| {
                    let lane = sp.and_then(|s| s.lanes.iter().find(|l| l.topic == o.topic && l.partition == o.partition));
                    let opt = |v: Option<i64>| v.map_or("–".to_string(), |v| v.to_string());
                    let (start, end) = match lane { Some(l) if l.exists == "yes" => (opt(l.log_start), opt(l.log_end)), Some(l) => (l.exists.clone(), l.exists.clone()), None => ("?".into(), "?".into()) };
                    let ahead = lane.and_then(|l| l.log_end).is_some_and(|e| e < o.offset);
                    html! { <tr class={classes!(ahead.then_some("neg"))} data-testid={format!("inspector-offset-{}-{}", o.topic, o.partition)}>
                        <th scope="row">{ format!("{}-{}", o.topic, o.partition) }</th>
                        <td>{ o.offset }{ if ahead { " ⚠ > log end" } else { "" } }</td><td>{ start }</td><td>{ end }</td>
                        <td>{ opt(lane.and_then(|l| l.committed)) }</td><td>{ opt(lane.and_then(|l| l.queued_commit)) }</td>
                    </tr> }
                }) }
                </tbody>
            </table>
            <h4>{ format!("commitQueue: {} range(s) not yet sent to Kafka", k.commit_queue.len()) }</h4>
            <p class="ranges" data-testid="inspector-queue">{ k.commit_queue.iter().map(range).collect::<Vec<_>>().join("  ") }</p>
            <h4>{ format!("batchForTime: {} batch(es) restored on restart", k.batch_for_time.len()) }</h4>
            <table class="numbers" data-testid="inspector-batches">
                <thead><tr><th>{ "batch time" }</th><th>{ "offset ranges" }</th></tr></thead>
                <tbody>
                { for k.batch_for_time.iter().map(|b| html! {
                    <tr><th scope="row">{ format!("{} ({})", b.time, utc(b.time)) }</th><td>{ b.ranges.iter().map(range).collect::<Vec<_>>().join("  ") }</td></tr>
                }) }
                </tbody>
            </table>
        </div>
    }
}

/// Partition lanes drawn to scale: the live log, the restored ranges, and the checkpoint's markers,
/// each with a letter and a text, never colour alone.
fn lanes_view(k: &KafkaStream, sp: Option<&StreamPrediction>) -> Html {
    let mut parts = stream_partitions(k);
    if let Some(s) = sp {
        parts.extend(s.lanes.iter().map(|l| (l.topic.clone(), l.partition)));
        parts.sort();
        parts.dedup();
    }
    html! {
        <div class="insp-lanes" data-testid="inspector-lanes">
            <p class="legend">
                <span class="mk ckpt">{ "◆ K" }</span>{ " checkpoint currentOffsets  " }
                <span class="mk grp">{ "● G" }</span>{ " group committed  " }
                <span class="seg-sample log">{ "log" }</span>{ " live log start…end  " }
                <span class="seg-sample rng">{ "[ )" }</span>{ " batchForTime range (re-read on restart)" }
            </p>
            { for parts.iter().map(|(t, p)| {
                let lane = sp.and_then(|s| s.lanes.iter().find(|l| &l.topic == t && l.partition == *p));
                let log = lane.and_then(|l| l.log_start.zip(l.log_end));
                let mut offs = lane_offsets(k, t, *p, log);
                offs.extend(lane.and_then(|l| l.committed));
                let scale = LaneScale::new(offs);
                let ck = k.current_offsets.iter().find(|o| &o.topic == t && o.partition == *p).map(|o| o.offset);
                let ranges: Vec<&OffsetRange> = k.batch_for_time.iter().flat_map(|b| b.ranges.iter()).filter(|r| &r.topic == t && r.partition == *p && r.until_offset != r.from_offset).collect();
                let exists = lane.map_or("unknown", |l| l.exists.as_str());
                let seg = |from: i64, until: i64, class: &'static str, text: String| {
                    let (a, b) = (scale.pct(from.min(until)), scale.pct(from.max(until)));
                    html! { <span class={classes!("seg", class, (until < from).then_some("neg"))} style={format!("left:{a:.2}%;width:{:.2}%", (b - a).max(0.6))} title={text.clone()}>{ text }</span> }
                };
                let mark = |v: Option<i64>, class: &'static str, label: &'static str| {
                    // Past the middle the label hangs left of its offset, so it stays inside the lane.
                    v.map_or(html! {}, |v| html! { <span class={classes!("mk", class, (scale.pct(v) > 50.0).then_some("flip"))} style={format!("left:{:.2}%", scale.pct(v))} title={format!("{label} {v}")}>{ format!("{label} {v}") }</span> })
                };
                html! {
                    <div class="insp-lane" data-testid={format!("inspector-lane-{t}-{p}")} aria-label={format!("{t}-{p}: checkpoint {}, log {}", ck.map_or("–".into(), |c| c.to_string()), log.map_or(exists.to_string(), |(s, e)| format!("[{s}, {e})")))}>
                        <div class="lane-name">{ format!("{t}-{p}") }<small>{ log.map_or(exists.to_string(), |(s, e)| format!("log [{s}, {e})")) }</small></div>
                        <div class="insp-track">
                            <div class="row">{ log.map_or(html! {}, |(s, e)| seg(s, e, "log", format!("log [{s}, {e})"))) }</div>
                            <div class="row">{ for ranges.iter().map(|r| seg(r.from_offset, r.until_offset, "rng", format!("[{}, {})", r.from_offset, r.until_offset))) }</div>
                            <div class="row">{ mark(ck, "ckpt", "◆ K") }</div>
                            if lane.and_then(|l| l.committed).is_some() { <div class="row">{ mark(lane.and_then(|l| l.committed), "grp", "● G") }</div> }
                        </div>
                    </div>
                }
            }) }
        </div>
    }
}

fn prediction_view(kafka_label: &str, p: &Prediction) -> Html {
    html! {
        <section class={classes!("prediction", p.crashes.then_some("error"))} aria-labelledby="pred-h" data-testid="inspector-prediction">
            <h3 id="pred-h">{ format!("Will a restart from this checkpoint crash? Against {kafka_label}") }</h3>
            <p class={classes!(if p.crashes { "exception" } else { "ok" })} role="status" data-testid="prediction-headline">{ if p.crashes { "✖ " } else { "✔ " } }{ &p.headline }</p>
            { for p.streams.iter().map(|s| html! {
                <div class="pred-stream">
                    if !s.failures.is_empty() {
                        <ol class="failures">
                        { for s.failures.iter().map(|f| html! {
                            <li data-testid="prediction-failure">
                                <strong>{ format!("{} {}{}: ", if f.certain { "fails on the" } else { "may fail on the" }, f.side, f.batch_time.map_or(String::new(), |t| format!(", batch {t}"))) }</strong>
                                <code class="exception">{ f.exception.to_string() }</code>
                                <div class="note">{ format!("because {}", f.because) }</div>
                            </li>
                        }) }
                        </ol>
                    }
                    if let Some(fb) = s.first_batch.as_ref().filter(|fb| fb.ranges.is_empty()) {
                        <p data-testid="prediction-first-batch">{ format!("First new batch{}: not computed{}", fb.time.map_or(String::new(), |t| format!(" ({t})")), if fb.driver_error.is_some() { " — the driver fails before it" } else { " — no partition with known offsets" }) }</p>
                    }
                    if let Some(fb) = s.first_batch.as_ref().filter(|fb| !fb.ranges.is_empty()) {
                        <p data-testid="prediction-first-batch">{ format!("First new batch{}: {} — numRecords {}", fb.time.map_or(String::new(), |t| format!(" ({t})")),
                            fb.ranges.iter().map(|r| format!("{}-{} [{}, {})", r.topic, r.partition, r.from_offset, r.until_offset)).collect::<Vec<_>>().join("  "), fb.num_records) }</p>
                    }
                    if !s.re_read.is_empty() {
                        <p>{ "Re-read: " }{ s.re_read.iter().map(|c| format!("{}-{} {} record(s)", c.topic, c.partition, c.records)).collect::<Vec<_>>().join(", ") }{ " — restored batches re-run, their outputs run again" }</p>
                    }
                    { for s.skipped.iter().map(|c| html! { <p>{ format!("Skipped {}-{}: {} record(s), {}", c.topic, c.partition, c.records, c.because) }</p> }) }
                    if !s.commits.is_empty() {
                        <p>{ if s.commits_sent { "The restored commitQueue is committed at the first compute: " } else { "The restored commitQueue is not sent: " } }
                            { s.commits.iter().map(|c| format!("{}-{} → {} ({})", c.topic, c.partition, c.will_commit, c.note)).collect::<Vec<_>>().join("; ") }</p>
                    }
                    { for s.ways_out.iter().map(|w| html! {
                        <div class="way-out" data-testid="prediction-way-out">
                            <h4>{ format!("Way out: {}", w.title) }</h4>
                            <ul>
                                { for w.starts.iter().map(|st| html! { <li>{
                                    if st.records > 0 { format!("{}-{}: produce {} record(s) to reach {}", st.topic, st.partition, st.records, st.offset.unwrap_or_default()) }
                                    else { format!("{}-{} starts at {} ({})", st.topic, st.partition, st.offset.map_or("?".into(), |o| o.to_string()), st.source) }
                                }</li> }) }
                                if let Some(e) = &w.failure { <li class="exception">{ format!("still fails: {e}") }</li> }
                                { for w.costs.iter().map(|c| html! { <li>{ format!("cost: {c}") }</li> }) }
                            </ul>
                        </div>
                    }) }
                    { for s.notes.iter().map(|n| html! { <p class="note">{ format!("note: {n}") }</p> }) }
                </div>
            }) }
        </section>
    }
}

fn offsets_text(o: Option<&engine::offsets::Offsets>) -> String {
    o.map_or("–".into(), |o| o.iter().map(|(tp, v)| format!("{tp} {v}")).collect::<Vec<_>>().join(", "))
}

/// A Structured Streaming checkpoint folder: its batches with their end offsets and commit state, `sources/0/0`, the
/// next batch, and the restart against the page's Kafka with `failOnDataLoss` true and false, with the ways out.
fn structured_view(store: &Store, cp: &StructuredCheckpoint, files: &[(String, Vec<u8>)], decode_ms: f64) -> Html {
    let (label, p) = {
        let s = store.session.borrow();
        let label =
            if s.is_live() { "the page's Kafka (real, through the bridge)" } else { "the page's Kafka (simulation: the in-memory model)" };
        (label, structured::predict(cp, files, &structured_facts(&s.run.kafka, cp), &[]))
    };
    let next = match (&cp.next_batch, &cp.restart_error) {
        (_, Some(e)) => format!("the restart fails before it asks Kafka anything: {e}"),
        (Some(n), _) if n.rerun => format!(
            "batch {} is re-run (offsets/{} without commits/{}) from {} to the same end offsets {}",
            n.id,
            n.id,
            n.id,
            offsets_text(n.start.as_ref()),
            offsets_text(n.end.as_ref())
        ),
        (Some(n), _) => format!(
            "batch {} starts at {}; its end is planned at the restart from the latest offsets",
            n.id,
            offsets_text(n.start.as_ref())
        ),
        (None, None) => "–".into(),
    };
    html! {
        <div class="inspected" data-testid="inspector-structured">
            <h3>{ format!("{} (offset log by Spark {})", cp.kind.label(), cp.spark) }</h3>
            <p class="hint" data-testid="inspector-timing">{ format!("{} file(s) read in the page in {decode_ms:.1} ms", files.len()) }</p>
            <dl class="facts">
                <dt>{ "query id (metadata)" }</dt><dd>{ cp.query_id.clone().unwrap_or_else(|| "–".into()) }</dd>
                <dt>{ "initial offsets (sources/0/0)" }</dt><dd>{ offsets_text(cp.initial_offsets.as_ref()) }</dd>
                <dt>{ "next batch" }</dt><dd data-testid="inspector-next-batch">{ next }</dd>
            </dl>
            <table class="numbers" data-testid="inspector-ss-batches">
                <caption>{ "offsets/N (written before the batch runs) and commits/N (after its sink succeeded)" }</caption>
                <thead><tr><th>{ "batch" }</th><th>{ "end offsets" }</th><th>{ "committed" }</th><th>{ "batchTimestampMs" }</th></tr></thead>
                <tbody>
                { for cp.batches.iter().map(|b| html! { <tr class={classes!((!b.committed).then_some("neg"))}>
                    <th scope="row">{ b.id }</th><td>{ offsets_text(b.end.as_ref()) }</td>
                    <td>{ if b.committed { "yes" } else if b.commit_file { "unreadable" } else { "no" } }</td>
                    <td>{ b.batch_timestamp_ms.map_or("–".into(), |t| t.to_string()) }</td>
                </tr> }) }
                </tbody>
            </table>
            { for cp.state.iter().map(|s| html! { <p>{ format!("state/{}: {} partition(s), newest version {}", s.operator, s.partitions, s.newest_version.map_or("–".into(), |v| v.to_string())) }</p> }) }
            { for cp.errors.iter().map(|e| html! { <p class="exception" data-testid="inspector-error">{ e.to_string() }</p> }) }
            { for cp.warnings.iter().map(|w| html! { <p class="note">{ format!("⚠ {w}") }</p> }) }
            <section class={classes!("prediction", p.fails.then_some("error"))} data-testid="inspector-prediction">
                <h3>{ format!("Will a restart from this checkpoint lose data or fail? Against {label}") }</h3>
                <p class={classes!(if p.fails || p.loses_data { "exception" } else { "ok" })} role="status" data-testid="prediction-headline">{ if p.fails { "✖ " } else { "✔ " } }{ &p.headline }</p>
                <table class="numbers">
                    <thead><tr><th>{ "partition" }</th><th>{ "checkpoint" }</th><th>{ "re-run end" }</th><th>{ "log start" }</th><th>{ "log end" }</th></tr></thead>
                    <tbody>
                    { for p.lanes.iter().map(|l| { let o = |v: Option<i64>| v.map_or("–".to_string(), |v| v.to_string()); html! {
                        <tr><th scope="row">{ format!("{}-{}", l.topic, l.partition) }</th><td>{ o(l.checkpoint_offset) }</td><td>{ o(l.rerun_end) }</td>
                        <td>{ if l.exists == "yes" { o(l.log_start) } else { l.exists.clone() } }</td><td>{ if l.exists == "yes" { o(l.log_end) } else { l.exists.clone() } }</td></tr>
                    } }) }
                    </tbody>
                </table>
                { for p.outcomes.iter().map(|o| html! {
                    <div class="pred-stream" data-testid={format!("prediction-fail-on-data-loss-{}", o.fail_on_data_loss)}>
                        <h4>{ format!("failOnDataLoss={}: {}", o.fail_on_data_loss, o.error.as_ref().map_or("runs".to_string(), |e| format!("fails: {e}"))) }</h4>
                        <ul>
                            { for o.batches.iter().map(|b| html! { <li>{ format!("batch {}{}: {} — {} row(s)", b.batch_id, if b.rerun { " (re-run)" } else { "" }, b.ranges.join("  "), b.rows) }</li> }) }
                            { for o.lost.iter().map(|c| html! { <li class="exception">{ format!("lost {}-{}: {} record(s), {}", c.topic, c.partition, c.records, c.because) }</li> }) }
                            { for o.replayed.iter().map(|c| html! { <li>{ format!("may be written twice {}-{}: {} record(s), {}", c.topic, c.partition, c.records, c.because) }</li> }) }
                        </ul>
                    </div>
                }) }
                { for p.ways_out.iter().map(|w| html! {
                    <div class="way-out" data-testid="prediction-way-out">
                        <h4>{ format!("Way out: {}", w.title) }</h4>
                        <ul>
                            { for w.starts.iter().map(|st| html! { <li>{ format!("{}-{} starts at {} ({})", st.topic, st.partition, st.offset.map_or("?".into(), |o| o.to_string()), st.source) }</li> }) }
                            if let Some(e) = &w.failure { <li class="exception">{ format!("still fails: {e}") }</li> }
                            { for w.costs.iter().map(|c| html! { <li>{ format!("cost: {c}") }</li> }) }
                        </ul>
                    </div>
                }) }
                { for p.notes.iter().map(|n| html! { <p class="note">{ format!("note: {n}") }</p> }) }
            </section>
        </div>
    }
}
