// The scenario driver: runs a docs/scenarios.md file against real Kafka and real Spark (one JVM per `start`).
package offsetlab

import java.io.File
import java.nio.charset.StandardCharsets
import java.nio.file.{Files, Path, Paths}
import java.time.LocalTime
import java.util.Properties
import java.util.concurrent.TimeUnit

import scala.collection.mutable
import scala.jdk.CollectionConverters._

import org.apache.kafka.clients.admin.{Admin, AdminClientConfig, OffsetSpec}
import org.apache.kafka.clients.producer.{KafkaProducer, ProducerConfig, ProducerRecord}
import org.apache.kafka.common.TopicPartition
import org.apache.kafka.common.serialization.StringSerializer
import org.tomlj.{Toml, TomlArray, TomlTable}

import org.apache.spark.streaming.offsetlab.Json
import org.apache.spark.streaming.offsetlab.Json._

object Driver {
  final case class Opts(scenario: Path, out: Path, bootstrap: String, kafkaCp: String, kafkaLog4j: String,
                        jobCp: String, variantSrc: Path, scale: Double, codec: String, warmupMs: Long,
                        fast: Boolean = false)

  def main(args: Array[String]): Unit = {
    val m = args.grouped(2).collect { case Array(k, v) => k.stripPrefix("--") -> v }.toMap
    def req(k: String) = m.getOrElse(k, { System.err.println(s"driver: missing --$k"); sys.exit(64) })
    val o = Opts(Paths.get(req("scenario")), Paths.get(req("out")), m.getOrElse("bootstrap", "127.0.0.1:9092"),
      req("kafka-classpath"), req("kafka-log4j"), req("job-classpath"), Paths.get(req("variant-src")),
      m.getOrElse("scale", "1").toDouble, m.getOrElse("codec", "lz4"), m.getOrElse("warmup-ms", "25000").toLong,
      m.get("pace").contains("fast"))
    // exit 1: an expectation failed on real Spark; exit 2: the run itself could not be made (setup, broker, …)
    // `[job] api = "structured"`: a Structured Streaming query (StructuredDriver.scala)
    val structured = Option(Toml.parse(o.scenario).getTable("job")).flatMap(j => Option(j.getString("api"))).contains("structured")
    val ok = try { if (structured) new StructuredRun(o).run() else new Run(o).run() } catch { case e: Throwable => System.err.println(s"driver: $e"); e.printStackTrace(); sys.exit(2) }
    sys.exit(if (ok) 0 else 1)
  }

  /** Spark's own (Java 17) module flags, as spark-submit adds them. */
  val JvmOpens: Seq[String] = Seq("java.lang", "java.lang.invoke", "java.lang.reflect", "java.io", "java.net", "java.nio",
    "java.util", "java.util.concurrent", "java.util.concurrent.atomic", "sun.nio.ch", "sun.nio.cs", "sun.security.action",
    "sun.util.calendar").map(p => s"--add-opens=java.base/$p=ALL-UNNAMED") ++
    Seq("-XX:+IgnoreUnrecognizedVMOptions", "-Djdk.reflect.useDirectMethodHandle=false")
}

final class Run(o: Driver.Opts) {
  private val toml = Toml.parse(o.scenario)
  if (toml.hasErrors) throw new IllegalArgumentException(toml.errors.asScala.map(e => s"${o.scenario}:${e.position}: ${e.getMessage}").mkString("\n"))
  private val name = Option(toml.getString("name")).getOrElse(o.scenario.getFileName.toString.stripSuffix(".toml"))
  private val job = Option(toml.getTable("job")).getOrElse(throw new IllegalArgumentException("scenario has no [job]"))
  /** Runs are isolated on the shared broker with suffixed topic and group names (`RunNames`: each keeps its
   *  name's hash, so collection orders are the unsuffixed names'); the trace maps them back. */
  private val runNames = RunNames.forThisRun()
  private val suffix = runNames.base
  private val storage = o.out.resolve("storage")
  private val control = o.out.resolve("control")
  private val traceFile = o.out.resolve("trace.jsonl")
  private val expectFile = o.out.resolve("expect.jsonl")
  private val log = o.out.resolve("driver.log")

  private def real(topicOrGroup: String) = runNames.real(topicOrGroup)
  private def durMs(s: String): Long = {
    val t = s.trim
    val ms = if (t.endsWith("ms")) t.dropRight(2).toDouble else if (t.endsWith("s")) t.dropRight(1).toDouble * 1000
      else if (t.endsWith("m")) t.dropRight(1).toDouble * 60000 else t.toDouble
    ms.toLong
  }
  private val batchMs = (durMs(job.getString("batch_interval")) / o.scale).toLong
  private val clockZero = LocalTime.parse("12:00:00").toNanoOfDay / 1000000
  private def stepOffset(at: String): Long = ((LocalTime.parse(at).toNanoOfDay / 1000000 - clockZero) / o.scale).toLong

  private val admin = Admin.create(props(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG -> o.bootstrap))
  private val producer = new KafkaProducer[String, String](props(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG -> o.bootstrap,
    ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG -> classOf[StringSerializer].getName,
    ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG -> classOf[StringSerializer].getName, ProducerConfig.LINGER_MS_CONFIG -> "0"))
  private def props(kv: (String, String)*): Properties = { val p = new Properties; kv.foreach { case (k, v) => p.put(k, v) }; p }

  private var proc: Option[Process] = None
  private var launched = false
  private var lastExit = 0
  private var starts = 0
  private var t0 = 0L
  private var variantDir: Option[Path] = None
  private var toolOutput: Seq[String] = Nil
  private var lastExpectAt = 0L
  private var failures = 0
  private val topicsSeen = mutable.LinkedHashSet[String]()
  private val groupsSeen = mutable.LinkedHashSet[String]()

  private def say(s: String): Unit = {
    val line = f"${System.currentTimeMillis()}%d $s"
    System.err.println(s"[$name] $s")
    Files.write(log, (line + "\n").getBytes(StandardCharsets.UTF_8), java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND)
  }

  def run(): Boolean = try run0() catch {
    case e: UnsupportedOperationException =>
      say(s"UNSUPPORTED: ${e.getMessage}")
      Files.write(expectFile, (obj("at" -> "-", "key" -> "harness", "ok" -> false, "expected" -> "a scenario the harness can run",
        "actual" -> e.getMessage).render + "\n").getBytes(StandardCharsets.UTF_8),
        java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND)
      Files.write(o.out.resolve("run.json"), obj("scenario" -> name, "t0" -> 0L, "batchMs" -> batchMs, "unsupported" -> e.getMessage)
        .render.getBytes(StandardCharsets.UTF_8))
      Files.write(traceFile, Array[Byte]())
      cleanup()
      false
  }

  private def run0(): Boolean = {
    deleteRecursively(o.out.toFile)
    Files.createDirectories(storage); Files.createDirectories(control)
    val steps = Option(toml.getArray("step")).map(a => (0 until a.size).map(a.getTable)).getOrElse(Nil)
    groupsSeen += job.getString("group")
    // topics that exist before the first step
    Option(toml.getArray("topic")).foreach(a => (0 until a.size).map(a.getTable).foreach { t =>
      createTopic(t.getString("name"), t.getLong("partitions").toInt)
      // the broker is shared: if it is not there, nothing after this means anything
      if (lastExit != 0) throw new IllegalStateException(s"setup: kafka-topics --create ${t.getString("name")} failed (exit $lastExit); is Kafka up?")
    })
    var endAt = 0L
    try {
      steps.zipWithIndex.foreach { case (s, i) =>
        if (i == 0) {
          // a first `start` launches its JVM before the clock is fixed: machines here are slow and shared
          if (s.getString("do") == "start") launch(s)
          // 12:00:00 ↦ a batch-grid boundary just far enough ahead
          val first = stepOffset(s.getString("at"))
          t0 = ((System.currentTimeMillis() + 1000 - first) / batchMs + 1) * batchMs
          setClock(t0)
          say(s"scenario $name: 12:00:00 = $t0 (batch ${batchMs} ms, scale ${o.scale}), names suffixed '$suffix'")
          Files.write(o.out.resolve("run.json"), obj("scenario" -> name, "t0" -> t0, "batchMs" -> batchMs,
            "scaleMilli" -> JNum((o.scale * 1000).toLong), "suffix" -> suffix).render.getBytes(StandardCharsets.UTF_8))
        }
        val at = t0 + stepOffset(s.getString("at"))
        val kind = s.getString("do")
        if (kind == "start") start(s, at) else {
          advanceTo(at)
          step(kind, s)
        }
        val lag = System.currentTimeMillis() - at
        if (lag > batchMs) say(s"step ${i + 1} ($kind) at ${s.getString("at")} ran $lag ms after its wall-clock instant (Spark was busy)")
        endAt = at
      }
    } catch {
      case e: Throwable => say(s"ERROR: driver failed: $e"); e.printStackTrace(); failures += 1
    } finally {
      // the run ends at the last step: whatever still runs is cut off (the diff drops events after `end`)
      Files.write(o.out.resolve("end.json"), obj("end" -> System.currentTimeMillis()).render.getBytes(StandardCharsets.UTF_8))
      proc.foreach { p => p.destroyForcibly(); p.waitFor(30, TimeUnit.SECONDS) }
      cleanup()
    }
    say(s"done: $failures failed expectation(s)")
    failures == 0
  }

  // ---------- the scenario clock ----------
  /** Spark's batch clock (ScenarioClock reads this file); the driver is its only writer. */
  private val clockFile = control.resolve("clock")
  private var clockNow = 0L
  private def setClock(t: Long): Unit = {
    val tmp = control.resolve("clock.tmp")
    Files.write(tmp, t.toString.getBytes(StandardCharsets.UTF_8))
    Files.move(tmp, clockFile, java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING)
    clockNow = t
    clockLog(s"set $t")
  }
  /** `<virtual ms> <event> <wall ms>` per line, for the benchmark (offsetlab.Bench). */
  private def clockLog(what: String): Unit =
    Files.write(control.resolve("clock.log"), s"$what ${System.currentTimeMillis()}\n".getBytes(StandardCharsets.UTF_8),
      java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND)

  /** Moves the scenario clock to `at`, through every batch-grid instant on the way. The clock never runs ahead of
   *  the wall clock (Kafka's session timeouts and metadata ages run on that), and never moves past an instant
   *  before Spark has finished everything due at it ([[quiesce]]): the engine does all of that in zero time, so a
   *  slow machine makes a run longer, never different. */
  private def advanceTo(at: Long): Unit = {
    quiesce()
    while (clockNow < at) {
      val next = math.min(at, (clockNow / batchMs + 1) * batchMs)
      // --pace fast (the benchmark): as fast as Spark gets through the batches, not at the wall clock's pace
      if (!o.fast) sleepUntil(next)
      setClock(next)
      quiesce()
      clockLog(s"quiet $next")
    }
  }

  private def sleepUntil(at: Long): Unit = { val d = at - System.currentTimeMillis(); if (d > 0) Thread.sleep(d) }

  // ---------- steps ----------
  private def step(kind: String, s: TomlTable): Unit = kind match {
    case "stop" =>
      val graceful = Option(s.getBoolean("graceful")).forall(_.booleanValue)
      proc match {
        case Some(p) =>
          Files.write(control.resolve("stop"), graceful.toString.getBytes)
          stopRequested = Some(graceful)
          say(s"stop (graceful=$graceful) requested")
          // a graceful stop runs the batches its timer still fires: the clock must go on (advanceTo, quiesce);
          // a non-graceful one is over when the JVM is
          quiesce()
        case None => say("stop: no job running")
      }
    case "kill" =>
      quiesce()
      proc.foreach { p =>
        p.destroyForcibly(); p.waitFor(30, TimeUnit.SECONDS)
        appendTrace(obj("t" -> System.currentTimeMillis(), "event" -> "contextStopped", "graceful" -> false, "killed" -> true))
        say("killed")
      }
      proc = None
    case "produce" =>
      val topic = real(s.getString("topic"))
      val n = Option(s.getLong("partition")) match {
        case Some(p) =>
          // one producer, sent in order and then awaited: the partition's order is the list's (idempotent producer)
          strings(s.getArray("values")).map(v => producer.send(new ProducerRecord[String, String](topic, p.toInt, null, v))).foreach(_.get())
          s.getArray("values").size
        case None =>
          strings(s.getArray("lines")).map { l =>
            val i = l.indexOf(":::")
            val (k, v) = if (i >= 0) (l.take(i), l.drop(i + 3)) else (null, l)
            producer.send(new ProducerRecord[String, String](topic, k, v))
          }.foreach(_.get())
          s.getArray("lines").size
      }
      say(s"produced $n record(s) to $topic")
    case "create_topic" => createTopic(s.getString("topic"), s.getLong("partitions").toInt)
    case "delete_topic" =>
      tool("org.apache.kafka.tools.TopicCommand", Seq("--bootstrap-server", o.bootstrap, "--delete", "--topic", real(s.getString("topic"))))
    case "delete_records" =>
      val f = o.out.resolve("delete-records.json")
      Files.write(f, s"""{"partitions":[{"topic":"${real(s.getString("topic"))}","partition":${s.getLong("partition")},"offset":${s.getLong("before")}}],"version":1}""".getBytes)
      tool("org.apache.kafka.tools.DeleteRecordsCommand", Seq("--bootstrap-server", o.bootstrap, "--offset-json-file", f.toString))
    case "reset_offsets" =>
      // the scenario may name the bootstrap server itself (the seed's command line); it is this broker either way
      val given = s.getString("args").trim.split("\\s+").toSeq
      val i = given.indexOf("--bootstrap-server")
      val rest = if (i >= 0) given.patch(i, Nil, 2) else given
      val args = renameArgs(rest.filterNot(_ == "--reset-offsets"))
      toolOutput = tool("org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
        Seq("--bootstrap-server", o.bootstrap, "--reset-offsets") ++ args).map(unrenameTable)
    case "delete_checkpoint" =>
      deleteRecursively(storage.resolve(job.getString("checkpoint_dir")).toFile); say("checkpoint directory deleted")
    case "change_code" => variantDir = Some(compileVariant()); say(s"code changed: ${variantDir.get} goes first on the classpath")
    case "add_partitions" =>
      tool("org.apache.kafka.tools.TopicCommand", Seq("--bootstrap-server", o.bootstrap, "--alter", "--topic", real(s.getString("topic")),
        "--partitions", s.getLong("partitions").toString))
    case "join_group" => joinGroup(Option(s.getString("group")).getOrElse(job.getString("group")),
      Option(s.getArray("topics")).map(strings).getOrElse(strings(job.getArray("topics"))))
    case "leave_group" => leaveGroup(Option(s.getString("group")).getOrElse(job.getString("group")))
    case "expect" => expect(s)
    case other => throw new UnsupportedOperationException(s"step do = $other")
  }

  /** Another consumer subscribes with the same group.id and keeps polling (as a second application would). */
  private def joinGroup(group: String, topics: Seq[String]): Unit = {
    groupsSeen += group
    val c = new org.apache.kafka.clients.consumer.KafkaConsumer[String, String](props(
      // client.id as kafka-console-consumer's: the range assignor orders members by member id (= client.id-UUID),
      // so who keeps which partitions depends on it (docs/known-differences.md, revoked)
      "client.id" -> "console-consumer",
      "bootstrap.servers" -> o.bootstrap, "group.id" -> real(group), "enable.auto.commit" -> "false",
      "key.deserializer" -> "org.apache.kafka.common.serialization.StringDeserializer",
      "value.deserializer" -> "org.apache.kafka.common.serialization.StringDeserializer"))
    c.subscribe(topics.map(real).asJava)
    val stop = new java.util.concurrent.atomic.AtomicBoolean(false)
    val t = new Thread(() => try { while (!stop.get) c.poll(java.time.Duration.ofMillis(200)) } catch { case _: Throwable => } finally c.close())
    t.setDaemon(true); t.start()
    joined += Joined(group, c, stop, t)
    say(s"a second consumer joined group ${real(group)}")
  }
  private case class Joined(group: String, consumer: org.apache.kafka.clients.consumer.KafkaConsumer[String, String],
    stop: java.util.concurrent.atomic.AtomicBoolean, thread: Thread)
  private val joined = mutable.ArrayBuffer[Joined]()

  /** The console consumer of `group` stops as Ctrl-C stops kafka-console-consumer: wakeup() ends its poll and
   *  close() sends LeaveGroup (an interrupt instead could end close() before the LeaveGroup is sent). */
  private def leaveGroup(group: String): Unit = joined.indexWhere(_.group == group) match {
    case -1 => say(s"no console consumer of group ${real(group)} to stop")
    case i =>
      val j = joined.remove(i)
      j.stop.set(true); j.consumer.wakeup(); j.thread.join(30000)
      say(s"the second consumer left group ${real(group)}")
  }

  /** A scenario clock time `HH:MM:SS[.mmm]` on this run's real clock. */
  private def clock(at: String): Long = t0 + stepOffset(at)
  private val Placeholder = """<(\d\d:\d\d:\d\d(?:\.\d+)?)>""".r
  private def placeholders(s: String): String = Placeholder.replaceAllIn(s, m => clock(m.group(1)).toString)

  private def strings(a: TomlArray): Seq[String] = if (a == null) Nil else (0 until a.size).map(a.getString)

  private def renameArgs(args: Seq[String]): Seq[String] = {
    val out = mutable.ArrayBuffer[String]()
    var i = 0
    while (i < args.length) {
      val a = args(i)
      if ((a == "--group" || a == "--topic") && i + 1 < args.length) {
        val v = args(i + 1)
        val mapped = if (a == "--group") real(v) else { val c = v.indexOf(':'); if (c >= 0) real(v.take(c)) + v.drop(c) else real(v) }
        if (a == "--group") groupsSeen += v
        out += a += mapped; i += 2
      } else { out += a; i += 1 }
    }
    out.toSeq
  }
  /** Kafka's tables pad columns for the real (suffixed) names: keep the column width when mapping back. */
  private def unrenameTable(s: String): String = (topicsSeen ++ groupsSeen).toSeq.sortBy(-_.length).foldLeft(s) { (acc, n) =>
    val r = real(n)
    acc.replace(r + " ", n + " " * (r.length - n.length + 1)).replace(r, n)
  }
  private def unrename(s: String): String = (topicsSeen ++ groupsSeen).toSeq.sortBy(-_.length).foldLeft(s)((acc, n) => acc.replace(real(n), n))

  private def createTopic(topic: String, partitions: Int, at: Long = 0L): Unit = {
    topicsSeen += topic
    tool("org.apache.kafka.tools.TopicCommand", Seq("--bootstrap-server", o.bootstrap, "--create", "--topic", real(topic),
      "--partitions", partitions.toString, "--replication-factor", "1"), at)
  }

  /** Runs one of Kafka's own tools (the real CLI classes, from Kafka's jars); returns its output lines. The JVM is
   *  started before `at` through `ToolLauncher`, so the tool itself runs at the step's instant. */
  private def tool(main: String, args: Seq[String], at: Long = 0L): Seq[String] = {
    val launcher = classOf[ToolLauncher].getProtectionDomain.getCodeSource.getLocation.getPath
    val cmd = Seq("java", "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", s"-Dlog4j2.configurationFile=${o.kafkaLog4j}",
      "-cp", o.kafkaCp + File.pathSeparator + launcher, "offsetlab.ToolLauncher", main) ++ args
    val pb = new ProcessBuilder(cmd.asJava).redirectErrorStream(true)
    val p = pb.start()
    Thread.sleep(math.max(0L, math.min(1500L, at - System.currentTimeMillis()))) // class loading while we wait
    sleepUntil(at)
    p.getOutputStream.write("go\n".getBytes); p.getOutputStream.flush()
    val outText = new String(p.getInputStream.readAllBytes(), StandardCharsets.UTF_8)
    p.waitFor()
    lastExit = p.exitValue
    val lines = outText.linesIterator.toSeq.reverse.dropWhile(_.trim.isEmpty).reverse
    say(s"tool ${main.split('.').last} ${args.mkString(" ")} -> exit ${p.exitValue}\n  " + lines.mkString("\n  "))
    lines
  }

  // ---------- starting the job JVM ----------
  /** `start` at `at`: launch (unless already launched), wait until the JVM is ready, release ssc.start() at `at`. */
  private def start(s: TomlTable, at: Long): Unit = {
    if (!launched) {
      // launch ahead of `at` so SparkContext creation (getOrCreate) is done when ssc.start() is due
      advanceTo(math.max(clockNow, at - o.warmupMs))
      launch(s)
    }
    launched = false
    advanceTo(at)
    val late = System.currentTimeMillis() - at
    if (late > 0) say(s"job JVM was ready $late ms after the start time: the scenario clock waited for it")
    val tmp = control.resolve("go.tmp")
    Files.write(tmp, at.toString.getBytes)
    Files.move(tmp, control.resolve("go"), java.nio.file.StandardCopyOption.ATOMIC_MOVE)
    starts += 1
    say(s"start: ssc.start() released for $at")
    quiesce()
  }

  private def launch(s: TomlTable): Unit = {
    val overrides = Option(s.getTable("job"))
    def jget(k: String): Option[Any] = overrides.flatMap(t => Option(t.get(java.util.List.of(k)))).orElse(Option(job.get(java.util.List.of(k))))
    def js(k: String, d: String): String = jget(k).map {
      case a: TomlArray => (0 until a.size).map(i => String.valueOf(a.get(i))).mkString(",")
      case v => String.valueOf(v)
    }.getOrElse(d)
    val topics = js("topics", "").split(",").filter(_.nonEmpty)
    val group = js("group", "g")
    topics.foreach(topicsSeen += _); groupsSeen += group
    val assign = js("assign", "").split(",").filter(_.nonEmpty).map { tp => val i = tp.lastIndexOf('-'); real(tp.take(i)) + tp.drop(i) }
    // the job gets an absolute checkpoint directory; messages name it as the scenario does
    val ckptName = js("checkpoint_dir", "ckpt")
    // and the engine's broker is 127.0.0.1:9092 (Kafka names its leader in OffsetOutOfRangeException's text)
    val renames = (topicsSeen ++ groupsSeen).toSeq.map(n => s"${real(n)}=$n") ++ (if (ckptName.isEmpty) Nil else Seq(s"${storage.resolve(ckptName)}=$ckptName")) ++
      (if (o.bootstrap != "127.0.0.1:9092") Seq(s"${o.bootstrap}=127.0.0.1:9092") else Nil)
    val cfg = Seq(
      "appName" -> js("app_name", "words"),
      "checkpointDir" -> (if (ckptName.isEmpty) "" else storage.resolve(ckptName).toString),
      "batchMs" -> ((durMs(js("batch_interval", "5s")) / o.scale).toLong).toString,
      "strategy" -> js("strategy", "Subscribe"),
      "topics" -> topics.map(real).mkString(","),
      "assign" -> assign.mkString(","),
      "group" -> real(group),
      "autoOffsetReset" -> js("auto_offset_reset", "latest"),
      "enableAutoCommit" -> js("enable_auto_commit", "false"),
      "maxRatePerPartition" -> js("max_rate_per_partition", "0"),
      "minRatePerPartition" -> js("min_rate_per_partition", "1"),
      "startingOffsets" -> (overrides.flatMap(t => Option(t.getTable("starting_offsets"))).orElse(Option(job.getTable("starting_offsets")))
        .toSeq.flatMap(t => t.keySet.asScala.toSeq.sorted.map { k => val i = k.lastIndexOf('-'); s"${real(k.take(i))}${k.drop(i)}=${t.get(java.util.List.of(k))}" })
        .mkString(",")),
      "codec" -> o.codec,
      "bootstrap" -> o.bootstrap,
      "trace" -> traceFile.toString,
      "control" -> control.toString,
      "rename" -> renames.mkString(",")) ++
      // the job's DStream operations, one property each (their lambdas contain commas); SeedJob's Pipeline builds them
      Seq("pipeline" -> Seq("map(r => (r.value, 1))", "updateStateByKey(sum)"), "outputs" -> Seq("print()", "foreachRDD(commitAsync)")).flatMap {
        case (k, default) =>
          val items = jget(k).map { case a: TomlArray => strings(a); case v => Seq(String.valueOf(v)) }.getOrElse(default)
          items.zipWithIndex.map { case (item, i) => s"$k.$i" -> item }
      } ++
      // more kafkaParams ([job.kafka_params]), `kafka.<name>` each
      Seq(job, overrides.orNull).filter(_ != null).flatMap(t => Option(t.getTable("kafka_params")).toSeq)
        .flatMap(t => t.keySet.asScala.toSeq.sorted.map(k => s"kafka.$k" -> String.valueOf(t.get(java.util.List.of(k)))))
    outputOps = cfg.count(_._1.startsWith("outputs."))
    checkpointing = ckptName.nonEmpty
    val n = Files.list(o.out).iterator().asScala.count(_.getFileName.toString.matches("job-\\d+\\.properties")) + 1
    val cfgFile = o.out.resolve(s"job-$n.properties")
    val p = new Properties; cfg.foreach { case (k, v) => p.setProperty(k, v) }
    val w = Files.newBufferedWriter(cfgFile); try p.store(w, s"scenario $name") finally w.close()
    Seq("stop", "ready", "go", "status.json").foreach(f => Files.deleteIfExists(control.resolve(f)))
    stopRequested = None
    if (!Files.exists(clockFile)) setClock(System.currentTimeMillis()) // the first JVM: moved to 12:00:00 before its start
    val cp = (variantDir.map(_.toString).toSeq :+ o.jobCp).mkString(File.pathSeparator)
    // Spark's batch clock is the scenario clock (ScenarioClock); the property lands in the job's SparkConf and so in
    // its checkpoints, as any spark.* setting would
    val cmd = Seq("java", "-Xmx768m", "-XX:+UseSerialGC") ++ Driver.JvmOpens ++
      Seq("-Dspark.streaming.clock=org.apache.spark.streaming.offsetlab.ScenarioClock", s"-Doffsetlab.clock=$clockFile",
        "-cp", cp, "offsetlab.SeedJob", cfgFile.toString)
    val pb = new ProcessBuilder(cmd.asJava)
      .redirectOutput(o.out.resolve(s"job-$n.stdout").toFile).redirectError(o.out.resolve(s"job-$n.stderr").toFile)
    val t = System.currentTimeMillis()
    launchedAt = t
    proc = Some(pb.start())
    launched = true
    while (!Files.exists(control.resolve("ready")) && proc.get.isAlive && System.currentTimeMillis() < t + 180000) Thread.sleep(20)
    say(s"launch: job JVM $n (pid ${proc.get.pid}) ready in ${System.currentTimeMillis() - t} ms" + (if (!proc.get.isAlive) " (it exited)" else ""))
  }

  private def compileVariant(): Path = {
    val dir = o.out.resolve("variant-classes")
    Files.createDirectories(dir)
    val javac = javax.tools.ToolProvider.getSystemJavaCompiler
    val rc = javac.run(null, null, null, "-d", dir.toString, "-cp", o.jobCp, "-nowarn", o.variantSrc.toString)
    if (rc != 0) throw new IllegalStateException(s"javac failed on ${o.variantSrc}")
    dir
  }

  private def appendTrace(j: Json): Unit =
    Files.write(traceFile, (j.render + "\n").getBytes(StandardCharsets.UTF_8), java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND)

  // ---------- expect ----------
  private def tp(s: String): TopicPartition = { val i = s.lastIndexOf('-'); new TopicPartition(real(s.take(i)), s.drop(i + 1).toInt) }
  private def tpName(t: TopicPartition) = s"${unrename(t.topic)}-${t.partition}"

  private def status(): Map[String, Json] = {
    val f = control.resolve("status.json")
    if (!Files.exists(f)) Map.empty else Json.parse(new String(Files.readAllBytes(f), StandardCharsets.UTF_8)) match {
      case o: JObj => o.fields.toMap
      case _ => Map.empty
    }
  }

  /** Only the events of the JVM started last (an earlier JVM's stop or error says nothing about this one). */
  private def currentJvmLines(): Seq[JObj] = traceLines().filter(_.get("t").exists { case JNum(t) => t >= launchedAt; case _ => false })
  private var launchedAt = 0L

  /** The complete lines of the job's trace: the job may be halfway through writing a long one (a checkpoint). */
  private def traceLines(): Seq[JObj] = if (!Files.exists(traceFile)) Nil else {
    val text = new String(Files.readAllBytes(traceFile), StandardCharsets.UTF_8)
    text.take(text.lastIndexOf('\n') + 1).split('\n').toSeq.filter(_.trim.nonEmpty).map(Json.parse).collect { case o: JObj => o }
  }

  /** `stop` requested for the current JVM (`Some(graceful)`). */
  private var stopRequested: Option[Boolean] = None
  /** A [[quiesce]] gave up since the last `expect`: that expect fails (unsettled), it is never passed. */
  private var unsettled = false
  private val quiesceMs = 240000L
  /** The current JVM's output operations (its jobs per batch), and whether it has a checkpoint directory. */
  private var outputOps = 2
  private var checkpointing = true

  /** Waits until Spark has done everything the engine would have done by the scenario clock's current instant:
   *  `ssc.start()` has returned (a recovery generates its rescheduled batches inside it), the timer has generated
   *  every grid batch up to now, every generated batch has finished all its jobs, every checkpoint of those
   *  batches is written (generation and completion), and a JVM that is stopping (non-graceful stop, an error, a
   *  graceful stop whose timer has fired for the last time) has exited. Bounded by `quiesceMs`, generously. */
  private def quiesce(): Unit = proc.filter(_.isAlive).foreach { p =>
    val began = System.currentTimeMillis()
    def num(o: JObj, k: String) = o.get(k).collect { case JNum(x) => x }
    def ev(o: JObj, k: String) = o.get("event").contains(JStr(k))
    def busy(): Option[String] = if (!Files.exists(control.resolve("go"))) None else {
      val ls = currentJvmLines()
      val errors = ls.filter(ev(_, "error"))
      val stopping = ls.exists(ev(_, "contextStopped")) || errors.nonEmpty || stopRequested.contains(false) ||
        (stopRequested.contains(true) && ls.exists(ev(_, "timerStopped")))
      if (stopping) Some("the job JVM is stopping")
      else if (!status().get("running").contains(JBool(true))) Some("ssc.start() has not returned")
      else {
        val first = ls.filter(ev(_, "contextStarted")).flatMap(num(_, "firstBatch")).lastOption.getOrElse(Long.MaxValue)
        val gen = ls.filter(ev(_, "batchGenerated")).flatMap(num(_, "batch")).toSet
        val due = Iterator.iterate(first)(_ + batchMs).takeWhile(_ <= clockNow).toSeq
        val completed = ls.filter(ev(_, "batchCompleted")).flatMap(num(_, "batch"))
        val finished = ls.filter(ev(_, "jobFinished")).groupBy(l => num(l, "batch").getOrElse(-1L))
        // a batch is over when Spark completes it, or when its last job to finish failed (then it never completes);
        // "all jobs finished" alone is not enough: onBatchCompletion comes after the last jobFinished
        def over(b: Long) = completed.contains(b) ||
          finished.get(b).exists(js => js.size >= outputOps && !js.last.get("error").forall(_ == JNull))
        val rerun = ls.filter(l => ev(l, "batchGenerated") && l.get("rerun").contains(JBool(true))).flatMap(num(_, "batch")).toSet
        val written = ls.filter(ev(_, "checkpointWritten")).flatMap(_.get("checkpoint").collect { case c: JObj => c }
          .flatMap(num(_, "checkpointTime"))).groupBy(identity).map { case (k, v) => k -> v.size }
        due.find(b => !gen(b)).map(b => s"batch $b not generated yet")
          .orElse(gen.toSeq.sorted.find(b => !over(b)).map(b => s"batch $b still running"))
          .orElse(if (!checkpointing) None else gen.toSeq.sorted.find { b =>
            // a timer batch is checkpointed when generated and when completed; a re-run batch only when completed
            written.getOrElse(b, 0) < (if (rerun(b)) 0 else 1) + completed.count(_ == b)
          }.map(b => s"batch $b's checkpoint not written yet"))
      }
    }
    var why = busy()
    while (why.isDefined && p.isAlive && System.currentTimeMillis() < began + quiesceMs) { Thread.sleep(20); why = busy() }
    if (!p.isAlive) proc = None
    val waited = System.currentTimeMillis() - began
    if (why.isDefined && p.isAlive) {
      unsettled = true
      say(s"Spark did not settle at ${clockNow - t0} ms in ${waited} ms: ${why.get}")
    } else if (waited > 2000) say(s"the scenario clock waited $waited ms at ${clockNow - t0} ms for Spark")
  }

  private def expect(s: TomlTable): Unit = {
    quiesce()
    val now = System.currentTimeMillis()
    val group = real(job.getString("group"))
    def check(key: String, expected: Json, actual: Json): Unit = {
      val ok = expected == actual && !unsettled
      if (!ok) failures += 1
      val j = obj("at" -> s.getString("at"), "key" -> key, "ok" -> ok, "expected" -> expected, "actual" -> actual,
        "settled" -> !unsettled)
      Files.write(expectFile, (j.render + "\n").getBytes(StandardCharsets.UTF_8), java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND)
      say(s"expect ${s.getString("at")} $key: ${if (ok) "ok" else s"FAILED expected ${expected.render} actual ${actual.render}${if (unsettled) " (unsettled: Spark was behind)" else ""}"}")
    }
    def tableMap(k: String): Seq[(String, TomlTable, String)] = Option(s.getTable(k)).toSeq.flatMap(t => t.keySet.asScala.toSeq.sorted.map(x => (x, t, x)))
    def committed(): Map[TopicPartition, Long] =
      admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS).asScala
        .collect { case (t, om) if om != null => t -> om.offset }.toMap
    def offsets(spec: OffsetSpec, tps: Seq[TopicPartition]): Map[TopicPartition, Long] =
      admin.listOffsets(tps.map(t => t -> spec).toMap.asJava).all().get(30, TimeUnit.SECONDS).asScala.map { case (t, r) => t -> r.offset }.toMap
    def mapJson(m: Seq[(String, Json)]): Json = JObj(m.sortBy(_._1))
    def expectedMap(k: String): Seq[(String, Json)] = {
      val t = s.getTable(k)
      t.keySet.asScala.toSeq.map(x => x -> toJson(t.get(java.util.List.of(x))))
    }
    val keys = s.keySet.asScala.toSeq.filterNot(k => k == "at" || k == "do")
    lazy val st = status()
    keys.foreach {
      case k @ "committed" =>
        val exp = expectedMap(k); val c = committed()
        check(k, mapJson(exp), mapJson(exp.map { case (n, _) => n -> c.get(tp(n)).map(v => JNum(v): Json).getOrElse(JNull) }))
      case k @ "no_committed" =>
        val exp = strings(s.getArray(k)); val c = committed()
        check(k, arr(exp.map(JStr(_))), arr(exp.filterNot(n => c.contains(tp(n))).map(JStr(_))))
      // absences (docs/scenarios.md), judged as the engine's runner does: expected is the list, actual those of it absent
      case k @ "no_current_offsets" =>
        val exp = strings(s.getArray(k))
        // the engine tracks nothing while the context is not running
        val live = proc.exists(_.isAlive) && st.get("running").contains(JBool(true))
        val cur = if (!live) Set.empty[String] else st.get("currentOffsets").collect { case JArr(xs) => xs.collect { case o: JObj =>
          s"${str(o, "topic")}-${o.get("partition").get.render}" } }.getOrElse(Nil).toSet
        check(k, arr(exp.map(JStr(_))), arr(exp.filterNot(cur.contains).map(JStr(_))))
      case k @ "no_group" =>
        val exp = strings(s.getArray(k))
        def absent(g: String): Boolean = {
          val dead = try admin.describeConsumerGroups(java.util.List.of(real(g))).all().get(30, TimeUnit.SECONDS).get(real(g)).state.toString.equalsIgnoreCase("dead")
            catch { case e: java.util.concurrent.ExecutionException if e.getCause.isInstanceOf[org.apache.kafka.common.errors.GroupIdNotFoundException] => true }
          dead && admin.listConsumerGroupOffsets(real(g)).partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS).asScala.values.forall(_ == null)
        }
        check(k, arr(exp.map(JStr(_))), arr(exp.filter(absent).map(JStr(_))))
      case k @ "no_batch" =>
        val exp = strings(s.getArray(k))
        val gens = traceLines().filter(_.get("event").contains(JStr("batchGenerated")))
        check(k, arr(exp.map(JStr(_))), arr(exp.filterNot(c => gens.exists(_.get("batch").contains(JNum(clock(c))))).map(JStr(_))))
      case k @ ("log_end" | "log_start") =>
        val exp = expectedMap(k)
        val got = offsets(if (k == "log_end") OffsetSpec.latest() else OffsetSpec.earliest(), exp.map(e => tp(e._1)))
        check(k, mapJson(exp), mapJson(exp.map { case (n, _) => n -> (JNum(got(tp(n))): Json) }))
      case k @ "group_state" =>
        val d = admin.describeConsumerGroups(java.util.List.of(group)).all().get(30, TimeUnit.SECONDS).get(group)
        val state = d.state.toString.toLowerCase.capitalize
        check(k, toJson(s.get(java.util.List.of(k))), JStr(if (state == "Completingrebalance") "CompletingRebalance" else if (state == "Preparingrebalance") "PreparingRebalance" else state))
      case k @ "running" => check(k, toJson(s.get(java.util.List.of(k))), JBool(proc.exists(_.isAlive) && st.get("running").contains(JBool(true))))
      case k @ "current_offsets" =>
        val exp = expectedMap(k)
        val cur = st.get("currentOffsets").collect { case JArr(xs) => xs.collect { case o: JObj =>
          s"${o.get("topic").collect { case JStr(x) => x }.get}-${o.get("partition").collect { case JNum(x) => x }.get}" -> o.get("offset").get } }.getOrElse(Nil).toMap
        check(k, mapJson(exp), mapJson(exp.map { case (n, _) => n -> cur.getOrElse(n, JNull) }))
      case k @ "last_ranges" =>
        val exp = expectedMap(k)
        val cur = st.get("lastRanges").collect { case JArr(xs) => xs.collect { case o: JObj =>
          s"${o.get("topic").collect { case JStr(x) => x }.get}-${o.get("partition").collect { case JNum(x) => x }.get}" ->
            (arr(Seq(o.get("fromOffset").get, o.get("untilOffset").get)): Json) } }.getOrElse(Nil).toMap
        check(k, mapJson(exp), mapJson(exp.map { case (n, _) => n -> cur.getOrElse(n, JNull) }))
      case k @ ("error" | "error_class" | "no_error") =>
        val errs = traceLines().filter(_.get("event").contains(JStr("error")))
        // a failed job surfaces as SparkException "Job aborted due to stage failure: …"; what failed is its root cause
        val last = errs.lastOption.map { e =>
          val abort = e.get("class").contains(JStr("org.apache.spark.SparkException")) &&
            e.get("message").exists { case JStr(m) => m.startsWith("Job aborted due to stage failure"); case _ => false }
          if (abort) e.get("cause").collect { case c: JObj => c }.getOrElse(e) else e
        }
        k match {
          case "error" => check(k, toJson(s.get(java.util.List.of(k))), last.flatMap(_.get("message")).getOrElse(JNull))
          case "error_class" => check(k, toJson(s.get(java.util.List.of(k))), last.flatMap(_.get("class")).getOrElse(JNull))
          case _ => check(k, toJson(s.get(java.util.List.of(k))), JBool(errs.isEmpty))
        }
      case k @ "state" =>
        val exp = expectedMap(k)
        val Pair = """\((.*),(-?\d+)\)""".r
        val lines = st.get("lastPrint").collect { case JArr(xs) => xs.collect { case JStr(l) => l } }.getOrElse(Nil)
        check(k, mapJson(exp), mapJson(lines.collect { case Pair(a, b) => a -> (JNum(b.toLong): Json) }))
      case k @ "checkpoint_files" =>
        val dir = storage.resolve(job.getString("checkpoint_dir")).toFile
        val files = Option(dir.list()).map(_.toSeq).getOrElse(Nil).filter(_.matches("checkpoint-\\d+([\\w.]*)"))
          .sortBy(f => (f.stripPrefix("checkpoint-").takeWhile(_.isDigit).toLong, !f.endsWith(".bk")))
        // expected names use clock placeholders, checkpoint-<12:00:05>; shown back the same way
        val exp = strings(s.getArray(k)).map(placeholders)
        def back(f: String) = { val t = f.stripPrefix("checkpoint-").takeWhile(_.isDigit)
          if (t.isEmpty) f else s"checkpoint-<${LocalTime.ofNanoOfDay(((clockZero + ((t.toLong - t0) * o.scale).toLong) % 86400000L) * 1000000L)}>${f.stripPrefix("checkpoint-").drop(t.length)}" }
        check(k, arr(exp.map(f => JStr(back(f)))), arr(files.map(f => JStr(back(f)))))
      case k @ "output_since_last_expect" =>
        val lines = traceLines().filter(l => l.get("event").contains(JStr("output")) && l.get("t").exists { case JNum(t) => t > lastExpectAt && t <= now; case _ => false })
          .flatMap(_.get("lines").collect { case JArr(xs) => xs }.getOrElse(Nil))
        // print()'s "Time: <t> ms" carries the real clock; expected blocks use the scenario day's epoch (the engine's)
        val day = java.time.LocalDate.parse(Option(toml.getString("day")).getOrElse("2026-01-01"))
        val dayNoon = day.atTime(12, 0).toInstant(java.time.ZoneOffset.UTC).toEpochMilli
        val TimeLine = """Time: (\d+) ms""".r
        val actual = lines.map {
          case JStr(TimeLine(t)) => JStr(s"Time: ${dayNoon + ((t.toLong - t0) * o.scale).toLong} ms"): Json
          case other => other
        }
        check(k, toJson(s.get(java.util.List.of(k))), arr(actual))
      case k @ "batch_ranges" =>
        val t = s.getTable(k)
        val gens = traceLines().filter(_.get("event").contains(JStr("batchGenerated")))
        t.keySet.asScala.toSeq.sorted.foreach { c =>
          val e = t.getTable(java.util.List.of(c))
          val want = mapJson(e.keySet.asScala.toSeq.map(x => x -> toJson(e.get(java.util.List.of(x)))))
          val got = gens.filter(_.get("batch").contains(JNum(clock(c)))).lastOption.flatMap(_.get("ranges")).collect { case JArr(xs) =>
            mapJson(xs.collect { case o: JObj => s"${str(o, "topic")}-${o.get("partition").get.render}" -> (arr(Seq(o.get("fromOffset").get, o.get("untilOffset").get)): Json) }) }
          check(s"$k.$c", want, got.getOrElse(JNull))
        }
      // Kafka 4.1.1's tables pad their last column (trailing blanks); scenarios write what a terminal shows
      case k @ "tool_output" =>
        def rtrim(j: Json): Json = j match { case JArr(xs) => JArr(xs.map { case JStr(l) => JStr(l.replaceAll("\\s+$", "")); case o => o }); case o => o }
        check(k, rtrim(toJson(s.get(java.util.List.of(k)))), rtrim(arr(toolOutput.map(JStr(_)))))
      case k @ "newest_checkpoint" =>
        val cps = traceLines().filter(_.get("event").contains(JStr("checkpointWritten"))).filter(_.get("t").exists { case JNum(t) => t <= now; case _ => false })
        val content = cps.lastOption.flatMap(_.get("checkpoint")).collect { case c: JObj => c }
        val file = cps.lastOption.flatMap(_.get("file")).collect { case JStr(x) => x }
        val exp = s.getTable(k)
        def offs(j: Option[Json]): Json = mapJson(j.collect { case JArr(xs) => xs.collect { case o: JObj =>
          s"${str(o, "topic")}-${o.get("partition").get.render}" -> o.get("offset").get } }.getOrElse(Nil))
        exp.keySet.asScala.toSeq.sorted.foreach {
          case f @ "file" => check(s"$k.$f", JStr(placeholders(exp.getString(f))), file.map(JStr(_): Json).getOrElse(JNull))
          case f @ "current_offsets" =>
            val e = exp.getTable(f)
            check(s"$k.$f", mapJson(e.keySet.asScala.toSeq.map(x => x -> toJson(e.get(java.util.List.of(x))))), offs(content.flatMap(_.get("currentOffsets"))))
          case f @ "commit_queue" =>
            // compared as a sorted list: within one batch Spark queues ranges in its untilOffsets hash-map order,
            // and commitAll takes the per-partition maximum, so the order carries no meaning (known-differences.md)
            def sorted(j: Json): Json = j match { case JArr(xs) => JArr(xs.sortBy(_.render)); case o => o }
            check(s"$k.$f", sorted(toJson(exp.get(java.util.List.of(f)))), sorted(arr(content.flatMap(_.get("commitQueue")).collect { case JArr(xs) => xs.collect { case o: JObj =>
              arr(Seq(JStr(s"${str(o, "topic")}-${o.get("partition").get.render}"), o.get("fromOffset").get, o.get("untilOffset").get)) } }.getOrElse(Nil))))
          case f @ "no_current_offsets" =>
            val have = content.flatMap(_.get("currentOffsets")).collect { case JArr(xs) => xs.collect { case o: JObj =>
              s"${str(o, "topic")}-${o.get("partition").get.render}" } }.getOrElse(Nil).toSet
            val e = strings(exp.getArray(f))
            check(s"$k.$f", arr(e.map(JStr(_))), arr(e.filterNot(have.contains).map(JStr(_))))
          case f @ "pending_times" =>
            check(s"$k.$f", arr(strings(exp.getArray(f)).map(c => JNum(clock(c)))), content.flatMap(_.get("pendingTimes")).getOrElse(JNull))
          case f => check(s"$k.$f", toJson(exp.get(java.util.List.of(f))), content.flatMap(_.get(f)).getOrElse(JNull))
        }
      case k => check(k, JStr("a key the harness knows"), JStr(s"unknown expect key $k"))
    }
    lastExpectAt = now
    unsettled = false
  }

  private def str(o: JObj, k: String): String = o.get(k).collect { case JStr(x) => x }.getOrElse("")

  private def toJson(v: Any): Json = v match {
    case null => JNull
    case s: String => JStr(s)
    case l: java.lang.Long => JNum(l)
    case b: java.lang.Boolean => JBool(b)
    case d: java.lang.Double => JNum(d.toLong)
    case a: TomlArray => arr((0 until a.size).map(i => toJson(a.get(i))))
    case t: TomlTable => JObj(t.keySet.asScala.toSeq.sorted.map(k => k -> toJson(t.get(java.util.List.of(k)))))
    case other => JStr(String.valueOf(other))
  }

  private def cleanup(): Unit = {
    try producer.close() catch { case _: Throwable => }
    // the broker is shared: remove this run's suffixed topics and group
    try {
      val existing = admin.listTopics().names().get(30, TimeUnit.SECONDS).asScala
      val mine = topicsSeen.map(real).filter(existing.contains)
      if (mine.nonEmpty) admin.deleteTopics(mine.asJava).all().get(30, TimeUnit.SECONDS)
      admin.deleteConsumerGroups(groupsSeen.map(real).asJava).all().get(30, TimeUnit.SECONDS)
    } catch { case _: Throwable => }
    admin.close()
  }

  private def deleteRecursively(f: File): Unit = {
    if (f.isDirectory) Option(f.listFiles()).foreach(_.foreach(deleteRecursively))
    f.delete()
  }
}
