//! The admin function: what only a platform admin may do — list organisations, suspend and
//! reactivate them, grant message credits, keep the plans and credit packs on sale, read the platform's figures, answer
//! the organisations' support tickets, work the operator's CRM. The first platform admin
//! comes from an ops command ([`create_platform_admin`], `make platform-admin`), never the API.

mod crm;
mod packs;
mod payments;
mod plans;
mod revenue;
mod support;
mod tenants;

pub use tenants::create_platform_admin;

/// The clients besides DynamoDB's that its Lambda builds at cold start: support replies are mailed
/// through the notification queue, and a ticket's attachments handed out as presigned downloads.
pub const CLIENTS: rota::Clients = rota::Clients { outbox: true, files: true, payments: true };

rota::function_routes!(
    [tenants::list_tenants],
    [tenants::get_tenant],
    [tenants::suspend_tenant],
    [tenants::activate_tenant],
    [tenants::grant_credits],
    [tenants::set_tax_rate],
    [tenants::platform_stats],
    [plans::list_plans, plans::create_plan],
    [plans::update_plan],
    [packs::list_packs, packs::create_pack],
    [packs::update_pack],
    [payments::list_payments],
    [revenue::revenue],
    [support::support_queue],
    [support::get_ticket, support::update_ticket],
    [support::reply],
    [crm::list_leads, crm::create_lead],
    [crm::get_lead, crm::update_lead],
    [crm::log_lead_activity],
    [crm::list_deals, crm::create_deal],
    [crm::get_deal, crm::update_deal],
    [crm::log_deal_activity],
    [crm::convert_deal],
    [crm::pipeline],
);
