//! Hadoop `ChecksumFileSystem` sidecars (`.checkpoint-<ms>.crc`): on `file://` Spark's read fails when they disagree.

/// `"crc\0"`, BE32 bytes per checksum, then one BE32 CRC-32 per chunk of the data file.
const MAGIC: &[u8; 4] = b"crc\0";

/// The sidecar's name for a data file (`checkpoint-1` → `.checkpoint-1.crc`).
pub fn sidecar_name(file: &str) -> String {
    format!(".{file}.crc")
}

/// CRC-32 (IEEE, as `java.util.zip.CRC32`), bitwise: sidecars cover a few KB.
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// `Ok(())` if every chunk's CRC matches; otherwise what Hadoop's `ChecksumException` would be about.
pub fn verify(data: &[u8], sidecar: &[u8]) -> Result<(), String> {
    if sidecar.len() < 8 || &sidecar[..4] != MAGIC {
        return Err("checksum sidecar has no \"crc\\0\" header".into());
    }
    let chunk = u32::from_be_bytes([sidecar[4], sidecar[5], sidecar[6], sidecar[7]]) as usize;
    if chunk == 0 {
        return Err("checksum sidecar declares 0 bytes per checksum".into());
    }
    let sums = &sidecar[8..];
    let expected_sums = data.len().div_ceil(chunk);
    if sums.len() != expected_sums * 4 {
        return Err(format!(
            "checksum sidecar covers {} bytes ({} CRCs of {chunk}), the file has {}",
            sums.len() / 4 * chunk,
            sums.len() / 4,
            data.len()
        ));
    }
    for (i, (part, sum)) in data.chunks(chunk).zip(sums.chunks_exact(4)).enumerate() {
        let want = u32::from_be_bytes([sum[0], sum[1], sum[2], sum[3]]);
        let got = crc32(part);
        if got != want {
            return Err(format!(
                "checksum mismatch in bytes {}..{}: CRC 0x{got:08x}, sidecar 0x{want:08x}",
                i * chunk,
                i * chunk + part.len()
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sidecar(data: &[u8], chunk: usize) -> Vec<u8> {
        let mut s = b"crc\0".to_vec();
        s.extend_from_slice(&(chunk as u32).to_be_bytes());
        for part in data.chunks(chunk) {
            s.extend_from_slice(&crc32(part).to_be_bytes());
        }
        s
    }

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn verifies_per_chunk_and_names_the_broken_range() {
        let data: Vec<u8> = (0..1300u32).map(|i| (i * 7) as u8).collect();
        let side = sidecar(&data, 512);
        assert_eq!(verify(&data, &side), Ok(()));
        let mut bad = data.clone();
        bad[600] ^= 1;
        assert!(verify(&bad, &side).unwrap_err().contains("bytes 512..1024"));
        assert!(verify(&data[..1000], &side).unwrap_err().contains("the file has 1000"));
        assert!(verify(&data, b"nope").is_err());
    }
}
