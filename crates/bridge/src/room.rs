//! The teacher's view of the room and what removes a lab's traces: the three numbers per partition
//! (the page's checkpoint offset, the group's committed offset and the log start/end, both read here
//! from Kafka), and the reset of a lab (its topics, groups and checkpoint folder), used by the teacher's
//! `resetLab`, the idle cleanup and `cargo xtask workshop --clean`.

use crate::labs::{Participant, Status};
use checkpoint_dir::CheckpointDir;
use kafka_client::Kafka;
use protocol::{RoomLab, RoomPartition};
use std::collections::BTreeMap;
use std::path::Path;

/// One lab as the room task copies it out of the store (so no lock is held across Kafka calls).
pub struct LabView {
    pub record: Participant,
    pub status: Status,
    pub online: bool,
}

/// The room's labs with the numbers Kafka has now. A Kafka that does not answer leaves the partitions
/// the page reported, with `logStart`/`logEnd` −1 (unknown).
pub async fn snapshot(kafka: &Kafka, labs: Vec<LabView>) -> Vec<RoomLab> {
    let topics = kafka.list_topics().await.unwrap_or_default();
    let groups = kafka.list_groups().await.unwrap_or_default();
    let mut out = Vec::with_capacity(labs.len());
    for lab in labs {
        let ns = lab.record.namespace.as_str();
        let group = lab.status.group.clone().filter(|g| g.starts_with(ns)).or_else(|| groups.iter().find(|g| g.starts_with(ns)).cloned());
        let committed = match &group {
            Some(g) => kafka.committed(g).await.unwrap_or_default(),
            None => BTreeMap::new(),
        };
        let mut partitions: BTreeMap<(String, i32), RoomPartition> = BTreeMap::new();
        for t in topics.iter().filter(|t| t.topic.starts_with(ns)) {
            for r in kafka.describe_topic(&t.topic).await.unwrap_or_default() {
                let key = (t.topic.clone(), r.partition);
                partitions.insert(
                    key.clone(),
                    RoomPartition {
                        topic: t.topic.clone(),
                        partition: r.partition,
                        checkpoint: None,
                        committed: committed.get(&key).copied(),
                        log_start: r.log_start,
                        log_end: r.log_end,
                    },
                );
            }
        }
        // The page's checkpoint offsets, also for partitions the broker no longer has (a re-created
        // topic with fewer partitions is one of the lessons).
        for p in &lab.status.partitions {
            let key = (p.topic.clone(), p.partition);
            partitions
                .entry(key.clone())
                .or_insert_with(|| RoomPartition {
                    topic: p.topic.clone(),
                    partition: p.partition,
                    checkpoint: None,
                    committed: committed.get(&key).copied(),
                    log_start: -1,
                    log_end: -1,
                })
                .checkpoint = p.checkpoint;
        }
        out.push(RoomLab {
            namespace: lab.record.namespace.clone(),
            name: lab.record.name.clone(),
            lesson: lab.record.lesson.clone(),
            chapter: lab.record.chapter,
            job: lab.status.job,
            exception: lab.status.exception.clone(),
            partitions: partitions.into_values().collect(),
            last_activity_ms: lab.record.last_seen_ms,
            online: lab.online,
        });
    }
    out
}

/// Deletes everything of lab `ns` (a `lab-<hex>-` prefix, never empty): its topics, its groups and its
/// checkpoint folder. Returns what was removed, one line each; the first failure ends it.
pub async fn reset_lab(kafka: &Kafka, checkpoint_root: &Path, ns: &str) -> Result<Vec<String>, String> {
    if crate::namespace::Namespace::parse(ns).is_none() {
        return Err(format!("`{ns}` is not a lab's namespace"));
    }
    let mut removed = Vec::new();
    match kafka.list_topics().await {
        Ok(topics) => {
            for t in topics.iter().filter(|t| t.topic.starts_with(ns)) {
                kafka.delete_topic(&t.topic).await.map_err(|e| format!("deleting topic {}: {}", t.topic, e.message))?;
                removed.push(format!("topic {}", t.topic));
            }
        }
        Err(e) => return Err(format!("listing topics: {}", e.message)),
    }
    let groups = kafka.list_groups().await.map_err(|e| format!("listing groups: {}", e.message))?;
    for g in groups.iter().filter(|g| g.starts_with(ns)) {
        match kafka.delete_group(g).await {
            Ok(None) => removed.push(format!("group {g}")),
            Ok(Some(e)) => return Err(format!("deleting group {g}: {e}")),
            Err(e) => return Err(format!("deleting group {g}: {}", e.message)),
        }
    }
    let dir = CheckpointDir::for_namespace(checkpoint_root, ns).root().to_path_buf();
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        removed.push(format!("checkpoint folder {}", dir.display()));
    }
    Ok(removed)
}

/// Bytes of the files under `dir` (0 when it does not exist); symlinks are not followed.
pub fn folder_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => folder_bytes(&e.path()),
            Ok(t) if t.is_file() => e.metadata().map(|m| m.len()).unwrap_or(0),
            _ => 0,
        })
        .sum()
}

/// `cargo xtask workshop --clean`: resets every lab in the workshop's `participants.json` (topics,
/// groups, checkpoint folders), then deletes the state folder itself. Returns what was removed.
pub async fn clean_workshop(kafka: &Kafka, checkpoint_root: &Path, state: &Path) -> Result<Vec<String>, String> {
    let mut removed = Vec::new();
    if !state.exists() {
        return Ok(removed);
    }
    let labs = crate::labs::Labs::load(&state.join(crate::workshop::PARTICIPANTS_FILE), usize::MAX)?;
    for lab in labs.all() {
        let ns = &lab.record.namespace;
        let what = reset_lab(kafka, checkpoint_root, ns).await.map_err(|e| format!("lab {ns} ({}): {e}", lab.record.name))?;
        removed
            .extend(what.into_iter().map(|w| format!("{w} (lab of {})", if lab.record.name.is_empty() { "?" } else { &lab.record.name })));
    }
    std::fs::remove_dir_all(state).map_err(|e| format!("{}: {e}", state.display()))?;
    removed.push(format!("state folder {} ({} labs)", state.display(), labs.len()));
    Ok(removed)
}
