//! The guided walkthrough: a lesson's chapters (declared in its scenario file) with short narration. Going to
//! chapter k replays the lesson from scratch to its end.

pub use crate::lessons::{Chapter, Lesson, LESSONS};
use crate::session::{Act, Session};

/// A simulation that has applied chapters `0..=k` of lesson `lesson` (replayable: always from scratch).
pub fn session_at(lesson: usize, k: usize) -> Session {
    let mut s = Session::for_lesson(lesson);
    let end = s.lesson_def().chapters().get(k).map_or(0, |c| c.steps.end);
    for i in 0..end.min(s.scenario().steps.len()) {
        s.apply(Act::Lesson(i));
    }
    s
}

/// A chapter whose steps are all `expect`s.
pub fn only_checks(lesson: &Lesson, c: &Chapter) -> bool {
    lesson.scenario().steps[c.steps.clone()].iter().all(|s| matches!(s.action, scenario::format::Action::Expect(_)))
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
            assert_eq!(s.run.failures, Vec::<String>::new(), "{}", l.id);
            assert_eq!(chapter_done(&s), Some(l.chapters().len() - 1), "{}", l.id);
        }
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
