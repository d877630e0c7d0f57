//! Rota's invoices to organisations: one per billing period that had payments, issued by the
//! nightly job once the period has ended, numbered gap-free across the platform.
//!
//! - An invoice is `T#{t}` / `INVOICE#{number}` (numbers of a year sort as issued, so the list is
//!   newest first by key).
//! - Numbers come from one counter per year (`INVOICE_SEQ#{year}` / `SEQ`, `last`), moved in the
//!   same transaction that writes the invoice and moves the organisation's mark
//!   (`invoiced_through` on its tenant item): either all three happen or none, so a number is never
//!   taken without its invoice (no gaps) and a period is never invoiced twice (the mark's
//!   condition), however many jobs run at once. A job that lost the counter to another reads it
//!   again and retries.

use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::billing::{Payment, PaymentStatus};
use super::page::{Index, Page};
use super::{Store, from_item, key, keys, n, s, to_item};
use crate::Error;

/// A line of an invoice: one payment of the period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct InvoiceLine {
    pub description: String,
    /// The payment (the provider's invoice, `in_…`) it is.
    pub payment_id: String,
    /// Tax included, in minor units of the invoice's currency.
    pub amount_minor: i64,
}

/// An invoice of Rota's to an organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({ "id": "RT-2027-000123", "tenant_id": "01J…", "buyer": "Harbour Events",
    "period_start": "2027-03-01T00:00:00Z", "period_end": "2027-04-01T00:00:00Z", "issued_at": "2027-04-01T02:00:00Z",
    "currency": "EUR", "lines": [{ "description": "Team plan", "payment_id": "in_1", "amount_minor": 2900 }],
    "tax_rate_bp": 2000, "net_minor": 2417, "tax_minor": 483, "total_minor": 2900 }))]
pub struct Invoice {
    /// Its number, `RT-{year}-{sequence}`: gap-free across the platform within a year.
    pub id: String,
    pub tenant_id: String,
    /// The organisation's name when it was issued.
    pub buyer: String,
    /// The billing period it covers: payments made from `period_start` until `period_end`.
    pub period_start: String,
    pub period_end: String,
    pub issued_at: String,
    /// ISO 4217, upper case.
    pub currency: String,
    pub lines: Vec<InvoiceLine>,
    /// The tax rate the amounts include, in basis points (2000 = 20 %).
    pub tax_rate_bp: u32,
    pub net_minor: i64,
    pub tax_minor: i64,
    /// The sum of the lines (net + tax).
    pub total_minor: i64,
}

/// What became of an attempt to issue an invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Issue {
    Issued,
    /// Another invoice took the number read: read the counter again and retry.
    NumberTaken,
    /// The period was invoiced meanwhile (another run): nothing to do.
    Invoiced,
}

#[derive(Deserialize)]
struct Counter {
    #[serde(default)]
    last: i64,
}

impl Store {
    /// The last invoice number of `year` issued (0 before the first), strongly consistent.
    pub async fn last_invoice_number(&self, year: i32) -> Result<i64, Error> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::invoice_sequence(year), keys::INVOICE_SEQUENCE_SK)))
            .consistent_read(true)
            .send()
            .await?;
        Ok(output.item.map(from_item::<Counter>).transpose()?.map_or(0, |counter| counter.last))
    }

    /// Writes `invoice`, numbered `sequence` of `year` (the counter read at `sequence - 1`), and
    /// moves the organisation's mark from `mark_read` (none: never invoiced) to its period's
    /// end: one transaction (see the module).
    pub async fn issue_invoice(
        &self,
        invoice: &Invoice,
        year: i32,
        sequence: i64,
        mark_read: Option<&str>,
    ) -> Result<Issue, Error> {
        let counter = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::invoice_sequence(year), keys::INVOICE_SEQUENCE_SK)))
            .update_expression("SET #last = :sequence")
            .condition_expression(if sequence == 1 { "attribute_not_exists(#last)" } else { "#last = :read" })
            .expression_attribute_names("#last", "last")
            .expression_attribute_values(":sequence", n(sequence));
        let counter =
            if sequence == 1 { counter } else { counter.expression_attribute_values(":read", n(sequence - 1)) };
        let mark = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::tenant(&invoice.tenant_id), keys::TENANT_SK)))
            .update_expression("SET invoiced_through = :end")
            .expression_attribute_values(":end", s(&invoice.period_end));
        let mark = match mark_read {
            Some(read) => {
                mark.condition_expression("invoiced_through = :read").expression_attribute_values(":read", s(read))
            }
            None => mark.condition_expression("attribute_exists(pk) AND attribute_not_exists(invoiced_through)"),
        };
        let item =
            to_item(invoice, &[("pk", keys::tenant(&invoice.tenant_id)), ("sk", keys::invoice_sk(&invoice.id))])?;
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(Error::internal)?;
        let items = vec![
            TransactWriteItem::builder().update(counter.build().map_err(Error::internal)?).build(),
            TransactWriteItem::builder().update(mark.build().map_err(Error::internal)?).build(),
            TransactWriteItem::builder().put(put).build(),
        ];
        Ok(match self.transact(items).await? {
            Ok(()) => Issue::Issued,
            Err(refused) if refused.0.contains(&1) => Issue::Invoiced,
            Err(_) => Issue::NumberTaken,
        })
    }

    /// The organisation's invoices, newest first.
    pub async fn invoices(
        &self,
        tenant_id: &str,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<Page<Invoice>, Error> {
        self.newest_first(Index::Table, keys::tenant(tenant_id), keys::INVOICES_SK_PREFIX, limit, cursor).await
    }

    pub async fn invoice(&self, tenant_id: &str, invoice_id: &str) -> Result<Option<Invoice>, Error> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::tenant(tenant_id), keys::invoice_sk(invoice_id))))
            .send()
            .await?;
        output.item.map(from_item).transpose()
    }

    /// The organisation's paid payments of invoices made from `from` until `to` (instants), in
    /// the order they were made.
    pub async fn paid_payments(&self, tenant_id: &str, from: &str, to: &str) -> Result<Vec<Payment>, Error> {
        let query = self
            .client
            .query()
            .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
            .filter_expression("#status = :paid")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":pk", s(keys::tenant(tenant_id)))
            .expression_attribute_values(":from", s(keys::payment_sk(from, "")))
            // Every sort key of an invoice made before `to` is below `PAYMENT#{to}`.
            .expression_attribute_values(":to", s(keys::payment_sk(to, "")))
            .expression_attribute_values(":paid", s(PaymentStatus::Paid.as_str()));
        self.every(query).await?.into_iter().map(from_item).collect()
    }
}
