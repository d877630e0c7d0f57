//! Auto-fill's solver: given the open places of a period, who may take each, and what those people
//! already work (pinned), propose assignments that break no rule and cost least — places left open
//! first, then labour cost, fairness and preferences (docs/auto-fill.md). Pure and deterministic:
//! the caller owns the clock (a stop callback) and the seed.

pub mod check;
pub mod explain;
pub mod generate;
pub mod instance;
mod rng;
pub mod solve;

pub use check::{Report, check};
pub use explain::{Blocked, Blocker, Unfilled, unfilled};
pub use instance::{Candidate, Instance, Interval, Parts, Person, Rules, Shift, Weights};
pub use solve::{Limits, Solution, solve};
