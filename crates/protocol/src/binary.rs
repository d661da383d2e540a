//! Compact binary frames for record batches: the same content as `Reply::Records` in a fraction of the bytes.
//!
//! Layout (all integers are LEB128 varints; signed ones zigzag-encoded):
//! `"OL"` · version u8 · kind u8 (1 = records) · id · topic (len, UTF-8) · partition (s) · high watermark (s) ·
//! record count · per record: offset − previous offset (s) · timestamp − previous timestamp (s) ·
//! key (0 = null, else len + 1, then bytes) · value (len, bytes).
//! Offsets and timestamps are deltas because consecutive records differ by small amounts.

use crate::{Record, RecordBatch, PROTOCOL_VERSION};

const MAGIC: &[u8; 2] = b"OL";
const KIND_RECORDS: u8 = 1;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    BadMagic,
    UnsupportedVersion(u8),
    UnknownKind(u8),
    Truncated,
    VarintTooLong,
    BadUtf8,
    TrailingBytes(usize),
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::BadMagic => write!(f, "not an Offset Lab binary frame (no \"OL\" magic)"),
            DecodeError::UnsupportedVersion(v) => write!(f, "binary frame version {v}, expected {PROTOCOL_VERSION}"),
            DecodeError::UnknownKind(k) => write!(f, "unknown binary frame kind {k}"),
            DecodeError::Truncated => write!(f, "binary frame ends early"),
            DecodeError::VarintTooLong => write!(f, "varint longer than 10 bytes"),
            DecodeError::BadUtf8 => write!(f, "invalid UTF-8 in a string field"),
            DecodeError::TrailingBytes(n) => write!(f, "{n} bytes after the last record"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Encodes the reply to request `id` as a binary frame.
pub fn encode_records(id: u64, batch: &RecordBatch) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + batch.topic.len() + batch.records.len() * 16);
    out.extend_from_slice(MAGIC);
    out.push(PROTOCOL_VERSION as u8);
    out.push(KIND_RECORDS);
    put_u(&mut out, id);
    put_bytes(&mut out, batch.topic.as_bytes());
    put_i(&mut out, batch.partition as i64);
    put_i(&mut out, batch.high_watermark);
    put_u(&mut out, batch.records.len() as u64);
    let (mut offset, mut ts) = (0i64, 0i64);
    for r in &batch.records {
        put_i(&mut out, r.offset.wrapping_sub(offset));
        put_i(&mut out, r.timestamp.wrapping_sub(ts));
        (offset, ts) = (r.offset, r.timestamp);
        match &r.key {
            None => put_u(&mut out, 0),
            Some(k) => {
                put_u(&mut out, k.len() as u64 + 1);
                out.extend_from_slice(k.as_bytes());
            }
        }
        put_bytes(&mut out, r.value.as_bytes());
    }
    out
}

/// Decodes a binary frame into (request id, batch).
pub fn decode_records(frame: &[u8]) -> Result<(u64, RecordBatch), DecodeError> {
    let mut r = Reader { buf: frame, pos: 0 };
    if r.take(2)? != MAGIC {
        return Err(DecodeError::BadMagic);
    }
    let version = r.take(1)?[0];
    if version as u32 != PROTOCOL_VERSION {
        return Err(DecodeError::UnsupportedVersion(version));
    }
    let kind = r.take(1)?[0];
    if kind != KIND_RECORDS {
        return Err(DecodeError::UnknownKind(kind));
    }
    let id = r.u()?;
    let topic = r.string()?;
    let partition = r.i()? as i32;
    let high_watermark = r.i()?;
    let count = r.u()?;
    // Each record takes at least 4 bytes, so a lying count cannot make us allocate much.
    let mut records = Vec::with_capacity((count as usize).min(frame.len() / 4));
    let (mut offset, mut ts) = (0i64, 0i64);
    for _ in 0..count {
        offset = offset.wrapping_add(r.i()?);
        ts = ts.wrapping_add(r.i()?);
        let key = match r.u()? {
            0 => None,
            n => Some(r.utf8((n - 1) as usize)?),
        };
        let value = r.string()?;
        records.push(Record { offset, timestamp: ts, key, value });
    }
    if r.pos != frame.len() {
        return Err(DecodeError::TrailingBytes(frame.len() - r.pos));
    }
    Ok((id, RecordBatch { topic, partition, high_watermark, records }))
}

fn put_u(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_i(out: &mut Vec<u8>, v: i64) {
    put_u(out, ((v << 1) ^ (v >> 63)) as u64);
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_u(out, b.len() as u64);
    out.extend_from_slice(b);
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len()).ok_or(DecodeError::Truncated)?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u(&mut self) -> Result<u64, DecodeError> {
        let mut v = 0u64;
        for i in 0..10 {
            let b = self.take(1)?[0];
            v |= ((b & 0x7f) as u64) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(DecodeError::VarintTooLong)
    }

    fn i(&mut self) -> Result<i64, DecodeError> {
        let u = self.u()?;
        Ok((u >> 1) as i64 ^ -((u & 1) as i64))
    }

    fn utf8(&mut self, n: usize) -> Result<String, DecodeError> {
        String::from_utf8(self.take(n)?.to_vec()).map_err(|_| DecodeError::BadUtf8)
    }

    fn string(&mut self) -> Result<String, DecodeError> {
        let n = self.u()? as usize;
        self.utf8(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch() -> RecordBatch {
        RecordBatch {
            topic: "lab-0123abcd-words".into(),
            partition: 2,
            high_watermark: 1_000_003,
            records: vec![
                Record { offset: 1_000_000, timestamp: 1_764_000_000_000, key: Some("a".into()), value: "1".into() },
                Record { offset: 1_000_001, timestamp: 1_764_000_000_005, key: None, value: "".into() },
                // Timestamps need not increase (CreateTime is the producer's clock).
                Record { offset: 1_000_002, timestamp: 1_763_999_999_000, key: Some("".into()), value: "é ✓".into() },
            ],
        }
    }

    #[test]
    fn round_trips_and_is_smaller_than_json() {
        let b = batch();
        let bin = encode_records(42, &b);
        assert_eq!(decode_records(&bin).unwrap(), (42, b.clone()));
        let json = serde_json::to_string(&b).unwrap();
        assert!(bin.len() * 2 < json.len(), "binary {} bytes vs JSON {}", bin.len(), json.len());
    }

    #[test]
    fn empty_and_extreme_values_round_trip() {
        let b = RecordBatch {
            topic: String::new(),
            partition: i32::MIN,
            high_watermark: i64::MAX,
            records: vec![Record { offset: i64::MIN, timestamp: -1, key: None, value: "v".into() }],
        };
        assert_eq!(decode_records(&encode_records(u64::MAX, &b)).unwrap(), (u64::MAX, b));
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let bin = encode_records(1, &batch());
        for n in 0..bin.len() {
            assert!(decode_records(&bin[..n]).is_err(), "prefix of {n} bytes decoded");
        }
        let mut extra = bin.clone();
        extra.push(0);
        assert_eq!(decode_records(&extra).unwrap_err(), DecodeError::TrailingBytes(1));
        let mut bad = bin;
        bad[0] = b'X';
        assert_eq!(decode_records(&bad).unwrap_err(), DecodeError::BadMagic);
        assert_eq!(decode_records(b"OL\x01\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01").unwrap_err(), DecodeError::VarintTooLong);
    }
}
