//! `kafka-consumer-groups --reset-offsets` planning, with the tool's clamping, warnings and refusals.
//!
//! Pure: the caller looks up the group state, committed offsets, log start/end and timestamp offsets
//! (the tool's DescribeGroups, OffsetFetch and ListOffsets) and this decides the plan.

use protocol::ResetStrategy;
use std::collections::BTreeMap;

pub type Tp = (String, i32);

/// What Kafka said, as the tool asks it.
#[derive(Clone, Debug, Default)]
pub struct Facts {
    /// The group's state as DescribeGroups reports it (`Empty`, `Stable`, `Dead`, …).
    pub state: String,
    pub committed: BTreeMap<Tp, i64>,
    pub log_start: BTreeMap<Tp, i64>,
    pub log_end: BTreeMap<Tp, i64>,
    /// For `--to-datetime` / `--by-duration`: the first offset with timestamp ≥ the target, `None` if none.
    pub by_timestamp: BTreeMap<Tp, Option<i64>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// New offsets (sorted by topic, partition) and the tool's warnings, in the tool's words.
    Plan { offsets: BTreeMap<Tp, i64>, warnings: Vec<String> },
    /// The group is active: the tool prints this after `Error: ` and changes nothing.
    Refused(String),
    /// A usage error that makes the tool exit 1 (e.g. `--shift-by` without a committed offset).
    Failed(String),
}

/// The tool only resets inactive groups.
pub fn refusal(group: &str, state: &str) -> Option<String> {
    match state {
        "Empty" | "Dead" => None,
        s => Some(format!("Assignments can only be reset if the group '{group}' is inactive, but the current state is {s}.")),
    }
}

/// `--all-topics`: every partition with a committed offset in the group.
pub fn all_topics_scope(facts: &Facts) -> Vec<Tp> {
    facts.committed.keys().cloned().collect()
}

/// Plans the reset of `partitions` (the resolved scope).
pub fn plan(group: &str, partitions: &[Tp], strategy: &ResetStrategy, facts: &Facts) -> Outcome {
    if let Some(msg) = refusal(group, &facts.state) {
        return Outcome::Refused(msg);
    }
    let mut warnings = Vec::new();
    let mut offsets = BTreeMap::new();
    let need = |map: &BTreeMap<Tp, i64>, tp: &Tp, what: &str| -> Result<i64, String> {
        map.get(tp).copied().ok_or_else(|| format!("Error getting {what} offset of topic partition: {}-{}", tp.0, tp.1))
    };
    for tp in partitions {
        let result = match strategy {
            ResetStrategy::ToEarliest => need(&facts.log_start, tp, "starting"),
            ResetStrategy::ToLatest => need(&facts.log_end, tp, "ending"),
            ResetStrategy::ToCurrent => match facts.committed.get(tp) {
                Some(&c) => Ok(c),
                None => need(&facts.log_end, tp, "ending"),
            },
            ResetStrategy::ToOffset { offset } => clamp(tp, *offset, facts, &mut warnings),
            ResetStrategy::ShiftBy { by } => match facts.committed.get(tp) {
                Some(&c) => clamp(tp, c.saturating_add(*by), facts, &mut warnings),
                None => {
                    return Outcome::Failed(format!(
                        "Cannot shift offset for partition {}-{} since there is no current committed offset",
                        tp.0, tp.1
                    ))
                }
            },
            ResetStrategy::ToDatetime { .. } | ResetStrategy::ByDuration { .. } => match facts.by_timestamp.get(tp) {
                Some(Some(o)) => Ok(*o),
                Some(None) => {
                    warnings.push(format!("Warn: Partition {} from topic {} is empty. Falling back to latest known offset.", tp.1, tp.0));
                    need(&facts.log_end, tp, "ending")
                }
                None => Err(format!("Error getting offset by timestamp of topic partition: {}-{}", tp.0, tp.1)),
            },
        };
        match result {
            Ok(o) => {
                offsets.insert(tp.clone(), o);
            }
            Err(e) => return Outcome::Failed(e),
        }
    }
    Outcome::Plan { offsets, warnings }
}

/// The tool's `checkOffsetsRange`: above the log end → log end; below the log start → log start.
fn clamp(tp: &Tp, offset: i64, facts: &Facts, warnings: &mut Vec<String>) -> Result<i64, String> {
    let end = facts.log_end.get(tp).copied();
    let start = facts.log_start.get(tp).copied();
    match (start, end) {
        (_, Some(end)) if offset > end => {
            warnings.push(format!(
                "New offset ({offset}) is higher than latest offset for topic partition {}-{}. Value will be set to {end}",
                tp.0, tp.1
            ));
            Ok(end)
        }
        (Some(start), Some(_)) if offset < start => {
            warnings.push(format!(
                "New offset ({offset}) is lower than earliest offset for topic partition {}-{}. Value will be set to {start}",
                tp.0, tp.1
            ));
            Ok(start)
        }
        (_, Some(_)) => Ok(offset),
        (_, None) => Err(format!("Unexpected non-existing offset value for topic partition {}-{}", tp.0, tp.1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tp(p: i32) -> Tp {
        ("t".to_string(), p)
    }

    /// p0: log [2, 10), committed 5; p1: log [0, 4), no commit.
    fn facts(state: &str) -> Facts {
        Facts {
            state: state.into(),
            committed: [(tp(0), 5)].into(),
            log_start: [(tp(0), 2), (tp(1), 0)].into(),
            log_end: [(tp(0), 10), (tp(1), 4)].into(),
            by_timestamp: [(tp(0), Some(7)), (tp(1), None)].into(),
        }
    }

    fn planned(strategy: ResetStrategy, parts: &[i32]) -> (Vec<i64>, Vec<String>) {
        let parts: Vec<Tp> = parts.iter().map(|&p| tp(p)).collect();
        match plan("g", &parts, &strategy, &facts("Empty")) {
            Outcome::Plan { offsets, warnings } => (offsets.values().copied().collect(), warnings),
            other => panic!("expected a plan, got {other:?}"),
        }
    }

    #[test]
    fn earliest_latest_current() {
        assert_eq!(planned(ResetStrategy::ToEarliest, &[0, 1]).0, vec![2, 0]);
        assert_eq!(planned(ResetStrategy::ToLatest, &[0, 1]).0, vec![10, 4]);
        // No committed offset on p1: the tool falls back to the log end.
        assert_eq!(planned(ResetStrategy::ToCurrent, &[0, 1]).0, vec![5, 4]);
    }

    #[test]
    fn to_offset_clamps_with_the_tools_warnings() {
        let (o, w) = planned(ResetStrategy::ToOffset { offset: 1 }, &[0, 1]);
        assert_eq!(o, vec![2, 1]);
        assert_eq!(w, vec!["New offset (1) is lower than earliest offset for topic partition t-0. Value will be set to 2"]);
        let (o, w) = planned(ResetStrategy::ToOffset { offset: 11 }, &[0]);
        assert_eq!(o, vec![10]);
        assert_eq!(w, vec!["New offset (11) is higher than latest offset for topic partition t-0. Value will be set to 10"]);
    }

    #[test]
    fn shift_by_moves_from_the_committed_offset_and_fails_without_one() {
        assert_eq!(planned(ResetStrategy::ShiftBy { by: -2 }, &[0]), (vec![3], vec![]));
        assert_eq!(planned(ResetStrategy::ShiftBy { by: -5 }, &[0]).0, vec![2]);
        let out = plan("g", &[tp(0), tp(1)], &ResetStrategy::ShiftBy { by: 1 }, &facts("Empty"));
        assert_eq!(out, Outcome::Failed("Cannot shift offset for partition t-1 since there is no current committed offset".into()));
    }

    #[test]
    fn datetime_falls_back_to_the_log_end_with_a_warning() {
        let (o, w) = planned(ResetStrategy::ToDatetime { timestamp_ms: 0 }, &[0, 1]);
        assert_eq!(o, vec![7, 4]);
        assert_eq!(w, vec!["Warn: Partition 1 from topic t is empty. Falling back to latest known offset."]);
    }

    #[test]
    fn active_groups_are_refused_in_the_tools_words() {
        for state in ["Stable", "PreparingRebalance", "CompletingRebalance"] {
            let out = plan("g", &[tp(0)], &ResetStrategy::ToEarliest, &facts(state));
            assert_eq!(
                out,
                Outcome::Refused(format!("Assignments can only be reset if the group 'g' is inactive, but the current state is {state}."))
            );
        }
        assert!(matches!(plan("g", &[tp(0)], &ResetStrategy::ToEarliest, &facts("Dead")), Outcome::Plan { .. }));
    }

    #[test]
    fn all_topics_means_partitions_with_a_commit() {
        assert_eq!(all_topics_scope(&facts("Empty")), vec![tp(0)]);
    }
}
