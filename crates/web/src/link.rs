//! Share links: the action log and final time in the URL fragment, versioned and deflated
//! (`#v1.<base64url(deflate(json))>`), so opening the link replays to the same state.

use crate::session::Entry;
use serde::{Deserialize, Serialize};

/// The fragment's version prefix; a page refuses fragments of other versions with a message.
pub const VERSION: &str = "v1";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shared {
    /// The action log.
    #[serde(rename = "e")]
    pub entries: Vec<Entry>,
    /// The logical time the sharer was at (epoch ms).
    #[serde(rename = "n")]
    pub now: i64,
    /// The lesson (index into `LESSONS`); links made before lessons were several have none: the seed.
    #[serde(rename = "l", default, skip_serializing_if = "is_zero")]
    pub lesson: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// The fragment (without `#`).
pub fn encode(shared: &Shared) -> String {
    let json = serde_json::to_vec(shared).expect("plain data serializes");
    let packed = miniz_oxide::deflate::compress_to_vec(&json, 9);
    format!("{VERSION}.{}", base64url(&packed))
}

/// Reads a fragment (with or without `#`); errors say what is wrong.
pub fn decode(fragment: &str) -> Result<Shared, String> {
    let f = fragment.trim_start_matches('#');
    let (version, body) = f.split_once('.').ok_or("the link has no version prefix (expected #v1.…)")?;
    if version != VERSION {
        return Err(format!("the link is version {version}; this page reads {VERSION}"));
    }
    let packed = unbase64url(body)?;
    let json = miniz_oxide::inflate::decompress_to_vec_with_limit(&packed, 4 << 20).map_err(|e| format!("the link is damaged ({e:?})"))?;
    serde_json::from_slice(&json).map_err(|e| format!("the link's content is not understood: {e}"))
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// RFC 4648 §5 without padding (safe in a URL fragment).
fn base64url(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 4 / 3 + 2);
    for chunk in bytes.chunks(3) {
        let n = (chunk[0] as u32) << 16 | (*chunk.get(1).unwrap_or(&0) as u32) << 8 | *chunk.get(2).unwrap_or(&0) as u32;
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

fn unbase64url(s: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        let v = ALPHABET
            .iter()
            .position(|&a| a == c)
            .ok_or_else(|| format!("the link has a character `{}` that base64url does not use", c as char))?;
        acc = acc << 6 | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits & 0xff) as u8);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::{Act, Session};

    #[test]
    fn base64url_round_trips_every_length() {
        for n in 0..40u8 {
            let v: Vec<u8> = (0..n).map(|i| i.wrapping_mul(37).wrapping_add(n)).collect();
            assert_eq!(unbase64url(&base64url(&v)).unwrap(), v);
        }
        assert_eq!(base64url(b"Man"), "TWFu");
        assert_eq!(base64url(b"Ma"), "TWE");
    }

    #[test]
    fn a_full_walkthrough_link_is_short_and_replays_to_the_same_state() {
        for lesson in 0..crate::lessons::LESSONS.len() {
            let mut s = Session::for_lesson(lesson);
            for i in 0..s.scenario().steps.len() {
                s.apply(Act::Lesson(i));
            }
            let link = encode(&Shared { entries: s.entries.clone(), now: s.now.ms(), lesson });
            assert!(link.len() < 400, "{} chars: {link}", link.len());
            let back = decode(&format!("#{link}")).unwrap();
            assert_eq!(back.lesson, lesson);
            let r = Session::replay(back.lesson, &back.entries, back.now);
            assert_eq!(r.run.trace, s.run.trace);
            assert_eq!(r.now, s.now);
        }
    }

    #[test]
    fn other_versions_and_damage_are_refused_with_a_reason() {
        assert!(decode("v9.abc").unwrap_err().contains("version v9"));
        assert!(decode("v1.!!").unwrap_err().contains("base64url"));
        assert!(decode("nothing").is_err());
    }
}
