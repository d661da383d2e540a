//! A classic consumer group as the coordinator keeps it: members, generation, committed offsets.

use engine::offsets::{Offsets, TopicPartition};
use engine::time::Time;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, Default)]
pub struct Group {
    pub members: BTreeMap<String, Member>,
    pub generation: i32,
    pub committed: Offsets,
    /// When a new member asked to join while others were in the group.
    pub rebalance_since: Option<Time>,
    /// Partition counts as the members last fetched them (`metadata.max.age.ms`).
    pub metadata: BTreeMap<String, i32>,
    pub metadata_at: Option<Time>,
    /// New consumers waiting in JoinGroup for the members to rejoin, by client id.
    pub joining: BTreeMap<String, Member>,
    /// Joiners the rebalance let in while they waited: client id → member id, until they poll again.
    pub admitted: BTreeMap<String, String>,
}

/// `heartbeat.interval.ms` default: a member's heartbeat thread hears of a rebalance within this long.
pub const HEARTBEAT_INTERVAL_MS: i64 = 3_000;

#[derive(Clone, Debug)]
pub struct Member {
    pub client_id: String,
    pub topics: Vec<String>,
    pub session_timeout_ms: i64,
    /// The member's `metadata.max.age.ms`.
    pub metadata_max_age_ms: i64,
    pub last_heartbeat: Time,
}

impl Member {
    /// The coordinator drops a member that has not heartbeated for `session.timeout.ms`.
    pub fn expired(&self, now: Time) -> bool {
        now.ms() >= self.last_heartbeat.ms() + self.session_timeout_ms
    }
}

/// A classic group's state as Kafka names it (`kafka-consumer-groups --describe --state`, DescribeGroups).
/// The model's rebalances complete at once, so it is only ever Empty, Stable or Dead; a real broker
/// reports the two rebalance states too.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum GroupState {
    Empty,
    Stable,
    PreparingRebalance,
    CompletingRebalance,
    /// The group does not exist (or no longer does).
    Dead,
}

impl GroupState {
    pub const ALL: [GroupState; 5] =
        [GroupState::Empty, GroupState::Stable, GroupState::PreparingRebalance, GroupState::CompletingRebalance, GroupState::Dead];

    pub fn as_str(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::Stable => "Stable",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Dead => "Dead",
        }
    }
}

impl std::fmt::Display for GroupState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Kafka's spelling, as DescribeGroups returns it.
impl std::str::FromStr for GroupState {
    type Err = String;
    fn from_str(s: &str) -> Result<GroupState, String> {
        GroupState::ALL.into_iter().find(|g| g.as_str() == s).ok_or_else(|| {
            format!("group state `{s}` is not a classic group's (Empty, Stable, PreparingRebalance, CompletingRebalance, Dead)")
        })
    }
}

impl Group {
    pub fn state(&self) -> GroupState {
        if self.members.is_empty() {
            GroupState::Empty
        } else {
            GroupState::Stable
        }
    }

    pub fn has_expired_members(&self, now: Time) -> bool {
        self.members.values().any(|m| m.expired(now))
    }

    /// Members whose session timed out leave; the group rebalances.
    pub fn expire_members(&mut self, now: Time) {
        let before = self.members.len();
        self.members.retain(|_, m| !m.expired(now));
        if self.members.len() != before {
            self.generation += 1;
        }
    }

    /// The members refresh topic metadata when it is older than their `metadata.max.age.ms`; a changed
    /// partition count makes the leader rebalance. The first member whose metadata is stale notices it
    /// and rejoins, so the shortest age among the members and the one polling (`polling_max_age_ms`) counts.
    pub fn refresh_metadata(&mut self, now: Time, current: &BTreeMap<String, i32>, polling_max_age_ms: i64) {
        // A deleted topic is not noticed here either: the driver's next `position()` fails on it and retries
        // until default.api.timeout.ms, so Spark dies of that TimeoutException before any poll could rejoin
        // (the reference harness showed it; docs/known-differences.md §5).
        let max_age = self.members.values().map(|m| m.metadata_max_age_ms).fold(polling_max_age_ms, i64::min);
        let stale = self.metadata_at.is_none_or(|at| now.ms() - at.ms() >= max_age);
        if stale || self.members.is_empty() {
            if !self.metadata.is_empty() && self.metadata != *current {
                self.generation += 1;
            }
            self.metadata = current.clone();
            self.metadata_at = Some(now);
        }
    }

    /// Whether a join asked at `now` can complete; starts the rebalance if it has not begun.
    pub fn rebalance_complete(&mut self, now: Time) -> bool {
        let since = *self.rebalance_since.get_or_insert(now);
        self.members.values().all(|m| m.last_heartbeat >= since)
    }

    /// A member polling at `now` rejoins a pending rebalance if its heartbeat thread has heard of it (a
    /// heartbeat falls in any `heartbeat.interval.ms`), and the poll returns once the joiners are in: the
    /// new assignment comes with this poll. Sooner, the poll only heartbeats; the next one rejoins.
    pub fn rejoins(&self, now: Time) -> bool {
        !self.joining.is_empty() && self.rebalance_since.is_some_and(|since| now.ms() - since.ms() >= HEARTBEAT_INTERVAL_MS)
    }

    /// The earliest time a member that has not rejoined the pending rebalance times out.
    pub fn rebalance_deadline(&self) -> Option<Time> {
        let since = self.rebalance_since?;
        self.members.values().filter(|m| m.last_heartbeat < since).map(|m| Time(m.last_heartbeat.ms() + m.session_timeout_ms)).min()
    }

    /// The range assignor's partitions for `member` among the group's members.
    pub fn assignment(&self, member: &str, partitions_of: impl Fn(&str) -> Option<i32>) -> Vec<TopicPartition> {
        let subscriptions: BTreeMap<&str, &[String]> = self.members.iter().map(|(id, m)| (id.as_str(), m.topics.as_slice())).collect();
        range_assign(&subscriptions, member, partitions_of)
    }
}

/// Kafka's `RangeAssignor`: per topic, the members subscribed to it (sorted by member id) get
/// consecutive ranges; the first `partitions % members` get one more. `subscriptions` maps member
/// ids to their topics; a topic `partitions_of` does not know is skipped.
pub fn range_assign(
    subscriptions: &BTreeMap<&str, &[String]>,
    member: &str,
    partitions_of: impl Fn(&str) -> Option<i32>,
) -> Vec<TopicPartition> {
    let mut topics: Vec<&String> = subscriptions.values().flat_map(|ts| ts.iter()).collect();
    topics.sort();
    topics.dedup();
    let mut out = Vec::new();
    for topic in topics {
        let Some(n) = partitions_of(topic) else { continue };
        let subscribers: Vec<&str> = subscriptions.iter().filter(|(_, ts)| ts.contains(topic)).map(|(id, _)| *id).collect();
        let Some(i) = subscribers.iter().position(|id| *id == member) else { continue };
        let m = subscribers.len() as i32;
        let (per, extra) = (n / m, n % m);
        let i = i as i32;
        let start = per * i + i.min(extra);
        let len = per + i32::from(i < extra);
        out.extend((start..start + len).map(|p| TopicPartition::new(topic.clone(), p)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_assignor_gives_leading_members_the_extra_partition() {
        let (t, tu) = (["t".to_string()], ["t".to_string(), "u".to_string()]);
        let subs: BTreeMap<&str, &[String]> = [("b", &t[..]), ("a", &tu[..])].into();
        let counts = |topic: &str| match topic {
            "t" => Some(3),
            "u" => Some(1),
            _ => None,
        };
        let tp = |t: &str, p| TopicPartition::new(t, p);
        assert_eq!(range_assign(&subs, "a", counts), vec![tp("t", 0), tp("t", 1), tp("u", 0)]);
        assert_eq!(range_assign(&subs, "b", counts), vec![tp("t", 2)]);
        assert_eq!(range_assign(&subs, "c", counts), vec![]);
    }
}
