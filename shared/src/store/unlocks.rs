//! Pay-per-event unlock: on a plan whose events are paid for one by one, an event's dashboard
//! data opens once its quote is paid.
//!
//! One item per event (`T#{t}` / `UNLOCK#{event_id}`) holds its latest quote (frozen: staff ×
//! days × the plan's rate when it was made, valid until `expires_at`) and, once paid, when and by
//! which payment it was unlocked. Unlocking is one transaction with the payment's record (`paid`)
//! conditioned on the event not being unlocked yet, so it happens once, whoever hears of the
//! payment first (the unlock's own answer or the provider's webhook, however often redelivered).

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::audit::AuditEntry;
use super::billing::{Payment, Subscription};
use super::{Store, key, keys, s, value};
use crate::Error;

/// An event's price to unlock, frozen when it was asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Quote {
    /// Named by `POST /events/{event_id}/unlock`.
    pub id: String,
    pub event_id: String,
    /// Places over the event's days (each shift's headcount on the day it starts; cancelled
    /// shifts left out): the "staff × days".
    pub staff_days: u32,
    /// The plan's price per place per day, in minor units of `currency`.
    pub staff_day_minor: i64,
    /// `staff_days × staff_day_minor`.
    pub amount_minor: i64,
    /// ISO 4217, upper case.
    pub currency: String,
    pub created_at: String,
    /// After this it cannot be paid: ask for a new quote.
    pub expires_at: String,
}

/// Where an event stands on a plan whose events are paid for one by one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EventUnlock {
    pub event_id: String,
    /// The latest quote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quote: Option<Quote>,
    /// When it was unlocked (its dashboard data opened); none while locked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unlocked_at: Option<String>,
    /// The payment that unlocked it (`pi_…`; none for a quote of nothing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<String>,
}

/// Refuses an event's dashboard data (its cost figures, attendance list and exports) with `402
/// payment_required` while the event is locked: on a plan that charges per event
/// (`subscription.event_unlock`), until it is unlocked. The answer carries the latest quote while
/// it can still be paid (at `now`).
pub fn require_unlocked(
    subscription: Option<&Subscription>,
    unlock: Option<EventUnlock>,
    now: &str,
) -> Result<(), Error> {
    let charged = subscription.is_some_and(|subscription| subscription.event_unlock.is_some());
    let unlock = unlock.unwrap_or_default();
    if !charged || unlock.unlocked_at.is_some() {
        return Ok(());
    }
    let quote = unlock.quote.filter(|quote| quote.expires_at.as_str() > now);
    Err(Error::PaymentRequired { quote: quote.map(Box::new) })
}

fn unlock_key(tenant_id: &str, event_id: &str) -> super::Item {
    key(keys::tenant(tenant_id), keys::event_unlock_sk(event_id))
}

impl Store {
    /// The event's unlock item: its latest quote, and whether it is unlocked.
    pub async fn event_unlock(&self, tenant_id: &str, event_id: &str) -> Result<Option<EventUnlock>, Error> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(unlock_key(tenant_id, event_id)))
            .consistent_read(true)
            .send()
            .await?;
        output.item.map(super::from_item).transpose()
    }

    /// Keeps `quote` as the event's latest, unless the event is unlocked already (`false`).
    pub async fn quoted(&self, tenant_id: &str, quote: &Quote) -> Result<bool, Error> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(unlock_key(tenant_id, &quote.event_id)))
            .update_expression("SET event_id = :event_id, quote = :quote")
            .condition_expression("attribute_not_exists(unlocked_at)")
            .expression_attribute_values(":event_id", s(&quote.event_id))
            .expression_attribute_values(":quote", value(quote)?)
            .send()
            .await;
        super::written(result)
    }

    /// Unlocks the event at `at`, with the payment that paid for it (none for a quote of
    /// nothing) recorded as paid and the audit entry, in one transaction refused when the event
    /// is unlocked already or the payment recorded as paid already. `true` when it was unlocked
    /// now.
    pub async fn unlock_event(
        &self,
        tenant_id: &str,
        event_id: &str,
        payment: Option<(&Payment, i64)>,
        at: &str,
        audit: &AuditEntry,
    ) -> Result<bool, Error> {
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(unlock_key(tenant_id, event_id)))
            .update_expression("SET event_id = :event_id, unlocked_at = :at, payment_id = :payment")
            .condition_expression("attribute_not_exists(unlocked_at)")
            .expression_attribute_values(":event_id", s(event_id))
            .expression_attribute_values(":at", s(at));
        update = match payment {
            Some((payment, _)) => update.expression_attribute_values(":payment", s(&payment.id)),
            None => update.update_expression("SET event_id = :event_id, unlocked_at = :at"),
        };
        let mut items = vec![
            TransactWriteItem::builder().update(update.build().map_err(Error::internal)?).build(),
            self.audit_put(audit)?,
        ];
        if let Some((payment, said_at)) = payment {
            items.push(self.paid_once(payment, said_at)?);
        }
        let mut sold = BTreeMap::from([("events_unlocked".to_owned(), 1)]);
        if let Some((payment, _)) = payment {
            sold.insert(format!("unlock_sales_{}", payment.currency), payment.amount_minor);
        }
        items.extend(self.revenue_items(&BTreeMap::new(), &at[..7], &sold)?);
        Ok(self.transact(items).await?.is_ok())
    }
}
