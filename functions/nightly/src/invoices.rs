//! The invoice job: once an organisation's billing period has ended, its paid payments of the
//! period (the subscription's, and the credit packs it bought) become one invoice of Rota's, a
//! line each, numbered gap-free (see [`rota::store::invoices`]).
//!
//! The period invoiced runs from the end of the last one invoiced (`invoiced_through`; at first
//! the subscription's start) to the start of the current period. A period without payments (a
//! trial) gets no invoice; its payments, if any come, fall into the next one.

use chrono::{DateTime, Datelike, Utc};
use rota::Error;
use rota::clock::iso;
use rota::domain::invoices::{number, tax_included};
use rota::store::invoices::{Invoice, InvoiceLine, Issue, Party};

use crate::Nightly;

/// How often a job reads the counter again after losing it to another invoice, before it fails
/// (and its message is retried).
const NUMBER_ATTEMPTS: usize = 20;

/// Issues the organisation's invoice of the period that ended by `now`, if it has one due;
/// answers it.
pub async fn issue_invoice(nightly: &Nightly, tenant_id: &str, now: DateTime<Utc>) -> Result<Option<Invoice>, Error> {
    let store = &nightly.store;
    let Some(tenant) = store.tenant(tenant_id).await? else { return Ok(None) };
    let Some(subscription) = tenant.subscription.as_ref().filter(|s| s.provider_subscription_id.is_some()) else {
        return Ok(None);
    };
    let from = tenant.invoiced_through.clone().unwrap_or_else(|| subscription.started_at.clone());
    let to = subscription.current_period_start.clone();
    let ended = to.parse::<DateTime<Utc>>().map_err(Error::internal)? <= now;
    if !ended || from >= to {
        return Ok(None);
    }
    let payments = store.paid_payments(tenant_id, &from, &to).await?;
    let Some(first) = payments.first() else { return Ok(None) };
    let lines: Vec<InvoiceLine> = payments
        .iter()
        .map(|payment| InvoiceLine {
            description: payment.description.clone().unwrap_or_else(|| format!("{} plan", subscription.plan_name)),
            payment_id: payment.id.clone(),
            amount_minor: payment.amount_minor,
        })
        .collect();
    let total_minor = lines.iter().map(|line| line.amount_minor).sum();
    let (net_minor, tax_minor) = tax_included(total_minor, tenant.tax_rate_bp);
    let year = now.year();
    let mut invoice = Invoice {
        id: String::new(),
        tenant_id: tenant_id.to_owned(),
        seller: nightly.seller.clone(),
        buyer: tenant.billing_details.clone().unwrap_or_else(|| Party::named(&tenant.name)),
        period_start: from,
        period_end: to,
        issued_at: iso(now),
        currency: first.currency.clone(),
        lines,
        tax_rate_bp: tenant.tax_rate_bp,
        net_minor,
        tax_minor,
        total_minor,
    };
    for _ in 0..NUMBER_ATTEMPTS {
        let sequence = store.last_invoice_number(year).await? + 1;
        invoice.id = number(year, sequence);
        match store.issue_invoice(&invoice, year, sequence, tenant.invoiced_through.as_deref()).await? {
            Issue::Issued => return Ok(Some(invoice)),
            Issue::Invoiced => return Ok(None),
            Issue::NumberTaken => continue,
        }
    }
    Err(Error::internal("the invoice counter stayed contended; the job is retried"))
}
