//! Component tests in headless Chromium (wasm-bindgen-test via chromedriver): mount the app, click,
//! let Yew render, assert exact text.
#![cfg(target_arch = "wasm32")]

use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn doc() -> web_sys::Document {
    web_sys::window().unwrap().document().unwrap()
}

/// Mounts a fresh app into its own div and returns the div.
fn mount() -> web_sys::Element {
    let div = doc().create_element("div").unwrap();
    doc().body().unwrap().append_child(&div).unwrap();
    yew::Renderer::<web::App>::with_root(div.clone()).render();
    div
}

fn find(root: &web_sys::Element, test_id: &str) -> web_sys::HtmlElement {
    root.query_selector(&format!("[data-testid={test_id}]"))
        .unwrap()
        .unwrap_or_else(|| panic!("no [data-testid={test_id}]"))
        .dyn_into()
        .unwrap()
}

async fn render() {
    yew::platform::time::sleep(std::time::Duration::from_millis(30)).await;
}

#[wasm_bindgen_test]
async fn starts_offline_labelled_as_a_simulation_with_an_empty_topic() {
    let root = mount();
    render().await;
    let sim = root.query_selector(".badge.sim").unwrap().unwrap().text_content().unwrap();
    assert_eq!(sim, "SIMULATION · in-memory Kafka model");
    assert_eq!(find(&root, "clock").inner_text(), "12:00:00");
    assert_eq!(find(&root, "running").inner_text(), "■ job not running");
    assert_eq!(find(&root, "no-checkpoint").inner_text(), "empty — getOrCreate will call creatingFunc");
}

#[wasm_bindgen_test]
async fn start_produce_and_one_batch_move_the_markers() {
    let root = mount();
    render().await;
    find(&root, "start").click();
    render().await;
    assert_eq!(find(&root, "running").inner_text(), "● job running");
    find(&root, "quick-p0").click();
    render().await;
    find(&root, "step").click();
    render().await;
    let row: Vec<String> = {
        let cells = find(&root, "row-words-0").query_selector_all("td").unwrap();
        (0..cells.length()).map(|i| cells.item(i).unwrap().text_content().unwrap()).collect()
    };
    // log start, log end, currentOffsets, checkpoint, committed
    assert_eq!(&row[..5], &["0", "2", "2", "2", "–"]);
    assert!(find(&root, "state").inner_text().contains("a=1"), "{}", find(&root, "state").inner_text());
}

#[wasm_bindgen_test]
async fn the_rewind_dialog_shows_the_tools_refusal_while_running() {
    let root = mount();
    render().await;
    find(&root, "start").click();
    render().await;
    find(&root, "rewind").click();
    render().await;
    assert_eq!(
        find(&root, "reset-refused").inner_text(),
        "✖ Error: Assignments can only be reset if the group 'g' is inactive, but the current state is Stable."
    );
}

/// A real Spark checkpoint (Spark 3.5.1, lz4, Subscribe) handed to the inspector's file input.
const FIXTURE: &[u8] = include_bytes!("../../spark-checkpoint/fixtures/spark/spark351-lz4-subscribe/checkpoint-1795621810000");
const FIXTURE_NAME: &str = "checkpoint-1795621810000";

#[wasm_bindgen_test]
async fn the_inspector_decodes_a_real_checkpoint_and_predicts_against_the_pages_kafka() {
    let root = mount();
    render().await;
    find(&root, "inspector-open").click();
    render().await;
    let input: web_sys::HtmlInputElement = find(&root, "inspector-files").dyn_into().unwrap();
    let bytes = js_sys::Uint8Array::from(FIXTURE);
    let file = web_sys::File::new_with_u8_array_sequence(&js_sys::Array::of1(&bytes), FIXTURE_NAME).unwrap();
    let dt = web_sys::DataTransfer::new().unwrap();
    dt.items().add_with_file(&file).unwrap();
    input.set_files(dt.files().as_ref());
    input.dispatch_event(&web_sys::Event::new("change").unwrap()).unwrap();
    // Reading the file is asynchronous (Blob.arrayBuffer): wait for the summary.
    for _ in 0..100 {
        if root.query_selector("[data-testid=inspector-summary]").unwrap().is_some() {
            break;
        }
        render().await;
    }
    // What the decoder itself reads from the same bytes: the page must show exactly these numbers.
    let ins = spark_checkpoint::inspect(Some(FIXTURE_NAME), FIXTURE, &spark_checkpoint::Limits::default()).unwrap();
    let k = ins.kafka_streams().next().unwrap();
    assert_eq!(
        find(&root, "inspector-time").inner_text(),
        format!("{} ({})", ins.checkpoint.checkpoint_time, spark_checkpoint::text::utc(ins.checkpoint.checkpoint_time))
    );
    for o in &k.current_offsets {
        let row = find(&root, &format!("inspector-offset-{}-{}", o.topic, o.partition));
        let cells = row.query_selector_all("td").unwrap();
        assert_eq!(cells.item(0).unwrap().text_content().unwrap(), o.offset.to_string());
        // The page's in-memory Kafka has no such topic.
        assert_eq!(cells.item(1).unwrap().text_content().unwrap(), "no topic");
    }
    assert_eq!(
        find(&root, "inspector-file-0").query_selector("td:nth-child(3)").unwrap().unwrap().text_content().unwrap(),
        "⇐ a restart reads this one"
    );
    let first = &k.current_offsets.iter().min_by_key(|o| (o.topic.clone(), o.partition)).unwrap();
    assert_eq!(
        find(&root, "prediction-headline").inner_text(),
        format!(
            "✖ the restart crashes: java.lang.IllegalStateException: No current assignment for partition {}-{}",
            first.topic, first.partition
        )
    );
    assert!(root
        .query_selector("[data-testid=inspector-tree]")
        .unwrap()
        .unwrap()
        .text_content()
        .unwrap()
        .contains("org.apache.spark.streaming.Checkpoint"));
}
