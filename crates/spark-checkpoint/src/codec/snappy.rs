//! snappy-java `SnappyOutputStream` framing: a 16-byte header, then BE32-length raw Snappy blocks.

use super::{reserve_checked, Framing};
use crate::{Error, Limits, Result};

pub const MAGIC: [u8; 8] = [0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0];
const HEADER_LEN: usize = 16;
const NAME: &str = "snappy";
/// snappy-java 1.1.10 refuses chunk lengths above this.
const MAX_CHUNK: usize = 512 << 20;

pub fn decode(file: &[u8], limits: &Limits) -> Result<(Vec<u8>, Framing)> {
    let mut out = Vec::new();
    let mut pos = 0;
    let mut chunks = 0;
    let mut decoder = snap::raw::Decoder::new();
    while pos < file.len() {
        if file[pos..].starts_with(&MAGIC) {
            // The stream header, at the start or where another stream was concatenated.
            if file.len() - pos < HEADER_LEN {
                return Err(Error::codec(NAME, pos, "stream header has fewer than 16 bytes: the file was cut"));
            }
            pos += HEADER_LEN;
            continue;
        }
        if file.len() - pos < 4 {
            return Err(Error::codec(NAME, pos, format!("chunk length needs 4 bytes, {} left: the file was cut", file.len() - pos)));
        }
        let len = i32::from_be_bytes([file[pos], file[pos + 1], file[pos + 2], file[pos + 3]]);
        if len < 0 || len as usize > MAX_CHUNK {
            return Err(Error::codec(NAME, pos, format!("invalid chunk length {len}")));
        }
        let len = len as usize;
        pos += 4;
        if file.len() - pos < len {
            return Err(Error::codec(NAME, pos, format!("chunk needs {len} bytes, {} left: the file was cut", file.len() - pos)));
        }
        let block = &file[pos..pos + len];
        let dlen = snap::raw::decompress_len(block).map_err(|e| Error::codec(NAME, pos, format!("corrupt snappy chunk: {e}")))?;
        reserve_checked(&out, dlen, limits, NAME, pos)?;
        let start = out.len();
        out.resize(start + dlen, 0);
        let n = decoder.decompress(block, &mut out[start..]).map_err(|e| Error::codec(NAME, pos, format!("corrupt snappy chunk: {e}")))?;
        out.truncate(start + n);
        chunks += 1;
        pos += len;
    }
    let framing =
        Framing { codec: NAME, compressed_bytes: file.len(), decompressed_bytes: out.len(), chunks, end_marker: None, warnings: vec![] };
    Ok((out, framing))
}
