//! The live page's checkpoint storage: the files are kept in the page (the engine reads its own copy
//! and never waits for a file), and every write and delete is copied to the bridge's directory as a
//! `storage` frame over the bridge socket, one at a time and in order ("write the new file, then
//! delete the old one" must not overtake), each answered by its frame id.
//!
//! A resumed lab (a reload, a second tab, a restarted bridge) first reads its checkpoint folder
//! back: `checkpointFiles` names every file with its size, then one storage `read` per file. The copy
//! is taken whole or not at all: a listing or a file that does not add up is refused with a note, and
//! the page starts without a checkpoint rather than with half of one.
//!
//! [`BridgeStorage`] is what the run writes to; the session holds the same [`StorageLink`] to send
//! its frames and hand it the replies.

use engine::storage::{MemoryStorage, Storage, StorageReply, StorageRequest};
use protocol::{Op, Reply, Request, Response, StoredFile};
use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;

/// Bytes a restored checkpoint may hold in all (the bridge's default checkpoint quota is 20 MiB).
pub const MAX_RESTORE_BYTES: u64 = 64 * 1024 * 1024;

/// Reading a resumed lab's checkpoint folder back from the bridge.
#[derive(Debug)]
enum Restore {
    /// `checkpointFiles` is to be sent (again, after a lost connection).
    List { dir: String },
    /// The files still to read, and those read.
    Read { dir: String, todo: VecDeque<StoredFile>, got: BTreeMap<String, Vec<u8>> },
}

/// What the frame in flight asked for.
#[derive(Debug)]
enum Busy {
    Copy(StorageRequest),
    List,
    Read(StoredFile),
}

/// The page's checkpoint files, the copies waiting to go to the bridge, and the one it is writing.
#[derive(Debug, Default)]
pub struct StorageLink {
    mem: MemoryStorage,
    queue: VecDeque<StorageRequest>,
    /// The frame id of the request the bridge is answering, and the request.
    busy: Option<(u64, Busy)>,
    restore: Option<Restore>,
    /// What the user should read (a copy too large for a frame, a write the bridge refused).
    pub notes: Vec<String>,
}

impl StorageLink {
    /// Queues a copy; one too large for a frame stays in the page only, with a note, instead of
    /// closing the connection.
    fn push(&mut self, request: StorageRequest) {
        let size = Request::new(u64::MAX, Op::Storage { request: request.clone() }).to_json().len();
        if size > protocol::MAX_FRAME_BYTES {
            self.notes.push(format!(
                "{} is not copied to the bridge: {size} bytes as a frame, over its {} byte limit",
                describe(&request),
                protocol::MAX_FRAME_BYTES
            ));
            return;
        }
        self.queue.push_back(request);
    }

    /// Reads `dir` back from the bridge before anything else goes; until it is in (or refused),
    /// [`StorageLink::restoring`] is true and the session holds the engine back.
    pub fn restore_from_bridge(&mut self, dir: &str) {
        self.restore = Some(Restore::List { dir: dir.to_string() });
    }

    /// Whether the checkpoint folder is still being read back.
    pub fn restoring(&self) -> bool {
        self.restore.is_some()
    }

    /// Whether a frame is ready to go ([`StorageLink::take_frame`] would send one).
    pub fn has_frame(&self) -> bool {
        self.busy.is_none() && (self.restore.is_some() || !self.queue.is_empty())
    }

    /// The next request as a frame, with an id from `fresh_id` (the connection's), when none is in
    /// flight: the restore's first, then the copies.
    pub fn take_frame(&mut self, fresh_id: impl FnOnce() -> u64) -> Option<String> {
        if self.busy.is_some() {
            return None;
        }
        let (op, busy) = match &mut self.restore {
            Some(Restore::List { dir }) => (Op::CheckpointFiles { dir: dir.clone() }, Busy::List),
            Some(Restore::Read { todo, .. }) => {
                let file = todo.front().cloned().expect("a restore with nothing to read has ended");
                (Op::Storage { request: StorageRequest::Read { path: file.path.clone() } }, Busy::Read(file))
            }
            None => {
                let request = self.queue.pop_front()?;
                (Op::Storage { request: request.clone() }, Busy::Copy(request))
            }
        };
        let id = fresh_id();
        self.busy = Some((id, busy));
        Some(Request::new(id, op).to_json())
    }

    /// Copies queued or in flight.
    pub fn waiting(&self) -> usize {
        self.queue.len() + usize::from(matches!(self.busy, Some((_, Busy::Copy(_)))))
    }

    /// Whether `r` answers this link's request in flight.
    pub fn owns(&self, r: &Response) -> bool {
        matches!((&self.busy, r.id), (Some((busy, _)), Some(id)) if *busy == id)
    }

    /// The bridge's answer to the request in flight; the next one may go.
    pub fn handle_response(&mut self, r: Response) {
        let Some((_, busy)) = self.busy.take() else { return };
        match busy {
            Busy::Copy(request) => {
                if let Some(e) = failure(&r.reply) {
                    self.notes.push(format!("checkpoint copy on the bridge: {}: {e}", describe(&request)));
                }
            }
            Busy::List => {
                let Some(Restore::List { dir }) = self.restore.take() else { return };
                match r.reply {
                    Reply::CheckpointFiles { files, .. } => match check_listing(&dir, &files) {
                        Ok(()) if files.is_empty() => {}
                        Ok(()) => self.restore = Some(Restore::Read { dir, todo: files.into(), got: BTreeMap::new() }),
                        Err(e) => self.refuse(&dir, e),
                    },
                    other => self.refuse(&dir, failure(&other).unwrap_or_else(|| format!("the bridge answered {other:?}"))),
                }
            }
            Busy::Read(file) => {
                let Some(Restore::Read { dir, mut todo, mut got }) = self.restore.take() else { return };
                let bytes = match r.reply {
                    Reply::Storage { storage: StorageReply::Bytes { result: Ok(bytes) } } => bytes,
                    other => {
                        let why = failure(&other).unwrap_or_else(|| format!("the bridge answered {other:?}"));
                        return self.refuse(&dir, format!("reading {}: {why}", file.path));
                    }
                };
                if bytes.len() as u64 != file.bytes {
                    let e = format!("{} is {} bytes, the listing said {}", file.path, bytes.len(), file.bytes);
                    return self.refuse(&dir, e);
                }
                todo.pop_front();
                got.insert(file.path, bytes);
                if todo.is_empty() {
                    let total: usize = got.values().map(Vec::len).sum();
                    self.notes
                        .push(format!("read this lab's checkpoint back from the bridge: {} files, {total} bytes in {dir}", got.len()));
                    self.mem.files.extend(got);
                } else {
                    self.restore = Some(Restore::Read { dir, todo, got });
                }
            }
        }
    }

    fn refuse(&mut self, dir: &str, why: String) {
        self.notes
            .push(format!("the lab's checkpoint ({dir} on the bridge) was not read back: {why}; this page starts without a checkpoint"));
    }

    /// The connection closed: the copy in flight is sent again on the next connection (writes and
    /// deletes are idempotent), with everything queued behind it; a restore starts over.
    pub fn disconnected(&mut self) {
        match self.busy.take() {
            Some((_, Busy::Copy(request))) => self.queue.push_front(request),
            Some((_, Busy::List | Busy::Read(_))) | None => {}
        }
        if let Some(Restore::Read { dir, .. }) = &self.restore {
            self.restore = Some(Restore::List { dir: dir.clone() });
        }
    }
}

/// The error a reply carries, if it is one.
fn failure(reply: &Reply) -> Option<String> {
    match reply {
        Reply::Storage {
            storage:
                StorageReply::Listing { result: Err(e) }
                | StorageReply::Bytes { result: Err(e) }
                | StorageReply::Written { result: Err(e) }
                | StorageReply::Done { result: Err(e) },
        } => Some(e.clone()),
        Reply::Error { message, .. } => Some(message.clone()),
        _ => None,
    }
}

/// A listing the page can take: paths under `dir` without `.`/`..` or empty parts, no duplicates,
/// each file small enough for a frame, at most [`protocol::MAX_CHECKPOINT_FILES`] files and
/// [`MAX_RESTORE_BYTES`] in all.
fn check_listing(dir: &str, files: &[StoredFile]) -> Result<(), String> {
    if files.len() > protocol::MAX_CHECKPOINT_FILES {
        return Err(format!("{} files listed, over the {} a checkpoint may have", files.len(), protocol::MAX_CHECKPOINT_FILES));
    }
    let prefix = format!("{}/", dir.trim_end_matches('/'));
    let mut seen = std::collections::BTreeSet::new();
    let mut total = 0u64;
    for f in files {
        let rest = f.path.strip_prefix(&prefix).ok_or_else(|| format!("{} is not under {dir}", f.path))?;
        if rest.split('/').any(|c| c.is_empty() || c == "." || c == "..") {
            return Err(format!("{} is not a plain path under {dir}", f.path));
        }
        if !seen.insert(f.path.as_str()) {
            return Err(format!("{} is listed twice", f.path));
        }
        if f.bytes > protocol::MAX_FRAME_BYTES as u64 {
            return Err(format!("{} is {} bytes, more than a frame ({}) can bring", f.path, f.bytes, protocol::MAX_FRAME_BYTES));
        }
        total += f.bytes;
    }
    if total > MAX_RESTORE_BYTES {
        return Err(format!("{total} bytes listed, over the {MAX_RESTORE_BYTES} this page reads back"));
    }
    Ok(())
}

fn describe(r: &StorageRequest) -> String {
    match r {
        StorageRequest::Write { path, bytes } => format!("write {path} ({} bytes)", bytes.len()),
        StorageRequest::Delete { path } => format!("delete {path}"),
        other => format!("{other:?}"),
    }
}

/// Checkpoint files in the page (kept in the [`StorageLink`]), each change copied to the bridge through it.
pub struct BridgeStorage {
    link: Rc<RefCell<StorageLink>>,
}

impl BridgeStorage {
    /// The storage, and the link the session sends its frames through.
    pub fn new() -> (BridgeStorage, Rc<RefCell<StorageLink>>) {
        let link = Rc::new(RefCell::new(StorageLink::default()));
        (BridgeStorage { link: Rc::clone(&link) }, link)
    }
}

impl Storage for BridgeStorage {
    fn list(&self, dir: &str) -> Result<Vec<String>, String> {
        self.link.borrow().mem.list(dir)
    }
    fn read(&self, path: &str) -> Result<Vec<u8>, String> {
        self.link.borrow().mem.read(path)
    }
    fn write(&mut self, path: &str, bytes: &[u8]) -> Result<(), String> {
        let mut link = self.link.borrow_mut();
        link.mem.write(path, bytes)?;
        link.push(StorageRequest::Write { path: path.into(), bytes: bytes.to_vec() });
        Ok(())
    }
    /// The bridge has no rename request: write the target, then delete the source (in that order,
    /// the bridge's writes being atomic, a reader there never sees neither).
    fn rename(&mut self, from: &str, to: &str) -> Result<(), String> {
        let mut link = self.link.borrow_mut();
        let bytes = link.mem.read(from)?;
        link.mem.rename(from, to)?;
        link.push(StorageRequest::Write { path: to.into(), bytes });
        link.push(StorageRequest::Delete { path: from.into() });
        Ok(())
    }
    fn delete(&mut self, path: &str) -> Result<(), String> {
        let mut link = self.link.borrow_mut();
        link.mem.delete(path)?;
        link.push(StorageRequest::Delete { path: path.into() });
        Ok(())
    }
    fn exists(&self, path: &str) -> bool {
        self.link.borrow().mem.exists(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine::time::Time;

    fn sent(link: &Rc<RefCell<StorageLink>>, next: &mut u64) -> Option<Request> {
        let frame = link.borrow_mut().take_frame(|| {
            *next += 1;
            *next
        })?;
        Some(serde_json::from_str(&frame).unwrap())
    }

    fn done(id: u64) -> Response {
        Response::new(Some(id), Reply::Storage { storage: StorageReply::Done { result: Ok(()) } })
    }

    #[test]
    fn a_rotation_goes_to_the_bridge_as_writes_and_deletes_one_at_a_time_in_order() {
        let (mut st, link) = BridgeStorage::new();
        engine::checkpoint::write_rotating(&mut st, "ckpt", Time(5_000), b"one").unwrap();
        engine::checkpoint::write_rotating(&mut st, "ckpt", Time(5_000), b"two").unwrap();
        // Replaying the frames, each answered by its id, on an empty storage gives the page's files.
        let mut disk = MemoryStorage::default();
        let mut next = 100;
        while let Some(r) = sent(&link, &mut next) {
            assert!(sent(&link, &mut next).is_none(), "one copy at a time");
            let Op::Storage { request } = r.op else { panic!("{r:?}") };
            engine::storage::serve(&mut disk, &request);
            let reply = done(r.id);
            assert!(link.borrow().owns(&reply));
            link.borrow_mut().handle_response(reply);
        }
        assert_eq!(link.borrow().waiting(), 0);
        assert_eq!(disk.list("ckpt").unwrap(), st.list("ckpt").unwrap());
        assert_eq!(disk.read("ckpt/checkpoint-5000").unwrap(), b"two");
        assert_eq!(disk.read("ckpt/checkpoint-5000.bk").unwrap(), b"one");
    }

    #[test]
    fn a_checkpoint_file_too_large_for_a_frame_is_not_sent_and_says_so() {
        let (mut st, link) = BridgeStorage::new();
        st.write("ckpt/big", &vec![200; protocol::MAX_FRAME_BYTES]).unwrap();
        st.write("ckpt/small", &[1; 10]).unwrap();
        // The page keeps its copy either way.
        assert!(st.exists("ckpt/big"));
        let r = sent(&link, &mut 0).unwrap();
        assert!(matches!(&r.op, Op::Storage { request: StorageRequest::Write { path, .. } } if path == "ckpt/small"), "{r:?}");
        let notes = &link.borrow().notes;
        assert!(notes.iter().any(|n| n.contains("write ckpt/big") && n.contains("not copied")), "{notes:?}");
    }

    #[test]
    fn only_the_copy_in_flight_is_answered_a_refusal_is_noted_and_a_lost_copy_goes_again() {
        let (mut st, link) = BridgeStorage::new();
        st.write("ckpt/a", b"a").unwrap();
        st.delete("ckpt/a").unwrap();
        let first = sent(&link, &mut 0).unwrap();
        assert!(!link.borrow().owns(&done(first.id + 1)));
        link.borrow_mut().disconnected();
        let again = sent(&link, &mut 5).unwrap();
        assert_eq!(again.op, first.op);
        let refused = Response::new(Some(again.id), Reply::Storage { storage: StorageReply::Done { result: Err("disk full".into()) } });
        link.borrow_mut().handle_response(refused);
        assert!(link.borrow().notes.iter().any(|n| n.contains("write ckpt/a (1 bytes): disk full")), "{:?}", link.borrow().notes);
        let last = sent(&link, &mut 6).unwrap();
        assert!(matches!(&last.op, Op::Storage { request: StorageRequest::Delete { path } } if path == "ckpt/a"), "{last:?}");
    }

    fn restore_replies(link: &Rc<RefCell<StorageLink>>, files: Vec<(&str, u64)>, read: &[u8]) {
        let r = sent(link, &mut 0).unwrap();
        assert!(matches!(&r.op, Op::CheckpointFiles { dir } if dir == "ckpt"), "{r:?}");
        let files = files.into_iter().map(|(p, b)| StoredFile { path: p.into(), bytes: b }).collect();
        link.borrow_mut().handle_response(Response::new(Some(r.id), Reply::CheckpointFiles { dir: "ckpt".into(), files }));
        if let Some(r) = sent(link, &mut 10) {
            let reply = Reply::Storage { storage: StorageReply::Bytes { result: Ok(read.to_vec()) } };
            link.borrow_mut().handle_response(Response::new(Some(r.id), reply));
        }
    }

    #[test]
    fn a_restore_reads_every_file_or_refuses_a_listing_or_a_file_that_does_not_add_up() {
        let (st, link) = BridgeStorage::new();
        link.borrow_mut().restore_from_bridge("ckpt");
        restore_replies(&link, vec![("ckpt/u/rdd-1", 3)], b"abc");
        assert!(!link.borrow().restoring());
        assert_eq!(st.read("ckpt/u/rdd-1").unwrap(), b"abc");
        assert_eq!(link.borrow().waiting(), 0, "what was read back is not copied back");
        for (files, read, why) in [
            (vec![("other/checkpoint-5000", 3)], &b"abc"[..], "is not under ckpt"),
            (vec![("ckpt/../x", 3)], b"abc", "not a plain path"),
            (vec![("ckpt/checkpoint-5000", 4)], b"abc", "is 3 bytes, the listing said 4"),
            (vec![("ckpt/big", protocol::MAX_FRAME_BYTES as u64 + 1)], b"", "more than a frame"),
        ] {
            let (st, link) = BridgeStorage::new();
            link.borrow_mut().restore_from_bridge("ckpt");
            restore_replies(&link, files, read);
            assert!(!link.borrow().restoring());
            let notes = &link.borrow().notes;
            assert!(notes.iter().any(|n| n.contains(why) && n.contains("starts without a checkpoint")), "{why}: {notes:?}");
            assert!(st.list("ckpt").unwrap().is_empty(), "nothing half-read is kept");
        }
    }

    #[test]
    fn a_restore_cut_by_a_lost_connection_starts_over() {
        let (st, link) = BridgeStorage::new();
        link.borrow_mut().restore_from_bridge("ckpt");
        let r = sent(&link, &mut 0).unwrap();
        let files = vec![StoredFile { path: "ckpt/a".into(), bytes: 1 }, StoredFile { path: "ckpt/b".into(), bytes: 1 }];
        link.borrow_mut().handle_response(Response::new(Some(r.id), Reply::CheckpointFiles { dir: "ckpt".into(), files }));
        assert!(sent(&link, &mut 1).is_some());
        link.borrow_mut().disconnected();
        let again = sent(&link, &mut 2).unwrap();
        assert!(matches!(again.op, Op::CheckpointFiles { .. }), "{again:?}");
        assert!(link.borrow().restoring() && st.list("ckpt").unwrap().is_empty());
    }
}
