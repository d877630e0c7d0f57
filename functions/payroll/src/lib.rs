//! The payroll function: closing a pay period into pay stubs (worked minutes from attendance,
//! daily and weekly overtime, deductions), reopening it, the stubs and their exports; what an
//! event's staffing will cost, and (on a plan that charges per event) its quote and unlock.

mod documents;
mod estimates;
mod periods;
mod stubs;
mod unlocks;

/// The clients besides DynamoDB's that its Lambda builds at cold start: pay stub exports are
/// written to the bucket, an event's unlock is paid at the provider and its receipt queued.
pub const CLIENTS: rota::Clients = rota::Clients { outbox: true, files: true, payments: true };

rota::function_routes!(
    [periods::close_period],
    [periods::reopen_period],
    [stubs::list_stubs],
    [stubs::get_stub],
    [stubs::stub_pdf],
    [stubs::export_stubs],
    [estimates::cost_estimate],
    [unlocks::quote_event],
    [unlocks::unlock_event],
);
