//! `kafka-consumer-groups --reset-offsets`, same arguments, same plan, warnings and refusals
//! (Kafka 4.x `ConsumerGroupCommand`; spec §7). Pure: a [`ResetView`] supplies what the tool reads.

use crate::GroupState;
use engine::offsets::{Offsets, TopicPartition};
use engine::scala_order::{java_hash_order, java_string_hash, topic_partition_hash};

/// What the tool reads from the cluster.
pub trait ResetView {
    fn group_state(&self, group: &str) -> GroupState;
    fn committed(&self, group: &str) -> Offsets;
    fn partitions(&self, topic: &str) -> Option<i32>;
    fn log_start(&self, tp: &TopicPartition) -> Option<i64>;
    fn log_end(&self, tp: &TopicPartition) -> Option<i64>;
    /// ListOffsets by timestamp: the first offset whose timestamp is ≥ `ts`.
    fn offset_for_time(&self, tp: &TopicPartition, ts: i64) -> Option<i64>;
    /// The tool's clock, for `--by-duration`.
    fn now_ms(&self) -> i64;
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Strategy {
    ToEarliest,
    ToLatest,
    ToCurrent,
    ToOffset(i64),
    ShiftBy(i64),
    ToDatetime(i64),
    ByDuration(i64),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    AllTopics,
    /// `--topic t` (all partitions) or `--topic t:0,2`.
    Topics(Vec<(String, Option<Vec<i32>>)>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResetArgs {
    pub group: String,
    pub scope: Scope,
    pub strategy: Strategy,
    pub execute: bool,
    /// Neither `--execute` nor `--dry-run` was given (the tool warns).
    pub implicit_dry_run: bool,
}

/// The tool's result: the new offsets, and what it printed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResetPlan {
    pub offsets: Vec<(TopicPartition, i64)>,
    pub execute: bool,
    pub lines: Vec<String>,
}

/// Kafka 4.1.1's `kafka-consumer-groups` option help, as `CommandLineUtils.printUsageAndExit` prints it after
/// its message (captured once from the real tool's stderr; jopt-simple formats it 80 columns wide).
pub const USAGE: &str = include_str!("consumer_groups_usage.txt");

/// What Kafka 4.1.1 prints (stderr) first when neither `--execute` nor `--dry-run` is given.
pub const IMPLICIT_DRY_RUN_WARNING: &str = "WARN: No action will be performed as the --execute option is missing. In a future major release, the default behavior of this command will be to prompt the user before executing the reset rather than doing a dry run. You should add the --dry-run option explicitly if you are scripting this command and want to keep the current default behavior without prompting.";

/// An error the tool reports with `CommandLineUtils.printUsageAndExit`: the message, then [`USAGE`] (exit 1).
fn usage_error(message: &str) -> String {
    format!("{message}\n{USAGE}")
}

/// Parses the tool's arguments (`--bootstrap-server` is accepted and ignored). `Err` holds what the tool
/// prints for the error (see [`plan`]).
pub fn parse_args(args: &str) -> Result<ResetArgs, String> {
    let tokens: Vec<String> = shell_words(args)?;
    let mut group = None;
    let mut topics = Vec::new();
    let mut all_topics = false;
    let mut strategies = Vec::new();
    let (mut execute, mut dry_run) = (false, false);
    let mut it = tokens.iter();
    while let Some(t) = it.next() {
        let mut value = |name: &str| it.next().cloned().ok_or_else(|| format!("Option {name} requires an argument"));
        match t.as_str() {
            "--reset-offsets" => {}
            "--bootstrap-server" => {
                value("--bootstrap-server")?;
            }
            "--group" => group = Some(value("--group")?),
            "--topic" => topics.push(value("--topic")?),
            "--all-topics" => all_topics = true,
            "--to-earliest" => strategies.push(Strategy::ToEarliest),
            "--to-latest" => strategies.push(Strategy::ToLatest),
            "--to-current" => strategies.push(Strategy::ToCurrent),
            "--to-offset" => strategies.push(Strategy::ToOffset(parse_long(&value("--to-offset")?)?)),
            "--shift-by" => strategies.push(Strategy::ShiftBy(parse_long(&value("--shift-by")?)?)),
            "--to-datetime" => strategies.push(Strategy::ToDatetime(parse_datetime(&value("--to-datetime")?)?)),
            "--by-duration" => strategies.push(Strategy::ByDuration(parse_duration(&value("--by-duration")?)?)),
            "--execute" => execute = true,
            "--dry-run" => dry_run = true,
            other => return Err(format!("{other} is not a recognized option")),
        }
    }
    // `ConsumerGroupCommandOptions.checkArgs`, in its order: both modes, then the warning, then the rest.
    if execute && dry_run {
        return Err(usage_error("Option [reset-offsets] only accepts one of [execute] and [dry-run]"));
    }
    let implicit_dry_run = !execute && !dry_run;
    let warned = |e: String| if implicit_dry_run { format!("{IMPLICIT_DRY_RUN_WARNING}\n{e}") } else { e };
    let group = group.ok_or_else(|| warned(usage_error("Option [reset-offsets] takes one of these options: [all-groups], [group]")))?;
    if strategies.is_empty() {
        return Err(warned(usage_error("Option '[reset-offsets]' requires one of the following scenarios: [[to-offset], [to-current], [to-datetime], [from-file], [by-duration], [to-earliest], [to-latest], [shift-by]]")));
    }
    if strategies.len() > 1 {
        // Not the tool's text (it names the first clashing pair: docs/known-differences.md 5d).
        return Err(warned("Option [reset-offsets] takes exactly one of these options: [to-datetime, by-duration, to-earliest, to-latest, shift-by, from-file, to-current, to-offset]".into()));
    }
    // `--all-topics` wins over `--topic` (the tool accepts both); neither fails when the tool looks for partitions.
    let scope = match (all_topics, topics.is_empty()) {
        (true, _) => Scope::AllTopics,
        (false, false) => Scope::Topics(topics.iter().map(|t| parse_topic(t)).collect::<Result<_, _>>().map_err(warned)?),
        (false, true) => return Err(warned(usage_error("One of the reset scopes should be defined: --all-topics, --topic."))),
    };
    Ok(ResetArgs { group, scope, strategy: strategies.remove(0), execute, implicit_dry_run })
}

/// A line of the assignments table, column-padded as the tool prints it (without trailing blanks).
fn table_line(group: &str, topic: &str, partition: impl std::fmt::Display, offset: impl std::fmt::Display) -> String {
    format!("{group:<30} {topic:<30} {partition:<10} {offset:<15}").trim_end().to_string()
}

fn table_header() -> String {
    table_line("GROUP", "TOPIC", "PARTITION", "NEW-OFFSET")
}

/// What a terminal shows for a failed run of the tool (stdout and stderr as they interleave), given
/// [`parse_args`]'s or [`plan`]'s error. Kafka 4.1.1 (`ConsumerGroupCommand.printError`) prints a blank
/// line before an `Error: ` line; a refusal is followed by a blank line and the (empty) assignments table
/// (the reference harness saw it). A usage error already holds the usage text ([`USAGE`]).
pub fn error_output(error: &str) -> Vec<String> {
    let (warning, message) = match error.split_once('\n') {
        Some((w, rest)) if w == IMPLICIT_DRY_RUN_WARNING => (Some(w), rest),
        _ => (None, error),
    };
    let mut out: Vec<String> = warning.map(str::to_string).into_iter().collect();
    if message.starts_with("Error: ") {
        out.push(String::new());
    }
    out.extend(message.lines().map(str::to_string));
    if message.starts_with("Error: Assignments can only be reset") {
        out.extend([String::new(), table_header()]);
    }
    out
}

/// Computes what the tool would commit (and prints). `Err` holds the tool's error message.
pub fn plan(args: &ResetArgs, view: &dyn ResetView) -> Result<ResetPlan, String> {
    let mut lines = Vec::new();
    if args.implicit_dry_run {
        lines.push(IMPLICIT_DRY_RUN_WARNING.to_string());
    }
    // The warning comes first whatever follows, an error too.
    let warned = |e: String| if args.implicit_dry_run { format!("{IMPLICIT_DRY_RUN_WARNING}\n{e}") } else { e };
    let offsets = plan_offsets(args, view, &mut lines).map_err(warned)?;
    lines.push(String::new());
    lines.push(table_header());
    for (tp, o) in java_hash_map_order(&offsets) {
        lines.push(table_line(&args.group, &tp.topic, tp.partition, o));
    }
    Ok(ResetPlan { offsets, execute: args.execute, lines })
}

/// The order in which a `java.util.HashMap<TopicPartition, _>` filled in `entries`' order iterates: the tool
/// collects the new offsets with `Collectors.toMap` and prints the map.
fn java_hash_map_order<V: Clone>(entries: &[(TopicPartition, V)]) -> Vec<(TopicPartition, V)> {
    java_hash_order(entries, |(tp, _)| topic_partition_hash(tp))
}

/// The new offsets, with the clamping and fallback warnings in `lines`.
fn plan_offsets(args: &ResetArgs, view: &dyn ResetView, lines: &mut Vec<String>) -> Result<Vec<(TopicPartition, i64)>, String> {
    let state = view.group_state(&args.group);
    if !matches!(state, GroupState::Empty | GroupState::Dead) {
        return Err(format!(
            "Error: Assignments can only be reset if the group '{}' is inactive, but the current state is {state}.",
            args.group
        ));
    }
    let committed = view.committed(&args.group);
    let partitions: Vec<TopicPartition> = match &args.scope {
        Scope::AllTopics => committed.keys().cloned().collect(),
        Scope::Topics(ts) => {
            // `getPartitionsToReset`: the partitions named first, then those of the topics named alone, topic
            // by topic in the order of the `HashMap` that describing them returns.
            let mut v: Vec<TopicPartition> = ts
                .iter()
                .filter_map(|(topic, parts)| parts.as_ref().map(|ps| ps.iter().map(|p| TopicPartition::new(topic.clone(), *p))))
                .flatten()
                .collect();
            let mut whole: Vec<&String> = Vec::new();
            for (topic, parts) in ts {
                if parts.is_none() && !whole.contains(&topic) {
                    whole.push(topic);
                }
            }
            for topic in java_hash_order(&whole, |t| java_string_hash(t)) {
                let n = view.partitions(topic).ok_or_else(|| {
                    // `printError`: the message (stdout), then the exception, which has no stack trace (stderr).
                    "Error: Executing consumer group command failed due to This server does not host this topic-partition.\norg.apache.kafka.common.errors.UnknownTopicOrPartitionException: This server does not host this topic-partition.".to_string()
                })?;
                v.extend((0..n).map(|p| TopicPartition::new(topic.clone(), p)));
            }
            v
        }
    };
    let mut requested_offsets = Vec::new();
    let mut empty = Vec::new();
    for tp in partitions {
        let (start, end) = match (view.log_start(&tp), view.log_end(&tp)) {
            (Some(s), Some(e)) => (s, e),
            _ => return Err(format!("Error: Executing consumer group command failed due to org.apache.kafka.common.errors.UnknownTopicOrPartitionException: This server does not host this topic-partition. ({tp})")),
        };
        let requested = match args.strategy {
            Strategy::ToEarliest => start,
            Strategy::ToLatest => end,
            Strategy::ToCurrent => committed.get(&tp).copied().unwrap_or(end),
            Strategy::ToOffset(n) => n,
            // Kafka 4.1.1's tool prints this line (then its usage text) and exits 1 (seen by the reference harness).
            Strategy::ShiftBy(n) => match committed.get(&tp) {
                Some(c) => c + n,
                None => {
                    return Err(usage_error(&format!("Cannot shift offset for partition {tp} since there is no current committed offset")))
                }
            },
            Strategy::ToDatetime(ts) => by_time(view, &tp, ts, end, &mut empty),
            Strategy::ByDuration(d) => by_time(view, &tp, view.now_ms() - d, end, &mut empty),
        };
        requested_offsets.push((tp, (requested, start, end)));
    }
    // The timestamp lookup's fallbacks, in its `HashMap`'s order, each after a blank line (stdout).
    for (tp, _) in java_hash_map_order(&requested_offsets) {
        if empty.contains(&tp) {
            lines.push(String::new());
            lines.push(format!("Warn: Partition {} from topic {} is empty. Falling back to latest known offset.", tp.partition, tp.topic));
        }
    }
    // `checkOffsetsRange`: clamp into [log start, log end] with a warning, walking the tool's `HashMap` of
    // requested offsets (so the warnings come in its order, as the table's rows do).
    for (tp, (requested, start, end)) in java_hash_map_order(&requested_offsets) {
        if requested > end {
            lines.push(format!(
                "WARN New offset ({requested}) is higher than latest offset for topic partition {tp}. Value will be set to {end}"
            ));
        } else if requested < start {
            lines.push(format!(
                "WARN New offset ({requested}) is lower than earliest offset for topic partition {tp}. Value will be set to {start}"
            ));
        }
    }
    Ok(requested_offsets
        .into_iter()
        .map(|(tp, (requested, start, end))| (tp, if requested > end { end } else { requested.max(start) }))
        .collect())
}

/// The first offset at or after `ts`; the log end (noted in `empty`) when there is none.
fn by_time(view: &dyn ResetView, tp: &TopicPartition, ts: i64, end: i64, empty: &mut Vec<TopicPartition>) -> i64 {
    view.offset_for_time(tp, ts).unwrap_or_else(|| {
        empty.push(tp.clone());
        end
    })
}

fn parse_topic(s: &str) -> Result<(String, Option<Vec<i32>>), String> {
    match s.split_once(':') {
        None => Ok((s.to_string(), None)),
        Some((t, ps)) => {
            let parts: Result<Vec<i32>, _> = ps.split(',').map(|p| p.trim().parse::<i32>()).collect();
            let bad = ps.split(',').find(|p| p.trim().parse::<i32>().is_err()).unwrap_or(ps);
            parts
                .map(|p| (t.to_string(), Some(p)))
                .map_err(|_| usage_error(&format!("Invalid partition '{bad}' specified in topic arg '{s}''")))
        }
    }
}

fn parse_long(s: &str) -> Result<i64, String> {
    s.parse().map_err(|_| format!("Cannot parse argument '{s}' of option [shift-by, to-offset]: not a number"))
}

/// `--to-datetime 'YYYY-MM-DDTHH:mm:SS.sss'` (UTC; a trailing `Z` is accepted).
pub fn parse_datetime(s: &str) -> Result<i64, String> {
    let bad = || format!("Error parsing timestamp. It does not match the expected format 'YYYY-MM-DDTHH:mm:SS.sss': {s}");
    let s2 = s.trim_end_matches('Z');
    let (date, time) = s2.split_once('T').ok_or_else(bad)?;
    let d: Vec<i64> = date.split('-').map(|x| x.parse().map_err(|_| bad())).collect::<Result<_, _>>()?;
    let (hms, ms) = time.split_once('.').unwrap_or((time, "0"));
    let t: Vec<i64> = hms.split(':').map(|x| x.parse().map_err(|_| bad())).collect::<Result<_, _>>()?;
    if d.len() != 3 || t.len() != 3 {
        return Err(bad());
    }
    let ms: i64 = ms.parse().map_err(|_| bad())?;
    Ok(days_from_civil(d[0], d[1], d[2]) * 86_400_000 + t[0] * 3_600_000 + t[1] * 60_000 + t[2] * 1000 + ms)
}

/// `--by-duration PnDTnHnMnS`.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    let bad = || format!("Error parsing duration: {s}. It must be in the format PnDTnHnMnS");
    let rest = s.strip_prefix('P').ok_or_else(bad)?;
    let (days, time) = rest.split_once('T').unwrap_or((rest, ""));
    let mut total = 0i64;
    if !days.is_empty() {
        total += days.strip_suffix('D').ok_or_else(bad)?.parse::<i64>().map_err(|_| bad())? * 86_400_000;
    }
    let mut num = String::new();
    for c in time.chars() {
        match c {
            '0'..='9' => num.push(c),
            'H' | 'M' | 'S' => {
                let n: i64 = num.parse().map_err(|_| bad())?;
                num.clear();
                total += n * match c {
                    'H' => 3_600_000,
                    'M' => 60_000,
                    _ => 1000,
                };
            }
            _ => return Err(bad()),
        }
    }
    if !num.is_empty() {
        return Err(bad());
    }
    Ok(total)
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Splits like a shell: whitespace, with '…' and "…" quoting.
fn shell_words(s: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote = None;
    let mut in_word = false;
    for c in s.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return Err("unterminated quote in arguments".into());
    }
    if in_word {
        out.push(cur);
    }
    Ok(out)
}

impl ResetView for crate::KafkaModel {
    fn group_state(&self, group: &str) -> GroupState {
        crate::KafkaModel::group_state(self, group)
    }
    fn committed(&self, group: &str) -> Offsets {
        crate::KafkaModel::committed(self, group)
    }
    fn partitions(&self, topic: &str) -> Option<i32> {
        crate::KafkaModel::partitions(self, topic)
    }
    fn log_start(&self, tp: &TopicPartition) -> Option<i64> {
        self.log(tp).map(|l| l.log_start)
    }
    fn log_end(&self, tp: &TopicPartition) -> Option<i64> {
        self.log(tp).map(|l| l.log_end())
    }
    fn offset_for_time(&self, tp: &TopicPartition, ts: i64) -> Option<i64> {
        crate::KafkaModel::offset_for_time(self, tp, ts)
    }
    fn now_ms(&self) -> i64 {
        self.now().ms()
    }
}

impl crate::KafkaModel {
    /// Runs the tool against the model; with `--execute` the plan is committed with generation −1.
    pub fn reset_offsets(&mut self, args: &str) -> Result<ResetPlan, String> {
        let parsed = parse_args(args)?;
        let p = plan(&parsed, self)?;
        if p.execute {
            self.commit(&parsed.group, None, &p.offsets).map_err(|e| format!("Error: {}", e.name()))?;
        }
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::KafkaModel;

    fn model() -> KafkaModel {
        let mut k = KafkaModel::new();
        k.create_topic("words", 3).unwrap();
        for (p, v) in [(0, "a"), (0, "b"), (1, "a"), (2, "c")] {
            k.produce("words", Some(p), None, v).unwrap();
        }
        k
    }

    #[test]
    fn shift_by_clamps_to_log_start_with_the_tools_warning() {
        let mut k = model();
        k.commit("g", None, &[(TopicPartition::new("words", 0), 2)]).unwrap();
        let p = k.reset_offsets("--group g --topic words:0 --shift-by -5 --execute").unwrap();
        assert_eq!(p.offsets, vec![(TopicPartition::new("words", 0), 0)]);
        assert!(p.lines.contains(
            &"WARN New offset (-3) is lower than earliest offset for topic partition words-0. Value will be set to 0".to_string()
        ));
        assert_eq!(k.committed("g")[&TopicPartition::new("words", 0)], 0);
    }

    #[test]
    fn shift_by_without_committed_offset_fails() {
        let mut k = model();
        let e = k.reset_offsets("--group g --topic words --shift-by -1 --execute").unwrap_err();
        // `printUsageAndExit`: the message, then the whole option help, nothing else.
        let out = error_output(&e);
        assert_eq!(out[0], "Cannot shift offset for partition words-0 since there is no current committed offset");
        assert_eq!(out[1..], USAGE.lines().collect::<Vec<_>>()[..]);
        assert!(out[1].starts_with("Option ") && out[2].starts_with("------ "), "{out:?}");
        assert!(out.len() > 100 && out.iter().any(|l| l.starts_with("--shift-by <Long: number-of-offsets>")), "{out:?}");
        assert!(k.committed("g").is_empty());
        // Without --execute or --dry-run the tool's warning comes first.
        let out = error_output(&k.reset_offsets("--group g --topic words:2 --shift-by 1").unwrap_err());
        assert_eq!(out[0], IMPLICIT_DRY_RUN_WARNING);
        assert_eq!(out[1], "Cannot shift offset for partition words-2 since there is no current committed offset");
        assert_eq!(out.len(), 2 + USAGE.lines().count());
    }

    #[test]
    fn refused_while_the_group_has_members() {
        let mut k = model();
        k.serve(&engine::kafka::KafkaRequest::GroupPoll {
            group: "g".into(),
            member_id: None,
            client_id: "c".into(),
            topics: vec!["words".into()],
            session_timeout_ms: 45_000,
            metadata_max_age_ms: engine::METADATA_MAX_AGE_MS,
        });
        let e = k.reset_offsets("--group g --all-topics --to-earliest --dry-run").unwrap_err();
        assert_eq!(e, "Error: Assignments can only be reset if the group 'g' is inactive, but the current state is Stable.");
        let out = error_output(&e);
        assert_eq!((out[0].as_str(), out[1].as_str(), out[2].as_str()), ("", e.as_str(), ""));
        assert_eq!(out[3].split_whitespace().collect::<Vec<_>>(), ["GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"]);
        assert_eq!(error_output("Error: x"), ["", "Error: x"]);
        let e = k.reset_offsets("--group g --all-topics --to-earliest").unwrap_err();
        assert_eq!(error_output(&e)[..3], [IMPLICIT_DRY_RUN_WARNING, "", e.lines().nth(1).unwrap()]);
    }

    #[test]
    fn dry_run_changes_nothing_and_to_latest_to_current() {
        let mut k = model();
        let p = k.reset_offsets("--group g --topic words --to-latest").unwrap();
        assert!(!p.execute);
        assert!(p.lines[0].starts_with("WARN: No action will be performed"));
        assert_eq!(p.offsets.iter().map(|(_, o)| *o).collect::<Vec<_>>(), vec![2, 1, 1]);
        // The table in the tool's `HashMap` order (checked against Kafka 4.1.1 in kafka-client's tests).
        let partitions: Vec<&str> = p.lines[3..].iter().map(|l| l.split_whitespace().nth(2).unwrap()).collect();
        assert_eq!(partitions, ["1", "2", "0"]);
        assert!(k.committed("g").is_empty());
        k.commit("g", None, &[(TopicPartition::new("words", 1), 0)]).unwrap();
        let p = k.reset_offsets("--group g --topic words --to-current --execute").unwrap();
        assert_eq!(p.offsets.iter().map(|(_, o)| *o).collect::<Vec<_>>(), vec![2, 0, 1]);
        let p = k.reset_offsets("--group g --all-topics --to-offset 7 --execute").unwrap();
        assert_eq!(p.offsets.iter().map(|(_, o)| *o).collect::<Vec<_>>(), vec![2, 1, 1]);
    }

    #[test]
    fn argument_errors() {
        let e = parse_args("--group g --to-earliest --execute").unwrap_err();
        assert_eq!(e, format!("One of the reset scopes should be defined: --all-topics, --topic.\n{USAGE}"));
        let e = parse_args("--group g --all-topics").unwrap_err();
        assert!(e.starts_with(IMPLICIT_DRY_RUN_WARNING) && e.contains("\nOption '[reset-offsets]' requires one of") && e.ends_with(USAGE));
        let e = parse_args("--group g --all-topics --to-earliest --execute --dry-run").unwrap_err();
        assert!(e.starts_with("Option [reset-offsets] only accepts one of [execute] and [dry-run]\nOption  "));
        let e = parse_args("--group g --topic words:0,x --to-earliest --dry-run").unwrap_err();
        assert!(e.starts_with("Invalid partition 'x' specified in topic arg 'words:0,x''\n"));
        assert_eq!(parse_args("--group g --all-topics --topic words --to-earliest").unwrap().scope, Scope::AllTopics);
        assert!(parse_args("--group g --all-topics --frobnicate").unwrap_err().contains("not a recognized option"));
    }

    #[test]
    fn datetimes_and_durations() {
        assert_eq!(parse_datetime("1970-01-02T00:00:01.500"), Ok(86_401_500));
        assert_eq!(parse_datetime("2026-01-01T12:00:00.000"), Ok(1_767_268_800_000));
        assert_eq!(parse_duration("P1DT2H3M4S"), Ok(93_784_000));
        assert!(parse_duration("1D").is_err());
    }
}
