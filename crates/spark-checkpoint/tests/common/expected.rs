//! Compares an [`Inspection`] with one entry of an `expected.json` (schema in docs/spark-checkpoint.md).

use serde_json::{json, Value as Json};
use spark_checkpoint::Inspection;

use super::json_eq;

/// Every key present in `expected` is compared; returns one line per mismatch.
pub fn compare(ins: &Inspection, expected: &Json) -> Vec<String> {
    let mut bad = Vec::new();
    let cp = &ins.checkpoint;
    let mut check = |key: &str, actual: Json| {
        if let Some(want) = expected.get(key) {
            if !json_eq(want, &actual) {
                bad.push(format!("{key}: expected {want}, decoded {actual}"));
            }
        }
    };
    check("codec", json!(ins.framing.codec));
    check("checkpointTime", json!(cp.checkpoint_time));
    check("master", json!(cp.master));
    check("appName", json!(cp.app_name));
    check("checkpointDir", json!(cp.checkpoint_dir));
    check("checkpointDuration", json!(cp.checkpoint_duration));
    check("batchDuration", json!(cp.batch_duration));
    check("pendingTimes", json!(cp.pending_times));
    check("jars", json!(cp.jars));
    let mut rdd: Vec<_> = cp.streams.iter().flat_map(|s| s.rdd_checkpoints.clone()).collect();
    rdd.sort_by_key(|r| r.time);
    check("rddCheckpoints", json!(rdd));
    if let Some(Json::Object(conf)) = expected.get("sparkConf") {
        for (k, want) in conf {
            let got = cp.spark_conf.iter().find(|(key, _)| key == k).map(|(_, v)| json!(v));
            if got.as_ref() != Some(want) {
                bad.push(format!("sparkConf[{k}]: expected {want}, decoded {got:?}"));
            }
        }
    }
    if let Some(Json::Array(kafka)) = expected.get("kafka") {
        let mut streams: Vec<_> = ins.kafka_streams().collect();
        streams.sort_by_key(|k| k.id);
        if streams.len() != kafka.len() {
            bad.push(format!("kafka: expected {} direct streams, decoded {}", kafka.len(), streams.len()));
        }
        for (i, (want, got)) in kafka.iter().zip(streams).enumerate() {
            let got_json = serde_json::to_value(got).unwrap_or(Json::Null);
            let strategy = got.consumer_strategy.as_ref();
            let derived = [
                ("consumerStrategy", json!(strategy.map(|s| s.kind.clone()))),
                ("topics", json!(strategy.and_then(|s| s.topics.clone()))),
                ("pattern", json!(strategy.and_then(|s| s.pattern.clone()))),
                ("topicPartitions", json!(strategy.and_then(|s| s.topic_partitions.clone()))),
                ("kafkaParams", json!(strategy.map(|s| s.kafka_params.clone()))),
            ];
            for (key, want_v) in want.as_object().into_iter().flatten() {
                let actual = derived
                    .iter()
                    .find(|(k, _)| k == key)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_else(|| got_json.get(key).cloned().unwrap_or(Json::Null));
                let ok = if key == "currentOffsets" {
                    // the harness wrote these fixtures' expectations sorted; the decoder keeps the Map's own order
                    let sorted = |v: &Json| {
                        let mut xs = v.as_array().cloned().unwrap_or_default();
                        xs.sort_by_key(|x| x.to_string());
                        xs
                    };
                    sorted(want_v) == sorted(&actual)
                } else if key == "kafkaParams" || key == "executorKafkaParams" {
                    // A subset check: Spark adds its own params the harness need not list.
                    want_v.as_object().is_some_and(|w| w.iter().all(|(k, v)| actual.get(k).is_some_and(|a| json_eq(v, a))))
                } else {
                    json_eq(want_v, &actual)
                };
                if !ok {
                    bad.push(format!("kafka[{i}].{key}: expected {want_v}, decoded {actual}"));
                }
            }
        }
    }
    bad
}

/// Checks a fixture folder (`checkpoint-*` files + `expected.json`); returns one line per mismatch.
pub fn check_folder(dir: &std::path::Path) -> Vec<String> {
    let expected = super::read_json(&dir.join("expected.json"));
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("fixture folder") {
        let entry = entry.expect("dir entry");
        let name = entry.file_name().to_string_lossy().into_owned();
        files.push((name, std::fs::read(entry.path()).expect("fixture file")));
    }
    let limits = spark_checkpoint::Limits::default();
    let entries = spark_checkpoint::inspect_directory(files.iter().map(|(n, b)| (n.as_str(), b.as_slice())), &limits);
    let mut bad = Vec::new();
    let wanted = expected.get("files").and_then(Json::as_array).cloned().unwrap_or_default();
    if wanted.is_empty() {
        bad.push(format!("{}: expected.json lists no files", dir.display()));
    }
    for want in &wanted {
        let name = want.get("file").and_then(Json::as_str).unwrap_or("?");
        match entries.iter().find(|e| e.name == name) {
            None => bad.push(format!("{name}: listed in expected.json but not a checkpoint file in the folder")),
            Some(e) if files.iter().any(|(n, _)| *n == format!(".{name}.crc")) && e.crc_sidecar != Some(true) => {
                bad.push(format!("{name}: its .crc sidecar does not verify ({:?})", e.error));
            }
            Some(e) => match &e.result {
                Err(err) => bad.push(format!("{name}: failed to decode: {err}")),
                Ok(ins) => bad.extend(compare(ins, want).into_iter().map(|m| format!("{name}: {m}"))),
            },
        }
    }
    if let Some(pick) = expected.get("restartPick").and_then(Json::as_str) {
        let got = entries.iter().find(|e| e.restart_pick).map(|e| e.name.as_str());
        if got != Some(pick) {
            bad.push(format!("restartPick: expected {pick}, decoded {got:?}"));
        }
    }
    for name in expected.get("unreadable").and_then(Json::as_array).into_iter().flatten() {
        let name = name.as_str().unwrap_or("?");
        if !entries.iter().any(|e| e.name == name && e.result.is_err()) {
            bad.push(format!("{name}: expected to be unreadable"));
        }
    }
    bad
}
