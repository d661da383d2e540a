//! The `org.apache.spark.streaming.Checkpoint` object: header fields, graph timings, and what `validate()` needs.

use serde::Serialize;

use super::collections::seq;
use super::dstream::{streams, DStreamInfo};
use super::view::View;
use crate::jser::{Content, Value};
use crate::{Error, Result};

pub const CHECKPOINT: &str = "org.apache.spark.streaming.Checkpoint";

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Checkpoint {
    pub checkpoint_time: i64,
    pub master: String,
    /// `framework`: the application name.
    pub app_name: String,
    pub checkpoint_dir: Option<String>,
    /// The metadata checkpoint interval (`ssc.checkpointDuration`).
    pub checkpoint_duration: Option<i64>,
    pub batch_duration: Option<i64>,
    /// Batches submitted and not completed when this was written; they re-run on restart.
    pub pending_times: Vec<i64>,
    pub jars: Vec<String>,
    /// `SparkConf.getAll` in stream order.
    pub spark_conf: Vec<(String, String)>,
    pub zero_time: Option<i64>,
    pub start_time: Option<i64>,
    pub remember_duration: Option<i64>,
    pub num_receivers: Option<i64>,
    pub streams: Vec<DStreamInfo>,
}

/// Reads the single top-level Checkpoint the way `Checkpoint.deserialize` + `validate()` accept it.
pub fn checkpoint(view: &View) -> Result<Checkpoint> {
    let top = match view.s.contents.as_slice() {
        [Content::Value(v)] => *v,
        [] => return Err(Error::spark("the stream holds no object")),
        [Content::Block(_)] => return Err(Error::spark("the stream holds block data, not an object")),
        more => return Err(Error::spark(format!("expected one top-level object, found {} items", more.len()))),
    };
    let class = view.class(&top).unwrap_or("null");
    if class != CHECKPOINT {
        return Err(Error::spark(format!("the top-level object is {class}, not {CHECKPOINT}")));
    }
    // validate(): master, framework, graph and checkpointTime must be non-null.
    let required = |name: &str| -> Result<Value> {
        match view.field(&top, name) {
            Some(Value::Null) | None => Err(Error::spark(format!("Checkpoint.{name} is null or missing"))),
            Some(v) => Ok(v),
        }
    };
    let time = required("checkpointTime")?;
    let checkpoint_time = view.millis(&time).ok_or_else(|| Error::spark("Checkpoint.checkpointTime is not a Time"))?;
    let master = view.string(&required("master")?).ok_or_else(|| Error::spark("Checkpoint.master is not a string"))?;
    let app_name = view.string(&required("framework")?).ok_or_else(|| Error::spark("Checkpoint.framework is not a string"))?;
    let graph = required("graph")?;
    if !view.is(&graph, "org.apache.spark.streaming.DStreamGraph") {
        return Err(Error::spark("Checkpoint.graph is not a DStreamGraph"));
    }
    let duration = |on: &Value, name: &str| view.field(on, name).and_then(|d| view.millis(&d));
    let list = |name: &str| view.field(&top, name).and_then(|l| seq(view, &l)).unwrap_or_default();
    let mut pending_times: Vec<i64> = list("pendingTimes").iter().filter_map(|t| view.millis(t)).collect();
    pending_times.sort_unstable();
    let spark_conf = list("sparkConfPairs")
        .iter()
        .filter_map(|p| match view.tuple(p)?.as_slice() {
            [k, v] => Some((view.string(k)?, view.string(v)?)),
            _ => None,
        })
        .collect();
    Ok(Checkpoint {
        checkpoint_time,
        master,
        app_name,
        checkpoint_dir: view.field_string(&top, "checkpointDir"),
        checkpoint_duration: duration(&top, "checkpointDuration"),
        batch_duration: duration(&graph, "batchDuration"),
        pending_times,
        jars: list("jars").iter().filter_map(|j| view.string(j)).collect(),
        spark_conf,
        zero_time: duration(&graph, "zeroTime"),
        start_time: duration(&graph, "startTime"),
        remember_duration: duration(&graph, "rememberDuration"),
        num_receivers: view.field(&graph, "numReceivers").and_then(|n| view.long(&n)),
        streams: streams(view, &graph),
    })
}
