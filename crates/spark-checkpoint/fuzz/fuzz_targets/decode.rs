//! Fuzz target: any bytes through codec detection, Java serialization, the Spark view, the tree and the summary.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spark_checkpoint::{inspect, jser, Limits};

fuzz_target!(|data: &[u8]| {
    // Small caps so a bomb or a deep graph costs milliseconds, not the fuzzer's memory limit.
    let limits = Limits { max_decompressed: 4 << 20, max_tree_nodes: 20_000, ..Limits::default() };
    if let Ok(ins) = inspect(Some("checkpoint-1000"), data, &limits) {
        let _ = ins.raw_tree(&limits);
        let _ = spark_checkpoint::text::summary(&ins);
        let _ = serde_json::to_string(&ins);
    }
    // The generic parser alone, also for streams that are not checkpoints.
    if let Ok(stream) = jser::parse(data, &limits) {
        let _ = jser::tree::render(&stream, &limits);
    }
});
