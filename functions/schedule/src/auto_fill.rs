//! Auto-fill: a coordinator asks for a period's open places to be staffed; the solver worker
//! (`functions/autofill`) proposes who takes each, within every rule, at the lowest cost and
//! fairly, and says why each place it leaves open stays open; the coordinator looks, then applies
//! it through the same conflict engine and conditional writes as their own assignments
//! (docs/auto-fill.md).

use std::collections::{BTreeMap, HashMap};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use chrono::{NaiveDate, Utc};
use garde::Validate;
use rota::auth::{Caller, Permission};
use rota::clock::Now;
use rota::domain::auto_fill::Tuning;
use rota::domain::conflicts::{self, Code, Placement};
use rota::error::Problem;
use rota::http::ValidJson;
use rota::http::idempotency::idempotency_key;
use rota::notify::{Envelope, Message};
use rota::store::audit::AuditEntry;
use rota::store::auto_fill::{
    AutoFill, AutoFillJob, AutoFillRequest, AutoFillStatus, AutoFillSummary, MAX_PROPOSAL_BYTES, Proposal,
};
use rota::store::entities::Refused;
use rota::store::places::{Location, Position};
use rota::store::schedule::{Assignment, AssignmentStatus, Booked, Event, Shift, ShiftStatus};
use rota::{AppState, Error};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::assignments::{candidate, rules, slot};
use crate::shifts::summary;

/// The longest period one job fills, in days.
pub const MAX_PERIOD_DAYS: i64 = 62;

#[derive(Debug, Clone, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "from": "2030-04-01", "to": "2030-04-28", "time_limit_ms": 10000 }))]
pub struct StartAutoFill {
    /// The period's first local date.
    #[garde(custom(rota::validate::in_years))]
    pub from: NaiveDate,
    /// Its last (inclusive), at most 62 days on.
    #[garde(custom(rota::validate::in_years))]
    pub to: NaiveDate,
    /// Only these locations' shifts (within yours, when you are limited to some).
    #[garde(length(max = 25), inner(length(min = 1, max = 64)))]
    #[schema(schema_with = rota::validate::ids::<0, 25>)]
    #[serde(default)]
    pub location_ids: Vec<String>,
    /// Only this event's shifts.
    #[garde(inner(length(min = 1, max = 64)))]
    #[schema(min_length = 1, max_length = 64)]
    pub event_id: Option<String>,
    /// Only shifts of these positions.
    #[garde(length(max = 50), inner(length(min = 1, max = 64)))]
    #[schema(schema_with = rota::validate::ids::<0, 50>)]
    #[serde(default)]
    pub position_ids: Vec<String>,
    /// How long the solver searches, 100 ms to 60 s (10 s by default).
    #[garde(range(min = 100, max = 60_000))]
    #[schema(minimum = 100, maximum = 60000)]
    #[serde(default = "ten_seconds")]
    pub time_limit_ms: u32,
    #[garde(dive)]
    #[serde(default)]
    pub weights: Tuning,
}

fn ten_seconds() -> u32 {
    10_000
}

/// A job as the API shows it; with its proposal once done.
#[derive(Debug, Serialize, ToSchema)]
pub struct AutoFillView {
    pub job_id: String,
    /// `queued`, `solving` (with `best_score`), `done` (with `summary` and `proposal`) or `failed`
    /// (with `error`).
    pub status: AutoFillStatus,
    pub request: AutoFillRequest,
    pub requested_by: String,
    pub best_score: Option<i64>,
    pub summary: Option<AutoFillSummary>,
    pub error: Option<String>,
    pub applied_at: Option<String>,
    pub applied_by: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub proposal: Option<Proposal>,
}

impl AutoFillView {
    fn of(job: AutoFill, proposal: Option<Proposal>) -> Self {
        Self {
            job_id: job.id,
            status: job.status,
            request: job.request,
            requested_by: job.requested_by,
            best_score: job.best_score,
            summary: job.summary,
            error: job.error,
            applied_at: job.applied_at,
            applied_by: job.applied_by,
            created_at: job.created_at,
            updated_at: job.updated_at,
            proposal,
        }
    }
}

/// Asks for a period's open places to be filled (coordinators and up): answers at once with the
/// job to follow (`GET /auto-fill/{job_id}`). Existing assignments stay as they are; draft and
/// published shifts are both filled. With an `Idempotency-Key`, the same request again answers the
/// same job.
#[utoipa::path(post, path = "/auto-fill", tag = "scheduling", security(("bearer" = ["schedule.write"])),
    params(("Idempotency-Key" = Option<String>, Header, description = "1–128 visible ASCII characters; the same key and body answer the same job", max_length = 128, pattern = "^[!-~]{1,128}$")),
    request_body = StartAutoFill,
    responses(
        (status = 202, description = "Queued", body = AutoFillView),
        (status = 404, description = "A location, position or event that is not the organisation's (or a location beyond yours)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A request with this Idempotency-Key is still in progress", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad period (`to` before `from`, or over 62 days), or the Idempotency-Key was used for another request", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn start_auto_fill(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ValidJson(request): ValidJson<StartAutoFill>,
) -> Result<(StatusCode, Json<AutoFillView>), Error> {
    caller.require(Permission::ScheduleWrite)?;
    let key = idempotency_key(&headers)?;
    let queue =
        state.config.auto_fill_queue.as_deref().ok_or_else(|| Error::internal("ROTA_AUTO_FILL_QUEUE is not set"))?;
    if request.to < request.from {
        return Err(Error::field("to", "must not be before from"));
    }
    if (request.to - request.from).num_days() >= MAX_PERIOD_DAYS {
        return Err(Error::field("to", "is more than 62 days after from"));
    }
    for location in &request.location_ids {
        caller.within_location(location)?;
    }
    let mut location_ids =
        if request.location_ids.is_empty() { caller.scope.location_ids.clone() } else { request.location_ids.clone() };
    location_ids.sort();
    location_ids.dedup();
    let now = Now::get();
    let job = AutoFill {
        id: job_id(&caller, key.as_deref()),
        tenant_id: caller.tenant_id.clone(),
        status: AutoFillStatus::Queued,
        request: AutoFillRequest {
            from: request.from.to_string(),
            to: request.to.to_string(),
            location_ids,
            event_id: request.event_id.clone(),
            position_ids: request.position_ids.clone(),
            time_limit_ms: request.time_limit_ms,
            weights: request.weights,
        },
        requested_by: caller.person_id.clone(),
        scope: caller.scope.clone(),
        best_score: None,
        summary: None,
        error: None,
        applied_at: None,
        applied_by: None,
        created_at: now.iso.clone(),
        version: 1,
        updated_at: now.iso,
    };
    // Round trip 1, in parallel: the records named are the organisation's own, and with a key,
    // what a first request under it made.
    let events: Vec<String> = request.event_id.iter().cloned().collect();
    let (.., first) = tokio::try_join!(
        state.store.all_exist::<Location>(&caller.tenant_id, &request.location_ids),
        state.store.all_exist::<Position>(&caller.tenant_id, &request.position_ids),
        state.store.all_exist::<Event>(&caller.tenant_id, &events),
        async {
            match key {
                Some(_) => state.store.entity::<AutoFill>(&caller.tenant_id, &job.id).await,
                None => Ok(None),
            }
        },
    )?;
    if let Some(first) = first {
        if first.request != job.request || first.requested_by != job.requested_by {
            return Err(Error::field(
                "Idempotency-Key",
                "was used for another request; use a new key for each request",
            ));
        }
        return Ok((StatusCode::ACCEPTED, Json(AutoFillView::of(first, None))));
    }
    // Round trip 2: the job, once.
    if let Err(Refused(_)) = state.store.transact(vec![state.store.entity_put(&job, None)?]).await? {
        return Err(Error::Conflict("a request with this Idempotency-Key is still in progress"));
    }
    let message = AutoFillJob { tenant_id: job.tenant_id.clone(), job_id: job.id.clone() };
    rota::queue::send(state.outbox.sqs(), queue, &message).await?;
    Ok((StatusCode::ACCEPTED, Json(AutoFillView::of(job, None))))
}

/// A fresh job id, or with an `Idempotency-Key` the same one for the same caller and key every time.
fn job_id(caller: &Caller, key: Option<&str>) -> String {
    let Some(key) = key else { return ulid::Ulid::new().to_string() };
    let digest = Sha256::new()
        .chain_update(&caller.tenant_id)
        .chain_update([0])
        .chain_update(&caller.person_id)
        .chain_update([0])
        .chain_update(key)
        .finalize();
    let mut random = [0u8; 16];
    random[6..].copy_from_slice(&digest[..10]);
    ulid::Ulid::from_parts(0, u128::from_be_bytes(random)).to_string()
}

/// A job and what it may be seen by: its requester, and anyone not limited to some locations or
/// units (others: not found).
async fn visible_job(state: &AppState, caller: &Caller, job_id: &str) -> Result<(AutoFill, Option<Proposal>), Error> {
    caller.require(Permission::ScheduleWrite)?;
    // One round trip: the job, and its proposal in parallel (there is none until it is done).
    let key = format!("tenants/{}/auto-fill/{job_id}.json", caller.tenant_id);
    let (job, proposal) = tokio::try_join!(
        state.store.entity::<AutoFill>(&caller.tenant_id, job_id),
        state.files.read(&key, MAX_PROPOSAL_BYTES),
    )?;
    let job =
        job.filter(|job| job.requested_by == caller.person_id || caller.scope.is_open()).ok_or(Error::NotFound)?;
    let proposal = match proposal.filter(|_| job.status == AutoFillStatus::Done) {
        Some(bytes) => Some(serde_json::from_slice(&bytes).map_err(Error::internal)?),
        None => None,
    };
    Ok((job, proposal))
}

/// An auto-fill job: its status, the best score while solving, and when done the proposal — the
/// assignments, the score per rule (the parts add up to the total; lower is better), each person's
/// hours and pay before and with it, and every place left open with why.
#[utoipa::path(get, path = "/auto-fill/{job_id}", tag = "scheduling", security(("bearer" = ["schedule.write"])),
    params(("job_id" = String, Path)),
    responses(
        (status = 200, description = "The job", body = AutoFillView),
        (status = 404, description = "No such job in this organisation", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_auto_fill(
    State(state): State<AppState>,
    caller: Caller,
    Path(job_id): Path<String>,
) -> Result<Json<AutoFillView>, Error> {
    let (job, proposal) = visible_job(&state, &caller, &job_id).await?;
    Ok(Json(AutoFillView::of(job, proposal)))
}

/// A proposed place not written, and why.
#[derive(Debug, Serialize, ToSchema)]
pub struct RefusedPlace {
    pub shift_id: String,
    pub person_id: String,
    /// The rules it would now break (empty when it lost a race for the place or the schedule).
    pub rules: Vec<Code>,
    pub detail: String,
}

/// What applying wrote.
#[derive(Debug, Serialize, ToSchema)]
pub struct Applied {
    /// Assignments made (offered to each person).
    pub applied: u32,
    /// Places not made because something changed since the solve, each with why.
    pub refused: Vec<RefusedPlace>,
}

/// The most places one person is given by one apply: their writes share one transaction.
const MAX_PLACES_PER_PERSON: usize = 32;

/// Applies a done job's proposal (coordinators and up; once): each place is judged again by the
/// conflict engine against what is stored now, with the proposal's earlier places, and written as
/// a coordinator's assignment would be (offered; offers of published shifts sent). A person's
/// places are written together only if their schedule has not changed since it was read, so what
/// changed since the solve is refused and listed, never half-written. Audited as one action.
#[utoipa::path(post, path = "/auto-fill/{job_id}/apply", tag = "scheduling", security(("bearer" = ["schedule.write"])),
    params(("job_id" = String, Path)),
    responses(
        (status = 200, description = "What was written and what was refused", body = Applied),
        (status = 404, description = "No such job in this organisation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The job is not done, or was applied already", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn apply_auto_fill(
    State(state): State<AppState>,
    caller: Caller,
    Path(job_id): Path<String>,
) -> Result<Json<Applied>, Error> {
    // Round trip 1: the job and its proposal.
    let (job, proposal) = visible_job(&state, &caller, &job_id).await?;
    if job.applied_at.is_some() {
        return Err(Error::Conflict("this proposal was applied already"));
    }
    let proposal = proposal.ok_or(Error::Conflict("this job has no proposal: it is not done"))?;

    // Round trip 2: the period's shifts as they are now, and the proposed people, strongly.
    let mut person_ids: Vec<String> = proposal.assignments.iter().map(|place| place.person_id.clone()).collect();
    person_ids.sort();
    person_ids.dedup();
    let summary_of = job.summary.as_ref().ok_or(Error::Conflict("this job has no proposal: it is not done"))?;
    let period = (summary_of.starts_at.clone(), summary_of.ends_before.clone());
    let locations = (!job.request.location_ids.is_empty()).then_some(job.request.location_ids.as_slice());
    let (tenant, shifts, placings) = tokio::try_join!(
        state.store.tenant(&caller.tenant_id),
        state.store.shifts_with_assignments_between(&caller.tenant_id, locations, (&period.0, &period.1)),
        state.store.placing(&caller.tenant_id, &person_ids),
    )?;
    let tenant = tenant.ok_or(Error::NotFound)?;
    let rules = rules(&tenant)?;
    let shifts: HashMap<&str, (&Shift, &Vec<Assignment>)> =
        shifts.iter().map(|(shift, held)| (shift.id.as_str(), (shift, held))).collect();
    let mut taken: HashMap<&str, u32> = HashMap::new();
    let mut refused = Vec::new();
    let now = Now::get();

    // Each person's places in time order, judged with their earlier accepted ones.
    let mut wanted: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for place in &proposal.assignments {
        wanted.entry(place.person_id.as_str()).or_default().push(place.shift_id.as_str());
    }
    let mut writes = Vec::new();
    let mut offers = Vec::new();
    for (person_id, placing) in person_ids.iter().zip(&placings) {
        let mut refuse = |shift_id: &str, rules: Vec<Code>, detail: String| {
            refused.push(RefusedPlace { shift_id: shift_id.to_owned(), person_id: person_id.clone(), rules, detail });
        };
        let mut theirs: Vec<&str> = wanted.remove(person_id.as_str()).unwrap_or_default();
        theirs.sort_by_key(|shift_id| shifts.get(shift_id).map(|(shift, _)| shift.start.clone()));
        let found = placing.person.as_ref().filter(|person| caller.sees_person(person));
        let Some(mut candidate) = found.and_then(|_| candidate(person_id, placing).transpose()).transpose()? else {
            for shift_id in theirs {
                refuse(shift_id, vec![Code::PersonInactive], "the person is no longer in the organisation".into());
            }
            continue;
        };
        let mut items = Vec::new();
        let mut booked = Vec::new();
        for shift_id in theirs {
            let Some(&(shift, held)) = shifts.get(shift_id).filter(|(shift, _)| shift.status != ShiftStatus::Cancelled)
            else {
                refuse(
                    shift_id,
                    vec![Code::ShiftCancelled],
                    "the shift was cancelled, deleted or moved out of the period".into(),
                );
                continue;
            };
            let holding = held.iter().find(|assignment| assignment.person_id == *person_id);
            if holding.is_some_and(|held| held.status != AssignmentStatus::Declined) {
                refuse(shift_id, Vec::new(), "they hold a place on it already".into());
                continue;
            }
            let slot = slot(shift)?;
            let placed = taken.get(shift_id).copied().unwrap_or(0);
            let violations = conflicts::check(
                &slot,
                shift.headcount,
                shift.assigned_count + placed,
                &candidate,
                &rules,
                Placement::Assign,
            );
            if !violations.is_empty() || booked.len() == MAX_PLACES_PER_PERSON {
                let codes = violations.iter().map(|violation| violation.code).collect();
                let detail = violations
                    .first()
                    .map_or("more places for one person than one apply writes; apply again".into(), |v| {
                        v.detail.clone()
                    });
                refuse(shift_id, codes, detail);
                continue;
            }
            *taken.entry(shift_id).or_default() += 1;
            candidate.shifts.push(slot);
            let mut assignment =
                Assignment::new(shift, person_id, AssignmentStatus::Offered, (&caller.person_id, false), &now.iso);
            assignment.version = holding.map_or(1, |held| held.version + 1);
            items.push(state.store.shift_places_taken(shift, 1)?);
            items.extend(state.store.filled_changed(&shift.tenant_id, shift.event_id.as_deref(), &shift.id, 1)?);
            items.push(state.store.entity_put(&assignment, holding.map(|held| held.version))?);
            booked.push((shift, assignment));
        }
        if booked.is_empty() {
            continue;
        }
        let their_shifts: Vec<(&str, Booked)> =
            booked.iter().map(|(shift, _)| (shift.id.as_str(), Booked::of(shift))).collect();
        items.push(state.store.schedule_add(
            &caller.tenant_id,
            person_id,
            &placing.schedule,
            &their_shifts,
            Utc::now(),
        )?);
        writes.push((person_id.clone(), items, booked));
    }

    // Round trip 3: each person's places in one transaction, all at once; the job marked applied
    // with its audit entry beside them.
    let outcomes =
        futures_util::future::try_join_all(writes.iter().map(|(_, items, _)| state.store.transact(items.clone())));
    let marked = AutoFill {
        applied_at: Some(now.iso.clone()),
        applied_by: Some(caller.person_id.clone()),
        version: job.version + 1,
        updated_at: now.iso.clone(),
        ..job.clone()
    };
    let attempted: usize = writes.iter().map(|(_, _, booked)| booked.len()).sum();
    let audit = AuditEntry::new(
        &caller.actor(),
        "auto_fill.applied",
        ("auto_fill", &job.id),
        None::<&()>,
        Some(&serde_json::json!({ "proposed": proposal.assignments.len(), "attempted": attempted })),
        &now.iso,
    );
    let mark =
        state.store.transact(vec![state.store.entity_put(&marked, Some(job.version))?, state.store.audit_put(&audit)?]);
    let (outcomes, mark) = tokio::try_join!(outcomes, mark)?;
    if mark.is_err() {
        return Err(Error::Conflict("this proposal was applied already"));
    }
    let mut applied = 0;
    for ((person_id, _, booked), outcome) in writes.iter().zip(outcomes) {
        match outcome {
            Ok(()) => {
                applied += booked.len() as u32;
                offers.extend(booked.iter().filter(|(shift, _)| shift.status == ShiftStatus::Published).map(
                    |(shift, _)| {
                        Envelope::to_person(
                            &caller.tenant_id,
                            person_id,
                            Message::ShiftOffered { shift: summary(shift) },
                        )
                    },
                ));
            }
            Err(Refused(_)) => {
                for (shift, _) in booked {
                    refused.push(RefusedPlace {
                        shift_id: shift.id.clone(),
                        person_id: person_id.clone(),
                        rules: Vec::new(),
                        detail: "their schedule or the shift changed while this was applied; run auto-fill again"
                            .into(),
                    });
                }
            }
        }
    }
    state.outbox.send_all(&offers).await?;
    refused.sort_by(|a, b| (&a.shift_id, &a.person_id).cmp(&(&b.shift_id, &b.person_id)));
    Ok(Json(Applied { applied, refused }))
}
