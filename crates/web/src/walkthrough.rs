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

    /// The live walkthrough as the page runs it, on a bridge whose replies come late (up to
    /// `max_delay_ms`) and overtake each other: "next" at each chapter once the last is done,
    /// the wall clock ticking every 250 ms. Returns the session at the end.
    fn live_walkthrough(seed: u64, max_delay_ms: i64) -> Session {
        let kafka = protocol::KafkaState { up: true, bootstrap: "127.0.0.1:9092".into(), detail: None };
        let mut now = 1_796_000_000_000;
        let mut s = Session::live(0, "lab-0123456789ab-", kafka, now, false);
        let mut bridge = crate::test_bridge::TestBridge::with_delays(seed, max_delay_ms);
        let chapters = s.lesson_def().chapters().len();
        let end = now + 20 * 60_000;
        while now < end && chapter_done(&s) != Some(chapters - 1) {
            let k = chapter_done(&s).map_or(0, |d| d + 1);
            let lesson = s.lesson_def();
            if s.schedule.is_empty() && s.lesson_progress() == Some(lesson.chapters()[k].steps.start) {
                s.schedule_steps(lesson.chapters()[k].steps.clone());
                for c in lesson.chapters()[k + 1..].iter().take_while(|c| only_checks(lesson, c)) {
                    s.schedule_steps(c.steps.clone());
                }
            }
            // The page ticks every 250 ms; a reply is handled when it arrives (here: to the 10 ms).
            for _ in 0..25 {
                now += 10;
                bridge.exchange(&mut s, now);
            }
            s.tick_live(now);
            bridge.exchange(&mut s, now);
        }
        s
    }

    #[test]
    fn the_live_walkthrough_holds_every_check_when_the_bridges_replies_come_late_and_out_of_order() {
        for seed in 1..=8 {
            let s = live_walkthrough(seed, 80);
            let chapters = s.lesson_def().chapters().len();
            assert_eq!(chapter_done(&s), Some(chapters - 1), "seed {seed}: {:?} {:?}", s.run.failures, s.tool_lines);
            assert_eq!(s.run.failures, Vec::<String>::new(), "seed {seed}");
            assert!(s.run.engine.is_running(), "seed {seed}: a fresh start after deleting the checkpoint");
        }
    }

    /// A slow bridge (replies up to 1.5 s late): a batch can be due before the start's JoinGroup is
    /// answered. The page once panicked there (the runner woke the engine at the missed batch time,
    /// behind its clock), which in WebAssembly left the page's state borrowed for good.
    #[test]
    fn a_slow_bridge_makes_batches_late_but_never_stops_the_walkthrough() {
        for seed in 1..=8 {
            let s = live_walkthrough(seed, 1_500);
            let chapters = s.lesson_def().chapters().len();
            assert_eq!(chapter_done(&s), Some(chapters - 1), "seed {seed}: {:?}", s.tool_lines);
            assert!(s.run.engine.is_running(), "seed {seed}");
        }
    }
}
