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
    /// `[job] api = "structured"`: a Structured Streaming query and its steps (below);
    /// then `job` is the seed's and `steps` is empty, so a DStream shell runs nothing.
    pub structured: Option<StructuredScenario>,
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
    /// Partitions the stream does not track: absent from its `currentOffsets`.
    pub no_current_offsets: Option<Vec<TopicPartition>>,
    /// Groups that do not exist: no committed offset, and `--describe` finds no such group.
    pub no_group: Option<Vec<String>>,
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
    /// Clock times at which no batch was generated (in any generation).
    pub no_batch: Option<Vec<String>>,
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
    /// Partitions absent from the checkpoint's `currentOffsets`.
    pub no_current_offsets: Option<Vec<TopicPartition>>,
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
pub(crate) struct RawJob {
    /// `"dstream"` (the default) or `"structured"`.
    pub(crate) api: Option<String>,
    /// Structured Streaming: `"5s"` (ProcessingTime), `"0s"`, `"AvailableNow"` or `"Once"`.
    pub(crate) trigger: Option<String>,
    /// Structured Streaming: the Kafka source's `.option(k, v)`s, verbatim (`subscribe`, `startingOffsets`, …).
    pub(crate) options: Option<BTreeMap<String, toml::Value>>,
    /// Structured Streaming: `spark.sql.streaming.minBatchesToRetain`.
    pub(crate) min_batches_to_retain: Option<i64>,
    pub(crate) app_name: Option<String>,
    pub(crate) checkpoint_dir: Option<String>,
    pub(crate) batch_interval: Option<String>,
    pub(crate) strategy: Option<String>,
    pub(crate) topics: Option<Vec<String>>,
    pub(crate) assign: Option<Vec<TopicPartition>>,
    pub(crate) starting_offsets: Option<BTreeMap<TopicPartition, i64>>,
    pub(crate) group: Option<String>,
    pub(crate) auto_offset_reset: Option<String>,
    pub(crate) enable_auto_commit: Option<bool>,
    pub(crate) max_rate_per_partition: Option<i64>,
    pub(crate) min_rate_per_partition: Option<i64>,
    pub(crate) pipeline: Option<Vec<String>>,
    pub(crate) outputs: Option<Vec<String>>,
    /// More `kafkaParams` for the consumers, as a Spark job passes them (`"auto.commit.interval.ms" = 4000`).
    pub(crate) kafka_params: Option<BTreeMap<String, toml::Value>>,
}

/// A step's keys; whatever is left over goes to `expect` (serde cannot deny unknown keys here).
#[derive(Deserialize)]
pub(crate) struct RawStep {
    pub(crate) at: String,
    #[serde(rename = "do")]
    pub(crate) action: String,
    pub(crate) job: Option<RawJob>,
    pub(crate) graceful: Option<bool>,
    pub(crate) topic: Option<String>,
    pub(crate) partition: Option<i32>,
    pub(crate) partitions: Option<i32>,
    pub(crate) values: Option<Vec<String>>,
    pub(crate) lines: Option<Vec<String>>,
    pub(crate) before: Option<i64>,
    pub(crate) args: Option<String>,
    pub(crate) group: Option<String>,
    pub(crate) topics: Option<Vec<String>>,
    /// Structured Streaming's `kill`: the driver dies inside the next batch, after `offsets/N`, before `commits/N`.
    pub(crate) in_batch: Option<bool>,
    #[serde(flatten)]
    pub(crate) expect: BTreeMap<String, toml::Value>,
}

/// Parses and checks a scenario; `file` only names it in errors.
pub fn parse(file: &str, text: &str) -> Result<Scenario, String> {
    let raw: RawScenario = toml::from_str(text).map_err(|e| format!("{file}: {e}"))?;
    let step_lines = header_lines(text, "[[step]]");
    // an error about one key names that key's line; any other, the step's `[[step]]` line
    let err_at = |i: usize, e: StepError| {
        let header = step_lines.get(i).copied().unwrap_or(0);
        let end = step_lines.get(i + 1).copied().unwrap_or(usize::MAX);
        let line = e.key.as_deref().and_then(|k| key_line(text, header, end, k)).unwrap_or(header);
        format!("{file}:{line}: step {} : {}", i + 1, e.msg)
    };
    if raw.version != 1 {
        return Err(format!("{file}: version {} is not supported (this build reads version 1)", raw.version));
    }
    let day = raw.day.as_deref().unwrap_or("2026-01-01");
    let day_start = Time(
        kafka_model::reset::parse_datetime(&format!("{day}T00:00:00.000")).map_err(|_| format!("{file}: day `{day}` is not YYYY-MM-DD"))?,
    );
    let chapters = chapters(file, text, raw.chapter, &step_lines)?;
    match raw.job.api.as_deref() {
        None | Some("dstream") => {}
        Some("structured") => {
            let structured = build_structured(file, &raw.job, raw.step, day_start, &step_lines, &err_at)?;
            return Ok(Scenario {
                name: raw.name,
                title: raw.title,
                description: raw.description,
                day_start,
                topics: raw.topic.into_iter().map(|t| (t.name, t.partitions)).collect(),
                job: JobConfig::seed(&["words"], "g"),
                steps: Vec::new(),
                chapters,
                structured: Some(structured),
            });
        }
        Some(other) => return Err(format!("{file}: [job]: api `{other}` is not one of dstream, structured")),
    }
    let job = build_job(&RawJob::default(), &raw.job).map_err(|e| {
        // a kafkaParams value Kafka rejects ("Invalid value … for configuration <key>: …") names that key's line
        let from = header_lines(text, "[job]").first().copied().unwrap_or(0);
        let key = raw.job.kafka_params.iter().flatten().map(|(k, _)| k).find(|k| e.contains(&format!("configuration {k}:")));
        match key.and_then(|k| key_line(text, from, usize::MAX, k)) {
            Some(line) => format!("{file}:{line}: [job]: {e}"),
            None => format!("{file}: [job]: {e}"),
        }
    })?;
    let mut steps = Vec::new();
    let mut last = Time(i64::MIN);
    for (i, s) in raw.step.into_iter().enumerate() {
        let at = Time(day_start.ms() + parse_clock(&s.at).map_err(|e| err_at(i, e.into()))?);
        if at < last {
            return Err(err_at(i, format!("`at = \"{}\"` is earlier than the step before it; time never goes backwards", s.at).into()));
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
        structured: None,
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

/// Why a step was refused; `key` names the key at fault, so the error can give that key's own line.
pub(crate) struct StepError {
    key: Option<String>,
    msg: String,
}

impl From<String> for StepError {
    fn from(msg: String) -> Self {
        StepError { key: None, msg }
    }
}

impl From<&str> for StepError {
    fn from(msg: &str) -> Self {
        msg.to_string().into()
    }
}

/// An `expect` table, deserialized: serde's unknown field becomes an error naming that key.
fn expect_table<T: serde::de::DeserializeOwned>(keys: BTreeMap<String, toml::Value>) -> Result<T, StepError> {
    toml::Value::Table(keys.into_iter().collect()).try_into().map_err(|e: toml::de::Error| {
        let msg = e.message().to_string();
        let key = msg.strip_prefix("unknown field `").and_then(|r| r.split_once('`')).map(|(k, _)| k.to_string());
        StepError { msg: format!("expect: {}", msg.replacen("unknown field", "unknown key", 1)), key }
    })
}

/// Refuses every key of `s` but `at`, `do` and `allowed`: the step's own keys, and (except for
/// `expect`, whose keys its table checks) whatever else was written.
fn only_keys(s: &RawStep, allowed: &[&str], api: &str) -> Result<(), StepError> {
    let a = &s.action;
    let given = [
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
        ("in_batch", s.in_batch.is_some()),
    ];
    if let Some((k, _)) = given.iter().find(|(k, g)| *g && !allowed.contains(k)) {
        return Err(StepError { key: Some(k.to_string()), msg: format!("`{k}` does not belong to `do = \"{a}\"`{api}") });
    }
    if a != "expect" {
        if let Some(k) = s.expect.keys().next() {
            let known = if allowed.is_empty() { "it takes no keys".to_string() } else { format!("it takes {}", allowed.join(", ")) };
            return Err(StepError { key: Some(k.clone()), msg: format!("unknown key `{k}` for `do = \"{a}\"` ({known})") });
        }
    }
    Ok(())
}

/// The first line in `from..to` (1-based, `to` excluded) where `key` is written as a key (`key =`,
/// `{ key =`, `, key =`, quoted or not), if any.
fn key_line(text: &str, from: usize, to: usize, key: &str) -> Option<usize> {
    let is_key_at = |line: &str, i: usize| {
        let before = line[..i].trim_end_matches('"').chars().next_back();
        let after = line[i + key.len()..].trim_start_matches('"').trim_start();
        matches!(before, None | Some(' ' | '\t' | '{' | ',' | '.')) && after.starts_with('=')
    };
    text.lines()
        .enumerate()
        .skip(from.saturating_sub(1))
        .take(to.saturating_sub(from))
        .find(|(_, l)| l.match_indices(key).any(|(i, _)| is_key_at(l, i)))
        .map(|(n, _)| n + 1)
}

fn build_action(base: &RawJob, job: &JobConfig, s: RawStep) -> Result<Action, StepError> {
    let a = s.action.as_str();
    let allowed: Vec<&str> = match a {
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
        other => return Err(format!("unknown `do = \"{other}\"`; known: start, stop, kill, produce, create_topic, delete_topic, delete_records, add_partitions, reset_offsets, join_group, leave_group, delete_checkpoint, change_code, expect").into()),
    };
    only_keys(&s, &allowed, "")?;
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
            let e: Expect = expect_table(s.expect)?;
            Action::Expect(Box::new(e))
        }
        _ => unreachable!("checked above"),
    })
}

/// Builds the job from `[job]`, with `over`'s keys taking precedence.
fn build_job(base: &RawJob, over: &RawJob) -> Result<JobConfig, String> {
    if let Some(k) = structured_key(over) {
        return Err(format!("`{k}` belongs to a Structured Streaming job (api = \"structured\")"));
    }
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

// ---------- Structured Streaming scenarios (`[job] api = "structured"`) ----------

/// A Structured Streaming scenario's query and steps.
#[derive(Clone, Debug, PartialEq)]
pub struct StructuredScenario {
    pub job: StructuredJob,
    pub steps: Vec<StructuredStep>,
}

/// What `spark.readStream.format("kafka").options(…).load().writeStream.trigger(…).option("checkpointLocation", …)` is given.
#[derive(Clone, Debug, PartialEq)]
pub struct StructuredJob {
    pub checkpoint_dir: String,
    /// `"5s"`, `"AvailableNow"`, `"Once"` as written; [`StructuredJob::trigger`] reads it.
    pub trigger: String,
    /// The source's options as written, values as strings (`kafka.bootstrap.servers` is the runner's).
    pub options: BTreeMap<String, String>,
    pub min_batches_to_retain: i64,
}

impl StructuredJob {
    pub fn trigger(&self) -> Result<structured::Trigger, String> {
        Ok(match self.trigger.as_str() {
            "AvailableNow" => structured::Trigger::AvailableNow,
            "Once" => structured::Trigger::Once,
            "0s" | "0ms" | "0" => structured::Trigger::ProcessingTime(Duration(0)),
            d => structured::Trigger::ProcessingTime(Duration(parse_duration(d)?)),
        })
    }

    /// The engine's query: the options as `KafkaSourceProvider` validates them, with `bootstrap`.
    pub fn query(&self, bootstrap: &str) -> Result<structured::QueryConfig, String> {
        let mut opts: Vec<(&str, &str)> = vec![("kafka.bootstrap.servers", bootstrap)];
        opts.extend(self.options.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let uri = format!("file:/offset-lab/{}", self.checkpoint_dir);
        let mut q = structured::QueryConfig::from_options(&opts, self.trigger()?, &self.checkpoint_dir, &uri)?;
        q.min_batches_to_retain = self.min_batches_to_retain;
        Ok(q)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct StructuredStep {
    pub at: Time,
    pub action: StructuredAction,
    pub line: usize,
}

#[derive(Clone, Debug, PartialEq)]
pub enum StructuredAction {
    /// `writeStream…start()` in a new driver, with the step's `job` keys over `[job]`'s.
    Start {
        job: StructuredJob,
    },
    /// `query.stop()`.
    Stop,
    /// `kill -9` of the driver; `in_batch`: inside the next batch, after `offsets/N` and before `commits/N`.
    Kill {
        in_batch: bool,
    },
    /// The Kafka tools, as in DStream scenarios; `reset_offsets` args may name `{executorGroup}`, the
    /// group the query's executors use.
    Kafka(Action),
    DeleteCheckpoint,
    Expect(Box<StructuredExpect>),
}

/// What an `expect` step of a Structured Streaming scenario checks.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StructuredExpect {
    pub running: Option<bool>,
    /// The message of the exception the query terminated with, exactly.
    pub error: Option<String>,
    pub error_class: Option<String>,
    pub no_error: Option<bool>,
    pub log_end: Option<BTreeMap<TopicPartition, i64>>,
    pub log_start: Option<BTreeMap<TopicPartition, i64>>,
    /// The ranges of the newest batch the sink ran.
    pub last_ranges: Option<Ranges>,
    /// The ranges of batches by id (their newest run): `{ "1" = { "words-0" = [3, 5] } }`.
    pub batch_ranges: Option<BTreeMap<String, Ranges>>,
    /// The values the sink received since the previous `expect`, in batch order (sorted within a batch).
    pub rows_since_last_expect: Option<Vec<String>>,
    /// `offsets/` and `commits/` of the checkpoint: `["commits/0", "offsets/0", "offsets/1"]`.
    pub checkpoint_files: Option<Vec<String>>,
    /// The executors' group's committed offsets in Kafka (nothing of Spark's reads them).
    pub executor_group_committed: Option<BTreeMap<TopicPartition, i64>>,
    /// The executors' `group.id`, the generated part written `<uuid>-<hash>`: `"spark-kafka-source-<uuid>-<hash>-executor"`.
    pub executor_group: Option<String>,
    /// That group's state as `kafka-consumer-groups --describe --state` shows it (`"Dead"`: the broker does not know it).
    pub executor_group_state: Option<String>,
}

/// A key of `over` only a Structured Streaming job has.
fn structured_key(over: &RawJob) -> Option<&'static str> {
    [
        ("api", over.api.is_some()),
        ("trigger", over.trigger.is_some()),
        ("options", over.options.is_some()),
        ("min_batches_to_retain", over.min_batches_to_retain.is_some()),
    ]
    .into_iter()
    .find(|(k, given)| *given && !(*k == "api" && over.api.as_deref() == Some("dstream")))
    .map(|(k, _)| k)
}

/// A key of `job` only a DStream job has.
fn dstream_key(job: &RawJob) -> Option<&'static str> {
    [
        ("app_name", job.app_name.is_some()),
        ("batch_interval", job.batch_interval.is_some()),
        ("strategy", job.strategy.is_some()),
        ("topics", job.topics.is_some()),
        ("assign", job.assign.is_some()),
        ("starting_offsets", job.starting_offsets.is_some()),
        ("group", job.group.is_some()),
        ("auto_offset_reset", job.auto_offset_reset.is_some()),
        ("enable_auto_commit", job.enable_auto_commit.is_some()),
        ("max_rate_per_partition", job.max_rate_per_partition.is_some()),
        ("min_rate_per_partition", job.min_rate_per_partition.is_some()),
        ("pipeline", job.pipeline.is_some()),
        ("outputs", job.outputs.is_some()),
        ("kafka_params", job.kafka_params.is_some()),
    ]
    .into_iter()
    .find(|(_, g)| *g)
    .map(|(k, _)| k)
}

fn option_string(k: &str, v: &toml::Value) -> Result<String, String> {
    Ok(match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        _ => return Err(format!("options: `{k}` must be a string, integer or boolean (Spark's options are strings)")),
    })
}

fn build_structured_job(base: Option<&StructuredJob>, over: &RawJob) -> Result<StructuredJob, String> {
    if let Some(k) = dstream_key(over) {
        return Err(format!(
            "`{k}` belongs to a DStream job; a Structured Streaming job takes checkpoint_dir, trigger, options, min_batches_to_retain"
        ));
    }
    if over.api.as_deref().is_some_and(|a| a != "structured") && base.is_some() {
        return Err("a start step cannot change the job's api".into());
    }
    let mut options = base.map(|b| b.options.clone()).unwrap_or_default();
    for (k, v) in over.options.iter().flatten() {
        if k.eq_ignore_ascii_case("kafka.bootstrap.servers") {
            return Err("options: `kafka.bootstrap.servers` is the runner's (the model, or the harness's broker)".into());
        }
        options.insert(k.clone(), option_string(k, v)?);
    }
    let checkpoint_dir = over.checkpoint_dir.clone().or_else(|| base.map(|b| b.checkpoint_dir.clone())).unwrap_or_else(|| "ckpt".into());
    if checkpoint_dir.is_empty() {
        return Err("checkpoint_dir must not be empty: the offset and commit logs live there".into());
    }
    let job = StructuredJob {
        checkpoint_dir,
        trigger: over.trigger.clone().or_else(|| base.map(|b| b.trigger.clone())).unwrap_or_else(|| "0s".into()),
        options,
        min_batches_to_retain: over.min_batches_to_retain.or(base.map(|b| b.min_batches_to_retain)).unwrap_or(100),
    };
    if job.min_batches_to_retain < 1 {
        return Err(format!("min_batches_to_retain = {} must be at least 1 (Spark's requirement)", job.min_batches_to_retain));
    }
    // refused here, with the source's own message, rather than when the run gets to the start
    job.query("127.0.0.1:9092")?;
    Ok(job)
}

fn build_structured(
    file: &str,
    raw_job: &RawJob,
    raw_steps: Vec<RawStep>,
    day_start: Time,
    step_lines: &[usize],
    err_at: &dyn Fn(usize, StepError) -> String,
) -> Result<StructuredScenario, String> {
    let job = build_structured_job(None, raw_job).map_err(|e| format!("{file}: [job]: {e}"))?;
    let mut steps = Vec::new();
    let mut last = Time(i64::MIN);
    for (i, s) in raw_steps.into_iter().enumerate() {
        let at = Time(day_start.ms() + parse_clock(&s.at).map_err(|e| err_at(i, e.into()))?);
        if at < last {
            return Err(err_at(i, format!("`at = \"{}\"` is earlier than the step before it; time never goes backwards", s.at).into()));
        }
        last = at;
        let action = build_structured_action(&job, s).map_err(|e| err_at(i, e))?;
        steps.push(StructuredStep { at, action, line: step_lines.get(i).copied().unwrap_or(0) });
    }
    Ok(StructuredScenario { job, steps })
}

fn build_structured_action(job: &StructuredJob, s: RawStep) -> Result<StructuredAction, StepError> {
    let only = |allowed: &[&str], s: &RawStep| only_keys(s, allowed, " in a Structured Streaming scenario");
    Ok(match s.action.as_str() {
        "start" => {
            only(&["job"], &s)?;
            StructuredAction::Start {
                job: match &s.job {
                    Some(over) => build_structured_job(Some(job), over).map_err(|e| format!("job: {e}"))?,
                    None => job.clone(),
                },
            }
        }
        "stop" => {
            only(&[], &s)?;
            StructuredAction::Stop
        }
        "kill" => {
            only(&["in_batch"], &s)?;
            StructuredAction::Kill { in_batch: s.in_batch.unwrap_or(false) }
        }
        "delete_checkpoint" => {
            only(&[], &s)?;
            StructuredAction::DeleteCheckpoint
        }
        "expect" => {
            only(&[], &s)?;
            StructuredAction::Expect(Box::new(expect_table(s.expect)?))
        }
        // build_action checks their keys
        "produce" | "create_topic" | "delete_topic" | "delete_records" | "add_partitions" | "reset_offsets" => {
            StructuredAction::Kafka(build_action(&RawJob::default(), &JobConfig::seed(&["words"], "g"), s)?)
        }
        other => {
            return Err(format!(
                "`do = \"{other}\"` is not a Structured Streaming step; known: start, stop, kill, produce, create_topic, \
                 delete_topic, delete_records, add_partitions, reset_offsets, delete_checkpoint, expect"
            )
            .into())
        }
    })
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

    #[test]
    fn an_unknown_key_anywhere_is_an_error_naming_the_key_and_its_line() {
        // the expect key's own line (22), not the step's header (19)
        let e = parse("t.toml", &MINIMAL.replace("committed =", "comitted =")).unwrap_err();
        assert!(e.starts_with("t.toml:22: step 3 : expect: unknown key `comitted`"), "{e}");
        let nested = MINIMAL.replace("committed = { \"words-0\" = 2 }", "running = true\nnewest_checkpoint = { fle = \"x\" }");
        let e = parse("t.toml", &nested).unwrap_err();
        assert!(e.starts_with("t.toml:23: step 3 : expect: unknown key `fle`"), "{e}");
        let e = parse("t.toml", &MINIMAL.replace("values = [\"a\", \"b\"]", "values = [\"a\", \"b\"]\nkey = \"k\"")).unwrap_err();
        assert!(
            e.starts_with("t.toml:19: step 2 : unknown key `key` for `do = \"produce\"` (it takes topic, partition, values, lines)"),
            "{e}"
        );
        let e = parse("t.toml", &MINIMAL.replace("do = \"start\"", "do = \"kill\"\ngraceful = false")).unwrap_err();
        assert!(e.starts_with("t.toml:13: step 1 : `graceful` does not belong to `do = \"kill\"`"), "{e}");
        // top-level tables and [job] keys: toml's own error, with the line
        let e = parse("t.toml", &format!("{MINIMAL}[kafka]\nx = 1\n")).unwrap_err();
        assert!(e.contains("line 23") && e.contains("unknown field `kafka`"), "{e}");
        let e = parse("t.toml", &MINIMAL.replace("group = \"g\"", "group = \"g\"\nbach_interval = \"5s\"")).unwrap_err();
        assert!(e.contains("line 10") && e.contains("unknown field `bach_interval`"), "{e}");
    }

    #[test]
    fn structured_steps_refuse_keys_they_do_not_take() {
        let stop = STRUCTURED.replace("do = \"kill\"\nin_batch = true", "do = \"stop\"\ngracful = true");
        let e = parse("s.toml", &stop).unwrap_err();
        assert!(e.starts_with("s.toml:18: step 2 : unknown key `gracful` for `do = \"stop\"` (it takes no keys)"), "{e}");
        let kill = STRUCTURED.replace("in_batch = true", "in_batch = true\ntopic = \"words\"");
        let e = parse("s.toml", &kill).unwrap_err();
        assert!(e.starts_with("s.toml:19: step 2 : `topic` does not belong to `do = \"kill\"` in a Structured Streaming scenario"), "{e}");
        let expect = STRUCTURED.replace("do = \"kill\"\nin_batch = true", "do = \"expect\"\npartition = 1\nrunning = true");
        let e = parse("s.toml", &expect).unwrap_err();
        assert!(e.starts_with("s.toml:18: step 2 : `partition` does not belong to `do = \"expect\"`"), "{e}");
        let expect = STRUCTURED.replace("do = \"kill\"\nin_batch = true", "do = \"expect\"\nrunning = true\nrows = []");
        let e = parse("s.toml", &expect).unwrap_err();
        assert!(e.starts_with("s.toml:19: step 2 : expect: unknown key `rows`"), "{e}");
    }

    #[test]
    fn a_key_is_found_on_its_own_line_only_as_a_key() {
        let text = "[[step]]\ndo = \"expect\"\nx = [\"running\"]\nnewest_checkpoint = { file = \"a\", \"running\" = 1 }\nrunning = true\n";
        assert_eq!(key_line(text, 1, usize::MAX, "running"), Some(4));
        assert_eq!(key_line(text, 1, 4, "running"), None);
        assert_eq!(key_line(text, 1, usize::MAX, "file"), Some(4));
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

    const STRUCTURED: &str = r#"
version = 1
name = "s"
[[topic]]
name = "words"
partitions = 2
[job]
api = "structured"
trigger = "5s"
options = { subscribe = "words", maxOffsetsPerTrigger = 10, failOnDataLoss = false }
[[step]]
at = "12:00:02"
do = "start"
job = { options = { startingOffsets = "earliest" } }
[[step]]
at = "12:00:05"
do = "kill"
in_batch = true
"#;

    #[test]
    fn structured_scenarios_parse_with_spark_option_strings() {
        let s = parse("s.toml", STRUCTURED).unwrap();
        assert!(s.steps.is_empty(), "a DStream shell runs nothing of it");
        let st = s.structured.unwrap();
        assert_eq!(st.job.options["maxOffsetsPerTrigger"], "10");
        assert_eq!(st.job.options["failOnDataLoss"], "false");
        let StructuredAction::Start { job } = &st.steps[0].action else { panic!("start") };
        assert_eq!(job.options["startingOffsets"], "earliest");
        assert_eq!(job.query("b:1").unwrap().max_offsets_per_trigger, Some(10));
        assert_eq!(st.steps[1].action, StructuredAction::Kill { in_batch: true });
    }

    #[test]
    fn structured_errors_name_the_line_and_sparks_message() {
        let e = parse("s.toml", &STRUCTURED.replace("in_batch = true", "graceful = true")).unwrap_err();
        // the key's own line, not the step's header (15)
        assert!(e.starts_with("s.toml:18: step 2") && e.contains("`graceful` does not belong"), "{e}");
        let e = parse("s.toml", &STRUCTURED.replace("subscribe = \"words\", ", "")).unwrap_err();
        assert!(e.contains("One of the following options must be specified for Kafka source"), "{e}");
        let e = parse("s.toml", &STRUCTURED.replace("trigger = \"5s\"", "trigger = \"5s\"\ngroup = \"g\"")).unwrap_err();
        assert!(e.contains("`group` belongs to a DStream job"), "{e}");
        let e = parse("t.toml", &MINIMAL.replace("group = \"g\"", "group = \"g\"\ntrigger = \"5s\"")).unwrap_err();
        assert!(e.contains("`trigger` belongs to a Structured Streaming job"), "{e}");
        let e = parse("t.toml", &MINIMAL.replace("do = \"start\"", "do = \"kill\"\nin_batch = true")).unwrap_err();
        assert!(e.contains("`in_batch` does not belong"), "{e}");
    }

    #[test]
    fn clock_and_durations() {
        assert_eq!(parse_clock("12:00:05.25"), Ok(43_205_250));
        assert!(parse_clock("25:00:00").is_err());
        assert_eq!(parse_duration("500ms"), Ok(500));
        assert!(parse_duration("5").is_err());
    }
}
