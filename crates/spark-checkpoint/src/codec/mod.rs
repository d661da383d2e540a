//! The compression streams Spark writes (`spark.io.compression.codec`), detected by magic bytes.

mod lz4_block;
mod lzf;
mod snappy;
mod zstd;

use crate::{Limits, Result};

/// What the framing looked like; shown to users so they can see a file is whole.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Framing {
    /// `lz4`, `zstd`, `snappy`, `lzf` or `none` (raw Java serialization).
    pub codec: &'static str,
    pub compressed_bytes: usize,
    pub decompressed_bytes: usize,
    /// lz4 blocks, zstd blocks, snappy chunks or lzf chunks holding data.
    pub chunks: usize,
    /// Whether the stream's end marker was present (lz4 end block, zstd last block).
    /// snappy and lzf have none, so this is `None` for them.
    pub end_marker: Option<bool>,
    /// Things Spark's own reader tolerates but that suggest damage.
    pub warnings: Vec<String>,
}

/// Java serialization's stream magic and version 5.
pub const JAVA_MAGIC: [u8; 4] = [0xAC, 0xED, 0x00, 0x05];

/// Picks the codec from the first bytes (nothing inside a checkpoint names it) and decompresses.
pub fn decompress(file: &[u8], limits: &Limits) -> Result<(Vec<u8>, Framing)> {
    if file.starts_with(lz4_block::MAGIC) {
        lz4_block::decode(file, limits)
    } else if file.starts_with(&zstd::MAGIC) {
        zstd::decode(file, limits)
    } else if file.starts_with(&snappy::MAGIC) {
        snappy::decode(file, limits)
    } else if file.starts_with(lzf::MAGIC) {
        lzf::decode(file, limits)
    } else if file.starts_with(&JAVA_MAGIC) {
        let framing = Framing {
            codec: "none",
            compressed_bytes: file.len(),
            decompressed_bytes: file.len(),
            chunks: 1,
            end_marker: None,
            warnings: vec![],
        };
        Ok((file.to_vec(), framing))
    } else {
        let head: Vec<String> = file.iter().take(8).map(|b| format!("{b:02x}")).collect();
        Err(crate::Error::codec(
            "codec detection",
            0,
            format!(
                "unknown format (first bytes {}): not lz4 (\"LZ4Block\"), zstd (28 b5 2f fd), snappy (82 SNAPPY 00), lzf (\"ZV\") or Java serialization (ac ed 00 05)",
                if head.is_empty() { "none: empty file".to_string() } else { head.join(" ") }
            ),
        ))
    }
}

/// Refuses to grow `out` past the decompression cap; called before each block's allocation.
fn reserve_checked(out: &[u8], more: usize, limits: &Limits, codec: &'static str, at: usize) -> Result<()> {
    match out.len().checked_add(more) {
        Some(total) if total <= limits.max_decompressed => Ok(()),
        _ => Err(crate::Error::limit(Some(at), format!("{codec}: decompressed size would exceed {} bytes", limits.max_decompressed))),
    }
}
