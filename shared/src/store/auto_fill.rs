//! Auto-fill jobs (`T#{t}` / `AUTOFILL#{id}`): `queued → solving → done`, or `failed`. The job
//! item holds the request, the best score while solving and the summary when done; the proposal
//! itself (thousands of assignments for a large organisation's month, with the reasons for every
//! place left open) is a JSON file in the bucket, `tenants/{t}/auto-fill/{id}.json`, which
//! `GET /auto-fill/{id}` reads back. Applying it is recorded on the job, once.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Store, n};
use crate::Error;
use crate::auth::scope::Scope;
use crate::domain::auto_fill::Tuning;
use crate::domain::conflicts::Code;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AutoFillStatus {
    Queued,
    Solving,
    Done,
    Failed,
}

/// What was asked for (as stored: dates `YYYY-MM-DD`, both inclusive).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AutoFillRequest {
    pub from: String,
    pub to: String,
    #[serde(default)]
    pub location_ids: Vec<String>,
    pub event_id: Option<String>,
    #[serde(default)]
    pub position_ids: Vec<String>,
    pub time_limit_ms: u32,
    pub weights: Tuning,
}

/// The objective's parts, each weighted; they add up to `total` exactly. Lower is better.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Score {
    pub total: i64,
    /// Places left open (each outweighs everything one assignment can add).
    pub unfilled: i64,
    pub cost: i64,
    pub fairness: i64,
    pub preferences: i64,
}

impl From<solver::Parts> for Score {
    fn from(parts: solver::Parts) -> Self {
        Score {
            total: parts.total(),
            unfilled: parts.unfilled,
            cost: parts.cost,
            fairness: parts.fairness,
            preferences: parts.unpreferred,
        }
    }
}

/// The outcome at a glance (the job's; the proposal has the detail).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AutoFillSummary {
    /// The period as read: its first local midnight, and the midnight after its last day.
    pub starts_at: String,
    pub ends_before: String,
    /// Open places in the period when it was read.
    pub places: u32,
    pub filled: u32,
    pub left_open: u32,
    pub score: Score,
    /// Moves the search tried, and how long it searched.
    pub moves: u64,
    pub solve_ms: u64,
}

/// An auto-fill job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AutoFill {
    pub id: String,
    pub tenant_id: String,
    pub status: AutoFillStatus,
    pub request: AutoFillRequest,
    pub requested_by: String,
    /// The requester's access scope: only their units' people are proposed (their locations are
    /// already the request's `location_ids`).
    #[serde(default)]
    pub scope: Scope,
    /// The best score found so far, while solving and after.
    pub best_score: Option<i64>,
    pub summary: Option<AutoFillSummary>,
    /// Why it failed, when it did.
    pub error: Option<String>,
    /// When, and by whom, the proposal was applied (once).
    pub applied_at: Option<String>,
    pub applied_by: Option<String>,
    pub created_at: String,
    pub version: u64,
    pub updated_at: String,
}

crate::entity!(AutoFill, "AUTOFILL#", "auto-fill job");

impl AutoFill {
    /// Where the proposal is kept, in the bucket.
    pub fn object_key(&self) -> String {
        format!("tenants/{}/auto-fill/{}.json", self.tenant_id, self.id)
    }
}

impl Store {
    /// Puts the best score so far on a job that is solving (nothing else: no version, as nobody
    /// else writes a solving job).
    pub async fn auto_fill_progress(&self, tenant_id: &str, job_id: &str, best_score: i64) -> Result<(), Error> {
        let written = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(<AutoFill as super::entities::Entity>::key(tenant_id, job_id)))
            .update_expression("SET best_score = :best")
            .condition_expression("#status = :solving")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":best", n(best_score))
            .expression_attribute_values(":solving", super::s("solving"))
            .send()
            .await;
        match written {
            Ok(_) => Ok(()),
            // Finished (or gone) meanwhile: nothing to report.
            Err(error) if error.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => Ok(()),
            Err(error) => Err(error.into()),
        }
    }
}

/// The auto-fill worker's queue message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutoFillJob {
    pub tenant_id: String,
    pub job_id: String,
}

/// One proposed assignment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Proposed {
    pub shift_id: String,
    pub person_id: String,
}

/// A person's paid minutes and pay in the period, before the proposal and with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PersonLoad {
    pub person_id: String,
    pub minutes_before: i64,
    pub minutes_after: i64,
    /// Minor units, overtime included (payroll's rule, each shift priced on its start day).
    pub cost_before_minor: i64,
    pub cost_after_minor: i64,
    /// Their fair share of the period's work, in paid minutes (what fairness measures against).
    pub share_minutes: i64,
}

/// How many people one rule kept off a place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RuleCount {
    pub rule: Code,
    pub people: u32,
}

/// Someone who holds the position but could not take the place, and the rules in the way (the
/// other shift involved, when one is).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Kept {
    pub person_id: String,
    pub rules: Vec<Code>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shift_id: Option<String>,
}

/// A place the proposal leaves open, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LeftOpen {
    pub shift_id: String,
    /// Places of the shift still open with the proposal.
    pub open: u32,
    /// Per rule, how many people it kept off (one person may count under several rules).
    pub rules: Vec<RuleCount>,
    /// Everyone who holds the position, with what kept them off.
    pub people: Vec<Kept>,
}

/// The proposal: what applying it writes, what it costs, and what it leaves open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Proposal {
    pub assignments: Vec<Proposed>,
    pub people: Vec<PersonLoad>,
    pub left_open: Vec<LeftOpen>,
}

/// The most bytes a stored proposal may have (a 500-person month is about 1 MB).
pub const MAX_PROPOSAL_BYTES: u64 = 32 * 1024 * 1024;
