//! Java's "modified UTF-8" (`DataInput.readUTF`): NUL is `C0 80`, non-BMP characters are surrogate pairs.

/// Decodes to UTF-16 units first, because surrogate pairs arrive as two 3-byte sequences.
/// Lone surrogates become U+FFFD; malformed bytes are an error, as in `readUTF`.
pub fn decode(bytes: &[u8]) -> Result<String, String> {
    // Class names, field names and most values are ASCII, where modified UTF-8 is plain UTF-8.
    if bytes.iter().all(|&b| b != 0 && b < 0x80) {
        return Ok(bytes.iter().map(|&b| char::from(b)).collect());
    }
    let mut units = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let cont = |j: usize| -> Result<u16, String> {
            match bytes.get(j) {
                Some(&c) if c & 0xC0 == 0x80 => Ok(u16::from(c & 0x3F)),
                Some(_) => Err(format!("bad continuation byte at string byte {j}")),
                None => Err(format!("sequence cut at string byte {j}")),
            }
        };
        if b < 0x80 {
            units.push(u16::from(b));
            i += 1;
        } else if b & 0xE0 == 0xC0 {
            units.push(u16::from(b & 0x1F) << 6 | cont(i + 1)?);
            i += 2;
        } else if b & 0xF0 == 0xE0 {
            units.push(u16::from(b & 0x0F) << 12 | cont(i + 1)? << 6 | cont(i + 2)?);
            i += 3;
        } else {
            return Err(format!("invalid lead byte 0x{b:02x} at string byte {i}"));
        }
    }
    Ok(String::from_utf16_lossy(&units))
}

#[cfg(test)]
mod tests {
    use super::decode;

    #[test]
    fn nul_is_two_bytes_and_supplementary_is_a_surrogate_pair() {
        // "a\0b😀" as DataOutput.writeUTF writes it.
        let bytes = [b'a', 0xC0, 0x80, b'b', 0xED, 0xA0, 0xBD, 0xED, 0xB8, 0x80];
        assert_eq!(decode(&bytes).unwrap(), "a\0b😀");
    }

    #[test]
    fn ascii_takes_the_short_path_with_the_same_result() {
        assert_eq!(decode(b"org.apache.spark.streaming.Checkpoint").unwrap(), "org.apache.spark.streaming.Checkpoint");
        assert_eq!(decode(b"").unwrap(), "");
    }

    #[test]
    fn malformed_bytes_are_errors() {
        assert!(decode(&[0xFF]).unwrap_err().contains("invalid lead byte"));
        assert!(decode(&[0xE2, 0x82]).unwrap_err().contains("cut"));
        assert!(decode(&[0xC2, 0x41]).unwrap_err().contains("continuation"));
    }
}
