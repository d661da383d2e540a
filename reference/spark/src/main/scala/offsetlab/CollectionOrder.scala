// The JVM's own iteration order of the collections Spark and kafka-clients keep partitions in, printed for
// crates/engine/src/scala_order.rs to be judged against (crates/engine/tests/fixtures/collection-order.jsonl).
package offsetlab

import org.apache.kafka.common.TopicPartition

import scala.collection.mutable
import scala.jdk.CollectionConverters._

/** `offsetlab.CollectionOrder <out.jsonl>`: one line per (collection, topic, partition count), keys added in
 *  ascending partition order as Spark and the clients add them. The cases live here and only here: the Rust test
 *  reads them from the file and recomputes each order. */
object CollectionOrder {
  // several topic names (the shipped scenarios' and others), partition counts on both sides of every table resize
  private val topics = Seq("words", "events-a", "events-b", "orders", "shopping_transaction", "t", "clicks.v2")
  private val counts = Seq(1, 3, 4, 5, 8, 11, 12, 13, 24, 25)

  private def offset(p: Int): Long = 7L * p * p + 3L * p + 5L // distinct, uneven offsets for the tuple hashes

  private def line(kind: String, topic: String, n: Int, order: Seq[Int]): String =
    s"""{"kind":"$kind","topic":"$topic","partitions":$n,"order":[${order.mkString(",")}]}"""

  def cases(): Seq[String] = {
    val out = Seq.newBuilder[String]
    for (t <- topics; n <- counts) {
      val tps = (0 until n).map(p => new TopicPartition(t, p))
      // KafkaConsumer.assignment(): `new HashSet<>(assignedPartitions)`, a copy of a collection
      val copied = new java.util.HashSet[TopicPartition](tps.asJava)
      out += line("java_hash_set_copy", t, n, copied.asScala.toSeq.map(_.partition))
      // a java.util.HashMap filled one key at a time (kafka-consumer-groups' result maps)
      val grown = new java.util.HashMap[TopicPartition, java.lang.Long]()
      tps.foreach(tp => grown.put(tp, offset(tp.partition)))
      out += line("java_hash_map", t, n, grown.keySet.asScala.toSeq.map(_.partition))
      // a Scala 2.13 mutable.HashSet[TopicPartition] (`parts.diff(…)` on a wrapped Java set)
      val ms = mutable.HashSet[TopicPartition]()
      tps.foreach(ms += _)
      out += line("scala_mutable_hash_set", t, n, ms.toSeq.map(_.partition))
      // an immutable Map built key by key (`toMap`, `++`): Map1–Map4, then a HashMap
      val im = tps.map(tp => tp -> offset(tp.partition)).toMap
      out += line("scala_immutable_map", t, n, im.keys.toSeq.map(_.partition))
      // DirectKafkaInputDStream's `parts.map(tp => tp -> c.position(tp)).toMap`, `parts` = the assignment's wrapper
      val viaPairs = copied.asScala.map(tp => tp -> offset(tp.partition)).toMap
      out += line("pairs_to_map", t, n, viaPairs.keys.toSeq.map(_.partition))
      // latestOffsets' `currentOffsets.keySet.diff(parts)` (revoked: here the odd partitions are no longer assigned)
      val parts = new java.util.HashSet[TopicPartition](tps.filter(_.partition % 2 == 0).asJava).asScala
      out += line("revoked", t, n, viaPairs.keySet.diff(parts).toSeq.map(_.partition))
      // and `parts.diff(currentOffsets.keySet)` (new partitions: currentOffsets holds the lower half)
      val known = tps.take(n / 2).map(tp => tp -> 0L).toMap
      out += line("new_partitions", t, n, copied.asScala.diff(known.keySet).toSeq.map(_.partition))
      // JsonUtils.partitionOffsets' inner mutable.HashMap[Int, Long]
      val byInt = mutable.HashMap[Int, Long]()
      tps.foreach(tp => byInt += tp.partition -> offset(tp.partition))
      out += line("scala_mutable_hash_map_int", t, n, byInt.keys.toSeq)
    }
    // JsonUtils.partitionOffsets' outer mutable.HashMap[String, _], over the topic names, sorted first as Spark does
    val byName = mutable.HashMap[String, Int]()
    topics.sorted.foreach(t => byName += t -> 0)
    out += s"""{"kind":"scala_mutable_hash_map_string","names":[${topics.sorted.map(t => "\"" + t + "\"").mkString(",")}],"order":[${byName.keysIterator.map(t => "\"" + t + "\"").mkString(",")}]}"""
    out.result()
  }

  def main(args: Array[String]): Unit = {
    val text = cases().mkString("", "\n", "\n")
    args.headOption match {
      case Some(f) => java.nio.file.Files.write(java.nio.file.Paths.get(f), text.getBytes("UTF-8"))
      case None => print(text)
    }
  }
}
