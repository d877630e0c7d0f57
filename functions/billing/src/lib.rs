//! The billing function: what an organisation's owner sees of its plan, subscription, usage and
//! credits. Plans themselves are the platform admin's (`functions/admin`); see docs/billing.md.

mod overview;

/// The clients besides DynamoDB's that its Lambda builds at cold start: none yet.
pub const CLIENTS: rota::Clients = rota::Clients { outbox: false, files: false };

rota::function_routes!([overview::get_billing],);
