//! The billing function: what an organisation's owner sees of its plan, subscription, usage and
//! credits, the subscription and credit packs bought at the payment provider, and the provider's webhooks. Plans
//! themselves are the platform admin's (`functions/admin`); see docs/billing.md.

mod credits;
mod invoices;
mod overview;
mod payments;
mod pdf;
mod subscription;
mod webhook;

/// The clients besides DynamoDB's that its Lambda builds at cold start: the payment provider, S3
/// for the invoices' PDFs, and the notification queue for the receipt of an event unlocked by
/// webhook.
pub const CLIENTS: rota::Clients = rota::Clients { outbox: true, files: true, payments: true };

rota::function_routes!(
    [overview::get_billing],
    [subscription::subscribe, subscription::cancel],
    [webhook::receive],
    [payments::list_payments],
    [invoices::list_invoices],
    [invoices::get_invoice],
    [invoices::invoice_pdf],
    [invoices::set_details],
    [credits::buy_credits],
    [credits::list_credit_entries],
);
