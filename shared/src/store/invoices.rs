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

use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::audit::AuditEntry;
use super::billing::{Payment, PaymentStatus};
use super::page::{Index, Page};
use super::{Store, from_item, key, keys, n, put_new, s, to_item, value};
use crate::Error;
use crate::validate::not_blank;

/// Who an invoice is from or to, as it prints: the seller (the platform's operator, a setting)
/// or the buyer (the organisation's billing details, which its owners keep).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, garde::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "name": "Harbour Events Ltd", "address_lines": ["4 Quay Street"], "postcode": "BS1 4DJ",
    "city": "Bristol", "country": "GB", "tax_number": "GB123456789" }))]
pub struct Party {
    /// The legal name.
    #[garde(length(chars, min = 1, max = 200), custom(not_blank))]
    #[schema(min_length = 1, max_length = 200, pattern = r"[^\s\x00-\x1f\x7f-\x9f]")]
    pub name: String,
    /// Street and building: up to four lines.
    #[garde(length(max = 4), inner(length(chars, min = 1, max = 100), custom(not_blank)))]
    #[schema(schema_with = crate::validate::texts::<4, 100>)]
    pub address_lines: Vec<String>,
    #[garde(length(chars, max = 20))]
    #[schema(max_length = 20)]
    pub postcode: String,
    #[garde(length(chars, max = 100))]
    #[schema(max_length = 100)]
    pub city: String,
    /// ISO 3166-1 alpha-2, e.g. `GB`, `DE`.
    #[garde(custom(country_code))]
    #[schema(min_length = 2, max_length = 2, pattern = "^[A-Z]{2}$")]
    pub country: String,
    /// A VAT or other tax registration number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[garde(inner(length(chars, min = 1, max = 40), custom(not_blank)))]
    #[schema(min_length = 1, max_length = 40, pattern = r"[^\s\x00-\x1f\x7f-\x9f]")]
    pub tax_number: Option<String>,
}

fn country_code(value: &str, _: &()) -> garde::Result {
    if value.len() == 2 && value.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(())
    } else {
        Err(garde::Error::new("must be an ISO 3166-1 alpha-2 country code such as GB"))
    }
}

impl Party {
    /// An organisation with no billing details yet: its name only.
    pub fn named(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            address_lines: Vec::new(),
            postcode: String::new(),
            city: String::new(),
            country: String::new(),
            tax_number: None,
        }
    }
}

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
#[schema(example = json!({ "id": "RT-2027-000123", "tenant_id": "01J…",
    "seller": { "name": "Rota Ltd", "address_lines": ["1 Example Street"], "postcode": "EC1A 1AA", "city": "London", "country": "GB" },
    "buyer": { "name": "Harbour Events Ltd", "address_lines": ["4 Quay Street"], "postcode": "BS1 4DJ", "city": "Bristol", "country": "GB" },
    "period_start": "2027-03-01T00:00:00Z", "period_end": "2027-04-01T00:00:00Z", "issued_at": "2027-04-01T02:00:00Z",
    "currency": "EUR", "lines": [{ "description": "Team plan", "payment_id": "in_1", "amount_minor": 2900 }],
    "tax_rate_bp": 2000, "net_minor": 2417, "tax_minor": 483, "total_minor": 2900 }))]
pub struct Invoice {
    /// Its number, `RT-{year}-{sequence}`: gap-free across the platform within a year.
    pub id: String,
    pub tenant_id: String,
    /// The platform's operator, as it was when the invoice was issued.
    pub seller: Party,
    /// The organisation's billing details when it was issued (its name only if it kept none).
    pub buyer: Party,
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
        let items = vec![
            TransactWriteItem::builder().update(counter.build().map_err(Error::internal)?).build(),
            TransactWriteItem::builder().update(mark.build().map_err(Error::internal)?).build(),
            put_new(&self.table, item)?,
        ];
        Ok(match self.transact(items).await? {
            Ok(()) => Issue::Issued,
            Err(refused) if refused.0.contains(&1) => Issue::Invoiced,
            Err(_) => Issue::NumberTaken,
        })
    }

    /// Replaces the organisation's billing details (what its next invoices are made out to),
    /// audited.
    pub async fn set_billing_details(&self, tenant_id: &str, details: &Party, audit: &AuditEntry) -> Result<(), Error> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::tenant(tenant_id), keys::TENANT_SK)))
            .update_expression("SET billing_details = :details")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":details", value(details)?)
            .build()
            .map_err(Error::internal)?;
        let items = vec![TransactWriteItem::builder().update(update).build(), self.audit_put(audit)?];
        self.transact(items).await?.map_err(|_| Error::NotFound)
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
