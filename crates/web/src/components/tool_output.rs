//! What the last tool printed (reset-offsets, delete-records, topic commands) or why it refused.

use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub lines: Vec<String>,
}

#[component]
pub fn ToolOutput(props: &Props) -> Html {
    let lines = &props.lines;
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
