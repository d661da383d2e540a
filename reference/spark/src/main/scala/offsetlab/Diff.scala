// The trace diff: real Spark's trace (a Driver run) against the engine's trace of the same scenario.
// Batch times become grid indices, wall-clock noise is dropped, events are compared kind by kind.
package offsetlab

import java.nio.charset.StandardCharsets
import java.nio.file.{Files, Path, Paths}

import scala.jdk.CollectionConverters._

import org.apache.spark.streaming.offsetlab.Json
import org.apache.spark.streaming.offsetlab.Json._

object Diff {
  /** Events compared as ordered sequences; the rest (job-level, per batch) as multisets. */
  val Ordered = Seq("contextStarted", "checkpointRead", "batchGenerated", "commitSent", "commitCompleted", "batchCompleted",
    "checkpointWritten", "stateCheckpointed", "error", "contextStopped",
    // Structured Streaming (docs/trace.md)
    "queryStarted", "initialOffsetsWritten", "offsetLogWritten", "logPurged", "dataLossWarning", "batchRun", "commitLogWritten",
    "queryTerminated")
  val Unordered = Seq("jobStarted", "jobFinished", "output")
  val TimeFields = Set("batch", "zeroTime", "firstBatch", "checkpointTime", "time")
  val TimeLists = Set("rescheduled", "pendingTimes")
  val Durations = Set("batchDuration", "checkpointDuration", "rememberDuration")
  /** Fields that differ by construction (names of this machine, ids) and are never compared. */
  val Ignored = Set("t", "event", "cause", "kafkaParams", "master", "framework", "sparkConf", "files")

  final case class Known(scenario: String, kind: String, side: String, contains: String, line: String)

  def main(args: Array[String]): Unit = {
    val m = args.grouped(2).collect { case Array(k, v) => k.stripPrefix("--") -> v }.toMap
    val run = Paths.get(m("run"))
    val scenario = Paths.get(m("scenario"))
    val name = scenario.getFileName.toString.stripSuffix(".toml")
    val runInfo = parseObj(new String(Files.readAllBytes(run.resolve("run.json")), StandardCharsets.UTF_8))
    val sparkBatch = num(runInfo, "batchMs")
    val end = if (Files.exists(run.resolve("end.json"))) num(parseObj(new String(Files.readAllBytes(run.resolve("end.json")))), "end") else Long.MaxValue
    val toml = org.tomlj.Toml.parse(scenario)
    val engineBatch = if (isStructured(scenario)) sparkBatch else durMs(toml.getTable("job").getString("batch_interval"))
    val spark0 = lines(run.resolve("trace.jsonl")).filter(e => e.get("t").forall { case JNum(t) => t <= end; case _ => true })
      .filterNot(e => e.get("event").exists(k => k == JStr("restoredStream") || k == JStr("commitQueued") || k == JStr("timerStopped")))
    val spark = if (isStructured(scenario)) spark0.map(structuredNormalise(_, num(runInfo, "t0"))) else spark0
    val engine0 = lines(Paths.get(m("engine")))
    // Structured Streaming: the query id and the group's UUID are random, offsets files carry the trigger clock
    val structured = Option(toml.getTable("job")).flatMap(j => Option(j.getString("api"))).contains("structured")
    val dayNoon = java.time.LocalDate.parse(Option(toml.getString("day")).getOrElse("2026-01-01")).atTime(12, 0)
      .toInstant(java.time.ZoneOffset.UTC).toEpochMilli
    val engine = if (structured) engine0.map(structuredNormalise(_, dayNoon)) else engine0
    val known = m.get("known").map(Paths.get(_)).filter(Files.exists(_)).toSeq.flatMap(p => Files.readAllLines(p).asScala)
      .map(_.trim).filter(l => l.nonEmpty && !l.startsWith("#")).map { l =>
        val body = l.takeWhile(_ != '#').trim
        val parts = body.split("\\s+", 4)
        Known(parts(0), parts(1), parts(2), if (parts.length > 3) parts(3) else "", l)
      }

    val sN = normalise(spark, sparkBatch)
    val eN = normalise(engine, engineBatch)
    var unknown = 0
    var knownCount = 0
    def report(kind: String, side: String, text: String): Unit = {
      val k = known.find(k => (k.scenario == "*" || k.scenario == name) && (k.kind == "*" || k.kind == kind) &&
        (k.side == "both" || k.side == side) && text.contains(k.contains))
      k match {
        case Some(_) => knownCount += 1; println(s"  known    $kind only in $side: $text")
        case None => unknown += 1; println(s"  DIFF     $kind only in $side: $text")
      }
    }
    println(s"diff $name: Spark ${spark.size} events (batch $sparkBatch ms), engine ${engine.size} events (batch $engineBatch ms)")
    for (kind <- Ordered ++ Unordered) {
      val a = sN.filter(_._1 == kind).map(_._2)
      val b = eN.filter(_._1 == kind).map(_._2)
      // compare only the fields both sides write for this kind, at every level of nesting
      def paths(o: JObj, pre: String): Set[String] = o.fields.flatMap { case (k, v) =>
        val p = pre + "/" + k
        v match { case c: JObj => paths(c, p) + p; case _ => Set(p) }
      }.toSet
      val common = (a.flatMap(paths(_, "")).toSet intersect b.flatMap(paths(_, "")).toSet)
      // a field one event leaves out counts as null (Spark's fresh contextStarted has no checkpointFile)
      def keep(o: JObj, pre: String): JObj = {
        val present = o.fields.collect {
          case (k, v) if common(pre + "/" + k) && !Ignored(k) => k -> (v match { case c: JObj => keep(c, pre + "/" + k); case x => x })
        }
        val absent = common.filter(p => p.startsWith(pre + "/") && !p.drop(pre.length + 1).contains('/'))
          .map(_.drop(pre.length + 1)).filterNot(k => Ignored(k) || present.exists(_._1 == k)).map(_ -> (JNull: Json))
        JObj((present ++ absent).sortBy(_._1))
      }
      def key(o: JObj) = keep(o, "").render
      val (ka, kb) = (a.map(key), b.map(key))
      if (Ordered.contains(kind)) {
        val (onlyA, onlyB) = lcsDiff(ka, kb)
        onlyA.foreach(report(kind, "spark", _)); onlyB.foreach(report(kind, "engine", _))
      } else {
        val (ma, mb) = (multiset(ka), multiset(kb))
        (ma.keySet ++ mb.keySet).toSeq.sorted.foreach { k =>
          val d = ma.getOrElse(k, 0) - mb.getOrElse(k, 0)
          if (d > 0) (1 to d).foreach(_ => report(kind, "spark", k))
          if (d < 0) (1 to -d).foreach(_ => report(kind, "engine", k))
        }
      }
    }
    // expectations that failed on real Spark are differences too (the scenario was written from the spec)
    val ex = run.resolve("expect.jsonl")
    if (Files.exists(ex)) lines(ex).filter(_.get("ok").contains(JBool(false))).foreach(e => report("expect", "spark", e.render))
    println(s"diff $name: $unknown unexplained difference(s), $knownCount known")
    sys.exit(if (unknown == 0) 0 else 1)
  }

  private def isStructured(scenario: Path): Boolean =
    Option(org.tomlj.Toml.parse(scenario).getTable("job")).flatMap(j => Option(j.getString("api"))).contains("structured")

  private val GroupUuid = """-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}--?\d+""".r
  private val BatchTimestamp = """"batchTimestampMs":(\d+)""".r

  /** A Structured Streaming event with what differs by construction taken out: the query id and record timestamps
   *  (not compared), the generated group's UUID and checkpoint-path hash (`<uuid>-<hash>`), and the offset log's
   *  `batchTimestampMs` as milliseconds since the scenario's 12:00:00 (`zero` on that side's clock). */
  def structuredNormalise(e: JObj, zero: Long): JObj = {
    def walk(v: Json): Json = v match {
      case JStr(x) => JStr(BatchTimestamp.replaceAllIn(GroupUuid.replaceAllIn(x, "-<uuid>-<hash>"),
        m => s""""batchTimestampMs":"+${m.group(1).toLong - zero}""""))
      case JObj(fs) => JObj(fs.filterNot { case (k, _) => k == "id" || k == "timestamp" }.map { case (k, x) => k -> walk(x) })
      case JArr(xs) => JArr(xs.map(walk))
      case o => o
    }
    JObj(e.fields.filterNot(_._1 == "id").map { case (k, x) => k -> (if (k == "t" || k == "event") x else walk(x)) })
  }

  private def multiset(xs: Seq[String]): Map[String, Int] = xs.groupBy(identity).map { case (k, v) => k -> v.size }

  /** Longest-common-subsequence diff: what is only on each side, in order. */
  def lcsDiff(a: Seq[String], b: Seq[String]): (Seq[String], Seq[String]) = {
    val n = a.size; val m = b.size
    val dp = Array.ofDim[Int](n + 1, m + 1)
    for (i <- n - 1 to 0 by -1; j <- m - 1 to 0 by -1)
      dp(i)(j) = if (a(i) == b(j)) dp(i + 1)(j + 1) + 1 else math.max(dp(i + 1)(j), dp(i)(j + 1))
    val oa = Seq.newBuilder[String]; val ob = Seq.newBuilder[String]
    var i = 0; var j = 0
    while (i < n || j < m) {
      if (i < n && j < m && a(i) == b(j)) { i += 1; j += 1 }
      else if (j >= m || (i < n && dp(i + 1)(j) >= dp(i)(j + 1))) { oa += a(i); i += 1 }
      else { ob += b(j); j += 1 }
    }
    (oa.result(), ob.result())
  }

  def durMs(s: String): Long = {
    val t = s.trim
    (if (t.endsWith("ms")) t.dropRight(2).toDouble else if (t.endsWith("s")) t.dropRight(1).toDouble * 1000 else t.toDouble).toLong
  }

  private def num(o: JObj, k: String): Long = o.get(k).collect { case JNum(x) => x }.getOrElse(sys.error(s"missing $k"))
  private def parseObj(s: String): JObj = Json.parse(s) match { case o: JObj => o; case _ => sys.error("not an object") }
  private def lines(p: Path): Seq[JObj] =
    Files.readAllLines(p).asScala.toSeq.filter(_.trim.nonEmpty).map(Json.parse).collect { case o: JObj => o }

  private def aborted(o: JObj): Boolean = o.get("class").contains(JStr("org.apache.spark.SparkException")) &&
    o.get("message").exists { case JStr(m) => m.startsWith("Job aborted due to stage failure"); case _ => false } &&
    o.get("cause").exists(_.isInstanceOf[JObj])

  /** (kind, event with times as grid indices "b<i>", durations as "x<n>" batches, file names by index). */
  def normalise(events: Seq[JObj], batchMs: Long): Seq[(String, JObj)] = {
    val zero = events.collectFirst { case e if e.get("event").contains(JStr("contextStarted")) => e.get("zeroTime") }.flatten
      .collect { case JNum(z) => z }.getOrElse(0L)
    def idx(t: Long): Json = { val d = t - zero; JStr(if (d % batchMs == 0) s"b${d / batchMs}" else s"b${d.toDouble / batchMs}") }
    val CkptName = """checkpoint-(\d+)(.*)""".r
    def file(s: String): String = s match { case CkptName(t, rest) => s"checkpoint-${idx(t.toLong).asInstanceOf[JStr].v}$rest"; case o => o }
    def walk(k: String, v: Json): Json = (k, v) match {
      case (f, JNum(t)) if TimeFields(f) => idx(t)
      case (f, JNum(d)) if Durations(f) => JStr(s"x${d.toDouble / batchMs}")
      case (f, JArr(xs)) if TimeLists(f) => JArr(xs.map { case JNum(t) => idx(t); case o => o })
      case ("file" | "checkpointFile", JStr(s)) => JStr(if (s.contains("/rdd-")) "rdd" else file(s))
      // the body of a print() block; its frame (dashes, "Time: <t> ms", the closing blank line) follows from the batch
      case ("lines", JArr(xs)) => JArr(xs.filterNot {
        case JStr(l) => l.isEmpty || l == "-------------------------------------------" || l.matches("Time: \\d+ ms")
        case _ => false
      }.map(_.render).sorted.map(JStr(_)))
      // Spark queues a batch's ranges in hash-map order; commitAll takes the per-partition maximum
      case ("commitQueue", JArr(xs)) => JArr(xs.map(walk("", _)).sortBy(_.render))
      // a failed task reaches the driver as SparkException "Job aborted due to stage failure: …"; the engine, like
      // the harness's `error` expectations, names what failed: the root cause
      case (_, o @ JObj(fs)) if aborted(o) =>
        val c = o.get("cause").collect { case c: JObj => c }.get
        walk(k, JObj(fs.filterNot(f => f._1 == "class" || f._1 == "message") ++ Seq("class" -> c.get("class").get, "message" -> c.get("message").get)))
      case (_, JObj(fs)) => JObj(fs.filterNot(f => Ignored(f._1)).map { case (kk, vv) => kk -> walk(kk, vv) })
      case (_, JArr(xs)) => JArr(xs.map(walk("", _)))
      case (_, o) => o
    }
    events.map { e =>
      val kind = e.get("event").collect { case JStr(s) => s }.getOrElse("?")
      kind -> walk("", JObj(e.fields.filterNot(f => f._1 == "t" || f._1 == "event"))).asInstanceOf[JObj]
    }
  }
}
