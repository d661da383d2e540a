// Per-run topic and group names on the shared broker that keep the scenario name's String.hashCode.
package offsetlab

import scala.collection.mutable

/** Runs share one broker, so each names its topics and groups `<name>-ref<run><7 chars>`. The seven characters are
 *  chosen so that the real name's `String.hashCode` equals the scenario name's: `TopicPartition.hashCode`, and with
 *  it the iteration order of every Java and Scala collection Spark and Kafka's tools keep partitions in, is then
 *  the one the engine computes for the unsuffixed name. So the order of a revoked list, of a tool's table rows or
 *  of an offsets JSON is judged, not normalised away. */
final class RunNames(val base: String) {
  private val known = mutable.Map[String, String]()

  def real(name: String): String = synchronized(known.getOrElseUpdate(name, RunNames.hashKeeping(name, base)))

  /** A Java regex for any real name this run gives: `pattern` followed by the suffix (for `subscribePattern`). */
  def pattern(pattern: String): String = pattern + java.util.regex.Pattern.quote(base) + s"[${RunNames.alphabet.mkString}]{${RunNames.width}}"
}

object RunNames {
  def forThisRun(): RunNames = new RunNames(s"-ref${System.currentTimeMillis() % 1000000}")

  private val alphabet: Seq[Char] = ('0' to '9') ++ ('A' to 'Z') ++ ('a' to 'z')
  private val width = 7
  // every three-character string by its hash (238 328 strings, about 73 000 hashes)
  private lazy val threes: Map[Int, String] =
    (for (a <- alphabet; b <- alphabet; c <- alphabet) yield { val s = new String(Array(a, b, c)); s.hashCode -> s }).toMap

  /** `name + base + x`, x seven characters of [0-9A-Za-z] such that the whole has `name.hashCode`.
   *  hash(p + x) = hash(p)·31⁷ + hash(x₁..₄)·31³ + hash(x₅..₇) (mod 2³²): the four are walked until the three that
   *  close the gap exist (a few thousand tries). */
  def hashKeeping(name: String, base: String): String = {
    val prefix = name + base
    val p7 = BigInt(31).pow(7).intValue
    val rest = name.hashCode - prefix.hashCode * p7
    val found = alphabet.iterator.flatMap(a => alphabet.iterator.flatMap(b => alphabet.iterator.flatMap(c => alphabet.iterator.map(d => new String(Array(a, b, c, d))))))
      .flatMap(four => threes.get(rest - four.hashCode * 29791).map(four + _))
    if (!found.hasNext) throw new IllegalStateException(s"no hash-keeping suffix for $name$base")
    val real = prefix + found.next()
    require(real.hashCode == name.hashCode, s"$real: hash ${real.hashCode} is not $name's ${name.hashCode}")
    real
  }
}
