//! The iteration order of the JVM collections Spark and kafka-clients keep partitions in (Scala 2.12/2.13 and Java maps and sets), where that order reaches a user.
//!
//! Each function takes the keys in the order they were added and returns the order the collection
//! iterates them in. `tests/scala_order.rs` checks them against orders the JVM printed (`offsetlab.CollectionOrder`;
//! `cargo xtask reference order`, part of the reference stage, checks that fixture against the JVM).

use crate::offsets::TopicPartition;

/// Which Scala library a Spark build runs on (Spark 3.5.1 defaults to 2.13, 2.12 builds exist).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScalaVersion {
    V2_12,
    V2_13,
}

/// `java.lang.String.hashCode` over UTF-16 code units.
pub fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16().fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(c as i32))
}

/// kafka-clients' `TopicPartition.hashCode`: `31 * (31 + partition) + topic.hashCode()`.
pub fn topic_partition_hash(tp: &TopicPartition) -> i32 {
    31i32.wrapping_add(tp.partition).wrapping_mul(31).wrapping_add(java_string_hash(&tp.topic))
}

/// `##` of a boxed `java.lang.Long` (`Statics.longHash`): the int when it fits, else `Long.hashCode`.
pub fn scala_long_hash(v: i64) -> i32 {
    if v as i32 as i64 == v {
        v as i32
    } else {
        (v ^ ((v as u64) >> 32) as i64) as i32
    }
}

/// `MurmurHash3.mix`.
fn murmur_mix(h: i32, data: i32) -> i32 {
    let h = murmur_mix_last(h, data);
    h.rotate_left(13).wrapping_mul(5).wrapping_add(0xe654_6b64_u32 as i32)
}

/// `MurmurHash3.mixLast`.
fn murmur_mix_last(h: i32, data: i32) -> i32 {
    let k = data.wrapping_mul(0xcc9e_2d51_u32 as i32).rotate_left(15).wrapping_mul(0x1b87_3593);
    h ^ k
}

/// `MurmurHash3.finalizeHash`.
fn murmur_finalize(h: i32, length: i32) -> i32 {
    let mut h = (h ^ length) as u32;
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^= h >> 16;
    h as i32
}

/// Scala 2.13's `(tp, offset).##`: `MurmurHash3.productHash` with the prefix `"Tuple2"`.
pub fn tuple2_hash(first: i32, second: i32) -> i32 {
    let mut h = murmur_mix(0xcafe_babe_u32 as i32, java_string_hash("Tuple2"));
    h = murmur_mix(h, first);
    h = murmur_mix(h, second);
    murmur_finalize(h, 2)
}

/// The order of a `scala.collection.mutable.HashMap`/`HashSet` filled with `keys` in the given order.
/// Scala 2.12's `mutable.HashTable` indexes by the top bits of `rotateRight(byteswap32(hash), seed)`,
/// prepends to a bucket, and iterates from the last bucket down (`HashTable.index`, `addEntry0`,
/// `entriesIterator`, `resize`). Scala 2.13's iterates buckets upwards by `hash ^ (hash >>> 16)`,
/// each bucket sorted by that (signed) hash.
pub fn mutable_hash_order<K: Clone>(keys: &[K], hash: impl Fn(&K) -> i32, scala: ScalaVersion) -> Vec<K> {
    match scala {
        ScalaVersion::V2_12 => scala_212_order(keys, hash),
        ScalaVersion::V2_13 => scala_213_order(keys, hash),
    }
}

fn byteswap32(v: i32) -> i32 {
    let hc = v.wrapping_mul(0x9e37_75cd_u32 as i32);
    hc.swap_bytes().wrapping_mul(0x9e37_75cd_u32 as i32)
}

fn scala_212_order<K: Clone>(keys: &[K], hash: impl Fn(&K) -> i32) -> Vec<K> {
    // `tableSizeSeed` is taken once from the initial table (16 buckets) and kept across resizes.
    let seed = 15u32.count_ones();
    let index = |h: i32, len: usize| -> usize {
        let ones = (len - 1) as u32;
        let improved = (byteswap32(h) as u32).rotate_right(seed);
        ((improved >> ones.leading_zeros()) & ones) as usize
    };
    let mut table: Vec<Vec<K>> = vec![Vec::new(); 16];
    let mut size = 0usize;
    for k in keys {
        let i = index(hash(k), table.len());
        table[i].insert(0, k.clone());
        size += 1;
        if size > table.len() * 750 / 1000 {
            let old = std::mem::take(&mut table);
            table = vec![Vec::new(); old.len() * 2];
            for bucket in old.iter().rev() {
                for e in bucket {
                    let i = index(hash(e), table.len());
                    table[i].insert(0, e.clone());
                }
            }
        }
    }
    table.into_iter().rev().flatten().collect()
}

fn scala_213_order<K: Clone>(keys: &[K], hash: impl Fn(&K) -> i32) -> Vec<K> {
    // `growTable` runs before an add once `size + 1 >= 0.75 * buckets`
    let mut len = 16usize;
    while keys.len() as f64 >= len as f64 * 0.75 {
        len *= 2;
    }
    let improve = |h: i32| h ^ ((h as u32) >> 16) as i32;
    let mut sorted: Vec<(usize, i32, K)> =
        keys.iter().map(|k| ((improve(hash(k)) as u32 as usize) & (len - 1), improve(hash(k)), k.clone())).collect();
    sorted.sort_by_key(|(i, h, _)| (*i, *h));
    sorted.into_iter().map(|(_, _, k)| k).collect()
}

/// The order of a `java.util.HashMap`/`HashSet` filled one key at a time in `keys`' order: buckets
/// upwards by `hash ^ (hash >>> 16)`, each bucket in insertion order (a resize keeps it); the table
/// starts at 16 and doubles once it holds more than ¾ of its size.
pub fn java_hash_order<K: Clone>(keys: &[K], hash: impl Fn(&K) -> i32) -> Vec<K> {
    let mut len = 16usize;
    while keys.len() * 4 > len * 3 {
        len *= 2;
    }
    java_buckets(keys, hash, len)
}

/// The order of `new java.util.HashSet<>(collection)` of `keys` (what `KafkaConsumer.assignment()`
/// returns): Java 17 sizes the table for the collection at once, `tableSizeFor(max(n / .75 + 1, 16))`,
/// one size larger than growing key by key gives at exactly 12, 24, 48 … keys. (Java 19 changed the rule.)
pub fn java_hash_copy_order<K: Clone>(keys: &[K], hash: impl Fn(&K) -> i32) -> Vec<K> {
    let wanted = ((keys.len() as f32 / 0.75) as usize + 1).max(16);
    java_buckets(keys, hash, wanted.next_power_of_two())
}

fn java_buckets<K: Clone>(keys: &[K], hash: impl Fn(&K) -> i32, len: usize) -> Vec<K> {
    let mut indexed: Vec<(usize, usize, K)> = keys
        .iter()
        .enumerate()
        .map(|(n, k)| {
            let h = hash(k) as u32;
            ((h ^ (h >> 16)) as usize & (len - 1), n, k.clone())
        })
        .collect();
    indexed.sort_by_key(|(i, n, _)| (*i, *n));
    indexed.into_iter().map(|(_, _, k)| k).collect()
}

/// `scala.collection.Hashing.improve`, the hash Scala 2.13's immutable `HashMap`/`HashSet` file by.
fn improve(hcode: i32) -> u32 {
    let mut h = hcode.wrapping_add(!(hcode.wrapping_shl(9))) as u32;
    h ^= h >> 14;
    h = h.wrapping_add(h << 4);
    h ^ (h >> 10)
}

/// The order of a Scala 2.13 `immutable.Map`/`Set` built by adding `keys` in the given order: up to
/// four keys are a `Map1`–`Map4`/`Set1`–`Set4` and keep that order; more are a CHAMP trie
/// (`HashMap`/`HashSet`), iterated node by node: a node's own entries by their 5-bit hash fragment
/// (low bits first), then its sub-nodes the same way (`ChampBaseIterator`). Keys whose improved
/// hashes are all equal share a collision node, in insertion order.
pub fn immutable_order<K: Clone>(keys: &[K], hash: impl Fn(&K) -> i32) -> Vec<K> {
    if keys.len() <= 4 {
        return keys.to_vec();
    }
    let hashed: Vec<(u32, K)> = keys.iter().map(|k| (improve(hash(k)), k.clone())).collect();
    let mut out = Vec::with_capacity(keys.len());
    champ(&hashed, 0, &mut out);
    out
}

fn champ<K: Clone>(entries: &[(u32, K)], shift: u32, out: &mut Vec<K>) {
    if shift >= 32 {
        out.extend(entries.iter().map(|(_, k)| k.clone()));
        return;
    }
    let mut by_fragment: Vec<Vec<(u32, K)>> = vec![Vec::new(); 32];
    for (h, k) in entries {
        by_fragment[((h >> shift) & 0x1f) as usize].push((*h, k.clone()));
    }
    for group in by_fragment.iter().filter(|g| g.len() == 1) {
        out.push(group[0].1.clone());
    }
    for group in by_fragment.iter().filter(|g| g.len() > 1) {
        champ(group, shift + 5, out);
    }
}

/// `KafkaConsumer.assignment()`'s order: a Java `HashSet<TopicPartition>` copied from the assigned partitions.
pub fn assignment_order(tps: &[TopicPartition]) -> Vec<TopicPartition> {
    java_hash_copy_order(tps, topic_partition_hash)
}

/// A Scala 2.13 immutable `Map[TopicPartition, _]`'s keys, added in the order of `tps`.
pub fn immutable_map_of_partitions(tps: &[TopicPartition]) -> Vec<TopicPartition> {
    immutable_order(tps, topic_partition_hash)
}

/// `set.asScala.map(tp => tp -> value(tp)).toMap` (Scala 2.13): the pairs pass through a
/// `mutable.HashSet[(TopicPartition, Long)]`, whose order the `Map1`–`Map4` of up to four keeps; more
/// become a `HashMap` in trie order.
pub fn pairs_to_map_order(pairs: &[(TopicPartition, i64)]) -> Vec<TopicPartition> {
    let via_set = mutable_hash_order(pairs, |(tp, v)| tuple2_hash(topic_partition_hash(tp), scala_long_hash(*v)), ScalaVersion::V2_13);
    let tps: Vec<TopicPartition> = via_set.into_iter().map(|(tp, _)| tp).collect();
    immutable_map_of_partitions(&tps)
}

/// `currentOffsets.keySet.diff(parts)`: the keys in the map's `order` that `still` does not keep, as the new
/// immutable `Set` the difference builds iterates them (a trie of fewer keys can order them differently).
pub fn revoked_order(order: &[TopicPartition], still: impl Fn(&TopicPartition) -> bool) -> Vec<TopicPartition> {
    let left: Vec<TopicPartition> = order.iter().filter(|tp| !still(tp)).cloned().collect();
    immutable_map_of_partitions(&left)
}

/// `parts.diff(currentOffsets.keySet)` on the wrapped assignment: a new Java `HashSet` filled one by one, in the
/// assignment's `order`, with the partitions `tracked` does not hold.
pub fn new_partitions_order(order: &[TopicPartition], tracked: impl Fn(&TopicPartition) -> bool) -> Vec<TopicPartition> {
    let left: Vec<TopicPartition> = order.iter().filter(|tp| !tracked(tp)).cloned().collect();
    java_hash_order(&left, topic_partition_hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tps(topics: &[&str], partitions: i32) -> Vec<TopicPartition> {
        topics.iter().flat_map(|t| (0..partitions).map(move |p| TopicPartition::new(*t, p))).collect()
    }

    #[test]
    fn java_hash_codes() {
        assert_eq!(java_string_hash(""), 0);
        assert_eq!(java_string_hash("a"), 97);
        // "polygenelubricants".hashCode() is Integer.MIN_VALUE, a classic of the Java world.
        assert_eq!(java_string_hash("polygenelubricants"), i32::MIN);
        // new TopicPartition("words", 1).hashCode() on the JVM
        assert_eq!(topic_partition_hash(&TopicPartition::new("words", 1)), 31 * 32 + java_string_hash("words"));
    }

    #[test]
    fn up_to_four_keep_insertion_order() {
        let v = tps(&["words"], 4);
        let rev: Vec<TopicPartition> = v.iter().rev().cloned().collect();
        assert_eq!(immutable_map_of_partitions(&rev), rev);
    }
}
