//! The consumer group as the coordinator sees it: state, members, committed offsets with lag, and
//! the `__consumer_offsets` records as they arrive.

use super::use_store;
use kafka_model::OffsetsTopicRecord;
use yew::prelude::*;

/// Newest `__consumer_offsets` records shown.
const RECORDS: usize = 8;

#[component]
pub fn Group() -> Html {
    let store = use_store();
    let s = store.session.borrow();
    let name = s.group();
    let state = s.run.kafka.group_state(&name).to_string();
    let members: Vec<String> = s.run.kafka.groups.get(&name).map(|g| g.members.iter().map(|(id, m)| format!("{id} ({})", m.client_id)).collect()).unwrap_or_default();
    let records = &s.run.kafka.offsets_topic;
    html! {
        <section class="panel group" aria-labelledby="group-h">
            <h2 id="group-h">{ "Consumer group " }<code>{ &name }</code>{ ": " }<span class="state" data-testid="group-state">{ state }</span></h2>
            <p class="members">{ if members.is_empty() { "no members".to_string() } else { format!("members: {}", members.join(", ")) } }</p>
            <h3>{ format!("__consumer_offsets ({} records, newest first)", records.len()) }</h3>
            <ul class="records" data-testid="offsets-topic">
                { for records.iter().rev().take(RECORDS).map(|r| html! { <li>{ describe(r) }</li> }) }
            </ul>
        </section>
    }
}

fn describe(r: &OffsetsTopicRecord) -> String {
    match r {
        OffsetsTopicRecord::OffsetCommit { group, topic, partition, offset: Some(o), .. } => format!("[{group},{topic},{partition}] → offset {o}"),
        OffsetsTopicRecord::OffsetCommit { group, topic, partition, offset: None, .. } => format!("[{group},{topic},{partition}] → tombstone"),
        OffsetsTopicRecord::GroupMetadata { group, generation, state: Some(st), members } => {
            format!("group {group}: {st}, generation {generation}, {} member(s)", members.len())
        }
        OffsetsTopicRecord::GroupMetadata { group, .. } => format!("group {group}: tombstone (Dead)"),
    }
}
