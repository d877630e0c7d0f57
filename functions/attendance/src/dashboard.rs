//! Event day at a glance: an event's figures per day and in total, and who is on site at a
//! location now. Both read what the writes keep up to date (`rota::store::dashboard`), one
//! Query each, whatever the event's size.

use axum::Json;
use axum::extract::{Path, State};
use rota::auth::{Caller, Permission};
use rota::domain::dashboard::{DayFigures, figures};
use rota::error::Problem;
use rota::http::{PageQuery, ValidQuery};
use rota::store::dashboard::OnSite;
use rota::store::page::Page;
use rota::store::places::Location;
use rota::store::schedule::Event;
use rota::store::unlocks::require_unlocked;
use rota::{AppState, Error};
use serde::Serialize;
use utoipa::ToSchema;

/// An event's figures as they stand.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventDashboard {
    pub event_id: String,
    pub title: String,
    pub starts_on: String,
    pub ends_on: String,
    /// The organisation's currency, for the costs.
    pub currency: String,
    /// Each day with shifts (the day each starts on its location's calendar), in order.
    pub days: Vec<DayFigures>,
    pub total: DayFigures,
}

/// An event's dashboard (coordinators and up): per day and in total, places and how many are
/// filled, who is on site now, checked out, late and absent, check-ins awaiting review, hours
/// scheduled and worked, and — for those who see costs — the cost so far against the estimate.
/// Kept as things happen, so it is current to the last write.
#[utoipa::path(get, path = "/events/{event_id}/dashboard", tag = "attendance", security(("bearer" = ["attendance.read"])),
    params(("event_id" = String, Path)),
    responses(
        (status = 200, description = "The event's figures", body = EventDashboard),
        (status = 402, description = "The event is locked (`payment_required`: a plan that charges per event), with its quote", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such event in this organisation (or beyond the caller's locations)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn event_dashboard(
    State(state): State<AppState>,
    caller: Caller,
    Path(event_id): Path<String>,
) -> Result<Json<EventDashboard>, Error> {
    caller.require(Permission::AttendanceRead)?;
    let tenant_id = &caller.tenant_id;
    // Round trip 1, in parallel: the event, its shifts' tallies, the organisation (currency,
    // plan) and the event's unlock.
    let (event, tallies, tenant, unlock) = tokio::try_join!(
        state.store.entity::<Event>(tenant_id, &event_id),
        state.store.event_tallies(tenant_id, &event_id),
        state.store.tenant(tenant_id),
        state.store.event_unlock(tenant_id, &event_id),
    )?;
    let (event, tenant) = (event.ok_or(Error::NotFound)?, tenant.ok_or(Error::NotFound)?);
    if let Some(location_id) = &event.location_id {
        caller.within_location(location_id)?;
    }
    require_unlocked(tenant.subscription.as_ref(), unlock, &rota::clock::Now::get().iso)?;
    let (mut days, mut total) = figures(&tallies);
    if caller.require(Permission::CostsRead).is_err() {
        days.iter_mut().chain([&mut total]).for_each(|day| day.costs = None);
    }
    Ok(Json(EventDashboard {
        event_id: event.id,
        title: event.title,
        starts_on: event.starts_on,
        ends_on: event.ends_on,
        currency: tenant.currency,
        days,
        total,
    }))
}

/// Who is on site at a location now (coordinators and up, within their locations): everyone
/// checked in and not out whose check-in window is open, since when, their shift and its
/// supervisor; by shift, then person.
#[utoipa::path(get, path = "/locations/{location_id}/on-site", tag = "attendance", security(("bearer" = ["attendance.read"])),
    params(("location_id" = String, Path), PageQuery),
    responses(
        (status = 200, description = "A page of the people on site", body = Page<OnSite>),
        (status = 404, description = "No such location in this organisation (or beyond the caller's)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn on_site(
    State(state): State<AppState>,
    caller: Caller,
    Path(location_id): Path<String>,
    ValidQuery(query): ValidQuery<PageQuery>,
) -> Result<Json<Page<OnSite>>, Error> {
    caller.require(Permission::AttendanceRead)?;
    caller.within_location(&location_id)?;
    let tenant_id = &caller.tenant_id;
    // Round trip 1, in parallel: the location (that it is this organisation's) and the markers.
    let (location, page) = tokio::try_join!(
        state.store.entity::<Location>(tenant_id, &location_id),
        state.store.on_site(tenant_id, &location_id, query.limit, query.cursor.as_deref()),
    )?;
    location.ok_or(Error::NotFound)?;
    Ok(Json(page))
}
