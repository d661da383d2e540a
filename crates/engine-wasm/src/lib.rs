//! The scenario runner behind a plain C ABI (no wasm-bindgen), so Node can load the `.wasm` and the
//! test suite can compare its trace with the native one byte for byte.
//!
//! Protocol: `alloc(n)` a buffer, copy the scenario's TOML in, call `run_scenario(ptr, n)`; it
//! returns `(ptr << 32) | len` of a UTF-8 result (the JSON-lines trace, or `error: …`), which the
//! caller frees with `dealloc`.

/// Runs a scenario (TOML text) against the in-memory Kafka model; the trace, or `error: …`.
pub fn run_to_string(toml: &str) -> String {
    match scenario::format::parse("scenario.toml", toml) {
        Ok(s) => match scenario::run_in_memory(&s) {
            Ok(run) => scenario::trace_jsonl(&run),
            Err(e) => format!("error: {e}"),
        },
        Err(e) => format!("error: {e}"),
    }
}

#[no_mangle]
pub extern "C" fn alloc(len: usize) -> *mut u8 {
    let mut v = Vec::<u8>::with_capacity(len);
    let p = v.as_mut_ptr();
    std::mem::forget(v);
    p
}

/// # Safety
/// `ptr` and `len` must come from `alloc` (or a result of `run_scenario`) and not be freed twice.
#[no_mangle]
pub unsafe extern "C" fn dealloc(ptr: *mut u8, len: usize) {
    drop(Vec::from_raw_parts(ptr, 0, len));
}

/// # Safety
/// `ptr` must point to `len` initialised bytes obtained from `alloc`.
#[no_mangle]
pub unsafe extern "C" fn run_scenario(ptr: *const u8, len: usize) -> u64 {
    let input = std::slice::from_raw_parts(ptr, len);
    let out = match std::str::from_utf8(input) {
        Ok(text) => run_to_string(text),
        Err(e) => format!("error: scenario is not UTF-8: {e}"),
    };
    let mut bytes = out.into_bytes().into_boxed_slice();
    let (p, n) = (bytes.as_mut_ptr(), bytes.len());
    std::mem::forget(bytes);
    ((p as u64) << 32) | n as u64
}

/// The records benchmark workload (`scenario::bench::records_batch`); Node times it.
#[no_mangle]
pub extern "C" fn bench_records(partitions: i32, records: u32) -> i64 {
    scenario::bench::records_batch(partitions, records as usize)
}
