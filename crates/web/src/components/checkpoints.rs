//! The checkpoint directory: `checkpoint-<ms>` and `.bk` files appearing and rotating; open one to read it.

use super::use_store;
use crate::state::Msg;
use engine::checkpoint::parse_name;
use engine::time::clock;
use yew::prelude::*;

#[component]
pub fn Checkpoints() -> Html {
    let store = use_store();
    let s = store.session.borrow();
    let files = s.checkpoint_files();
    let open = store.open_file.clone().filter(|f| files.contains(f));
    let content = open.as_ref().and_then(|f| s.read_file(f));
    let on_disk = s.run.kafka.live().map(|k| k.ns.trim_end_matches('-').to_string());
    html! {
        <section class="panel checkpoints" aria-labelledby="ckpt-h">
            <h2 id="ckpt-h">{ format!("Checkpoint directory ckpt/ ({} files)", files.len()) }</h2>
            if let Some(ns) = on_disk { <p class="hint">{ format!("Copied, write by write, to the bridge's checkpoint folder {ns}/ckpt on disk.") }</p> }
            if files.is_empty() { <p class="hint" data-testid="no-checkpoint">{ "empty — getOrCreate will call creatingFunc" }</p> }
            <ul class="files" data-testid="checkpoint-files">
                { for files.iter().rev().map(|f| {
                    let (st, name) = (store.clone(), f.clone());
                    let onclick = Callback::from(move |_: MouseEvent| st.dispatch(Msg::OpenFile(Some(name.clone()))));
                    let when = parse_name(f).map(|(t, bk)| format!("{}{}", clock(t), if bk { " backup" } else { "" })).unwrap_or_default();
                    html! { <li><button class={classes!("link", (open.as_ref() == Some(f)).then_some("sel"))} {onclick}>{ f }</button><small>{ format!(" {when}") }</small></li> }
                }) }
            </ul>
            if let (Some(f), Some(c)) = (&open, &content) {
                <div class="file" data-testid="checkpoint-content">
                    <h3>{ f }<button class="link" onclick={let st = store.clone(); Callback::from(move |_: MouseEvent| st.dispatch(Msg::OpenFile(None)))}>{ " close" }</button></h3>
                    <p class="note">{ "Spark writes the same as a Java-serialized org.apache.spark.streaming.Checkpoint (compressed): currentOffsets and the commitQueue live in the DirectKafkaInputDStream, batchForTime in its checkpoint data. Offset Lab writes it as JSON." }</p>
                    <pre>{ c }</pre>
                </div>
            }
        </section>
    }
}
