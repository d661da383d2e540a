//! `--bootstrap host:port`: the prediction's facts read from a live Kafka through `kafka_client`
//! (Metadata + ListOffsets per topic, DescribeGroups + OffsetFetch per group).

use std::collections::BTreeSet;

use kafka_client::Kafka;
use spark_checkpoint::predict::{Committed, Facts, GroupFacts, PartitionLog};

/// The facts of these topics and groups (a Structured Streaming checkpoint names topics only).
pub fn facts_for(bootstrap: &str, topics: BTreeSet<String>, groups: BTreeSet<String>) -> Result<Facts, String> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| format!("tokio: {e}"))?;
    rt.block_on(async {
        let kafka = Kafka::new(bootstrap);
        kafka.ping().await.map_err(|e| format!("Kafka at {bootstrap}: {e}"))?;
        let listed = kafka.list_topics().await.map_err(|e| format!("Kafka at {bootstrap}: list topics: {}", e.message))?;
        let mut facts = Facts::default();
        for t in topics {
            // A topic the broker does not list does not exist: that is a fact, not an error.
            if !listed.iter().any(|l| l.topic == t) {
                facts.topics.insert(t, None);
                continue;
            }
            let parts = kafka.describe_topic(&t).await.map_err(|e| format!("describe topic {t}: {}", e.message))?;
            let logs =
                parts.into_iter().map(|p| PartitionLog { partition: p.partition, log_start: p.log_start, log_end: p.log_end }).collect();
            facts.topics.insert(t, Some(logs));
        }
        for g in groups {
            let d = kafka.describe_group(&g).await.map_err(|e| format!("describe group {g}: {}", e.message))?;
            let committed = d
                .offsets
                .iter()
                .filter_map(|o| o.committed.map(|offset| Committed { topic: o.topic.clone(), partition: o.partition, offset }))
                .collect();
            facts.groups.insert(g, GroupFacts { state: Some(d.state), committed });
        }
        Ok(facts)
    })
}
