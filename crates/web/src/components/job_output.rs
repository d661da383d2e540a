//! The job's output: print() lines of the newest batches and the updateStateByKey state.

use crate::state::{SessionRef, TraceKey};
use crate::views::batches;
use engine::time::clock;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub session: SessionRef,
    /// The output changes only with it.
    pub trace_key: TraceKey,
}

#[component]
pub fn JobOutput(props: &Props) -> Html {
    let s = props.session.borrow();
    let rows = batches(&s.run.trace);
    let printed: Vec<_> = rows.iter().filter(|r| !r.output.is_empty()).rev().take(3).collect();
    let state = s.run.engine.state().cloned();
    let running = s.run.engine.is_running();
    html! {
        <section class="panel output" aria-labelledby="out-h">
            <h2 id="out-h">{ "Job output" }</h2>
            <h3>{ "updateStateByKey state" }</h3>
            <p class="state-map" data-testid="state">
                { match &state {
                    None if running => "{} (no batch computed yet)".to_string(),
                    None => "– (no context has run)".to_string(),
                    Some(m) if m.is_empty() => "{} (empty)".to_string(),
                    Some(m) => m.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("  "),
                } }
            </p>
            if !running && state.is_some() {
                <p class="hint">{ "as the last batch of the job that ended left it" }</p>
            }
            <h3>{ "print()" }</h3>
            { for printed.iter().map(|r| html! {
                <pre class="print" title={format!("batch {}", clock(r.batch))}>{ r.output.join("\n") }</pre>
            }) }
        </section>
    }
}
