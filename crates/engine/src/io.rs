//! The engine's side of the conversation with its shell: requests out, replies in, and the memo
//! that lets a task be written as straight-line code.
//!
//! A task first *gathers*: it runs against `&self` and the replies received so far, asking for what
//! it still lacks. Only when nothing is missing does it *apply* its effects with `&mut self`. So a
//! gather may run several times (once per round trip) without changing anything.

use crate::kafka::{KafkaReply, KafkaRequest};
use crate::storage::{StorageReply, StorageRequest};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "to", rename_all = "camelCase")]
pub enum Request {
    Kafka(KafkaRequest),
    Storage(StorageRequest),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "from", rename_all = "camelCase")]
pub enum Reply {
    Kafka(KafkaReply),
    Storage(StorageReply),
}

/// Replies received for the task in progress, keyed by the request they answer.
#[derive(Default)]
pub struct Memo {
    replies: BTreeMap<Request, Reply>,
    /// Requests already sent, so a re-run gather does not send them twice.
    pub asked: BTreeSet<Request>,
}

impl Memo {
    pub fn insert(&mut self, req: Request, reply: Reply) {
        self.replies.insert(req, reply);
    }

    /// Some request the task asked for is still unanswered: gathering again would find nothing new.
    pub fn waiting(&self) -> bool {
        self.asked.iter().any(|r| !self.replies.contains_key(r))
    }
}

/// The task cannot go on until the requests it listed are answered.
#[derive(Debug)]
pub struct Pending;

/// One run of a task's gather phase.
pub struct Gather<'m> {
    memo: &'m Memo,
    pub missing: Vec<Request>,
}

impl<'m> Gather<'m> {
    pub fn new(memo: &'m Memo) -> Gather<'m> {
        Gather { memo, missing: Vec::new() }
    }

    /// The reply to `req`, or `None` (and `req` noted as missing).
    pub fn kafka(&mut self, req: KafkaRequest) -> Option<&'m KafkaReply> {
        match self.memo.replies.get(&Request::Kafka(req.clone())) {
            Some(Reply::Kafka(r)) => Some(r),
            _ => {
                self.missing.push(Request::Kafka(req));
                None
            }
        }
    }

    pub fn storage(&mut self, req: StorageRequest) -> Option<&'m StorageReply> {
        match self.memo.replies.get(&Request::Storage(req.clone())) {
            Some(Reply::Storage(r)) => Some(r),
            _ => {
                self.missing.push(Request::Storage(req));
                None
            }
        }
    }

    /// `Err(Pending)` while anything asked for so far is unanswered.
    pub fn ready(&self) -> Result<(), Pending> {
        if self.missing.is_empty() {
            Ok(())
        } else {
            Err(Pending)
        }
    }
}
