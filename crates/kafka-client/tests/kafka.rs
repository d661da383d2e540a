//! The client against a real Kafka, compared with Kafka's own tools. Run by `cargo xtask test`
//! (which starts Kafka and sets the variables below); needs `--features kafka-tests`.
//!
//! Env: OFFSET_LAB_KAFKA_BOOTSTRAP (host:port), OFFSET_LAB_KAFKA_CLASSPATH (java -cp of Kafka's jars),
//! OFFSET_LAB_KAFKA_LOG4J (the tools' log4j2 config, so their warnings reach stderr).

use engine::kafka::{KafkaError, KafkaReply, KafkaRequest};
use engine::offsets::TopicPartition;
use kafka_client::{Kafka, NewRecord};
use kafka_model::partitioner::partition_for_key;
use kafka_model::GroupState;
use protocol::{GroupDescription, PartitionOffset, PartitionRange};
use std::collections::BTreeSet;
use std::process::Command;

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run these tests through `cargo xtask test` (it starts Kafka)"))
}

/// A prefix no other run uses, so tests share the broker without seeing each other's topics and groups.
fn fresh(name: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("kc-{:x}-{name}", nanos & 0xffff_ffff_ffff)
}

/// Runs a Kafka tool class; returns (exit code, stdout, stderr).
fn kafka_tool(class: &str, args: &[String]) -> (i32, String, String) {
    let out = Command::new("java")
        .args(["-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"])
        .arg(format!("-Dlog4j2.configurationFile={}", env("OFFSET_LAB_KAFKA_LOG4J")))
        .arg("-cp")
        .arg(env("OFFSET_LAB_KAFKA_CLASSPATH"))
        .arg(class)
        .args(args)
        .output()
        .expect("java runs");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

async fn kafka_tool_async(class: &'static str, args: Vec<String>) -> (i32, String, String) {
    tokio::task::spawn_blocking(move || kafka_tool(class, &args)).await.unwrap()
}

const CGC: &str = "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand";

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

/// What a `--reset-offsets --dry-run` printed: the plan, the warnings, the error.
#[derive(Debug, PartialEq)]
struct ToolReset {
    plan: BTreeSet<(String, i32, i64)>,
    warnings: BTreeSet<String>,
    error: Option<String>,
}

/// The table lines of a plan (`GROUP TOPIC PARTITION NEW-OFFSET`) of `group`.
fn plan_rows(group: &str, lines: &str) -> BTreeSet<(String, i32, i64)> {
    lines
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|c| c.len() == 4 && c[0] == group)
        .map(|c| (c[1].to_string(), c[2].parse().unwrap(), c[3].parse().unwrap()))
        .collect()
}

/// The real tool's output: the table and `Warn:` lines on stdout, log4j's `WARN New offset …` lines
/// and usage errors on stderr.
fn parse_tool_reset(group: &str, code: i32, out: &str, err: &str) -> ToolReset {
    let mut warnings: BTreeSet<String> = out.lines().filter(|l| l.starts_with("Warn: ")).map(|l| l.trim_end().to_string()).collect();
    let mut error = out.lines().find_map(|l| l.strip_prefix("Error: ")).map(|e| e.trim_end().to_string());
    for line in err.lines() {
        if let Some(i) = line.find(" WARN New offset") {
            let w = &line[i + " WARN ".len()..];
            let w = w.rsplit_once(" (org.apache").map(|(a, _)| a).unwrap_or(w);
            warnings.insert(w.to_string());
        }
    }
    if code != 0 && error.is_none() {
        // Usage errors (e.g. --shift-by without a committed offset) go to stderr before the usage text.
        error = err.lines().find(|l| !l.trim().is_empty()).map(|l| l.trim().to_string());
    }
    ToolReset { plan: plan_rows(group, out), warnings, error }
}

/// The client's reset: the model planner's lines (`WARN ` is the level log4j prints before a
/// clamping warning) or its error (`Error: ` is the tool's prefix).
fn our_reset(group: &str, result: Result<kafka_model::reset::ResetPlan, String>) -> ToolReset {
    match result {
        Ok(plan) => {
            let text = plan.lines.join("\n");
            let warnings = plan
                .lines
                .iter()
                .filter_map(|l| l.strip_prefix("WARN ").or(l.starts_with("Warn: ").then_some(l.as_str())))
                .map(str::to_string)
                .collect();
            ToolReset { plan: plan_rows(group, &text), warnings, error: None }
        }
        Err(e) => {
            // The first line: a usage error goes on with the tool's usage text.
            let e = e.lines().next().unwrap_or_default();
            ToolReset { plan: BTreeSet::new(), warnings: BTreeSet::new(), error: Some(e.strip_prefix("Error: ").unwrap_or(e).to_string()) }
        }
    }
}

type Row = (String, i32, String, String, String, String);

/// A describe as the tool's columns TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG CONSUMER-ID.
fn describe_rows(d: &GroupDescription) -> BTreeSet<Row> {
    let dash = |o: Option<i64>| o.map(|v| v.to_string()).unwrap_or_else(|| "-".into());
    d.offsets
        .iter()
        .map(|o| {
            (
                o.topic.clone(),
                o.partition,
                dash(o.committed),
                dash(o.log_end),
                dash(o.lag),
                o.member_id.clone().unwrap_or_else(|| "-".into()),
            )
        })
        .collect()
}

fn tool_describe_rows(group: &str, out: &str) -> BTreeSet<Row> {
    let rows: BTreeSet<Row> = out
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|c| c.len() >= 7 && c[0] == group)
        .map(|c| (c[1].to_string(), c[2].parse().unwrap(), c[3].to_string(), c[4].to_string(), c[5].to_string(), c[6].to_string()))
        .collect();
    assert!(!rows.is_empty(), "no rows in the tool's describe:\n{out}");
    rows
}

/// Topic `t` (3 partitions: p0 log [2, 4), p1 [0, 5), p2 [0, 6)) and group `g` with p0 at 3 and p1 at 1 committed.
async fn reset_fixture(k: &Kafka, prefix: &str) -> (String, String) {
    let (t, g) = (format!("{prefix}-reset"), format!("{prefix}-g"));
    k.create_topic(&t, 3).await.unwrap();
    for p in 0..3 {
        let records: Vec<NewRecord> = (0..(4 + p)).map(|i| NewRecord::new(None, &format!("v{i}"))).collect();
        k.produce(&t, &records, Some(p)).await.unwrap();
    }
    assert_eq!(k.delete_records(&t, 0, 2).await.unwrap(), 2);
    let offsets =
        vec![PartitionOffset { topic: t.clone(), partition: 0, offset: 3 }, PartitionOffset { topic: t.clone(), partition: 1, offset: 1 }];
    let results = k.commit(&g, None, &offsets).await.unwrap();
    assert!(results.iter().all(|r| r.error.is_none()), "{results:?}");
    (t, g)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_land_where_the_console_producer_puts_them() {
    let bootstrap = env("OFFSET_LAB_KAFKA_BOOTSTRAP");
    let k = Kafka::new(&bootstrap);
    let t = fresh("placement");
    k.create_topic(&t, 5).await.unwrap();
    let keys: Vec<String> = (0..40).map(|i| format!("key-{i}")).collect();
    let input: String = keys.iter().map(|k| format!("{k}:::v\n")).collect();
    let mut child = Command::new("java")
        .args(["-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"])
        .arg(format!("-Dlog4j2.configurationFile={}", env("OFFSET_LAB_KAFKA_LOG4J")))
        .arg("-cp")
        .arg(env("OFFSET_LAB_KAFKA_CLASSPATH"))
        .arg("org.apache.kafka.tools.ConsoleProducer")
        .args(["--bootstrap-server", &bootstrap, "--topic", &t, "--property", "parse.key=true", "--property", "key.separator=:::"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    assert!(tokio::task::spawn_blocking(move || child.wait()).await.unwrap().unwrap().success());
    let mut seen = 0;
    for p in 0..5 {
        for r in k.fetch(&t, p, 0, 100).await.unwrap().records {
            let key = r.key.unwrap();
            assert_eq!(partition_for_key(key.as_bytes(), 5), p, "console producer put {key} on partition {p}");
            seen += 1;
        }
    }
    assert_eq!(seen, 40);
    // Ours land where the console producer's do.
    let produced = k.produce(&t, &keys.iter().map(|k| NewRecord::new(Some(k), "w")).collect::<Vec<_>>(), None).await.unwrap();
    for r in &produced {
        assert_eq!(r.partition, partition_for_key(r.key.as_ref().unwrap().as_bytes(), 5), "{r:?}");
    }
    k.delete_topic(&t).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_offsets_follow_delete_records_and_timestamps() {
    let k = Kafka::new(env("OFFSET_LAB_KAFKA_BOOTSTRAP"));
    let t = fresh("offsets");
    k.create_topic(&t, 2).await.unwrap();
    let records: Vec<NewRecord> = ["a", "b", "c", "d"].iter().map(|v| NewRecord::new(None, v)).collect();
    k.produce(&t, &records, Some(1)).await.unwrap();
    assert_eq!(k.delete_records(&t, 1, 1).await.unwrap(), 1);
    let tps: Vec<(String, i32)> = (0..2).map(|p| (t.clone(), p)).collect();
    let earliest = k.list_offsets_raw(&tps, -2).await.unwrap();
    let latest = k.list_offsets_raw(&tps, -1).await.unwrap();
    assert_eq!(earliest.values().copied().collect::<Vec<_>>(), vec![Some(0), Some(1)]);
    assert_eq!(latest.values().copied().collect::<Vec<_>>(), vec![Some(0), Some(4)]);
    // By timestamp: the first offset still stored at or after it, none after the newest record.
    let from_zero = k.list_offsets_raw(&tps, 0).await.unwrap();
    assert_eq!(from_zero.values().copied().collect::<Vec<_>>(), vec![None, Some(1)]);
    let future = k.list_offsets_raw(&tps, 4_102_444_800_000).await.unwrap();
    assert!(future.values().all(Option::is_none), "{future:?}");
    assert_eq!(
        k.describe_topic(&t).await.unwrap(),
        vec![PartitionRange { partition: 0, log_start: 0, log_end: 0 }, PartitionRange { partition: 1, log_start: 1, log_end: 4 }]
    );
    k.delete_topic(&t).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitions_are_added_as_kafka_topics_alter_adds_them() {
    let bootstrap = env("OFFSET_LAB_KAFKA_BOOTSTRAP");
    let k = Kafka::new(&bootstrap);
    let t = fresh("grow");
    k.create_topic(&t, 2).await.unwrap();
    k.add_partitions(&t, 5).await.unwrap();
    assert_eq!(k.partitions(&t).await.unwrap(), 5);
    let (_, out, _) =
        kafka_tool_async("org.apache.kafka.tools.TopicCommand", s(&["--bootstrap-server", &bootstrap, "--describe", "--topic", &t])).await;
    assert!(out.contains("PartitionCount: 5"), "{out}");
    // Partitions can only be added: Kafka refuses fewer, with its reason.
    let e = k.add_partitions(&t, 3).await.unwrap_err();
    assert!(e.message.contains("INVALID_PARTITIONS") && e.message.contains("5"), "{}", e.message);
    k.delete_topic(&t).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_offsets_matches_the_real_tools_dry_run() {
    let bootstrap = env("OFFSET_LAB_KAFKA_BOOTSTRAP");
    let k = Kafka::new(&bootstrap);
    let (t, g) = reset_fixture(&k, &fresh("r")).await;
    let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let cases: Vec<(String, &str)> = vec![
        ("--all-topics".into(), "--to-earliest"),
        (format!("--topic {t}"), "--to-earliest"),
        (format!("--topic {t}"), "--to-latest"),
        (format!("--topic {t}"), "--to-current"),
        (format!("--topic {t}:0,2"), "--to-offset 1"),
        (format!("--topic {t}"), "--to-offset 100"),
        ("--all-topics".into(), "--shift-by -5"),
        ("--all-topics".into(), "--shift-by 2"),
        (format!("--topic {t}"), "--shift-by 1"),
        (format!("--topic {t}"), "--to-datetime 1970-01-01T00:00:00.000Z"),
        (format!("--topic {t}"), "--to-datetime 2100-01-01T00:00:00.000Z"),
        (format!("--topic {t}:1"), "--by-duration PT3600S"),
    ];
    let mut warned = 0;
    for (scope, strategy) in &cases {
        let args = format!("--bootstrap-server {bootstrap} --group {g} --reset-offsets --dry-run {scope} {strategy}");
        let ours = our_reset(&g, k.reset_offsets(&args, now_ms).await);
        let (code, out, err) = kafka_tool_async(CGC, args.split_whitespace().map(str::to_string).collect()).await;
        let theirs = parse_tool_reset(&g, code, &out, &err);
        assert!(!theirs.plan.is_empty() || theirs.error.is_some(), "the tool's output did not parse:\n{out}\n{err}");
        assert_eq!(ours, theirs, "{args}\n--- tool stdout ---\n{out}\n--- tool stderr ---\n{err}");
        warned += ours.warnings.len();
    }
    // The comparison saw clamping both ways and the timestamp fallback.
    assert!(warned >= 5, "{warned} warnings in all");

    // --execute moves the committed offsets.
    let plan = k.reset_offsets(&format!("--group {g} --reset-offsets --topic {t}:2 --to-earliest --execute"), now_ms).await.unwrap();
    assert!(plan.execute);
    let group = k.describe_group(&g).await.unwrap();
    assert_eq!(group.state, GroupState::Empty);
    type Described = (i32, Option<i64>, Option<i64>, Option<i64>);
    let rows: Vec<Described> = group.offsets.iter().map(|o| (o.partition, o.committed, o.log_end, o.lag)).collect();
    assert_eq!(rows, vec![(0, Some(3), Some(4), Some(1)), (1, Some(1), Some(5), Some(4)), (2, Some(0), Some(6), Some(6))]);
    k.delete_topic(&t).await.unwrap();
}

/// What a terminal shows for a run of `kafka-consumer-groups`, as the reference harness records it: stdout and
/// stderr in one stream, log4j's lines as `%p %m` (the harness's layout), without trailing blanks and blank
/// last lines.
fn tool_terminal(args: &str) -> Vec<String> {
    let dir = std::env::temp_dir().join(fresh("terminal"));
    std::fs::create_dir_all(&dir).unwrap();
    let log4j = dir.join("log4j2.properties");
    std::fs::write(
        &log4j,
        "status = warn\nappender.err.type = Console\nappender.err.name = STDERR\nappender.err.target = SYSTEM_ERR\n\
         appender.err.layout.type = PatternLayout\nappender.err.layout.pattern = %p %m%n\n\
         rootLogger.level = warn\nrootLogger.appenderRef.err.ref = STDERR\n",
    )
    .unwrap();
    let path = dir.join("terminal.txt");
    let file = std::fs::File::create(&path).unwrap();
    Command::new("java")
        .args(["-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"])
        .arg(format!("-Dlog4j2.configurationFile={}", log4j.display()))
        .arg("-cp")
        .arg(env("OFFSET_LAB_KAFKA_CLASSPATH"))
        .arg(CGC)
        .args(args.split_whitespace())
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .status()
        .expect("java runs");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    terminal(text.lines().map(str::to_string).collect())
}

fn terminal(lines: Vec<String>) -> Vec<String> {
    let mut lines: Vec<String> = lines.into_iter().map(|l| l.trim_end().to_string()).collect();
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_offsets_prints_the_real_tools_whole_output_for_any_topic() {
    let bootstrap = env("OFFSET_LAB_KAFKA_BOOTSTRAP");
    let k = Kafka::new(&bootstrap);
    let prefix = fresh("w");
    let (t, g) = reset_fixture(&k, &prefix).await;
    // Other names and partition counts than any scenario's: a topic of 5 partitions, one of 2 with records.
    let five = format!("{prefix}-five-{:x}", std::process::id());
    k.create_topic(&five, 5).await.unwrap();
    let two = format!("{prefix}-two");
    k.create_topic(&two, 2).await.unwrap();
    k.produce(&two, &[NewRecord::new(None, "a"), NewRecord::new(None, "b")], Some(1)).await.unwrap();
    let cases: Vec<String> = vec![
        // No committed offset: the message, then the usage text (exit 1); with and without --execute/--dry-run.
        format!("--topic {five}:3 --shift-by -2 --execute"),
        format!("--topic {five} --shift-by 1 --dry-run"),
        format!("--topic {two}:1 --shift-by 1"),
        format!("--topic {t} --shift-by 1 --dry-run"),
        format!("--all-topics --topic {five} --shift-by -1 --dry-run"),
        // The other usage errors.
        "--to-earliest --dry-run".into(),
        format!("--topic {t} --dry-run"),
        format!("--topic {t} --to-earliest --dry-run --execute"),
        format!("--topic {five}:1,x --to-earliest"),
        // Refused for an unknown topic; plans, warnings and the implicit dry run's warning.
        format!("--topic {prefix}-missing --to-earliest --dry-run"),
        format!("--topic {two} --to-latest"),
        format!("--topic {t}:0,1 --shift-by -5 --dry-run"),
        format!("--topic {t}:0,1 --to-offset 100 --dry-run"),
        // Tables of many rows, printed in the order of the tool's HashMap.
        format!("--topic {t} --to-latest --dry-run"),
        format!("--topic {five} --to-earliest --dry-run"),
        format!("--topic {five} --topic {two} --to-latest --dry-run"),
        format!("--topic {t}:2,0,1 --to-earliest --dry-run"),
        format!("--topic {five} --to-datetime 2100-01-01T00:00:00.000Z --dry-run"),
    ];
    let mut usage = 0;
    for case in &cases {
        let group = if case.starts_with("--to-earliest") { String::new() } else { format!("--group {g} ") };
        let args = format!("--bootstrap-server {bootstrap} {group}--reset-offsets {case}");
        let ours = match k.reset_offsets(&args, 0).await {
            Ok(plan) => plan.lines,
            Err(e) => kafka_model::reset::error_output(&e),
        };
        let ours = terminal(ours);
        let theirs = tokio::task::spawn_blocking({
            let args = args.clone();
            move || tool_terminal(&args)
        })
        .await
        .unwrap();
        assert!(!theirs.is_empty(), "{args}: the tool printed nothing");
        for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
            assert_eq!(a, b, "{args}: line {} differs\n--- ours ---\n{}\n--- tool ---\n{}", i + 1, ours.join("\n"), theirs.join("\n"));
        }
        assert_eq!(ours.len(), theirs.len(), "{args}\n--- ours ---\n{}\n--- tool ---\n{}", ours.join("\n"), theirs.join("\n"));
        usage += usize::from(ours.iter().any(|l| l.starts_with("--shift-by <Long: number-of-offsets>")));
    }
    // The usage text was part of the comparison (every usage error above printed it).
    assert_eq!(usage, 8);
    for topic in [&t, &five, &two] {
        k.delete_topic(topic).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_membership_keeps_the_group_stable_and_reset_is_refused_like_the_tool() {
    let bootstrap = env("OFFSET_LAB_KAFKA_BOOTSTRAP");
    let k = Kafka::new(&bootstrap);
    let (t, g) = reset_fixture(&k, &fresh("m")).await;
    let poll = |member_id: Option<String>| KafkaRequest::GroupPoll {
        group: g.clone(),
        member_id,
        client_id: "driver".into(),
        topics: vec![t.clone()],
        session_timeout_ms: 120_000,
        metadata_max_age_ms: engine::METADATA_MAX_AGE_MS,
    };
    let (member, generation) = match k.engine(&poll(None)).await {
        KafkaReply::Assignment { member_id, generation, partitions } => {
            assert_eq!(partitions, (0..3).map(|p| TopicPartition::new(t.clone(), p)).collect::<Vec<_>>());
            (member_id, generation)
        }
        r => panic!("{r:?}"),
    };
    // A second poll heartbeats and keeps the assignment.
    assert!(matches!(k.engine(&poll(Some(member.clone()))).await, KafkaReply::Assignment { generation: g2, .. } if g2 == generation));

    let args = format!("--bootstrap-server {bootstrap} --group {g} --reset-offsets --dry-run --all-topics --to-earliest");
    let ours = our_reset(&g, k.reset_offsets(&args, 0).await);
    let (code, out, err) = kafka_tool_async(CGC, args.split_whitespace().map(str::to_string).collect()).await;
    assert_eq!(ours, parse_tool_reset(&g, code, &out, &err), "tool: {out}\n{err}");
    assert_eq!(ours.error, Some(format!("Assignments can only be reset if the group '{g}' is inactive, but the current state is Stable.")));

    // A member's commit (with generation) works; an admin commit (generation −1) is fenced.
    let commit = KafkaRequest::OffsetCommit {
        group: g.clone(),
        member: Some((member.clone(), generation)),
        offsets: vec![(TopicPartition::new(t.clone(), 1), 2)],
    };
    assert_eq!(k.engine(&commit).await, KafkaReply::CommitResult { result: Ok(()) });
    let commit = KafkaRequest::OffsetCommit { group: g.clone(), member: None, offsets: vec![(TopicPartition::new(t.clone(), 1), 3)] };
    match k.engine(&commit).await {
        KafkaReply::CommitResult { result: Err(e) } => assert_eq!(e, KafkaError::UnknownMemberId),
        r => panic!("{r:?}"),
    }
    // Our describe equals `kafka-consumer-groups --describe` row for row.
    let described = k.describe_group(&g).await.unwrap();
    let (_, out, err) = kafka_tool_async(CGC, s(&["--bootstrap-server", &bootstrap, "--describe", "--group", &g])).await;
    assert_eq!(describe_rows(&described), tool_describe_rows(&g, &out), "tool:\n{out}\n{err}");
    assert_eq!(described.state, GroupState::Stable);
    assert_eq!(described.members.len(), 1);
    assert_eq!(described.members[0].member_id, member);
    assert!(described.offsets.iter().all(|o| o.member_id.as_deref() == Some(member.as_str())));

    // The engine's offset fetch and fetch.
    let fetch = KafkaRequest::OffsetFetch {
        group: g.clone(),
        partitions: vec![TopicPartition::new(t.clone(), 1), TopicPartition::new(t.clone(), 2)],
    };
    assert_eq!(
        k.engine(&fetch).await,
        KafkaReply::Committed { offsets: vec![(TopicPartition::new(t.clone(), 1), Some(2)), (TopicPartition::new(t.clone(), 2), None)] }
    );
    match k.engine(&KafkaRequest::Fetch { partition: TopicPartition::new(t.clone(), 0), offset: 2, max_records: 10 }).await {
        KafkaReply::Records { records, log_start_offset, high_watermark } => {
            assert_eq!((log_start_offset, high_watermark), (2, 4));
            assert_eq!(records.iter().map(|r| r.offset).collect::<Vec<_>>(), vec![2, 3]);
        }
        r => panic!("{r:?}"),
    }
    // Below the log start: OFFSET_OUT_OF_RANGE, as an executor would see it.
    match k.engine(&KafkaRequest::Fetch { partition: TopicPartition::new(t.clone(), 0), offset: 0, max_records: 10 }).await {
        KafkaReply::FetchError { error } => assert_eq!(error, KafkaError::OffsetOutOfRange),
        r => panic!("{r:?}"),
    }

    // Leaving empties the group; the reset is then allowed.
    assert_eq!(k.engine(&KafkaRequest::LeaveGroup { group: g.clone(), member_id: member }).await, KafkaReply::Left);
    let ours = our_reset(&g, k.reset_offsets(&args, 0).await);
    assert_eq!(ours.error, None);
    assert_eq!(ours.plan.len(), 2);
    k.delete_topic(&t).await.unwrap();
}

/// Every JSON object the `__consumer_offsets` formatter printed for `group` (it prints them back to back).
fn formatter_records(bootstrap: &str, partition: i32, formatter: &str, group: &str) -> Vec<serde_json::Value> {
    let (_, out, err) = kafka_tool(
        "org.apache.kafka.tools.consumer.ConsoleConsumer",
        &s(&[
            "--bootstrap-server",
            bootstrap,
            "--topic",
            "__consumer_offsets",
            "--partition",
            &partition.to_string(),
            "--offset",
            "earliest",
            "--formatter",
            formatter,
            "--consumer-property",
            "exclude.internal.topics=false",
            "--timeout-ms",
            "5000",
        ]),
    );
    let all: Vec<serde_json::Value> =
        serde_json::Deserializer::from_str(&out).into_iter::<serde_json::Value>().map(|v| v.expect("formatter JSON")).collect();
    assert!(!all.is_empty(), "the formatter printed nothing for partition {partition}: {err}");
    all.into_iter().filter(|v| v["key"]["data"]["group"] == group).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumer_offsets_records_match_kafkas_formatters() {
    let bootstrap = env("OFFSET_LAB_KAFKA_BOOTSTRAP");
    let k = Kafka::new(&bootstrap);
    let (t, g) = reset_fixture(&k, &fresh("o")).await;
    // A member joins and leaves (GroupMetadata records), and commits once more (an OffsetCommit record).
    let poll = KafkaRequest::GroupPoll {
        group: g.clone(),
        member_id: None,
        client_id: "driver".into(),
        topics: vec![t.clone()],
        session_timeout_ms: 120_000,
        metadata_max_age_ms: engine::METADATA_MAX_AGE_MS,
    };
    let (member, generation) = match k.engine(&poll).await {
        KafkaReply::Assignment { member_id, generation, .. } => (member_id, generation),
        r => panic!("{r:?}"),
    };
    let commit = KafkaRequest::OffsetCommit {
        group: g.clone(),
        member: Some((member.clone(), generation)),
        offsets: vec![(TopicPartition::new(t.clone(), 1), 2)],
    };
    assert_eq!(k.engine(&commit).await, KafkaReply::CommitResult { result: Ok(()) });
    assert_eq!(k.engine(&KafkaRequest::LeaveGroup { group: g.clone(), member_id: member }).await, KafkaReply::Left);

    let partition = k.offsets_topic_partition(&g).await.unwrap();
    let b2 = bootstrap.clone();
    let g2 = g.clone();
    let (commits, groups) = tokio::task::spawn_blocking(move || {
        (
            formatter_records(&b2, partition, "org.apache.kafka.tools.consumer.OffsetsMessageFormatter", &g2),
            formatter_records(&b2, partition, "org.apache.kafka.tools.consumer.GroupMetadataMessageFormatter", &g2),
        )
    })
    .await
    .unwrap();
    assert_eq!(commits.len(), 3, "{commits:?}");
    assert!(groups.len() >= 2, "{groups:?}");

    // Everything in the partition up to its high watermark: the formatters ran after the last write.
    let (ours, _) = k.read_offsets_topic(&g, partition, None).await.unwrap();
    let our_commits: Vec<serde_json::Value> = ours
        .iter()
        .filter_map(|r| match r {
            kafka_model::OffsetsTopicRecord::OffsetCommit { group, topic, partition, value, .. } => Some(serde_json::json!({
                "key": {"type": 1, "data": {"group": group, "topic": topic, "partition": partition}},
                "value": value.as_ref().map(|v| serde_json::json!({"version": v.version, "data": {
                    "offset": v.offset, "leaderEpoch": v.leader_epoch, "metadata": v.metadata, "commitTimestamp": v.commit_timestamp}}))
            })),
            _ => None,
        })
        .collect();
    assert_eq!(our_commits, commits);
    let summary = |v: &serde_json::Value| {
        let d = &v["value"]["data"];
        let members: Vec<serde_json::Value> = d["members"]
            .as_array()
            .map(|ms| {
                ms.iter()
                    .map(|m| serde_json::json!([m["memberId"], m["clientId"], m["clientHost"], m["sessionTimeout"], m["rebalanceTimeout"]]))
                    .collect()
            })
            .unwrap_or_default();
        serde_json::json!([
            v["value"]["version"],
            d["protocolType"],
            d["generation"],
            d["protocol"],
            d["leader"],
            d["currentStateTimestamp"],
            members
        ])
    };
    let our_groups: Vec<serde_json::Value> = ours
        .iter()
        .filter_map(|r| match r {
            kafka_model::OffsetsTopicRecord::GroupMetadata { value, .. } => Some(match value {
                None => serde_json::json!(null),
                Some(v) => serde_json::json!([
                    v.version,
                    v.protocol_type,
                    v.generation,
                    v.protocol,
                    v.leader,
                    v.current_state_timestamp,
                    v.members
                        .iter()
                        .map(|m| serde_json::json!([m.member_id, m.client_id, m.client_host, m.session_timeout, m.rebalance_timeout]))
                        .collect::<Vec<_>>()
                ]),
            }),
            _ => None,
        })
        .collect();
    let their_groups: Vec<serde_json::Value> =
        groups.iter().map(|v| if v["value"].is_null() { serde_json::json!(null) } else { summary(v) }).collect();
    assert_eq!(our_groups, their_groups);
    k.delete_topic(&t).await.unwrap();
}
