// Benchmark figures for real Spark (never pass/fail): the engine benchmark's workloads, run by the scenario driver.
package offsetlab

import java.nio.charset.StandardCharsets
import java.nio.file.{Files, Path, Paths}

import scala.jdk.CollectionConverters._

import org.apache.spark.streaming.offsetlab.Json
import org.apache.spark.streaming.offsetlab.Json._

/** `Bench --out DIR --partitions 1,10 --records N --empty K` + the Driver's options. Each workload is a scenario file
 *  run with `--pace fast`: the scenario clock moves on as soon as Spark has finished a batch, so a batch's wall time
 *  is Spark's own processing time (generation, both jobs, both checkpoints). Prints one JSON object per figure. */
object Bench {
  def main(args: Array[String]): Unit = {
    val m = args.grouped(2).collect { case Array(k, v) => k.stripPrefix("--") -> v }.toMap
    val out = Paths.get(m("out"))
    val n = m.getOrElse("records", "100000").toInt
    val partitions = m.getOrElse("partitions", "1,10").split(",").map(_.trim.toInt).toSeq
    val empty = m.getOrElse("empty", "40").toInt
    def opts(scenario: Path, dir: Path) = Driver.Opts(scenario, dir, m.getOrElse("bootstrap", "127.0.0.1:9092"),
      m("kafka-classpath"), m("kafka-log4j"), m("job-classpath"), Paths.get(m("variant-src")), 1.0, "lz4", 25000L, fast = true)
    Files.createDirectories(out)

    // empty batches: b2 … b(K+1) of a running seed job on 3 partitions (b1 pays for the driver consumer's creation)
    {
      val dir = out.resolve("empty")
      val f = out.resolve("empty.toml")
      Files.write(f, scenario("bench-empty", 3, Nil, s"12:${clock(5 * (empty + 1) + 1)}").getBytes(StandardCharsets.UTF_8))
      new Run(opts(f, dir)).run()
      val log = clockLog(dir)
      val t0 = log.find(_._1 == s"set ${batch(dir, 2)}").map(_._2)
      val t1 = log.find(_._1 == s"quiet ${batch(dir, empty + 1)}").map(_._2)
      (t0, t1) match {
        case (Some(a), Some(b)) => println(obj("kind" -> "empty", "batches" -> empty, "msPerBatch" -> JStr(f"${(b - a).toDouble / empty}%.1f")).render)
        case _ => println(obj("kind" -> "empty", "error" -> s"no clock log for the batches in $dir").render)
      }
    }
    // one batch of n records (values k<i % 1000>, record i on partition i % p), read by b2 through map → updateStateByKey
    for (p <- partitions) {
      val dir = out.resolve(s"records-$p")
      val f = out.resolve(s"records-$p.toml")
      val produce = (0 until p).map { q =>
        val values = (q until n by p).map(i => s"\"k${i % 1000}\"").mkString(", ")
        s"[[step]]\nat = \"12:00:06\"\ndo = \"produce\"\ntopic = \"words\"\npartition = $q\nvalues = [$values]\n"
      }
      Files.write(f, scenario(s"bench-records-$p", p, produce, "12:00:11").getBytes(StandardCharsets.UTF_8))
      new Run(opts(f, dir)).run()
      val log = clockLog(dir)
      val b2 = batch(dir, 2)
      val set = log.find(_._1 == s"set $b2").map(_._2)
      val trace = Files.readAllLines(dir.resolve("trace.jsonl")).asScala.map(Json.parse).collect { case o: JObj => o }
      val done = trace.find(e => e.get("event").contains(JStr("batchCompleted")) && e.get("batch").contains(JNum(b2))).flatMap(_.get("t"))
      val got = trace.find(e => e.get("event").contains(JStr("batchGenerated")) && e.get("batch").contains(JNum(b2))).flatMap(_.get("numRecords"))
      (set, done) match {
        case (Some(a), Some(JNum(b: Long))) =>
          println(obj("kind" -> "records", "partitions" -> p, "records" -> n, "numRecords" -> got.getOrElse(JNull),
            "seconds" -> JStr(f"${(b - a) / 1000.0}%.3f")).render)
        case _ => println(obj("kind" -> "records", "partitions" -> p, "error" -> s"batch b2 did not complete; see $dir").render)
      }
    }
  }

  private def clock(s: Int): String = f"${s / 60}%02d:${s % 60}%02d"

  /** The real epoch time of grid batch `i` of a run (12:00:00 is b0 by construction of the scenarios here). */
  private def batch(dir: Path, i: Int): Long = {
    val run = Json.parse(new String(Files.readAllBytes(dir.resolve("run.json")), StandardCharsets.UTF_8)).asInstanceOf[JObj]
    val (JNum(t0), JNum(b)) = (run.get("t0").get, run.get("batchMs").get)
    t0 + i * b
  }

  private def clockLog(dir: Path): Seq[(String, Long)] = {
    val f = dir.resolve("control/clock.log")
    if (!Files.exists(f)) Nil else Files.readAllLines(f).asScala.toSeq.flatMap { l =>
      val parts = l.trim.split(" ")
      if (parts.length == 3) Some((s"${parts(0)} ${parts(1)}", parts(2).toLong)) else None
    }
  }

  private def scenario(name: String, partitions: Int, steps: Seq[String], endAt: String): String =
    s"""version = 1
       |name = "$name"
       |
       |[[topic]]
       |name = "words"
       |partitions = $partitions
       |
       |[job]
       |app_name = "words"
       |checkpoint_dir = "ckpt"
       |batch_interval = "5s"
       |strategy = "Subscribe"
       |topics = ["words"]
       |group = "g"
       |auto_offset_reset = "latest"
       |enable_auto_commit = false
       |pipeline = ["map(r => (r.value, 1))", "updateStateByKey(sum)"]
       |outputs = ["print()", "foreachRDD(commitAsync)"]
       |
       |[[step]]
       |at = "12:00:02"
       |do = "start"
       |
       |${steps.mkString("\n")}
       |[[step]]
       |at = "$endAt"
       |do = "expect"
       |no_error = true
       |""".stripMargin
}
