//! zstd frames as zstd-jni writes them (RFC 8878); headers walked here for precise truncation errors.

use std::io::Read;

use super::{reserve_checked, Framing};
use crate::{Error, Limits, Result};

pub const MAGIC: [u8; 4] = [0x28, 0xB5, 0x2F, 0xFD];
const NAME: &str = "zstd";
/// RFC 8878 §3.1.1.2.3: no block may decompress to more than 128 KiB.
const MAX_BLOCK: usize = 128 << 10;
/// The final empty raw block zstd-jni's `close()` writes: Last_Block=1, Raw, size 0.
const EMPTY_LAST_BLOCK: [u8; 3] = [0x01, 0x00, 0x00];

/// Where one frame ends and whether its last block was present.
struct FrameWalk {
    end: usize,
    blocks: usize,
    /// `Some(n)`: the frame stops at end of file before its last block, with `n` bytes of a cut header.
    cut_header: Option<usize>,
}

/// Walks frame header and block headers from `start` (at a zstd magic) without decoding.
fn walk_frame(file: &[u8], start: usize) -> Result<FrameWalk> {
    let mut pos = start + 4;
    let fhd = *file.get(pos).ok_or_else(|| Error::codec(NAME, pos, "frame header descriptor missing: the file was cut"))?;
    pos += 1;
    if fhd & 0x08 != 0 {
        return Err(Error::codec(NAME, pos - 1, format!("reserved bit set in frame header descriptor 0x{fhd:02x}")));
    }
    let single_segment = fhd & 0x20 != 0;
    let has_checksum = fhd & 0x04 != 0;
    let dict_len = [0usize, 1, 2, 4][(fhd & 0x03) as usize];
    let fcs_len = match fhd >> 6 {
        0 => usize::from(single_segment),
        1 => 2,
        2 => 4,
        _ => 8,
    };
    let header_rest = usize::from(!single_segment) + dict_len + fcs_len;
    if file.len() - pos < header_rest {
        return Err(Error::codec(NAME, pos, format!("frame header needs {header_rest} more bytes: the file was cut")));
    }
    pos += header_rest;
    let mut blocks = 0;
    loop {
        let left = file.len() - pos;
        if left < 3 {
            // zstd-jni's reader returns what it has when only the final empty block is missing.
            return Ok(FrameWalk { end: file.len(), blocks, cut_header: Some(left) });
        }
        let h = u32::from(file[pos]) | u32::from(file[pos + 1]) << 8 | u32::from(file[pos + 2]) << 16;
        let last = h & 1 == 1;
        let size = (h >> 3) as usize;
        let body = match (h >> 1) & 3 {
            0 | 2 => size,
            1 => 1,
            _ => return Err(Error::codec(NAME, pos, "reserved block type 3")),
        };
        if size > MAX_BLOCK {
            return Err(Error::codec(NAME, pos, format!("block size {size} exceeds 128 KiB")));
        }
        if file.len() - pos - 3 < body {
            return Err(Error::codec(
                NAME,
                pos,
                format!("block needs {body} bytes after its header, {} left: the file was cut", file.len() - pos - 3),
            ));
        }
        pos += 3 + body;
        if size > 0 || (h >> 1) & 3 == 1 {
            blocks += 1;
        }
        if last {
            break;
        }
    }
    if has_checksum {
        if file.len() - pos < 4 {
            return Err(Error::codec(NAME, pos, "content checksum needs 4 bytes: the file was cut"));
        }
        pos += 4;
    }
    Ok(FrameWalk { end: pos, blocks, cut_header: None })
}

fn decode_frame(frame: &[u8], out: &mut Vec<u8>, limits: &Limits, at: usize) -> Result<()> {
    let mut input = frame;
    let decoder =
        ruzstd::decoding::StreamingDecoder::new(&mut input).map_err(|e| Error::codec(NAME, at, format!("bad frame header: {e}")))?;
    let room = limits.max_decompressed.saturating_sub(out.len());
    let before = out.len();
    // One byte more than allowed tells "at the cap" from "over it".
    decoder.take(room as u64 + 1).read_to_end(out).map_err(|e| Error::codec(NAME, at, format!("corrupt frame: {e}")))?;
    reserve_checked(&out[..before], out.len() - before, limits, NAME, at)
}

pub fn decode(file: &[u8], limits: &Limits) -> Result<(Vec<u8>, Framing)> {
    let mut out = Vec::new();
    let mut pos = 0;
    let mut chunks = 0;
    let mut end_marker = true;
    let mut warnings = Vec::new();
    while pos < file.len() {
        if file.len() - pos < 4 {
            return Err(Error::codec(NAME, pos, "trailing bytes too short for a frame magic"));
        }
        let magic = u32::from_le_bytes([file[pos], file[pos + 1], file[pos + 2], file[pos + 3]]);
        if magic & 0xFFFF_FFF0 == 0x184D_2A50 {
            // Skippable frame: zstd-jni's reader skips it, so do we.
            let len = file.get(pos + 4..pos + 8).ok_or_else(|| Error::codec(NAME, pos, "skippable frame cut"))?;
            let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize;
            if file.len() - pos - 8 < len {
                return Err(Error::codec(NAME, pos, "skippable frame longer than the file"));
            }
            pos += 8 + len;
            continue;
        }
        if file[pos..pos + 4] != MAGIC {
            return Err(Error::codec(NAME, pos, "expected a zstd frame magic (28 b5 2f fd)"));
        }
        let walk = walk_frame(file, pos)?;
        chunks += walk.blocks;
        if let Some(cut) = walk.cut_header {
            end_marker = false;
            warnings.push(format!(
                "zstd frame at byte {pos} ends at byte {} without its last block: the file was cut (Spark's reader tolerates this)",
                file.len()
            ));
            // Drop the cut block header, then close the frame the way zstd-jni's close() would have.
            let mut patched = file[pos..file.len() - cut].to_vec();
            patched.extend_from_slice(&EMPTY_LAST_BLOCK);
            decode_frame(&patched, &mut out, limits, pos)?;
        } else {
            decode_frame(&file[pos..walk.end], &mut out, limits, pos)?;
        }
        pos = walk.end;
    }
    let framing = Framing {
        codec: NAME,
        compressed_bytes: file.len(),
        decompressed_bytes: out.len(),
        chunks,
        end_marker: Some(end_marker),
        warnings,
    };
    Ok((out, framing))
}
