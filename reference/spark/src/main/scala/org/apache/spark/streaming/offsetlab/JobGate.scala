// Holds Spark's job threads at the two points where Spark races its own JobGenerator thread (harness only).
package org.apache.spark.streaming.offsetlab

import java.util.concurrent.{LinkedBlockingQueue, ThreadPoolExecutor, TimeUnit}

import scala.collection.mutable

import org.apache.spark.streaming.StreamingContext
import org.apache.spark.streaming.scheduler.{Job, JobScheduler}

/** Spark runs a batch's jobs on `streaming-job-executor` while its JobGenerator thread goes on, so several orders
 *  are possible in Spark and the engine has one of them:
 *  - a timer batch: `DoCheckpoint(T)` (the generation checkpoint) is taken after `submitJobSet(T)`; when the jobs
 *    are quick and the event loop slow, the "generation" checkpoint already shows T completed and its ranges queued;
 *  - a recovery: `restart()` generates the rescheduled batches one after another while the first ones already run,
 *    so which queued ranges the first compute's `commitAll` drains depends on how long the consumer took to create;
 *  - the rescheduled batches' jobs run back to back while the loop takes each one's completion checkpoint, so a
 *    checkpoint may or may not hold the next batch's queued ranges;
 *  - after a job fails, the batches already handed to the job thread go on running (and failing) until the
 *    application's `ssc.stop` gets there.
 *  The gate picks the order the engine models (the one an idle machine shows, and an application that stops at
 *  once): one batch at a time — a batch's jobs start once its generation checkpoint is submitted to the writer
 *  (timer batches), once `restart()` has generated every rescheduled batch (recovery), and once the batch before
 *  it has finished all its jobs and had its completion checkpoint submitted; after an error (a failed job) no
 *  further batch starts, and the application stops once the batch in flight is over. It only delays jobs and the
 *  stop; what they do is Spark's (docs/reference-harness.md, "Spark's own races"). */
object JobGate {
  /** Job sets not started yet, in submission order: (time, handlers). */
  private val held = mutable.ArrayBuffer[(Long, mutable.ArrayBuffer[Runnable])]()
  private val submittedCheckpoints = mutable.Map[Long, Int]().withDefaultValue(0)
  private val finishedJobs = mutable.Map[Long, Int]().withDefaultValue(0)
  /** Whether a batch's last job to finish succeeded: then Spark completes the batch (docs/known-differences.md §3). */
  private val lastJobOk = mutable.Map[Long, Boolean]()
  private var running: Option[(Long, Int)] = None // the released batch and its number of jobs
  @volatile private var recovering = false
  @volatile private var checkpointing = false
  @volatile private var failed = false
  @volatile private var executor: Gated = _
  /** Jobs per batch: one per output operation. */
  @volatile private var jobsPerBatch = 1

  /** After getOrCreate, before ssc.start(): the JobScheduler's executor becomes a gated one (same size, same names). */
  def install(ssc: StreamingContext): Unit = {
    recovering = ssc.isCheckpointPresent
    checkpointing = ssc.checkpointDir != null
    jobsPerBatch = ssc.graph.getOutputStreams().length
    val f = classOf[JobScheduler].getDeclaredField("jobExecutor")
    f.setAccessible(true)
    val old = f.get(ssc.scheduler).asInstanceOf[ThreadPoolExecutor]
    executor = new Gated(old.getCorePoolSize, old.getThreadFactory)
    f.set(ssc.scheduler, executor)
    old.shutdown()
  }

  /** CheckpointWriter: `Submitted checkpoint of time T ms to writer queue` (the content is taken by then). */
  def checkpointSubmitted(t: Long): Unit = synchronized { submittedCheckpoints(t) += 1; release(); notifyAll() }
  /** JobGenerator: `Restarted JobGenerator at T ms` (every rescheduled batch is generated). */
  def restarted(): Unit = synchronized { recovering = false; release() }
  /** JobScheduler: `Finished job streaming job T.N`. */
  def jobFinished(t: Long, ok: Boolean): Unit = synchronized {
    finishedJobs(t) += 1; lastJobOk(t) = ok
    // the scheduler reports a failure through its event loop, later (after the batch may have completed): the
    // gate must not start the next batch in between
    if (!ok) failed = true
    release(); notifyAll()
  }
  /** An error reached the scheduler: the application stops; nothing more starts. */
  def error(): Unit = synchronized { failed = true }

  private def rerun(t: Long) = Instrument.rescheduled.contains(t)

  /** The released batch is over: all its jobs finished and, if it completed (its last job succeeded) and
   *  checkpointing is on, its completion checkpoint submitted. */
  private def previousDone: Boolean = running.forall { case (t, n) =>
    finishedJobs(t) >= n && (!checkpointing || !lastJobOk.getOrElse(t, true) || submittedCheckpoints(t) >= (if (rerun(t)) 1 else 2))
  }

  /** The application's reaction to an error (`ssc.stop`) waits until the batch in flight is over: its jobs have
   *  finished and, if it completed, its completion checkpoint is submitted. Otherwise the stop races the last
   *  jobs and the checkpoint (seen: a completed batch's checkpoint written in one run, lost in the next); the
   *  engine, like an idle machine, finishes the batch first. */
  def awaitBatchOver(ms: Long): Unit = synchronized {
    val end = System.currentTimeMillis() + ms
    while (!previousDone && System.currentTimeMillis() < end) wait(20)
  }

  private def release(): Unit = if (!failed && !recovering && previousDone) held.headOption.foreach { case (t, rs) =>
    // submitJobSet hands a batch's jobs over one by one: release them together
    if (rs.size >= jobsPerBatch && (!checkpointing || rerun(t) || submittedCheckpoints(t) >= 1)) {
      held.remove(0)
      running = Some((t, rs.size))
      rs.foreach(executor.run)
    }
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
      t match {
        case Some(time) => JobGate.synchronized {
          // submitJobSet hands over a batch's jobs one after another: they stay together
          held.find(_._1 == time) match {
            case Some((_, rs)) => rs += r
            case None => held += ((time, mutable.ArrayBuffer(r)))
          }
          release()
        }
        case None => super.execute(r)
      }
    }
    private[JobGate] def run(r: Runnable): Unit = super.execute(r)
  }
}
