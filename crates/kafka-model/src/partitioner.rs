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

/// One line as `kafka-console-producer` reads it. With `separator` (`--property parse.key=true
/// --property key.separator=…`) the key is everything before its first occurrence; a line without it
/// is an error, in the tool's words. Without a separator the whole line is the value, the key null.
pub fn parse_line(line: &str, separator: Option<&str>, line_number: usize) -> Result<(Option<String>, String), String> {
    match separator {
        None => Ok((None, line.to_string())),
        Some(sep) => match line.split_once(sep) {
            Some((k, v)) => Ok((Some(k.to_string()), v.to_string())),
            None => Err(format!("No key separator found on line number {line_number}: '{line}'")),
        },
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
    fn keys_land_where_the_console_producer_put_them() {
        // Observed with kafka-console-producer 4.1.1 on a 3-partition topic: a→1, b→2, c→1.
        assert_eq!(partition_for_key(b"a", 3), 1);
        assert_eq!(partition_for_key(b"b", 3), 2);
        assert_eq!(partition_for_key(b"c", 3), 1);
        assert_eq!(partition_for_key(b"a-little-bit-longer-string", 1), 0);
        assert_eq!(murmur2(b"a-little-bit-longer-string"), -1_486_304_829);
    }

    #[test]
    fn lines_split_at_the_first_separator() {
        assert_eq!(parse_line("k:::v", Some(":::"), 1), Ok((Some("k".into()), "v".into())));
        assert_eq!(parse_line("k:::v:::w", Some(":::"), 1), Ok((Some("k".into()), "v:::w".into())));
        assert_eq!(parse_line(":::v", Some(":::"), 1), Ok((Some("".into()), "v".into())));
        assert_eq!(parse_line("plain", None, 1), Ok((None, "plain".into())));
        assert_eq!(parse_line("plain", Some(":::"), 3), Err("No key separator found on line number 3: 'plain'".into()));
    }
}
