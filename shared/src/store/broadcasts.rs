//! Emergency broadcasts: one message to everyone on a shift of an event or a location now, on
//! every channel each of them has. A broadcast is a partition of its own
//! (`T#{t}#BROADCAST#{id}`): the broadcast itself (`BROADCAST`: what, where, who sent it, and the
//! people it went to once the notifier fanned it out) and a line per person and channel
//! (`LINE#{person}#{channel}`) that the notifier writes as it tries them (and a delivery report
//! moves on), so one Query answers who has been reached and who not yet. Broadcasts are listed,
//! newest first, from gsi1 (`T#{t}#BROADCASTS`, by id).

use aws_sdk_dynamodb::types::TransactWriteItem;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::entities::Filter;
use super::notifications::DeliveryStatus;
use super::page::{Index, Page, PageRequest};
use super::{Store, from_item, key, keys, n, put_new, s, to_item, written};
use crate::Error;
use crate::notify::ChannelKind;

const BROADCAST_SK: &str = "BROADCAST";

/// Where a broadcast goes: the people on a shift of this event, at this location, or both (the
/// event's shifts at the location), now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Scope {
    pub event_id: Option<String>,
    pub location_id: Option<String>,
}

/// One person a broadcast went to, with the channels it went by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Recipient {
    pub person_id: String,
    pub name: String,
    pub channels: Vec<ChannelKind>,
}

/// A broadcast as stored.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Broadcast {
    pub id: String,
    pub tenant_id: String,
    pub scope: Scope,
    /// The event's or location's name when it was sent.
    pub place: String,
    pub message: String,
    /// Urgent: sent on every channel at once, whatever the person opted out of.
    pub urgent: bool,
    pub sent_by: String,
    pub sent_by_name: String,
    pub created_at: String,
    /// The people it went to, once the notifier worked them out (empty until then).
    #[serde(default)]
    pub recipients: Vec<Recipient>,
    /// When the notifier worked out the people and queued their messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fanned_out_at: Option<String>,
}

/// A broadcast in the organisation's list (who it reached: `GET /broadcasts/{id}`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BroadcastSummary {
    pub id: String,
    pub scope: Scope,
    pub place: String,
    pub message: String,
    pub urgent: bool,
    pub sent_by: String,
    pub sent_by_name: String,
    pub created_at: String,
    pub fanned_out_at: Option<String>,
    /// How many people it went to (none until the notifier worked them out).
    pub recipients_count: Option<usize>,
}

/// What became of a broadcast on one channel of one person.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Line {
    pub person_id: String,
    pub channel: ChannelKind,
    pub status: DeliveryStatus,
    /// Why it failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    pub at: String,
}

/// The key of a broadcast's line of `person_id` on `channel`.
pub fn line_key(tenant_id: &str, broadcast_id: &str, person_id: &str, channel: ChannelKind) -> (String, String) {
    (keys::broadcast(tenant_id, broadcast_id), format!("LINE#{person_id}#{}", channel.as_str()))
}

impl Store {
    /// The broadcast's put, new only, for the transaction that sends it.
    pub fn broadcast_put(&self, broadcast: &Broadcast) -> Result<TransactWriteItem, Error> {
        let item = to_item(
            broadcast,
            &[
                ("pk", keys::broadcast(&broadcast.tenant_id, &broadcast.id)),
                ("sk", BROADCAST_SK.to_owned()),
                ("gsi1pk", keys::broadcasts(&broadcast.tenant_id)),
                ("gsi1sk", broadcast.id.clone()),
            ],
        )?;
        put_new(&self.table, item)
    }

    /// The broadcast and its lines: one Query of its partition (every page).
    pub async fn broadcast(&self, tenant_id: &str, id: &str) -> Result<Option<(Broadcast, Vec<Line>)>, Error> {
        let query = self
            .client
            .query()
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(keys::broadcast(tenant_id, id)));
        let mut broadcast = None;
        let mut lines = Vec::new();
        for item in self.every(query).await? {
            if item.get("sk").and_then(|sk| sk.as_s().ok()).is_some_and(|sk| sk == BROADCAST_SK) {
                broadcast = Some(from_item(item)?);
            } else {
                lines.push(from_item(item)?);
            }
        }
        Ok(broadcast.map(|broadcast| (broadcast, lines)))
    }

    /// The organisation's broadcasts, newest first (gsi1; one Query): all, or those sent to some
    /// `locations` (the partition read, the rest filtered out).
    pub async fn broadcasts(
        &self,
        tenant_id: &str,
        locations: Option<&[String]>,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<Page<BroadcastSummary>, Error> {
        let Some(locations) = locations else {
            return self.newest_first(Index::Gsi1, keys::broadcasts(tenant_id), "", limit, cursor).await;
        };
        let partition = keys::broadcasts(tenant_id);
        let request = PageRequest::new(limit, cursor, Index::Gsi1, &partition)?;
        let query = self
            .client
            .query()
            .key_condition_expression("gsi1pk = :pk")
            .expression_attribute_values(":pk", s(partition))
            .scan_index_forward(false);
        let (query, filtered) = Filter::default().and_among("scope.location_id", locations).apply(query);
        self.page(query, request, Index::Gsi1, filtered).await
    }

    /// Keeps the people a broadcast went to, once: `false` when they were kept before (a fan-out
    /// run again keeps the first list, so each person is sent to once).
    pub async fn broadcast_fanned_out(
        &self,
        tenant_id: &str,
        id: &str,
        recipients: &[Recipient],
        at: &str,
    ) -> Result<bool, Error> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::broadcast(tenant_id, id), BROADCAST_SK)))
            .update_expression("SET recipients = :recipients, recipients_count = :count, fanned_out_at = :at")
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(fanned_out_at)")
            .expression_attribute_values(":recipients", serde_dynamo::to_attribute_value(recipients)?)
            .expression_attribute_values(":count", n(recipients.len()))
            .expression_attribute_values(":at", s(at))
            .send()
            .await;
        written(result)
    }

    /// Writes (or rewrites) a line of a broadcast: the notifier's latest attempt.
    pub async fn record_broadcast_line(&self, tenant_id: &str, broadcast_id: &str, line: &Line) -> Result<(), Error> {
        let (pk, sk) = line_key(tenant_id, broadcast_id, &line.person_id, line.channel);
        let item = to_item(line, &[("pk", pk), ("sk", sk)])?;
        self.client.put_item().table_name(&self.table).set_item(Some(item)).send().await?;
        Ok(())
    }
}
