//! The lessons a walkthrough can follow: a scenario file (the same format as `scenarios/`, checked
//! by the same runner) whose `[[chapter]]` tables cut it into chapters with short narration. A lesson
//! is a DStream scenario, a Structured Streaming one (`[job] api = "structured"`), or a pair of them
//! run side by side (the same experiment on both APIs, chapter k of each taken together). The seed
//! experiment is first.

use engine::time::Time;
pub use scenario::format::Chapter;
use scenario::format::{self, Action, Scenario, StructuredAction};
use std::sync::OnceLock;

pub struct Lesson {
    pub id: &'static str,
    pub title: &'static str,
    file: &'static str,
    toml: &'static str,
    /// Side by side: the Structured Streaming scenario run beside `file`'s DStream one.
    twin: Option<(&'static str, &'static str)>,
}

/// Which engine a lesson step is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    DStream,
    Structured,
}

/// One step of a lesson: the step `index` of its side's scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LessonStep {
    pub side: Side,
    pub index: usize,
    pub at: Time,
    pub is_expect: bool,
}

/// What a lesson is made of, derived once from its files.
struct Parsed {
    primary: Scenario,
    twin: Option<Scenario>,
    steps: Vec<LessonStep>,
    chapters: Vec<Chapter>,
}

const N: usize = LESSONS.len();

impl Lesson {
    fn parsed(&self) -> &'static Parsed {
        static PARSED: [OnceLock<Parsed>; N] = [const { OnceLock::new() }; N];
        let i = LESSONS.iter().position(|l| l.id == self.id).expect("a lesson of LESSONS");
        PARSED[i].get_or_init(|| {
            let primary = format::parse(self.file, self.toml).expect("the embedded lessons parse (tested)");
            let twin = self.twin.map(|(f, t)| format::parse(f, t).expect("the embedded lessons parse (tested)"));
            let (steps, chapters) = plan(&primary, twin.as_ref());
            Parsed { primary, twin, steps, chapters }
        })
    }

    /// The lesson's scenario: the DStream one of a side-by-side lesson (its topics and DStream job).
    pub fn scenario(&self) -> &'static Scenario {
        &self.parsed().primary
    }

    /// The Structured Streaming scenario of the lesson, if it has one.
    pub fn structured(&self) -> Option<&'static Scenario> {
        let p = self.parsed();
        p.twin.as_ref().or(p.primary.structured.as_ref().map(|_| &p.primary))
    }

    /// A lesson with a DStream job to show (every lesson but the Structured-Streaming-only ones).
    pub fn has_dstream(&self) -> bool {
        self.parsed().primary.structured.is_none()
    }

    /// Both APIs, in two columns.
    pub fn side_by_side(&self) -> bool {
        self.twin.is_some()
    }

    /// Every step of the lesson in the order the walkthrough runs them.
    pub fn steps(&self) -> &'static [LessonStep] {
        &self.parsed().steps
    }

    /// The walkthrough's chapters, as the scenario file(s) declare them; their ranges index [`Lesson::steps`].
    pub fn chapters(&self) -> &'static [Chapter] {
        &self.parsed().chapters
    }
}

/// The lesson's steps and chapters. A side-by-side lesson takes chapter k of both files together,
/// its steps merged by time (DStream first at the same time), so each engine sees its own file's times.
fn plan(primary: &Scenario, twin: Option<&Scenario>) -> (Vec<LessonStep>, Vec<Chapter>) {
    let dstream = |s: &Scenario| -> Vec<LessonStep> {
        let own = s.steps.iter().enumerate().map(|(i, st)| LessonStep {
            side: Side::DStream,
            index: i,
            at: st.at,
            is_expect: matches!(st.action, Action::Expect(_)),
        });
        let ss = s.structured.iter().flat_map(|x| x.steps.iter()).enumerate().map(|(i, st)| LessonStep {
            side: Side::Structured,
            index: i,
            at: st.at,
            is_expect: matches!(st.action, StructuredAction::Expect(_)),
        });
        own.chain(ss).collect()
    };
    let Some(twin) = twin else { return (dstream(primary), primary.chapters.clone()) };
    let (a, b) = (dstream(primary), dstream(twin));
    assert_eq!(primary.chapters.len(), twin.chapters.len(), "{} and {} have as many chapters", primary.name, twin.name);
    let (mut steps, mut chapters) = (Vec::new(), Vec::new());
    for (ca, cb) in primary.chapters.iter().zip(&twin.chapters) {
        let start = steps.len();
        let mut part: Vec<LessonStep> = a[ca.steps.clone()].iter().chain(&b[cb.steps.clone()]).copied().collect();
        part.sort_by_key(|s| (s.at, s.side == Side::Structured));
        steps.extend(part);
        chapters.push(Chapter {
            title: ca.title.clone(),
            narration: format!("DStream: {} Structured Streaming: {}", ca.narration, cb.narration),
            steps: start..steps.len(),
        });
    }
    (steps, chapters)
}

/// A lesson from its id, its scenario file (from the repository's root, embedded) and its title.
macro_rules! lesson {
    ($id:literal, $file:literal, $title:literal) => {
        Lesson { id: $id, title: $title, file: $file, toml: include_str!(concat!("../../../", $file)), twin: None }
    };
    ($id:literal, $file:literal, $twin:literal, $title:literal) => {
        Lesson {
            id: $id,
            title: $title,
            file: $file,
            toml: include_str!(concat!("../../../", $file)),
            twin: Some(($twin, include_str!(concat!("../../../", $twin)))),
        }
    };
}

pub const LESSONS: [Lesson; 9] = [
    lesson!(
        "seed",
        "crates/web/lessons/seed.toml",
        "The seed experiment: a rewind that does nothing, a recreated topic that kills the job"
    ),
    lesson!("retention", "scenarios/retention.toml", "Retention: the checkpoint falls behind the log start (OffsetOutOfRangeException)"),
    lesson!("revoked", "scenarios/revoked.toml", "A second consumer in the group: partitions revoked"),
    lesson!("rate-limit", "scenarios/rate-limit.toml", "maxRatePerPartition over downtime, and a rate change the checkpoint ignores"),
    lesson!(
        "ss-reset-ignored",
        "scenarios/structured/reset-ignored.toml",
        "Structured Streaming: --reset-offsets on the spark-kafka-source group changes nothing"
    ),
    lesson!(
        "ss-rerun-uncommitted",
        "scenarios/structured/rerun-uncommitted.toml",
        "Structured Streaming: a batch in offsets/ but not in commits/ runs again"
    ),
    lesson!(
        "ss-data-loss-fail",
        "scenarios/structured/topic-recreated-fail-true.toml",
        "Structured Streaming: a re-created topic and failOnDataLoss = true (the query fails)"
    ),
    lesson!(
        "ss-data-loss-go-on",
        "scenarios/structured/topic-recreated-fail-false.toml",
        "Structured Streaming: a re-created topic and failOnDataLoss = false (data lost, the query goes on)"
    ),
    lesson!(
        "both-apis-reset",
        "crates/web/lessons/both-reset-dstream.toml",
        "crates/web/lessons/both-reset-structured.toml",
        "Side by side: the same --reset-offsets with DStream and with Structured Streaming"
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_lesson_parses_and_its_chapters_cover_every_step_in_order() {
        for l in &LESSONS {
            assert!(!l.chapters().is_empty(), "{}", l.id);
            let mut next = 0;
            for c in l.chapters() {
                assert_eq!(c.steps.start, next, "{}: {}", l.id, c.title);
                assert!(c.steps.end > c.steps.start);
                next = c.steps.end;
            }
            assert_eq!(next, l.steps().len(), "{}", l.id);
        }
    }

    #[test]
    fn a_side_by_side_lesson_has_every_step_of_both_files_once_in_time_order_per_chapter() {
        let l = LESSONS.iter().find(|l| l.side_by_side()).unwrap();
        let ss = l.structured().unwrap().structured.as_ref().unwrap();
        let steps = l.steps();
        let count = |side| steps.iter().filter(|s| s.side == side).count();
        assert_eq!((count(Side::DStream), count(Side::Structured)), (l.scenario().steps.len(), ss.steps.len()));
        for c in l.chapters() {
            assert!(steps[c.steps.clone()].windows(2).all(|w| w[0].at <= w[1].at), "{}", c.title);
            assert!(c.narration.starts_with("DStream: ") && c.narration.contains(" Structured Streaming: "), "{}", c.narration);
        }
        for side in [Side::DStream, Side::Structured] {
            let idx: Vec<usize> = steps.iter().filter(|s| s.side == side).map(|s| s.index).collect();
            assert_eq!(idx, (0..idx.len()).collect::<Vec<_>>(), "each file's steps keep their order");
        }
        assert!(l.has_dstream());
        assert!(!LESSONS.iter().find(|l| l.id == "ss-reset-ignored").unwrap().has_dstream());
    }
}
