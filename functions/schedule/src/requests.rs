//! Requests: time off, and handing one's shift to a colleague (a swap). Staff ask; a coordinator
//! decides. A swap first needs a colleague to take it (the one it was offered to, or anyone
//! eligible), and the organisation may let a taken swap through without a coordinator
//! (`swap_approval_required`). Every decision keeps who made it, when and their note, and both
//! sides hear of it.
//!
//! Approved time off is kept in the person's schedule, so the conflict rules see it and an
//! assignment racing the approval is decided by the schedule's version: approving takes the
//! person off their future shifts on those days (the places open again) in the same transaction.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{NaiveDate, Utc};
use garde::Validate;
use rota::auth::{Caller, Permission};
use rota::clock::Now;
use rota::domain::conflicts::{self, DateRange, Placement};
use rota::error::Problem;
use rota::http::{ValidJson, ValidQuery};
use rota::notify::{Envelope, Message, RequestSubject, ShiftSummary};
use rota::records::committed;
use rota::store::audit::AuditEntry;
use rota::store::entities::{Entity, Filter, Refused};
use rota::store::page::Page;
use rota::store::people::Person;
use rota::store::placing::Placing;
use rota::store::requests::{Decision, Request, RequestKind, RequestStatus, SwapShift};
use rota::store::schedule::{Assignment, AssignmentStatus, Away, Shift, ShiftStatus};
use rota::store::tenants::Tenant;
use rota::store::value;
use rota::validate::not_blank;
use rota::webhooks::{EventType, Job};
use rota::{AppState, Error};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::assignments::{booked_slot, candidate, date, rules};

/// The longest time off one request asks for, in days.
pub const MAX_TIME_OFF_DAYS: i64 = 366;

/// The most shifts approving time off takes a person off at once: each is up to three writes
/// (the assignment, the shift's count, its event's tally) in the one transaction with the
/// request, its audit entry and the person's schedule.
pub const MAX_RELEASED: usize = 32;

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
#[schema(example = json!({ "kind": "time_off", "from": "2030-08-01", "to": "2030-08-03", "reason": "Family wedding" }))]
pub enum NewRequest {
    /// Hand one's place on a shift to a named colleague, or to anyone eligible (no `to_person_id`).
    /// A coordinator may set one up for the person on the shift.
    Swap {
        #[garde(length(min = 1, max = 129))]
        #[schema(min_length = 1, max_length = 129)]
        assignment_id: String,
        #[garde(length(min = 1, max = 64))]
        #[schema(min_length = 1, max_length = 64)]
        to_person_id: Option<String>,
    },
    /// Days off, both included, on the clock of wherever the shifts are.
    TimeOff {
        #[garde(custom(rota::validate::in_years))]
        from: NaiveDate,
        /// Not before `from`, and at most 366 days after it.
        #[garde(custom(rota::validate::in_years))]
        to: NaiveDate,
        #[garde(length(chars, min = 1, max = 500), custom(not_blank))]
        #[schema(min_length = 1, max_length = 500, pattern = r"[^\s\x00-\x1f\x7f-\x9f]")]
        reason: Option<String>,
    },
}

/// Asks for time off, or offers one's assignment to a colleague (a coordinator may offer anyone's,
/// who is then its requester). Time off waits for a coordinator (`pending`); a swap waits for a
/// colleague to take it (`open`), who is told.
#[utoipa::path(post, path = "/requests", tag = "requests", security(("bearer" = [])), request_body = NewRequest,
    responses(
        (status = 201, description = "The request", body = Request),
        (status = 404, description = "No such assignment of yours, or no such colleague", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The shift has started, is cancelled or not published, or you declined it", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_request(
    State(state): State<AppState>,
    caller: Caller,
    ValidJson(request): ValidJson<NewRequest>,
) -> Result<(StatusCode, Json<Request>), Error> {
    let now = Now::get();
    let mut new = Request {
        id: ulid::Ulid::new().to_string(),
        tenant_id: caller.tenant_id.clone(),
        kind: RequestKind::TimeOff,
        status: RequestStatus::Pending,
        requester_id: caller.person_id.clone(),
        requester_name: String::new(),
        requester_unit_id: None,
        from: None,
        to: None,
        reason: None,
        assignment_id: None,
        shift: None,
        to_person_id: None,
        offered_to_anyone: false,
        to_person_name: None,
        accepted_at: None,
        decision: None,
        released_shift_ids: Vec::new(),
        version: 1,
        created_at: now.iso.clone(),
        updated_at: now.iso.clone(),
    };
    let mut offered_to = None;
    match request {
        NewRequest::TimeOff { from, to, reason } => {
            if to < from {
                return Err(Error::field("to", "must not be before from"));
            }
            if (to - from).num_days() >= MAX_TIME_OFF_DAYS {
                return Err(Error::field("to", "must be within 366 days of from"));
            }
            // Round trip 1: the requester.
            let me = person(&state, &caller.tenant_id, &caller.person_id).await?;
            new.requester_name = me.name;
            new.requester_unit_id = me.unit_id;
            (new.from, new.to) = (Some(from.to_string()), Some(to.to_string()));
            new.reason = rota::validate::trimmed(reason);
        }
        NewRequest::Swap { assignment_id, to_person_id } => {
            let Some((shift_id, holder)) = Assignment::parts(&assignment_id) else { return Err(Error::NotFound) };
            // A coordinator arranges a swap for the person on the shift; staff only their own.
            caller.require_unless_own(holder, Permission::ScheduleWrite)?;
            if to_person_id.as_deref() == Some(holder) {
                return Err(Error::field("to_person_id", "must be someone other than the person on the shift"));
            }
            // Round trip 1: the assignment, its shift, the person on it and the colleague.
            let colleague = async {
                match &to_person_id {
                    Some(id) => state.store.entity::<Person>(&caller.tenant_id, id).await,
                    None => Ok(None),
                }
            };
            let (assignment, shift, holder_person, colleague) = tokio::try_join!(
                state.store.entity::<Assignment>(&caller.tenant_id, &assignment_id),
                state.store.entity::<Shift>(&caller.tenant_id, shift_id),
                person(&state, &caller.tenant_id, holder),
                colleague,
            )?;
            let (assignment, shift) = (assignment.ok_or(Error::NotFound)?, shift.ok_or(Error::NotFound)?);
            if to_person_id.is_some() && colleague.is_none() {
                return Err(Error::NotFound);
            }
            if assignment.status == AssignmentStatus::Declined {
                return Err(Error::Conflict("the shift was declined; there is no place to hand over"));
            }
            match shift.status {
                ShiftStatus::Published => {}
                ShiftStatus::Draft => return Err(Error::Conflict("the shift is not published yet")),
                ShiftStatus::Cancelled => return Err(Error::Conflict("the shift is cancelled")),
            }
            if shift.start <= now.iso {
                return Err(Error::Conflict("the shift has started; it can no longer be swapped"));
            }
            new.kind = RequestKind::Swap;
            new.status = RequestStatus::Open;
            new.requester_id = holder.to_owned();
            new.requester_name = holder_person.name;
            new.requester_unit_id = holder_person.unit_id;
            new.assignment_id = Some(assignment_id);
            new.shift = Some(SwapShift::of(&shift));
            new.to_person_name = colleague.map(|colleague| colleague.name);
            new.offered_to_anyone = to_person_id.is_none();
            new.to_person_id = to_person_id;
            offered_to = new.to_person_id.clone();
        }
    }
    let audit = AuditEntry::new(
        &caller.actor(),
        "request.created",
        ("request", &new.id),
        None::<&Request>,
        Some(&new),
        &now.iso,
    );
    // Round trip 2: the request with its audit entry.
    committed(state.store.create(&new, &audit, Vec::new()).await?)?;
    if let (Some(colleague), Some(shift)) = (offered_to, &new.shift) {
        let message = Message::SwapOffered {
            shift: summary(shift),
            from: new.requester_name.clone(),
            request_id: new.id.clone(),
        };
        state.outbox.send(&Envelope::to_person(&caller.tenant_id, &colleague, message)).await?;
    }
    Ok((StatusCode::CREATED, Json(new)))
}

async fn person(state: &AppState, tenant_id: &str, person_id: &str) -> Result<Person, Error> {
    state.store.entity::<Person>(tenant_id, person_id).await?.ok_or(Error::NotFound)
}

fn summary(shift: &SwapShift) -> ShiftSummary {
    ShiftSummary {
        shift_id: shift.id.clone(),
        location: shift.location_name.clone(),
        position: shift.position_name.clone(),
        start_local: shift.start_local.clone(),
        end_local: shift.end_local.clone(),
        time_zone: shift.time_zone.clone(),
    }
}

rota::list_query! {
    pub struct RequestsQuery {
        /// Only your own requests, newest first (what staff get without either flag).
        #[garde(skip)]
        pub mine: Option<bool>,
        /// Only what waits for you, oldest first: for coordinators and up, requests to decide; for
        /// staff, swaps offered to you or to anyone that you can take.
        #[garde(skip)]
        pub to_review: Option<bool>,
        #[garde(skip)]
        #[param(inline)]
        pub status: Option<RequestStatus>,
    }
}

/// Requests: your own (`mine=true`), what waits for you (`to_review=true`), or, for coordinators
/// and up without either, every request of the organisation in the order they were made. Each
/// is one Query.
#[utoipa::path(get, path = "/requests", tag = "requests", security(("bearer" = [])), params(RequestsQuery),
    responses((status = 200, description = "A page of requests", body = Page<Request>)))]
pub async fn list_requests(
    State(state): State<AppState>,
    caller: Caller,
    ValidQuery(query): ValidQuery<RequestsQuery>,
) -> Result<Json<Page<Request>>, Error> {
    let (mine, to_review) = (query.mine == Some(true), query.to_review == Some(true));
    if mine && to_review {
        return Err(Error::field("to_review", "choose mine or to_review, not both"));
    }
    let coordinator = caller.holds(Permission::ScheduleWrite);
    let filter = match query.status {
        Some(status) => Filter::default().and("#status = :status", ("#status", "status"), (":status", value(&status)?)),
        None => Filter::default(),
    };
    // What a coordinator reviews is their units' people's (their own requests are theirs anyway).
    let reviewed = match caller.units_to_read(None) {
        Some(units) => filter.clone().and_among("requester_unit_id", &units),
        None => filter.clone(),
    };
    let (tenant, limit, cursor) = (&caller.tenant_id, query.limit, query.cursor.as_deref());
    let page = if to_review && coordinator {
        caller.require(Permission::ScheduleWrite)?;
        state.store.waiting_requests(tenant, RequestStatus::Pending, None, reviewed, limit, cursor).await?
    } else if to_review {
        state
            .store
            .waiting_requests(tenant, RequestStatus::Open, Some(&caller.person_id), filter, limit, cursor)
            .await?
    } else if mine || !coordinator {
        state.store.my_requests(tenant, &caller.person_id, filter, limit, cursor).await?
    } else {
        caller.require(Permission::ScheduleWrite)?;
        state.store.entities::<Request>(tenant, limit, cursor, reviewed).await?
    };
    Ok(Json(page))
}

/// Whether the caller is a party to the request: its requester, its colleague, or anyone it is
/// open to.
fn party(request: &Request, caller: &Caller) -> bool {
    request.requester_id == caller.person_id
        || request.to_person_id.as_deref() == Some(caller.person_id.as_str())
        || request.open_to(&caller.person_id)
}

/// The request, if the caller may see it: its parties, and coordinators and up (under their 2FA
/// rule; those limited to units, of their units' people).
async fn read_request(state: &AppState, caller: &Caller, request_id: &str) -> Result<Request, Error> {
    let request = state.store.entity::<Request>(&caller.tenant_id, request_id).await?.ok_or(Error::NotFound)?;
    if !party(&request, caller) {
        caller.require_or_hidden(Permission::ScheduleWrite)?;
        if !caller.scope.sees_unit(request.requester_unit_id.as_deref()) {
            return Err(Error::NotFound);
        }
    }
    Ok(request)
}

/// One request, for its requester, its colleague, anyone who may take it, and coordinators.
#[utoipa::path(get, path = "/requests/{request_id}", tag = "requests", security(("bearer" = [])),
    params(("request_id" = String, Path)),
    responses(
        (status = 200, description = "The request", body = Request),
        (status = 404, description = "No such request you may see", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_request(
    State(state): State<AppState>,
    caller: Caller,
    Path(request_id): Path<String>,
) -> Result<Json<Request>, Error> {
    Ok(Json(read_request(&state, &caller, &request_id).await?))
}

#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "note": "Covered by the evening team" }))]
pub struct Decide {
    /// Kept with the decision and sent to both sides.
    #[garde(length(chars, min = 1, max = 500), custom(not_blank))]
    #[schema(min_length = 1, max_length = 500, pattern = r"[^\s\x00-\x1f\x7f-\x9f]")]
    pub note: Option<String>,
    /// Approve a swap despite warnings about the colleague (never despite blocking violations);
    /// audited.
    #[garde(skip)]
    #[serde(default)]
    pub force: bool,
}

/// The decision `caller` makes now.
fn decision(caller: &Caller, name: String, note: Option<String>, at: &str) -> Decision {
    Decision { by: caller.person_id.clone(), by_name: name, at: at.to_owned(), note: rota::validate::trimmed(note) }
}

/// The colleague takes a swap offered to them (or to anyone): the rules are checked for them
/// now (422 lists what rules them out). With the organisation's `swap_approval_required` on
/// (the default) it then waits for a coordinator, and the requester is told; off, the shift is
/// theirs at once.
#[utoipa::path(post, path = "/requests/{request_id}/accept", tag = "requests", security(("bearer" = [])),
    params(("request_id" = String, Path)),
    responses(
        (status = 200, description = "Taken: `pending` a coordinator's approval, or `approved` and handed over", body = Request),
        (status = 404, description = "No such swap in this organisation, or it is your own", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "It is no longer open, or the shift or a schedule changed meanwhile", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`scheduling_conflict`: the rules rule you out (every violation listed)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn accept_request(
    State(state): State<AppState>,
    caller: Caller,
    Path(request_id): Path<String>,
) -> Result<Json<Request>, Error> {
    let me = std::slice::from_ref(&caller.person_id);
    // Round trip 1: the request, the rules, and the caller with their schedule.
    let (request, tenant, placings) = tokio::try_join!(
        state.store.entity::<Request>(&caller.tenant_id, &request_id),
        tenant(&state, &caller.tenant_id),
        state.store.placing(&caller.tenant_id, me),
    )?;
    let request = request.ok_or(Error::NotFound)?;
    // A colleague who lost the race for a swap offered to anyone no longer sees it, but saw it:
    // they are told it is gone (409). A swap named for someone else stays unseen (404).
    let seen = party(&request, &caller) || caller.holds(Permission::ScheduleWrite) || request.offered_to_anyone;
    if request.kind != RequestKind::Swap || request.requester_id == caller.person_id || !seen {
        return Err(Error::NotFound);
    }
    if !request.open_to(&caller.person_id) {
        return Err(Error::Conflict("the swap is not open to you any more (taken or withdrawn)"));
    }
    let shift = request.shift.clone().ok_or_else(|| Error::internal("a swap without its shift"))?;
    let placing = &placings[0];
    let name = placing.person.as_ref().map(|person| person.name.clone()).unwrap_or_default();
    let warnings = judge(&shift, &caller.person_id, placing, &tenant, false)?;
    let now = Now::get();
    let mut after = request.clone();
    after.to_person_id = Some(caller.person_id.clone());
    after.to_person_name = Some(name.clone());
    after.accepted_at = Some(now.iso.clone());
    after.touch(&now.iso);
    let needs_approval = tenant.settings.swap_approval_required;
    if needs_approval {
        after.status = RequestStatus::Pending;
        let audit = AuditEntry::new(
            &caller.actor(),
            "request.accepted",
            ("request", &after.id),
            Some(&request),
            Some(&after),
            &now.iso,
        );
        // Round trip 2: the request with its audit entry.
        committed(state.store.update(&after, request.version, &audit, Vec::new()).await?)?;
    } else {
        after.status = RequestStatus::Approved;
        after.decision = Some(decision(&caller, name.clone(), None, &now.iso));
        // Round trip 2: the hand-over.
        hand_over(&state, &caller, &request, &after, &shift, placing, warnings, &now.iso).await?;
    }
    let message = Message::SwapTaken { shift: summary(&shift), by: name, needs_approval };
    state.outbox.send(&Envelope::to_person(&caller.tenant_id, &request.requester_id, message)).await?;
    Ok(Json(after))
}

async fn tenant(state: &AppState, tenant_id: &str) -> Result<Tenant, Error> {
    state.store.tenant(tenant_id).await?.ok_or(Error::NotFound)
}

/// What the rules say about `person_id` taking the swap's shift: blocking violations (and
/// warnings, unless `force`) are the 422; the warnings that remain are returned. The place is
/// handed over, so the headcount is not in question.
fn judge(
    shift: &SwapShift,
    person_id: &str,
    placing: &Placing,
    tenant: &Tenant,
    force: bool,
) -> Result<Vec<conflicts::Violation>, Error> {
    if placing.schedule.shifts.contains_key(&shift.id) {
        return Err(Error::Conflict("the colleague is on this shift already"));
    }
    let candidate = candidate(person_id, placing)?.ok_or(Error::NotFound)?;
    let slot = booked_slot(&shift.id, &shift.booked())?;
    let violations = conflicts::check(&slot, 1, 0, &candidate, &rules(tenant)?, Placement::Assign);
    let (blocking, warnings): (Vec<_>, Vec<_>) = violations.into_iter().partition(|violation| violation.blocking);
    if !blocking.is_empty() || (!warnings.is_empty() && !force) {
        return Err(Error::Scheduling(blocking.into_iter().chain(warnings).collect()));
    }
    Ok(warnings)
}

/// Hands the requester's place on `shift` to the colleague of `after` in one transaction: the
/// request (still as it was read), its audit entry, the requester's assignment gone and the
/// colleague's made (accepted), both schedules, and a check that the shift is still the one
/// judged. The colleague's schedule must be as `placing` read it.
#[allow(clippy::too_many_arguments)]
async fn hand_over(
    state: &AppState,
    caller: &Caller,
    before: &Request,
    after: &Request,
    shift: &SwapShift,
    placing: &Placing,
    warnings: Vec<conflicts::Violation>,
    now: &str,
) -> Result<(), Error> {
    let colleague = after.to_person_id.clone().ok_or_else(|| Error::internal("a swap without its colleague"))?;
    let assignment = Assignment {
        id: Assignment::id_of(&shift.id, &colleague),
        tenant_id: caller.tenant_id.clone(),
        shift_id: shift.id.clone(),
        person_id: colleague.clone(),
        status: AssignmentStatus::Accepted,
        forced: !warnings.is_empty(),
        assigned_by: caller.person_id.clone(),
        start: shift.start.clone(),
        end: shift.end.clone(),
        location_id: shift.location_id.clone(),
        position_id: shift.position_id.clone(),
        location_name: shift.location_name.clone(),
        position_name: shift.position_name.clone(),
        event_id: shift.event_id.clone(),
        supervisor: shift.supervisor.clone(),
        shift_status: ShiftStatus::Published,
        version: 1,
        created_at: now.to_owned(),
        updated_at: now.to_owned(),
    };
    let audit =
        AuditEntry::new(&caller.actor(), "request.approved", ("request", &after.id), Some(before), Some(after), now);
    let tenant_id = &caller.tenant_id;
    let items = vec![
        state.store.entity_put(after, Some(before.version))?,
        state.store.audit_put(&audit)?,
        state.store.shift_unchanged(tenant_id, shift)?,
        state.store.assignment_release(tenant_id, &shift.id, &before.requester_id)?,
        state.store.swap_assignment_put(&assignment)?,
        state.store.schedule_change(tenant_id, &before.requester_id, &shift.id, None)?,
        state.store.schedule_add(
            tenant_id,
            &colleague,
            &placing.schedule,
            &[(&shift.id, shift.booked())],
            Utc::now(),
        )?,
    ];
    match state.store.transact(items).await? {
        Ok(()) => Ok(()),
        Err(Refused(failed)) => Err(Error::Conflict(match failed.first() {
            Some(0) => Request::STALE,
            Some(2) => "the shift changed since the swap was offered; ask for a new swap",
            Some(3) => "the requester is no longer on the shift",
            Some(4) => "the colleague is on this shift already",
            _ => "a schedule changed at the same time; check again and retry",
        })),
    }
}

/// Approves a request (coordinators and up). Time off: the days go into the person's schedule
/// (no shift can be given to them on those days) and they are taken off their future shifts on
/// those days, whose places open again. A swap the colleague took: the rules are checked for
/// the colleague again now (`force` overrides warnings), then the place is handed over. Nobody
/// below owner approves their own request, nor a swap they take (403 `own_record`).
#[utoipa::path(post, path = "/requests/{request_id}/approve", tag = "requests", security(("bearer" = ["schedule.write"])),
    params(("request_id" = String, Path)), request_body(content = Option<Decide>, description = "Optional"),
    responses(
        (status = 200, description = "The approved request", body = Request),
        (status = 403, description = "The caller's own request, or a swap they take (`own_record`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such request in this organisation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "It is not waiting for a decision, or something it touches changed meanwhile", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`scheduling_conflict`: the colleague can no longer take the shift (every violation listed)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn approve_request(
    State(state): State<AppState>,
    caller: Caller,
    Path(request_id): Path<String>,
    body: Option<ValidJson<Decide>>,
) -> Result<Json<Request>, Error> {
    caller.require(Permission::ScheduleWrite)?;
    let Decide { note, force } = body.map(|ValidJson(body)| body).unwrap_or_default();
    // Round trip 1: the request, the rules and the reviewer's name.
    let (request, tenant, reviewer) = tokio::try_join!(
        read_request(&state, &caller, &request_id),
        tenant(&state, &caller.tenant_id),
        person(&state, &caller.tenant_id, &caller.person_id),
    )?;
    if request.status != RequestStatus::Pending {
        return Err(Error::Conflict("the request is not waiting for a decision"));
    }
    // Separation of duties: neither the requester nor the colleague taking a swap approves it.
    caller.not_own(&request.requester_id)?;
    if let Some(colleague) = &request.to_person_id {
        caller.not_own(colleague)?;
    }
    let now = Now::get();
    let mut after = request.clone();
    after.status = RequestStatus::Approved;
    after.decision = Some(decision(&caller, reviewer.name.clone(), note.clone(), &now.iso));
    after.touch(&now.iso);
    // Round trip 2: the schedule the rules judge (the request names whose).
    let judged = match request.kind {
        RequestKind::TimeOff => request.requester_id.clone(),
        RequestKind::Swap => {
            request.to_person_id.clone().ok_or_else(|| Error::internal("a pending swap without its colleague"))?
        }
    };
    let (shift, placings) = tokio::try_join!(
        async {
            match &request.shift {
                Some(shift) => state.store.entity::<Shift>(&caller.tenant_id, &shift.id).await,
                None => Ok(None),
            }
        },
        state.store.placing(&caller.tenant_id, std::slice::from_ref(&judged)),
    )?;
    let placing = &placings[0];
    let subject = match request.kind {
        RequestKind::TimeOff => {
            after.released_shift_ids = released(&request, placing, &now.iso)?;
            if after.released_shift_ids.len() > MAX_RELEASED {
                return Err(Error::Conflict(
                    "the time off covers more than 32 of the person's shifts; take them off some first",
                ));
            }
            let mut time_off = placing.schedule.time_off.clone();
            let (from, to) = (request.from.clone().unwrap_or_default(), request.to.clone().unwrap_or_default());
            time_off.insert(request.id.clone(), Away { from: from.clone(), to: to.clone() });
            let audit = AuditEntry::new(
                &caller.actor(),
                "request.approved",
                ("request", &after.id),
                Some(&request),
                Some(&after),
                &now.iso,
            );
            let tenant_id = &caller.tenant_id;
            let mut more = vec![state.store.schedule_time_off(
                tenant_id,
                &judged,
                &placing.schedule,
                &time_off,
                &after.released_shift_ids,
            )?];
            for shift_id in &after.released_shift_ids {
                more.push(state.store.assignment_release(tenant_id, shift_id, &judged)?);
                more.push(state.store.shift_place_freed(tenant_id, shift_id)?);
                let event_id = placing.schedule.shifts.get(shift_id).and_then(|booked| booked.event_id.as_deref());
                more.extend(state.store.filled_changed(tenant_id, event_id, shift_id, -1)?);
            }
            // Round trip 3: all of it, only if the schedule is as judged.
            committed(state.store.update(&after, request.version, &audit, more).await?).map_err(|_| {
                Error::Conflict("the person's schedule changed at the same time; check again and retry")
            })?;
            let approved = Job::event(tenant_id, EventType::TimeOffApproved, json!({ "request": after }), &now.iso);
            state.outbox.webhook_for(&tenant, approved).await?;
            RequestSubject::TimeOff { from, to, released_shifts: after.released_shift_ids.len() }
        }
        RequestKind::Swap => {
            // The shift as it is now is what the colleague takes.
            let shift = SwapShift::of(&shift.ok_or(Error::NotFound)?);
            let warnings = judge(&shift, &judged, placing, &tenant, force)?;
            after.shift = Some(shift.clone());
            // Round trip 3: the hand-over.
            hand_over(&state, &caller, &request, &after, &shift, placing, warnings, &now.iso).await?;
            RequestSubject::Swap {
                shift: summary(&shift),
                from: request.requester_name.clone(),
                to: request.to_person_name.clone().unwrap_or_default(),
            }
        }
    };
    let message = Message::RequestDecided { subject, approved: true, by: reviewer.name, note };
    tell_both(&state, &after, message).await?;
    Ok(Json(after))
}

/// The requester's future shifts (not started at `now`) on a day of the time off, as the
/// schedule's zones count days.
fn released(request: &Request, placing: &Placing, now: &str) -> Result<Vec<String>, Error> {
    let day = |text: &Option<String>| date(text.as_deref().unwrap_or_default());
    let away = DateRange { from: day(&request.from)?, to: day(&request.to)? };
    let mut released = Vec::new();
    for (id, booked) in &placing.schedule.shifts {
        let (first, last) = booked_slot(id, booked)?.local_dates();
        if booked.start.as_str() > now && away.meets(first, last) {
            released.push(id.clone());
        }
    }
    Ok(released)
}

/// Tells the requester and, on a swap, the colleague.
async fn tell_both(state: &AppState, request: &Request, message: Message) -> Result<(), Error> {
    let envelopes: Vec<Envelope> = std::iter::once(&request.requester_id)
        .chain(request.to_person_id.as_ref())
        .map(|person| Envelope::to_person(&request.tenant_id, person, message.clone()))
        .collect();
    state.outbox.send_all(&envelopes).await
}

/// Rejects a request: a coordinator, any request waiting for a decision or a colleague; the
/// colleague a swap was offered to, declining it. Both sides are told.
#[utoipa::path(post, path = "/requests/{request_id}/reject", tag = "requests", security(("bearer" = [])),
    params(("request_id" = String, Path)), request_body(content = Option<Decide>, description = "Optional; `force` does not apply"),
    responses(
        (status = 200, description = "The rejected request", body = Request),
        (status = 404, description = "No such request you may decide", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "It was decided already", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn reject_request(
    State(state): State<AppState>,
    caller: Caller,
    Path(request_id): Path<String>,
    body: Option<ValidJson<Decide>>,
) -> Result<Json<Request>, Error> {
    let note = body.and_then(|ValidJson(body)| body.note);
    // Round trip 1: the request and the reviewer's name.
    let (request, reviewer) = tokio::try_join!(
        read_request(&state, &caller, &request_id),
        person(&state, &caller.tenant_id, &caller.person_id),
    )?;
    let named_colleague = request.to_person_id.as_deref() == Some(caller.person_id.as_str());
    if caller.holds(Permission::ScheduleWrite) {
        caller.require(Permission::ScheduleWrite)?;
    } else if !named_colleague {
        return Err(Error::NotFound);
    }
    let allowed = match request.status {
        RequestStatus::Pending => caller.holds(Permission::ScheduleWrite),
        RequestStatus::Open => true,
        _ => false,
    };
    if !allowed {
        return Err(Error::Conflict("the request is not waiting for you"));
    }
    let now = Now::get();
    let mut after = request.clone();
    after.status = RequestStatus::Rejected;
    after.decision = Some(decision(&caller, reviewer.name.clone(), note.clone(), &now.iso));
    after.touch(&now.iso);
    let audit = AuditEntry::new(
        &caller.actor(),
        "request.rejected",
        ("request", &after.id),
        Some(&request),
        Some(&after),
        &now.iso,
    );
    // Round trip 2: the request with its audit entry.
    committed(state.store.update(&after, request.version, &audit, Vec::new()).await?)?;
    let subject = match (&after.kind, &after.shift) {
        (RequestKind::Swap, Some(shift)) => RequestSubject::Swap {
            shift: summary(shift),
            from: after.requester_name.clone(),
            to: after.to_person_name.clone().unwrap_or_else(|| "anyone".to_owned()),
        },
        _ => RequestSubject::TimeOff {
            from: after.from.clone().unwrap_or_default(),
            to: after.to.clone().unwrap_or_default(),
            released_shifts: 0,
        },
    };
    let message = Message::RequestDecided { subject, approved: false, by: reviewer.name, note };
    tell_both(&state, &after, message).await?;
    Ok(Json(after))
}

/// The requester withdraws a request while it waits; approved time off too, which gives the
/// days back (the shifts it took them off stay open).
#[utoipa::path(post, path = "/requests/{request_id}/cancel", tag = "requests", security(("bearer" = [])),
    params(("request_id" = String, Path)),
    responses(
        (status = 200, description = "The cancelled request", body = Request),
        (status = 404, description = "No such request of yours", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "It was decided already (a swap handed over, or a rejection)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn cancel_request(
    State(state): State<AppState>,
    caller: Caller,
    Path(request_id): Path<String>,
) -> Result<Json<Request>, Error> {
    // Round trip 1: the request.
    let request = read_request(&state, &caller, &request_id).await?;
    if request.requester_id != caller.person_id {
        return Err(Error::NotFound);
    }
    if request.status == RequestStatus::Cancelled {
        return Ok(Json(request));
    }
    let approved_time_off = request.kind == RequestKind::TimeOff && request.status == RequestStatus::Approved;
    if !request.status.waiting() && !approved_time_off {
        return Err(Error::Conflict("the request was decided already"));
    }
    let now = Now::get();
    let mut after = request.clone();
    after.status = RequestStatus::Cancelled;
    after.touch(&now.iso);
    let audit = AuditEntry::new(
        &caller.actor(),
        "request.cancelled",
        ("request", &after.id),
        Some(&request),
        Some(&after),
        &now.iso,
    );
    let more = if approved_time_off {
        vec![state.store.time_off_removed(&caller.tenant_id, &caller.person_id, &request.id)?]
    } else {
        Vec::new()
    };
    // Round trip 2: the request with its audit entry (and the days given back).
    committed(state.store.update(&after, request.version, &audit, more).await?)?;
    Ok(Json(after))
}
