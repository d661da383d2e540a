//! Output jobs: what each output operation reads from Kafka (executor side) and what it does.

use crate::config::{JobConfig, OutputOp, Transform};
use crate::error::{self, messages, SparkError};
use crate::io::{Gather, Pending};
use crate::kafka::{KafkaError, KafkaReply, KafkaRequest};
use crate::offsets::OffsetRange;
use crate::pipeline::{self, Datum};
use crate::state::{self, Base, StateDStream, StateMap};
use crate::storage::{StorageReply, StorageRequest};
use crate::stream::DirectKafkaInputDStream;
use crate::time::Time;

/// What one output operation's job has in hand once its reads are done.
pub enum JobData {
    /// `print`: the elements to show, and the new state when the pipeline is stateful.
    Print { data: Vec<Datum>, state: Option<StateMap> },
    /// `foreachRDD(commitAsync)`: the batch's ranges to queue.
    Commit(Vec<OffsetRange>),
}

/// Gathers every output operation's input for batch `t`; a failed read fails that job only.
pub fn gather_jobs(
    job: &JobConfig,
    stream: &DirectKafkaInputDStream,
    state: &StateDStream,
    zero: Time,
    t: Time,
    g: &mut Gather,
) -> Result<Vec<Result<JobData, SparkError>>, Pending> {
    let mut out = Vec::new();
    for op in &job.outputs {
        out.push(match op {
            OutputOp::Print(_) => gather_print(job, stream, state, zero, t, g),
            OutputOp::ForeachRddCommitAsync => Ok(Ok(JobData::Commit(ranges_of(stream, t)))),
        });
    }
    // Every job's reads are asked for in one round; the results are only valid once all are in.
    g.ready()?;
    out.into_iter().collect()
}

fn ranges_of(stream: &DirectKafkaInputDStream, t: Time) -> Vec<OffsetRange> {
    stream.generated.get(&t).map(|r| r.ranges.clone()).unwrap_or_default()
}

type Step<T> = Result<Result<T, SparkError>, Pending>;

fn gather_print(
    job: &JobConfig,
    stream: &DirectKafkaInputDStream,
    st: &StateDStream,
    zero: Time,
    t: Time,
    g: &mut Gather,
) -> Step<JobData> {
    let (narrow, reducer) = split_pipeline(&job.pipeline);
    if reducer == Some(Transform::UpdateStateByKeySum) {
        let (base, chain) = st.lineage(t, job.batch_duration.ms(), zero);
        let mut s: StateMap = match &base {
            Base::Empty => StateMap::new(),
            Base::Memory(_) => st.materialized.as_ref().map(|(_, m)| m.clone()).unwrap_or_default(),
            Base::File(_, path) => match g.storage(StorageRequest::Read { path: path.clone() }) {
                None => return Err(Pending),
                Some(StorageReply::Bytes { result: Ok(bytes) }) => match state::decode(bytes) {
                    Ok(m) => m,
                    Err(e) => return Ok(Err(SparkError::new(error::SPARK_EXCEPTION, format!("{e} ({path})")))),
                },
                Some(_) => return Ok(Err(SparkError::new("java.io.FileNotFoundException", format!("File {path} does not exist")))),
            },
        };
        let mut batches = Vec::new();
        for u in &chain {
            batches.push(gather_rdd(job, &ranges_of(stream, *u), g));
        }
        g.ready()?;
        for b in batches {
            match b {
                Ok(Ok(records)) => pipeline::update_state(&mut s, &pipeline::reduce_pairs(&pipeline::narrow(narrow, records))),
                Ok(Err(e)) => return Ok(Err(e)),
                Err(p) => return Err(p),
            }
        }
        return Ok(Ok(JobData::Print { data: pipeline::shuffled_order(&s), state: Some(s) }));
    }
    let records = match gather_rdd(job, &ranges_of(stream, t), g)? {
        Ok(r) => r,
        Err(e) => return Ok(Err(e)),
    };
    let data = pipeline::narrow(narrow, records);
    let data = if reducer.is_some() { pipeline::shuffled_order(&pipeline::reduce_pairs(&data)) } else { data };
    Ok(Ok(JobData::Print { data, state: None }))
}

/// The narrow transformations, and the shuffle that ends the pipeline if any.
fn split_pipeline(p: &[Transform]) -> (&[Transform], Option<Transform>) {
    match p.last() {
        Some(t @ (Transform::ReduceByKeySum | Transform::UpdateStateByKeySum)) => (&p[..p.len() - 1], Some(t.clone())),
        _ => (p, None),
    }
}

/// Reads a KafkaRDD's partitions in order, as its tasks would (`KafkaRDD.compute`).
fn gather_rdd(job: &JobConfig, ranges: &[OffsetRange], g: &mut Gather) -> Step<Vec<Datum>> {
    let mut parts = Vec::new();
    for r in ranges {
        parts.push(gather_range(job, r, g));
    }
    g.ready()?;
    let mut out = Vec::new();
    for p in parts {
        match p? {
            Ok(mut d) => out.append(&mut d),
            Err(e) => return Ok(Err(e)),
        }
    }
    Ok(Ok(out))
}

/// One task: the executor's `require(from <= until)`, then a consumer with `auto.offset.reset=none`.
fn gather_range(job: &JobConfig, r: &OffsetRange, g: &mut Gather) -> Step<Vec<Datum>> {
    if r.from_offset > r.until_offset {
        return Ok(Err(messages::beginning_after_end(r.from_offset, r.until_offset, &r.topic, r.partition)));
    }
    if r.from_offset == r.until_offset {
        return Ok(Ok(Vec::new()));
    }
    let tp = r.topic_partition();
    let req = KafkaRequest::Fetch { partition: tp.clone(), offset: r.from_offset, max_records: r.count() };
    let Some(reply) = g.kafka(req) else { return Err(Pending) };
    let executor_group = format!("spark-executor-{}", job.group_id().unwrap_or("null"));
    match reply {
        KafkaReply::Records { records, .. } => {
            let mut expected = r.from_offset;
            let mut out = Vec::new();
            for rec in records.iter().take_while(|rec| rec.offset < r.until_offset) {
                if rec.offset != expected {
                    return Ok(Err(SparkError::requirement(format!(
                        "Got wrong record for {executor_group} {tp} even after seeking to offset {expected} got offset {} instead. If this is a compacted topic, consider enabling spark.streaming.kafka.allowNonConsecutiveOffsets",
                        rec.offset
                    ))));
                }
                out.push(Datum::Record(tp.clone(), rec.clone()));
                expected += 1;
            }
            if expected < r.until_offset {
                return Ok(Err(messages::failed_to_get_records(job.group_id(), &tp, expected)));
            }
            Ok(Ok(out))
        }
        KafkaReply::FetchError { error: KafkaError::OffsetOutOfRange } => Ok(Err(messages::fetch_out_of_range(r.from_offset, &tp))),
        // A partition that no longer exists: the consumer keeps polling and never gets a record.
        KafkaReply::FetchError { error: KafkaError::UnknownTopicOrPartition } => {
            Ok(Err(messages::failed_to_get_records(job.group_id(), &tp, r.from_offset)))
        }
        KafkaReply::FetchError { error } | KafkaReply::Failed { error } => Ok(Err(crate::stream::kafka_exception(error))),
        other => Ok(Err(SparkError::new("org.apache.kafka.common.KafkaException", format!("unexpected reply from Kafka: {other:?}")))),
    }
}
