//! The lessons a walkthrough can follow: a scenario file (the same format as `scenarios/`, checked
//! by the same runner) cut into chapters with short narration. The seed experiment is first.

use scenario::format::{self, Scenario};
use std::sync::OnceLock;

pub struct Chapter {
    pub title: &'static str,
    /// Lesson steps `[from, to)` this chapter applies.
    pub steps: (usize, usize),
    pub narration: &'static str,
}

pub struct Lesson {
    pub id: &'static str,
    pub title: &'static str,
    file: &'static str,
    toml: &'static str,
    pub chapters: &'static [Chapter],
}

impl Lesson {
    /// The parsed scenario, parsed once; a `Run` borrows it for the page's life.
    pub fn scenario(&self) -> &'static Scenario {
        static PARSED: [OnceLock<Scenario>; 4] = [OnceLock::new(), OnceLock::new(), OnceLock::new(), OnceLock::new()];
        let i = LESSONS.iter().position(|l| l.id == self.id).expect("a lesson of LESSONS");
        PARSED[i].get_or_init(|| format::parse(self.file, self.toml).expect("the embedded lessons parse (tested)"))
    }
}

pub const LESSONS: [Lesson; 4] = [
    Lesson {
        id: "seed",
        title: "The seed experiment: a rewind that does nothing, a recreated topic that kills the job",
        file: "lessons/seed.toml",
        toml: include_str!("../lessons/seed.toml"),
        chapters: SEED,
    },
    Lesson {
        id: "retention",
        title: "Retention: the checkpoint falls behind the log start (OffsetOutOfRangeException)",
        file: "scenarios/retention.toml",
        toml: include_str!("../../../scenarios/retention.toml"),
        chapters: RETENTION,
    },
    Lesson {
        id: "revoked",
        title: "A second consumer in the group: partitions revoked",
        file: "scenarios/revoked.toml",
        toml: include_str!("../../../scenarios/revoked.toml"),
        chapters: REVOKED,
    },
    Lesson {
        id: "rate-limit",
        title: "maxRatePerPartition over downtime, and a rate change the checkpoint ignores",
        file: "scenarios/rate-limit.toml",
        toml: include_str!("../../../scenarios/rate-limit.toml"),
        chapters: RATE_LIMIT,
    },
];

const SEED: &[Chapter] = &[
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

const RETENTION: &[Chapter] = &[
    Chapter { title: "Start, produce, kill the driver", steps: (0, 3), narration: "The job starts from latest. Four records land in words-0 at 12:00:12 and at 12:00:14 the driver is killed (kill -9) before the batch that would read them: the newest checkpoint still says words-0 = 0. A killed driver sends no LeaveGroup, so the group stays Stable until its session times out." },
    Chapter { title: "Retention moves the log start", steps: (3, 5), narration: "kafka-delete-records moves words-0's log start to 3 — retention by time or size does the same to a real topic. Offsets 0–2 are gone; the checkpoint still points at 0, behind the log start. The killed driver is still a member: the group stays Stable until its session times out, 45 s after its last heartbeat — a restart before that waits in JoinGroup." },
    Chapter { title: "Restart: the executor cannot fetch offset 0", steps: (5, 7), narration: "getOrCreate restores currentOffsets words-0 = 0. The rescheduled batches compute [0, 4) for words-0 — the driver only asks for the log end, so it does not notice — and the executor's fetch from offset 0, made with auto.offset.reset=none, fails with OffsetOutOfRangeException. The job dies." },
    Chapter { title: "Every restart fails the same way", steps: (7, 9), narration: "The failed batch is restored with its ranges, so the next restart re-runs [0, 4) and fails again; new records do not help, the range starts before the log start. The way out is a new checkpoint directory: a fresh start from the group's committed offsets or auto.offset.reset, losing the updateStateByKey state." },
];

const REVOKED: &[Chapter] = &[
    Chapter { title: "Start the job", steps: (0, 1), narration: "The driver consumer joins group g alone and is assigned all three partitions." },
    Chapter { title: "A console consumer joins group g", steps: (1, 3), narration: "kafka-console-consumer --group g joins the same group. The coordinator rebalances when the driver rejoins at its next poll, and the range assignor gives the newcomer words-0 and words-1: the driver keeps only words-2." },
    Chapter { title: "The job dies: partitions revoked", steps: (3, 4), narration: "The next latestOffsets() finds partitions it tracked no longer assigned and throws IllegalStateException: Spark's direct stream needs every partition it tracks, so two applications must never share a group.id." },
    Chapter { title: "The reset is refused while the consumer holds the group", steps: (4, 6), narration: "kafka-consumer-groups --reset-offsets is refused: the console consumer keeps the group Stable. Stop it (or use another group id) first." },
];

const RATE_LIMIT: &[Chapter] = &[
    Chapter { title: "Start with maxRatePerPartition = 1, then stop", steps: (0, 2), narration: "spark.streaming.kafka.maxRatePerPartition = 1 with 5 s batches: at most 5 records per partition per batch. The job runs two empty batches and stops." },
    Chapter { title: "Records arrive while the job is down", steps: (2, 3), narration: "Twelve records land in words-0 while nothing reads them." },
    Chapter { title: "Restart: the backlog is spread over the downtime batches", steps: (3, 5), narration: "The restart asks for maxRatePerPartition = 100, but getOrCreate takes the conf from the checkpoint. The batches of the downtime are rescheduled and each takes at most 5: [0,5) [5,10) [10,12)." },
    Chapter { title: "The checkpoint's rate still applies", steps: (5, 7), narration: "Seven records in words-1: the next batch takes 5 of them, not 7 — the rate of 100 never applied. Changing Spark conf for a checkpointed job needs a new checkpoint directory." },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_lesson_parses_and_its_chapters_cover_every_step_in_order() {
        for l in &LESSONS {
            let s = l.scenario();
            let mut next = 0;
            for c in l.chapters {
                assert_eq!(c.steps.0, next, "{}: {}", l.id, c.title);
                assert!(c.steps.1 > c.steps.0);
                next = c.steps.1;
            }
            assert_eq!(next, s.steps.len(), "{}", l.id);
        }
    }
}
