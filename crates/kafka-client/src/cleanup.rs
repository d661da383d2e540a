//! What cleaning up after a lab needs besides deleting topics: ListGroups (`kafka-consumer-groups
//! --list`) and DeleteGroups (`kafka-consumer-groups --delete`), after removing the group's members.

use crate::{wire, Kafka, OpError, Result};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use protocol::ErrorCode;

const V_LIST_GROUPS: i16 = 4;
const V_DELETE_GROUPS: i16 = 2;

impl Kafka {
    /// Every group the broker knows (classic and consumer groups), sorted.
    pub async fn list_groups(&self) -> Result<Vec<String>> {
        let resp: ListGroupsResponse = self.call(ApiKey::ListGroups, V_LIST_GROUPS, &ListGroupsRequest::default()).await?;
        if let Some(e) = wire::error_name(resp.error_code) {
            return Err(OpError::new(ErrorCode::Kafka, format!("ListGroups: {e}")));
        }
        let mut groups: Vec<String> = resp.groups.into_iter().map(|g| g.group_id.0.to_string()).collect();
        groups.sort();
        Ok(groups)
    }

    /// Removes the group's members (LeaveGroup on their behalf, as `--delete` needs an empty group),
    /// then deletes it. Returns Kafka's error name when the group could not be deleted.
    pub async fn delete_group(&self, group: &str) -> Result<Option<String>> {
        let (_, _, _, members) = self.describe_group_raw(group).await?;
        for m in &members {
            self.leave_group(group, &m.member_id).await?;
        }
        let req = DeleteGroupsRequest::default().with_groups_names(vec![GroupId(StrBytes::from_string(group.to_string()))]);
        let resp: DeleteGroupsResponse = self.retry_coordinator(group, || self.call(ApiKey::DeleteGroups, V_DELETE_GROUPS, &req)).await?;
        Ok(resp.results.into_iter().find_map(|r| wire::error_name(r.error_code)).filter(|e| e != "GROUP_ID_NOT_FOUND"))
    }
}
