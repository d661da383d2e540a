//! Scenario files (`docs/scenarios.md`): parsing and checking, with errors that name the line.

use engine::config::{JobConfig, OutputOp, Strategy, Transform};
use engine::offsets::TopicPartition;
use engine::time::{Duration, Time};
use serde::Deserialize;
use std::collections::BTreeMap;

/// A parsed, checked scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    pub name: String,
    pub title: String,
    pub description: String,
    /// Midnight UTC of `day`, epoch ms: clock times are offsets from it.
    pub day_start: Time,
    pub topics: Vec<(String, i32)>,
    pub job: JobConfig,
    pub steps: Vec<Step>,
    /// The walkthrough's chapters (`[[chapter]]`), in order; empty, or covering every step.
    /// Not engine input: the runner never reads them.
    pub chapters: Vec<Chapter>,
}

/// A `[[chapter]]`: it opens at the step written after it and runs until the next chapter.
#[derive(Clone, Debug, PartialEq)]
pub struct Chapter {
    pub title: String,
    pub narration: String,
    /// Step indices `[start, end)`.
    pub steps: std::ops::Range<usize>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub at: Time,
    pub action: Action,
    /// 1-based line of the step's `[[step]]` header.
    pub line: usize,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    Start {
        job: JobConfig,
    },
    Stop {
        graceful: bool,
    },
    Kill,
    Produce {
        topic: String,
        records: Vec<(Option<i32>, Option<String>, String)>,
    },
    CreateTopic {
        topic: String,
        partitions: i32,
    },
    DeleteTopic {
        topic: String,
    },
    DeleteRecords {
        partition: TopicPartition,
        before: i64,
    },
    ResetOffsets {
        args: String,
    },
    DeleteCheckpoint,
    ChangeCode,
    /// Another consumer (`kafka-console-consumer --group …`) joins the group and keeps polling.
    JoinGroup {
        group: String,
        topics: Vec<String>,
    },
    /// That consumer stops (LeaveGroup).
    LeaveGroup {
        group: String,
    },
    AddPartitions {
        topic: String,
        partitions: i32,
    },
    Expect(Box<Expect>),
}

/// Offset ranges as scenarios write them: `"words-0" = [from, until]`.
pub type Ranges = BTreeMap<TopicPartition, (i64, i64)>;

/// What an `expect` step checks; `None` means "not checked".
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    pub current_offsets: Option<BTreeMap<TopicPartition, i64>>,
    pub committed: Option<BTreeMap<TopicPartition, i64>>,
    pub no_committed: Option<Vec<TopicPartition>>,
    pub log_end: Option<BTreeMap<TopicPartition, i64>>,
    pub log_start: Option<BTreeMap<TopicPartition, i64>>,
    pub group_state: Option<String>,
    pub running: Option<bool>,
    pub error: Option<String>,
    pub error_class: Option<String>,
    pub no_error: Option<bool>,
    pub state: Option<BTreeMap<String, i64>>,
    pub last_ranges: Option<Ranges>,
    /// Ranges of the batches at these clock times (their newest generation).
    pub batch_ranges: Option<BTreeMap<String, Ranges>>,
    pub checkpoint_files: Option<Vec<String>>,
    pub newest_checkpoint: Option<NewestCheckpoint>,
    pub output_since_last_expect: Option<Vec<String>>,
    pub tool_output: Option<Vec<String>>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewestCheckpoint {
    pub file: Option<String>,
    pub current_offsets: Option<BTreeMap<TopicPartition, i64>>,
    /// Queued ranges as `"topic-p" = [from, until]`, in queue order per partition.
    pub commit_queue: Option<Vec<(TopicPartition, i64, i64)>>,
    pub pending_times: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    version: u32,
    name: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
    day: Option<String>,
    #[serde(default)]
    topic: Vec<RawTopic>,
    job: RawJob,
    #[serde(default)]
    step: Vec<RawStep>,
    #[serde(default)]
    chapter: Vec<RawChapter>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChapter {
    title: String,
    #[serde(default)]
    narration: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTopic {
    name: String,
    partitions: i32,
}

#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawJob {
    app_name: Option<String>,
    checkpoint_dir: Option<String>,
    batch_interval: Option<String>,
    strategy: Option<String>,
    topics: Option<Vec<String>>,
    assign: Option<Vec<TopicPartition>>,
    starting_offsets: Option<BTreeMap<TopicPartition, i64>>,
    group: Option<String>,
    auto_offset_reset: Option<String>,
    enable_auto_commit: Option<bool>,
    max_rate_per_partition: Option<i64>,
    min_rate_per_partition: Option<i64>,
    pipeline: Option<Vec<String>>,
    outputs: Option<Vec<String>>,
    /// More `kafkaParams` for the consumers, as a Spark job passes them (`"auto.commit.interval.ms" = 4000`).
    kafka_params: Option<BTreeMap<String, toml::Value>>,
}

/// A step's keys; whatever is left over goes to `expect` (serde cannot deny unknown keys here).
#[derive(Deserialize)]
struct RawStep {
    at: String,
    #[serde(rename = "do")]
    action: String,
    job: Option<RawJob>,
    graceful: Option<bool>,
    topic: Option<String>,
    partition: Option<i32>,
    partitions: Option<i32>,
    values: Option<Vec<String>>,
    lines: Option<Vec<String>>,
    before: Option<i64>,
    args: Option<String>,
    group: Option<String>,
    topics: Option<Vec<String>>,
    #[serde(flatten)]
    expect: BTreeMap<String, toml::Value>,
}

/// Parses and checks a scenario; `file` only names it in errors.
pub fn parse(file: &str, text: &str) -> Result<Scenario, String> {
    let raw: RawScenario = toml::from_str(text).map_err(|e| format!("{file}: {e}"))?;
    let step_lines = header_lines(text, "[[step]]");
    let err_at = |i: usize, msg: String| format!("{file}:{}: step {} : {msg}", step_lines.get(i).copied().unwrap_or(0), i + 1);
    if raw.version != 1 {
        return Err(format!("{file}: version {} is not supported (this build reads version 1)", raw.version));
    }
    let day = raw.day.as_deref().unwrap_or("2026-01-01");
    let day_start = Time(
        kafka_model::reset::parse_datetime(&format!("{day}T00:00:00.000")).map_err(|_| format!("{file}: day `{day}` is not YYYY-MM-DD"))?,
    );
    let job = build_job(&RawJob::default(), &raw.job).map_err(|e| format!("{file}: [job]: {e}"))?;
    let chapters = chapters(file, text, raw.chapter, &step_lines)?;
    let mut steps = Vec::new();
    let mut last = Time(i64::MIN);
    for (i, s) in raw.step.into_iter().enumerate() {
        let at = Time(day_start.ms() + parse_clock(&s.at).map_err(|e| err_at(i, e))?);
        if at < last {
            return Err(err_at(i, format!("`at = \"{}\"` is earlier than the step before it; time never goes backwards", s.at)));
        }
        last = at;
        let action = build_action(&raw.job, &job, s).map_err(|e| err_at(i, e))?;
        steps.push(Step { at, action, line: step_lines.get(i).copied().unwrap_or(0) });
    }
    Ok(Scenario {
        name: raw.name,
        title: raw.title,
        description: raw.description,
        day_start,
        topics: raw.topic.into_iter().map(|t| (t.name, t.partitions)).collect(),
        job,
        steps,
        chapters,
    })
}

/// Where each `[[chapter]]` header stands among the `[[step]]` headers decides its steps, so a step
/// added anywhere lands in the chapter written above it.
fn chapters(file: &str, text: &str, raw: Vec<RawChapter>, step_lines: &[usize]) -> Result<Vec<Chapter>, String> {
    let lines = header_lines(text, "[[chapter]]");
    if lines.len() != raw.len() {
        return Err(format!(
            "{file}: {} chapter tables but {} `[[chapter]]` header lines: write each chapter as a `[[chapter]]` line of its own, \
             right before the step that opens it",
            raw.len(),
            lines.len()
        ));
    }
    let starts: Vec<usize> = lines.iter().map(|l| step_lines.iter().filter(|s| *s < l).count()).collect();
    let mut out = Vec::new();
    for (i, (c, &start)) in raw.into_iter().zip(&starts).enumerate() {
        let end = starts.get(i + 1).copied().unwrap_or(step_lines.len());
        let at = format!("{file}:{}: chapter {}", lines[i], i + 1);
        if c.title.trim().is_empty() {
            return Err(format!("{at}: `title` is empty"));
        }
        if i == 0 && start > 0 {
            return Err(format!("{at}: steps 1–{start} come before the first chapter; with chapters, every step belongs to one"));
        }
        if end == start {
            return Err(format!("{at} (`{}`) has no steps: put it right before the step that opens it", c.title));
        }
        out.push(Chapter { title: c.title, narration: c.narration, steps: start..end });
    }
    Ok(out)
}

fn build_action(base: &RawJob, job: &JobConfig, s: RawStep) -> Result<Action, String> {
    let a = s.action.as_str();
    let mut allowed: Vec<&str> = match a {
        "start" => vec!["job"],
        "stop" => vec!["graceful"],
        "produce" => vec!["topic", "partition", "values", "lines"],
        "create_topic" => vec!["topic", "partitions"],
        "delete_topic" => vec!["topic"],
        "delete_records" => vec!["topic", "partition", "before"],
        "reset_offsets" => vec!["args"],
        "join_group" => vec!["group", "topics"],
        "leave_group" => vec!["group"],
        "add_partitions" => vec!["topic", "partitions"],
        "kill" | "delete_checkpoint" | "change_code" | "expect" => vec![],
        other => return Err(format!("unknown `do = \"{other}\"`; known: start, stop, kill, produce, create_topic, delete_topic, delete_records, add_partitions, reset_offsets, join_group, leave_group, delete_checkpoint, change_code, expect")),
    };
    let given: Vec<&str> = [
        ("job", s.job.is_some()),
        ("graceful", s.graceful.is_some()),
        ("topic", s.topic.is_some()),
        ("partition", s.partition.is_some()),
        ("partitions", s.partitions.is_some()),
        ("values", s.values.is_some()),
        ("lines", s.lines.is_some()),
        ("before", s.before.is_some()),
        ("args", s.args.is_some()),
        ("group", s.group.is_some()),
        ("topics", s.topics.is_some()),
    ]
    .iter()
    .filter(|(_, g)| *g)
    .map(|(k, _)| *k)
    .collect();
    allowed.push("at");
    if let Some(k) = given.iter().find(|k| !allowed.contains(k)) {
        return Err(format!("`{k}` does not belong to `do = \"{a}\"`"));
    }
    if a != "expect" {
        if let Some(k) = s.expect.keys().next() {
            return Err(format!("unknown key `{k}` for `do = \"{a}\"`"));
        }
    }
    let need = |v: Option<String>, k: &str| v.ok_or_else(|| format!("`do = \"{a}\"` needs `{k}`"));
    Ok(match a {
        "start" => Action::Start {
            job: match &s.job {
                Some(over) => build_job(base, over).map_err(|e| format!("job: {e}"))?,
                None => job.clone(),
            },
        },
        "stop" => Action::Stop { graceful: s.graceful.unwrap_or(true) },
        "kill" => Action::Kill,
        "produce" => {
            let topic = need(s.topic, "topic")?;
            let records = match (s.values, s.lines, s.partition) {
                (Some(vs), None, p) => {
                    if p.is_none() {
                        return Err("`values` need a `partition` (or use `lines = [\"key:::value\"]`)".into());
                    }
                    vs.into_iter().map(|v| (p, None, v)).collect()
                }
                (None, Some(ls), None) => ls
                    .iter()
                    .enumerate()
                    .map(|(i, l)| kafka_model::partitioner::parse_line(l, Some(":::"), i + 1).map(|(k, v)| (None, k, v)))
                    .collect::<Result<Vec<_>, _>>()?,
                (None, Some(_), Some(_)) => return Err("`lines` are placed by their keys; drop `partition`".into()),
                _ => return Err("`do = \"produce\"` needs exactly one of `values` (with `partition`) or `lines`".into()),
            };
            Action::Produce { topic, records }
        }
        "create_topic" => Action::CreateTopic {
            topic: need(s.topic, "topic")?,
            partitions: s.partitions.ok_or("`do = \"create_topic\"` needs `partitions`")?,
        },
        "delete_topic" => Action::DeleteTopic { topic: need(s.topic, "topic")? },
        "delete_records" => Action::DeleteRecords {
            partition: TopicPartition::new(need(s.topic, "topic")?, s.partition.ok_or("`do = \"delete_records\"` needs `partition`")?),
            before: s.before.ok_or("`do = \"delete_records\"` needs `before`")?,
        },
        "reset_offsets" => Action::ResetOffsets { args: need(s.args, "args")? },
        "join_group" => Action::JoinGroup {
            group: s.group.or_else(|| job.group_id().map(str::to_string)).ok_or("`join_group` needs `group` (the job has none)")?,
            topics: s.topics.unwrap_or_else(|| job.strategy.topics()),
        },
        "leave_group" => {
            Action::LeaveGroup { group: s.group.or_else(|| job.group_id().map(str::to_string)).ok_or("`leave_group` needs `group`")? }
        }
        "add_partitions" => Action::AddPartitions {
            topic: need(s.topic, "topic")?,
            partitions: s.partitions.ok_or("`do = \"add_partitions\"` needs `partitions` (the new total)")?,
        },
        "delete_checkpoint" => Action::DeleteCheckpoint,
        "change_code" => Action::ChangeCode,
        "expect" => {
            let table = toml::Value::Table(s.expect.into_iter().collect());
            let e: Expect = table.try_into().map_err(|e: toml::de::Error| format!("expect: {}", e.message()))?;
            Action::Expect(Box::new(e))
        }
        _ => unreachable!("checked above"),
    })
}

/// Builds the job from `[job]`, with `over`'s keys taking precedence.
fn build_job(base: &RawJob, over: &RawJob) -> Result<JobConfig, String> {
    macro_rules! pick {
        ($f:ident) => {
            over.$f.clone().or_else(|| base.$f.clone())
        };
    }
    let group = pick!(group);
    let mut kafka_params = BTreeMap::new();
    if let Some(g) = &group {
        kafka_params.insert("group.id".to_string(), g.clone());
    }
    kafka_params.insert("auto.offset.reset".into(), pick!(auto_offset_reset).unwrap_or_else(|| "latest".into()));
    // Kafka's default is true, and Spark does not change it for the driver (§1.8).
    kafka_params.insert("enable.auto.commit".into(), pick!(enable_auto_commit).unwrap_or(true).to_string());
    // `over`'s params are merged into `[job]`'s, key by key
    for (k, v) in base.kafka_params.iter().chain(over.kafka_params.iter()).flatten() {
        if matches!(k.as_str(), "group.id" | "auto.offset.reset" | "enable.auto.commit") {
            return Err(format!("kafka_params: `{k}` has a key of its own in [job] (group, auto_offset_reset, enable_auto_commit)"));
        }
        let v = match v {
            toml::Value::String(s) => s.clone(),
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            toml::Value::Float(f) => f.to_string(),
            _ => return Err(format!("kafka_params: `{k}` must be a string, number or boolean")),
        };
        kafka_params.insert(k.clone(), v);
    }
    let offsets = pick!(starting_offsets).unwrap_or_default();
    let strategy = match pick!(strategy).as_deref().unwrap_or("Subscribe") {
        "Subscribe" => {
            if pick!(assign).is_some() {
                return Err("`assign` belongs to strategy = \"Assign\"".into());
            }
            Strategy::Subscribe { topics: pick!(topics).ok_or("Subscribe needs `topics`")?, offsets }
        }
        "Assign" => Strategy::Assign { partitions: pick!(assign).ok_or("Assign needs `assign = [\"topic-0\", …]`")?, offsets },
        other => return Err(format!("strategy `{other}` is not one of Subscribe, Assign")),
    };
    if matches!(strategy, Strategy::Subscribe { .. }) && group.is_none() {
        return Err("Subscribe needs a `group` (group.id)".into());
    }
    let pipeline = pick!(pipeline)
        .unwrap_or_else(|| vec!["map(r => (r.value, 1))".into(), "updateStateByKey(sum)".into()])
        .into_iter()
        .map(Transform::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    let outputs = pick!(outputs)
        .unwrap_or_else(|| vec!["print()".into(), "foreachRDD(commitAsync)".into()])
        .into_iter()
        .map(OutputOp::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    let checkpoint_dir = match pick!(checkpoint_dir) {
        Some(d) if d.is_empty() => None,
        Some(d) => Some(d),
        None => Some("ckpt".into()),
    };
    let job = JobConfig {
        app_name: pick!(app_name).unwrap_or_else(|| "words".into()),
        checkpoint_dir,
        batch_duration: Duration(parse_duration(pick!(batch_interval).as_deref().unwrap_or("5s"))?),
        strategy,
        kafka_params,
        max_rate_per_partition: pick!(max_rate_per_partition).unwrap_or(0),
        min_rate_per_partition: pick!(min_rate_per_partition).unwrap_or(1),
        pipeline,
        outputs,
    };
    job.validate()?;
    Ok(job)
}

/// `"5s"`, `"500ms"`, `"1m"`.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    let bad = || format!("duration `{s}` is not like \"5s\", \"500ms\" or \"1m\"");
    let (num, mult) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1000)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60_000)
    } else {
        return Err(bad());
    };
    let n: i64 = num.trim().parse().map_err(|_| bad())?;
    if n <= 0 {
        return Err(bad());
    }
    Ok(n * mult)
}

/// `HH:MM:SS[.mmm]` → ms since midnight.
pub fn parse_clock(s: &str) -> Result<i64, String> {
    let bad = || format!("`at = \"{s}\"` is not a clock time like \"12:00:05\" or \"12:00:05.250\"");
    let (hms, ms) = s.split_once('.').unwrap_or((s, "0"));
    let parts: Vec<&str> = hms.split(':').collect();
    if parts.len() != 3 || ms.len() > 3 {
        return Err(bad());
    }
    let n: Vec<i64> = parts.iter().map(|p| p.parse::<i64>().map_err(|_| bad())).collect::<Result<_, _>>()?;
    let ms: i64 = format!("{ms:0<3}").parse().map_err(|_| bad())?;
    if n[0] > 23 || n[1] > 59 || n[2] > 59 || n.iter().any(|v| *v < 0) {
        return Err(bad());
    }
    Ok(n[0] * 3_600_000 + n[1] * 60_000 + n[2] * 1000 + ms)
}

/// 1-based line numbers of every line that is exactly `header` (after trimming).
fn header_lines(text: &str, header: &str) -> Vec<usize> {
    text.lines().enumerate().filter(|(_, l)| l.trim() == header).map(|(i, _)| i + 1).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
version = 1
name = "t"
[[topic]]
name = "words"
partitions = 3
[job]
topics = ["words"]
group = "g"
[[step]]
at = "12:00:02"
do = "start"
[[step]]
at = "12:00:12"
do = "produce"
topic = "words"
partition = 0
values = ["a", "b"]
[[step]]
at = "12:00:20"
do = "expect"
committed = { "words-0" = 2 }
"#;

    #[test]
    fn parses_a_minimal_scenario() {
        let s = parse("t.toml", MINIMAL).unwrap();
        assert_eq!(s.steps.len(), 3);
        assert_eq!(s.steps[0].at, Time(1_767_268_802_000));
        assert_eq!(s.steps[1].line, 13);
        // Left out, enable.auto.commit takes Kafka's default (true); everything else is the seed's job.
        let mut seed = JobConfig::seed(&["words"], "g");
        seed.kafka_params.insert("enable.auto.commit".into(), "true".into());
        assert_eq!(s.job, seed);
        match &s.steps[2].action {
            Action::Expect(e) => assert_eq!(e.committed.as_ref().unwrap()[&TopicPartition::new("words", 0)], 2),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn errors_name_the_line_and_the_problem() {
        let e = parse("t.toml", &MINIMAL.replace("do = \"produce\"", "do = \"prodce\"")).unwrap_err();
        assert!(e.starts_with("t.toml:13: step 2"), "{e}");
        assert!(e.contains("unknown `do = \"prodce\"`"), "{e}");
        let e = parse("t.toml", &MINIMAL.replace("at = \"12:00:12\"", "at = \"12:00:01\"")).unwrap_err();
        assert!(e.contains("time never goes backwards"), "{e}");
        let e = parse("t.toml", &MINIMAL.replace("committed =", "comitted =")).unwrap_err();
        assert!(e.contains("comitted"), "{e}");
        let e = parse("t.toml", "version = 1\nname = ").unwrap_err();
        assert!(e.contains("line 2"), "{e}");
        let e = parse("t.toml", &MINIMAL.replace("group = \"g\"", "group = \"g\"\npipeline = [\"map(x => x)\"]")).unwrap_err();
        assert!(e.contains("unknown transformation"), "{e}");
    }

    /// MINIMAL with a first chapter above its first step and `produce` (the produce step's header and `at`) replaced.
    fn chaptered(produce: &str) -> String {
        MINIMAL.replacen("[[step]]", "[[chapter]]\ntitle = \"Start\"\nnarration = \"getOrCreate\"\n\n[[step]]", 1).replacen(
            "[[step]]\nat = \"12:00:12\"",
            produce,
            1,
        )
    }

    #[test]
    fn a_chapter_opens_at_the_step_after_it_and_an_added_step_stays_in_its_chapter() {
        let second = "[[chapter]]\ntitle = \"Produce\"\n[[step]]\nat = \"12:00:12\"";
        let s = parse("t.toml", &chaptered(second)).unwrap();
        let got: Vec<_> = s.chapters.iter().map(|c| (c.title.as_str(), c.steps.clone())).collect();
        assert_eq!(got, vec![("Start", 0..1), ("Produce", 1..3)]);
        assert_eq!(s.chapters[0].narration, "getOrCreate");
        // Chapters are not engine input: the steps are those of the file without them.
        assert_eq!(
            s.steps.iter().map(|s| &s.action).collect::<Vec<_>>(),
            parse("t.toml", MINIMAL).unwrap().steps.iter().map(|s| &s.action).collect::<Vec<_>>()
        );
        // One more step in the first chapter: the second chapter still opens at the produce.
        let added = format!("[[step]]\nat = \"12:00:05\"\ndo = \"kill\"\n\n{second}");
        let s = parse("t.toml", &chaptered(&added)).unwrap();
        let got: Vec<_> = s.chapters.iter().map(|c| c.steps.clone()).collect();
        assert_eq!(got, vec![0..2, 2..4]);
        assert!(matches!(s.steps[2].action, Action::Produce { .. }));
    }

    #[test]
    fn misplaced_chapters_are_refused_with_their_line() {
        let late = MINIMAL.replacen("[[step]]\nat = \"12:00:12\"", "[[chapter]]\ntitle = \"Produce\"\n[[step]]\nat = \"12:00:12\"", 1);
        let e = parse("t.toml", &late).unwrap_err();
        assert!(e.starts_with("t.toml:13: chapter 1") && e.contains("steps 1–1 come before the first chapter"), "{e}");
        let empty = format!("{MINIMAL}[[chapter]]\ntitle = \"After\"\n");
        let e = parse("t.toml", &empty.replacen("[[step]]", "[[chapter]]\ntitle = \"A\"\n[[step]]", 1)).unwrap_err();
        assert!(e.contains("chapter 2 (`After`) has no steps"), "{e}");
        let inline = MINIMAL.replacen("name = \"t\"", "name = \"t\"\nchapter = [{ title = \"A\" }]", 1);
        let e = parse("t.toml", &inline).unwrap_err();
        assert!(e.contains("1 chapter tables but 0 `[[chapter]]` header lines"), "{e}");
        let untitled = MINIMAL.replacen("[[step]]", "[[chapter]]\ntitle = \" \"\n[[step]]", 1);
        assert!(parse("t.toml", &untitled).unwrap_err().contains("`title` is empty"));
    }

    #[test]
    fn clock_and_durations() {
        assert_eq!(parse_clock("12:00:05.25"), Ok(43_205_250));
        assert!(parse_clock("25:00:00").is_err());
        assert_eq!(parse_duration("500ms"), Ok(500));
        assert!(parse_duration("5").is_err());
    }
}
