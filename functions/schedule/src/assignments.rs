//! Assignments: coordinators place people on shifts and staff claim open places, all through the
//! conflict engine; the headcount, one place per person and each person's schedule are kept by
//! conditional writes, so a burst of concurrent requests never overfills a shift or double-books
//! a person. The assignee accepts or declines; a declined place opens again.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::Utc;
use garde::Validate;
use rota::auth::{Caller, Permission};
use rota::clock::Now;
use rota::domain::conflicts::{self, Code, Placement, Violation};
use rota::error::Problem;
use rota::http::ValidJson;
use rota::notify::{Envelope, Message};
use rota::records::committed;
use rota::store::audit::AuditEntry;
use rota::store::entities::{Entity, Refused};
use rota::store::people::{Person, PersonStatus};
use rota::store::placing::Placing;
pub use rota::store::placing::{booked_slot, candidate, date, parse, rules, slot};
use rota::store::schedule::{Assignment, AssignmentStatus, Booked, Schedule, Shift, ShiftStatus};
use rota::store::tenants::Tenant;
use rota::webhooks::{EventType, Job};
use rota::{AppState, Error};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::shifts::summary;

/// The most people one request assigns: their writes share one transaction.
pub const MAX_PEOPLE_PER_REQUEST: usize = 25;

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "person_ids": ["01JSAMPLEPERSON00000000000"] }))]
pub struct Assign {
    #[garde(length(min = 1, max = MAX_PEOPLE_PER_REQUEST), inner(length(min = 1, max = 64)))]
    #[schema(schema_with = rota::validate::ids::<1, 25>)]
    pub person_ids: Vec<String>,
    /// Check only: answer what would happen, write nothing.
    #[garde(skip)]
    #[serde(default)]
    pub dry_run: bool,
    /// Place them despite warnings (never despite blocking violations); audited.
    #[garde(skip)]
    #[serde(default)]
    pub force: bool,
}

/// What a placement did (or, on a dry run, would do).
#[derive(Debug, Serialize, ToSchema)]
pub struct Assigned {
    /// The new assignments (none when everyone named holds a place already).
    pub assignments: Vec<Assignment>,
    /// Warnings the placement carries (overridden with `force`, or on a dry run).
    pub warnings: Vec<Violation>,
    pub dry_run: bool,
}

/// An assignment as its audit entry records it: with the warnings a `force` overrode.
#[derive(Serialize)]
struct Audited<'a> {
    #[serde(flatten)]
    assignment: &'a Assignment,
    #[serde(skip_serializing_if = "<[Violation]>::is_empty")]
    overridden: &'a [Violation],
}

/// `person_id`'s new assignment to `shift`, placed by `by` (forced past warnings or not), in the
/// place of their `declined` one if they have one (its next version).
fn placed(
    shift: &Shift,
    person_id: &str,
    status: AssignmentStatus,
    (by, forced): (&Caller, bool),
    declined: Option<&Assignment>,
    now: &str,
) -> Assignment {
    let mut assignment = Assignment::new(shift, person_id, status, (&by.person_id, forced), now);
    assignment.version = declined.map_or(1, |held| held.version + 1);
    assignment
}

/// Blocking violations, or warnings unless `force` (or a dry run): the 422 that refuses a
/// placement. Otherwise the warnings it goes ahead with.
fn judged(violations: Vec<Violation>, force: bool) -> Result<Vec<Violation>, Error> {
    let (blocking, warnings): (Vec<_>, Vec<_>) = violations.into_iter().partition(|violation| violation.blocking);
    if !blocking.is_empty() || (!warnings.is_empty() && !force) {
        return Err(Error::Scheduling(blocking.into_iter().chain(warnings).collect()));
    }
    Ok(warnings)
}

/// Judges again everyone holding a place on `shift` as it is about to be (new times, or
/// published), in one round trip for their schedules (none when nobody holds a place). Blocking
/// violations answer 422 listing who; warnings too, unless `warnings_pass` (a `force`, or a
/// publication, whose placements had their warnings judged when they were made). Answers the
/// schedules read, which the change's writes are conditioned on, so no assignment made meanwhile
/// slips past the check, and the warnings that passed.
pub async fn recheck(
    state: &AppState,
    tenant: &Tenant,
    shift: &Shift,
    assignments: &[Assignment],
    warnings_pass: bool,
) -> Result<(HashMap<String, Schedule>, Vec<Violation>), Error> {
    let holders: Vec<String> = assignments
        .iter()
        .filter(|held| held.status != AssignmentStatus::Declined)
        .map(|held| held.person_id.clone())
        .collect();
    if holders.is_empty() {
        return Ok((HashMap::new(), Vec::new()));
    }
    let placings = state.store.placing(&tenant.id, &holders).await?;
    let (slot, rules) = (slot(shift)?, rules(tenant)?);
    let mut violations = Vec::new();
    for (person_id, placing) in holders.iter().zip(&placings) {
        let Some(candidate) = candidate(person_id, placing)? else { continue };
        // They hold their place already: the headcount is not theirs to break.
        violations.extend(conflicts::check(&slot, 1, 0, &candidate, &rules, Placement::Assign));
    }
    let warnings = judged(violations, warnings_pass)?;
    let schedules = holders.into_iter().zip(placings).map(|(person_id, placing)| (person_id, placing.schedule));
    Ok((schedules.collect(), warnings))
}

/// A placement of people on one shift: by a coordinator (`Assign`, offered) or by a worker
/// claiming a place for themself (`Claim`, accepted at once).
struct Request {
    person_ids: Vec<String>,
    placement: Placement,
    force: bool,
    dry_run: bool,
}

/// Checks every rule for every person and places all of them, or none: blocking violations (and
/// warnings, unless forced) answer 422 listing every one. Two round trips: the shift with its
/// assignments, the rules and each person with their schedule, in parallel; then one
/// transaction that takes the places (never beyond the headcount), puts each assignment once,
/// and moves each schedule on from the version the check read.
async fn place(
    state: &AppState,
    caller: &Caller,
    shift_id: &str,
    request: Request,
) -> Result<(StatusCode, Json<Assigned>), Error> {
    let mut person_ids = request.person_ids;
    person_ids.sort();
    person_ids.dedup();
    // Round trip 1, in parallel.
    let (found, tenant, placings) = tokio::try_join!(
        state.store.shift_with_assignments(&caller.tenant_id, shift_id),
        state.store.tenant(&caller.tenant_id),
        state.store.placing(&caller.tenant_id, &person_ids),
    )?;
    let ((shift, assignments), tenant) = (caller.shift_in_scope(found)?, tenant.ok_or(Error::NotFound)?);
    if request.placement == Placement::Claim && shift.status == ShiftStatus::Draft {
        // A worker does not learn of drafts; whoever plans them is told why.
        caller.require_or_hidden(Permission::ScheduleWrite)?;
        return Err(Error::Conflict("the shift is a draft: its places can be claimed once it is published"));
    }
    let (slot, rules) = (slot(&shift)?, rules(&tenant)?);
    let holding = |person_id: &str| assignments.iter().find(|assignment| assignment.person_id == person_id);
    let mut violations = Vec::new();
    let mut newcomers: Vec<(&String, &Placing)> = Vec::new();
    for (person_id, placing) in person_ids.iter().zip(&placings) {
        if placing.person.as_ref().is_some_and(|person| !caller.sees_person(person)) {
            return Err(Error::NotFound);
        }
        let candidate = candidate(person_id, placing)?.ok_or(Error::NotFound)?;
        if holding(person_id).is_some_and(|held| held.status != AssignmentStatus::Declined) {
            continue;
        }
        // Earlier people of this request take places too.
        let taken = shift.assigned_count + newcomers.len() as u32;
        violations.extend(conflicts::check(&slot, shift.headcount, taken, &candidate, &rules, request.placement));
        newcomers.push((person_id, placing));
    }
    let warnings = judged(violations, request.force || request.dry_run)?;
    let now = Now::get();
    let status = match request.placement {
        Placement::Assign => AssignmentStatus::Offered,
        Placement::Claim => AssignmentStatus::Accepted,
    };
    let new: Vec<(Assignment, Option<u64>, &Placing)> = newcomers
        .iter()
        .map(|(person_id, placing)| {
            // A declined assignment is offered again in its place.
            let declined = holding(person_id);
            let assignment = placed(&shift, person_id, status, (caller, !warnings.is_empty()), declined, &now.iso);
            (assignment, declined.map(|held| held.version), *placing)
        })
        .collect();
    let answer = |assignments: Vec<Assignment>, dry_run| Assigned { assignments, warnings: warnings.clone(), dry_run };
    if request.dry_run {
        return Ok((StatusCode::OK, Json(answer(new.into_iter().map(|(a, ..)| a).collect(), true))));
    }
    if new.is_empty() {
        return Ok((StatusCode::OK, Json(answer(Vec::new(), false))));
    }
    // Round trip 2: one transaction.
    let booked = Booked::of(&shift);
    let mut items = vec![state.store.shift_places_taken(&shift, new.len() as u32)?];
    let tally = state.store.filled_changed(&shift.tenant_id, shift.event_id.as_deref(), &shift.id, new.len() as i64)?;
    items.extend(tally);
    let action = match (request.placement, warnings.is_empty()) {
        (Placement::Claim, _) => "assignment.claimed",
        (Placement::Assign, true) => "assignment.created",
        (Placement::Assign, false) => "assignment.forced",
    };
    for (assignment, declined, placing) in &new {
        items.push(state.store.entity_put(assignment, *declined)?);
        items.push(state.store.schedule_add(
            &caller.tenant_id,
            &assignment.person_id,
            &placing.schedule,
            &[(&shift.id, booked.clone())],
            Utc::now(),
        )?);
        let after = Audited { assignment, overridden: &warnings };
        let audit = AuditEntry::new(
            &caller.actor(),
            action,
            ("assignment", &assignment.id),
            None::<&Assignment>,
            Some(&after),
            &now.iso,
        );
        items.push(state.store.audit_put(&audit)?);
    }
    let placed: Vec<Assignment> = new.into_iter().map(|(assignment, ..)| assignment).collect();
    match state.store.transact(items).await? {
        Ok(()) => {
            // Offers of a published shift go out now; a draft's when it is published.
            if request.placement == Placement::Assign && shift.status == ShiftStatus::Published {
                let envelopes: Vec<Envelope> = placed
                    .iter()
                    .map(|assignment| {
                        Envelope::to_person(
                            &caller.tenant_id,
                            &assignment.person_id,
                            Message::ShiftOffered { shift: summary(&shift) },
                        )
                    })
                    .collect();
                state.outbox.send_all(&envelopes).await?;
            }
            Ok((StatusCode::CREATED, Json(answer(placed, false))))
        }
        // The places went to others meanwhile.
        Err(Refused(failed)) if failed.contains(&0) => Err(Error::Scheduling(
            placed
                .iter()
                .map(|assignment| Violation {
                    code: Code::HeadcountFull,
                    person_id: assignment.person_id.clone(),
                    shift_id: None,
                    detail: format!("all {} places of the shift were taken meanwhile", shift.headcount),
                    blocking: true,
                })
                .collect(),
        )),
        Err(_) => Err(Error::Conflict("a person's schedule changed at the same time; check again and retry")),
    }
}

/// Assigns people to a shift (coordinators and up); each is offered the place. All of them are
/// placed, or none: blocking violations answer 422 listing every one; warnings too, unless
/// `force` (then they are kept in the answer and the audit entry).
#[utoipa::path(post, path = "/shifts/{shift_id}/assignments", tag = "scheduling", security(("bearer" = ["schedule.write"])),
    params(("shift_id" = String, Path)), request_body = Assign,
    responses(
        (status = 201, description = "The new assignments (offered to each person)", body = Assigned),
        (status = 200, description = "A dry run, or everyone named holds a place already", body = Assigned),
        (status = 404, description = "No such shift (or person) in this organisation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A person's schedule changed at the same time; retry", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn assign(
    State(state): State<AppState>,
    caller: Caller,
    Path(shift_id): Path<String>,
    ValidJson(request): ValidJson<Assign>,
) -> Result<(StatusCode, Json<Assigned>), Error> {
    caller.require(Permission::ScheduleWrite)?;
    let request = Request {
        person_ids: request.person_ids,
        placement: Placement::Assign,
        force: request.force,
        dry_run: request.dry_run,
    };
    place(&state, &caller, &shift_id, request).await
}

/// Claims an open place on a published shift for oneself, through the same rules (no `force`);
/// the assignment is accepted at once.
#[utoipa::path(post, path = "/shifts/{shift_id}/claim", tag = "scheduling", security(("bearer" = [])),
    params(("shift_id" = String, Path)),
    responses(
        (status = 201, description = "The place is yours", body = Assigned),
        (status = 200, description = "You hold a place on it already", body = Assigned),
        (status = 404, description = "No such published shift in this organisation (staff do not see drafts)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`scheduling_conflict`: the rules rule you out (every violation listed; a claim cannot be forced)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Your schedule changed at the same time (retry), or, to a coordinator, the shift is still a draft", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn claim(
    State(state): State<AppState>,
    caller: Caller,
    Path(shift_id): Path<String>,
) -> Result<(StatusCode, Json<Assigned>), Error> {
    let request = Request {
        person_ids: vec![caller.person_id.clone()],
        placement: Placement::Claim,
        force: false,
        dry_run: false,
    };
    place(&state, &caller, &shift_id, request).await
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    Accepted,
    Declined,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "status": "accepted" }))]
pub struct AnswerOffer {
    #[garde(skip)]
    pub status: Answer,
}

/// The assignee answers an offered assignment (or a coordinator records their answer): accepted,
/// or declined (the place opens again and the shift leaves their schedule). The coordinator who
/// offered it hears of it.
#[utoipa::path(post, path = "/assignments/{assignment_id}/status", tag = "scheduling", security(("bearer" = [])),
    params(("assignment_id" = String, Path)), request_body = AnswerOffer,
    responses(
        (status = 200, description = "The assignment with its new status", body = Assignment),
        (status = 404, description = "No such assignment (of yours, for staff)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "It was answered already (drop an accepted shift with DELETE), or the shift is cancelled", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn answer(
    State(state): State<AppState>,
    caller: Caller,
    Path(assignment_id): Path<String>,
    ValidJson(request): ValidJson<AnswerOffer>,
) -> Result<Json<Assignment>, Error> {
    let Some((shift_id, person_id)) = Assignment::parts(&assignment_id) else { return Err(Error::NotFound) };
    // A coordinator records an answer given another way (a call, say); staff only their own.
    caller.require_unless_own(person_id, Permission::ScheduleWrite)?;
    // Round trip 1: the assignment, its shift and the person (for the coordinator's message).
    let (before, shift, person) = tokio::try_join!(
        state.store.entity::<Assignment>(&caller.tenant_id, &assignment_id),
        state.store.entity::<Shift>(&caller.tenant_id, shift_id),
        state.store.entity::<Person>(&caller.tenant_id, person_id),
    )?;
    let (before, shift, person) =
        (before.ok_or(Error::NotFound)?, shift.ok_or(Error::NotFound)?, person.ok_or(Error::NotFound)?);
    caller.within_location_unless_own(person_id, &shift.location_id)?;
    let wanted = match request.status {
        Answer::Accepted => AssignmentStatus::Accepted,
        Answer::Declined => AssignmentStatus::Declined,
    };
    if before.status == wanted {
        return Ok(Json(before));
    }
    if before.status != AssignmentStatus::Offered {
        return Err(Error::Conflict(
            "the offer was answered already; drop an accepted shift with DELETE /assignments/{id}",
        ));
    }
    if before.shift_status == ShiftStatus::Cancelled {
        return Err(Error::Conflict("the shift is cancelled"));
    }
    // Round trip 2: the answer with its audit entry; a decline also frees the place and the
    // person's schedule, in the same transaction.
    let more = match wanted {
        AssignmentStatus::Declined => {
            let tenant_id = &caller.tenant_id;
            let mut more = vec![
                state.store.shift_place_freed(tenant_id, &before.shift_id)?,
                state.store.schedule_change(tenant_id, &before.person_id, &before.shift_id, None)?,
            ];
            more.extend(state.store.filled_changed(tenant_id, before.event_id.as_deref(), &before.shift_id, -1)?);
            more
        }
        _ => Vec::new(),
    };
    let now = Now::get();
    let mut after = before.clone();
    after.status = wanted;
    after.touch(&now.iso);
    let verb = if wanted == AssignmentStatus::Accepted { "assignment.accepted" } else { "assignment.declined" };
    let audit =
        AuditEntry::new(&caller.actor(), verb, ("assignment", &after.id), Some(&before), Some(&after), &now.iso);
    committed(state.store.update(&after, before.version, &audit, more).await?)?;
    let event = if wanted == AssignmentStatus::Accepted {
        EventType::AssignmentAccepted
    } else {
        EventType::AssignmentDeclined
    };
    state.outbox.webhook(Job::event(&caller.tenant_id, event, json!({ "assignment": after }), &now.iso)).await?;
    if after.assigned_by != after.person_id {
        let message = Message::AssignmentAnswered {
            shift: summary(&shift),
            person: person.name,
            accepted: wanted == AssignmentStatus::Accepted,
        };
        state.outbox.send(&Envelope::to_person(&caller.tenant_id, &after.assigned_by, message)).await?;
    }
    Ok(Json(after))
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "person_id": "01JSAMPLEPERSON00000000000" }))]
pub struct Reassign {
    /// Who takes the place over.
    #[garde(length(min = 1, max = 64))]
    #[schema(min_length = 1, max_length = 64)]
    pub person_id: String,
    /// Place them despite warnings (never despite blocking violations); audited.
    #[garde(skip)]
    #[serde(default)]
    pub force: bool,
}

/// What a reassignment did.
#[derive(Debug, Serialize, ToSchema)]
pub struct Reassigned {
    /// The place as it is now: offered to the new person (or, when they held it already, as it was).
    pub assignment: Assignment,
    /// Who held the place before.
    pub from_person_id: String,
    /// Warnings the new placement carries (overridden with `force`).
    pub warnings: Vec<Violation>,
}

/// Moves a place to another person in one step (coordinators and up): the new person is judged
/// by the same rules as an assignment (blocking violations answer 422, warnings too unless
/// `force`), and in one transaction the old assignment goes (only as it was read, so of several
/// concurrent reassignments one wins and the others get 409), the new one is offered, the old
/// person's schedule drops the shift and the new person's takes it (only as the check read it).
/// On a published shift both people hear of it.
#[utoipa::path(post, path = "/assignments/{assignment_id}/reassign", tag = "scheduling", security(("bearer" = ["schedule.write"])),
    params(("assignment_id" = String, Path)), request_body = Reassign,
    responses(
        (status = 201, description = "The place is offered to the new person", body = Reassigned),
        (status = 200, description = "The person named holds this place already: nothing changed", body = Reassigned),
        (status = 404, description = "No such assignment (or person) in this organisation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The assignment was declined (it holds no place), or it or a schedule changed at the same time", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`scheduling_conflict` (every violation listed), or `person_id` holds another place on the shift", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn reassign(
    State(state): State<AppState>,
    caller: Caller,
    Path(assignment_id): Path<String>,
    ValidJson(request): ValidJson<Reassign>,
) -> Result<(StatusCode, Json<Reassigned>), Error> {
    caller.require(Permission::ScheduleWrite)?;
    let Some((shift_id, _)) = Assignment::parts(&assignment_id) else { return Err(Error::NotFound) };
    let to = request.person_id;
    // Round trip 1, in parallel: the shift with its assignments, the rules, the new person.
    let (found, tenant, placings) = tokio::try_join!(
        state.store.shift_with_assignments(&caller.tenant_id, shift_id),
        state.store.tenant(&caller.tenant_id),
        state.store.placing(&caller.tenant_id, std::slice::from_ref(&to)),
    )?;
    let ((shift, assignments), tenant) = (caller.shift_in_scope(found)?, tenant.ok_or(Error::NotFound)?);
    let before = assignments.iter().find(|held| held.id == assignment_id).ok_or(Error::NotFound)?;
    let placing = &placings[0];
    if placing.person.as_ref().is_some_and(|person| !caller.sees_person(person)) {
        return Err(Error::NotFound);
    }
    let candidate = candidate(&to, placing)?.ok_or(Error::NotFound)?;
    if before.person_id == to {
        let unchanged = Reassigned { assignment: before.clone(), from_person_id: to, warnings: Vec::new() };
        return Ok((StatusCode::OK, Json(unchanged)));
    }
    if before.status == AssignmentStatus::Declined {
        return Err(Error::Conflict("a declined assignment holds no place; assign someone to the shift instead"));
    }
    let theirs = assignments.iter().find(|held| held.person_id == to);
    if theirs.is_some_and(|held| held.status != AssignmentStatus::Declined) {
        return Err(Error::field("person_id", "holds a place on this shift already"));
    }
    // The place they take is the one being freed.
    let others = shift.assigned_count.saturating_sub(1);
    let violations =
        conflicts::check(&slot(&shift)?, shift.headcount, others, &candidate, &rules(&tenant)?, Placement::Assign);
    let warnings = judged(violations, request.force)?;
    let now = Now::get();
    let after = placed(&shift, &to, AssignmentStatus::Offered, (&caller, !warnings.is_empty()), theirs, &now.iso);
    let action = if warnings.is_empty() { "assignment.reassigned" } else { "assignment.reassigned_forced" };
    // Before: the old holder's assignment; after: the new one's.
    let audited = Audited { assignment: &after, overridden: &warnings };
    let audit =
        AuditEntry::new(&caller.actor(), action, ("assignment", &after.id), Some(before), Some(&audited), &now.iso);
    // Round trip 2: one transaction; the old assignment first, so a lost race is position 0.
    let items = vec![
        state.store.assignment_delete(before)?,
        state.store.entity_put(&after, theirs.map(|held| held.version))?,
        state.store.schedule_change(&caller.tenant_id, &before.person_id, &shift.id, None)?,
        state.store.schedule_add(
            &caller.tenant_id,
            &to,
            &placing.schedule,
            &[(&shift.id, Booked::of(&shift))],
            Utc::now(),
        )?,
        state.store.audit_put(&audit)?,
    ];
    match state.store.transact(items).await? {
        Ok(()) => {}
        Err(Refused(failed)) if failed.contains(&0) => {
            return Err(Error::Conflict(
                "the assignment changed meanwhile (reassigned, answered or removed); reload it",
            ));
        }
        Err(_) => return Err(Error::Conflict("a person's schedule changed at the same time; check again and retry")),
    }
    // Drafts were never announced: the new person hears of it when the shift is published.
    if shift.status == ShiftStatus::Published {
        let envelopes = [
            Envelope::to_person(&caller.tenant_id, &to, Message::ShiftOffered { shift: summary(&shift) }),
            Envelope::to_person(
                &caller.tenant_id,
                &before.person_id,
                Message::ShiftReassigned { shift: summary(&shift) },
            ),
        ];
        state.outbox.send_all(&envelopes).await?;
    }
    let from_person_id = before.person_id.clone();
    Ok((StatusCode::CREATED, Json(Reassigned { assignment: after, from_person_id, warnings })))
}

/// Removes a person from a shift: coordinators and up at any time, staff their own until the
/// organisation's cut-off before the start. The place opens again.
#[utoipa::path(delete, path = "/assignments/{assignment_id}", tag = "scheduling", security(("bearer" = [])),
    params(("assignment_id" = String, Path)),
    responses(
        (status = 204, description = "Removed; the place is open again"),
        (status = 404, description = "No such assignment in this organisation (or not yours)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Past the cut-off for dropping a shift, or changed at the same time", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_assignment(
    State(state): State<AppState>,
    caller: Caller,
    Path(assignment_id): Path<String>,
) -> Result<StatusCode, Error> {
    let coordinator = caller.holds(Permission::ScheduleWrite);
    if coordinator {
        caller.require(Permission::ScheduleWrite)?;
    }
    // Round trip 1: the assignment and the organisation's cut-off.
    let (assignment, tenant) = tokio::try_join!(
        state.store.entity::<Assignment>(&caller.tenant_id, &assignment_id),
        state.store.tenant(&caller.tenant_id),
    )?;
    let (assignment, tenant) = (assignment.ok_or(Error::NotFound)?, tenant.ok_or(Error::NotFound)?);
    caller.within_location_unless_own(&assignment.person_id, &assignment.location_id)?;
    if !coordinator {
        if assignment.person_id != caller.person_id {
            return Err(Error::NotFound);
        }
        let cutoff = parse(&assignment.start)? - chrono::Duration::hours(i64::from(tenant.settings.drop_cutoff_hours));
        if Utc::now() > cutoff {
            return Err(Error::Conflict(
                "it is past the organisation's cut-off for dropping this shift; ask a coordinator",
            ));
        }
    }
    let now = Now::get();
    let audit = AuditEntry::new(
        &caller.actor(),
        "assignment.removed",
        ("assignment", &assignment.id),
        Some(&assignment),
        None::<&Assignment>,
        &now.iso,
    );
    let mut items = vec![state.store.assignment_delete(&assignment)?, state.store.audit_put(&audit)?];
    // A declined assignment holds no place and is on no schedule.
    if assignment.status != AssignmentStatus::Declined {
        items.push(state.store.shift_place_freed(&caller.tenant_id, &assignment.shift_id)?);
        let event_id = assignment.event_id.as_deref();
        items.extend(state.store.filled_changed(&caller.tenant_id, event_id, &assignment.shift_id, -1)?);
        items.push(state.store.schedule_change(
            &caller.tenant_id,
            &assignment.person_id,
            &assignment.shift_id,
            None,
        )?);
    }
    // Round trip 2: all of it, only if nobody changed the assignment meanwhile.
    committed(state.store.transact(items).await?)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Someone who could take the shift, best first.
#[derive(Debug, Serialize, ToSchema)]
pub struct EligibleCandidate {
    pub person_id: String,
    pub name: String,
    /// Paid minutes already scheduled in the shift's week.
    pub week_minutes: i64,
    /// What placing them would warn about (they can still be placed, with `force`).
    pub warnings: Vec<Violation>,
}

/// Someone who cannot take the shift, and why.
#[derive(Debug, Serialize, ToSchema)]
pub struct Excluded {
    pub person_id: String,
    pub name: String,
    pub violations: Vec<Violation>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Eligibility {
    /// Without warnings first, then fewest minutes that week, then by name.
    pub candidates: Vec<EligibleCandidate>,
    pub excluded: Vec<Excluded>,
}

/// Who could take a place on the shift (coordinators and up): everyone in the organisation not
/// on it and not deactivated, ranked, and everyone else with the blocking violations that rule
/// them out.
#[utoipa::path(get, path = "/shifts/{shift_id}/eligible", tag = "scheduling", security(("bearer" = ["schedule.write"])),
    params(("shift_id" = String, Path)),
    responses(
        (status = 200, description = "Candidates, ranked, and who is excluded", body = Eligibility),
        (status = 404, description = "No such shift in this organisation", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn eligible(
    State(state): State<AppState>,
    caller: Caller,
    Path(shift_id): Path<String>,
) -> Result<Json<Eligibility>, Error> {
    caller.require(Permission::ScheduleWrite)?;
    // Round trip 1: the shift with its assignments, the rules, and the organisation's people.
    let (found, tenant, people) = tokio::try_join!(
        state.store.shift_with_assignments(&caller.tenant_id, &shift_id),
        state.store.tenant(&caller.tenant_id),
        state.store.all::<Person>(&caller.tenant_id),
    )?;
    let ((shift, assignments), tenant) = (caller.shift_in_scope(found)?, tenant.ok_or(Error::NotFound)?);
    let people: Vec<Person> = people
        .into_iter()
        .filter(|person| person.status != PersonStatus::Inactive && caller.sees_person(person))
        .filter(|person| {
            !assignments.iter().any(|held| held.person_id == person.id && held.status != AssignmentStatus::Declined)
        })
        .collect();
    // Round trip 2: their schedules and availability.
    let placings = state.store.placing_to_rank(&caller.tenant_id, &people).await?;
    let (slot, rules) = (slot(&shift)?, rules(&tenant)?);
    let (mut candidates, mut excluded) = (Vec::new(), Vec::new());
    for (person, placing) in people.iter().zip(&placings) {
        let Some(candidate) = candidate(&person.id, placing)? else { continue };
        let violations =
            conflicts::check(&slot, shift.headcount, shift.assigned_count, &candidate, &rules, Placement::Assign);
        if violations.iter().any(|violation| violation.blocking) {
            let violations = violations.into_iter().filter(|violation| violation.blocking).collect();
            excluded.push(Excluded { person_id: person.id.clone(), name: person.name.clone(), violations });
        } else {
            let week_minutes = conflicts::week_minutes(&slot, &candidate, &rules);
            candidates.push(EligibleCandidate {
                person_id: person.id.clone(),
                name: person.name.clone(),
                week_minutes,
                warnings: violations,
            });
        }
    }
    candidates.sort_by(|a, b| {
        (!a.warnings.is_empty(), a.week_minutes, &a.name).cmp(&(!b.warnings.is_empty(), b.week_minutes, &b.name))
    });
    excluded.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Json(Eligibility { candidates, excluded }))
}
