//! compress-lzf `LZFOutputStream` framing ("ZV" chunks) and the LZF block format, small enough to own.

use super::{reserve_checked, Framing};
use crate::{Error, Limits, Result};

pub const MAGIC: &[u8; 2] = b"ZV";
const NAME: &str = "lzf";
const BLOCK_UNCOMPRESSED: u8 = 0;
const BLOCK_COMPRESSED: u8 = 1;

fn be_u16(b: &[u8]) -> usize {
    usize::from(u16::from_be_bytes([b[0], b[1]]))
}

pub fn decode(file: &[u8], limits: &Limits) -> Result<(Vec<u8>, Framing)> {
    let mut out = Vec::new();
    let mut pos = 0;
    let mut chunks = 0;
    while pos < file.len() {
        let head = file.get(pos..pos + 3).ok_or_else(|| Error::codec(NAME, pos, "chunk header cut"))?;
        if &head[..2] != MAGIC {
            return Err(Error::codec(NAME, pos, "chunk does not start with \"ZV\""));
        }
        match head[2] {
            BLOCK_UNCOMPRESSED => {
                let len = file.get(pos + 3..pos + 5).ok_or_else(|| Error::codec(NAME, pos, "chunk header cut"))?;
                let len = be_u16(len);
                let body = file
                    .get(pos + 5..pos + 5 + len)
                    .ok_or_else(|| Error::codec(NAME, pos + 5, format!("chunk needs {len} bytes: the file was cut")))?;
                reserve_checked(&out, len, limits, NAME, pos)?;
                out.extend_from_slice(body);
                pos += 5 + len;
            }
            BLOCK_COMPRESSED => {
                let lens = file.get(pos + 3..pos + 7).ok_or_else(|| Error::codec(NAME, pos, "chunk header cut"))?;
                let (clen, ulen) = (be_u16(lens), be_u16(&lens[2..]));
                let body = file
                    .get(pos + 7..pos + 7 + clen)
                    .ok_or_else(|| Error::codec(NAME, pos + 7, format!("chunk needs {clen} bytes: the file was cut")))?;
                reserve_checked(&out, ulen, limits, NAME, pos)?;
                let start = out.len();
                decompress_block(body, ulen, &mut out).map_err(|m| Error::codec(NAME, pos + 7, m))?;
                if out.len() - start != ulen {
                    return Err(Error::codec(NAME, pos, format!("chunk decompressed to {} bytes, header says {ulen}", out.len() - start)));
                }
                pos += 7 + clen;
            }
            t => return Err(Error::codec(NAME, pos + 2, format!("unknown chunk type {t}"))),
        }
        chunks += 1;
    }
    let framing =
        Framing { codec: NAME, compressed_bytes: file.len(), decompressed_bytes: out.len(), chunks, end_marker: None, warnings: vec![] };
    Ok((out, framing))
}

/// LZF: a control byte < 32 is a literal run of ctrl+1 bytes; otherwise a back-reference of
/// length (ctrl >> 5) + 2 (7 means "add the next byte") at distance ((ctrl & 31) << 8 | next) + 1.
fn decompress_block(input: &[u8], ulen: usize, out: &mut Vec<u8>) -> std::result::Result<(), String> {
    let start = out.len();
    let mut ip = 0;
    while ip < input.len() {
        let ctrl = usize::from(input[ip]);
        ip += 1;
        if ctrl < 32 {
            let run = ctrl + 1;
            let lit = input.get(ip..ip + run).ok_or("literal run past the end of the chunk")?;
            if out.len() - start + run > ulen {
                return Err("literal run past the declared length".into());
            }
            out.extend_from_slice(lit);
            ip += run;
        } else {
            let mut len = ctrl >> 5;
            if len == 7 {
                len += usize::from(*input.get(ip).ok_or("back-reference length cut")?);
                ip += 1;
            }
            len += 2;
            let low = usize::from(*input.get(ip).ok_or("back-reference distance cut")?);
            ip += 1;
            let dist = ((ctrl & 0x1F) << 8 | low) + 1;
            if dist > out.len() - start {
                return Err(format!("back-reference distance {dist} before the chunk start"));
            }
            if out.len() - start + len > ulen {
                return Err("back-reference past the declared length".into());
            }
            // Byte by byte: the source may overlap what is being written.
            for _ in 0..len {
                let b = out[out.len() - dist];
                out.push(b);
            }
        }
    }
    Ok(())
}
