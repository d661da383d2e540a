// The Kafka source's own clock for minOffsetsPerTrigger / maxTriggerDelay (`KafkaMicroBatchStream.clock`) set to the
// scenario clock: with the source option `_mockSystemTime` (KafkaSourceProvider.MOCK_SYSTEM_TIME, Spark's test hook
// for this clock) the stream reads `MockedSystemClock.currentMockSystemTime` instead of the wall clock.
package org.apache.spark.sql.kafka010

object OffsetLabSourceClock {
  /** The source option that makes `KafkaMicroBatchStream` read the mocked clock. */
  val Option: String = KafkaSourceProvider.MOCK_SYSTEM_TIME

  def set(ms: Long): Unit = MockedSystemClock.currentMockSystemTime = ms
}
