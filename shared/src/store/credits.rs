//! The message credits ledger: every change of an organisation's balance (`message_credits` on
//! its tenant item) writes an entry (`T#{t}` / `CREDIT#{id}`, ids in time order) in the same
//! transaction, so the entries always sum to the balance — a grant, a purchase, a spend, a refund
//! — however many happen at once: the balance change keeps its own condition (a spend never takes
//! it below zero) and an entry exists exactly when its change happened.

use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::page::{Index, Page};
use super::{Store, key, keys, n, put_new, to_item};
use crate::Error;

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
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::tenant(&entry.tenant_id), keys::TENANT_SK)))
            .update_expression("ADD message_credits :amount")
            .expression_attribute_values(":amount", n(entry.amount));
        let update = if entry.amount < 0 {
            update
                .condition_expression("message_credits >= :taken")
                .expression_attribute_values(":taken", n(-entry.amount))
        } else {
            update.condition_expression("attribute_exists(pk)")
        };
        let items = vec![
            TransactWriteItem::builder().update(update.build().map_err(Error::internal)?).build(),
            self.credit_entry_put(entry)?,
        ];
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
