//! Reading attendance (everyone's for coordinators, one's own for everyone), its log, the hours
//! it adds up to, and a coordinator's corrections, which are events like any other.

use std::collections::{BTreeMap, BTreeSet};

use axum::Json;
use axum::extract::{Path, State};
use chrono::{DateTime, Days, NaiveDate, NaiveTime, Utc};
use garde::Validate;
use rota::auth::{Caller, Permission, Role};
use rota::clock::{instant, iso};
use rota::domain::attendance::{CORRECTION_MARGIN, Status, correction_bounds};
use rota::domain::payroll::{first_day_of_week, split};
use rota::error::Problem;
use rota::http::{ValidJson, ValidQuery};
use rota::store::attendance::{Attendance, AttendanceEvent, Correction, Happening};
use rota::store::audit::AuditEntry;
use rota::store::entities::{Filter, Refused};
use rota::store::page::Page;
use rota::store::unlocks::require_unlocked;
use rota::store::{s, value};
use rota::webhooks::{EventType, Job};
use rota::{AppState, Error};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

rota::list_query! {
    pub struct AttendanceQuery {
        /// Shifts starting at or after this instant.
        #[garde(custom(rota::validate::in_years))]
        #[param(value_type = Option<String>, format = DateTime)]
        pub from: Option<DateTime<Utc>>,
        /// Shifts starting before this instant.
        #[garde(custom(rota::validate::in_years))]
        #[param(value_type = Option<String>, format = DateTime)]
        pub to: Option<DateTime<Utc>>,
        /// One person's records (their own index: nobody else's record is read).
        #[garde(length(min = 1, max = 64))]
        #[param(min_length = 1, max_length = 64)]
        pub person_id: Option<String>,
        /// One location's records (its own index: no other location's record is read).
        #[garde(length(min = 1, max = 64))]
        #[param(min_length = 1, max_length = 64)]
        pub location_id: Option<String>,
        #[garde(length(min = 1, max = 64))]
        #[param(min_length = 1, max_length = 64)]
        pub event_id: Option<String>,
        #[garde(skip)]
        #[param(inline)]
        pub status: Option<Status>,
    }
}

fn filter(event_id: Option<&str>, status: Option<Status>) -> Result<Filter, Error> {
    let mut filter = Filter::default();
    if let Some(event) = event_id {
        filter = filter.and("event_id = :event", ("", ""), (":event", s(event)));
    }
    if let Some(status) = status {
        filter = filter.and("#status = :status", ("#status", "status"), (":status", value(&status)?));
    }
    Ok(filter)
}

/// A page of records: `person_id`'s or everyone's, of `locations` (`None`: all).
async fn list(
    state: &AppState,
    caller: &Caller,
    (person_id, locations): (Option<&str>, Option<Vec<String>>),
    query: AttendanceQuery,
) -> Result<Page<Attendance>, Error> {
    let (from, to) = (query.from.map(instant), query.to.map(instant));
    let mut page = state
        .store
        .attendance_records(
            &caller.tenant_id,
            (person_id, locations.as_deref()),
            (from.as_deref(), to.as_deref()),
            filter(query.event_id.as_deref(), query.status)?,
            query.limit,
            query.cursor.as_deref(),
        )
        .await?;
    page.items.iter_mut().for_each(|record| seen_by(record, caller));
    Ok(page)
}

/// A record as `caller` may see it: its rate only for those who see the person's pay.
fn seen_by(record: &mut Attendance, caller: &Caller) {
    if !caller.sees_pay_of(&record.person_id) {
        record.rate_minor = None;
    }
}

/// The organisation's attendance by shift start, oldest first (coordinators and up): everyone's
/// or one person's, at every location or one, within `from`–`to`, of one event or in one status.
/// A caller limited to some locations gets only theirs. One event's is its
/// dashboard data: on a plan that charges per event, `402 payment_required` until it is unlocked.
#[utoipa::path(get, path = "/attendance", tag = "attendance", security(("bearer" = ["attendance.read"])), params(AttendanceQuery),
    responses(
        (status = 200, description = "A page of attendance records", body = Page<Attendance>),
        (status = 402, description = "The event asked for is locked (`payment_required`), with its quote", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_attendance(
    State(state): State<AppState>,
    caller: Caller,
    ValidQuery(query): ValidQuery<AttendanceQuery>,
) -> Result<Json<Page<Attendance>>, Error> {
    caller.require(Permission::AttendanceRead)?;
    let person_id = query.person_id.clone();
    let read = |query: &AttendanceQuery| (person_id.as_deref(), caller.locations_to_read(query.location_id.as_deref()));
    let Some(event_id) = query.event_id.clone() else {
        return Ok(Json(list(&state, &caller, read(&query), query).await?));
    };
    // One round trip, in parallel: the page, and whether the event's data is open (its plan may
    // charge per event).
    let (page, tenant, unlock) = tokio::try_join!(
        list(&state, &caller, read(&query), query),
        state.store.tenant(&caller.tenant_id),
        state.store.event_unlock(&caller.tenant_id, &event_id),
    )?;
    let tenant = tenant.ok_or(Error::NotFound)?;
    require_unlocked(tenant.subscription.as_ref(), unlock, &rota::clock::Now::get().iso)?;
    Ok(Json(page))
}

rota::list_query! {
    pub struct MyAttendanceQuery {
        /// Shifts starting at or after this instant.
        #[garde(custom(rota::validate::in_years))]
        #[param(value_type = Option<String>, format = DateTime)]
        pub from: Option<DateTime<Utc>>,
        /// Shifts starting before this instant.
        #[garde(custom(rota::validate::in_years))]
        #[param(value_type = Option<String>, format = DateTime)]
        pub to: Option<DateTime<Utc>>,
        #[garde(skip)]
        #[param(inline)]
        pub status: Option<Status>,
    }
}

/// Own attendance by shift start, oldest first.
#[utoipa::path(get, path = "/me/attendance", tag = "attendance", security(("bearer" = [])), params(MyAttendanceQuery),
    responses((status = 200, description = "A page of your attendance records", body = Page<Attendance>)))]
pub async fn my_attendance(
    State(state): State<AppState>,
    caller: Caller,
    ValidQuery(query): ValidQuery<MyAttendanceQuery>,
) -> Result<Json<Page<Attendance>>, Error> {
    let query = AttendanceQuery {
        from: query.from,
        to: query.to,
        person_id: None,
        location_id: None,
        event_id: None,
        status: query.status,
        limit: query.limit,
        cursor: query.cursor,
    };
    // One's own records, wherever they are.
    Ok(Json(list(&state, &caller, (Some(&caller.person_id), None), query).await?))
}

/// A record with its log: every check-in, check-out, correction and review, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttendanceWithLog {
    #[serde(flatten)]
    pub attendance: Attendance,
    pub events: Vec<AttendanceEvent>,
}

/// One attendance record and its log (its person, or coordinators and up).
#[utoipa::path(get, path = "/attendance/{attendance_id}", tag = "attendance", security(("bearer" = [])),
    params(("attendance_id" = String, Path)),
    responses(
        (status = 200, description = "The record and its log", body = AttendanceWithLog),
        (status = 404, description = "No such record (of yours, for staff)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_attendance(
    State(state): State<AppState>,
    caller: Caller,
    Path(attendance_id): Path<String>,
) -> Result<Json<AttendanceWithLog>, Error> {
    let (attendance, events) =
        state.store.attendance_with_events(&caller.tenant_id, &attendance_id).await?.ok_or(Error::NotFound)?;
    caller.require_unless_own(&attendance.person_id, Permission::AttendanceRead)?;
    caller.within_location_unless_own(&attendance.person_id, &attendance.location_id)?;
    let mut attendance = attendance;
    seen_by(&mut attendance, &caller);
    Ok(Json(AttendanceWithLog { attendance, events }))
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "status": "on_time", "reason": "Phone died at the gate; seen by the supervisor" }))]
pub struct Override {
    #[garde(custom(rota::validate::in_years))]
    pub check_in_at: Option<DateTime<Utc>>,
    #[garde(custom(rota::validate::in_years))]
    pub check_out_at: Option<DateTime<Utc>>,
    /// Keeps this status whatever the times say.
    #[garde(skip)]
    pub status: Option<Status>,
    /// Why: kept in the record's log and the audit log.
    #[garde(length(chars, min = 1, max = 500), custom(rota::validate::not_blank))]
    #[schema(min_length = 1, max_length = 500, pattern = r"\S")]
    pub reason: String,
    /// An owner confirms times beyond the shift's check-in window and 2 hours either side
    /// (anyone else setting it: 403).
    #[garde(skip)]
    pub owner_confirmed: Option<bool>,
}

/// Corrects a record (coordinators and up): new check-in or check-out times, or a status. The
/// correction is one more event; the original marks stay in the record and its log. A person
/// who never checked in can be given a record this way (with `check_in_at`), as long as they are
/// on the shift.
///
/// Separation of duties: nobody below owner corrects their own record (403 `own_record`).
/// Corrected times stay within the shift's check-in window and 2 hours either side unless an
/// owner confirms (`owner_confirmed`), and a record never counts more than the shift's length
/// plus 2 hours of work (a longer day is a change to the shift).
#[utoipa::path(post, path = "/attendance/{attendance_id}/override", tag = "attendance", security(("bearer" = ["attendance.correct"])),
    params(("attendance_id" = String, Path)), request_body = Override,
    responses(
        (status = 200, description = "The corrected record", body = Attendance),
        (status = 403, description = "The caller's own record (`own_record`), or `owner_confirmed` set by someone not an owner", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such record, nor an accepted assignment it could be", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Changed by someone else meanwhile, or it counts in a closed pay period", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn override_attendance(
    State(state): State<AppState>,
    caller: Caller,
    Path(attendance_id): Path<String>,
    ValidJson(request): ValidJson<Override>,
) -> Result<Json<Attendance>, Error> {
    caller.require(Permission::AttendanceCorrect)?;
    let confirmed = request.owner_confirmed == Some(true);
    if confirmed && caller.role != Role::Owner {
        return Err(Error::Forbidden("only an owner confirms corrected times beyond the shift's window and margin"));
    }
    if request.check_in_at.is_none() && request.check_out_at.is_none() && request.status.is_none() {
        return Err(Error::field("check_in_at", "give check_in_at, check_out_at or status to correct"));
    }
    if let (Some(check_in), Some(check_out)) = (request.check_in_at, request.check_out_at)
        && check_out <= check_in
    {
        return Err(Error::field("check_out_at", "must be after check_in_at"));
    }
    // Round trip 1: the record, or what it would be made of (the assignment, shift and person),
    // the rules, and the coordinator's name.
    let (desk, me) = tokio::try_join!(
        state.store.correcting(&caller.tenant_id, &attendance_id),
        state.store.entity::<rota::store::people::Person>(&caller.tenant_id, &caller.person_id),
    )?;
    let tenant = desk.tenant.ok_or(Error::NotFound)?;
    let before = desk.record;
    let supervisor = desk.shift.as_ref().and_then(|shift| shift.supervisor.clone());
    let now = iso(Utc::now());
    let mut record = match (&before, desk.assignment, desk.shift, desk.person) {
        (Some(record), _, _, _) => record.clone(),
        (None, Some(assignment), Some(shift), Some(person))
            if assignment.status == rota::store::schedule::AssignmentStatus::Accepted =>
        {
            if request.check_in_at.is_none() {
                return Err(Error::field("check_in_at", "is needed for someone who never checked in"));
            }
            Attendance::of(&shift, &assignment, &person.name, person.hourly_rate_minor, &now)
        }
        _ => return Err(Error::NotFound),
    };
    caller.within_location(&record.location_id)?;
    caller.not_own(&record.person_id)?;
    if !confirmed {
        let shift = |at: &str| at.parse::<DateTime<Utc>>().map_err(Error::internal);
        let bounds = correction_bounds(shift(&record.shift_start)?, shift(&record.shift_end)?, &tenant.settings);
        for (field, at) in [("check_in_at", request.check_in_at), ("check_out_at", request.check_out_at)] {
            if at.is_some_and(|at| !bounds.contains(at)) {
                let message = format!(
                    "must be within the shift's check-in window and {} hours either side, {} to {}; an owner may confirm a time beyond it (owner_confirmed)",
                    CORRECTION_MARGIN.num_hours(),
                    instant(bounds.opens_at),
                    instant(bounds.closes_at)
                );
                return Err(Error::field(field, &message));
            }
        }
    }
    let check_out_after = request.check_out_at.map(instant).or(record.check_out_at.clone());
    let check_in_after = request.check_in_at.map(instant).or(record.check_in_at.clone());
    if let (Some(check_in), Some(check_out)) = (check_in_after, check_out_after)
        && check_out.parse::<DateTime<Utc>>().map_err(Error::internal)?
            <= check_in.parse::<DateTime<Utc>>().map_err(Error::internal)?
    {
        return Err(Error::field("check_out_at", "must be after the check-in"));
    }
    let correction = Correction {
        check_in_at: request.check_in_at.map(iso),
        check_out_at: request.check_out_at.map(iso),
        status: request.status,
        reason: request.reason.trim().to_owned(),
    };
    let by_name = me.map(|me| me.name).unwrap_or_default();
    let event = AttendanceEvent::new(&record.id, (&caller.person_id, &by_name), &now, Happening::Override(correction));
    record.apply(&event, &tenant.settings);
    let audit = AuditEntry::new(
        &caller.actor(),
        "attendance.overridden",
        ("attendance", &record.id),
        before.as_ref(),
        Some(&record),
        &now,
    );
    // The weeks the record counted in before and counts in now must not be in a closed pay period.
    let zone = tenant.zone()?;
    let weeks: BTreeSet<NaiveDate> = [before.as_ref(), Some(&record)]
        .into_iter()
        .flatten()
        .filter_map(|record| record.worked_on(zone))
        .map(|(date, _)| first_day_of_week(date, tenant.week_start))
        .collect();
    // Round trip 2: the audit entry, the weeks checked open, the record, its event and what
    // follows from it (tally, on-site marker).
    let mut items = vec![state.store.audit_put(&audit)?];
    for week in weeks {
        items.push(state.store.week_open(&caller.tenant_id, week)?);
    }
    let weeks_at = 1..items.len();
    items.extend(state.store.attendance_put(before.as_ref(), &record, &event, supervisor.as_ref())?);
    seen_by(&mut record, &caller);
    match state.store.transact(items).await? {
        Ok(()) => {
            let corrected =
                Job::event(&caller.tenant_id, EventType::AttendanceCorrected, json!({ "attendance": record }), &now);
            state.outbox.webhook_for(&tenant, corrected).await?;
            Ok(Json(record))
        }
        Err(Refused(failed)) if failed.iter().any(|position| weeks_at.contains(position)) => Err(Error::Conflict(
            "the record counts in a closed pay period; an owner must reopen it (POST /pay-periods/{start}/reopen)",
        )),
        Err(Refused(_)) => Err(Error::Conflict("the record was changed by someone else; reload and retry")),
    }
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HoursQuery {
    /// First day (the organisation's calendar), included.
    #[garde(custom(rota::validate::in_years))]
    #[param(value_type = String, format = Date, example = "2030-07-01")]
    pub from: NaiveDate,
    /// Last day, included; at most 366 days after `from`.
    #[garde(custom(rota::validate::in_years))]
    #[param(value_type = String, format = Date, example = "2030-07-07")]
    pub to: NaiveDate,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Day {
    #[schema(value_type = String, format = Date)]
    pub date: NaiveDate,
    pub worked_minutes: i64,
}

/// Worked time over some days, split as pay would split it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Hours {
    #[schema(value_type = String, format = Date)]
    pub from: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub to: NaiveDate,
    pub worked_minutes: i64,
    /// Minutes at the regular rate and at the overtime rate (daily, then weekly thresholds; no
    /// minute counted twice).
    pub regular_minutes: i64,
    pub overtime_minutes: i64,
    /// Shifts with a check-in in these days.
    pub shifts: usize,
    /// Days with worked minutes, in order.
    pub days: Vec<Day>,
}

/// Own worked hours between two days of the organisation's calendar, by day, with the regular
/// and overtime split. Counts what was checked in and out (and corrected); the week's overtime
/// counts from the week's first day, so ask from a week start for a whole week's figure.
#[utoipa::path(get, path = "/me/hours", tag = "attendance", security(("bearer" = [])), params(HoursQuery),
    responses((status = 200, description = "Your hours", body = Hours)))]
pub async fn my_hours(
    State(state): State<AppState>,
    caller: Caller,
    ValidQuery(query): ValidQuery<HoursQuery>,
) -> Result<Json<Hours>, Error> {
    if query.to < query.from || (query.to - query.from).num_days() > 366 {
        return Err(Error::field("to", "must be on or after from, and at most 366 days after it"));
    }
    // Records are read by shift start, then kept by their check-in's day on the organisation's
    // calendar: two days either side cover any zone and a night that began the day before.
    let first = instant(query.from.and_time(NaiveTime::MIN).and_utc() - Days::new(2));
    let last = instant(query.to.and_time(NaiveTime::MIN).and_utc() + Days::new(3));
    // One round trip: the organisation (zone, week, rules) and the records, in parallel.
    let (tenant, records) = tokio::try_join!(
        state.store.tenant(&caller.tenant_id),
        state.store.all_attendance(
            &caller.tenant_id,
            (Some(&caller.person_id), None),
            (&first, &last),
            Filter::default()
        ),
    )?;
    let tenant = tenant.ok_or(Error::NotFound)?;
    let zone = tenant.zone()?;
    let mut days: BTreeMap<NaiveDate, i64> = BTreeMap::new();
    let mut shifts = 0;
    for (date, minutes) in records.iter().filter_map(|record| record.worked_on(zone)) {
        if (query.from..=query.to).contains(&date) {
            *days.entry(date).or_default() += minutes;
            shifts += 1;
        }
    }
    let split = split(&days, tenant.week_start, &tenant.settings);
    Ok(Json(Hours {
        from: query.from,
        to: query.to,
        worked_minutes: days.values().sum(),
        regular_minutes: split.regular_minutes,
        overtime_minutes: split.overtime_minutes,
        shifts,
        days: days.into_iter().map(|(date, worked_minutes)| Day { date, worked_minutes }).collect(),
    }))
}
