//! The payroll function: closing a pay period into pay stubs (worked minutes from attendance,
//! daily and weekly overtime, deductions), reopening it, the stubs and their exports; and what an
//! event's staffing will cost.

mod estimates;
mod periods;
mod stubs;

/// The clients besides DynamoDB's that its Lambda builds at cold start: pay stub exports are
/// written to the bucket; nothing is queued.
pub const CLIENTS: rota::Clients = rota::Clients { outbox: false, files: true, payments: false };

rota::function_routes!(
    [periods::close_period],
    [periods::reopen_period],
    [stubs::list_stubs],
    [stubs::get_stub],
    [stubs::export_stubs],
    [estimates::cost_estimate],
);
