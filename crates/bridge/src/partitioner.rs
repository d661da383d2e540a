//! Where a keyed record goes, exactly as the Java producer decides, and `key:::value` line parsing.

/// Kafka's `Utils.murmur2` (the Java client's key hash), as a signed 32-bit value like Java's.
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
    let tail = chunks.remainder();
    if !tail.is_empty() {
        // Java's switch falls through from 3 to 1.
        if tail.len() >= 3 {
            h ^= (tail[2] as u32) << 16;
        }
        if tail.len() >= 2 {
            h ^= (tail[1] as u32) << 8;
        }
        h ^= tail[0] as u32;
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// The partition of a keyed record: `toPositive(murmur2(key)) % partitions` (Java's `BuiltInPartitioner`).
pub fn partition_for_key(key: &[u8], partitions: i32) -> i32 {
    assert!(partitions > 0, "a topic has at least one partition");
    (murmur2(key) & 0x7fff_ffff) % partitions
}

/// One line as `kafka-console-producer` reads it. With `separator` (`--property parse.key=true
/// --property key.separator=…`) the key is everything before its first occurrence; a line without it is
/// an error, in the tool's words. Without a separator the whole line is the value and the key is null.
pub fn parse_line(line: &str, separator: Option<&str>, line_number: usize) -> Result<(Option<String>, String), String> {
    match separator {
        None => Ok((None, line.to_string())),
        Some(sep) => match line.find(sep) {
            Some(i) => Ok((Some(line[..i].to_string()), line[i + sep.len()..].to_string())),
            None => Err(format!("No key separator found on line number {line_number}: '{line}'")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur2_matches_kafka_utils_test_vectors() {
        // The vectors of Kafka's UtilsTest.testMurmur2.
        assert_eq!(murmur2(b"21"), -973932308);
        assert_eq!(murmur2(b"foobar"), -790332482);
        assert_eq!(murmur2(b"a-little-bit-long-string"), -985981536);
        assert_eq!(murmur2(b"a-little-bit-longer-string"), -1486304829);
        assert_eq!(murmur2(b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"), -58897971);
        assert_eq!(murmur2(b"abc"), 479470107);
    }

    #[test]
    fn keys_land_where_the_console_producer_put_them() {
        // Observed with kafka-console-producer 4.1.1 on a 3-partition topic: a→1, b→2, c→1.
        assert_eq!(partition_for_key(b"a", 3), 1);
        assert_eq!(partition_for_key(b"b", 3), 2);
        assert_eq!(partition_for_key(b"c", 3), 1);
        assert_eq!(partition_for_key(b"anything", 1), 0);
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
