//! The job's code as a learner would write it, generated from the job the engine runs: a DStream job
//! (`JobConfig`: kafkaParams, strategy, checkpoint, commitAsync) or a Structured Streaming query
//! (`StructuredJob`: the Kafka source's options, the trigger, the checkpoint), in Scala and, where the
//! API exists there, PySpark. One generator for both APIs, so the page's code always matches the run.

use engine::config::{JobConfig, OutputOp, Strategy, Transform};
use scenario::format::StructuredJob;

/// The code of one job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Code {
    pub scala: String,
    /// PySpark's version, or why there is none.
    pub pyspark: Result<String, &'static str>,
}

/// Which job, and the names it uses on the broker (live pages prefix topics and groups).
pub enum Job<'a> {
    DStream(&'a JobConfig),
    Structured(&'a StructuredJob),
}

/// PySpark has no Kafka 0-10 DStream: `spark-streaming-kafka-0-10` is a Scala/Java API.
pub const NO_PYSPARK_DSTREAM: &str =
    "PySpark has no Kafka 0-10 DStream: KafkaUtils.createDirectStream with kafkaParams is the Scala/Java API of spark-streaming-kafka-0-10 only.";

/// `SPARK_VERSION` of the artifacts the code names (the version the reference harness runs).
pub const SPARK_VERSION: &str = "3.5.1";

pub fn generate(job: &Job<'_>, bootstrap: &str, name: &dyn Fn(&str) -> String) -> Code {
    match job {
        Job::DStream(j) => Code { scala: dstream_scala(j, bootstrap, name), pyspark: Err(NO_PYSPARK_DSTREAM) },
        Job::Structured(j) => Code { scala: structured_scala(j, bootstrap, name), pyspark: Ok(structured_python(j, bootstrap, name)) },
    }
}

/// A Scala string literal (triple quotes when the text has quotes, as JSON options do).
fn scala_str(s: &str) -> String {
    if s.contains('"') || s.contains('\\') {
        format!("\"\"\"{s}\"\"\"")
    } else {
        format!("\"{s}\"")
    }
}

/// A Python string literal (single quotes keep JSON's double quotes readable).
fn py_str(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// The source's options with the broker's names: the topics a subscribe/assign names are mapped.
fn source_options(job: &StructuredJob, bootstrap: &str, name: &dyn Fn(&str) -> String) -> Vec<(String, String)> {
    let mut out = vec![("kafka.bootstrap.servers".to_string(), bootstrap.to_string())];
    for (k, v) in &job.options {
        let v = match k.to_ascii_lowercase().as_str() {
            "subscribe" => v.split(',').map(|t| name(t.trim())).collect::<Vec<_>>().join(","),
            "startingoffsets" | "assign" if v.trim_start().starts_with('{') => rename_json_topics(v, name),
            _ => v.clone(),
        };
        out.push((k.clone(), v));
    }
    out
}

/// `{"words":{"0":3}}` with each topic key passed through `name`.
fn rename_json_topics(json: &str, name: &dyn Fn(&str) -> String) -> String {
    match serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(json) {
        Ok(m) if m.keys().all(|k| name(k) == *k) => json.to_string(),
        Ok(m) => {
            let renamed: serde_json::Map<String, serde_json::Value> = m.into_iter().map(|(k, v)| (name(&k), v)).collect();
            serde_json::Value::Object(renamed).to_string()
        }
        Err(_) => json.to_string(),
    }
}

/// What the options left out means, said next to the code (Spark's defaults for the Kafka source).
fn defaults(job: &StructuredJob) -> Vec<&'static str> {
    let has = |k: &str| job.options.keys().any(|o| o.eq_ignore_ascii_case(k));
    let mut d = Vec::new();
    if !has("startingOffsets") {
        d.push("startingOffsets: latest (the default for streams); read only when the checkpoint has no sources/0/0");
    } else {
        d.push("startingOffsets is read only by a new query: a restart from the checkpoint ignores it");
    }
    if !has("failOnDataLoss") {
        d.push("failOnDataLoss: true (the default)");
    }
    if !has("maxOffsetsPerTrigger") {
        d.push("maxOffsetsPerTrigger: none (each batch takes everything available)");
    }
    d.push("no group.id: the source makes spark-kafka-source-<uuid>-<hash>, and Spark never commits to it");
    d
}

fn structured_scala(job: &StructuredJob, bootstrap: &str, name: &dyn Fn(&str) -> String) -> String {
    let trigger = match job.trigger.as_str() {
        "AvailableNow" => "Trigger.AvailableNow()".to_string(),
        "Once" => "Trigger.Once()".to_string(),
        t => format!("Trigger.ProcessingTime({})", scala_str(&interval_words(t))),
    };
    let mut s = String::new();
    s.push_str(&format!("// spark-sql-kafka-0-10_2.13:{SPARK_VERSION}\n"));
    s.push_str("import org.apache.spark.sql.SparkSession\nimport org.apache.spark.sql.streaming.Trigger\n\n");
    s.push_str("val spark = SparkSession.builder.appName(\"words\")\n");
    if job.min_batches_to_retain != 100 {
        s.push_str(&format!("  .config(\"spark.sql.streaming.minBatchesToRetain\", \"{}\")\n", job.min_batches_to_retain));
    }
    s.push_str("  .getOrCreate()\n\n");
    for d in defaults(job) {
        s.push_str(&format!("// {d}\n"));
    }
    s.push_str("val df = spark.readStream\n  .format(\"kafka\")\n");
    for (k, v) in source_options(job, bootstrap, name) {
        s.push_str(&format!("  .option({}, {})\n", scala_str(&k), scala_str(&v)));
    }
    s.push_str("  .load()\n\n");
    s.push_str("val query = df\n  .selectExpr(\"topic\", \"partition\", \"offset\", \"CAST(key AS STRING)\", \"CAST(value AS STRING)\")\n");
    s.push_str("  .writeStream\n  .format(\"console\")\n");
    s.push_str(&format!("  .trigger({trigger})\n"));
    s.push_str(&format!("  .option(\"checkpointLocation\", {})\n", scala_str(&job.checkpoint_dir)));
    s.push_str("  .start()\n\nquery.awaitTermination()\n");
    s
}

fn structured_python(job: &StructuredJob, bootstrap: &str, name: &dyn Fn(&str) -> String) -> String {
    let trigger = match job.trigger.as_str() {
        "AvailableNow" => "availableNow=True".to_string(),
        "Once" => "once=True".to_string(),
        t => format!("processingTime={}", py_str(&interval_words(t))),
    };
    let mut s = String::new();
    s.push_str(&format!(
        "# spark-submit --packages org.apache.spark:spark-sql-kafka-0-10_2.13:{SPARK_VERSION} job.py\nfrom pyspark.sql import SparkSession\n\n"
    ));
    s.push_str("spark = (SparkSession.builder.appName(\"words\")\n");
    if job.min_batches_to_retain != 100 {
        s.push_str(&format!("         .config(\"spark.sql.streaming.minBatchesToRetain\", \"{}\")\n", job.min_batches_to_retain));
    }
    s.push_str("         .getOrCreate())\n\n");
    for d in defaults(job) {
        s.push_str(&format!("# {d}\n"));
    }
    s.push_str("df = (spark.readStream\n      .format(\"kafka\")\n");
    for (k, v) in source_options(job, bootstrap, name) {
        s.push_str(&format!("      .option({}, {})\n", py_str(&k), py_str(&v)));
    }
    s.push_str("      .load())\n\n");
    s.push_str(
        "query = (df\n         .selectExpr(\"topic\", \"partition\", \"offset\", \"CAST(key AS STRING)\", \"CAST(value AS STRING)\")\n",
    );
    s.push_str("         .writeStream\n         .format(\"console\")\n");
    s.push_str(&format!("         .trigger({trigger})\n"));
    s.push_str(&format!("         .option(\"checkpointLocation\", {})\n", py_str(&job.checkpoint_dir)));
    s.push_str("         .start())\n\nquery.awaitTermination()\n");
    s
}

/// `5s` → `5 seconds` (what `Trigger.ProcessingTime(String)` parses); `0s` → `0 seconds`.
fn interval_words(t: &str) -> String {
    let t = t.trim();
    let (n, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    match unit {
        "s" | "" => format!("{n} seconds"),
        "ms" => format!("{n} milliseconds"),
        "m" | "min" => format!("{n} minutes"),
        _ => t.to_string(),
    }
}

fn dstream_scala(job: &JobConfig, bootstrap: &str, name: &dyn Fn(&str) -> String) -> String {
    let mut s = String::new();
    s.push_str(&format!("// spark-streaming-kafka-0-10_2.13:{SPARK_VERSION}\n"));
    s.push_str("import org.apache.kafka.common.TopicPartition\nimport org.apache.kafka.common.serialization.StringDeserializer\n");
    s.push_str("import org.apache.spark.SparkConf\nimport org.apache.spark.streaming.{Milliseconds, StreamingContext}\n");
    s.push_str("import org.apache.spark.streaming.kafka010._\n\n");
    s.push_str("object Job {\n");
    let checkpoint = job.checkpoint_dir.as_deref();
    let uses_state = job.pipeline.contains(&Transform::UpdateStateByKeySum);
    if uses_state {
        s.push_str("  val sum = (values: Seq[Int], state: Option[Int]) => Option(values.sum + state.getOrElse(0))\n\n");
    }
    s.push_str("  def creatingFunc(): StreamingContext = {\n");
    s.push_str(&format!("    val conf = new SparkConf().setAppName({})\n", scala_str(&job.app_name)));
    if job.max_rate_per_partition > 0 {
        s.push_str(&format!("      .set(\"spark.streaming.kafka.maxRatePerPartition\", \"{}\")\n", job.max_rate_per_partition));
    }
    if job.min_rate_per_partition != 1 {
        s.push_str(&format!("      .set(\"spark.streaming.kafka.minRatePerPartition\", \"{}\")\n", job.min_rate_per_partition));
    }
    s.push_str(&format!("    val ssc = new StreamingContext(conf, Milliseconds({}))\n", job.batch_duration.ms()));
    match checkpoint {
        Some(dir) => s.push_str(&format!("    ssc.checkpoint({})\n", scala_str(dir))),
        None => s.push_str("    // no ssc.checkpoint(...): a restart starts from the group's committed offsets\n"),
    }
    s.push_str("    val kafkaParams = Map[String, Object](\n");
    let mut params = vec![
        ("bootstrap.servers".to_string(), scala_str(bootstrap)),
        ("key.deserializer".to_string(), "classOf[StringDeserializer]".to_string()),
        ("value.deserializer".to_string(), "classOf[StringDeserializer]".to_string()),
    ];
    for (k, v) in &job.kafka_params {
        let v = match (k.as_str(), v.as_str()) {
            ("group.id", g) => scala_str(&name(g)),
            (_, b @ ("true" | "false")) => format!("({b}: java.lang.Boolean)"),
            (_, v) => scala_str(v),
        };
        params.push((k.clone(), v));
    }
    let n = params.len();
    for (i, (k, v)) in params.into_iter().enumerate() {
        s.push_str(&format!("      {} -> {v}{}\n", scala_str(&k), if i + 1 < n { "," } else { "" }));
    }
    s.push_str("    )\n");
    let offsets = |o: &std::collections::BTreeMap<engine::offsets::TopicPartition, i64>| {
        let pairs: Vec<String> =
            o.iter().map(|(tp, x)| format!("new TopicPartition({}, {}) -> {x}L", scala_str(&name(&tp.topic)), tp.partition)).collect();
        format!("Map[TopicPartition, Long]({})", pairs.join(", "))
    };
    let strategy = match &job.strategy {
        Strategy::Subscribe { topics, offsets: o } => {
            let t: Vec<String> = topics.iter().map(|t| scala_str(&name(t))).collect();
            let tail = if o.is_empty() { String::new() } else { format!(", {}", offsets(o)) };
            format!("ConsumerStrategies.Subscribe[String, String](Seq({}), kafkaParams{tail})", t.join(", "))
        }
        Strategy::Assign { partitions, offsets: o } => {
            let p: Vec<String> =
                partitions.iter().map(|tp| format!("new TopicPartition({}, {})", scala_str(&name(&tp.topic)), tp.partition)).collect();
            let tail = if o.is_empty() { String::new() } else { format!(", {}", offsets(o)) };
            format!("ConsumerStrategies.Assign[String, String](Seq({}), kafkaParams{tail})", p.join(", "))
        }
    };
    s.push_str("    val stream = KafkaUtils.createDirectStream[String, String](\n");
    s.push_str(&format!("      ssc, LocationStrategies.PreferConsistent,\n      {strategy})\n"));
    let chain: Vec<String> = job.pipeline.iter().map(|t| String::from(t.clone())).collect();
    for op in &job.outputs {
        match op {
            OutputOp::Print(n) => {
                let print = if *n == 10 { "print()".to_string() } else { format!("print({n})") };
                let mut calls = chain.clone();
                calls.push(print);
                s.push_str(&format!("    stream.{}\n", calls.join(".")));
            }
            OutputOp::ForeachRddCommitAsync => {
                s.push_str("    stream.foreachRDD { rdd =>\n");
                s.push_str("      val offsetRanges = rdd.asInstanceOf[HasOffsetRanges].offsetRanges\n");
                s.push_str("      // queued now, sent to the group at the next batch's compute\n");
                s.push_str("      stream.asInstanceOf[CanCommitOffsets].commitAsync(offsetRanges)\n    }\n");
            }
        }
    }
    if !job.outputs.contains(&OutputOp::ForeachRddCommitAsync) {
        s.push_str("    // no commitAsync: nothing is committed to the group unless enable.auto.commit is true\n");
    }
    s.push_str("    ssc\n  }\n\n");
    s.push_str("  def main(args: Array[String]): Unit = {\n");
    match checkpoint {
        Some(dir) => s.push_str(&format!(
            "    // a checkpoint in {}: creatingFunc is not called, the settings above are not read again\n    val ssc = StreamingContext.getOrCreate({}, creatingFunc _)\n",
            scala_str(dir),
            scala_str(dir)
        )),
        None => s.push_str("    val ssc = creatingFunc()\n"),
    }
    s.push_str("    ssc.start()\n    ssc.awaitTermination()\n  }\n}\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn same(n: &str) -> String {
        n.to_string()
    }

    /// Every shipped scenario file, DStream and Structured Streaming, with the lessons' own.
    fn shipped() -> Vec<scenario::format::Scenario> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut files = Vec::new();
        for dir in ["scenarios", "scenarios/structured", "crates/web/lessons"] {
            for e in std::fs::read_dir(root.join(dir)).unwrap() {
                let p = e.unwrap().path();
                if p.extension().is_some_and(|x| x == "toml") {
                    files.push(p);
                }
            }
        }
        files.sort();
        assert!(files.len() > 20, "{files:?}");
        files.iter().map(|p| scenario::format::parse(&p.display().to_string(), &std::fs::read_to_string(p).unwrap()).unwrap()).collect()
    }

    #[test]
    fn the_code_of_every_shipped_structured_query_names_each_of_its_options_and_its_trigger() {
        let mut n = 0;
        for s in shipped() {
            let Some(spec) = &s.structured else { continue };
            let mut jobs = vec![&spec.job];
            jobs.extend(spec.steps.iter().filter_map(|st| match &st.action {
                scenario::format::StructuredAction::Start { job } => Some(job),
                _ => None,
            }));
            for job in jobs {
                let code = generate(&Job::Structured(job), "127.0.0.1:9092", &same);
                let py = code.pyspark.clone().unwrap();
                for (k, v) in &job.options {
                    let scala = format!(".option({}, {})", scala_str(k), scala_str(v));
                    assert!(code.scala.contains(&scala), "{}: {scala} not in\n{}", s.name, code.scala);
                    let python = format!(".option({}, {})", py_str(k), py_str(v));
                    assert!(py.contains(&python), "{}: {python} not in\n{py}", s.name);
                }
                let (scala_trigger, py_trigger) = match job.trigger.as_str() {
                    "AvailableNow" => ("Trigger.AvailableNow()".to_string(), "availableNow=True".to_string()),
                    "Once" => ("Trigger.Once()".to_string(), "once=True".to_string()),
                    t => (format!("Trigger.ProcessingTime(\"{}\")", interval_words(t)), format!("processingTime='{}'", interval_words(t))),
                };
                assert!(code.scala.contains(&scala_trigger) && py.contains(&py_trigger), "{}: {}", s.name, job.trigger);
                let ck = format!(".option(\"checkpointLocation\", \"{}\")", job.checkpoint_dir);
                assert!(code.scala.contains(&ck), "{}", s.name);
                if job.min_batches_to_retain != 100 {
                    assert!(code.scala.contains(&format!("\"spark.sql.streaming.minBatchesToRetain\", \"{}\"", job.min_batches_to_retain)));
                }
                n += 1;
            }
        }
        assert!(n >= 9, "{n}");
    }

    #[test]
    fn the_code_of_every_shipped_dstream_job_names_its_kafka_params_strategy_checkpoint_and_commits() {
        let mut n = 0;
        for s in shipped().iter().filter(|s| s.structured.is_none()) {
            let mut jobs = vec![&s.job];
            jobs.extend(s.steps.iter().filter_map(|st| match &st.action {
                scenario::format::Action::Start { job } => Some(job),
                _ => None,
            }));
            for job in jobs {
                let code = generate(&Job::DStream(job), "127.0.0.1:9092", &same);
                assert_eq!(code.pyspark, Err(NO_PYSPARK_DSTREAM));
                let c = &code.scala;
                for (k, v) in &job.kafka_params {
                    let v = if v == "true" || v == "false" { format!("({v}: java.lang.Boolean)") } else { format!("\"{v}\"") };
                    assert!(c.contains(&format!("\"{k}\" -> {v}")), "{}: {k} = {v} not in\n{c}", s.name);
                }
                assert!(c.contains(&format!("ConsumerStrategies.{}[String, String]", job.strategy.name())), "{}", s.name);
                for tp in job.strategy.user_offsets().keys() {
                    assert!(c.contains(&format!("new TopicPartition(\"{}\", {}) -> ", tp.topic, tp.partition)), "{}", s.name);
                }
                match &job.checkpoint_dir {
                    Some(d) => {
                        assert!(c.contains(&format!("ssc.checkpoint(\"{d}\")")) && c.contains("StreamingContext.getOrCreate"), "{}", s.name)
                    }
                    None => assert!(!c.contains("ssc.checkpoint(\"") && !c.contains("getOrCreate"), "{}", s.name),
                }
                assert_eq!(c.contains("commitAsync(offsetRanges)"), job.outputs.contains(&OutputOp::ForeachRddCommitAsync), "{}", s.name);
                assert!(c.contains(&format!("Milliseconds({})", job.batch_duration.ms())));
                if job.max_rate_per_partition > 0 {
                    assert!(c.contains(&format!("\"spark.streaming.kafka.maxRatePerPartition\", \"{}\"", job.max_rate_per_partition)));
                }
                n += 1;
            }
        }
        assert!(n >= 15, "{n}");
    }

    #[test]
    fn live_names_reach_the_code_and_json_options_keep_their_quotes() {
        let mut job = StructuredJob {
            checkpoint_dir: "ckpt".into(),
            trigger: "AvailableNow".into(),
            options: Default::default(),
            min_batches_to_retain: 100,
        };
        job.options.insert("subscribe".into(), "words".into());
        job.options.insert("startingOffsets".into(), r#"{"words":{"0":3}}"#.into());
        let ns = |n: &str| format!("lab-ab-{n}");
        let code = generate(&Job::Structured(&job), "127.0.0.1:9092", &ns);
        assert!(code.scala.contains(r#".option("subscribe", "lab-ab-words")"#), "{}", code.scala);
        assert!(code.scala.contains(r#".option("startingOffsets", """{"lab-ab-words":{"0":3}}""")"#), "{}", code.scala);
        assert!(code.pyspark.unwrap().contains(r#".option('startingOffsets', '{"lab-ab-words":{"0":3}}')"#));
        assert!(code.scala.contains("failOnDataLoss: true (the default)"));
    }
}
