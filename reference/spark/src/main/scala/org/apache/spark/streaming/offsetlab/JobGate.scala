// Holds Spark's job threads at the two points where Spark races its own JobGenerator thread (harness only).
package org.apache.spark.streaming.offsetlab

import java.util.concurrent.{LinkedBlockingQueue, ThreadPoolExecutor, TimeUnit}

import scala.collection.mutable

import org.apache.spark.streaming.StreamingContext
import org.apache.spark.streaming.scheduler.{Job, JobScheduler}

/** Spark runs a batch's jobs on `streaming-job-executor` while its JobGenerator thread goes on, so two orders are
 *  possible in Spark and the engine has one of them:
 *  - a timer batch: `DoCheckpoint(T)` (the generation checkpoint) is taken after `submitJobSet(T)`; when the jobs
 *    are quick and the event loop slow, the "generation" checkpoint already shows T completed and its ranges queued;
 *  - a recovery: `restart()` generates the rescheduled batches one after another while the first ones already run,
 *    so which queued ranges the first compute's `commitAll` drains depends on how long the consumer took to create.
 *  The gate picks the order the engine models (the one an idle machine shows): a timer batch's jobs start once its
 *  generation checkpoint is submitted to the writer, and a recovery's jobs once `restart()` has generated every
 *  rescheduled batch. It only delays jobs; what they do is Spark's (docs/reference-harness.md, "Spark's own races"). */
object JobGate {
  private val held = mutable.ArrayBuffer[(Long, Runnable)]()
  private val generationCheckpointed = mutable.Set[Long]()
  @volatile private var recovering = false
  @volatile private var checkpointing = false
  @volatile private var executor: Gated = _

  /** After getOrCreate, before ssc.start(): the JobScheduler's executor becomes a gated one (same size, same names). */
  def install(ssc: StreamingContext): Unit = {
    recovering = ssc.isCheckpointPresent
    checkpointing = ssc.checkpointDir != null
    val f = classOf[JobScheduler].getDeclaredField("jobExecutor")
    f.setAccessible(true)
    val old = f.get(ssc.scheduler).asInstanceOf[ThreadPoolExecutor]
    executor = new Gated(old.getCorePoolSize, old.getThreadFactory)
    f.set(ssc.scheduler, executor)
    old.shutdown()
  }

  /** CheckpointWriter: `Submitted checkpoint of time T ms to writer queue` (the content is taken by then). */
  def checkpointSubmitted(t: Long): Unit = synchronized {
    generationCheckpointed += t
    release()
  }

  /** JobGenerator: `Restarted JobGenerator at T ms` (every rescheduled batch is generated). */
  def restarted(): Unit = synchronized { recovering = false; release() }

  private def mustHold(t: Long): Boolean =
    recovering || (checkpointing && !Instrument.rescheduled.contains(t) && !generationCheckpointed(t))

  private def release(): Unit = {
    val (go, stay) = held.partition { case (t, _) => !mustHold(t) }
    held.clear(); held ++= stay
    go.foreach { case (_, r) => executor.run(r) }
  }

  private lazy val jobField = {
    val c = Class.forName("org.apache.spark.streaming.scheduler.JobScheduler$JobHandler")
    val f = c.getDeclaredFields.find(_.getType == classOf[Job]).getOrElse(throw new IllegalStateException("JobHandler has no Job field"))
    f.setAccessible(true); f
  }

  final class Gated(threads: Int, factory: java.util.concurrent.ThreadFactory)
      extends ThreadPoolExecutor(threads, threads, 0L, TimeUnit.MILLISECONDS, new LinkedBlockingQueue[Runnable](), factory) {
    override def execute(r: Runnable): Unit = {
      val t = try Some(jobField.get(r).asInstanceOf[Job].time.milliseconds) catch { case _: Exception => None }
      JobGate.synchronized {
        t match {
          case Some(time) if mustHold(time) => held += ((time, r))
          case _ => super.execute(r)
        }
      }
    }
    private[JobGate] def run(r: Runnable): Unit = super.execute(r)
  }
}
