// Copies real checkpoint files from a harness run into crates/spark-checkpoint/fixtures/spark/<name>/ with an
// expected.json (docs/spark-checkpoint.md's schema) taken from Spark's own Checkpoint.deserialize and accessors.
package org.apache.spark.streaming.offsetlab

import java.io.{File, FileInputStream}
import java.nio.file.{Files, StandardCopyOption}

import scala.collection.mutable
import scala.jdk.CollectionConverters._

import org.apache.kafka.common.TopicPartition

import org.apache.spark.SparkConf
import org.apache.spark.streaming.{Checkpoint, Time}
import org.apache.spark.streaming.kafka010.OffsetRange

import Json._

object Fixtures {
  def main(args: Array[String]): Unit = {
    val m = args.grouped(2).collect { case Array(k, v) => k.stripPrefix("--") -> v }.toMap
    val ckpt = new File(m("ckpt"))
    val dest = new File(m("dest"))
    val codec = m.getOrElse("codec", "lz4")
    val keep = m.getOrElse("files", "2").toInt
    val conf = new SparkConf(false).set("spark.io.compression.codec", codec)
    Instrument.checkpointDir = ckpt.getPath
    // Spark's reader order: newest first, `checkpoint-T` before `checkpoint-T.bk`
    val all = Option(ckpt.list()).map(_.toSeq).getOrElse(Nil).filter(_.matches("checkpoint-\\d+([\\w.]*)"))
      .sortBy(f => (f.stripPrefix("checkpoint-").takeWhile(_.isDigit).toLong, !f.endsWith(".bk"))).reverse
    val chosen = all.take(keep)
    if (chosen.isEmpty) { System.err.println(s"no checkpoint files in $ckpt"); sys.exit(1) }
    dest.mkdirs()
    Option(dest.listFiles()).foreach(_.filter(_.getName.startsWith("checkpoint-")).foreach(_.delete()))
    val decoded = chosen.map { f =>
      Files.copy(new File(ckpt, f).toPath, new File(dest, f).toPath, StandardCopyOption.REPLACE_EXISTING)
      f -> (try {
        val in = new FileInputStream(new File(ckpt, f))
        Right(try Checkpoint.deserialize(in, conf) finally in.close())
      } catch { case e: Throwable => Left(e) })
    }
    val files = decoded.collect { case (f, Right(cp)) => fileJson(f, codec, cp) }
    val j = obj(
      "source" -> ("offsetlab reference harness (reference/spark, org.apache.spark.streaming.offsetlab.Fixtures): " +
        "org.apache.spark.streaming.Checkpoint.deserialize with the job's classes, then the Checkpoint/DStreamGraph/" +
        "DirectKafkaInputDStream accessors (checkpointData.batchForTime via currentCheckpointFiles, commitQueue, currentOffsets)"),
      "sparkVersion" -> org.apache.spark.SPARK_VERSION,
      "scalaVersion" -> scala.util.Properties.versionNumberString.split('.').take(2).mkString("."),
      "restartPick" -> decoded.collectFirst { case (f, Right(_)) => JStr(f): Json }.getOrElse(JNull),
      "unreadable" -> arr(decoded.collect { case (f, Left(_)) => JStr(f) }),
      "files" -> arr(files))
    Files.write(new File(dest, "expected.json").toPath, (pretty(j) + "\n").getBytes("UTF-8"))
    System.err.println(s"fixtures: ${chosen.mkString(", ")} -> $dest")
  }

  private def call(o: AnyRef, name: String): AnyRef = {
    o.getClass.getMethods.find(m => m.getName == name && m.getParameterCount == 0) match {
      case Some(m) => m.invoke(o)
      case None =>
        val f = Iterator.iterate[Class[_]](o.getClass)(_.getSuperclass).takeWhile(_ != null)
          .flatMap(_.getDeclaredFields).find(f => f.getName == name || f.getName.endsWith("$$" + name)).get
        f.setAccessible(true); f.get(o)
    }
  }

  private def paramJson(v: Object): Json = v match {
    case c: Class[_] => JStr(s"class ${c.getName}")
    case b: java.lang.Boolean => JBool(b)
    case n: java.lang.Integer => JNum(n.longValue)
    case n: java.lang.Long => JNum(n)
    case null => JNull
    case other => JStr(String.valueOf(other))
  }

  private def range(r: (String, Int, Long, Long)): Json =
    obj("topic" -> r._1, "partition" -> r._2, "fromOffset" -> r._3, "untilOffset" -> r._4)

  def fileJson(name: String, codec: String, cp: Checkpoint): Json = {
    val g = cp.graph
    val kafka = g.getInputStreams().filter(_.getClass.getName.endsWith("DirectKafkaInputDStream")).sortBy(_.id).map { s =>
      val strategy = call(s, "consumerStrategy")
      val sname = strategy.getClass.getSimpleName
      val kp = call(strategy, "kafkaParams").asInstanceOf[java.util.Map[String, Object]].asScala.toSeq.sortBy(_._1)
      val ekp = call(s, "executorKafkaParams").asInstanceOf[java.util.Map[String, Object]].asScala.toSeq.sortBy(_._1)
      val cur = call(s, "currentOffsets").asInstanceOf[scala.collection.Map[TopicPartition, Long]].toSeq
        .sortBy { case (tp, _) => (tp.topic, tp.partition) }
      val queue = call(s, "commitQueue").asInstanceOf[java.util.concurrent.ConcurrentLinkedQueue[OffsetRange]].asScala.toSeq
      // batchForTime is the Kafka checkpoint data's own view of its `data` map
      val bft = call(s.checkpointData, "batchForTime").asInstanceOf[mutable.HashMap[Time, Array[(String, Int, Long, Long)]]]
        .toSeq.sortBy(_._1.milliseconds)
      val which: Seq[(String, Json)] = sname match {
        case "Subscribe" => Seq("topics" -> arr(call(strategy, "topics").asInstanceOf[java.util.Collection[String]].asScala.toSeq.map(JStr(_))))
        case "Assign" => Seq("topicPartitions" -> arr(call(strategy, "topicPartitions").asInstanceOf[java.util.Collection[TopicPartition]]
          .asScala.toSeq.map(tp => obj("topic" -> tp.topic, "partition" -> tp.partition))))
        case _ => Nil
      }
      JObj(Seq[(String, Json)]("id" -> s.id, "consumerStrategy" -> sname) ++ which ++ Seq[(String, Json)](
        "kafkaParams" -> JObj(kp.map { case (k, v) => k -> paramJson(v) }),
        "executorKafkaParams" -> JObj(ekp.map { case (k, v) => k -> paramJson(v) }),
        "currentOffsets" -> arr(cur.map { case (tp, o) => obj("topic" -> tp.topic, "partition" -> tp.partition, "offset" -> o) }),
        "commitQueue" -> arr(queue.map(r => range((r.topic, r.partition, r.fromOffset, r.untilOffset)))),
        "batchForTime" -> arr(bft.map { case (t, rs) => obj("time" -> t.milliseconds, "ranges" -> arr(rs.toSeq.map(range))) })))
    }
    val kafkaIds = kafka.size
    val streams = mutable.LinkedHashSet[org.apache.spark.streaming.dstream.DStream[_]]()
    def walk(s: org.apache.spark.streaming.dstream.DStream[_]): Unit = if (streams.add(s)) s.dependencies.foreach(walk)
    g.getOutputStreams().foreach(walk)
    val rdds = streams.toSeq.filterNot(_.getClass.getName.endsWith("DirectKafkaInputDStream")).flatMap { s =>
      s.checkpointData.currentCheckpointFiles.toSeq.collect { case (t, p: String) => (t.milliseconds, p) }
    }.sortBy(_._1)
    obj(
      "file" -> name, "codec" -> codec,
      "checkpointTime" -> cp.checkpointTime.milliseconds,
      "master" -> cp.master, "appName" -> cp.framework, "checkpointDir" -> cp.checkpointDir,
      "checkpointDuration" -> cp.checkpointDuration.milliseconds, "batchDuration" -> g.batchDuration.milliseconds,
      "pendingTimes" -> arr(cp.pendingTimes.toSeq.map(_.milliseconds).sorted.map(JNum(_))),
      "jars" -> arr(cp.jars.map(JStr(_))),
      "sparkConf" -> JObj(cp.sparkConfPairs.toSeq.sortBy(_._1).filter(p => p._1.startsWith("spark.streaming.") ||
        Set("spark.master", "spark.app.name", "spark.io.compression.codec")(p._1)).map { case (k, v) => k -> (v: Json) }),
      "rddCheckpoints" -> arr(rdds.map { case (t, p) => obj("time" -> t, "path" -> p) }),
      "kafka" -> arr(kafka))
  }

  /** Two-space indented JSON, so fixtures review well. */
  def pretty(j: Json, indent: String = ""): String = j match {
    case JArr(items) if items.nonEmpty && items.exists(_.isInstanceOf[JObj]) =>
      items.map(i => indent + "  " + pretty(i, indent + "  ")).mkString("[\n", ",\n", "\n" + indent + "]")
    case JObj(fields) if fields.nonEmpty =>
      fields.map { case (k, v) => indent + "  " + JStr(k).render + ": " + pretty(v, indent + "  ") }.mkString("{\n", ",\n", "\n" + indent + "}")
    case other => other.render
  }
}
