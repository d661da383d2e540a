// A scenario's Structured Streaming query (`[job] api = "structured"`): readStream.format("kafka") with the scenario's
// options, a foreachBatch sink, Spark's trigger executor on the scenario clock, and the trace written from Spark's state.
package org.apache.spark.sql.offsetlab

import java.io.FileInputStream
import java.nio.charset.StandardCharsets
import java.nio.file.{Files, Path, Paths, StandardCopyOption}
import java.util.Properties

import scala.jdk.CollectionConverters._
import scala.util.Try

import org.apache.logging.log4j.{Level, LogManager}
import org.apache.logging.log4j.core.{LogEvent, LoggerContext}
import org.apache.logging.log4j.core.appender.AbstractAppender
import org.apache.logging.log4j.core.config.{LoggerConfig, Property}

import org.apache.spark.sql.{Dataset, Row, SparkSession}
import org.apache.spark.sql.execution.datasources.v2.MicroBatchScanExec
import org.apache.spark.sql.execution.streaming.{StreamExecution, StreamingQueryWrapper}
import org.apache.spark.sql.execution.streaming.sources.ForeachBatchSink
import org.apache.spark.sql.streaming.{OutputMode, StreamingQueryException, Trigger}
import org.apache.spark.streaming.offsetlab.{Instrument, Json, ScenarioClock, Trace}
import org.apache.spark.streaming.offsetlab.Json._
import org.apache.spark.util.Clock

/** The query's trigger clock (`StreamExecution.triggerClock`, what `ProcessingTimeExecutor` waits on and
 *  `constructNextBatch` stamps `batchTimestampMs` with): the scenario clock. Entering a wait for a later trigger is
 *  the moment the query has done everything due now, so the checkpoint is read then and the driver told. */
final class TriggerClock(onIdle: Long => Unit) extends Clock {
  override def getTimeMillis(): Long = {
    val t = ScenarioClock.now()
    // the trigger reads this clock before latestOffset: the Kafka source's delay clock is the same instant
    org.apache.spark.sql.kafka010.OffsetLabSourceClock.set(t)
    t
  }
  override def nanoTime(): Long = System.nanoTime()
  override def waitTillTime(targetTime: Long): Long = {
    var t = ScenarioClock.now()
    if (t < targetTime) onIdle(targetTime)
    while (t < targetTime) { Thread.sleep(2); t = ScenarioClock.now() }
    t
  }
}

object StructuredJob {
  @volatile private var query: StreamExecution = _
  @volatile private var executorGroup: String = ""
  @volatile private var started: JObj = _
  private var ckpt: Path = _
  private var ckptName: String = _
  private var control: Path = _
  /** The checkpoint's log files this JVM has traced: name → content. */
  private val seen = scala.collection.mutable.LinkedHashMap[String, String]()

  def main(args: Array[String]): Unit = {
    val p = new Properties; val in = new FileInputStream(args(0)); try p.load(in) finally in.close()
    def get(k: String, d: String = null) = Option(p.getProperty(k)).getOrElse(if (d == null) sys.error(s"missing $k") else d)
    control = Paths.get(get("control"))
    ckpt = Paths.get(get("checkpointDir"))
    ckptName = get("checkpointName")
    Trace.open(get("trace"), get("rename", "").split(",").filter(_.contains("=")).map { r => val i = r.indexOf('='); (r.take(i), r.drop(i + 1)) }.toSeq)
    installLogCapture()
    val spark = SparkSession.builder.master("local[2]").appName("structured").config("spark.ui.enabled", "false")
      .config("spark.sql.streaming.minBatchesToRetain", get("minBatchesToRetain", "100"))
      .config("spark.sql.shuffle.partitions", "200").getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    val options = p.stringPropertyNames.asScala.toSeq.filter(_.startsWith("option.")).map(k => k.stripPrefix("option.") -> p.getProperty(k)).toMap
    val trigger = get("trigger") match {
      case "AvailableNow" => Trigger.AvailableNow()
      case "Once" => Trigger.Once()
      case ms => Trigger.ProcessingTime(ms.toLong)
    }
    // what this JVM finds in the checkpoint is not its own doing
    snapshot().foreach { case (k, v) => seen(k) = v }
    write("ready", "1")
    while (!Files.exists(control.resolve("go"))) Thread.sleep(10)
    // maxTriggerDelay counts on the Kafka source's own clock, the wall clock unless the test hook `_mockSystemTime` is
    // set: it is, when the query has minOffsetsPerTrigger, so the delay counts scenario time (TriggerClock sets it)
    val sourceClock = if (options.keys.exists(_.equalsIgnoreCase("minOffsetsPerTrigger")))
      Map(org.apache.spark.sql.kafka010.OffsetLabSourceClock.Option -> "true") else Map.empty[String, String]
    val df = spark.readStream.format("kafka").options(options ++ sourceClock + ("kafka.bootstrap.servers" -> get("bootstrap"))).load()
    val sink = new ForeachBatchSink[Row]((ds: Dataset[Row], batchId: Long) => addBatch(ds, batchId), df.exprEnc)
    val clock = new TriggerClock(target => idle(target))
    val q = try spark.streams.startQuery(None, Some(ckpt.toString), df, Map.empty, sink, OutputMode.Append(),
      useTempCheckpointLocation = false, recoverFromCheckpointLocation = true, trigger = trigger, triggerClock = clock)
    catch { case e: Throwable => terminated(Some(e)); sys.exit(0) }
    query = q.asInstanceOf[StreamingQueryWrapper].streamingQuery
    writeStatus(true)
    val stopper = new Thread(() => {
      while (!Files.exists(control.resolve("stop"))) Thread.sleep(10)
      q.stop()
    })
    stopper.setDaemon(true); stopper.start()
    val error = try { q.awaitTermination(); None } catch { case e: StreamingQueryException => Some(e.cause); case e: Throwable => Some(e) }
    terminated(error)
    spark.stop()
    sys.exit(0)
  }

  private def terminated(error: Option[Throwable]): Unit = {
    scan()
    traceStarted()
    Trace.emit("queryTerminated", "error" -> error.map(Instrument.errorJson).getOrElse(JNull), "killed" -> false)
    writeStatus(false)
    write("terminated", "1")
  }

  /** The query thread waits for the next trigger: everything due now is done. */
  private def idle(target: Long): Unit = {
    scan()
    traceStarted()
    writeStatus(true)
    write("idle", target.toString)
  }

  /** The sink (foreachBatch): the batch's offset ranges are its `KafkaBatchInputPartition`s, as planned by Spark's
   *  `KafkaMicroBatchStream.planInputPartitions`; the rows are what the batch reads. */
  private def addBatch(ds: Dataset[Row], batchId: Long): Unit = {
    while (query == null) Thread.sleep(2) // startQuery returns once the query thread runs, maybe after its first batch began
    traceStarted()
    if (Files.exists(control.resolve("crash"))) {
      // kill -9 inside the batch: offsets/N is written (trace it as any look at the checkpoint would), commits/N never is
      scan()
      Runtime.getRuntime.halt(137)
    }
    // KafkaBatchInputPartition and KafkaOffsetRange are private[kafka010]: read through their accessors
    def call(o: AnyRef, m: String): AnyRef = o.getClass.getMethod(m).invoke(o)
    // foreachBatch hands over a Dataset over the batch's RDD; the scan is in the query's IncrementalExecution
    val ranges = query.lastExecution.executedPlan.collect { case s: MicroBatchScanExec => s.inputPartitions }.flatten
      .filter(_.getClass.getSimpleName == "KafkaBatchInputPartition").map { part =>
        val r = call(part, "offsetRange")
        val tp = call(r, "topicPartition").asInstanceOf[org.apache.kafka.common.TopicPartition]
        (tp.topic, tp.partition, call(r, "fromOffset").asInstanceOf[java.lang.Long].longValue, call(r, "untilOffset").asInstanceOf[java.lang.Long].longValue)
      }.sortBy(r => (r._1, r._2)).map { case (t, p, f, u) => obj("topic" -> t, "partition" -> p.toLong, "fromOffset" -> f, "untilOffset" -> u) }
    val rows = ds.collect().toSeq.map { r =>
      (r.getAs[String]("topic"), r.getAs[Int]("partition"), r.getAs[Long]("offset"), Option(r.getAs[Array[Byte]]("key")).map(new String(_, StandardCharsets.UTF_8)),
        new String(r.getAs[Array[Byte]]("value"), StandardCharsets.UTF_8), r.getAs[java.sql.Timestamp]("timestamp").getTime)
    }.sortBy(r => (r._1, r._2, r._3)).map { case (t, p, o, k, v, ts) =>
      obj("topic" -> t, "partition" -> p.toLong, "offset" -> o, "key" -> k.map(JStr(_): Json).getOrElse(JNull), "value" -> v, "timestamp" -> ts)
    }
    Trace.emit("batchRun", "batchId" -> batchId, "ranges" -> arr(ranges), "rows" -> arr(rows))
  }

  /** `queryStarted` once the query has populated its start offsets: Spark's own log line says where it resumes
   *  (`MicroBatchExecution.populateStartOffsets`), the executors' group is the Kafka source's `executorKafkaParams`. */
  @volatile private var startLine: Option[String] = None
  @volatile private var startTraced = false
  private def traceStarted(): Unit = if (!startTraced && query != null && startLine.isDefined) synchronized {
    if (!startTraced) {
      startTraced = true
      executorGroup = Try {
        val sources = query.getClass.getMethod("uniqueSources").invoke(query).asInstanceOf[Map[AnyRef, AnyRef]]
        val src = sources.keys.head
        val f = src.getClass.getDeclaredField("executorKafkaParams"); f.setAccessible(true)
        String.valueOf(f.get(src).asInstanceOf[java.util.Map[String, Object]].get("group.id"))
      }.getOrElse("")
      val Resume = """(?s)Resuming at batch (\d+) with committed offsets \{(.*)\} and available offsets \{(.*)\}""".r
      val (resumed, batchId, rerun, committed) = startLine.get match {
        case Resume(b, c, a) => (true, b.toLong, c != a, if (c.trim.isEmpty) JNull else sourceOffsets(c))
        case _ => (false, 0L, false, JNull)
      }
      Trace.emit("queryStarted", "id" -> query.id.toString, "executorGroup" -> executorGroup, "resumed" -> resumed,
        "batchId" -> batchId, "rerun" -> rerun, "committed" -> committed)
    }
  }

  /** `KafkaV2[Subscribe[words]]: {"words":{"0":3}}` → `{"words-0":3}`. */
  private def sourceOffsets(s: String): Json = {
    val i = s.indexOf(": {")
    if (i < 0) JNull else offsetsJson(s.drop(i + 2).trim)
  }
  private def offsetsJson(json: String): Json = Json.parse(json) match {
    case JObj(topics) => JObj(topics.flatMap { case (t, JObj(ps)) => ps.map { case (p, o) => s"$t-$p" -> o }; case _ => Nil }
      .sortBy { case (k, _) => val j = k.lastIndexOf('-'); (k.take(j), k.drop(j + 1).toInt) })
    case other => other
  }

  private def snapshot(): Seq[(String, String)] = {
    def files(sub: String): Seq[String] = Option(ckpt.resolve(sub).toFile.list()).map(_.toSeq).getOrElse(Nil)
      .filter(_.matches("\\d+")).sortBy(_.toLong).map(n => s"$sub/$n")
    (Seq("sources/0/0").filter(f => Files.exists(ckpt.resolve(f))) ++ files("offsets") ++ files("commits"))
      .flatMap(f => Try(new String(Files.readAllBytes(ckpt.resolve(f)), StandardCharsets.UTF_8)).toOption.map(f -> _))
  }

  /** What the query wrote to (or purged from) its checkpoint since the last look, in Spark's order of kinds. */
  private def scan(): Unit = synchronized {
    val now = snapshot()
    val fresh = now.filter { case (f, text) => !seen.get(f).contains(text) }
    val gone = seen.keys.toSeq.filterNot(f => now.exists(_._1 == f))
    fresh.foreach {
      case (f @ "sources/0/0", text) =>
        val body = text.dropWhile(_ == '\u0000')
        Trace.emit("initialOffsetsWritten", "file" -> s"$ckptName/$f", "offsets" -> offsetsJson(body.drop(body.indexOf('\n') + 1)))
      case (f, text) if f.startsWith("offsets/") =>
        Trace.emit("offsetLogWritten", "batchId" -> f.stripPrefix("offsets/").toLong, "file" -> s"$ckptName/$f", "text" -> text)
      case _ =>
    }
    if (gone.nonEmpty) Trace.emit("logPurged", "files" -> arr(gone.sortBy(f => (f.takeWhile(_ != '/') != "offsets", f.dropWhile(_ != '/').drop(1).toLong)).map(f => JStr(s"$ckptName/$f"))))
    fresh.foreach {
      case (f, text) if f.startsWith("commits/") =>
        Trace.emit("commitLogWritten", "batchId" -> f.stripPrefix("commits/").toLong, "file" -> s"$ckptName/$f", "text" -> text)
      case _ =>
    }
    gone.foreach(seen.remove)
    fresh.foreach { case (f, t) => seen(f) = t }
  }

  private def writeStatus(running: Boolean): Unit =
    write("status.json", obj("running" -> (running && query != null && query.isActive), "executorGroup" -> Trace.scenarioName(executorGroup)).render)

  private def write(name: String, text: String): Unit = {
    val tmp = control.resolve(name + ".tmp")
    Files.write(tmp, text.getBytes(StandardCharsets.UTF_8))
    Files.move(tmp, control.resolve(name), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING)
  }

  // ---------- Spark's log lines ----------
  private class Capture extends AbstractAppender("offsetlab-structured", null, null, true, Property.EMPTY_ARRAY) {
    override def append(e: LogEvent): Unit = {
      val msg = e.getMessage.getFormattedMessage
      if (e.getLoggerName.endsWith("MicroBatchExecution")) {
        if (msg.startsWith("Resuming at batch") || msg.startsWith("Starting new streaming query")) startLine = Some(msg)
      } else if (e.getLevel == Level.WARN && (e.getLoggerName.endsWith("KafkaMicroBatchStream") || e.getLoggerName.endsWith("KafkaDataConsumer"))) {
        // reportDataLoss with failOnDataLoss=false, and the executors' skip of records that are gone
        Trace.emit("dataLossWarning", "message" -> msg)
      }
    }
  }

  private def installLogCapture(): Unit = {
    val ctx = LogManager.getContext(false).asInstanceOf[LoggerContext]
    val cfg = ctx.getConfiguration
    val app = new Capture
    app.start()
    cfg.addAppender(app)
    def add(name: String, level: Level): Unit = {
      val lc = new LoggerConfig(name, level, false)
      lc.addAppender(app, level, null)
      cfg.addLogger(name, lc)
    }
    add("org.apache.spark.sql.execution.streaming.MicroBatchExecution", Level.INFO)
    add("org.apache.spark.sql.kafka010.KafkaMicroBatchStream", Level.WARN)
    add("org.apache.spark.sql.kafka010.consumer.KafkaDataConsumer", Level.WARN)
    // not KafkaOffsetReaderAdmin: its "Found incorrect offsets … Retrying" lines are fetchLatestOffsets' retries, not
    // data loss (the engine takes the first answer; docs/structured-streaming.md)
    ctx.updateLoggers()
  }
}
