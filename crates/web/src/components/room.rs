//! The teacher's room: the actions (push a chapter, broadcast, lock, reset), a live grid of every
//! lab's card (name, lesson · chapter, job, the three numbers per partition, last activity, online),
//! and a read-only mirror of one lab in large type for the projector.

use super::use_store;
use crate::lessons::LESSONS;
use crate::state::Msg;
use crate::workshop::{ago, disagreement, log_range, where_label, WorkshopMsg};
use protocol::{JobState, RoomLab, RoomPartition};
use yew::prelude::*;

#[component]
pub fn Room() -> Html {
    let store = use_store();
    let w = &store.workshop;
    let dispatch = {
        let s = store.clone();
        Callback::from(move |m: WorkshopMsg| s.dispatch(Msg::Workshop(m)))
    };
    let labs: Vec<&RoomLab> = w.room.iter().filter(|l| l.name != "teacher").collect();
    html! {
        <main class="room" aria-label="The room">
            <TeacherActions />
            if let Some(which) = &w.confirm_reset {
                <div class="confirm" role="alertdialog" aria-labelledby="confirm-h" data-testid="confirm-reset">
                    <h3 id="confirm-h">{ match which {
                        Some(ns) => format!("Reset the lab of {}? Its topics, group and checkpoint folder are deleted.", name_of(&w.room, ns)),
                        None => format!("Reset all {} labs? Every lab's topics, groups and checkpoint folders are deleted.", labs.len()),
                    } }</h3>
                    <button class="danger" onclick={let d = dispatch.clone(); move |_| d.emit(WorkshopMsg::ConfirmReset(true))} data-testid="confirm-yes">{ "Reset" }</button>
                    <button onclick={let d = dispatch.clone(); move |_| d.emit(WorkshopMsg::ConfirmReset(false))} data-testid="confirm-no">{ "Cancel" }</button>
                </div>
            }
            <div class="room-body">
                <section class="cards" aria-label="Labs" data-testid="room">
                    if labs.is_empty() {
                        <p class="hint">{ "No participant has joined yet: the join link and QR code are in the terminal that started the workshop." }</p>
                    }
                    { for labs.iter().map(|l| card(l, w.room_at, w.mirror.as_deref() == Some(l.namespace.as_str()), &dispatch)) }
                </section>
                if let Some(l) = w.mirrored() {
                    <Mirror lab={l.clone()} room_at={w.room_at} />
                }
            </div>
        </main>
    }
}

fn name_of(room: &[RoomLab], ns: &str) -> String {
    room.iter().find(|l| l.namespace == ns).map_or(ns.to_string(), |l| l.name.clone())
}

/// A Kafka name as the participant's page shows it (without the lab's prefix).
fn short<'a>(lab: &RoomLab, topic: &'a str) -> &'a str {
    topic.strip_prefix(lab.namespace.as_str()).unwrap_or(topic)
}

fn job_html(l: &RoomLab) -> Html {
    let class = match l.job {
        JobState::Running => "run",
        JobState::Crashed => "crashed",
        JobState::Stopped => "stopped",
        JobState::Idle => "idle",
    };
    let label = match l.job {
        JobState::Running => "● running",
        JobState::Crashed => "✖ crashed",
        JobState::Stopped => "■ stopped",
        JobState::Idle => "○ idle",
    };
    html! {
        <div class={classes!("job", class)} data-testid="card-job">
            { label }
            if let Some(e) = &l.exception {
                <div class="exception" data-testid="card-exception">{ format!("{}: {}", e.class, e.message) }</div>
            }
        </div>
    }
}

fn partition_row(l: &RoomLab, p: &RoomPartition) -> Html {
    let warn = disagreement(p.checkpoint, p.committed, Some(p.log_start), Some(p.log_end));
    let opt = |v: Option<i64>| v.map_or("–".to_string(), |v| v.to_string());
    html! {
        <tr class={classes!(warn.is_some().then_some("warn"))} title={warn.clone().unwrap_or_default()}
            data-testid={format!("card-{}-{}", short(l, &p.topic), p.partition)}>
            <th scope="row">{ format!("{}-{}", short(l, &p.topic), p.partition) }</th>
            <td>{ opt(p.checkpoint) }</td><td>{ opt(p.committed) }</td><td>{ log_range(p.log_start, p.log_end) }</td>
            <td class="flag">{ if warn.is_some() { "⚠" } else { "" } }</td>
        </tr>
    }
}

fn card(l: &RoomLab, room_at: i64, selected: bool, dispatch: &Callback<WorkshopMsg>) -> Html {
    let open = {
        let (d, ns) = (dispatch.clone(), l.namespace.clone());
        Callback::from(move |_: MouseEvent| d.emit(WorkshopMsg::Mirror(if selected { None } else { Some(ns.clone()) })))
    };
    let reset = {
        let (d, ns) = (dispatch.clone(), l.namespace.clone());
        Callback::from(move |e: MouseEvent| {
            e.stop_propagation();
            d.emit(WorkshopMsg::AskReset(Some(ns.clone())))
        })
    };
    let crashed = l.job == JobState::Crashed;
    html! {
        <article class={classes!("card", selected.then_some("sel"), crashed.then_some("crashed"))} data-testid={format!("lab-{}", l.name)}
            onclick={open} tabindex="0" aria-label={format!("{}'s lab: open the mirror", l.name)}>
            <header>
                <span class={classes!("dot", if l.online { "on" } else { "off" })} title={if l.online { "online" } else { "offline" }}>{ "●" }</span>
                <strong class="name">{ &l.name }</strong>
                <span class="ago" data-testid="card-ago">{ ago(room_at - l.last_activity_ms) }</span>
            </header>
            <div class="where" data-testid="card-where">{ if l.lesson.is_empty() { "not reported yet".to_string() } else { where_label(&l.lesson, l.chapter) } }</div>
            { job_html(l) }
            <table class="compact" aria-label="checkpoint / committed / log">
                <thead><tr><th></th><th title="the newest checkpoint's offset">{ "◆ K" }</th><th title="the group's committed offset">{ "● G" }</th><th>{ "log" }</th><th></th></tr></thead>
                <tbody>{ for l.partitions.iter().map(|p| partition_row(l, p)) }</tbody>
            </table>
            <button class="small" onclick={reset} data-testid="card-reset">{ "Reset lab…" }</button>
        </article>
    }
}

#[derive(Properties, PartialEq)]
struct MirrorProps {
    lab: RoomLab,
    room_at: i64,
}

/// One lab, read-only, in projector type: where it is, its job and the three numbers with the
/// disagreement spelled out.
#[component]
fn Mirror(props: &MirrorProps) -> Html {
    let store = use_store();
    let l = &props.lab;
    let close = {
        let s = store.clone();
        Callback::from(move |_: MouseEvent| s.dispatch(Msg::Workshop(WorkshopMsg::Mirror(None))))
    };
    let opt = |v: Option<i64>| v.map_or("–".to_string(), |v| v.to_string());
    html! {
        <section class="mirror" aria-labelledby="mirror-h" data-testid="mirror">
            <h2 id="mirror-h">{ format!("{}'s lab", l.name) }<small>{ format!(" · {}", ago(props.room_at - l.last_activity_ms)) }</small>
                <button onclick={close} aria-label="Close the mirror">{ "✕" }</button></h2>
            <p class="where">{ if l.lesson.is_empty() { "not reported yet".to_string() } else { where_label(&l.lesson, l.chapter) } }</p>
            { job_html(l) }
            <table class="numbers">
                <thead><tr><th>{ "partition" }</th><th>{ "◆ checkpoint" }</th><th>{ "● committed" }</th><th>{ "log start" }</th><th>{ "log end" }</th></tr></thead>
                <tbody>
                    { for l.partitions.iter().map(|p| {
                        let warn = disagreement(p.checkpoint, p.committed, Some(p.log_start), Some(p.log_end));
                        html! { <>
                            <tr class={classes!(warn.is_some().then_some("warn"))}>
                                <th scope="row">{ format!("{}-{}", short(l, &p.topic), p.partition) }</th>
                                <td>{ opt(p.checkpoint) }</td><td>{ opt(p.committed) }</td><td>{ p.log_start }</td><td>{ p.log_end }</td>
                            </tr>
                            if let Some(w) = warn { <tr class="warn why-row"><td class="why" colspan="5">{ format!("⚠ {w}") }</td></tr> }
                        </> }
                    }) }
                </tbody>
            </table>
            <p class="hint">{ "Read-only: what the lab's page reports (the checkpoint) and what the bridge reads from Kafka (committed, log)." }</p>
        </section>
    }
}

/// Push a chapter, broadcast, lock, reset all.
#[component]
fn TeacherActions() -> Html {
    let store = use_store();
    let lesson = use_state(|| 0usize);
    let chapter = use_state(|| 0usize);
    let text = use_state(String::new);
    let d = |m: WorkshopMsg| {
        let s = store.clone();
        Callback::from(move |_: MouseEvent| s.dispatch(Msg::Workshop(m.clone())))
    };
    let chapters = LESSONS[*lesson].chapters();
    let push = WorkshopMsg::PushChapter { lesson: LESSONS[*lesson].id.to_string(), chapter: (*chapter).min(chapters.len() - 1) as u32 };
    let on_lesson = {
        let (l, c) = (lesson.clone(), chapter.clone());
        Callback::from(move |e: Event| {
            l.set(e.target_unchecked_into::<web_sys::HtmlSelectElement>().value().parse().unwrap_or(0));
            c.set(0);
        })
    };
    let on_chapter = {
        let c = chapter.clone();
        Callback::from(move |e: Event| c.set(e.target_unchecked_into::<web_sys::HtmlSelectElement>().value().parse().unwrap_or(0)))
    };
    let on_text = {
        let t = text.clone();
        Callback::from(move |e: InputEvent| t.set(e.target_unchecked_into::<web_sys::HtmlInputElement>().value()))
    };
    let send = {
        let (s, t) = (store.clone(), text.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            s.dispatch(Msg::Workshop(WorkshopMsg::Broadcast((*t).clone())));
            t.set(String::new());
        })
    };
    let locked = store.workshop.locked;
    html! {
        <section class="panel actions" aria-label="Teacher actions">
            <div class="inline" role="group" aria-label="Push a chapter">
                <label>{ "Lesson " }
                    <select onchange={on_lesson} data-testid="push-lesson" aria-label="lesson to push">
                        { for LESSONS.iter().enumerate().map(|(i, l)| html! { <option value={i.to_string()} selected={*lesson == i}>{ l.title.split(':').next().unwrap_or(l.title) }</option> }) }
                    </select>
                </label>
                <label>{ "chapter " }
                    <select onchange={on_chapter} data-testid="push-chapter" aria-label="chapter to push">
                        { for chapters.iter().enumerate().map(|(i, c)| html! { <option value={i.to_string()} selected={*chapter == i}>{ format!("{} · {}", i + 1, c.title) }</option> }) }
                    </select>
                </label>
                <button class="primary" onclick={d(push)} data-testid="push">{ "Push to everyone" }</button>
            </div>
            <form class="inline" onsubmit={send} aria-label="Broadcast">
                <input type="text" maxlength="280" placeholder="A message for everyone (≤ 280 characters)" value={(*text).clone()} oninput={on_text}
                    data-testid="broadcast-text" aria-label="message" class="message" />
                <button type="submit" data-testid="broadcast-send">{ "Broadcast" }</button>
            </form>
            <div class="inline">
                <button onclick={d(WorkshopMsg::Lock(!locked))} data-testid="lock" aria-pressed={locked.to_string()}>
                    { if locked { "Unlock destructive buttons" } else { "Lock destructive buttons" } }</button>
                <button class="danger" onclick={d(WorkshopMsg::AskReset(None))} data-testid="reset-all">{ "Reset all labs…" }</button>
                <button onclick={d(WorkshopMsg::Tab(crate::workshop::TeacherTab::OwnLab))} data-testid="own-lab">{ "My own lab (presenter) ▸" }</button>
            </div>
        </section>
    }
}
