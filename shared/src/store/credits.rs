//! Message credits: the packs the platform sells, and the ledger.
//!
//! The ledger records every change of an organisation's balance (`message_credits` on
//! its tenant item) as an entry (`T#{t}` / `CREDIT#{id}`, ids in time order) written in the same
//! transaction, so the entries always sum to the balance — a grant, a purchase, a spend, a refund
//! — however many happen at once: the balance change keeps its own condition (a spend never takes
//! it below zero) and an entry exists exactly when its change happened.
//!
//! A pack is a record of the platform's own organisation (`T#{platform}` / `PACK#{id}`), like a
//! plan: versioned, audited, retired rather than deleted. A pack bought is credited exactly once
//! per payment, however often the provider tells of it: the payment's own record (`paid`) is
//! written in the credit's transaction, conditioned on not being `paid` already.
use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::billing::Payment;
use super::page::{Index, Page};
use super::platform::PLATFORM_TENANT;
use super::{Store, key, keys, n, put_new, s, to_item};
use crate::Error;

/// Message credits the platform sells for a price, once.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreditPack {
    pub id: String,
    /// Always the platform's organisation: its partition names it, so it is not stored or shown.
    #[serde(skip_serializing, default = "platform")]
    #[schema(ignore)]
    pub tenant_id: String,
    pub name: String,
    /// The messages it pays for.
    pub credits: u32,
    /// Its price, in minor units of `currency` (cents), tax included.
    pub price_minor: i64,
    /// ISO 4217, upper case.
    pub currency: String,
    /// No longer sold (kept for the purchases that name it).
    pub retired: bool,
    pub version: u64,
    pub created_at: String,
    pub updated_at: String,
}

crate::entity!(CreditPack, "PACK#", "credit pack");

impl CreditPack {
    /// The organisation whose records the packs are.
    pub const OWNER: &'static str = PLATFORM_TENANT;

    /// How a purchase of it reads on the payment list and the invoice.
    pub fn description(&self) -> String {
        format!("{} message credits ({})", self.credits, self.name)
    }
}

fn platform() -> String {
    PLATFORM_TENANT.to_owned()
}

/// Why the balance changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CreditKind {
    /// Given: the trial's credits at sign-up, or the platform's.
    Grant,
    /// Bought (a credit pack).
    Purchase,
    /// A message sent.
    Spend,
    /// A message that took a credit and was not sent after all.
    Refund,
}

/// One change of the balance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CreditEntry {
    pub id: String,
    pub tenant_id: String,
    pub kind: CreditKind,
    /// Credits added (positive) or taken (negative).
    pub amount: i64,
    /// What it was for: the message's envelope, the payment, the platform admin who granted it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// The channel a message's credits were spent on (or given back from).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<crate::notify::ChannelKind>,
    pub at: String,
}

impl CreditEntry {
    pub fn new(tenant_id: &str, kind: CreditKind, amount: i64, reference: Option<&str>, at: &str) -> Self {
        Self {
            id: ulid::Ulid::new().to_string(),
            tenant_id: tenant_id.to_owned(),
            kind,
            amount,
            reference: reference.map(str::to_owned),
            channel: None,
            at: at.to_owned(),
        }
    }
}

impl Store {
    /// The entry's put, for the transaction that changes the balance by its amount.
    pub fn credit_entry_put(&self, entry: &CreditEntry) -> Result<TransactWriteItem, Error> {
        let item = to_item(entry, &[("pk", keys::tenant(&entry.tenant_id)), ("sk", keys::credit_sk(&entry.id))])?;
        put_new(&self.table, item)
    }

    /// Changes the balance by `entry.amount` and writes the entry, in one transaction; a negative
    /// amount only while the balance holds it. `false` when it does not (or the organisation is
    /// gone).
    pub async fn change_credits(&self, entry: &CreditEntry) -> Result<bool, Error> {
        let update = credits_update(&self.table, entry);
        let items = vec![
            TransactWriteItem::builder().update(update.build().map_err(Error::internal)?).build(),
            self.credit_entry_put(entry)?,
        ];
        Ok(self.transact(items).await?.is_ok())
    }

    /// Every credit pack, retired ones included (a handful: one Query of the platform's
    /// partition).
    pub async fn credit_packs(&self) -> Result<Vec<CreditPack>, Error> {
        self.all::<CreditPack>(CreditPack::OWNER).await
    }

    /// Credits a paid pack: `payment` (`paid`, as the provider said at `said_at`) recorded, its
    /// `credits` added with their ledger entry, and the provider's `customer` kept as the
    /// organisation's (if it had none) — in one transaction, refused when the payment is recorded
    /// as paid already. `true` when it was credited now, `false` when it had been (or the
    /// organisation is gone).
    pub async fn credit_purchase(
        &self,
        payment: &Payment,
        credits: i64,
        said_at: i64,
        customer_id: Option<&str>,
    ) -> Result<bool, Error> {
        let entry =
            CreditEntry::new(&payment.tenant_id, CreditKind::Purchase, credits, Some(&payment.id), &payment.updated_at);
        let mut balance = credits_update(&self.table, &entry);
        if let Some(customer_id) = customer_id {
            balance = balance
                .update_expression(
                    "ADD message_credits :amount SET billing_customer_id = if_not_exists(billing_customer_id, :customer)",
                )
                .expression_attribute_values(":customer", s(customer_id));
        }
        let mut items = vec![
            self.paid_once(payment, said_at)?,
            TransactWriteItem::builder().update(balance.build().map_err(Error::internal)?).build(),
            self.credit_entry_put(&entry)?,
        ];
        if let Some(customer_id) = customer_id {
            items.push(self.customer_link(customer_id, &payment.tenant_id)?);
        }
        let sold = BTreeMap::from([
            ("credits_sold".to_owned(), credits),
            (format!("credit_sales_{}", payment.currency), payment.amount_minor),
        ]);
        items.extend(self.revenue_items(&BTreeMap::new(), &payment.updated_at[..7], &sold)?);
        Ok(self.transact(items).await?.is_ok())
    }

    /// The organisation's ledger, newest first.
    pub async fn credit_entries(
        &self,
        tenant_id: &str,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<Page<CreditEntry>, Error> {
        self.newest_first(Index::Table, keys::tenant(tenant_id), keys::CREDITS_SK_PREFIX, limit, cursor).await
    }
}

/// The balance's change by `entry.amount`: a negative amount only while the balance holds it, a
/// positive one only on an organisation that exists.
fn credits_update(table: &str, entry: &CreditEntry) -> aws_sdk_dynamodb::types::builders::UpdateBuilder {
    let update = Update::builder()
        .table_name(table)
        .set_key(Some(key(keys::tenant(&entry.tenant_id), keys::TENANT_SK)))
        .update_expression("ADD message_credits :amount")
        .expression_attribute_values(":amount", n(entry.amount));
    if entry.amount < 0 {
        update.condition_expression("message_credits >= :taken").expression_attribute_values(":taken", n(-entry.amount))
    } else {
        update.condition_expression("attribute_exists(pk)")
    }
}
