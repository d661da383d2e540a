//! `DirectKafkaInputDStream`: `currentOffsets`, the driver's consumer, `compute`, clamp, `commitQueue`.

use crate::config::{JobConfig, Strategy};
use crate::error::{messages, SparkError};
use crate::io::{Gather, Pending};
use crate::kafka::{KafkaError, KafkaReply, KafkaRequest, OffsetSpec};
use crate::offsets::{OffsetRange, Offsets, TopicPartition};
use crate::scala_order;
use crate::time::Time;
use std::collections::{BTreeMap, BTreeSet};

/// `session.timeout.ms` of kafka-clients 3.4 (Spark 3.5's client): how long a killed driver stays a member.
pub const SESSION_TIMEOUT_MS: i64 = 45_000;

/// `metadata.max.age.ms` default: how long a consumer trusts its view of the topics before it fetches them again.
pub const METADATA_MAX_AGE_MS: i64 = 300_000;

/// The Kafka stream's state. Everything but `consumer` goes into checkpoints.
#[derive(Clone, Debug, Default)]
pub struct DirectKafkaInputDStream {
    pub current_offsets: Offsets,
    /// The order Spark's `currentOffsets`, a Scala immutable `Map`, iterates its keys in (`scala_order`): it
    /// decides which partition a restart's `seek` fails on and the order of a revoked list. A checkpoint keeps it.
    pub current_order: Vec<TopicPartition>,
    /// The order `untilOffsets` will give `currentOffsets` once the running `compute` succeeds.
    until_order: Vec<TopicPartition>,
    pub commit_queue: Vec<OffsetRange>,
    /// `generatedRDDs`: the KafkaRDD of each remembered batch.
    pub generated: BTreeMap<Time, GeneratedRdd>,
    /// The driver's `KafkaConsumer` (`@transient kc`), created lazily.
    pub consumer: Option<DriverConsumer>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GeneratedRdd {
    pub ranges: Vec<OffsetRange>,
    /// Rebuilt from the checkpoint's `batchForTime`, not computed in this process.
    pub restored: bool,
}

/// What the driver's consumer knows: group membership, assignment and positions set by `seek`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DriverConsumer {
    pub member: Option<(String, i32)>,
    pub assignment: BTreeSet<TopicPartition>,
    pub seeks: Offsets,
    /// Positions after the last `seekToEnd`: what `enable.auto.commit` would commit.
    pub positions: Offsets,
    /// When the auto-commit timer last started: the consumer's creation, then each auto-commit.
    pub last_auto_commit: Option<Time>,
}

/// `auto.commit.interval.ms` default.
pub const AUTO_COMMIT_INTERVAL_MS: i64 = 5_000;

/// The consumer as a compute left it (memberships survive a failed compute), and what it found.
pub struct Gathered<T> {
    pub consumer: Option<DriverConsumer>,
    pub result: Result<T, SparkError>,
}

/// What `compute` read from Kafka.
pub struct ComputeInputs {
    pub new_positions: Offsets,
    /// `newPartitions`' order, in which `currentOffsets ++ …` adds them.
    pub new_order: Vec<TopicPartition>,
    pub latest: Offsets,
    /// The assignment's order (`parts`), in which `parts.map(tp => tp -> c.position(tp)).toMap` is built.
    pub parts_order: Vec<TopicPartition>,
}

/// What a successful `compute` produced.
pub struct Computed {
    pub ranges: Vec<OffsetRange>,
    pub num_records: i64,
    /// `commitAll()`'s map, if the queue held anything.
    pub commit: Option<Offsets>,
}

type Step<T> = Result<Result<T, SparkError>, Pending>;

impl DirectKafkaInputDStream {
    /// Keeps the consumer a gather left; one stored for the first time was created at `now`, where
    /// kafka-clients starts its auto-commit timer.
    pub fn keep_consumer(&mut self, consumer: Option<DriverConsumer>, now: Time) {
        let fresh = self.consumer.is_none();
        self.consumer = consumer.map(|mut c| {
            if fresh {
                c.last_auto_commit = Some(now);
            }
            c
        });
    }

    /// `start()` on a fresh context: `consumer()`, `paranoidPoll`, then `currentOffsets` = positions.
    pub fn gather_start(&self, job: &JobConfig, g: &mut Gather) -> Result<Gathered<Offsets>, Pending> {
        let mut consumer = match self.gather_consumer(job, g)? {
            Ok(c) => c,
            Err(e) => return Ok(Gathered { consumer: None, result: Err(e) }),
        };
        if let Err(e) = gather_poll(job, &mut consumer, g)? {
            return Ok(Gathered { consumer: Some(consumer), result: Err(e) });
        }
        let tps = consumer.assignment_order();
        let result = gather_positions(job, &consumer, &tps, g)?;
        Ok(Gathered { consumer: Some(consumer), result })
    }

    /// `start()`'s `currentOffsets = c.assignment().asScala.map { tp => tp -> c.position(tp) }.toMap`.
    pub fn start_from(&mut self, positions: Offsets) {
        let order = self.consumer.as_ref().map(DriverConsumer::assignment_order).unwrap_or_default();
        self.current_order = pairs_order(&order, &positions);
        self.current_offsets = positions;
    }

    /// `currentOffsets`' keys in Spark's order (any key the order lacks last, sorted: it cannot happen in a run).
    pub fn current_keys(&self) -> Vec<TopicPartition> {
        let mut keys: Vec<TopicPartition> =
            self.current_order.iter().filter(|tp| self.current_offsets.contains_key(*tp)).cloned().collect();
        for tp in self.current_offsets.keys() {
            if !keys.contains(tp) {
                keys.push(tp.clone());
            }
        }
        keys
    }

    /// `currentOffsets` restored from a checkpoint, which lists them in the map's order.
    pub fn restore_current(&mut self, list: &[crate::offsets::PartitionOffset]) {
        self.current_offsets = crate::offsets::from_list(list);
        self.current_order = list.iter().map(|p| TopicPartition::new(p.topic.clone(), p.partition)).collect();
    }

    /// The reads of `compute(validTime)` (§1.3 steps 1, via `latestOffsets()`).
    pub fn gather_compute(&self, job: &JobConfig, g: &mut Gather) -> Result<Gathered<ComputeInputs>, Pending> {
        let mut consumer = match self.gather_consumer(job, g)? {
            Ok(c) => c,
            Err(e) => return Ok(Gathered { consumer: None, result: Err(e) }),
        };
        if let Err(e) = gather_poll(job, &mut consumer, g)? {
            return Ok(Gathered { consumer: Some(consumer), result: Err(e) });
        }
        let parts = &consumer.assignment;
        let parts_order = consumer.assignment_order();
        let revoked = scala_order::revoked_order(&self.current_keys(), |tp| parts.contains(tp));
        if !revoked.is_empty() {
            let e = SparkError::illegal_state(format!(
                "Previously tracked partitions [{}] been revoked by Kafka because of consumer rebalance. This is mostly due to another stream with same group id joined, please check if there're different streaming application misconfigure to use same group id. Fundamentally different stream should use different group id",
                // Spark: `revoked.mkString("[", ",", "]")`, no blank after the comma (the reference harness saw it)
                revoked.iter().map(|tp| tp.to_string()).collect::<Vec<_>>().join(",")
            ));
            return Ok(Gathered { consumer: Some(consumer), result: Err(e) });
        }
        let new_parts = scala_order::new_partitions_order(&parts_order, |tp| self.current_offsets.contains_key(tp));
        let new_positions = match gather_positions(job, &consumer, &new_parts, g)? {
            Ok(p) => p,
            Err(e) => return Ok(Gathered { consumer: Some(consumer), result: Err(e) }),
        };
        let latest = match gather_list_offsets(&parts_order, OffsetSpec::Latest, g)? {
            Ok(l) => l,
            Err(e) => return Ok(Gathered { consumer: Some(consumer), result: Err(e) }),
        };
        Ok(Gathered { consumer: Some(consumer), result: Ok(ComputeInputs { new_positions, new_order: new_parts, latest, parts_order }) })
    }

    /// The next part of `compute`: new partitions, the clamp, and the `KafkaRDD`'s offset ranges.
    pub fn offset_ranges(&mut self, job: &JobConfig, inputs: ComputeInputs) -> Vec<OffsetRange> {
        // latestOffsets() adds new partitions before anything can throw: `currentOffsets ++ newPartitions…toMap`
        let mut added = self.current_keys();
        added.extend(pairs_order(&inputs.new_order, &inputs.new_positions));
        self.current_order = scala_order::immutable_map_of_partitions(&added);
        self.current_offsets.extend(inputs.new_positions);
        self.until_order = pairs_order(&inputs.parts_order, &inputs.latest);
        if let Some(consumer) = &mut self.consumer {
            consumer.seeks.clear();
            consumer.positions = inputs.latest.clone();
        }
        let until = self.clamp(job, &inputs.latest);
        until.iter().map(|(tp, &u)| OffsetRange::new(tp, self.current_offsets[tp], u)).collect()
    }

    /// The rest of `compute`: the `StreamInputInfo` check, `currentOffsets` = the untils, `commitAll`.
    pub fn apply_ranges(&mut self, ranges: Vec<OffsetRange>) -> Result<Computed, SparkError> {
        // StreamInputInfo(id, rdd.count) where KafkaRDD.count = Σ (until − from).
        let num_records: i64 = ranges.iter().map(OffsetRange::count).sum();
        if num_records < 0 {
            return Err(messages::num_records_negative());
        }
        self.current_offsets = ranges.iter().map(|r| (r.topic_partition(), r.until_offset)).collect();
        // `clamp`'s `Map.map`s keep `latestOffsets()`'s order
        self.current_order = std::mem::take(&mut self.until_order);
        let commit = self.commit_all();
        Ok(Computed { ranges, num_records, commit })
    }

    /// `clamp(latestOffsets)` with `maxMessagesPerPartition` (no backpressure).
    fn clamp(&self, job: &JobConfig, latest: &Offsets) -> Offsets {
        let rate = job.max_rate_per_partition;
        if rate <= 0 || latest.is_empty() {
            return latest.clone();
        }
        // Spark computes `(secsPerBatch * limit).toLong` in doubles; so do we, for the same roundings.
        let secs_per_batch = job.batch_duration.ms() as f64 / 1000.0;
        let mmp = ((secs_per_batch * rate as f64) as i64).max(job.min_rate_per_partition);
        latest.iter().map(|(tp, &l)| (tp.clone(), (self.current_offsets[tp] + mmp).min(l))).collect()
    }

    /// `commitAsync(ranges)`: only queues.
    pub fn commit_async(&mut self, ranges: &[OffsetRange]) {
        self.commit_queue.extend_from_slice(ranges);
    }

    /// `commitAll()`: drains the queue into the per-partition maximum `untilOffset`.
    fn commit_all(&mut self) -> Option<Offsets> {
        let mut m = Offsets::new();
        for r in self.commit_queue.drain(..) {
            let e = m.entry(r.topic_partition()).or_insert(r.until_offset);
            *e = (*e).max(r.until_offset);
        }
        (!m.is_empty()).then_some(m)
    }

    /// `consumer()`: the live consumer, or `consumerStrategy.onStart(currentOffsets)` (§2.1).
    fn gather_consumer(&self, job: &JobConfig, g: &mut Gather) -> Step<DriverConsumer> {
        if let Some(c) = &self.consumer {
            return Ok(Ok(c.clone()));
        }
        let to_seek: &Offsets = if self.current_offsets.is_empty() { job.strategy.user_offsets() } else { &self.current_offsets };
        let mut c = DriverConsumer::default();
        match &job.strategy {
            Strategy::Subscribe { .. } => {
                if !to_seek.is_empty() {
                    if let Err(e) = gather_poll(job, &mut c, g)? {
                        return Ok(Err(e));
                    }
                }
            }
            Strategy::Assign { partitions, .. } => c.assignment = partitions.iter().cloned().collect(),
        }
        // `toSeek.asScala.foreach(seek)`: the map's order decides which unassigned partition fails first
        let order = if self.current_offsets.is_empty() { user_offsets_order(to_seek) } else { self.current_keys() };
        for tp in &order {
            if !c.assignment.contains(tp) {
                return Ok(Err(messages::no_current_assignment(tp)));
            }
            c.seeks.insert(tp.clone(), to_seek[tp]);
        }
        Ok(Ok(c))
    }
}

/// `ps.map(tp => tp -> offsets(tp)).toMap` over partitions in `order` (`scala_order::pairs_to_map_order`).
fn pairs_order(order: &[TopicPartition], offsets: &Offsets) -> Vec<TopicPartition> {
    let pairs: Vec<(TopicPartition, i64)> = order.iter().filter_map(|tp| offsets.get(tp).map(|o| (tp.clone(), *o))).collect();
    scala_order::pairs_to_map_order(&pairs)
}

/// The order of the strategy's `offsets` map. The reference harness builds it with `toMap` from the scenario's
/// `"topic-partition" = offset` keys sorted as strings; a user's job builds its own.
fn user_offsets_order(offsets: &Offsets) -> Vec<TopicPartition> {
    let mut keys: Vec<TopicPartition> = offsets.keys().cloned().collect();
    keys.sort_by_key(|tp| tp.to_string());
    scala_order::immutable_map_of_partitions(&keys)
}

impl DriverConsumer {
    /// `assignment()`: a Java `HashSet` copied from the assigned partitions.
    pub fn assignment_order(&self) -> Vec<TopicPartition> {
        scala_order::assignment_order(&self.assignment.iter().cloned().collect::<Vec<_>>())
    }

    /// With `enable.auto.commit=true` (Kafka's default; Spark never fixes the driver's params), the
    /// driver's `poll` commits its positions once `auto.commit.interval.ms` has passed, and `close`
    /// commits them too. After `seekToEnd` they are the log end, not what was processed (§1.8).
    pub fn auto_commit_due(&mut self, job: &JobConfig, now: Time, closing: bool) -> Option<Offsets> {
        if job.kafka_params.get("enable.auto.commit").map(String::as_str).unwrap_or("true") != "true"
            || job.group_id().is_none()
            || self.positions.is_empty()
        {
            return None;
        }
        // kafka-clients starts the timer when the consumer is created, so the first poll after that may not commit.
        let interval = job.consumer_ms("auto.commit.interval.ms", AUTO_COMMIT_INTERVAL_MS);
        let due = closing || self.last_auto_commit.is_none_or(|t| now.ms() - t.ms() >= interval);
        if !due {
            return None;
        }
        self.last_auto_commit = Some(now);
        Some(self.positions.clone())
    }
}

/// `paranoidPoll`: on a subscribed consumer, `poll(0)` joins or heartbeats and brings the assignment.
fn gather_poll(job: &JobConfig, c: &mut DriverConsumer, g: &mut Gather) -> Step<()> {
    let Strategy::Subscribe { topics, .. } = &job.strategy else { return Ok(Ok(())) };
    let group = job.group_id().unwrap_or_default().to_string();
    let req = KafkaRequest::GroupPoll {
        group: group.clone(),
        member_id: c.member.as_ref().map(|m| m.0.clone()),
        client_id: client_id(job),
        topics: topics.clone(),
        session_timeout_ms: job.consumer_ms("session.timeout.ms", SESSION_TIMEOUT_MS),
        metadata_max_age_ms: job.consumer_ms("metadata.max.age.ms", METADATA_MAX_AGE_MS),
    };
    match g.kafka(req).ok_or(Pending)? {
        KafkaReply::Assignment { member_id, generation, partitions } => {
            c.member = Some((member_id.clone(), *generation));
            c.assignment = partitions.iter().cloned().collect();
            Ok(Ok(()))
        }
        KafkaReply::Failed { error } => Ok(Err(kafka_exception(error))),
        other => Ok(Err(unexpected(other))),
    }
}

/// `c.position(tp)` for partitions without a known offset: a `seek`, else the committed offset,
/// else `auto.offset.reset`.
fn gather_positions(job: &JobConfig, c: &DriverConsumer, tps: &[TopicPartition], g: &mut Gather) -> Step<Offsets> {
    let mut out = Offsets::new();
    let mut unknown = Vec::new();
    for tp in tps {
        match c.seeks.get(tp) {
            Some(&o) => {
                out.insert(tp.clone(), o);
            }
            None => unknown.push(tp.clone()),
        }
    }
    if unknown.is_empty() {
        return Ok(Ok(out));
    }
    let mut no_offset = Vec::new();
    match job.group_id() {
        Some(group) => match g.kafka(KafkaRequest::OffsetFetch { group: group.into(), partitions: unknown.clone() }).ok_or(Pending)? {
            KafkaReply::Committed { offsets } => {
                for tp in &unknown {
                    match offsets.iter().find(|(t, _)| t == tp).and_then(|(_, o)| *o) {
                        Some(o) => {
                            out.insert(tp.clone(), o);
                        }
                        None => no_offset.push(tp.clone()),
                    }
                }
            }
            KafkaReply::Failed { error } => return Ok(Err(kafka_exception(error))),
            other => return Ok(Err(unexpected(other))),
        },
        None => no_offset = unknown,
    }
    if no_offset.is_empty() {
        return Ok(Ok(out));
    }
    let spec = match job.auto_offset_reset() {
        "earliest" => OffsetSpec::Earliest,
        "latest" => OffsetSpec::Latest,
        _ => return Ok(Err(messages::no_offset_for_partition(&no_offset))),
    };
    match gather_list_offsets(&no_offset, spec, g)? {
        Ok(reset) => {
            out.extend(reset);
            Ok(Ok(out))
        }
        Err(e) => Ok(Err(e)),
    }
}

/// `seekToEnd`/`seekToBeginning` + `position`: ListOffsets. An unknown partition makes `position`
/// wait out `default.api.timeout.ms`.
fn gather_list_offsets(tps: &[TopicPartition], spec: OffsetSpec, g: &mut Gather) -> Step<Offsets> {
    if tps.is_empty() {
        return Ok(Ok(Offsets::new()));
    }
    match g.kafka(KafkaRequest::ListOffsets { partitions: tps.to_vec(), spec }).ok_or(Pending)? {
        KafkaReply::Offsets { offsets } => {
            // `position(tp)` one partition after another, in `tps`' order: the first unknown one times out
            let mut out = Offsets::new();
            for tp in tps {
                match offsets.iter().find(|(t, _)| t == tp).map(|(_, r)| r) {
                    Some(Ok(o)) => {
                        out.insert(tp.clone(), *o);
                    }
                    _ => return Ok(Err(messages::position_timeout(tp))),
                }
            }
            Ok(Ok(out))
        }
        KafkaReply::Failed { error } => Ok(Err(kafka_exception(error))),
        other => Ok(Err(unexpected(other))),
    }
}

/// The driver consumer's `client.id`, as kafka-clients generates it.
pub fn client_id(job: &JobConfig) -> String {
    format!("consumer-{}-1", job.group_id().unwrap_or_default())
}

/// A Kafka error that reached the application as an exception.
pub fn kafka_exception(e: &KafkaError) -> SparkError {
    SparkError::new("org.apache.kafka.common.KafkaException", format!("Unexpected error from Kafka: {}", e.name()))
}

fn unexpected(reply: &KafkaReply) -> SparkError {
    SparkError::new("org.apache.kafka.common.KafkaException", format!("unexpected reply from Kafka: {reply:?}"))
}
