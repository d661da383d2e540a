// Spark's batch clock (`spark.streaming.clock`) driven by the scenario driver, so batches happen at scenario time.
package org.apache.spark.streaming.offsetlab

import java.nio.charset.StandardCharsets
import java.nio.file.{Files, Paths}

import org.apache.spark.util.Clock

/** The time is the number in the file named by the system property `offsetlab.clock`, which only the driver writes
 *  (with a rename, so a read never sees half a number). Spark reads this clock for every batch time: `JobGenerator`'s
 *  `RecurringTimer` waits on it, `getStartTime`/`getRestartTime` round it to the grid, `JobScheduler` stamps job
 *  times with it. Everything else (Kafka's clients and broker, timeouts) keeps the wall clock.
 *
 *  The driver never moves the clock past an instant before Spark has finished what is due at that instant, which is
 *  what the engine does in zero time; a slow machine therefore delays a run but cannot change its trace.
 *  Not a `ManualClock`: `JobGenerator.restart` would jump a ManualClock back to the checkpoint's time. */
class ScenarioClock extends Clock {
  override def getTimeMillis(): Long = ScenarioClock.now()
  override def nanoTime(): Long = System.nanoTime()
  override def waitTillTime(targetTime: Long): Long = {
    var t = ScenarioClock.now()
    while (t < targetTime) { Thread.sleep(2); t = ScenarioClock.now() }
    t
  }
}

object ScenarioClock {
  private lazy val file = Paths.get(Option(System.getProperty("offsetlab.clock"))
    .getOrElse(throw new IllegalStateException("spark.streaming.clock is ScenarioClock but -Doffsetlab.clock is not set")))
  @volatile private var last = Long.MinValue

  def now(): Long = {
    // the driver renames a new file into place; a read between its two steps keeps the previous value
    val t = try new String(Files.readAllBytes(file), StandardCharsets.UTF_8).trim.toLong catch { case _: Exception => last }
    if (t == Long.MinValue) throw new IllegalStateException(s"no scenario clock in $file")
    last = t
    t
  }

}
