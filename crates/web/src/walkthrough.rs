//! The guided walkthrough: a lesson's chapters (declared in its scenario file) with short narration. Going to
//! chapter k replays the lesson from scratch to its end.

pub use crate::lessons::{Chapter, Lesson, LESSONS};
use crate::session::{Act, Session};

/// A simulation that has applied chapters `0..=k` of lesson `lesson` (replayable: always from scratch).
pub fn session_at(lesson: usize, k: usize) -> Session {
    let mut s = Session::for_lesson(lesson);
    let end = s.lesson_def().chapters().get(k).map_or(0, |c| c.steps.end);
    for i in 0..end.min(s.lesson_def().steps().len()) {
        s.apply(Act::Lesson(i));
    }
    s
}

/// A chapter whose steps are all `expect`s.
pub fn only_checks(lesson: &Lesson, c: &Chapter) -> bool {
    lesson.steps()[c.steps.clone()].iter().all(|s| s.is_expect)
}

/// The chapter a lesson step belongs to.
pub fn chapter_of(lesson: &Lesson, step: usize) -> Option<usize> {
    lesson.chapters().iter().position(|c| c.steps.contains(&step))
}

/// The chapter the session has completed (by its lesson progress), if it is on the walkthrough.
pub fn chapter_done(s: &Session) -> Option<usize> {
    let n = s.lesson_progress()?;
    s.lesson_def().chapters().iter().rposition(|c| c.steps.end <= n && n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine::trace::TraceEvent;

    #[test]
    fn every_lesson_runs_chapter_by_chapter_with_every_check_holding() {
        for (i, l) in LESSONS.iter().enumerate() {
            let s = session_at(i, l.chapters().len() - 1);
            assert_eq!(s.failures(), Vec::<String>::new(), "{}", l.id);
            assert_eq!(chapter_done(&s), Some(l.chapters().len() - 1), "{}", l.id);
            // Each side ran its own file: a structured lesson's query ran batches, a DStream job generated some.
            if let Some(ss) = &s.ss {
                assert!(!ss.batches().is_empty(), "{}", l.id);
            }
            let dstream_batches = s.run.trace.iter().filter(|t| matches!(t.event, TraceEvent::BatchGenerated { .. })).count();
            assert_eq!(dstream_batches > 0, l.has_dstream(), "{}", l.id);
        }
    }

    #[test]
    fn the_side_by_side_lesson_ends_with_both_positions_from_their_checkpoints() {
        let (i, l) = LESSONS.iter().enumerate().find(|(_, l)| l.side_by_side()).unwrap();
        // After the rewind (chapter 3), both groups say 0; after the restart both jobs are past f.
        let s = session_at(i, 2);
        let tp = |p| engine::offsets::TopicPartition::new("words", p);
        assert_eq!(s.committed().get(&tp(0)), Some(&0));
        let ss = s.ss.as_ref().unwrap();
        assert_eq!(ss.rows().iter().map(|r| r.group_committed).collect::<Vec<_>>(), [Some(0), Some(0)]);
        let rewound = ss.executor_group().unwrap();
        let s = session_at(i, l.chapters().len() - 1);
        assert_eq!(s.committed().get(&tp(0)), Some(&4), "the restored commit queue and the next commit undid the rewind");
        let ss = s.ss.as_ref().unwrap();
        let rows = ss.rows();
        assert_eq!(rows.iter().map(|r| r.offset_log.map(|o| o.1)).collect::<Vec<_>>(), [Some(4), Some(2)]);
        // The restarted query draws a new UUID: a group nobody ever committed to; the rewound one is left as it was.
        assert_ne!(ss.executor_group().unwrap(), rewound);
        assert_eq!(rows.iter().map(|r| r.group_committed).collect::<Vec<_>>(), [None, None]);
        assert_eq!(ss.run.kafka.committed(&rewound).values().copied().collect::<Vec<_>>(), [0, 0]);
    }

    #[test]
    fn chapter_8_ends_in_the_exception_and_chapter_9_out_of_it() {
        let s = session_at(0, 7);
        assert_eq!(chapter_done(&s), Some(7));
        let last_error = s.run.trace.iter().rev().find_map(|l| match &l.event {
            TraceEvent::Error { message, .. } => Some(message.clone()),
            _ => None,
        });
        assert_eq!(last_error.as_deref(), Some("requirement failed: numRecords must not be negative"));
        assert!(!s.run.engine.is_running());
        let s = session_at(0, 8);
        assert!(s.run.engine.is_running());
        assert_eq!(s.run.failures, Vec::<String>::new());
    }
}
