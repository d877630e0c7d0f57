//! Shifts: made as drafts, published, changed and cancelled by coordinators; the times are UTC
//! instants and every answer also gives them on the location's clock.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Timelike, Utc};
use garde::Validate;
use rota::auth::{Caller, Permission};
use rota::clock::{Now, instant};
use rota::domain::time::minutes_between;
use rota::error::Problem;
use rota::http::{ValidJson, ValidQuery};
use rota::notify::{Envelope, Message, ShiftSummary};
use rota::records::{archive_filter, committed};
use rota::store::audit::AuditEntry;
use rota::store::entities::Entity;
use rota::store::page::Page;
use rota::store::people::{Person, PersonStatus};
use rota::store::places::{Location, Position};
use rota::store::schedule::{Assignment, AssignmentStatus, Booked, Event, Schedule, Shift, ShiftStatus, Supervisor};
use rota::store::value;
use rota::webhooks::{EventType, Job};
use rota::{AppState, Error};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use std::collections::HashMap;

use crate::assignments::{parse, recheck};

pub use rota::store::placing::zone;
pub use rota::store::schedule::MAX_HEADCOUNT;

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "location_id": "01JSAMPLELOCATION000000000", "position_id": "01JSAMPLEPOSITION000000000", "start": "2030-07-04T08:00:00Z", "end": "2030-07-04T16:00:00Z", "headcount": 3, "break_minutes": 30 }))]
pub struct CreateShift {
    #[garde(length(min = 1, max = 64))]
    #[schema(min_length = 1, max_length = 64)]
    pub location_id: String,
    #[garde(length(min = 1, max = 64))]
    #[schema(min_length = 1, max_length = 64)]
    pub position_id: String,
    /// UTC instant (any offset is converted; seconds and below are dropped).
    #[garde(custom(rota::validate::in_years))]
    pub start: DateTime<Utc>,
    /// After `start`, at most 24 h later.
    #[garde(custom(rota::validate::in_years))]
    pub end: DateTime<Utc>,
    #[garde(range(min = 1, max = MAX_HEADCOUNT))]
    #[schema(minimum = 1, maximum = 40)]
    pub headcount: u32,
    /// Unpaid break, shorter than the shift.
    #[garde(range(max = 600))]
    #[schema(maximum = 600)]
    #[serde(default)]
    pub break_minutes: u32,
    #[garde(length(min = 1, max = 64))]
    #[schema(min_length = 1, max_length = 64)]
    pub event_id: Option<String>,
    #[garde(length(chars, max = 1000))]
    #[schema(max_length = 1000)]
    pub notes: Option<String>,
    /// A person of the organisation who runs the shift on site: staff see their name, phone and
    /// WhatsApp and call links on the shift.
    #[garde(length(min = 1, max = 64))]
    #[schema(min_length = 1, max_length = 64)]
    pub supervisor_id: Option<String>,
}

/// Omitted fields stay as they are. Assignees see the new times at once; the position only
/// changes while nobody is assigned.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "end": "2030-07-04T17:00:00Z", "notes": "Bring a warm coat." }))]
pub struct UpdateShift {
    #[garde(custom(rota::validate::in_years))]
    pub start: Option<DateTime<Utc>>,
    #[garde(custom(rota::validate::in_years))]
    pub end: Option<DateTime<Utc>>,
    #[garde(range(min = 1, max = MAX_HEADCOUNT))]
    #[schema(minimum = 1, maximum = 40)]
    pub headcount: Option<u32>,
    #[garde(range(max = 600))]
    #[schema(maximum = 600)]
    pub break_minutes: Option<u32>,
    #[garde(length(min = 1, max = 64))]
    #[schema(min_length = 1, max_length = 64)]
    pub position_id: Option<String>,
    #[garde(inner(inner(length(chars, max = 1000))))]
    #[serde(default, deserialize_with = "rota::validate::nullable")]
    #[schema(value_type = Option<String>, max_length = 1000)]
    pub notes: Option<Option<String>>,
    /// Another supervisor (their name and phone as they are now), or `null` for none.
    #[garde(inner(inner(length(min = 1, max = 64))))]
    #[serde(default, deserialize_with = "rota::validate::nullable")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 64)]
    pub supervisor_id: Option<Option<String>>,
    /// The `version` last read; when given, a stale write answers 409.
    #[garde(range(max = rota::validate::MAX_VERSION))]
    pub version: Option<u64>,
    /// New times are judged again for everyone on the shift: keep them on it despite warnings
    /// (never despite blocking violations such as an overlap); audited.
    #[garde(skip)]
    #[serde(default)]
    pub force: bool,
}

/// A shift with the people on it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ShiftDetail {
    #[serde(flatten)]
    pub shift: Shift,
    pub assignments: Vec<Assignment>,
}

rota::list_query! {
    pub struct ShiftQuery {
        /// Shifts starting at or after this instant.
        #[garde(custom(rota::validate::in_years))]
        #[param(value_type = Option<String>, format = DateTime)]
        pub from: Option<DateTime<Utc>>,
        /// Shifts starting before this instant.
        #[garde(custom(rota::validate::in_years))]
        #[param(value_type = Option<String>, format = DateTime)]
        pub to: Option<DateTime<Utc>>,
        /// One location's shifts (its own index: no other location's shift is read).
        #[garde(length(min = 1, max = 64))]
        #[param(min_length = 1, max_length = 64)]
        pub location_id: Option<String>,
        #[garde(length(min = 1, max = 64))]
        #[param(min_length = 1, max_length = 64)]
        pub event_id: Option<String>,
        #[garde(length(min = 1, max = 64))]
        #[param(min_length = 1, max_length = 64)]
        pub position_id: Option<String>,
        #[garde(skip)]
        pub status: Option<ShiftStatus>,
        /// Also list drafts archived by the scheduled job (30 days past their start, never
        /// published).
        #[garde(skip)]
        pub include_archived: Option<bool>,
    }
}

/// The start and end as stored (whole seconds), checked: end after start, at most 24 h, the
/// break shorter than the shift.
fn times(
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    break_minutes: u32,
) -> Result<(DateTime<Utc>, DateTime<Utc>), Error> {
    let (start, end) = (start.with_nanosecond(0).unwrap_or(start), end.with_nanosecond(0).unwrap_or(end));
    let minutes = minutes_between(start, end);
    if end <= start {
        return Err(Error::field("end", "must be after start"));
    }
    if minutes > rota::domain::time::MAX_SHIFT_MINUTES {
        return Err(Error::field("end", "must be at most 24 hours after start"));
    }
    if i64::from(break_minutes) >= minutes {
        return Err(Error::field("break_minutes", "must be shorter than the shift"));
    }
    Ok((start, end))
}

/// Sets the shift's instants and everything derived from them.
pub fn set_times(shift: &mut Shift, start: DateTime<Utc>, end: DateTime<Utc>) -> Result<(), Error> {
    shift.set_times(start, end)
}

/// A new draft shift at `location`.
#[allow(clippy::too_many_arguments)]
pub fn draft(
    caller: &Caller,
    place: (&Location, &Position),
    event_id: Option<String>,
    times: (DateTime<Utc>, DateTime<Utc>),
    headcount: u32,
    break_minutes: u32,
    notes: Option<String>,
    now: &str,
) -> Result<Shift, Error> {
    debug_assert_eq!(place.0.tenant_id, caller.tenant_id);
    Shift::draft(ulid::Ulid::new().to_string(), place, event_id, times, headcount, break_minutes, notes, now)
}

/// The supervisor a shift names, if any: a person of the organisation who is not deactivated.
pub async fn supervisor(
    state: &AppState,
    caller: &Caller,
    person_id: Option<&str>,
) -> Result<Option<Supervisor>, Error> {
    let Some(person_id) = person_id else { return Ok(None) };
    let person = state.store.entity::<Person>(&caller.tenant_id, person_id).await?.ok_or(Error::NotFound)?;
    if person.status == PersonStatus::Inactive {
        return Err(Error::field("supervisor_id", "is deactivated"));
    }
    Ok(Some(Supervisor::of(&person)))
}

/// The location and position, checking that they (and the event) exist here and are in use, and
/// that the location is within the caller's.
pub async fn place(
    state: &AppState,
    caller: &Caller,
    location_id: &str,
    position_id: &str,
    event_id: Option<&String>,
) -> Result<(Location, Position), Error> {
    caller.within_location(location_id)?;
    let events: Vec<String> = event_id.cloned().into_iter().collect();
    let (location, position, ()) = tokio::try_join!(
        state.store.entity::<Location>(&caller.tenant_id, location_id),
        state.store.entity::<Position>(&caller.tenant_id, position_id),
        state.store.all_exist::<Event>(&caller.tenant_id, &events),
    )?;
    let (location, position) = (location.ok_or(Error::NotFound)?, position.ok_or(Error::NotFound)?);
    if location.archived_at.is_some() {
        return Err(Error::field("location_id", "is archived"));
    }
    if position.archived_at.is_some() {
        return Err(Error::field("position_id", "is archived"));
    }
    Ok((location, position))
}

/// The organisation's shifts by start, oldest first: one location's (`location_id`) or all,
/// within `from`–`to`; drafts only for coordinators and up. A caller limited to some locations
/// gets only theirs.
#[utoipa::path(get, path = "/shifts", tag = "scheduling", security(("bearer" = [])), params(ShiftQuery),
    responses((status = 200, description = "A page of shifts", body = Page<Shift>)))]
pub async fn list_shifts(
    State(state): State<AppState>,
    caller: Caller,
    ValidQuery(query): ValidQuery<ShiftQuery>,
) -> Result<Json<Page<Shift>>, Error> {
    let (from, to) = (query.from.map(instant), query.to.map(instant));
    let mut filter = archive_filter(query.include_archived);
    if let Some(event) = query.event_id {
        filter = filter.and("event_id = :event", ("", ""), (":event", rota::store::s(event)));
    }
    if let Some(position) = query.position_id {
        filter = filter.and("position_id = :position", ("", ""), (":position", rota::store::s(position)));
    }
    // Drafts are for coordinators, under their 2FA rule; without it a coordinator sees what
    // staff see, and asking for drafts outright is refused.
    if query.status == Some(ShiftStatus::Draft) {
        caller.require(Permission::ScheduleWrite)?;
    }
    match (query.status, caller.require(Permission::ScheduleWrite).is_ok()) {
        (Some(status), _) => {
            filter = filter.and("#status = :status", ("#status", "status"), (":status", value(&status)?))
        }
        (None, false) => {
            filter = filter.and("#status <> :draft", ("#status", "status"), (":draft", value(&ShiftStatus::Draft)?))
        }
        (None, true) => {}
    }
    let locations = caller.locations_to_read(query.location_id.as_deref());
    let page = state
        .store
        .shifts(
            &caller.tenant_id,
            locations.as_deref(),
            (from.as_deref(), to.as_deref()),
            filter,
            query.limit,
            query.cursor.as_deref(),
        )
        .await?;
    Ok(Json(page))
}

/// Adds a draft shift (coordinators and up).
#[utoipa::path(post, path = "/shifts", tag = "scheduling", security(("bearer" = ["schedule.write"])), request_body = CreateShift,
    responses(
        (status = 201, description = "The new draft shift", body = Shift),
        (status = 404, description = "No such location, position, event or supervisor in this organisation", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_shift(
    State(state): State<AppState>,
    caller: Caller,
    ValidJson(request): ValidJson<CreateShift>,
) -> Result<(StatusCode, Json<Shift>), Error> {
    caller.require(Permission::ScheduleWrite)?;
    let times = times(request.start, request.end, request.break_minutes)?;
    let notes = rota::validate::trimmed(request.notes);
    // Round trip 1: the location (its zone), the position, the event and the supervisor.
    let ((location, position), supervisor) = tokio::try_join!(
        place(&state, &caller, &request.location_id, &request.position_id, request.event_id.as_ref()),
        supervisor(&state, &caller, request.supervisor_id.as_deref()),
    )?;
    let now = Now::get();
    let mut shift = draft(
        &caller,
        (&location, &position),
        request.event_id,
        times,
        request.headcount,
        request.break_minutes,
        notes,
        &now.iso,
    )?;
    shift.supervisor = supervisor;
    let audit =
        AuditEntry::new(&caller.actor(), "shift.created", ("shift", &shift.id), None::<&Shift>, Some(&shift), &now.iso);
    // Round trip 2: the shift with its audit entry and its event's tally.
    let tally = state.store.shift_tally(&shift, Some(position.default_hourly_rate_minor))?;
    committed(state.store.create(&shift, &audit, tally.into_iter().collect()).await?)?;
    Ok((StatusCode::CREATED, Json(shift)))
}

/// One shift with its assignments. Staff see published and cancelled shifts only.
#[utoipa::path(get, path = "/shifts/{shift_id}", tag = "scheduling", security(("bearer" = [])),
    params(("shift_id" = String, Path)),
    responses(
        (status = 200, description = "The shift and who is on it", body = ShiftDetail),
        (status = 404, description = "No such shift in this organisation", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_shift(
    State(state): State<AppState>,
    caller: Caller,
    Path(shift_id): Path<String>,
) -> Result<Json<ShiftDetail>, Error> {
    let (shift, assignments) =
        caller.shift_in_scope(state.store.shift_with_assignments(&caller.tenant_id, &shift_id).await?)?;
    if shift.status == ShiftStatus::Draft {
        caller.require_or_hidden(Permission::ScheduleWrite)?;
    }
    Ok(Json(ShiftDetail { shift, assignments }))
}

/// Changes a shift (coordinators and up). New times are judged again for everyone holding a
/// place on it, by the rules of assigning: a blocking violation (the shift moved onto another
/// of theirs, say) answers 422 listing who, a warning too unless `force`. They then reach every
/// assignee's schedule and assignment in the same transaction.
#[utoipa::path(patch, path = "/shifts/{shift_id}", tag = "scheduling", security(("bearer" = ["schedule.write"])),
    params(("shift_id" = String, Path)), request_body = UpdateShift,
    responses(
        (status = 200, description = "The updated shift", body = Shift),
        (status = 404, description = "No such shift (or position) in this organisation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`version` is stale, the shift is cancelled, the position changes while people are assigned, or an assignee's schedule changed at the same time", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`scheduling_conflict`: the new times break the rules for people on the shift (every violation listed), or a field is invalid", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_shift(
    State(state): State<AppState>,
    caller: Caller,
    Path(shift_id): Path<String>,
    ValidJson(update): ValidJson<UpdateShift>,
) -> Result<Json<Shift>, Error> {
    caller.require(Permission::ScheduleWrite)?;
    // Round trip 1: the shift with its assignments, the position and supervisor named, and the
    // rules.
    let (found, position, tenant, supervisor) = tokio::try_join!(
        state.store.shift_with_assignments(&caller.tenant_id, &shift_id),
        async {
            match &update.position_id {
                Some(id) => {
                    Ok(Some(state.store.entity::<Position>(&caller.tenant_id, id).await?.ok_or(Error::NotFound)?))
                }
                None => Ok(None),
            }
        },
        state.store.tenant(&caller.tenant_id),
        supervisor(&state, &caller, update.supervisor_id.as_ref().and_then(Option::as_deref)),
    )?;
    let ((before, assignments), tenant) = (caller.shift_in_scope(found)?, tenant.ok_or(Error::NotFound)?);
    if update.version.is_some_and(|version| version != before.version) {
        return Err(Error::Conflict(Shift::STALE));
    }
    if before.status == ShiftStatus::Cancelled {
        return Err(Error::Conflict("the shift is cancelled"));
    }
    let mut after = before.clone();
    let default_rate = position.as_ref().map(|position| position.default_hourly_rate_minor);
    if let Some(position) = position
        && position.id != before.position_id
    {
        if before.assigned_count > 0 {
            return Err(Error::Conflict("the position of a shift changes only while nobody is assigned"));
        }
        if position.archived_at.is_some() {
            return Err(Error::field("position_id", "is archived"));
        }
        (after.position_id, after.position_name) = (position.id, position.name);
    }
    let start = update.start.map_or_else(|| parse(&before.start), Ok)?;
    let end = update.end.map_or_else(|| parse(&before.end), Ok)?;
    let break_minutes = update.break_minutes.unwrap_or(before.break_minutes);
    let (start, end) = times(start, end, break_minutes).map_err(|error| match (error, update.start) {
        // Only the start was given: name it.
        (Error::Validation(mut errors), Some(_)) if update.end.is_none() && errors[0].field == "end" => {
            errors[0].field = "start".into();
            Error::Validation(errors)
        }
        (error, _) => error,
    })?;
    set_times(&mut after, start, end)?;
    after.break_minutes = break_minutes;
    if let Some(headcount) = update.headcount {
        if headcount < before.assigned_count {
            return Err(Error::field("headcount", "is below the number of people assigned; remove some first"));
        }
        after.headcount = headcount;
    }
    if let Some(notes) = update.notes {
        after.notes = rota::validate::trimmed(notes);
    }
    if update.supervisor_id.is_some() {
        after.supervisor = supervisor;
    }
    let now = Now::get();
    after.touch(&now.iso);
    let retimed = (&after.start, &after.end, after.break_minutes) != (&before.start, &before.end, before.break_minutes);
    // Round trip 2, only when the times change and people hold places: their schedules, to judge
    // them again at the new times.
    let (schedules, overridden) = if retimed {
        recheck(&state, &tenant, &after, &assignments, update.force).await?
    } else {
        (HashMap::new(), Vec::new())
    };
    let verb = if overridden.is_empty() { "shift.updated" } else { "shift.updated_forced" };
    let audit = AuditEntry::new(&caller.actor(), verb, ("shift", &after.id), Some(&before), Some(&after), &now.iso);
    // Last round trip: the shift, its assignees' schedules (as judged) and assignments, and the
    // audit entry.
    let mut more = follow(&state, &after, &assignments, &now.iso, retimed, &schedules)?;
    more.extend(state.store.shift_tally(&after, default_rate)?);
    committed(state.store.update(&after, before.version, &audit, more).await?)?;
    // Drafts are nobody's news: publishing one sends it whole.
    if after.status == ShiftStatus::Published {
        let changed = Job::event(&after.tenant_id, EventType::ShiftChanged, json!({ "shift": after }), &now.iso);
        state.outbox.webhook_for(&tenant, changed).await?;
    }
    if retimed && after.status == ShiftStatus::Published {
        tell(&state, &after, &assignments, |shift| Message::ShiftChanged { shift }).await?;
    }
    Ok(Json(after))
}

/// The writes that keep a shift's assignments (and, when `retimed`, its assignees' schedules)
/// in step with the shift. An assignee whose schedule was judged (in `schedules`, as read) has it
/// written only if it is still as read.
pub fn follow(
    state: &AppState,
    shift: &Shift,
    assignments: &[Assignment],
    now: &str,
    retimed: bool,
    schedules: &HashMap<String, Schedule>,
) -> Result<Vec<aws_sdk_dynamodb::types::TransactWriteItem>, Error> {
    let mut items = Vec::new();
    for before in assignments {
        let holds_place = before.status != AssignmentStatus::Declined;
        let mut after = before.clone();
        after.start.clone_from(&shift.start);
        after.end.clone_from(&shift.end);
        after.shift_status = shift.status;
        after.supervisor.clone_from(&shift.supervisor);
        after.touch(now);
        items.push(state.store.entity_put(&after, Some(before.version))?);
        let booked = (shift.status != ShiftStatus::Cancelled).then(|| Booked::of(shift));
        if let (Some(read), Some(booked), true) = (schedules.get(&before.person_id), &booked, holds_place) {
            let entry = [(shift.id.as_str(), booked.clone())];
            items.push(state.store.schedule_add(&shift.tenant_id, &before.person_id, read, &entry, Utc::now())?);
        } else if holds_place && (retimed || booked.is_none()) {
            items.push(state.store.schedule_change(&shift.tenant_id, &before.person_id, &shift.id, booked.as_ref())?);
        }
    }
    Ok(items)
}

/// Publishes a draft (coordinators and up): staff see it, and its open places can be claimed.
/// Everyone placed on it is judged again first: what blocks (time off approved, deactivation)
/// answers 422 listing who; warnings were judged when they were placed.
#[utoipa::path(post, path = "/shifts/{shift_id}/publish", tag = "scheduling", security(("bearer" = ["schedule.write"])),
    params(("shift_id" = String, Path)),
    responses(
        (status = 200, description = "The published shift", body = Shift),
        (status = 404, description = "No such shift in this organisation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The shift is cancelled, or an assignee's schedule changed at the same time", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`scheduling_conflict`: people placed on it can no longer take it (every violation listed)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn publish_shift(
    State(state): State<AppState>,
    caller: Caller,
    Path(shift_id): Path<String>,
) -> Result<Json<Shift>, Error> {
    caller.require(Permission::ScheduleWrite)?;
    status_change(&state, &caller, &shift_id, ShiftStatus::Published).await
}

/// Cancels a shift (coordinators and up): it leaves its assignees' schedules; the assignments
/// stay as history.
#[utoipa::path(post, path = "/shifts/{shift_id}/cancel", tag = "scheduling", security(("bearer" = ["schedule.write"])),
    params(("shift_id" = String, Path)),
    responses(
        (status = 200, description = "The cancelled shift", body = Shift),
        (status = 404, description = "No such shift in this organisation", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn cancel_shift(
    State(state): State<AppState>,
    caller: Caller,
    Path(shift_id): Path<String>,
) -> Result<Json<Shift>, Error> {
    caller.require(Permission::ScheduleWrite)?;
    status_change(&state, &caller, &shift_id, ShiftStatus::Cancelled).await
}

async fn status_change(
    state: &AppState,
    caller: &Caller,
    shift_id: &str,
    status: ShiftStatus,
) -> Result<Json<Shift>, Error> {
    // Round trip 1: the shift and its assignments, and the rules.
    let (found, tenant) = tokio::try_join!(
        state.store.shift_with_assignments(&caller.tenant_id, shift_id),
        state.store.tenant(&caller.tenant_id),
    )?;
    let ((before, assignments), tenant) = (caller.shift_in_scope(found)?, tenant.ok_or(Error::NotFound)?);
    if before.status == status {
        return Ok(Json(before));
    }
    if before.status == ShiftStatus::Cancelled {
        return Err(Error::Conflict("the shift is cancelled"));
    }
    let now = Now::get();
    let mut after = before.clone();
    after.status = status;
    after.touch(&now.iso);
    // Round trip 2, when publishing a shift people hold places on: their schedules, judged
    // again (what blocks may have come since they were placed: time off, deactivation).
    let schedules = match status {
        ShiftStatus::Published => recheck(state, &tenant, &after, &assignments, true).await?.0,
        _ => HashMap::new(),
    };
    let verb = if status == ShiftStatus::Cancelled { "shift.cancelled" } else { "shift.published" };
    let audit = AuditEntry::new(&caller.actor(), verb, ("shift", &after.id), Some(&before), Some(&after), &now.iso);
    // Last round trip: the shift, its assignments (and schedules), the audit entry.
    let mut more = follow(state, &after, &assignments, &now.iso, false, &schedules)?;
    if status == ShiftStatus::Cancelled {
        // Its places leave the event's tally; publishing changes nothing the tally holds.
        more.extend(state.store.shift_tally(&after, None)?);
    }
    committed(state.store.update(&after, before.version, &audit, more).await?)?;
    let event = if status == ShiftStatus::Cancelled { EventType::ShiftCancelled } else { EventType::ShiftPublished };
    state.outbox.webhook_for(&tenant, Job::event(&after.tenant_id, event, json!({ "shift": after }), &now.iso)).await?;
    match status {
        // Drafts were never announced: people offered a place on one hear of it now.
        ShiftStatus::Published => tell(state, &after, &assignments, |shift| Message::ShiftOffered { shift }).await?,
        ShiftStatus::Cancelled if before.status == ShiftStatus::Published => {
            tell(state, &after, &assignments, |shift| Message::ShiftCancelled { shift }).await?
        }
        _ => {}
    }
    Ok(Json(after))
}

/// The most shifts one recurring request makes: they are written in one transaction with their
/// audit entry, so the whole range is made or none of it. An event's shifts take two writes each
/// (the shift and its tally on the event's dashboard): half as many.
pub const MAX_RECURRING: usize = 99;

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "location_id": "01JSAMPLELOCATION000000000", "position_id": "01JSAMPLEPOSITION000000000", "headcount": 2, "weekdays": ["mon", "wed", "fri"], "start_local": "22:00", "end_local": "06:00", "from": "2030-03-25", "to": "2030-04-07" }))]
pub struct CreateRecurring {
    #[garde(length(min = 1, max = 64))]
    #[schema(min_length = 1, max_length = 64)]
    pub location_id: String,
    #[garde(length(min = 1, max = 64))]
    #[schema(min_length = 1, max_length = 64)]
    pub position_id: String,
    #[garde(range(min = 1, max = MAX_HEADCOUNT))]
    #[schema(minimum = 1, maximum = 40)]
    pub headcount: u32,
    /// The days of the week a shift starts on (`mon` or `monday`, …).
    #[garde(length(min = 1, max = 7))]
    #[schema(min_items = 1, max_items = 7)]
    pub weekdays: Vec<rota::domain::settings::Weekday>,
    /// Wall-clock start on the location's clock, `HH:MM`.
    #[garde(pattern(r"^([01][0-9]|2[0-3]):[0-5][0-9]$"))]
    #[schema(pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9]$", example = "22:00")]
    pub start_local: String,
    /// Wall-clock end; at or before the start means the next day.
    #[garde(pattern(r"^([01][0-9]|2[0-3]):[0-5][0-9]$"))]
    #[schema(pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9]$", example = "06:00")]
    pub end_local: String,
    /// First date (in the location's calendar) a shift may start on.
    #[garde(custom(rota::validate::in_years))]
    #[schema(value_type = String, format = Date)]
    pub from: chrono::NaiveDate,
    /// Last date, inclusive.
    #[garde(custom(rota::validate::in_years))]
    #[schema(value_type = String, format = Date)]
    pub to: chrono::NaiveDate,
    #[garde(range(max = 600))]
    #[schema(maximum = 600)]
    #[serde(default)]
    pub break_minutes: u32,
    #[garde(length(min = 1, max = 64))]
    #[schema(min_length = 1, max_length = 64)]
    pub event_id: Option<String>,
    #[garde(length(chars, max = 1000))]
    #[schema(max_length = 1000)]
    pub notes: Option<String>,
    /// The supervisor of every shift made (as on `POST /shifts`).
    #[garde(length(min = 1, max = 64))]
    #[schema(min_length = 1, max_length = 64)]
    pub supervisor_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Created {
    pub items: Vec<Shift>,
}

fn wall_clock(field: &str, text: &str) -> Result<chrono::NaiveTime, Error> {
    chrono::NaiveTime::parse_from_str(text, "%H:%M").map_err(|_| Error::field(field, "must be a time HH:MM"))
}

/// Makes draft shifts from a weekly pattern (coordinators and up): on each chosen weekday from
/// `from` to `to`, from `start_local` to `end_local` on the location's clock, converted to UTC
/// instants there. An end at or before the start is the next day, so a 22:00–06:00 shift lasts 7
/// or 9 hours on the nights the clocks change. A start or end the clock skips (spring forward)
/// moves later by the gap (02:30 → 03:30); one the clock shows twice (autumn) is the first.
/// At most 99 shifts per request, all made or none.
#[utoipa::path(post, path = "/shifts/recurring", tag = "scheduling", security(("bearer" = ["schedule.write"])), request_body = CreateRecurring,
    responses(
        (status = 201, description = "The shifts made, by start", body = Created),
        (status = 404, description = "No such location, position, event or supervisor in this organisation", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_recurring(
    State(state): State<AppState>,
    caller: Caller,
    ValidJson(request): ValidJson<CreateRecurring>,
) -> Result<(StatusCode, Json<Created>), Error> {
    use rota::domain::time::{ExpandError, expand_weekly};
    caller.require(Permission::ScheduleWrite)?;
    let (start_local, end_local) =
        (wall_clock("start_local", &request.start_local)?, wall_clock("end_local", &request.end_local)?);
    if request.to < request.from {
        return Err(Error::field("to", "must not be before from"));
    }
    let notes = rota::validate::trimmed(request.notes);
    // Round trip 1: the location (its zone), the position, the event and the supervisor.
    let ((location, position), supervisor) = tokio::try_join!(
        place(&state, &caller, &request.location_id, &request.position_id, request.event_id.as_ref()),
        supervisor(&state, &caller, request.supervisor_id.as_deref()),
    )?;
    let zone = zone(&location.time_zone)?;
    let most = if request.event_id.is_some() { MAX_RECURRING / 2 } else { MAX_RECURRING };
    let occurrences = expand_weekly(zone, &request.weekdays, start_local, end_local, request.from, request.to, most)
        .map_err(|error| match error {
            ExpandError::EmptyRange => Error::field("to", "must not be before from"),
            ExpandError::TooMany { max } => {
                Error::field("to", &format!("the range makes more than {max} shifts; split it"))
            }
            ExpandError::ZeroLength => Error::field("end_local", "must differ from start_local"),
        })?;
    if occurrences.is_empty() {
        return Err(Error::field("weekdays", "none of them falls within from–to"));
    }
    let now = Now::get();
    let shifts = occurrences
        .iter()
        .map(|occurrence| {
            let times = times(occurrence.start, occurrence.end, request.break_minutes)?;
            let mut shift = draft(
                &caller,
                (&location, &position),
                request.event_id.clone(),
                times,
                request.headcount,
                request.break_minutes,
                notes.clone(),
                &now.iso,
            )?;
            shift.supervisor.clone_from(&supervisor);
            Ok::<_, Error>(shift)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let ids: Vec<&str> = shifts.iter().map(|shift| shift.id.as_str()).collect();
    let audit = AuditEntry::new(
        &caller.actor(),
        "shift.created_recurring",
        ("shift", ids[0]),
        None::<&()>,
        Some(&ids),
        &now.iso,
    );
    let mut items = vec![state.store.audit_put(&audit)?];
    for shift in &shifts {
        items.push(state.store.entity_put(shift, None)?);
        items.extend(state.store.shift_tally(shift, Some(position.default_hourly_rate_minor))?);
    }
    // Round trip 2: every shift (and its event's tally) with the audit entry, in one transaction.
    committed(state.store.transact(items).await?)?;
    Ok((StatusCode::CREATED, Json(Created { items: shifts })))
}

/// A shift as a message names it.
pub fn summary(shift: &Shift) -> ShiftSummary {
    ShiftSummary::of(shift)
}

/// Tells everyone holding a place on the shift (not those who declined), after the change is
/// committed.
async fn tell(
    state: &AppState,
    shift: &Shift,
    assignments: &[Assignment],
    message: impl Fn(ShiftSummary) -> Message,
) -> Result<(), Error> {
    let envelopes: Vec<Envelope> = assignments
        .iter()
        .filter(|assignment| assignment.status != AssignmentStatus::Declined)
        .map(|assignment| Envelope::to_person(&shift.tenant_id, &assignment.person_id, message(summary(shift))))
        .collect();
    state.outbox.send_all(&envelopes).await
}
