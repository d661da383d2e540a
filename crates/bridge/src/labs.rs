//! The labs a bridge has handed out: who holds each (display name, SHA-256 of its secret), what its
//! page last reported, its quota usage and last activity. A workshop keeps the records in
//! `participants.json` (written atomically) so labs survive a bridge restart; solo mode keeps them in
//! memory. Pure bookkeeping: times are passed in, the file is written by [`Labs::save`].

use crate::namespace::Namespace;
use crate::quota::Usage;
use crate::secret::{random_hex, same, sha256_hex};
use protocol::{JobState, LabException, StatusPartition};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One lab's record as `participants.json` holds it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Participant {
    pub namespace: String,
    pub name: String,
    /// The teacher's own lab (resumed with the teacher secret, not a lab secret).
    #[serde(default)]
    pub teacher: bool,
    /// SHA-256 (hex) of the lab secret; the secret itself is only ever in the Welcome that created it.
    pub secret_sha256: String,
    pub created_ms: i64,
    pub last_seen_ms: i64,
    #[serde(default)]
    pub lesson: String,
    #[serde(default)]
    pub chapter: u32,
}

#[derive(Serialize, Deserialize)]
struct StateFile {
    version: u32,
    participants: Vec<Participant>,
}

/// What the page reported last with `labStatus`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Status {
    pub job: JobState,
    pub exception: Option<LabException>,
    pub partitions: Vec<StatusPartition>,
    pub group: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Lab {
    pub record: Participant,
    pub status: Status,
    pub usage: Usage,
    /// Connections holding the lab now.
    pub online: u32,
    /// Something may be on the broker or disk for this lab (cleared by a cleanup).
    pub dirty: bool,
}

#[derive(Debug)]
pub struct Labs {
    /// `participants.json`, when the labs outlive the process.
    file: Option<PathBuf>,
    labs: BTreeMap<String, Lab>,
    max_labs: usize,
    /// Records changed since the last save.
    unsaved: bool,
}

pub const TEACHER: &str = "teacher";

impl Labs {
    pub fn in_memory(max_labs: usize) -> Labs {
        Labs { file: None, labs: BTreeMap::new(), max_labs, unsaved: false }
    }

    /// Reads `file` if it exists (a missing file is an empty workshop).
    pub fn load(file: &Path, max_labs: usize) -> Result<Labs, String> {
        let mut labs = Labs { file: Some(file.to_path_buf()), labs: BTreeMap::new(), max_labs, unsaved: false };
        let text = match std::fs::read_to_string(file) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(labs),
            Err(e) => return Err(format!("{}: {e}", file.display())),
        };
        let state: StateFile = serde_json::from_str(&text).map_err(|e| format!("{}: not a participants file: {e}", file.display()))?;
        for p in state.participants {
            if Namespace::parse(&p.namespace).is_none() {
                return Err(format!("{}: `{}` is not a namespace this bridge hands out", file.display(), p.namespace));
            }
            // After a restart nobody knows what is left on the broker: the next idle cleanup looks.
            labs.labs
                .insert(p.namespace.clone(), Lab { record: p, status: Status::default(), usage: Usage::default(), online: 0, dirty: true });
        }
        Ok(labs)
    }

    /// Writes `participants.json` if anything changed since the last save (no-op in memory).
    pub fn save(&mut self) -> Result<(), String> {
        let Some(file) = &self.file else { return Ok(()) };
        if !self.unsaved {
            return Ok(());
        }
        let state = StateFile { version: 1, participants: self.labs.values().map(|l| l.record.clone()).collect() };
        let json = serde_json::to_vec_pretty(&state).expect("records always serialize");
        checkpoint_dir::write_atomic(file, &json, true).map_err(|e| format!("{}: {e}", file.display()))?;
        self.unsaved = false;
        Ok(())
    }

    /// A new lab for `name`: its namespace and the secret to hand to its owner (once).
    pub fn create(&mut self, name: &str, now_ms: i64) -> Result<(Namespace, String), String> {
        self.insert(name, false, now_ms)
    }

    fn insert(&mut self, name: &str, teacher: bool, now_ms: i64) -> Result<(Namespace, String), String> {
        if self.labs.len() >= self.max_labs {
            return Err(format!("lab quota: this bridge holds {} labs of {} allowed (--max-labs)", self.labs.len(), self.max_labs));
        }
        let ns = loop {
            let ns = Namespace::fresh();
            if !self.labs.contains_key(ns.prefix()) {
                break ns;
            }
        };
        let secret = random_hex(16);
        let record = Participant {
            namespace: ns.prefix().to_string(),
            name: name.to_string(),
            teacher,
            secret_sha256: sha256_hex(&secret),
            created_ms: now_ms,
            last_seen_ms: now_ms,
            lesson: String::new(),
            chapter: 0,
        };
        self.labs
            .insert(record.namespace.clone(), Lab { record, status: Status::default(), usage: Usage::default(), online: 0, dirty: false });
        self.unsaved = true;
        Ok((ns, secret))
    }

    /// The lab whose secret this is.
    pub fn resume(&mut self, secret: &str, now_ms: i64) -> Option<(Namespace, String)> {
        let hash = sha256_hex(secret);
        let lab = self.labs.values_mut().find(|l| !l.record.teacher && same(&l.record.secret_sha256, &hash))?;
        lab.record.last_seen_ms = now_ms;
        Some((Namespace::parse(&lab.record.namespace).expect("checked on insert and load"), lab.record.name.clone()))
    }

    /// The teacher's own lab, made on the teacher's first visit.
    pub fn teacher(&mut self, now_ms: i64) -> Result<Namespace, String> {
        if let Some(l) = self.labs.values_mut().find(|l| l.record.teacher) {
            l.record.last_seen_ms = now_ms;
            return Ok(Namespace::parse(&l.record.namespace).expect("checked on insert and load"));
        }
        Ok(self.insert(TEACHER, true, now_ms)?.0)
    }

    pub fn get(&self, ns: &str) -> Option<&Lab> {
        self.labs.get(ns)
    }

    pub fn get_mut(&mut self, ns: &str) -> Option<&mut Lab> {
        self.labs.get_mut(ns)
    }

    pub fn all(&self) -> impl Iterator<Item = &Lab> {
        self.labs.values()
    }

    /// A request from the lab's page at `now_ms`; `makes` when it may leave something on the broker or disk.
    pub fn touch(&mut self, ns: &str, now_ms: i64, makes: bool) {
        if let Some(l) = self.labs.get_mut(ns) {
            l.record.last_seen_ms = now_ms;
            l.dirty |= makes;
        }
    }

    pub fn connected(&mut self, ns: &str, now_ms: i64) {
        if let Some(l) = self.labs.get_mut(ns) {
            l.online += 1;
            l.record.last_seen_ms = now_ms;
        }
    }

    pub fn disconnected(&mut self, ns: &str, now_ms: i64) {
        if let Some(l) = self.labs.get_mut(ns) {
            l.online = l.online.saturating_sub(1);
            l.record.last_seen_ms = now_ms;
            // Keep the last-seen time across a restart, not just the creation time.
            self.unsaved = true;
        }
    }

    pub fn report(&mut self, ns: &str, lesson: String, chapter: u32, status: Status, now_ms: i64) {
        if let Some(l) = self.labs.get_mut(ns) {
            if l.record.lesson != lesson || l.record.chapter != chapter {
                l.record.lesson = lesson;
                l.record.chapter = chapter;
                self.unsaved = true;
            }
            l.status = status;
            l.record.last_seen_ms = now_ms;
        }
    }

    /// Labs nobody holds, idle since before `now_ms - idle_ms`, that may have something to delete.
    pub fn idle(&self, now_ms: i64, idle_ms: i64) -> Vec<String> {
        self.labs
            .values()
            .filter(|l| l.online == 0 && l.dirty && l.record.last_seen_ms < now_ms - idle_ms)
            .map(|l| l.record.namespace.clone())
            .collect()
    }

    /// After a lab's topics, groups and checkpoint folder were deleted.
    pub fn cleaned(&mut self, ns: &str) {
        if let Some(l) = self.labs.get_mut(ns) {
            l.dirty = false;
            l.usage = Usage::default();
            l.status = Status::default();
        }
    }

    /// Solo mode: forgets labs nobody holds that are clean and idle (their pages can never resume them
    /// once the bridge's memory of the secret is gone anyway; this bounds that memory).
    pub fn forget_idle_solo(&mut self, now_ms: i64, idle_ms: i64) {
        if self.file.is_none() {
            self.labs.retain(|_, l| l.online > 0 || l.dirty || l.record.last_seen_ms >= now_ms - idle_ms);
        }
    }

    pub fn len(&self) -> usize {
        self.labs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labs.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("offset-lab-labs-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn a_lab_is_resumed_by_its_secret_only_and_survives_a_reload() {
        let dir = temp("resume");
        let file = dir.join("participants.json");
        let mut labs = Labs::load(&file, 10).unwrap();
        let (ada, secret) = labs.create("Ada", 1_000).unwrap();
        let (bob, _) = labs.create("Bob", 1_000).unwrap();
        assert_ne!(ada, bob);
        labs.save().unwrap();
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(!text.contains(&secret), "the secret itself is never written");
        assert!(text.contains(&sha256_hex(&secret)));
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);

        let mut again = Labs::load(&file, 10).unwrap();
        assert_eq!(again.resume(&secret, 2_000), Some((ada.clone(), "Ada".to_string())));
        assert_eq!(again.resume(ada.prefix(), 2_000), None, "the namespace is not a secret");
        assert_eq!(again.resume("", 2_000), None);
        assert_eq!(again.get(ada.prefix()).unwrap().record.last_seen_ms, 2_000);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_teacher_lab_is_stable_and_not_resumable_by_a_lab_secret() {
        let mut labs = Labs::in_memory(10);
        let t = labs.teacher(1).unwrap();
        assert_eq!(labs.teacher(2).unwrap(), t);
        assert!(labs.get(t.prefix()).unwrap().record.teacher);
        assert_eq!(labs.len(), 1);
    }

    #[test]
    fn idle_labs_are_those_offline_dirty_and_old() {
        let mut labs = Labs::in_memory(10);
        let (a, _) = labs.create("a", 0).unwrap();
        let (b, _) = labs.create("b", 0).unwrap();
        let (c, _) = labs.create("c", 0).unwrap();
        labs.touch(a.prefix(), 100, true);
        labs.touch(b.prefix(), 100, true);
        labs.connected(b.prefix(), 100);
        labs.touch(c.prefix(), 100, false);
        assert_eq!(labs.idle(1_000, 500), vec![a.prefix().to_string()], "b is online, c made nothing");
        assert!(labs.idle(500, 500).is_empty(), "a is not idle long enough yet");
        labs.cleaned(a.prefix());
        assert!(labs.idle(1_000, 500).is_empty());
        labs.forget_idle_solo(1_000, 500);
        assert_eq!(labs.len(), 1, "only the online lab b stays in memory");
    }

    #[test]
    fn the_lab_count_is_bounded_and_a_broken_file_is_an_error() {
        let mut labs = Labs::in_memory(1);
        labs.create("a", 0).unwrap();
        assert!(labs.create("b", 0).unwrap_err().contains("1 labs of 1 allowed"));
        let dir = temp("broken");
        std::fs::write(dir.join("p.json"), "{nope").unwrap();
        assert!(Labs::load(&dir.join("p.json"), 1).unwrap_err().contains("not a participants file"));
        std::fs::write(
            dir.join("p.json"),
            r#"{"version":1,"participants":[{"namespace":"../etc","name":"x","secretSha256":"","createdMs":0,"lastSeenMs":0}]}"#,
        )
        .unwrap();
        assert!(Labs::load(&dir.join("p.json"), 1).unwrap_err().contains("not a namespace"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
