//! What the notifier keeps: a marker per sent envelope (idempotency), the organisation's
//! message credits, and the log of every attempt (`GET /notifications`).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::page::{Index, Page};
use super::{Store, key, keys, n, to_item, written};
use crate::Error;
use crate::notify::Kind;

/// Markers outlive any redelivery (SQS keeps a message at most 14 days).
const MARKER_SECS: i64 = 14 * 24 * 3600;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Sent,
    /// The organisation had no message credits left.
    SkippedNoCredit,
    /// The recipient opted out of this kind.
    OptedOut,
    /// The channel refused it; the queue retries it, then keeps it in the dead-letter queue.
    Failed,
}

/// One delivery attempt, as admins read it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Notification {
    /// The envelope's id.
    pub id: String,
    pub tenant_id: String,
    pub kind: Kind,
    pub recipient: String,
    pub person_id: Option<String>,
    pub status: DeliveryStatus,
    pub at: String,
}

impl Store {
    /// Claims the sending of envelope `id`: `false` when it was claimed before (a redelivery).
    /// One conditional put, so two concurrent deliveries cannot both send.
    pub async fn claim_delivery(&self, id: &str, now: i64) -> Result<bool, Error> {
        self.claim_once(keys::delivery(id), keys::DELIVERY_SK, now + MARKER_SECS).await
    }

    /// Gives the claim back after a failed send, so the retry may send.
    pub async fn release_delivery(&self, id: &str) -> Result<(), Error> {
        self.release_once(keys::delivery(id), keys::DELIVERY_SK).await
    }

    /// Takes one message credit: `false` when none is left. One conditional write.
    pub async fn take_credit(&self, tenant_id: &str) -> Result<bool, Error> {
        written(
            self.client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key(keys::tenant(tenant_id), keys::TENANT_SK)))
                .update_expression("SET message_credits = message_credits - :one")
                .condition_expression("message_credits >= :one")
                .expression_attribute_values(":one", n(1))
                .send()
                .await,
        )
    }

    /// Gives a credit back (the message was not sent after all).
    pub async fn return_credit(&self, tenant_id: &str) -> Result<(), Error> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::tenant(tenant_id), keys::TENANT_SK)))
            .update_expression("SET message_credits = message_credits + :one")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":one", n(1))
            .send()
            .await?;
        Ok(())
    }

    pub async fn record_notification(&self, notification: &Notification) -> Result<(), Error> {
        let item = to_item(
            notification,
            &[
                ("pk", keys::notifications(&notification.tenant_id)),
                ("sk", format!("{}#{}", notification.at, notification.id)),
            ],
        )?;
        self.client.put_item().table_name(&self.table).set_item(Some(item)).send().await?;
        Ok(())
    }

    /// The organisation's delivery attempts, newest first.
    pub async fn notifications(
        &self,
        tenant_id: &str,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<Page<Notification>, Error> {
        self.newest_first(Index::Table, keys::notifications(tenant_id), "", limit, cursor).await
    }
}
