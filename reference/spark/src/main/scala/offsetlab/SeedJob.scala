// The scenario's Spark Streaming job (the seed's: Kafka direct stream → updateStateByKey → print; foreachRDD → commitAsync),
// run once per scenario `start` in its own JVM, with the trace instrumentation installed around it.
package offsetlab

import java.io.{File, FileInputStream}
import java.util.Properties

import scala.jdk.CollectionConverters._

import org.apache.kafka.clients.consumer.ConsumerRecord
import org.apache.kafka.common.TopicPartition
import org.apache.kafka.common.serialization.StringDeserializer

import org.apache.spark.SparkConf
import org.apache.spark.streaming.{Milliseconds, StreamingContext}
import org.apache.spark.streaming.dstream.DStream
import org.apache.spark.streaming.kafka010._
import org.apache.spark.streaming.offsetlab.{Instrument, JobGate, ScenarioClock, Trace, TraceCommitCallback}

/** The `updateStateByKey` function. A class of its own with a fixed serialVersionUID, so that the harness's
 *  `change_code` step can put an incompatible version first on the classpath (see Driver.changeCode). */
@SerialVersionUID(1L)
class StateSum extends ((Seq[Int], Option[Int]) => Option[Int]) with Serializable {
  def apply(values: Seq[Int], state: Option[Int]): Option[Int] = Some(values.sum + state.getOrElse(0))
}

/** What the driver writes for one JVM start (a `.properties` file). */
final case class JobConfig(p: Properties) {
  def get(k: String, d: String = null): String = Option(p.getProperty(k)).getOrElse {
    if (d == null) throw new IllegalArgumentException(s"job config: missing $k") else d
  }
  def list(k: String): Seq[String] = get(k, "").split(",").map(_.trim).filter(_.nonEmpty).toSeq
  /** `k.0`, `k.1`, …: lists whose items contain commas (the pipeline's lambdas). */
  def indexed(k: String): Seq[String] = Iterator.from(0).map(i => Option(p.getProperty(s"$k.$i"))).takeWhile(_.isDefined).map(_.get).toSeq
}

/** The engine's vocabulary of DStream operations (crates/engine/src/config.rs, `Transform`), built on real DStreams.
 *  Elements are ConsumerRecords, Strings or (String, Int) pairs, as the engine's `Datum`. */
object Pipeline {
  val PrintN = """print\((\d+)\)""".r
  def compact(s: String): String = s.filterNot(_.isWhitespace)
  /** What `r => r.value` (or `r.key`) sees: a record's value, a text, a pair's key; null prints as Java does. */
  def textOf(x: Any, key: Boolean): String = x match {
    case r: ConsumerRecord[_, _] => String.valueOf(if (key) r.key else r.value)
    case (k, _) => String.valueOf(k)
    case other => String.valueOf(other)
  }
  def transform(input: DStream[Any], ops: Seq[String]): DStream[Any] = ops.foldLeft(input) { (d, op) =>
    compact(op) match {
      case "map(r=>(r.value,1))" => d.map(x => (textOf(x, false), 1): Any)
      case "map(r=>(r.key,1))" => d.map(x => (textOf(x, true), 1): Any)
      case "map(r=>r.value)" | "map(_.value)" => d.map(x => textOf(x, false): Any)
      case "flatMap(_.split(\"\"))" => d.flatMap[Any](x => textOf(x, false).split(" ").toSeq)
      case "reduceByKey(_+_)" => d.asInstanceOf[DStream[(String, Int)]].reduceByKey(_ + _).asInstanceOf[DStream[Any]]
      case "updateStateByKey(sum)" => d.asInstanceOf[DStream[(String, Int)]].updateStateByKey[Int](new StateSum).asInstanceOf[DStream[Any]]
      // the needle keeps its blanks (the engine's parser does the same)
      case _ if op.trim.startsWith("filter(_.contains(\"") && op.trim.endsWith("\"))") =>
        val needle = op.trim.stripPrefix("filter(_.contains(\"").stripSuffix("\"))")
        d.filter(x => textOf(x, false).contains(needle))
      case _ => throw new IllegalArgumentException(s"unknown transformation `$op`")
    }
  }
}

object SeedJob {
  def main(args: Array[String]): Unit = {
    Instrument.installPrintCapture() // before anything initialises scala.Console
    val cfg = JobConfig { val p = new Properties; val in = new FileInputStream(args(0)); try p.load(in) finally in.close(); p }
    val control = new File(cfg.get("control"))
    Trace.open(cfg.get("trace"), cfg.list("rename").map { kv => val Array(a, b) = kv.split("=", 2); a -> b })
    Instrument.installLogCapture()
    // "" = no checkpoint directory (the scenario's `checkpoint_dir = ""`): no getOrCreate, no ssc.checkpoint
    val checkpointDir = cfg.get("checkpointDir", "")
    Instrument.checkpointDir = checkpointDir
    Instrument.statusFile = new File(control, "status.json")
    // jobStarted's names; a recovered graph has the outputs of the build that wrote it, the same list here
    Instrument.outputNames = cfg.indexed("outputs").map(o => if (Pipeline.compact(o).startsWith("print")) "print" else "foreachRDD")
    Instrument.conf = new SparkConf(false).set("spark.io.compression.codec", cfg.get("codec", "lz4"))

    val ssc = try { if (checkpointDir.isEmpty) create(cfg) else StreamingContext.getOrCreate(checkpointDir, () => create(cfg)) }
    catch {
      case e: Throwable =>
        Instrument.error(e, "readCheckpoint", None)
        Trace.emit("contextStopped", "graceful" -> false, "killed" -> false)
        System.exit(2); throw e
    }
    Instrument.ssc = ssc
    Instrument.captureRestored(ssc)
    JobGate.install(ssc)

    // The driver says when: the JVM is launched early and `ssc.start()` waits for the scenario's clock.
    new File(control, "ready").createNewFile()
    val go = new File(control, "go")
    while (!go.exists()) Thread.sleep(5)
    Thread.sleep(5) // the driver writes `go` with a rename; let the content settle
    val startAt = new String(java.nio.file.Files.readAllBytes(go.toPath)).trim.toLong
    // the scenario clock (ScenarioClock) is Spark's batch clock; the driver has set it to the start time already
    while (ScenarioClock.now() < startAt) Thread.sleep(2)
    try ssc.start()
    catch {
      case e: Throwable =>
        Instrument.error(e, "start", None)
        Trace.emit("contextStopped", "graceful" -> false, "killed" -> false)
        Instrument.writeStatus()
        sys.exit(3)
    }
    Instrument.running = true
    Instrument.writeStatus()

    // Wait for termination (an error reported by the scheduler) or a stop request from the driver.
    val stopFile = new File(control, "stop")
    var done = false
    while (!done) {
      val terminated = try ssc.awaitTerminationOrTimeout(10) catch {
        case e: Throwable =>
          // Like an application whose main rethrows: the context is stopped (shutdown hook: not graceful),
          // once the batch in flight is over (JobGate.awaitBatchOver says why)
          JobGate.awaitBatchOver(10000)
          ssc.stop(stopSparkContext = true, stopGracefully = false)
          Instrument.running = false
          Trace.emit("contextStopped", "graceful" -> false, "killed" -> false)
          Instrument.writeStatus()
          sys.exit(1)
      }
      if (terminated) done = true
      else if (stopFile.exists()) {
        val graceful = new String(java.nio.file.Files.readAllBytes(stopFile.toPath)).trim != "false"
        ssc.stop(stopSparkContext = true, stopGracefully = graceful)
        Instrument.running = false
        Trace.emit("contextStopped", "graceful" -> graceful, "killed" -> false)
        Instrument.writeStatus()
        done = true
      }
    }
    sys.exit(0)
  }

  /** `creatingFunc`: only called when no checkpoint is readable. */
  def create(cfg: JobConfig): StreamingContext = {
    val conf = new SparkConf().setMaster("local[2]").setAppName(cfg.get("appName"))
      .set("spark.ui.enabled", "false")
      .set("spark.io.compression.codec", cfg.get("codec", "lz4"))
      .set("spark.streaming.kafka.maxRatePerPartition", cfg.get("maxRatePerPartition", "0"))
      .set("spark.streaming.kafka.minRatePerPartition", cfg.get("minRatePerPartition", "1"))
    val ssc = new StreamingContext(conf, Milliseconds(cfg.get("batchMs").toLong))
    if (cfg.get("checkpointDir", "").nonEmpty) ssc.checkpoint(cfg.get("checkpointDir"))
    val group = cfg.get("group")
    val kafkaParams = Map[String, Object](
      "bootstrap.servers" -> cfg.get("bootstrap"),
      "key.deserializer" -> classOf[StringDeserializer],
      "value.deserializer" -> classOf[StringDeserializer],
      "group.id" -> group,
      "auto.offset.reset" -> cfg.get("autoOffsetReset", "latest"),
      "enable.auto.commit" -> java.lang.Boolean.valueOf(cfg.get("enableAutoCommit", "false"))) ++
      cfg.p.stringPropertyNames.asScala.filter(_.startsWith("kafka.")).map(k => k.stripPrefix("kafka.") -> (cfg.p.getProperty(k): Object))
    def tp(s: String) = { val i = s.lastIndexOf('-'); new TopicPartition(s.take(i), s.drop(i + 1).toInt) }
    // the strategies' `offsets` argument ("offsets to begin at on initial startup")
    val offsets = cfg.list("startingOffsets").map { kv => val Array(a, b) = kv.split("=", 2); tp(a) -> b.toLong }.toMap
    val strategy: ConsumerStrategy[String, String] = cfg.get("strategy", "Subscribe") match {
      case "Subscribe" => ConsumerStrategies.Subscribe[String, String](cfg.list("topics"), kafkaParams, offsets)
      case "Assign" => ConsumerStrategies.Assign[String, String](cfg.list("assign").map(tp), kafkaParams, offsets)
      case other => throw new IllegalArgumentException(s"unknown strategy $other")
    }
    val stream = KafkaUtils.createDirectStream[String, String](ssc, LocationStrategies.PreferConsistent, strategy)
    val end = Pipeline.transform(stream.asInstanceOf[DStream[Any]], cfg.indexed("pipeline"))
    val cb = new TraceCommitCallback(group)
    // output ops in the scenario's order (the seed: print() is op 0, foreachRDD op 1)
    cfg.indexed("outputs").foreach { o =>
      Pipeline.compact(o) match {
        case "print()" => end.print()
        case Pipeline.PrintN(n) => end.print(n.toInt)
        case "foreachRDD(commitAsync)" =>
          // the documented "Storing Offsets" pattern; the callback only records completions in the trace
          stream.foreachRDD { (rdd, time) =>
            val ranges = rdd.asInstanceOf[HasOffsetRanges].offsetRanges
            // harness-only event: shows whether a commit came from a job's queueing or from a restored commitQueue
            Instrument.commitQueued(time.milliseconds, ranges)
            stream.asInstanceOf[CanCommitOffsets].commitAsync(ranges, cb)
          }
        case other => throw new IllegalArgumentException(s"unknown output operation `$o`")
      }
    }
    ssc
  }
}
