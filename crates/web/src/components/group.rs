//! The consumer group as the coordinator sees it: state, members, committed offsets with lag, and
//! the `__consumer_offsets` records as they arrive.

use super::use_store;
use yew::prelude::*;

/// Newest `__consumer_offsets` records shown.
const RECORDS: usize = 8;

#[component]
pub fn Group() -> Html {
    let store = use_store();
    let s = store.session.borrow();
    let name = s.group();
    let state = s.group_state();
    let members = s.run.kafka.members(&name);
    let records = s.run.kafka.offsets_topic_lines();
    let on_kafka = s.is_live().then(|| s.kafka_name(&name));
    html! {
        <section class="panel group" aria-labelledby="group-h">
            <h2 id="group-h">{ "Consumer group " }<code>{ &name }</code>{ ": " }<span class="state" data-testid="group-state">{ state }</span></h2>
            if let Some(n) = on_kafka { <p class="hint">{ "on Kafka: " }<code>{ n }</code></p> }
            <p class="members">{ if members.is_empty() { "no members".to_string() } else { format!("members: {}", members.join(", ")) } }</p>
            <h3>{ format!("__consumer_offsets ({} records, newest first)", records.len()) }</h3>
            <ul class="records" data-testid="offsets-topic">
                { for records.iter().rev().take(RECORDS).map(|r| html! { <li>{ r }</li> }) }
            </ul>
        </section>
    }
}
