//! What the notifier keeps: a marker per sent envelope (idempotency), the organisation's
//! messages of this month (its plan's `messages_per_month`, counted on the tenant item) and its
//! message credits, and the log of every attempt (`GET /notifications`).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::credits::{CreditEntry, CreditKind};
use super::page::{Index, Page};
use super::{Store, key, keys, n, s, to_item, value, written};
use crate::Error;
use crate::notify::{ChannelKind, Kind};
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

/// Markers outlive any redelivery (SQS keeps a message at most 14 days).
const MARKER_SECS: i64 = 14 * 24 * 3600;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Sent,
    /// The provider's status callback said it reached the phone (SMS and WhatsApp).
    Delivered,
    /// The organisation had no message credits left.
    SkippedNoCredit,
    /// The recipient opted out of this kind.
    OptedOut,
    /// Inside the recipient's quiet hours: it waits until they end (`detail` says when).
    Deferred,
    /// The channel refused it; the queue retries it, then keeps it in the dead-letter queue.
    Failed,
}

/// How a message was paid for: `credits` (its channel's price) of the plan's messages of
/// `month` (`yyyy-mm`), or of the balance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Charge {
    Allowance { month: String, credits: i64 },
    Credit { credits: i64 },
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
    /// The channel that carried it; for a failed attempt, the last one tried (none when no
    /// channel was tried).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<crate::notify::ChannelKind>,
    /// The provider's id of a message it took (an SMS's `SM…`, a WhatsApp `wamid.…`, an email's
    /// SES message id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_id: Option<String>,
    /// When the provider said it was delivered (or could not be).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reported_at: Option<String>,
    /// Why a failed attempt failed, and when it is tried again; or why the provider could not
    /// deliver it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
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

    /// Pays for envelope `envelope_id` sent on `channel` for `credits`: from the plan's
    /// messages of `month` while they last (the count starts again each month), then from the
    /// balance (a ledger entry naming the channel). Each is one conditional write, exact under
    /// concurrent sends. `None`: neither holds `credits`.
    pub async fn charge_message(
        &self,
        tenant_id: &str,
        month: &str,
        envelope_id: &str,
        channel: ChannelKind,
        credits: i64,
    ) -> Result<Option<Charge>, Error> {
        let tenant = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::tenant(tenant_id), keys::TENANT_SK)))
            .projection_expression("subscription.limits.messages_per_month, messages_month")
            .send()
            .await?
            .item
            .unwrap_or_default();
        let allowance = tenant
            .get("subscription")
            .and_then(|subscription| subscription.as_m().ok()?.get("limits")?.as_m().ok()?.get("messages_per_month"))
            .and_then(|allowance| allowance.as_n().ok()?.parse::<i64>().ok())
            .unwrap_or(0);
        if allowance >= credits {
            let counted = tenant.get("messages_month").and_then(|counted| counted.as_s().ok());
            let charge = Charge::Allowance { month: month.to_owned(), credits };
            // A new month starts its count at this message; if another message started it
            // first, this one counts in it like any other.
            if counted.is_none_or(|counted| counted.as_str() < month)
                && self.month_started(tenant_id, month, credits).await?
            {
                return Ok(Some(charge));
            }
            if self.counted_in(tenant_id, month, credits, allowance).await? {
                return Ok(Some(charge));
            }
        }
        let spend = CreditEntry {
            channel: Some(channel),
            ..CreditEntry::new(tenant_id, CreditKind::Spend, -credits, Some(envelope_id), &crate::clock::Now::get().iso)
        };
        Ok(self.change_credits(&spend).await?.then_some(Charge::Credit { credits }))
    }

    /// Gives back what [`Store::charge_message`] took for `envelope_id` on `channel` (the message
    /// was not sent after all): credits are a `refund` of the ledger.
    pub async fn refund(
        &self,
        tenant_id: &str,
        charge: &Charge,
        envelope_id: &str,
        channel: ChannelKind,
    ) -> Result<(), Error> {
        match charge {
            Charge::Credit { credits } => {
                let refund = CreditEntry {
                    channel: Some(channel),
                    ..CreditEntry::new(
                        tenant_id,
                        CreditKind::Refund,
                        *credits,
                        Some(envelope_id),
                        &crate::clock::Now::get().iso,
                    )
                };
                if self.change_credits(&refund).await? {
                    Ok(())
                } else {
                    Err(Error::internal("the organisation is gone"))
                }
            }
            Charge::Allowance { month, credits } => {
                let update = "SET messages_used = messages_used - :credits";
                let condition = "messages_month = :month AND messages_used >= :credits";
                self.count_on_tenant(tenant_id, update, condition, month, *credits, &[]).await.map(drop)
            }
        }
    }

    /// Starts counting `month` with `credits`, if the count is of an earlier month (or none).
    async fn month_started(&self, tenant_id: &str, month: &str, credits: i64) -> Result<bool, Error> {
        let update = "SET messages_month = :month, messages_used = :credits";
        let condition = "subscription.limits.messages_per_month >= :credits \
                         AND (attribute_not_exists(messages_month) OR messages_month < :month)";
        self.count_on_tenant(tenant_id, update, condition, month, credits, &[]).await
    }

    /// Counts `credits` more in `month`, while the plan's `allowance` a month holds them (a
    /// condition cannot add, so it compares the count with the allowance less `credits`, and
    /// checks the allowance is still the one read).
    async fn counted_in(&self, tenant_id: &str, month: &str, credits: i64, allowance: i64) -> Result<bool, Error> {
        let update = "SET messages_used = messages_used + :credits";
        let condition = "messages_month = :month AND messages_used <= :ceiling \
                         AND subscription.limits.messages_per_month = :allowance";
        let values = [(":ceiling", n(allowance - credits)), (":allowance", n(allowance))];
        self.count_on_tenant(tenant_id, update, condition, month, credits, &values).await
    }

    /// One conditional write of the organisation's message counters (`:month` and `:credits`, and
    /// `values`): `false` when its condition did not hold.
    async fn count_on_tenant(
        &self,
        tenant_id: &str,
        update: &str,
        condition: &str,
        month: &str,
        credits: i64,
        values: &[(&str, AttributeValue)],
    ) -> Result<bool, Error> {
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::tenant(tenant_id), keys::TENANT_SK)))
            .update_expression(update)
            .condition_expression(condition)
            .expression_attribute_values(":month", s(month))
            .expression_attribute_values(":credits", n(credits));
        for (name, value) in values {
            request = request.expression_attribute_values(*name, value.clone());
        }
        written(request.send().await)
    }

    /// Writes a line of the log; one a provider took (`provider_id`) also gets the way back to
    /// it (and to its broadcast's line, `broadcast_line`, if it is one) from the provider's id, for
    /// its status callbacks (kept as long as the marker).
    pub async fn record_notification(
        &self,
        notification: &Notification,
        broadcast_line: Option<(String, String)>,
    ) -> Result<(), Error> {
        let sk = format!("{}#{}", notification.at, notification.id);
        let item = to_item(notification, &[("pk", keys::notifications(&notification.tenant_id)), ("sk", sk.clone())])?;
        let line = self.client.put_item().table_name(&self.table).set_item(Some(item)).send();
        let way_back = notification.provider_id.as_deref().map(|provider_id| {
            let expires_at = crate::clock::Now::get().epoch + MARKER_SECS;
            let mut item = HashMap::from([
                ("pk".to_owned(), s(keys::provider_message(provider_id))),
                ("sk".to_owned(), s(keys::PROVIDER_MESSAGE_SK)),
                ("tenant_id".to_owned(), s(&notification.tenant_id)),
                ("line".to_owned(), s(sk)),
                ("expires_at".to_owned(), n(expires_at)),
            ]);
            if let Some((pk, sk)) = broadcast_line {
                item.extend([("broadcast_pk".to_owned(), s(pk)), ("broadcast_sk".to_owned(), s(sk))]);
            }
            self.client.put_item().table_name(&self.table).set_item(Some(item)).send()
        });
        match way_back {
            Some(way_back) => drop(tokio::try_join!(line, way_back)?),
            None => drop(line.await?),
        }
        Ok(())
    }

    /// What a provider's status callback says of its message `provider_id`: the message's log
    /// line becomes `delivered` (or `failed`, with `detail`) — only from `sent`, so a callback
    /// repeated or out of order changes nothing. Two round trips: the way back, the conditional
    /// update. `false`: no such message, or it was reported before.
    pub async fn delivery_reported(
        &self,
        provider_id: &str,
        status: DeliveryStatus,
        detail: Option<&str>,
        at: &str,
    ) -> Result<bool, Error> {
        let way_back = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::provider_message(provider_id), keys::PROVIDER_MESSAGE_SK)))
            .send()
            .await?
            .item;
        let Some(way_back) = way_back else { return Ok(false) };
        let text = |name: &str| way_back.get(name).and_then(|value| value.as_s().ok()).cloned();
        let (Some(tenant_id), Some(line)) = (text("tenant_id"), text("line")) else { return Ok(false) };
        // The log's line (it names the provider's id), and the broadcast's line if it is one.
        let mut update = "SET #status = :status, reported_at = :at".to_owned();
        if detail.is_some() {
            update.push_str(", detail = :detail");
        }
        let report = |pk: String, sk: String, condition: &str| -> Result<_, Error> {
            let mut request = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key(pk, sk)))
                .update_expression(update.as_str())
                .condition_expression(condition)
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":status", value(&status)?)
                .expression_attribute_values(":sent", value(&DeliveryStatus::Sent)?)
                .expression_attribute_values(":at", s(at));
            if let Some(detail) = detail {
                request = request.expression_attribute_values(":detail", s(detail));
            }
            Ok(request)
        };
        let logged = report(keys::notifications(&tenant_id), line, "#status = :sent AND provider_id = :provider")?
            .expression_attribute_values(":provider", s(provider_id))
            .send();
        match (text("broadcast_pk"), text("broadcast_sk")) {
            (Some(pk), Some(sk)) => {
                let broadcast = report(pk, sk, "#status = :sent")?.send();
                let (logged, broadcast) = tokio::join!(logged, broadcast);
                written(broadcast)?;
                written(logged)
            }
            _ => written(logged.await),
        }
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
