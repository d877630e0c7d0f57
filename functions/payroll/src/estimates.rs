//! An event's cost estimate: what its shifts' places cost at straight rates, the people on them
//! at their own rate and the open places at their position's default rate (the quote a
//! coordinator gives before the event is staffed).

use std::collections::{BTreeMap, BTreeSet};

use axum::Json;
use axum::extract::{Path, State};
use rota::auth::{Caller, Permission};
use rota::domain::payroll::{Cost, Staffing, straight_cost};
use rota::error::Problem;
use rota::store::people::Person;
use rota::store::places::Position;
use rota::store::schedule::{AssignmentStatus, Event, ShiftStatus};
use rota::store::unlocks::require_unlocked;
use rota::{AppState, Error};
use serde::Serialize;
use utoipa::ToSchema;

/// What an event's staffing costs, in minor units of the organisation's currency.
#[derive(Debug, Serialize, ToSchema)]
pub struct CostEstimate {
    pub event_id: String,
    pub currency: String,
    /// People holding a place (offered or accepted), each counted once.
    pub people: u32,
    /// Places over all shifts priced (their headcounts) and how many of them nobody holds yet.
    pub places: u32,
    pub open_places: u32,
    /// Paid minutes over all places: each place's shift length less its unpaid break.
    pub paid_minutes: i64,
    pub assigned_minor: i64,
    pub open_minor: i64,
    pub total_minor: i64,
    /// Places left out of the sums because no rate is known (no rate of the person's own and no
    /// default rate for the position).
    pub unpriced_places: u32,
    /// The same sums by day (the day each shift starts on its location's calendar), in order:
    /// the "staff × days × rate" of a quote.
    pub days: Vec<DayCost>,
    /// One per shift that is not cancelled (drafts included), by start.
    pub shifts: Vec<ShiftCost>,
}

/// One day's part of an estimate.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct DayCost {
    /// `YYYY-MM-DD`.
    pub date: String,
    pub places: u32,
    pub paid_minutes: i64,
    pub total_minor: i64,
    pub unpriced_places: u32,
}

/// One shift's part of an estimate.
#[derive(Debug, Serialize, ToSchema)]
pub struct ShiftCost {
    pub shift_id: String,
    pub status: ShiftStatus,
    pub start: String,
    pub end: String,
    /// `start` on the location's clock, with its offset.
    pub start_local: String,
    pub position_id: String,
    pub position_name: String,
    /// Per place: the shift's length less its unpaid break.
    pub paid_minutes: i64,
    pub headcount: u32,
    pub assigned: u32,
    pub open_places: u32,
    pub assigned_minor: i64,
    pub open_minor: i64,
    pub total_minor: i64,
    pub unpriced_places: u32,
}

/// An event's cost estimate (coordinators and up): every shift of the event that is not
/// cancelled, its people (offered or accepted) at their own hourly rate, else the shift
/// position's default rate, and its open places at that default rate. Straight time only:
/// overtime depends on each person's whole week, which closing the pay period settles.
#[utoipa::path(get, path = "/events/{event_id}/cost-estimate", tag = "payroll", security(("bearer" = ["costs.read"])),
    params(("event_id" = String, Path)),
    responses(
        (status = 200, description = "The estimate", body = CostEstimate),
        (status = 402, description = "The event is locked (`payment_required`: a plan that charges per event), with its quote", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such event in this organisation", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn cost_estimate(
    State(state): State<AppState>,
    caller: Caller,
    Path(event_id): Path<String>,
) -> Result<Json<CostEstimate>, Error> {
    caller.require(Permission::CostsRead)?;
    let tenant_id = &caller.tenant_id;
    // Round trip 1, in parallel: the event, its shifts with their assignments (the event's own
    // index), the organisation (its currency, its plan) and the event's unlock.
    let (event, shifts, tenant, unlock) = tokio::try_join!(
        state.store.entity::<Event>(tenant_id, &event_id),
        state.store.event_shifts(tenant_id, &event_id),
        state.store.tenant(tenant_id),
        state.store.event_unlock(tenant_id, &event_id),
    )?;
    event.ok_or(Error::NotFound)?;
    let tenant = tenant.ok_or(Error::NotFound)?;
    require_unlocked(tenant.subscription.as_ref(), unlock, &rota::clock::Now::get().iso)?;
    let shifts: Vec<_> = shifts
        .into_iter()
        .filter(|(shift, _)| shift.status != ShiftStatus::Cancelled)
        .map(|(shift, mut held)| {
            held.retain(|assignment| assignment.status != AssignmentStatus::Declined);
            (shift, held)
        })
        .collect();
    let person_ids: BTreeSet<&str> =
        shifts.iter().flat_map(|(_, held)| held.iter().map(|assignment| assignment.person_id.as_str())).collect();
    let position_ids: Vec<&str> = shifts.iter().map(|(shift, _)| shift.position_id.as_str()).collect();
    let person_ids: Vec<&str> = person_ids.into_iter().collect();
    // Round trip 2, in parallel: the people's own rates and the positions' default rates.
    let (people, positions) = tokio::try_join!(
        state.store.entities_among::<Person>(tenant_id, &person_ids),
        state.store.entities_among::<Position>(tenant_id, &position_ids),
    )?;
    let own_rates: BTreeMap<&str, Option<u64>> =
        people.iter().map(|person| (person.id.as_str(), person.hourly_rate_minor)).collect();
    let default_rates: BTreeMap<&str, Option<u64>> =
        positions.iter().map(|position| (position.id.as_str(), position.default_hourly_rate_minor)).collect();
    let minor = |rate: Option<u64>| rate.and_then(|rate| i64::try_from(rate).ok());
    let lines: Vec<ShiftCost> = shifts
        .iter()
        .map(|(shift, held)| {
            let default_rate = default_rates.get(shift.position_id.as_str()).copied().flatten();
            let staffing = Staffing {
                paid_minutes: (shift.duration_minutes - i64::from(shift.break_minutes)).max(0),
                assignee_rates: held
                    .iter()
                    .map(|assignment| {
                        minor(own_rates.get(assignment.person_id.as_str()).copied().flatten().or(default_rate))
                    })
                    .collect(),
                open_places: shift.headcount.saturating_sub(held.len() as u32),
                open_rate: minor(default_rate),
            };
            let Cost { assigned_minor, open_minor, unpriced_places } = straight_cost(&staffing);
            ShiftCost {
                shift_id: shift.id.clone(),
                status: shift.status,
                start: shift.start.clone(),
                end: shift.end.clone(),
                start_local: shift.start_local.clone(),
                position_id: shift.position_id.clone(),
                position_name: shift.position_name.clone(),
                paid_minutes: staffing.paid_minutes,
                headcount: shift.headcount,
                assigned: held.len() as u32,
                open_places: staffing.open_places,
                assigned_minor,
                open_minor,
                total_minor: assigned_minor + open_minor,
                unpriced_places,
            }
        })
        .collect();
    let mut days: BTreeMap<&str, DayCost> = BTreeMap::new();
    for line in &lines {
        let date = line.start_local.get(..10).unwrap_or_default();
        let day = days.entry(date).or_insert_with(|| DayCost { date: date.to_owned(), ..DayCost::default() });
        day.places += line.assigned + line.open_places;
        day.paid_minutes += line.paid_minutes * i64::from(line.assigned + line.open_places);
        day.total_minor += line.total_minor;
        day.unpriced_places += line.unpriced_places;
    }
    let days: Vec<DayCost> = days.into_values().collect();
    let sum = |part: fn(&ShiftCost) -> i64| lines.iter().map(part).sum::<i64>();
    let count = |part: fn(&ShiftCost) -> u32| lines.iter().map(part).sum::<u32>();
    Ok(Json(CostEstimate {
        event_id,
        currency: tenant.currency,
        people: person_ids.len() as u32,
        places: count(|line| line.assigned + line.open_places),
        open_places: count(|line| line.open_places),
        paid_minutes: sum(|line| line.paid_minutes * i64::from(line.assigned + line.open_places)),
        assigned_minor: sum(|line| line.assigned_minor),
        open_minor: sum(|line| line.open_minor),
        total_minor: sum(|line| line.total_minor),
        unpriced_places: count(|line| line.unpriced_places),
        days,
        shifts: lines,
    }))
}
