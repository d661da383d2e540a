//! lz4-java `LZ4BlockOutputStream` framing (Spark's default codec): 21-byte headers, XXH32 & 0x0FFFFFFF.

use super::{reserve_checked, Framing};
use crate::{Error, Limits, Result};

pub const MAGIC: &[u8; 8] = b"LZ4Block";
const HEADER_LEN: usize = 21;
const METHOD_RAW: u8 = 0x10;
const METHOD_LZ4: u8 = 0x20;
/// lz4-java's `DEFAULT_SEED` for the block checksum, the one Spark's codec passes.
const CHECKSUM_SEED: u32 = 0x9747_B28C;
const NAME: &str = "lz4";

fn le_i32(b: &[u8]) -> i32 {
    i32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

pub fn decode(file: &[u8], limits: &Limits) -> Result<(Vec<u8>, Framing)> {
    let mut out = Vec::new();
    let mut pos = 0;
    let mut chunks = 0;
    let mut ended = false;
    let mut warnings = Vec::new();
    while pos < file.len() {
        let left = file.len() - pos;
        if left < HEADER_LEN {
            // lz4-java's reader (stopOnEmptyBlock=false) treats EOF inside a header as a clean end,
            // so Spark would still read this file if the Java layer completes.
            warnings.push(format!(
                "lz4 block header at byte {pos} has {left} of {HEADER_LEN} bytes: the file was cut (Spark's reader tolerates this)"
            ));
            break;
        }
        let h = &file[pos..pos + HEADER_LEN];
        if &h[..8] != MAGIC {
            return Err(Error::codec(NAME, pos, "block header does not start with \"LZ4Block\""));
        }
        let token = h[8];
        let (method, level) = (token & 0xF0, (token & 0x0F) as u32);
        let clen = le_i32(&h[9..]);
        let dlen = le_i32(&h[13..]);
        let check = le_i32(&h[17..]) as u32;
        let max_block = 1i64 << (10 + level);
        if method != METHOD_RAW && method != METHOD_LZ4 {
            return Err(Error::codec(NAME, pos, format!("unknown block method in token 0x{token:02x}")));
        }
        if dlen < 0 || dlen as i64 > max_block || clen < 0 || (dlen == 0) != (clen == 0) {
            return Err(Error::codec(
                NAME,
                pos,
                format!("bad block lengths: compressed {clen}, decompressed {dlen}, block size {max_block}"),
            ));
        }
        if method == METHOD_RAW && clen != dlen {
            return Err(Error::codec(NAME, pos, format!("raw block with compressed {clen} != decompressed {dlen}")));
        }
        pos += HEADER_LEN;
        if dlen == 0 {
            if check != 0 {
                return Err(Error::codec(NAME, pos - HEADER_LEN, "end block with a non-zero checksum"));
            }
            // A concatenated stream may follow; lz4-java keeps reading.
            ended = true;
            continue;
        }
        ended = false;
        let (clen, dlen) = (clen as usize, dlen as usize);
        if file.len() - pos < clen {
            return Err(Error::codec(NAME, pos, format!("block body needs {clen} bytes, {} left: the file was cut", file.len() - pos)));
        }
        let body = &file[pos..pos + clen];
        reserve_checked(&out, dlen, limits, NAME, pos)?;
        let start = out.len();
        out.resize(start + dlen, 0);
        if method == METHOD_RAW {
            out[start..].copy_from_slice(body);
        } else {
            let n = lz4_flex::block::decompress_into(body, &mut out[start..])
                .map_err(|e| Error::codec(NAME, pos, format!("corrupt lz4 block: {e}")))?;
            if n != dlen {
                return Err(Error::codec(NAME, pos, format!("lz4 block decompressed to {n} bytes, header says {dlen}")));
            }
        }
        let actual = xxhash_rust::xxh32::xxh32(&out[start..], CHECKSUM_SEED) & 0x0FFF_FFFF;
        if actual != check {
            return Err(Error::codec(NAME, pos - HEADER_LEN, format!("block checksum 0x{actual:08x} != stored 0x{check:08x}")));
        }
        chunks += 1;
        pos += clen;
    }
    if !ended && warnings.is_empty() {
        warnings.push(format!("no lz4 end block after byte {pos}: the file was cut at a block boundary (Spark's reader tolerates this)"));
    }
    let framing =
        Framing { codec: NAME, compressed_bytes: file.len(), decompressed_bytes: out.len(), chunks, end_marker: Some(ended), warnings };
    Ok((out, framing))
}
