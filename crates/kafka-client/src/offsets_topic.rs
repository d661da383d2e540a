//! Decoding `__consumer_offsets` records into `kafka_model::OffsetsTopicRecord` (OffsetCommit and GroupMetadata keys and values, every version)
//! and finding a group's partition as Kafka does.

use kafka_model::{GroupMetadataMember, GroupMetadataValue, OffsetCommitValue, OffsetsTopicRecord};

/// The `__consumer_offsets` partition of a group: `Utils.abs(groupId.hashCode()) % partitions`.
pub fn partition_for_group(group: &str, partitions: i32) -> i32 {
    let h = engine::scala_order::java_string_hash(group);
    // Kafka's Utils.abs maps i32::MIN to 0 rather than overflowing.
    let abs = if h == i32::MIN { 0 } else { h.abs() };
    abs % partitions
}

/// Decodes one record (`offset` is its position in `__consumer_offsets`). `None` when the key is not
/// decodable at all.
pub fn decode(offset: i64, key: &[u8], value: Option<&[u8]>) -> Option<OffsetsTopicRecord> {
    let mut k = Reader::new(key);
    let key_version = k.i16()?;
    match key_version {
        0 | 1 => {
            let group = k.str(false)??;
            let topic = k.str(false)??;
            let partition = k.i32()?;
            let value = match value {
                None => None,
                Some(v) => Some(commit_value(v)?),
            };
            Some(OffsetsTopicRecord::OffsetCommit { offset, group, topic, partition, value })
        }
        2 => {
            let group = k.str(false)??;
            let value = match value {
                None => None,
                Some(v) => Some(group_value(v)?),
            };
            Some(OffsetsTopicRecord::GroupMetadata { offset, group, value })
        }
        v => Some(OffsetsTopicRecord::Other { offset, key_version: v }),
    }
}

fn commit_value(v: &[u8]) -> Option<OffsetCommitValue> {
    let mut r = Reader::new(v);
    let version = r.i16()?;
    let flexible = version >= 4;
    let offset = r.i64()?;
    let leader_epoch = if version >= 3 { r.i32()? } else { -1 };
    let metadata = r.str(flexible)?.unwrap_or_default();
    let commit_timestamp = r.i64()?;
    let expire_timestamp = if version == 1 { Some(r.i64()?) } else { None };
    if flexible {
        r.skip_tagged()?;
    }
    Some(OffsetCommitValue { version, offset, leader_epoch, metadata, commit_timestamp, expire_timestamp })
}

fn group_value(v: &[u8]) -> Option<GroupMetadataValue> {
    let mut r = Reader::new(v);
    let version = r.i16()?;
    let flexible = version >= 4;
    let protocol_type = r.str(flexible)?.unwrap_or_default();
    let generation = r.i32()?;
    let protocol = r.str(flexible)?;
    let leader = r.str(flexible)?;
    let current_state_timestamp = if version >= 2 { Some(r.i64()?) } else { None };
    let n = r.array_len(flexible)?;
    let mut members = Vec::new();
    for _ in 0..n {
        let member_id = r.str(flexible)?.unwrap_or_default();
        let group_instance_id = if version >= 3 { r.str(flexible)? } else { None };
        let client_id = r.str(flexible)?.unwrap_or_default();
        let client_host = r.str(flexible)?.unwrap_or_default();
        let rebalance_timeout = if version >= 1 { r.i32()? } else { -1 };
        let session_timeout = r.i32()?;
        r.bytes(flexible)?; // subscription
        r.bytes(flexible)?; // assignment
        if flexible {
            r.skip_tagged()?;
        }
        members.push(GroupMetadataMember { member_id, group_instance_id, client_id, client_host, rebalance_timeout, session_timeout });
    }
    if flexible {
        r.skip_tagged()?;
    }
    Some(GroupMetadataValue { version, protocol_type, generation, protocol, leader, current_state_timestamp, members })
}

struct Reader<'a> {
    b: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(b: &'a [u8]) -> Self {
        Reader { b }
    }
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.b.len() < n {
            return None;
        }
        let (h, t) = self.b.split_at(n);
        self.b = t;
        Some(h)
    }
    fn i16(&mut self) -> Option<i16> {
        Some(i16::from_be_bytes(self.take(2)?.try_into().ok()?))
    }
    fn i32(&mut self) -> Option<i32> {
        Some(i32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }
    fn i64(&mut self) -> Option<i64> {
        Some(i64::from_be_bytes(self.take(8)?.try_into().ok()?))
    }
    fn uvarint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for i in 0..10 {
            let b = self.take(1)?[0];
            v |= ((b & 0x7f) as u64) << (7 * i);
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }
    /// A nullable string: int16 length (−1 = null), or in flexible versions uvarint length + 1 (0 = null).
    fn str(&mut self, flexible: bool) -> Option<Option<String>> {
        let len: i64 = if flexible { self.uvarint()? as i64 - 1 } else { self.i16()? as i64 };
        if len < 0 {
            return Some(None);
        }
        Some(Some(String::from_utf8_lossy(self.take(len as usize)?).into_owned()))
    }
    fn bytes(&mut self, flexible: bool) -> Option<()> {
        let len: i64 = if flexible { self.uvarint()? as i64 - 1 } else { self.i32()? as i64 };
        if len > 0 {
            self.take(len as usize)?;
        }
        Some(())
    }
    fn array_len(&mut self, flexible: bool) -> Option<usize> {
        let len: i64 = if flexible { self.uvarint()? as i64 - 1 } else { self.i32()? as i64 };
        Some(len.max(0) as usize)
    }
    fn skip_tagged(&mut self) -> Option<()> {
        let n = self.uvarint()?;
        for _ in 0..n {
            self.uvarint()?;
            let size = self.uvarint()? as usize;
            self.take(size)?;
        }
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s16(out: &mut Vec<u8>, s: &str) {
        out.extend_from_slice(&(s.len() as i16).to_be_bytes());
        out.extend_from_slice(s.as_bytes());
    }

    fn commit_key(group: &str, topic: &str, partition: i32) -> Vec<u8> {
        let mut k = 1i16.to_be_bytes().to_vec();
        s16(&mut k, group);
        s16(&mut k, topic);
        k.extend_from_slice(&partition.to_be_bytes());
        k
    }

    #[test]
    fn group_partitions_follow_java_hash_code() {
        // "g".hashCode() = 103; "fmtg".hashCode() = 3147130. Both seen on these partitions with Kafka 4.1.1.
        assert_eq!(partition_for_group("g", 50), 3);
        assert_eq!(partition_for_group("fmtg", 50), 30);
        // A negative hashCode: "polygenelubricants".hashCode() == Integer.MIN_VALUE → Utils.abs gives 0.
        assert_eq!(partition_for_group("polygenelubricants", 50), 0);
    }

    #[test]
    fn decodes_commit_values_of_every_version_and_tombstones() {
        let key = commit_key("g", "t", 2);
        // v4, flexible: offset 5, epoch 0, metadata "m" (compact: len+1), timestamp 7, no tagged fields.
        let mut v4 = 4i16.to_be_bytes().to_vec();
        v4.extend_from_slice(&5i64.to_be_bytes());
        v4.extend_from_slice(&0i32.to_be_bytes());
        v4.extend_from_slice(&[2, b'm']);
        v4.extend_from_slice(&7i64.to_be_bytes());
        v4.push(0);
        let r = decode(10, &key, Some(&v4)).unwrap();
        assert_eq!(
            r,
            OffsetsTopicRecord::OffsetCommit {
                offset: 10,
                group: "g".into(),
                topic: "t".into(),
                partition: 2,
                value: Some(OffsetCommitValue {
                    version: 4,
                    offset: 5,
                    leader_epoch: 0,
                    metadata: "m".into(),
                    commit_timestamp: 7,
                    expire_timestamp: None
                })
            }
        );
        // v1: offset, metadata, commit, expire.
        let mut v1 = 1i16.to_be_bytes().to_vec();
        v1.extend_from_slice(&9i64.to_be_bytes());
        s16(&mut v1, "");
        v1.extend_from_slice(&1i64.to_be_bytes());
        v1.extend_from_slice(&2i64.to_be_bytes());
        match decode(0, &key, Some(&v1)).unwrap() {
            OffsetsTopicRecord::OffsetCommit { value: Some(v), .. } => {
                assert_eq!((v.offset, v.leader_epoch, v.commit_timestamp, v.expire_timestamp), (9, -1, 1, Some(2)))
            }
            r => panic!("{r:?}"),
        }
        assert!(matches!(decode(0, &key, None), Some(OffsetsTopicRecord::OffsetCommit { value: None, .. })));
        assert_eq!(decode(0, &key, Some(&v4[..5])), None, "a truncated value is not decoded");
        assert_eq!(decode(3, &7i16.to_be_bytes(), None), Some(OffsetsTopicRecord::Other { offset: 3, key_version: 7 }));
    }

    #[test]
    fn decodes_group_metadata_v3() {
        let mut key = 2i16.to_be_bytes().to_vec();
        s16(&mut key, "g");
        let mut v = 3i16.to_be_bytes().to_vec();
        s16(&mut v, "consumer");
        v.extend_from_slice(&1i32.to_be_bytes());
        s16(&mut v, "range");
        s16(&mut v, "m1");
        v.extend_from_slice(&99i64.to_be_bytes());
        v.extend_from_slice(&1i32.to_be_bytes());
        s16(&mut v, "m1");
        v.extend_from_slice(&(-1i16).to_be_bytes());
        s16(&mut v, "c");
        s16(&mut v, "/127.0.0.1");
        v.extend_from_slice(&300i32.to_be_bytes());
        v.extend_from_slice(&45i32.to_be_bytes());
        v.extend_from_slice(&2i32.to_be_bytes());
        v.extend_from_slice(&[0, 0]);
        v.extend_from_slice(&(-1i32).to_be_bytes());
        match decode(4, &key, Some(&v)).unwrap() {
            OffsetsTopicRecord::GroupMetadata { group, value: Some(g), .. } => {
                assert_eq!(group, "g");
                assert_eq!(
                    (g.protocol_type.as_str(), g.generation, g.protocol.as_deref(), g.leader.as_deref()),
                    ("consumer", 1, Some("range"), Some("m1"))
                );
                assert_eq!(g.current_state_timestamp, Some(99));
                assert_eq!(g.members.len(), 1);
                assert_eq!(
                    (g.members[0].client_host.as_str(), g.members[0].rebalance_timeout, g.members[0].session_timeout),
                    ("/127.0.0.1", 300, 45)
                );
            }
            r => panic!("{r:?}"),
        }
    }
}
