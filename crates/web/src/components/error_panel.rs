//! The newest exception: exactly as Spark prints it, why it happened here (with the numbers), the ways out.

use crate::explain::explain;
use crate::state::{SessionRef, TraceKey};
use crate::views::{error_is_current, last_error};
use engine::time::clock;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct Props {
    /// Render only a current error (the job died: top of the page) or only a past one (below).
    pub current: bool,
    pub session: SessionRef,
    /// The panel changes only with it.
    pub trace_key: TraceKey,
}

#[component]
pub fn ErrorPanel(props: &Props) -> Html {
    let s = props.session.borrow();
    let Some((class, message, phase, at)) = last_error(&s.run.trace) else { return html! {} };
    let current = error_is_current(&s.run.trace);
    if current != props.current {
        return html! {};
    }
    let e = explain(&class, &message, &s.run.status(s.now));
    html! {
        <section class={classes!("panel", "error", (!current).then_some("past"))} aria-labelledby="err-h" role="alert">
            <h2 id="err-h">{ if current { "✖ The job died" } else { "Earlier error (the job has run since)" } }
                <small>{ format!(" at {} · phase {phase:?}", clock(at)) }</small></h2>
            <pre class="exception" data-testid="exception">{ &e.exception }</pre>
            <h3>{ "Why, here" }</h3>
            <ul data-testid="why">{ for e.why.iter().map(|w| html! { <li>{ w }</li> }) }</ul>
            if !e.ways_out.is_empty() {
                <h3>{ "Ways out" }</h3>
                <ol data-testid="ways-out">{ for e.ways_out.iter().map(|w| html! { <li>{ w }</li> }) }</ol>
            }
        </section>
    }
}
