//! A tiny C-ABI for hosts without wasm-bindgen (feature `wasm-abi`): also how the WASM size is measured.
//!
//! Host: `p = sc_alloc(n)`, copy the file to `p`, `ok = sc_inspect_json(p, n)`, read `sc_out_len()` bytes of
//! JSON at `sc_out_ptr()`, `sc_dealloc(p, n)`.

use std::cell::RefCell;

use crate::{inspect, Limits};

thread_local! {
    static OUT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

#[no_mangle]
pub extern "C" fn sc_alloc(len: usize) -> *mut u8 {
    let mut v = Vec::<u8>::with_capacity(len);
    let p = v.as_mut_ptr();
    std::mem::forget(v);
    p
}

/// # Safety
/// `p` and `len` must come from one `sc_alloc(len)` call.
#[no_mangle]
pub unsafe extern "C" fn sc_dealloc(p: *mut u8, len: usize) {
    drop(Vec::from_raw_parts(p, 0, len));
}

/// Returns 1 and the inspection as JSON, or 0 and `{"error": "..."}`.
///
/// # Safety
/// `p` must point to `len` initialised bytes.
#[no_mangle]
pub unsafe extern "C" fn sc_inspect_json(p: *const u8, len: usize) -> u32 {
    let bytes = std::slice::from_raw_parts(p, len);
    let (ok, json) = match inspect(None, bytes, &Limits::default()) {
        Ok(ins) => (1, serde_json::to_vec(&ins).unwrap_or_default()),
        Err(e) => (0, serde_json::to_vec(&serde_json::json!({ "error": e.to_string() })).unwrap_or_default()),
    };
    OUT.with(|o| *o.borrow_mut() = json);
    ok
}

#[no_mangle]
pub extern "C" fn sc_out_ptr() -> *const u8 {
    OUT.with(|o| o.borrow().as_ptr())
}

#[no_mangle]
pub extern "C" fn sc_out_len() -> usize {
    OUT.with(|o| o.borrow().len())
}
