//! The review queue: check-ins that were flagged or looked risky wait here for an admin, who
//! looks at the photo and the position and verifies or rejects them.

use axum::Json;
use axum::extract::{Path, State};
use chrono::Utc;
use garde::Validate;
use rota::auth::{Caller, Permission};
use rota::clock::iso;
use rota::error::Problem;
use rota::http::{PageQuery, ValidJson, ValidQuery};
use rota::store::attendance::{Attendance, AttendanceEvent, FaceReview, Happening, ReviewDecision, ReviewOutcome};
use rota::store::audit::{Actor, AuditEntry};
use rota::store::entities::Refused;
use rota::store::page::Page;
use rota::store::people::Person;
use rota::store::tenants::Tenant;
use rota::{AppState, Error};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A record waiting for review, with a link to its photo.
#[derive(Debug, Serialize, ToSchema)]
pub struct Waiting {
    #[serde(flatten)]
    pub review: FaceReview,
    /// A presigned GET of the photo, valid 15 minutes (none without a photo).
    pub photo_url: Option<String>,
}

/// Check-ins waiting for review, oldest first (admins and owners; within their locations when
/// they are limited to some).
#[utoipa::path(get, path = "/admin/face-reviews", tag = "attendance", security(("bearer" = ["attendance.review"])), params(PageQuery),
    responses((status = 200, description = "A page of check-ins to review", body = Page<Waiting>)))]
pub async fn face_reviews(
    State(state): State<AppState>,
    caller: Caller,
    ValidQuery(query): ValidQuery<PageQuery>,
) -> Result<Json<Page<Waiting>>, Error> {
    caller.require(Permission::AttendanceReview)?;
    let locations = caller.locations_to_read(None);
    let page =
        state.store.face_reviews(&caller.tenant_id, locations.as_deref(), query.limit, query.cursor.as_deref()).await?;
    with_photos(&state, page).await
}

/// Every organisation's check-ins waiting for review, oldest first (platform admins): the
/// operator helps organisations that cannot keep up, or checks a pattern across them.
#[utoipa::path(get, path = "/admin/platform/face-reviews", tag = "platform", security(("bearer" = ["platform.manage"])), params(PageQuery),
    responses((status = 200, description = "A page of check-ins to review, each with its `tenant_id`", body = Page<Waiting>)))]
pub async fn platform_face_reviews(
    State(state): State<AppState>,
    caller: Caller,
    ValidQuery(query): ValidQuery<PageQuery>,
) -> Result<Json<Page<Waiting>>, Error> {
    caller.require(Permission::PlatformManage)?;
    let page = state.store.face_reviews_everywhere(query.limit, query.cursor.as_deref()).await?;
    with_photos(&state, page).await
}

/// The page with a presigned download of each photo (signed here: no round trip).
async fn with_photos(state: &AppState, page: Page<FaceReview>) -> Result<Json<Page<Waiting>>, Error> {
    let now = Utc::now();
    let mut items = Vec::with_capacity(page.items.len());
    for review in page.items {
        let photo_url = match &review.photo_key {
            Some(key) => Some(state.files.download(key.clone(), now).await?.url),
            None => None,
        };
        items.push(Waiting { review, photo_url });
    }
    Ok(Json(Page { items, next_cursor: page.next_cursor }))
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "decision": "verified", "note": "Photo matches; the hall's Wi-Fi skews GPS" }))]
pub struct Verify {
    #[garde(skip)]
    pub decision: ReviewOutcome,
    #[garde(length(chars, max = 500))]
    #[schema(max_length = 500)]
    pub note: Option<String>,
}

/// Decides a waiting check-in (admins and owners): `verified` or `rejected`, with a note. The
/// decision is one more event of the record; it leaves the queue. Nobody below owner decides on
/// their own check-in (403 `own_record`).
#[utoipa::path(post, path = "/admin/verify-face/{attendance_id}", tag = "attendance", security(("bearer" = ["attendance.review"])),
    params(("attendance_id" = String, Path)), request_body = Verify,
    responses(
        (status = 200, description = "The record with its review decided", body = Attendance),
        (status = 403, description = "The caller's own check-in (`own_record`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such record", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "It is not waiting for review (decided already, or never risky)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn verify_face(
    State(state): State<AppState>,
    caller: Caller,
    Path(attendance_id): Path<String>,
    ValidJson(request): ValidJson<Verify>,
) -> Result<Json<Attendance>, Error> {
    caller.require(Permission::AttendanceReview)?;
    // Round trip 1: the record (with the rules), and the reviewer's name.
    let (desk, me) = tokio::try_join!(
        state.store.correcting(&caller.tenant_id, &attendance_id),
        state.store.entity::<Person>(&caller.tenant_id, &caller.person_id),
    )?;
    let (Some(before), Some(tenant)) = (desk.record, desk.tenant) else { return Err(Error::NotFound) };
    caller.within_location(&before.location_id)?;
    caller.not_own(&before.person_id)?;
    let reviewer = me.map(|me| me.name).unwrap_or_default();
    decide(&state, before, &tenant, (caller.actor(), reviewer), request).await
}

/// Decides a waiting check-in of any organisation (platform admins), as its own admins would;
/// the decision names the reviewer as Rota's, and is audited in the organisation's log.
#[utoipa::path(post, path = "/admin/platform/face-reviews/{tenant_id}/{attendance_id}", tag = "platform", security(("bearer" = ["platform.manage"])),
    params(("tenant_id" = String, Path), ("attendance_id" = String, Path)), request_body = Verify,
    responses(
        (status = 200, description = "The record with its review decided", body = Attendance),
        (status = 404, description = "No such organisation or record", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "It is not waiting for review (decided already, or never risky)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn platform_verify_face(
    State(state): State<AppState>,
    caller: Caller,
    Path((tenant_id, attendance_id)): Path<(String, String)>,
    ValidJson(request): ValidJson<Verify>,
) -> Result<Json<Attendance>, Error> {
    caller.require_platform_over(&tenant_id)?;
    // Round trip 1: the record (with the organisation's rules), and the reviewer's name.
    let (desk, me) = tokio::try_join!(
        state.store.correcting(&tenant_id, &attendance_id),
        state.store.entity::<Person>(&caller.tenant_id, &caller.person_id),
    )?;
    let (Some(before), Some(tenant)) = (desk.record, desk.tenant) else { return Err(Error::NotFound) };
    let reviewer = format!("{} (Rota)", me.map(|me| me.name).unwrap_or_default());
    // The entry goes into the organisation's own log: its admins see who decided.
    let mut actor = caller.actor();
    actor.tenant_id = tenant_id;
    decide(&state, before, &tenant, (actor, reviewer), request).await
}

/// The decision as one more event of the record, which leaves the queue, with its audit entry.
async fn decide(
    state: &AppState,
    before: Attendance,
    tenant: &Tenant,
    (actor, reviewer): (Actor, String),
    request: Verify,
) -> Result<Json<Attendance>, Error> {
    let Some(queued_at) = before.review.as_ref().filter(|_| before.awaiting_review()).map(|r| r.queued_at.clone())
    else {
        return Err(Error::Conflict("this record is not waiting for review"));
    };
    let now = iso(Utc::now());
    let note = rota::validate::trimmed(request.note);
    let decision = ReviewDecision { decision: request.decision, note };
    let event = AttendanceEvent::new(&before.id, (&actor.person_id, &reviewer), &now, Happening::Review(decision));
    let mut record = before.clone();
    record.apply(&event, &tenant.settings);
    let audit =
        AuditEntry::new(&actor, "attendance.reviewed", ("attendance", &record.id), Some(&before), Some(&record), &now);
    // Round trip 2: the record, its event and tally, out of the queue, and the audit entry.
    let mut items = state.store.attendance_put(Some(&before), &record, &event, None)?;
    items.push(state.store.review_dequeued(&record.tenant_id, &record.id, &queued_at)?);
    items.push(state.store.audit_put(&audit)?);
    match state.store.transact(items).await? {
        Ok(()) => Ok(Json(record)),
        Err(Refused(_)) => Err(Error::Conflict("the record was changed or decided meanwhile; reload it")),
    }
}
