//! What the platform admin reads and changes across organisations: the tenant list (gsi1
//! `TENANTS`, newest first), counters kept on each tenant item, and the platform's monthly
//! message count (`STATS#{yyyy-mm}`).

use aws_sdk_dynamodb::types::{KeysAndAttributes, TransactWriteItem, Update};
use serde::Deserialize;

use super::audit::AuditEntry;
use super::credits::{CreditEntry, CreditKind};
use super::page::{Index, Page, PageRequest};
use super::tenants::{Tenant, TenantStatus};
use super::{Store, from_item, key, keys, n, s, value};
use crate::Error;

/// The platform's own organisation, home of the platform admins (the nil ULID, which no sign-up
/// can produce). It is not listed among the tenants.
pub const PLATFORM_TENANT: &str = "00000000000000000000000000";

#[derive(Debug, Default, Deserialize)]
struct MonthStats {
    #[serde(default)]
    messages_sent: i64,
}

/// Totals across every organisation but the platform's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    pub tenants: i64,
    pub active_tenants: i64,
    pub people: i64,
}

impl Store {
    /// The change of a tenant's people count by `delta`, for the transaction that causes it.
    pub fn people_count_change(&self, tenant_id: &str, delta: i64) -> Result<TransactWriteItem, Error> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::tenant(tenant_id), keys::TENANT_SK)))
            .update_expression("ADD people_count :delta")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":delta", n(delta))
            .build()
            .map_err(Error::internal)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// Counts one message sent this month (`yyyy-mm`), on the shard its id (`message_id`) picks.
    pub async fn count_sent(&self, month: &str, message_id: &str) -> Result<(), Error> {
        let shard = message_id.bytes().fold(0u32, |hash, byte| hash.wrapping_mul(31).wrapping_add(u32::from(byte)));
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::stats(month, shard % keys::STATS_SHARDS), keys::STATS_SK)))
            .update_expression("ADD messages_sent :one")
            .expression_attribute_values(":one", n(1))
            .send()
            .await?;
        Ok(())
    }

    /// This month's messages: the shards added up, read in one `BatchGetItem`.
    pub async fn messages_sent(&self, month: &str) -> Result<i64, Error> {
        let shards = (0..keys::STATS_SHARDS).map(|shard| key(keys::stats(month, shard), keys::STATS_SK));
        let keys = KeysAndAttributes::builder().set_keys(Some(shards.collect())).build().map_err(Error::internal)?;
        let output = self.client.batch_get_item().request_items(&self.table, keys).send().await?;
        let items = output.responses.and_then(|mut tables| tables.remove(&self.table)).unwrap_or_default();
        let counts = items.into_iter().map(|item| Ok(from_item::<MonthStats>(item)?.messages_sent));
        counts.sum()
    }

    /// The organisations, newest first.
    pub async fn tenants(&self, limit: Option<u32>, cursor: Option<&str>) -> Result<Page<Tenant>, Error> {
        let request = PageRequest::new(limit, cursor, Index::Gsi1, keys::TENANTS)?;
        let query = self
            .client
            .query()
            .key_condition_expression("gsi1pk = :tenants")
            .filter_expression("id <> :platform")
            .expression_attribute_values(":tenants", s(keys::TENANTS))
            .expression_attribute_values(":platform", s(PLATFORM_TENANT))
            .scan_index_forward(false);
        self.page(query, request, Index::Gsi1, true).await
    }

    /// Totals over every organisation (a platform-admin path: it reads the whole tenant index,
    /// the counters only).
    pub async fn totals(&self) -> Result<Totals, Error> {
        #[derive(Deserialize)]
        struct Counted {
            id: String,
            status: TenantStatus,
            #[serde(default)]
            people_count: i64,
        }
        let mut totals = Totals { tenants: 0, active_tenants: 0, people: 0 };
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .index_name("gsi1")
                .key_condition_expression("gsi1pk = :tenants")
                .projection_expression("id, #status, people_count")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":tenants", s(keys::TENANTS))
                .set_exclusive_start_key(start)
                .send()
                .await?;
            for item in page.items.unwrap_or_default() {
                let tenant: Counted = from_item(item)?;
                if tenant.id == PLATFORM_TENANT {
                    continue;
                }
                totals.tenants += 1;
                totals.active_tenants += i64::from(tenant.status == TenantStatus::Active);
                totals.people += tenant.people_count;
            }
            start = page.last_evaluated_key;
            if start.is_none() {
                return Ok(totals);
            }
        }
    }

    /// Sets an organisation's status as the platform decides, with its audit entry (in the
    /// organisation's own log): a reason Rota kept for its own suspension goes, so a payment
    /// does not lift the platform's. `NotFound` for an unknown tenant.
    pub async fn set_tenant_status(
        &self,
        tenant_id: &str,
        status: TenantStatus,
        audit: &AuditEntry,
    ) -> Result<(), Error> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::tenant(tenant_id), keys::TENANT_SK)))
            .update_expression("SET #status = :status, updated_at = :at REMOVE suspended_for")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":status", value(&status)?)
            .expression_attribute_values(":at", s(audit.at.clone()))
            .build()
            .map_err(Error::internal)?;
        let items = vec![TransactWriteItem::builder().update(update).build(), self.audit_put(audit)?];
        self.transact(items).await?.map_err(|_| Error::NotFound)
    }

    /// Sets the tax rate of the organisation's invoices, with its audit entry; `NotFound` for an
    /// unknown organisation.
    pub async fn set_tax_rate(&self, tenant_id: &str, rate_bp: u32, audit: &AuditEntry) -> Result<(), Error> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::tenant(tenant_id), keys::TENANT_SK)))
            .update_expression("SET tax_rate_bp = :rate")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":rate", n(rate_bp))
            .build()
            .map_err(Error::internal)?;
        let items = vec![TransactWriteItem::builder().update(update).build(), self.audit_put(audit)?];
        self.transact(items).await?.map_err(|_| Error::NotFound)
    }

    /// Grants message credits (a `grant` of the ledger, naming who granted them); returns the
    /// balance just after, read strongly consistent. `NotFound` for an unknown organisation.
    pub async fn grant_credits(&self, tenant_id: &str, amount: i64, granted_by: &str) -> Result<i64, Error> {
        let grant =
            CreditEntry::new(tenant_id, CreditKind::Grant, amount, Some(granted_by), &crate::clock::Now::get().iso);
        if !self.change_credits(&grant).await? {
            return Err(Error::NotFound);
        }
        #[derive(Deserialize)]
        struct Balance {
            message_credits: i64,
        }
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::tenant(tenant_id), keys::TENANT_SK)))
            .projection_expression("message_credits")
            .consistent_read(true)
            .send()
            .await?;
        Ok(from_item::<Balance>(output.item.unwrap_or_default())?.message_credits)
    }
}
