//! The Java client's default partitioning of keyed records: `toPositive(murmur2(key)) % partitions`,
//! and the console producer's `key:::value` line parsing.

/// `org.apache.kafka.common.utils.Utils.murmur2`.
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let len = data.len();
    let mut h: u32 = SEED ^ (len as u32);
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        if rest.len() >= 3 {
            h ^= (rest[2] as u32) << 16;
        }
        if rest.len() >= 2 {
            h ^= (rest[1] as u32) << 8;
        }
        h ^= rest[0] as u32;
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// The partition `BuiltInPartitioner.partitionForKey` picks for a key.
pub fn partition_for_key(key: &[u8], partitions: i32) -> i32 {
    (murmur2(key) & 0x7fff_ffff) % partitions
}

/// `kafka-console-producer --property parse.key=true --property key.separator=:::`: the key before
/// the first separator, the value after it. A line without it is an error, as in the tool.
pub fn parse_keyed_line(line: &str, separator: &str) -> Result<(String, String), String> {
    match line.split_once(separator) {
        Some((k, v)) => Ok((k.to_string(), v.to_string())),
        None => Err(format!("No key separator found on line number 1: '{line}'")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Vectors printed by kafka-clients 4.1.1's `Utils.murmur2` on the JVM (see the module's git history).
    #[test]
    fn murmur2_matches_kafka_clients() {
        let cases: &[(&str, i32, i32)] = &[
            ("21", -973_932_308, 0),
            ("foobar", -790_332_482, 0),
            ("a", -1_563_381_124, 1),
            ("abc", 479_470_107, 0),
            ("a-little-bit-long-string", -985_981_536, 2),
            ("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58_897_971, 2),
            ("user-42", 1_459_644_460, 1),
            ("ключ", 2_122_343_024, 2),
        ];
        for &(key, hash, p3) in cases {
            assert_eq!(murmur2(key.as_bytes()), hash, "murmur2({key})");
            assert_eq!(partition_for_key(key.as_bytes(), 3), p3, "partition of {key} among 3");
        }
    }

    #[test]
    fn keyed_lines() {
        assert_eq!(parse_keyed_line("k:::v:::w", ":::"), Ok(("k".into(), "v:::w".into())));
        assert!(parse_keyed_line("no separator", ":::").unwrap_err().contains("No key separator"));
    }
}
