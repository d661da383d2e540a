//! The reference harness: real Spark runs the shipped scenarios and its trace is diffed with the engine's.
//! (Owned by the reference-harness work; this is the placeholder the lead wired in.)

use crate::Ctx;

/// `cargo xtask reference <args>`.
pub fn cli(_ctx: &Ctx, _args: &[String]) -> Result<(), String> {
    Err("cargo xtask reference: not implemented yet".into())
}

/// The real-Spark part of `cargo xtask test`; returns (passed, failed) counts.
pub fn test_stage(_ctx: &Ctx) -> Result<(u32, u32), String> {
    Err("reference test stage not implemented yet".into())
}
