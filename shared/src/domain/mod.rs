//! Plain types and pure rules: no I/O and no clock, so each is unit-tested on its own.

pub mod conflicts;
pub mod settings;
pub mod time;
