//! `StateDStream` (`updateStateByKey`): which state RDDs exist, which are checkpointed to files,
//! and the bookkeeping `DStreamCheckpointData` keeps to delete old files.

use crate::time::Time;
use std::collections::{BTreeMap, BTreeSet};

pub type StateMap = BTreeMap<String, i64>;

#[derive(Clone, Debug, Default)]
pub struct StateDStream {
    /// `generatedRDDs`: batches whose state RDD exists (computed, or restored from a file).
    pub rdds: BTreeSet<Time>,
    /// The newest computed state, kept in memory (`MEMORY_ONLY_SER`).
    pub materialized: Option<(Time, StateMap)>,
    /// `timeToCheckpointFile`: every state file written or restored and not yet deleted.
    pub files: BTreeMap<Time, String>,
    /// `currentCheckpointFiles`: what the next metadata checkpoint references.
    pub current_files: BTreeMap<Time, String>,
    /// `timeToOldestCheckpointFileTime`, per metadata checkpoint time.
    pub oldest_for_checkpoint: BTreeMap<Time, Time>,
}

/// Where the state before a batch comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Base {
    /// Nothing before `zeroTime`: start from the empty state.
    Empty,
    /// The in-memory state of this batch.
    Memory(Time),
    /// A state RDD checkpoint file.
    File(Time, String),
}

impl StateDStream {
    /// `getOrCompute(t)` walked back to a state that exists (in memory, in a file, or the empty
    /// state before `zeroTime`), and the batches to replay after it (ascending; empty when the
    /// state of `t` itself exists).
    pub fn lineage(&self, t: Time, slide: i64, zero: Time) -> (Base, Vec<Time>) {
        let mut chain = Vec::new();
        let mut s = t;
        let base = loop {
            if self.materialized.as_ref().is_some_and(|(m, _)| *m == s) {
                break Base::Memory(s);
            }
            if let (true, Some(f)) = (self.rdds.contains(&s), self.files.get(&s)) {
                break Base::File(s, f.clone());
            }
            if s <= zero {
                break Base::Empty;
            }
            chain.push(s);
            s = Time(s.ms() - slide);
        };
        chain.reverse();
        (base, chain)
    }

    /// `DStreamCheckpointData.update(time)` computed without changing anything: the new
    /// `currentCheckpointFiles` (unchanged when no remembered RDD has a file).
    pub fn checkpoint_files_at(&self) -> BTreeMap<Time, String> {
        let now: BTreeMap<Time, String> = self.rdds.iter().filter_map(|t| self.files.get(t).map(|f| (*t, f.clone()))).collect();
        if now.is_empty() {
            self.current_files.clone()
        } else {
            now
        }
    }

    /// Applies `update(time)`.
    pub fn update(&mut self, time: Time, files: BTreeMap<Time, String>) {
        if let Some(oldest) = files.keys().next() {
            self.oldest_for_checkpoint.insert(time, *oldest);
        }
        self.current_files = files;
    }

    /// `cleanup(time)` after a completion checkpoint: the files no checkpoint will need again.
    pub fn cleanup(&mut self, time: Time) -> Vec<String> {
        let Some(oldest) = self.oldest_for_checkpoint.remove(&time) else { return Vec::new() };
        let old: Vec<Time> = self.files.range(..oldest).map(|(t, _)| *t).collect();
        old.iter().filter_map(|t| self.files.remove(t)).collect()
    }
}

/// State files hold the map as JSON: `{"a":2,"b":1}`.
pub fn encode(state: &StateMap) -> Vec<u8> {
    serde_json::to_vec(state).expect("state maps always serialize")
}

pub fn decode(bytes: &[u8]) -> Result<StateMap, String> {
    serde_json::from_slice(bytes).map_err(|e| format!("corrupt state checkpoint: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lineage_stops_at_memory_file_or_zero() {
        let mut s = StateDStream::default();
        assert_eq!(s.lineage(Time(15), 5, Time(0)), (Base::Empty, vec![Time(5), Time(10), Time(15)]));
        s.rdds.insert(Time(10));
        s.files.insert(Time(10), "ckpt/u/rdd-1".into());
        assert_eq!(s.lineage(Time(25), 5, Time(0)), (Base::File(Time(10), "ckpt/u/rdd-1".into()), vec![Time(15), Time(20), Time(25)]));
        s.materialized = Some((Time(20), StateMap::new()));
        assert_eq!(s.lineage(Time(25), 5, Time(0)), (Base::Memory(Time(20)), vec![Time(25)]));
        // A restored state RDD is used as it is, not recomputed.
        assert_eq!(s.lineage(Time(10), 5, Time(0)), (Base::File(Time(10), "ckpt/u/rdd-1".into()), vec![]));
    }

    #[test]
    fn cleanup_deletes_files_older_than_the_oldest_referenced() {
        let mut s = StateDStream::default();
        for t in [10, 20, 30] {
            s.rdds.insert(Time(t));
            s.files.insert(Time(t), format!("f{t}"));
        }
        s.rdds.remove(&Time(10));
        let files = s.checkpoint_files_at();
        assert_eq!(files.keys().copied().collect::<Vec<_>>(), vec![Time(20), Time(30)]);
        s.update(Time(35), files);
        assert_eq!(s.cleanup(Time(35)), vec!["f10".to_string()]);
        assert_eq!(s.cleanup(Time(35)), Vec::<String>::new());
    }
}
