//! The guided walkthrough panel: chapter list, narration, next / replay / back, and the lesson's checks.

use super::use_store;
use crate::state::Msg;
use crate::walkthrough::{chapter_done, LESSONS};
use yew::prelude::*;

#[component]
pub fn Walkthrough() -> Html {
    let store = use_store();
    let lesson = store.session.borrow().lesson_def();
    let chapters = lesson.chapters();
    let (done, failures) = {
        let s = store.session.borrow();
        (chapter_done(&s), s.failures())
    };
    let on_lesson = store.session.borrow().lesson_progress().is_some();
    // Live: the chapter's steps wait for their real time.
    let waiting = {
        let s = store.session.borrow();
        s.schedule.front().map(|(due, _)| (s.schedule.len(), ((due - s.now.ms()).max(0) + 999) / 1000))
    };
    // While a live chapter runs, its narration is the one to read.
    let running = store.session.borrow().schedule.front().and_then(|(_, i)| crate::walkthrough::chapter_of(lesson, *i));
    let done = running.map(|r| r.checked_sub(1)).unwrap_or(done);
    let shown = running.or(done);
    let next_k = done.map_or(0, |d| d + 1);
    let go = |k: usize| {
        let s = store.clone();
        Callback::from(move |_: MouseEvent| s.dispatch(Msg::Chapter(k)))
    };
    let next = {
        let s = store.clone();
        Callback::from(move |_: MouseEvent| s.dispatch(Msg::NextChapter))
    };
    let checks = |k: usize| {
        let c = &chapters[k];
        lesson.steps()[c.steps.clone()].iter().filter(|s| s.is_expect).count()
    };
    html! {
        <section class="panel walkthrough" aria-labelledby="walk-h">
            <h2 id="walk-h">{ "Walkthrough" }</h2>
            <label class="lesson">{ "Lesson " }
                <select aria-label="lesson" data-testid="lesson" disabled={store.workshop.destructive_locked()}
                    title={if store.workshop.destructive_locked() { crate::workshop::LOCKED_TITLE } else { "" }} onchange={let s = store.clone(); Callback::from(move |e: Event| {
                    let i = e.target_unchecked_into::<web_sys::HtmlSelectElement>().value().parse().unwrap_or(0);
                    s.dispatch(Msg::ChooseLesson(i));
                })}>
                    { for LESSONS.iter().enumerate().map(|(i, l)| html! { <option value={i.to_string()} selected={l.id == lesson.id}>{ l.title }</option> }) }
                </select>
            </label>
            if let Some(k) = shown.filter(|_| on_lesson) {
                <div class="chapter" data-testid="chapter">
                    <h3>{ format!("{} / {} · {}", k + 1, chapters.len(), chapters[k].title) }</h3>
                    <p class="narration" data-testid="narration">{ &chapters[k].narration }</p>
                    if checks(k) > 0 && running.is_none() {
                        <p class="checks" data-testid="checks">{ if failures.is_empty() { format!("✓ {} check(s) of this chapter hold", checks(k)) } else { format!("✗ {} check(s) failed", failures.len()) } }</p>
                        <ul class="failures">{ for failures.iter().map(|f| html! { <li>{ f }</li> }) }</ul>
                    }
                </div>
            } else if !on_lesson {
                <p class="hint">{ "You are in the free playground. Start the walkthrough to follow the experiment step by step." }</p>
            }
            if let Some((n, secs)) = waiting {
                <p class="checks" role="status" data-testid="chapter-running">{ format!("⏳ running on the real Kafka: {n} step(s) left, the next in {secs} s") }</p>
            }
            <div class="buttons">
                if next_k < chapters.len() && waiting.is_none() {
                    <button class="primary" onclick={next} data-testid="next-chapter">
                        { if on_lesson && done.is_some() { format!("Next: {} ▶", chapters[next_k].title) } else { "Start the walkthrough ▶".to_string() } }
                    </button>
                }
                if let Some(k) = done.filter(|_| on_lesson) {
                    <button onclick={go(k)} data-testid="replay-chapter">{ "↻ Replay chapter" }</button>
                    if k > 0 { <button onclick={go(k - 1)}>{ "◀ Back" }</button> }
                }
            </div>
            // keyed by lesson: a list reused across lessons kept its old numbering in Chromium
            <ol class="chapters" key={lesson.id}>
                { for chapters.iter().enumerate().map(|(i, c)| {
                    let here = on_lesson && done == Some(i);
                    html! { <li class={classes!(here.then_some("here"))}>
                        <button class="link" onclick={go(i)} aria-current={here.then_some("step")}>{ &c.title }</button>
                    </li> }
                }) }
            </ol>
        </section>
    }
}
