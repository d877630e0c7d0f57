//! Plain types and pure rules: no I/O and no clock, so each is unit-tested on its own.

pub mod attendance;
pub mod auto_fill;
pub mod conflicts;
pub mod dashboard;
pub mod dunning;
pub mod hours;
pub mod imports;
pub mod invoices;
pub mod money;
pub mod payroll;
pub mod quiet;
pub mod reports;
pub mod revenue;
pub mod settings;
pub mod time;
