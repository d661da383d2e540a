//! The model's Kafka rules, one test each.

use super::*;
use engine::kafka::{KafkaReply, KafkaRequest};

fn tp(p: i32) -> TopicPartition {
    TopicPartition::new("words", p)
}

fn poll(k: &mut KafkaModel, member: Option<&str>) -> (String, i32, Vec<TopicPartition>) {
    let req = KafkaRequest::GroupPoll {
        group: "g".into(),
        member_id: member.map(str::to_string),
        client_id: "consumer-g-1".into(),
        topics: vec!["words".into()],
        session_timeout_ms: 45_000,
        metadata_max_age_ms: engine::METADATA_MAX_AGE_MS,
    };
    match k.serve(&req).expect("join completes") {
        KafkaReply::Assignment { member_id, generation, partitions } => (member_id, generation, partitions),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn log_start_and_end_follow_produce_and_delete_records() {
    let mut k = KafkaModel::new();
    k.create_topic("words", 2).unwrap();
    for v in ["a", "b", "c"] {
        k.produce("words", Some(0), None, v).unwrap();
    }
    assert_eq!(k.describe_topic("words"), Some(vec![(0, 3), (0, 0)]));
    assert_eq!(k.delete_records(&tp(0), 2), Ok(2));
    assert_eq!(k.describe_topic("words"), Some(vec![(2, 3), (0, 0)]));
    assert!(k.delete_records(&tp(0), 4).is_err());
    match k.serve(&KafkaRequest::Fetch { partition: tp(0), offset: 1, max_records: 5 }).unwrap() {
        KafkaReply::FetchError { error } => assert_eq!(error, KafkaError::OffsetOutOfRange),
        other => panic!("{other:?}"),
    }
    match k.serve(&KafkaRequest::Fetch { partition: tp(0), offset: 2, max_records: 5 }).unwrap() {
        KafkaReply::Records { records, high_watermark, .. } => {
            assert_eq!(records.iter().map(|r| r.value.as_str()).collect::<Vec<_>>(), ["c"]);
            assert_eq!(high_watermark, 3);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn keyed_records_land_where_the_java_client_puts_them() {
    let mut k = KafkaModel::new();
    k.create_topic("words", 3).unwrap();
    assert_eq!(k.produce("words", None, Some("user-42"), "x").unwrap(), tp(1));
    assert_eq!(k.produce("words", None, Some("foobar"), "x").unwrap(), tp(0));
    assert!(k.produce("words", None, None, "x").is_err());
    assert!(k.produce("nope", Some(0), None, "x").unwrap_err().contains("not present"));
}

#[test]
fn generation_minus_one_commits_only_without_members() {
    let mut k = KafkaModel::new();
    k.create_topic("words", 1).unwrap();
    assert_eq!(k.commit("g", None, &[(tp(0), 0)]), Ok(()));
    assert_eq!(k.group_state("g"), GroupState::Empty);
    let (id, generation, parts) = poll(&mut k, None);
    assert_eq!(parts, vec![tp(0)]);
    assert_eq!(k.group_state("g"), GroupState::Stable);
    assert_eq!(k.commit("g", None, &[(tp(0), 1)]), Err(KafkaError::UnknownMemberId));
    assert_eq!(k.commit("g", Some(&(id.clone(), generation + 1)), &[(tp(0), 1)]), Err(KafkaError::IllegalGeneration));
    assert_eq!(k.commit("g", Some(&(id.clone(), generation)), &[(tp(0), 1)]), Ok(()));
    assert_eq!(k.committed("g").get(&tp(0)), Some(&1));
    k.serve(&KafkaRequest::LeaveGroup { group: "g".into(), member_id: id });
    assert_eq!(k.group_state("g"), GroupState::Empty);
}

#[test]
fn topic_deletion_tombstones_offsets_and_kills_an_empty_group() {
    let mut k = KafkaModel::new();
    k.create_topic("words", 1).unwrap();
    k.commit("g", None, &[(tp(0), 0)]).unwrap();
    k.delete_topic("words").unwrap();
    assert_eq!(k.group_state("g"), GroupState::Dead);
    assert!(k.committed("g").is_empty());
    assert!(k.offsets_topic.iter().any(|r| matches!(r, OffsetsTopicRecord::OffsetCommit { value: None, .. })));
    assert!(k.offsets_topic.iter().any(|r| matches!(r, OffsetsTopicRecord::GroupMetadata { value: None, .. })));
}

#[test]
fn consumer_offsets_records_are_shaped_as_kafka_writes_them() {
    let mut k = KafkaModel::new();
    k.create_topic("words", 1).unwrap();
    let (id, generation, _) = poll(&mut k, None);
    k.commit("g", Some(&(id.clone(), generation)), &[(tp(0), 3)]).unwrap();
    k.serve(&KafkaRequest::LeaveGroup { group: "g".into(), member_id: id.clone() });
    let lines: Vec<String> = k.offsets_topic.iter().map(|r| r.describe(|n| n)).collect();
    assert_eq!(
        lines,
        [
            "@0 group g: Stable, generation 1, 1 member(s)".to_string(),
            "@1 [g,words,0] → offset 3".to_string(),
            "@2 group g: Empty, generation 2, 0 member(s)".to_string()
        ]
    );
    // Kafka 4.1.1 writes GroupMetadataValue v3 (protocol and leader only while there are members) and
    // OffsetCommitValue v4 without a leader epoch.
    match &k.offsets_topic[0] {
        OffsetsTopicRecord::GroupMetadata { value: Some(v), .. } => {
            assert_eq!(
                (v.version, v.protocol_type.as_str(), v.protocol.as_deref(), v.leader.as_deref()),
                (3, "consumer", Some("range"), Some(id.as_str()))
            );
            assert_eq!((v.members[0].client_id.as_str(), v.members[0].session_timeout), ("consumer-g-1", 45_000));
        }
        r => panic!("{r:?}"),
    }
    match &k.offsets_topic[1] {
        OffsetsTopicRecord::OffsetCommit { value: Some(v), .. } => assert_eq!((v.version, v.offset, v.leader_epoch), (4, 3, -1)),
        r => panic!("{r:?}"),
    }
    match &k.offsets_topic[2] {
        OffsetsTopicRecord::GroupMetadata { value: Some(v), .. } => assert_eq!((v.protocol.as_deref(), v.leader.as_deref()), (None, None)),
        r => panic!("{r:?}"),
    }
}

fn join_request() -> KafkaRequest {
    KafkaRequest::GroupPoll {
        group: "g".into(),
        member_id: None,
        client_id: "c".into(),
        topics: vec!["words".into()],
        session_timeout_ms: 45_000,
        metadata_max_age_ms: engine::METADATA_MAX_AGE_MS,
    }
}

#[test]
fn a_join_waits_for_the_other_members_to_rejoin_or_time_out() {
    let mut k = KafkaModel::new();
    k.create_topic("words", 3).unwrap();
    poll(&mut k, None);
    // The first member goes silent at 0 (a killed driver); a new one asks to join at 10 s.
    k.advance(Time(10_000));
    assert_eq!(k.serve(&join_request()), None);
    assert_eq!(k.next_deadline(), Some(Time(45_000)));
    k.advance(Time(44_999));
    assert_eq!(k.serve(&join_request()), None);
    k.advance(Time(45_000));
    match k.serve(&join_request()) {
        Some(KafkaReply::Assignment { partitions, .. }) => assert_eq!(partitions.len(), 3),
        other => panic!("{other:?}"),
    }
    assert_eq!(k.next_deadline(), None);
}

#[test]
fn a_held_join_completes_once_when_the_member_it_waits_for_times_out() {
    let mut k = KafkaModel::new();
    k.create_topic("words", 3).unwrap();
    poll(&mut k, None);
    k.advance(Time(10_000));
    assert_eq!(k.request(7, &join_request()), None);
    assert_eq!(k.completed(), vec![]);
    k.advance(Time(45_000));
    let done = k.completed();
    assert!(matches!(&done[..], [(7, KafkaReply::Assignment { partitions, .. })] if partitions.len() == 3), "{done:?}");
    // Handed out once: nothing is held any more.
    assert_eq!(k.completed(), vec![]);
    // An answerable request is answered at once and never held.
    assert!(k.request(8, &KafkaRequest::OffsetFetch { group: "g".into(), partitions: vec![] }).is_some());
    assert_eq!(k.completed(), vec![]);
}

#[test]
fn a_cancelled_held_join_never_completes() {
    let mut k = KafkaModel::new();
    k.create_topic("words", 3).unwrap();
    poll(&mut k, None);
    k.advance(Time(10_000));
    assert_eq!(k.request(3, &join_request()), None);
    k.cancel(3);
    k.advance(Time(45_000));
    assert_eq!(k.completed(), vec![]);
}

#[test]
fn group_states_read_and_print_as_kafka_spells_them() {
    for s in GroupState::ALL {
        assert_eq!(s.to_string().parse::<GroupState>(), Ok(s));
    }
    assert_eq!("PreparingRebalance".parse::<GroupState>(), Ok(GroupState::PreparingRebalance));
    let e = "Assigning".parse::<GroupState>().unwrap_err();
    assert!(e.contains("`Assigning`") && e.contains("CompletingRebalance"), "{e}");
}

#[test]
fn range_assignor_and_session_timeout() {
    let mut k = KafkaModel::new();
    k.create_topic("words", 3).unwrap();
    let (a, _, parts_a) = poll(&mut k, None);
    assert_eq!(parts_a.len(), 3);
    k.advance(Time(1_000));
    // a rejoins (polls) after b asked; then b's join completes.
    assert_eq!(k.serve(&join_request()), None);
    poll(&mut k, Some(&a));
    let (b, _, parts_b) = poll(&mut k, None);
    let (_, _, parts_a) = poll(&mut k, Some(&a));
    // Member ids sort by their join order here; the first gets the extra partition.
    assert_eq!((parts_a.len(), parts_b.len()), (2, 1));
    assert_eq!(parts_a, vec![tp(0), tp(1)]);
    // b keeps heartbeating, a goes silent for longer than its session timeout.
    k.advance(Time(40_000));
    poll(&mut k, Some(&b));
    k.advance(Time(46_001));
    assert_eq!(k.groups["g"].members.keys().cloned().collect::<Vec<_>>(), vec![b.clone()]);
    let (_, _, parts_b) = poll(&mut k, Some(&b));
    assert_eq!(parts_b.len(), 3);
}

#[test]
fn a_member_whose_heartbeat_heard_of_the_rebalance_gets_the_new_assignment_in_its_next_poll() {
    for (poll_at, first_poll_parts) in [(3_999, 3), (4_000, 1)] {
        let mut k = KafkaModel::new();
        k.create_topic("words", 3).unwrap();
        let (a, generation, _) = poll(&mut k, None);
        k.advance(Time(1_000));
        assert_eq!(k.serve(&join_request()), None);
        k.advance(Time(poll_at));
        // Under 3 s after the join no heartbeat need have told `a`: its poll only heartbeats (the joiner
        // then gets in, and `a` sees the new assignment at its next poll). From 3 s on it rejoins at once.
        let (_, g, parts) = poll(&mut k, Some(&a));
        assert_eq!(parts.len(), first_poll_parts, "poll at {poll_at}");
        match k.serve(&join_request()) {
            // "c-…" sorts before "consumer-g-1-…": the joiner takes words-0 and words-1.
            Some(KafkaReply::Assignment { partitions, generation: gb, .. }) => {
                assert_eq!((partitions, gb), (vec![tp(0), tp(1)], generation + 1))
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(g, if first_poll_parts == 1 { generation + 1 } else { generation });
        assert_eq!(poll(&mut k, Some(&a)).2, vec![tp(2)]);
    }
}

#[test]
fn a_deleted_topic_does_not_rebalance_the_group_before_metadata_max_age() {
    let mut k = KafkaModel::new();
    k.create_topic("words", 3).unwrap();
    let (a, generation, _) = poll(&mut k, None);
    k.advance(Time(10_000));
    k.delete_topic("words").unwrap();
    // The member keeps its assignment; what fails is asking for the partitions' offsets.
    let (_, g, parts) = poll(&mut k, Some(&a));
    assert_eq!((g, parts.len()), (generation, 3));
    let req = KafkaRequest::ListOffsets { partitions: vec![tp(0)], spec: engine::kafka::OffsetSpec::Latest };
    assert!(matches!(k.serve(&req), Some(KafkaReply::Offsets { offsets }) if offsets[0].1.is_err()));
}

#[test]
fn added_partitions_are_noticed_after_the_members_metadata_max_age() {
    let mut k = KafkaModel::new();
    k.create_topic("words", 3).unwrap();
    let poll = |k: &mut KafkaModel, member: Option<&str>| {
        let req = KafkaRequest::GroupPoll {
            group: "g".into(),
            member_id: member.map(str::to_string),
            client_id: "c".into(),
            topics: vec!["words".into()],
            session_timeout_ms: 45_000,
            metadata_max_age_ms: 30_000,
        };
        match k.serve(&req) {
            Some(KafkaReply::Assignment { member_id, generation, partitions }) => (member_id, generation, partitions.len()),
            other => panic!("{other:?}"),
        }
    };
    let (a, generation, parts) = poll(&mut k, None);
    assert_eq!(parts, 3);
    k.advance(Time(10_000));
    k.add_partitions("words", 4).unwrap();
    // The metadata fetched at 0 is trusted until 30 s, well before Kafka's default 5 minutes.
    k.advance(Time(29_999));
    assert_eq!(poll(&mut k, Some(&a)), (a.clone(), generation, 3));
    k.advance(Time(30_000));
    assert_eq!(poll(&mut k, Some(&a)), (a.clone(), generation + 1, 4));
}

#[test]
fn describe_topics_names_partition_counts_and_joins_no_group() {
    let mut k = KafkaModel::new();
    k.create_topic("words", 3).unwrap();
    let reply = k.serve(&KafkaRequest::DescribeTopics { topics: vec!["words".into(), "gone".into()] }).unwrap();
    assert_eq!(reply, KafkaReply::Topics { topics: vec![("words".into(), Some(3)), ("gone".into(), None)] });
    assert!(k.groups.is_empty() && k.offsets_topic.is_empty());
    k.create_topic("clicks", 1).unwrap();
    assert_eq!(
        k.serve(&KafkaRequest::ListTopics).unwrap(),
        KafkaReply::Topics { topics: vec![("clicks".into(), Some(1)), ("words".into(), Some(3))] }
    );
}

#[test]
fn list_offsets_for_a_time() {
    let mut k = KafkaModel::new();
    k.create_topic("words", 1).unwrap();
    k.advance(Time(1_000));
    k.produce("words", Some(0), None, "a").unwrap();
    k.advance(Time(2_000));
    k.produce("words", Some(0), None, "b").unwrap();
    let at = |k: &mut KafkaModel, ts| match k.serve(&KafkaRequest::ListOffsets { partitions: vec![tp(0)], spec: OffsetSpec::Timestamp(ts) })
    {
        Some(KafkaReply::Offsets { offsets }) => offsets[0].1.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(at(&mut k, 1_500), Ok(1));
    assert_eq!(at(&mut k, 0), Ok(0));
    assert_eq!(at(&mut k, 3_000), Ok(-1));
}
