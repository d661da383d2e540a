//! Walks the DStream graph from `DStreamGraph`'s input and output streams through `parent`/`parents`.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::Value as Json;

use super::collections::{map, seq};
use super::kafka::{kafka_stream, KafkaStream, DIRECT_KAFKA_INPUT_DSTREAM};
use super::view::View;
use crate::jser::Value;

pub const DSTREAM: &str = "org.apache.spark.streaming.dstream.DStream";

/// A reliable RDD checkpoint a stateful stream points to: `<checkpointDir>/<uuid>/rdd-<id>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RddCheckpoint {
    pub time: i64,
    pub path: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DStreamInfo {
    /// Arena handle: stable within one file, used to link `parents`.
    pub handle: usize,
    pub class: String,
    pub parents: Vec<usize>,
    pub is_input: bool,
    pub is_output: bool,
    pub zero_time: Option<i64>,
    pub remember_duration: Option<i64>,
    pub checkpoint_duration: Option<i64>,
    /// The most-derived `mustCheckpoint` (StateDStream overrides DStream's false).
    pub must_checkpoint: Option<bool>,
    pub creation_site: Option<String>,
    /// Stateful streams: batch time → RDD checkpoint directory.
    pub rdd_checkpoints: Vec<RddCheckpoint>,
    /// `checkpointData.data` entries of other kinds (e.g. FileInputDStream's selected files), as plain JSON.
    pub other_checkpoint_data: Vec<(Option<i64>, Json)>,
    /// Present for a kafka010 DirectKafkaInputDStream.
    pub kafka: Option<KafkaStream>,
}

/// Every DStream reachable from the graph (inputs, then outputs and their parents), each once.
pub fn streams(view: &View, graph: &Value) -> Vec<DStreamInfo> {
    let inputs = view.field(graph, "inputStreams").and_then(|s| seq(view, &s)).unwrap_or_default();
    let outputs = view.field(graph, "outputStreams").and_then(|s| seq(view, &s)).unwrap_or_default();
    let handle = |v: &Value| match v {
        Value::Ref(h) => Some(*h),
        _ => None,
    };
    let input_handles: BTreeSet<usize> = inputs.iter().filter_map(handle).collect();
    let output_handles: BTreeSet<usize> = outputs.iter().filter_map(handle).collect();
    // Iterative walk (no recursion): a crafted parent chain can be as long as the file.
    let mut stack: Vec<Value> = outputs.iter().rev().chain(inputs.iter().rev()).copied().collect();
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    while let Some(v) = stack.pop() {
        let Some(h) = handle(&v) else { continue };
        if !view.extends(&v, DSTREAM) || !seen.insert(h) || out.len() >= view.limits.max_items {
            continue;
        }
        let parents = parents(view, &v);
        for p in parents.iter().rev() {
            stack.push(*p);
        }
        let mut info = describe(view, &v, h);
        info.parents = parents.iter().filter_map(handle).collect();
        info.is_input = input_handles.contains(&h);
        info.is_output = output_handles.contains(&h);
        out.push(info);
    }
    out
}

fn parents(view: &View, v: &Value) -> Vec<Value> {
    let mut ps = Vec::new();
    if let Some(p) = view.field(v, "parent") {
        ps.push(p);
    }
    if let Some(list) = view.field(v, "parents").and_then(|p| seq(view, &p)) {
        ps.extend(list);
    }
    ps.retain(|p| view.extends(p, DSTREAM));
    ps
}

fn describe(view: &View, v: &Value, handle: usize) -> DStreamInfo {
    let class = view.class(v).unwrap_or("?").to_string();
    let duration = |name: &str| view.field(v, name).and_then(|d| view.millis(&d));
    let data = view.field(v, "checkpointData").and_then(|cd| view.field(&cd, "data")).and_then(|d| map(view, &d)).unwrap_or_default();
    let mut rdd_checkpoints = Vec::new();
    let mut other = Vec::new();
    let kafka = (class == DIRECT_KAFKA_INPUT_DSTREAM).then(|| kafka_stream(view, v, &data));
    if kafka.is_none() {
        for (t, x) in &data {
            match (view.millis(t), view.string(x)) {
                (Some(time), Some(path)) => rdd_checkpoints.push(RddCheckpoint { time, path }),
                (time, _) => other.push((time, view.plain(x, 0))),
            }
        }
    }
    rdd_checkpoints.sort_by_key(|r| r.time);
    DStreamInfo {
        handle,
        class,
        parents: vec![],
        is_input: false,
        is_output: false,
        zero_time: duration("zeroTime"),
        remember_duration: duration("rememberDuration"),
        checkpoint_duration: duration("checkpointDuration"),
        must_checkpoint: view.field(v, "mustCheckpoint").and_then(|b| view.boolean(&b)),
        creation_site: view.field(v, "creationSite").and_then(|c| view.field_string(&c, "shortForm")),
        rdd_checkpoints,
        other_checkpoint_data: other,
        kafka,
    }
}
