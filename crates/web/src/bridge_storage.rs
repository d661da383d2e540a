//! The live page's checkpoint storage: the files are kept in the page (the engine reads its own copy
//! and never waits for a file), and every write and delete is copied to the bridge's directory as a
//! `storage` frame over the bridge socket, one at a time and in order ("write the new file, then
//! delete the old one" must not overtake), each answered by its frame id.
//!
//! [`BridgeStorage`] is what the run writes to; the session holds the same [`StorageLink`] to send
//! its frames and hand it the replies.

use engine::storage::{MemoryStorage, Storage, StorageReply, StorageRequest};
use protocol::{Op, Reply, Request, Response};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

/// The copies waiting to go to the bridge, and the one it is writing.
#[derive(Debug, Default)]
pub struct StorageLink {
    queue: VecDeque<StorageRequest>,
    /// The frame id of the copy the bridge is writing, and the copy.
    busy: Option<(u64, StorageRequest)>,
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

    /// Whether a frame is ready to go ([`StorageLink::take_frame`] would send one).
    pub fn has_frame(&self) -> bool {
        self.busy.is_none() && !self.queue.is_empty()
    }

    /// The next copy as a frame, with an id from `fresh_id` (the connection's), when none is in flight.
    pub fn take_frame(&mut self, fresh_id: impl FnOnce() -> u64) -> Option<String> {
        if self.busy.is_some() {
            return None;
        }
        let request = self.queue.pop_front()?;
        let id = fresh_id();
        let frame = Request::new(id, Op::Storage { request: request.clone() }).to_json();
        self.busy = Some((id, request));
        Some(frame)
    }

    /// Copies queued or in flight.
    pub fn waiting(&self) -> usize {
        self.queue.len() + usize::from(self.busy.is_some())
    }

    /// Whether `r` answers this link's copy in flight.
    pub fn owns(&self, r: &Response) -> bool {
        matches!((&self.busy, r.id), (Some((busy, _)), Some(id)) if *busy == id)
    }

    /// The bridge's answer to the copy in flight; the next one may go.
    pub fn handle_response(&mut self, r: Response) {
        let Some((_, request)) = self.busy.take() else { return };
        let failed = match r.reply {
            Reply::Storage {
                storage:
                    StorageReply::Listing { result: Err(e) }
                    | StorageReply::Bytes { result: Err(e) }
                    | StorageReply::Written { result: Err(e) }
                    | StorageReply::Done { result: Err(e) },
            } => Some(e),
            Reply::Error { message, .. } => Some(message),
            _ => None,
        };
        if let Some(e) = failed {
            self.notes.push(format!("checkpoint copy on the bridge: {}: {e}", describe(&request)));
        }
    }

    /// The connection closed: the copy in flight is sent again on the next connection (writes and
    /// deletes are idempotent), with everything queued behind it.
    pub fn disconnected(&mut self) {
        if let Some((_, request)) = self.busy.take() {
            self.queue.push_front(request);
        }
    }
}

fn describe(r: &StorageRequest) -> String {
    match r {
        StorageRequest::Write { path, bytes } => format!("write {path} ({} bytes)", bytes.len()),
        StorageRequest::Delete { path } => format!("delete {path}"),
        other => format!("{other:?}"),
    }
}

/// Checkpoint files in the page, each change copied to the bridge through the [`StorageLink`].
pub struct BridgeStorage {
    mem: MemoryStorage,
    link: Rc<RefCell<StorageLink>>,
}

impl BridgeStorage {
    /// The storage, and the link the session sends its frames through.
    pub fn new() -> (BridgeStorage, Rc<RefCell<StorageLink>>) {
        let link = Rc::new(RefCell::new(StorageLink::default()));
        (BridgeStorage { mem: MemoryStorage::default(), link: Rc::clone(&link) }, link)
    }
}

impl Storage for BridgeStorage {
    fn list(&self, dir: &str) -> Result<Vec<String>, String> {
        self.mem.list(dir)
    }
    fn read(&self, path: &str) -> Result<Vec<u8>, String> {
        self.mem.read(path)
    }
    fn write(&mut self, path: &str, bytes: &[u8]) -> Result<(), String> {
        self.mem.write(path, bytes)?;
        self.link.borrow_mut().push(StorageRequest::Write { path: path.into(), bytes: bytes.to_vec() });
        Ok(())
    }
    /// The bridge has no rename request: write the target, then delete the source (in that order,
    /// the bridge's writes being atomic, a reader there never sees neither).
    fn rename(&mut self, from: &str, to: &str) -> Result<(), String> {
        let bytes = self.mem.read(from)?;
        self.mem.rename(from, to)?;
        let mut link = self.link.borrow_mut();
        link.push(StorageRequest::Write { path: to.into(), bytes });
        link.push(StorageRequest::Delete { path: from.into() });
        Ok(())
    }
    fn delete(&mut self, path: &str) -> Result<(), String> {
        self.mem.delete(path)?;
        self.link.borrow_mut().push(StorageRequest::Delete { path: path.into() });
        Ok(())
    }
    fn exists(&self, path: &str) -> bool {
        self.mem.exists(path)
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
}
