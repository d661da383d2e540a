//! Settings for the next start's creatingFunc: batch interval, maxRatePerPartition, Subscribe/Assign,
//! auto.offset.reset. A recovered job ignores them, as Spark does.

use super::use_store;
use crate::session::Settings;
use crate::state::Msg;
use yew::prelude::*;

#[component]
pub fn SettingsDialog() -> Html {
    let store = use_store();
    let draft = use_state(|| store.settings.clone());
    let edit = |f: fn(&mut Settings, String)| {
        let d = draft.clone();
        Callback::from(move |e: Event| {
            // Inputs and selects both have `value`; read it without assuming the element type.
            let v = e.target().and_then(|t| js_sys_value(&t)).unwrap_or_default();
            let mut s = (*d).clone();
            f(&mut s, v);
            d.set(s);
        })
    };
    let save = {
        let (st, d) = (store.clone(), draft.clone());
        Callback::from(move |_: MouseEvent| st.dispatch(Msg::Settings((*d).clone())))
    };
    let close = {
        let st = store.clone();
        Callback::from(move |_: MouseEvent| st.dispatch(Msg::Dialog(None)))
    };
    html! {
        <div class="backdrop">
            <div class="dialog" role="dialog" aria-modal="true" aria-labelledby="settings-h" data-testid="settings-dialog">
                <h2 id="settings-h">{ "Job settings (used by creatingFunc at the next fresh start)" }</h2>
                <div class="form column">
                    <label>{ "Batch interval (s) " }<input type="number" min="1" value={draft.batch_secs.to_string()} onchange={edit(|s, v| s.batch_secs = v.parse().unwrap_or(5))} /></label>
                    <label>{ "spark.streaming.kafka.maxRatePerPartition (0 = no limit) " }<input type="number" min="0" value={draft.max_rate_per_partition.to_string()} onchange={edit(|s, v| s.max_rate_per_partition = v.parse().unwrap_or(0))} /></label>
                    <label>{ "ConsumerStrategies " }
                        <select onchange={edit(|s, v| s.assign = v == "Assign")}>
                            <option selected={!draft.assign}>{ "Subscribe" }</option>
                            <option selected={draft.assign}>{ "Assign" }</option>
                        </select>
                    </label>
                    <label>{ "auto.offset.reset " }
                        <select onchange={edit(|s, v| s.auto_offset_reset = v)}>
                            { for ["latest", "earliest", "none"].iter().map(|o| html! { <option selected={draft.auto_offset_reset == *o}>{ *o }</option> }) }
                        </select>
                    </label>
                </div>
                <div class="buttons">
                    <button class="primary" onclick={save}>{ "Save" }</button>
                    <button onclick={close}>{ "Cancel" }</button>
                </div>
            </div>
        </div>
    }
}

/// `event.target.value` for inputs and selects alike.
fn js_sys_value(t: &web_sys::EventTarget) -> Option<String> {
    use wasm_bindgen::JsCast;
    if let Some(i) = t.dyn_ref::<web_sys::HtmlInputElement>() {
        return Some(i.value());
    }
    t.dyn_ref::<web_sys::HtmlSelectElement>().map(|s| s.value())
}
