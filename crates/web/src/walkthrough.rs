//! The guided walkthrough of the seed experiment: chapters are ranges of the embedded lesson's
//! steps, with short narration. Going to chapter k replays the lesson from scratch to its end.

use crate::session::{lesson, Act, Session};

pub struct Chapter {
    pub title: &'static str,
    /// Lesson steps `[from, to)` this chapter applies.
    pub steps: (usize, usize),
    pub narration: &'static str,
}

pub const CHAPTERS: &[Chapter] = &[
    Chapter { title: "Start the job", steps: (0, 2), narration: "StreamingContext.getOrCreate finds no checkpoint, so creatingFunc runs. The driver consumer joins group g (Stable) and, with auto.offset.reset=latest, currentOffsets start at each partition's log end. Empty batches run every 5 s; each writes a checkpoint-<ms> file (and a .bk when the file exists)." },
    Chapter { title: "Produce records", steps: (2, 5), narration: "The console producer writes a, b to words-0, a to words-1 and c to words-2. The log end moves; Spark has not read anything yet: its currentOffsets marker stays behind the log end." },
    Chapter { title: "The first batch reads them", steps: (5, 6), narration: "The next batch's ranges are [currentOffsets, log end). print() shows the counts and updateStateByKey keeps them. commitAsync only queues the ranges: the group's committed offset still trails — it is sent at the next batch's compute." },
    Chapter { title: "Graceful stop: the commit lands", steps: (6, 8), narration: "ssc.stop(stopGracefully = true) runs the batches still due; their compute sends the queued commit. The group is Empty now, the committed offsets equal currentOffsets, and the newest checkpoint holds the same offsets." },
    Chapter { title: "Rewind the group", steps: (8, 10), narration: "kafka-consumer-groups --reset-offsets --shift-by -5 on words:0, accepted because the group is Empty. The tool clamps to the log start and prints a WARN. The committed marker of words-0 moves back; the checkpoint's marker does not." },
    Chapter { title: "Restart — nothing changed. Here is why", steps: (10, 12), narration: "getOrCreate reads the newest checkpoint, so creatingFunc and the group's offsets are ignored: currentOffsets come from the checkpoint. Worse, the restored commitQueue is sent at the first compute: the rewind is overwritten. Nothing is re-read; the state is unchanged." },
    Chapter { title: "Stop, delete and re-create the topic", steps: (12, 16), narration: "The topic is deleted (the group's offsets get tombstones) and created again, empty: the log end is 0 everywhere. The checkpoint still says the old offsets — it is now ahead of the log end." },
    Chapter { title: "Restart: numRecords must not be negative", steps: (16, 18), narration: "Recovery restores currentOffsets from the checkpoint and the first batch's ranges run from there to the new log end: untilOffset < fromOffset. StreamInputInfo's require fails inside ssc.start(). Every restart from this checkpoint does the same." },
    Chapter { title: "The way out: delete the checkpoint", steps: (18, 22), narration: "rm -r the checkpoint directory: getOrCreate runs creatingFunc again, a fresh start from the group's offsets or auto.offset.reset. The cost: the updateStateByKey state starts from nothing, and with latest any records already in the new topic would be skipped." },
];

/// A session that has applied chapters `0..=k` (replayable: always from scratch).
pub fn session_at(k: usize) -> Session {
    let mut s = Session::new();
    let end = CHAPTERS.get(k).map_or(0, |c| c.steps.1);
    for i in 0..end.min(lesson().steps.len()) {
        s.apply(Act::Lesson(i));
    }
    s
}

/// A chapter whose steps are all `expect`s.
pub fn only_checks(c: &Chapter) -> bool {
    lesson().steps[c.steps.0..c.steps.1].iter().all(|s| matches!(s.action, scenario::format::Action::Expect(_)))
}

/// The chapter a lesson step belongs to.
pub fn chapter_of(step: usize) -> Option<usize> {
    CHAPTERS.iter().position(|c| (c.steps.0..c.steps.1).contains(&step))
}

/// The chapter the session has completed (by its lesson progress), if it is on the walkthrough.
pub fn chapter_done(s: &Session) -> Option<usize> {
    let n = s.lesson_progress()?;
    CHAPTERS.iter().rposition(|c| c.steps.1 <= n && n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine::trace::TraceEvent;

    #[test]
    fn chapters_cover_every_lesson_step_in_order() {
        let mut next = 0;
        for c in CHAPTERS {
            assert_eq!(c.steps.0, next, "{}", c.title);
            assert!(c.steps.1 > c.steps.0);
            next = c.steps.1;
        }
        assert_eq!(next, lesson().steps.len());
    }

    #[test]
    fn chapter_8_ends_in_the_exception_and_chapter_9_out_of_it() {
        let s = session_at(7);
        assert_eq!(chapter_done(&s), Some(7));
        let last_error = s.run.trace.iter().rev().find_map(|l| match &l.event {
            TraceEvent::Error { message, .. } => Some(message.clone()),
            _ => None,
        });
        assert_eq!(last_error.as_deref(), Some("requirement failed: numRecords must not be negative"));
        assert!(!s.run.engine.is_running());
        let s = session_at(8);
        assert!(s.run.engine.is_running());
        assert_eq!(s.run.failures, Vec::<String>::new());
    }
}
