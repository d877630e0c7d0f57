//! An organisation's webhook endpoints and their deliveries.
//!
//! An endpoint is `WHEP#{id}` in the organisation's partition (versioned and audited, as every
//! record there); it holds its signing secret, and after a rotation the old one until it expires.
//! Each message sent to it is a delivery in the endpoint's own partition
//! (`T#{t}#WHEP#{id}#DELIVERIES`, by its `msg_{ulid}` id: newest first read backwards), updated on
//! every attempt.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use aws_sdk_dynamodb::types::{TransactWriteItem, Update};

use super::entities::Filter;
use super::page::{Index, Page};
use super::{Store, from_item, key, keys, n, s, to_item};
use crate::Error;

/// Endpoints an organisation may have, counted on its tenant item (`webhook_endpoints`) by the
/// transaction that adds or removes one.
pub const MAX_ENDPOINTS: i64 = 10;

/// What an endpoint can be told of. `webhook.ping` is the test message, sent to one endpoint
/// when asked, whatever it subscribed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
pub enum EventType {
    #[serde(rename = "shift.published")]
    ShiftPublished,
    #[serde(rename = "shift.changed")]
    ShiftChanged,
    #[serde(rename = "shift.cancelled")]
    ShiftCancelled,
    #[serde(rename = "assignment.accepted")]
    AssignmentAccepted,
    #[serde(rename = "assignment.declined")]
    AssignmentDeclined,
    #[serde(rename = "attendance.checked_in")]
    CheckedIn,
    #[serde(rename = "attendance.checked_out")]
    CheckedOut,
    #[serde(rename = "attendance.corrected")]
    AttendanceCorrected,
    #[serde(rename = "time_off.approved")]
    TimeOffApproved,
    #[serde(rename = "pay_period.closed")]
    PayPeriodClosed,
    #[serde(rename = "person.created")]
    PersonCreated,
    #[serde(rename = "person.deactivated")]
    PersonDeactivated,
    #[serde(rename = "webhook.ping")]
    Ping,
}

/// An endpoint as stored: with its secrets, which only its creation and rotation answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WebhookEndpoint {
    pub id: String,
    pub tenant_id: String,
    pub url: String,
    pub description: Option<String>,
    /// What it is told of; empty for everything.
    pub event_types: Vec<EventType>,
    pub enabled: bool,
    /// Why Rota disabled it (it answered 410 Gone, or failed every retry of a message).
    pub disabled_reason: Option<String>,
    pub secret: String,
    /// The secret before the last rotation, which signs too until `previous_secret_expires_at`.
    pub previous_secret: Option<String>,
    /// Epoch seconds.
    pub previous_secret_expires_at: Option<i64>,
    pub version: u64,
    pub created_at: String,
    pub updated_at: String,
}

crate::entity!(WebhookEndpoint, "WHEP#", "webhook_endpoint");

impl WebhookEndpoint {
    /// Whether it is told of `event`.
    pub fn wants(&self, event: EventType) -> bool {
        self.enabled && (self.event_types.is_empty() || self.event_types.contains(&event))
    }

    /// The secrets that sign a message at `now` (epoch seconds): the current one, and the old one
    /// while it has not expired.
    pub fn signing_secrets(&self, now: i64) -> Vec<&str> {
        let old =
            self.previous_secret.as_deref().filter(|_| self.previous_secret_expires_at.is_some_and(|at| at > now));
        std::iter::once(self.secret.as_str()).chain(old).collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WebhookDeliveryStatus {
    /// Not answered with a 2xx yet; retried on the schedule.
    Pending,
    Succeeded,
    /// Given up: the schedule is spent, or the endpoint is gone or disabled.
    Failed,
}

/// One message to one endpoint, and how its attempts went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Delivery {
    /// The message's id (`webhook-id`), the same on every attempt.
    pub id: String,
    pub endpoint_id: String,
    pub event_type: EventType,
    pub status: WebhookDeliveryStatus,
    pub attempts: u32,
    /// The endpoint's answer to the last attempt, if it answered.
    pub last_status_code: Option<u16>,
    /// Why the last attempt failed, if it did.
    pub last_error: Option<String>,
    /// When the next attempt is due, while pending.
    pub next_attempt_at: Option<String>,
    /// The message as sent: `{type, timestamp, data}`.
    pub payload: serde_json::Value,
    pub created_at: String,
    pub updated_at: String,
}

impl Store {
    /// The organisation's count of endpoints moved by `delta`, for the transaction that adds (at
    /// most up to [`MAX_ENDPOINTS`]: refused beyond) or removes one.
    pub fn endpoint_count_change(&self, tenant_id: &str, delta: i64) -> Result<TransactWriteItem, Error> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::tenant(tenant_id), keys::TENANT_SK)))
            .update_expression("ADD webhook_endpoints :delta")
            .expression_attribute_values(":delta", n(delta));
        let update = if delta > 0 {
            update
                .condition_expression(
                    "attribute_exists(pk) AND (attribute_not_exists(webhook_endpoints) OR webhook_endpoints <= :room)",
                )
                .expression_attribute_values(":room", n(MAX_ENDPOINTS - delta))
        } else {
            update.condition_expression("attribute_exists(pk)")
        };
        Ok(TransactWriteItem::builder().update(update.build().map_err(Error::internal)?).build())
    }

    /// The organisation's endpoints, in creation order (a handful: one page).
    pub async fn webhook_endpoints(&self, tenant_id: &str) -> Result<Vec<WebhookEndpoint>, Error> {
        self.all(tenant_id).await
    }

    /// A delivery as it now is (its first attempt, or a later one): replaced whole.
    pub async fn put_delivery(&self, tenant_id: &str, delivery: &Delivery) -> Result<(), Error> {
        let keys = [("pk", keys::webhook_deliveries(tenant_id, &delivery.endpoint_id)), ("sk", delivery.id.clone())];
        self.client.put_item().table_name(&self.table).set_item(Some(to_item(delivery, &keys)?)).send().await?;
        Ok(())
    }

    pub async fn delivery(&self, tenant_id: &str, endpoint_id: &str, id: &str) -> Result<Option<Delivery>, Error> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::webhook_deliveries(tenant_id, endpoint_id), id)))
            .consistent_read(true)
            .send()
            .await?;
        output.item.map(from_item).transpose()
    }

    /// One page of an endpoint's deliveries, newest first, optionally in one status.
    pub async fn deliveries(
        &self,
        tenant_id: &str,
        endpoint_id: &str,
        status: Option<WebhookDeliveryStatus>,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<Page<Delivery>, Error> {
        let filter = match status {
            Some(status) => {
                Filter::default().and("#status = :status", ("#status", "status"), (":status", super::value(&status)?))
            }
            None => Filter::default(),
        };
        let partition = keys::webhook_deliveries(tenant_id, endpoint_id);
        self.partition_page(Index::Table, partition, filter, false, limit, cursor).await
    }

    /// Disables an endpoint, saying why, unless someone changed it meanwhile (then false).
    pub async fn disable_endpoint(&self, endpoint: &WebhookEndpoint, reason: &str, now: &str) -> Result<bool, Error> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::tenant(&endpoint.tenant_id), format!("WHEP#{}", endpoint.id))))
            .update_expression("SET enabled = :off, disabled_reason = :reason, updated_at = :now ADD version :one")
            .condition_expression("version = :read")
            .expression_attribute_values(":off", aws_sdk_dynamodb::types::AttributeValue::Bool(false))
            .expression_attribute_values(":reason", s(reason))
            .expression_attribute_values(":now", s(now))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":read", n(endpoint.version))
            .send()
            .await;
        super::written(result)
    }
}
