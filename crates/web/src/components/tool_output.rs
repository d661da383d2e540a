//! What the last tool printed (reset-offsets, delete-records, topic commands) or why it refused.

use super::use_store;
use yew::prelude::*;

#[component]
pub fn ToolOutput() -> Html {
    let store = use_store();
    let lines = store.session.borrow().tool_lines.clone();
    if lines.is_empty() {
        return html! {};
    }
    html! {
        <section class="panel tool" aria-labelledby="tool-h">
            <h2 id="tool-h">{ "Tool output" }</h2>
            <pre data-testid="tool-output" role="status">{ lines.join("\n") }</pre>
        </section>
    }
}
