// The scenario driver for Structured Streaming scenarios (`[job] api = "structured"`): one query JVM per `start`
// (org.apache.spark.sql.offsetlab.StructuredJob), Kafka's tools for the Kafka steps, the scenario clock as trigger clock.
package offsetlab

import java.io.File
import java.nio.charset.StandardCharsets
import java.nio.file.{Files, Path, StandardCopyOption, StandardOpenOption}
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

final class StructuredRun(o: Driver.Opts) {
  private val toml = Toml.parse(o.scenario)
  if (toml.hasErrors) throw new IllegalArgumentException(toml.errors.asScala.map(e => s"${o.scenario}:${e.position}: ${e.getMessage}").mkString("\n"))
  private val name = Option(toml.getString("name")).getOrElse(o.scenario.getFileName.toString.stripSuffix(".toml"))
  private val job = toml.getTable("job")
  private val runNames = RunNames.forThisRun()
  private val suffix = runNames.base
  private val storage = o.out.resolve("storage")
  private val control = o.out.resolve("control")
  private val traceFile = o.out.resolve("trace.jsonl")
  private val expectFile = o.out.resolve("expect.jsonl")
  private val log = o.out.resolve("driver.log")
  private val ckptName = Option(job.getString("checkpoint_dir")).getOrElse("ckpt")
  private val ckpt = storage.resolve(ckptName)
  private val triggerText = Option(job.getString("trigger")).getOrElse("0s")
  /** The trigger's interval; the clock's grid (1 s for AvailableNow and Once, which wait on no clock). */
  private val intervalMs: Long = triggerText match {
    case "AvailableNow" | "Once" => 0L
    case t => Diff.durMs(t)
  }
  private val gridMs = if (intervalMs > 0) intervalMs else 1000L
  private val clockZero = LocalTime.parse("12:00:00").toNanoOfDay / 1000000
  private def stepOffset(at: String): Long = LocalTime.parse(at).toNanoOfDay / 1000000 - clockZero

  private val admin = Admin.create(props(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG -> o.bootstrap))
  private val producer = new KafkaProducer[String, String](props(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG -> o.bootstrap,
    ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG -> classOf[StringSerializer].getName,
    ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG -> classOf[StringSerializer].getName, ProducerConfig.LINGER_MS_CONFIG -> "0"))
  private def props(kv: (String, String)*): Properties = { val p = new Properties; kv.foreach { case (k, v) => p.put(k, v) }; p }

  private var proc: Option[Process] = None
  private var t0 = 0L
  private var failures = 0
  private var crashArmed = false
  private var lastExpectBatches = 0
  private var launchedAt = 0L
  private val topicsSeen = mutable.LinkedHashSet[String]()
  private def real(topic: String) = runNames.real(topic)

  private def say(s: String): Unit = {
    System.err.println(s"[$name] $s")
    Files.write(log, s"${System.currentTimeMillis()} $s\n".getBytes(StandardCharsets.UTF_8), StandardOpenOption.CREATE, StandardOpenOption.APPEND)
  }

  def run(): Boolean = {
    deleteRecursively(o.out.toFile)
    Files.createDirectories(storage); Files.createDirectories(control)
    val steps = Option(toml.getArray("step")).map(a => (0 until a.size).map(a.getTable)).getOrElse(Nil)
    Option(toml.getArray("topic")).foreach(a => (0 until a.size).map(a.getTable).foreach { t =>
      createTopic(t.getString("name"), t.getLong("partitions").toInt)
      if (lastExit != 0) throw new IllegalStateException(s"setup: kafka-topics --create ${t.getString("name")} failed (exit $lastExit); is Kafka up?")
    })
    // 12:00:00 ↦ a multiple of the trigger interval, as the engine's day is: ProcessingTimeExecutor's grid is the epoch's
    t0 = ((System.currentTimeMillis() + 1000) / gridMs + 1) * gridMs
    setClock(t0 + steps.headOption.map(s => stepOffset(s.getString("at"))).getOrElse(0L))
    say(s"structured scenario $name: 12:00:00 = $t0 (trigger $triggerText), names suffixed '$suffix'")
    Files.write(o.out.resolve("run.json"), obj("scenario" -> name, "t0" -> t0, "batchMs" -> gridMs, "api" -> "structured", "suffix" -> suffix)
      .render.getBytes(StandardCharsets.UTF_8))
    try steps.zipWithIndex.foreach { case (s, i) =>
      val at = t0 + stepOffset(s.getString("at"))
      advanceTo(at)
      val began = System.currentTimeMillis()
      stepNo = i + 1
      step(s.getString("do"), s)
      say(s"step ${i + 1} (${s.getString("do")}) at ${s.getString("at")} took ${System.currentTimeMillis() - began} ms")
    } catch { case e: Throwable => say(s"ERROR: driver failed: $e"); e.printStackTrace(); failures += 1 }
    finally {
      Files.write(o.out.resolve("end.json"), obj("end" -> System.currentTimeMillis()).render.getBytes(StandardCharsets.UTF_8))
      proc.foreach { p => p.destroyForcibly(); p.waitFor(30, TimeUnit.SECONDS) }
      cleanup()
    }
    say(s"done: $failures failed expectation(s)")
    failures == 0
  }

  // ---------- the scenario clock (the query's trigger clock) ----------
  private val clockFile = control.resolve("clock")
  private var clockNow = 0L
  private def setClock(t: Long): Unit = {
    val tmp = control.resolve("clock.tmp")
    Files.write(tmp, t.toString.getBytes(StandardCharsets.UTF_8))
    Files.move(tmp, clockFile, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING)
    clockNow = t
  }

  /** Moves the clock to `at` through every grid instant, each only once the query has done what is due there. Nothing
   *  in these scenarios runs on Kafka's wall-clock timeouts, so the clock does not wait for the wall clock. */
  private def advanceTo(at: Long): Unit = {
    quiesce()
    while (clockNow < at) {
      setClock(math.min(at, (clockNow / gridMs + 1) * gridMs))
      quiesce()
    }
  }

  /** The query is quiet when it waits for a trigger later than now (StructuredJob writes `idle` with that target),
   *  or has terminated, or its JVM is gone. */
  private def quiesce(): Unit = proc.foreach { p =>
    val began = System.currentTimeMillis()
    def quiet(): Boolean = !p.isAlive || Files.exists(control.resolve("terminated")) || !Files.exists(control.resolve("go")) ||
      read("idle").exists(_.toLong > clockNow)
    while (!quiet() && System.currentTimeMillis() < began + 240000) Thread.sleep(5)
    if (!quiet()) { unsettled = true; say(s"the query did not settle at ${clockNow - t0} ms") }
    if (Files.exists(control.resolve("terminated"))) p.waitFor(60, TimeUnit.SECONDS)
    if (!p.isAlive) {
      proc = None
      if (crashArmed) {
        crashArmed = false
        appendTrace(obj("t" -> System.currentTimeMillis(), "event" -> "queryTerminated", "error" -> JNull, "killed" -> true))
        say("the driver died inside the batch (kill -9 before commits/N)")
      }
    }
  }
  private var unsettled = false
  private def read(f: String): Option[String] = {
    val p = control.resolve(f)
    if (Files.exists(p)) scala.util.Try(new String(Files.readAllBytes(p), StandardCharsets.UTF_8).trim).toOption.filter(_.nonEmpty) else None
  }

  // ---------- steps ----------
  private def step(kind: String, s: TomlTable): Unit = kind match {
    case "start" => start(s)
    case "stop" =>
      proc.foreach { p =>
        Files.write(control.resolve("stop"), "true".getBytes)
        p.waitFor(120, TimeUnit.SECONDS)
        proc = None
      }
    case "kill" if Option(s.getBoolean("in_batch")).exists(_.booleanValue) =>
      Files.write(control.resolve("crash"), "1".getBytes); crashArmed = true; say("armed: kill -9 inside the next batch")
    case "kill" =>
      quiesce()
      proc.foreach { p =>
        p.destroyForcibly(); p.waitFor(30, TimeUnit.SECONDS)
        appendTrace(obj("t" -> System.currentTimeMillis(), "event" -> "queryTerminated", "error" -> JNull, "killed" -> true))
      }
      proc = None
    case "produce" =>
      val topic = real(s.getString("topic"))
      Option(s.getLong("partition")) match {
        case Some(p) => strings(s.getArray("values")).map(v => producer.send(new ProducerRecord[String, String](topic, p.toInt, null, v))).foreach(_.get())
        case None => strings(s.getArray("lines")).map { l =>
          val i = l.indexOf(":::")
          producer.send(if (i >= 0) new ProducerRecord[String, String](topic, l.take(i), l.drop(i + 3)) else new ProducerRecord[String, String](topic, l))
        }.foreach(_.get())
      }
    case "create_topic" => createTopic(s.getString("topic"), s.getLong("partitions").toInt)
    case "delete_topic" => tool("org.apache.kafka.tools.TopicCommand", Seq("--bootstrap-server", o.bootstrap, "--delete", "--topic", real(s.getString("topic"))))
    case "add_partitions" => tool("org.apache.kafka.tools.TopicCommand", Seq("--bootstrap-server", o.bootstrap, "--alter", "--topic",
      real(s.getString("topic")), "--partitions", s.getLong("partitions").toString))
    case "delete_records" =>
      val f = o.out.resolve("delete-records.json")
      Files.write(f, s"""{"partitions":[{"topic":"${real(s.getString("topic"))}","partition":${s.getLong("partition")},"offset":${s.getLong("before")}}],"version":1}""".getBytes)
      tool("org.apache.kafka.tools.DeleteRecordsCommand", Seq("--bootstrap-server", o.bootstrap, "--offset-json-file", f.toString))
    case "reset_offsets" =>
      val given = s.getString("args").trim.split("\\s+").toSeq.filterNot(_ == "--reset-offsets")
      val args = given.zipWithIndex.map { case (a, i) =>
        if (i > 0 && given(i - 1) == "--topic") { val c = a.indexOf(':'); if (c >= 0) real(a.take(c)) + a.drop(c) else real(a) }
        else a.replace("{executorGroup}", executorGroup)
      }
      tool("org.apache.kafka.tools.consumer.group.ConsumerGroupCommand", Seq("--bootstrap-server", o.bootstrap, "--reset-offsets") ++ args)
    case "delete_checkpoint" => deleteRecursively(ckpt.toFile); say("checkpoint directory deleted")
    case "expect" => expect(s)
    case other => throw new UnsupportedOperationException(s"step do = $other")
  }

  /** The generated part of a group id (`KafkaSourceProvider.streamingUniqueGroupId`), as the diff masks it. */
  private val GeneratedGroup = """-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}--?\d+""".r

  /** The executors' group of the query started last (its JVM reads it from the Kafka source). */
  private var executorGroup = ""

  private var stepNo = 0
  /** `cargo xtask reference handoff`: the checkpoints the engine wrote, `step-<n>/<scenario name>/<checkpoint_dir>`. */
  private val engineCheckpoints = sys.env.get("OFFSET_LAB_ENGINE_CHECKPOINTS").filter(_.nonEmpty).map(java.nio.file.Paths.get(_))

  /** Real Spark restarts from the engine's checkpoint: its folder replaces Spark's, topic names suffixed as this run's. */
  private def handOver(names: Seq[String]): Unit = engineCheckpoints.map(_.resolve(s"step-$stepNo").resolve(name).resolve(ckptName))
    .filter(Files.isDirectory(_)).foreach { from =>
      deleteRecursively(ckpt.toFile)
      val files = Files.walk(from).iterator().asScala.filter(Files.isRegularFile(_)).toSeq
      files.foreach { f =>
        val to = ckpt.resolve(from.relativize(f).toString)
        Files.createDirectories(to.getParent)
        val text = new String(Files.readAllBytes(f), StandardCharsets.ISO_8859_1) // sources/0/0 starts with a zero byte
        val renamed = names.sortBy(-_.length).foldLeft(text)((acc, t) => acc.replace(s"\"$t\"", s"\"${real(t)}\""))
        Files.write(to, renamed.getBytes(StandardCharsets.ISO_8859_1))
      }
      say(s"handoff: the checkpoint the engine wrote before step $stepNo (${files.size} files from $from)")
    }

  private def start(s: TomlTable): Unit = {
    val over = Option(s.getTable("job"))
    def opts(t: TomlTable): Seq[(String, String)] = Option(t).flatMap(t => Option(t.getTable("options"))).toSeq
      .flatMap(o => o.keySet.asScala.toSeq.map(k => k -> String.valueOf(o.get(java.util.List.of(k)))))
    val options = (opts(job) ++ over.toSeq.flatMap(opts)).toMap.map { case (k, v) =>
      k -> (k.toLowerCase match {
        case "subscribe" => v.split(",").map(t => real(t.trim)).mkString(",")
        case "subscribepattern" => runNames.pattern(v) // the suffixed names still match
        case _ => topicsSeen.toSeq.sortBy(-_.length).foldLeft(v)((acc, t) => acc.replace(s"\"$t\"", s"\"${real(t)}\""))
      })
    }
    // topics a later step creates too: a subscribePattern query reads them with this JVM's renames
    val later = Option(toml.getArray("step")).toSeq.flatMap(a => (0 until a.size).map(a.getTable))
      .filter(_.getString("do") == "create_topic").map(_.getString("topic"))
    handOver((topicsSeen.toSeq ++ later).distinct)
    val renames = (topicsSeen.toSeq ++ later).distinct.map(t => s"${real(t)}=$t") ++ Seq(s"$ckpt=$ckptName") ++
      (if (o.bootstrap != "127.0.0.1:9092") Seq(s"${o.bootstrap}=127.0.0.1:9092") else Nil)
    val trig = Option(over.flatMap(t => Option(t.getString("trigger"))).getOrElse(triggerText)).map {
      case t @ ("AvailableNow" | "Once") => t
      case t => Diff.durMs(t).toString
    }.get
    val retain = over.flatMap(t => Option(t.getLong("min_batches_to_retain"))).orElse(Option(job.getLong("min_batches_to_retain"))).map(_.toString).getOrElse("100")
    val cfg = Seq("checkpointDir" -> ckpt.toString, "checkpointName" -> ckptName, "trigger" -> trig, "minBatchesToRetain" -> retain,
      "bootstrap" -> o.bootstrap, "trace" -> traceFile.toString, "control" -> control.toString, "rename" -> renames.mkString(",")) ++
      options.toSeq.map { case (k, v) => s"option.$k" -> v }
    val n = Files.list(o.out).iterator().asScala.count(_.getFileName.toString.matches("job-\\d+\\.properties")) + 1
    val cfgFile = o.out.resolve(s"job-$n.properties")
    val p = new Properties; cfg.foreach { case (k, v) => p.setProperty(k, v) }
    val w = Files.newBufferedWriter(cfgFile); try p.store(w, s"scenario $name") finally w.close()
    Seq("stop", "ready", "go", "idle", "terminated", "crash", "status.json").foreach(f => Files.deleteIfExists(control.resolve(f)))
    val cmd = Seq("java", "-Xmx768m", "-XX:+UseSerialGC") ++ Driver.JvmOpens ++ Seq(s"-Doffsetlab.clock=$clockFile", "-cp", jobClasspath,
      "org.apache.spark.sql.offsetlab.StructuredJob", cfgFile.toString)
    val t = System.currentTimeMillis()
    launchedAt = t
    proc = Some(new ProcessBuilder(cmd.asJava).redirectOutput(o.out.resolve(s"job-$n.stdout").toFile)
      .redirectError(o.out.resolve(s"job-$n.stderr").toFile).start())
    while (!Files.exists(control.resolve("ready")) && proc.get.isAlive && System.currentTimeMillis() < t + 180000) Thread.sleep(10)
    say(s"launch: query JVM $n ready in ${System.currentTimeMillis() - t} ms")
    Files.write(control.resolve("go"), clockNow.toString.getBytes)
    quiesce()
    executorGroup = status().get("executorGroup").collect { case JStr(g) => g }.getOrElse("")
  }

  /** The job's classpath with Spark SQL's ANTLR runtime (4.9.3, resolved by the pom's `spark-sql-antlr` copy) in place of
   *  tomlj's 4.11.1, which cannot read the ATN of Spark's generated parser. */
  private lazy val jobClasspath: String = o.jobCp.split(File.pathSeparator).map { e =>
    val f = new File(e)
    if (f.getName.startsWith("antlr4-runtime-") && f.getName != "antlr4-runtime-4.9.3.jar") {
      val spark = new File(f.getParentFile.getParentFile, "4.9.3/antlr4-runtime-4.9.3.jar")
      if (!spark.isFile) throw new IllegalStateException(s"$spark is missing: `mvn compile` in reference/spark resolves it")
      spark.getPath
    } else e
  }.mkString(File.pathSeparator)

  private def status(): Map[String, Json] = read("status.json").map(Json.parse) match {
    case Some(o: JObj) => o.fields.toMap
    case _ => Map.empty
  }

  // ---------- expect ----------
  private def expect(s: TomlTable): Unit = {
    quiesce()
    val at = s.getString("at")
    def check(key: String, expected: Json, actual: Json): Unit = {
      val ok = expected == actual && !unsettled
      if (!ok) failures += 1
      Files.write(expectFile, (obj("at" -> at, "key" -> key, "ok" -> ok, "expected" -> expected, "actual" -> actual, "settled" -> !unsettled).render + "\n")
        .getBytes(StandardCharsets.UTF_8), StandardOpenOption.CREATE, StandardOpenOption.APPEND)
      say(s"expect $at $key: ${if (ok) "ok" else s"FAILED expected ${expected.render} actual ${actual.render}"}")
    }
    def toJson(v: Any): Json = v match {
      case null => JNull
      case x: String => JStr(x)
      case l: java.lang.Long => JNum(l)
      case b: java.lang.Boolean => JBool(b)
      case a: TomlArray => arr((0 until a.size).map(i => toJson(a.get(i))))
      case t: TomlTable => JObj(t.keySet.asScala.toSeq.sorted.map(k => k -> toJson(t.get(java.util.List.of(k)))))
      case other => JStr(String.valueOf(other))
    }
    def tp(n: String): TopicPartition = { val i = n.lastIndexOf('-'); new TopicPartition(real(n.take(i)), n.drop(i + 1).toInt) }
    val lines = traceLines()
    val batches = lines.filter(_.get("event").contains(JStr("batchRun")))
    def rangesOf(b: JObj): Json = JObj(b.get("ranges").collect { case JArr(xs) => xs.collect { case r: JObj =>
      s"${r.get("topic").collect { case JStr(t) => t }.get}-${r.get("partition").get.render}" -> (arr(Seq(r.get("fromOffset").get, r.get("untilOffset").get)): Json) } }
      .getOrElse(Nil).sortBy(_._1))
    val lastError = lines.filter(_.get("event").contains(JStr("queryTerminated"))).flatMap(_.get("error")).collect { case e: JObj => e }.lastOption.map { e =>
      val aborted = e.get("message").exists { case JStr(m) => m.startsWith("Job aborted due to stage failure"); case _ => false }
      if (aborted) e.get("cause").collect { case c: JObj => c }.getOrElse(e) else e
    }
    s.keySet.asScala.toSeq.filterNot(k => k == "at" || k == "do").sorted.foreach {
      case k @ "running" => check(k, toJson(s.get(java.util.List.of(k))), JBool(proc.exists(_.isAlive) && status().get("running").contains(JBool(true))))
      case k @ "error" => check(k, toJson(s.get(java.util.List.of(k))), lastError.flatMap(_.get("message")).getOrElse(JNull))
      case k @ "error_class" => check(k, toJson(s.get(java.util.List.of(k))), lastError.flatMap(_.get("class")).getOrElse(JNull))
      case k @ "no_error" => check(k, toJson(s.get(java.util.List.of(k))), JBool(lastError.isEmpty))
      case k @ ("log_end" | "log_start") =>
        val t = s.getTable(k); val names = t.keySet.asScala.toSeq.sorted
        val got = admin.listOffsets(names.map(n => tp(n) -> (if (k == "log_end") OffsetSpec.latest() else OffsetSpec.earliest())).toMap.asJava)
          .all().get(30, TimeUnit.SECONDS).asScala
        check(k, toJson(t), JObj(names.map(n => n -> (JNum(got(tp(n)).offset): Json))))
      case k @ "last_ranges" => check(k, toJson(s.get(java.util.List.of(k))), batches.lastOption.map(rangesOf).getOrElse(JNull))
      case k @ "batch_ranges" =>
        val t = s.getTable(k)
        t.keySet.asScala.toSeq.sorted.foreach { id =>
          check(s"$k.$id", toJson(t.get(java.util.List.of(id))),
            batches.filter(_.get("batchId").contains(JNum(id.toLong))).lastOption.map(rangesOf).getOrElse(JNull))
        }
      case k @ "rows_since_last_expect" =>
        val rows = batches.drop(lastExpectBatches).flatMap(b => b.get("rows").collect { case JArr(xs) =>
          xs.collect { case r: JObj => r.get("value").collect { case JStr(v) => v }.get }.sorted }.getOrElse(Nil))
        check(k, toJson(s.get(java.util.List.of(k))), arr(rows.map(JStr(_))))
      case k @ "checkpoint_files" =>
        val files = Seq("commits", "offsets").flatMap(d => Option(ckpt.resolve(d).toFile.list()).map(_.toSeq).getOrElse(Nil)
          .filter(_.matches("\\d+")).sortBy(_.toLong).map(f => s"$d/$f"))
        check(k, toJson(s.get(java.util.List.of(k))), arr(files.map(JStr(_))))
      case k @ "executor_group_committed" =>
        val t = s.getTable(k); val names = t.keySet.asScala.toSeq.sorted
        val c = admin.listConsumerGroupOffsets(executorGroup).partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS).asScala
        check(k, toJson(t), JObj(names.map(n => n -> c.get(tp(n)).filter(_ != null).map(om => JNum(om.offset): Json).getOrElse(JNull))))
      case k @ "executor_group" =>
        check(k, toJson(s.get(java.util.List.of(k))), JStr(GeneratedGroup.replaceAllIn(executorGroup, "-<uuid>-<hash>")))
      case k @ "executor_group_state" =>
        // what `kafka-consumer-groups --describe --state` shows: Dead when the broker does not know the group
        // (Kafka 4's Admin raises GroupIdNotFoundException where older brokers answered DEAD: the same fact)
        val state = try admin.describeConsumerGroups(java.util.List.of(executorGroup)).all().get(30, TimeUnit.SECONDS).get(executorGroup)
          .state.toString.toLowerCase.capitalize
        catch {
          case e: java.util.concurrent.ExecutionException if e.getCause.isInstanceOf[org.apache.kafka.common.errors.GroupIdNotFoundException] => "Dead"
        }
        check(k, toJson(s.get(java.util.List.of(k))), JStr(state))
      case k => check(k, JStr("a key the harness knows"), JStr(s"unknown expect key $k"))
    }
    lastExpectBatches = batches.size
    unsettled = false
  }

  private def traceLines(): Seq[JObj] = if (!Files.exists(traceFile)) Nil else {
    val text = new String(Files.readAllBytes(traceFile), StandardCharsets.UTF_8)
    text.take(text.lastIndexOf('\n') + 1).split('\n').toSeq.filter(_.trim.nonEmpty).map(Json.parse).collect { case o: JObj => o }
  }

  private def appendTrace(j: Json): Unit =
    Files.write(traceFile, (j.render + "\n").getBytes(StandardCharsets.UTF_8), StandardOpenOption.CREATE, StandardOpenOption.APPEND)

  // ---------- Kafka's tools ----------
  private var lastExit = 0
  private def createTopic(topic: String, partitions: Int): Unit = {
    topicsSeen += topic
    tool("org.apache.kafka.tools.TopicCommand", Seq("--bootstrap-server", o.bootstrap, "--create", "--topic", real(topic),
      "--partitions", partitions.toString, "--replication-factor", "1"))
  }

  private def tool(main: String, args: Seq[String]): Seq[String] = {
    val launcher = classOf[ToolLauncher].getProtectionDomain.getCodeSource.getLocation.getPath
    val cmd = Seq("java", "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", s"-Dlog4j2.configurationFile=${o.kafkaLog4j}",
      "-cp", o.kafkaCp + File.pathSeparator + launcher, "offsetlab.ToolLauncher", main) ++ args
    val p = new ProcessBuilder(cmd.asJava).redirectErrorStream(true).start()
    p.getOutputStream.write("go\n".getBytes); p.getOutputStream.flush()
    val out = new String(p.getInputStream.readAllBytes(), StandardCharsets.UTF_8)
    p.waitFor()
    lastExit = p.exitValue
    val lines = out.linesIterator.toSeq
    say(s"tool ${main.split('.').last} ${args.mkString(" ")} -> exit ${p.exitValue}\n  " + lines.mkString("\n  "))
    lines
  }

  private def strings(a: TomlArray): Seq[String] = if (a == null) Nil else (0 until a.size).map(a.getString)

  private def cleanup(): Unit = {
    try producer.close() catch { case _: Throwable => }
    try {
      val existing = admin.listTopics().names().get(30, TimeUnit.SECONDS).asScala
      val mine = topicsSeen.map(real).filter(existing.contains)
      if (mine.nonEmpty) admin.deleteTopics(mine.asJava).all().get(30, TimeUnit.SECONDS)
    } catch { case _: Throwable => }
    admin.close()
  }

  private def deleteRecursively(f: File): Unit = {
    if (f.isDirectory) Option(f.listFiles()).foreach(_.foreach(deleteRecursively))
    f.delete()
  }
}
