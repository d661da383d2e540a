//! The lessons a walkthrough can follow: a scenario file (the same format as `scenarios/`, checked
//! by the same runner) whose `[[chapter]]` tables cut it into chapters with short narration. The seed
//! experiment is first.

pub use scenario::format::Chapter;
use scenario::format::{self, Scenario};
use std::sync::OnceLock;

pub struct Lesson {
    pub id: &'static str,
    pub title: &'static str,
    file: &'static str,
    toml: &'static str,
}

impl Lesson {
    /// The parsed scenario, parsed once; a `Run` borrows it for the page's life.
    pub fn scenario(&self) -> &'static Scenario {
        static PARSED: [OnceLock<Scenario>; 4] = [OnceLock::new(), OnceLock::new(), OnceLock::new(), OnceLock::new()];
        let i = LESSONS.iter().position(|l| l.id == self.id).expect("a lesson of LESSONS");
        PARSED[i].get_or_init(|| format::parse(self.file, self.toml).expect("the embedded lessons parse (tested)"))
    }

    /// The walkthrough's chapters, as the scenario file declares them.
    pub fn chapters(&self) -> &'static [Chapter] {
        &self.scenario().chapters
    }
}

/// A lesson from its id, its scenario file (from the repository's root, embedded) and its title.
macro_rules! lesson {
    ($id:literal, $file:literal, $title:literal) => {
        Lesson { id: $id, title: $title, file: $file, toml: include_str!(concat!("../../../", $file)) }
    };
}

pub const LESSONS: [Lesson; 4] = [
    lesson!(
        "seed",
        "crates/web/lessons/seed.toml",
        "The seed experiment: a rewind that does nothing, a recreated topic that kills the job"
    ),
    lesson!("retention", "scenarios/retention.toml", "Retention: the checkpoint falls behind the log start (OffsetOutOfRangeException)"),
    lesson!("revoked", "scenarios/revoked.toml", "A second consumer in the group: partitions revoked"),
    lesson!("rate-limit", "scenarios/rate-limit.toml", "maxRatePerPartition over downtime, and a rate change the checkpoint ignores"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_lesson_parses_and_its_chapters_cover_every_step_in_order() {
        for l in &LESSONS {
            let s = l.scenario();
            assert!(!l.chapters().is_empty(), "{}", l.id);
            let mut next = 0;
            for c in l.chapters() {
                assert_eq!(c.steps.start, next, "{}: {}", l.id, c.title);
                assert!(c.steps.end > c.steps.start);
                next = c.steps.end;
            }
            assert_eq!(next, s.steps.len(), "{}", l.id);
        }
    }
}
