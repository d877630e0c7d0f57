//! Checking in and out on site: the device's position against the shift's geofence, the moment
//! against the shift's window, one record per person and shift. Safe to retry: under an
//! `Idempotency-Key` the same request is answered the same, once recorded.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use chrono::Utc;
use garde::Validate;
use rota::auth::Caller;
use rota::auth::rate_limit::{CHECKS_PER_PERSON, check_subject};
use rota::clock::iso;
use rota::domain::attendance::{GeofenceVerdict, Point, Status, Window, geofence_verdict, locate, risk_score};
use rota::error::Problem;
use rota::files::{ImageType, MAX_PHOTO_BYTES, Upload};
use rota::http::ValidJson;
use rota::http::idempotency::{fingerprint, idempotency_key, kept, replayed};
use rota::store::attendance::{Attendance, AttendanceEvent, FaceReview, Happening, Mark};
use rota::store::audit::AuditEntry;
use rota::store::entities::{Entity, Refused};
use rota::store::schedule::{Assignment, AssignmentStatus, ShiftStatus};
use rota::webhooks::{EventType, Job};
use rota::{AppState, Error};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

#[derive(Debug, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "shift_id": "01JSAMPLESHIFT000000000000", "lat": 53.8008, "lng": -1.5491, "accuracy_m": 12.0 }))]
pub struct Check {
    #[garde(length(min = 1, max = 64))]
    #[schema(min_length = 1, max_length = 64)]
    pub shift_id: String,
    /// WGS 84 degrees, as the device reports them.
    #[garde(range(min = -90.0, max = 90.0))]
    #[schema(minimum = -90, maximum = 90)]
    pub lat: f64,
    #[garde(range(min = -180.0, max = 180.0))]
    #[schema(minimum = -180, maximum = 180)]
    pub lng: f64,
    /// The device's stated accuracy radius in metres; one coarser than the geofence is flagged.
    #[garde(range(min = 0.0, max = 100000.0))]
    #[schema(minimum = 0, maximum = 100000)]
    pub accuracy_m: f64,
    /// The `key` of a photo uploaded through `POST /attendance/photo-url` for this shift.
    #[garde(length(min = 1, max = 512))]
    #[schema(min_length = 1, max_length = 512)]
    pub photo_key: Option<String>,
}

/// What a check-in or check-out came to.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Checked {
    /// The attendance record's id (`{shift_id}_{person_id}`).
    pub id: String,
    /// The record's status after it: `on_time` or `late` after a check-in, `early_exit` too after
    /// a check-out.
    pub status: Option<Status>,
    /// Metres from the shift's location.
    pub distance_m: u32,
    pub radius_m: u32,
    /// Accepted but doubtful (outside the geofence in `flag` mode, or a coarse position).
    pub flagged: bool,
    /// 0–100; from 50, or when flagged, the record waits for review.
    pub risk_score: u8,
    /// The record as it is now.
    pub attendance: Attendance,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    In,
    Out,
}

/// Checks in to one of the caller's shifts, on site, within its window; checking in to a place
/// only offered accepts the offer in the same step (the record's check-in says
/// `accepted_offer`, and the audit log has `assignment.accepted_by_check_in`). Send an
/// `Idempotency-Key` (any unique text, e.g. a UUID) to make a retry safe: the same request again
/// within a day gets the same answer and records nothing more.
#[utoipa::path(post, path = "/attendance/check-in", tag = "attendance", security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "1–128 visible ASCII characters; the same key and body within a day answer the same, once", max_length = 128, pattern = "^[!-~]{1,128}$")),
    request_body = Check,
    extensions(("x-rate-limit" = json!({ "limit": 10, "window_secs": 60, "per": "person" }))),
    responses(
        (status = 201, description = "Checked in (or the answer kept for this Idempotency-Key)", body = Checked),
        (status = 404, description = "You are not on this shift", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Checked in already, the offer changed meanwhile, or the shift is not on", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`outside_geofence` (with `distance_m`, `radius_m`), `outside_window` (with `opens_at`, `closes_at`), `photo_required` (the organisation requires a photo and none was sent), no photo at `photo_key`, or the Idempotency-Key was used for another request", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn check_in(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ValidJson(request): ValidJson<Check>,
) -> Result<(StatusCode, Json<Checked>), Error> {
    check(&state, &caller, &headers, request, Direction::In).await
}

/// Checks out of a shift the caller checked in to, on the same terms as checking in.
#[utoipa::path(post, path = "/attendance/check-out", tag = "attendance", security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "1–128 visible ASCII characters; the same key and body within a day answer the same, once", max_length = 128, pattern = "^[!-~]{1,128}$")),
    request_body = Check,
    extensions(("x-rate-limit" = json!({ "limit": 10, "window_secs": 60, "per": "person" }))),
    responses(
        (status = 200, description = "Checked out (or the answer kept for this Idempotency-Key)", body = Checked),
        (status = 404, description = "You are not on this shift", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not checked in, or checked out already", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`outside_geofence`, `outside_window`, no photo at `photo_key`, or the Idempotency-Key was used for another request", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn check_out(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ValidJson(request): ValidJson<Check>,
) -> Result<(StatusCode, Json<Checked>), Error> {
    check(&state, &caller, &headers, request, Direction::Out).await
}

/// Where a check's photo must be: under the caller's folder of that shift.
fn photo_folder(caller: &Caller, shift_id: &str) -> String {
    format!("tenants/{}/attendance/{shift_id}/{}/", caller.tenant_id, caller.person_id)
}

async fn check(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    request: Check,
    direction: Direction,
) -> Result<(StatusCode, Json<Checked>), Error> {
    let key = idempotency_key(headers)?;
    let operation = if direction == Direction::In { "check-in" } else { "check-out" };
    let fingerprint = fingerprint(operation, &request)?;
    if let Some(photo) = &request.photo_key
        && !photo.starts_with(&photo_folder(caller, &request.shift_id))
    {
        return Err(Error::field("photo_key", "is not a photo uploaded for this shift (POST /attendance/photo-url)"));
    }
    let now = Utc::now();
    let subject = check_subject(&caller.tenant_id, &caller.person_id);
    // Round trip 1, all in parallel: the desk (person, assignment, shift, rules, record, kept
    // answer), the rate counter, and whether the photo arrived (S3).
    let (desk, counter, photo) = tokio::try_join!(
        state.store.desk(&caller.tenant_id, &request.shift_id, &caller.person_id, key.as_deref()),
        state.store.rate_limit_hit(&CHECKS_PER_PERSON, &subject, now.timestamp()),
        async {
            match &request.photo_key {
                Some(photo) => state.files.exists(photo).await,
                None => Ok(false),
            }
        },
    )?;
    if let Some(replay) = desk.replay {
        return replayed(replay, &fingerprint);
    }
    if let Some(retry_after_secs) = CHECKS_PER_PERSON.retry_after(counter, now.timestamp()) {
        return Err(Error::RateLimited { retry_after_secs });
    }
    let (Some(person), Some(assignment), Some(shift), Some(tenant)) =
        (desk.person, desk.assignment, desk.shift, desk.tenant)
    else {
        return Err(Error::NotFound);
    };
    // Showing up is the answer: a check-in to an offered place accepts it (below, in the same
    // transaction). A declined place is no longer theirs.
    if assignment.status == AssignmentStatus::Declined {
        return Err(Error::NotFound);
    }
    let accepts_offer = direction == Direction::In && assignment.status == AssignmentStatus::Offered;
    if shift.status != ShiftStatus::Published {
        return Err(Error::Conflict("the shift is not on (it is a draft or cancelled)"));
    }
    let settings = &tenant.settings;
    let (start, end) = (at(&shift.start)?, at(&shift.end)?);
    let window = Window::of(start, end, settings);
    if !window.contains(now) {
        return Err(Error::OutsideWindow { opens_at: iso(window.opens_at), closes_at: iso(window.closes_at) });
    }
    let before = desk.record;
    match (direction, before.as_ref().map(|r| (r.check_in.is_some(), r.check_out.is_some()))) {
        (Direction::In, Some((true, _))) => return Err(Error::Conflict("checked in already")),
        (Direction::Out, None | Some((false, _))) => return Err(Error::Conflict("check in before checking out")),
        (Direction::Out, Some((_, true))) => return Err(Error::Conflict("checked out already")),
        _ => {}
    }
    if direction == Direction::In && settings.photo_required && request.photo_key.is_none() {
        return Err(Error::PhotoRequired);
    }
    if request.photo_key.is_some() && !photo {
        return Err(Error::field("photo_key", "no photo was uploaded there; PUT it to the presigned URL first"));
    }
    let site = Point { lat: shift.site.lat, lng: shift.site.lng };
    let located = locate(site, shift.site.radius_m, Point { lat: request.lat, lng: request.lng }, request.accuracy_m);
    let verdict = geofence_verdict(&located, settings.geofence);
    if verdict == GeofenceVerdict::Refused {
        return Err(Error::OutsideGeofence { distance_m: located.distance_m, radius_m: located.radius_m });
    }
    let at_iso = iso(now);
    let mark = Mark {
        at: at_iso.clone(),
        lat: request.lat,
        lng: request.lng,
        accuracy_m: request.accuracy_m,
        distance_m: located.distance_m,
        radius_m: located.radius_m,
        flagged: verdict == GeofenceVerdict::Flagged,
        photo_key: request.photo_key.clone(),
        risk_score: risk_score(&located, request.photo_key.is_some(), settings.photo_required),
        accepted_offer: accepts_offer,
    };
    let happening = match direction {
        Direction::In => Happening::CheckIn(mark.clone()),
        Direction::Out => Happening::CheckOut(mark.clone()),
    };
    let mut record = before
        .clone()
        .unwrap_or_else(|| Attendance::of(&shift, &assignment, &person.name, person.hourly_rate_minor, &at_iso));
    let event = AttendanceEvent::new(&record.id, (&person.id, &person.name), &at_iso, happening);
    record.apply(&event, settings);
    let checked = Checked {
        id: record.id.clone(),
        status: record.status,
        distance_m: mark.distance_m,
        radius_m: mark.radius_m,
        flagged: mark.flagged,
        risk_score: mark.risk_score,
        attendance: record.clone(),
    };
    let status = if direction == Direction::In { StatusCode::CREATED } else { StatusCode::OK };
    // Round trip 2: the record, its event, its shift's tally and on-site marker, the review
    // queue's entry if it now waits for review, and the answer kept under the key: all or nothing.
    let mut items = state.store.attendance_put(before.as_ref(), &record, &event, shift.supervisor.as_ref())?;
    if record.awaiting_review() && !before.as_ref().is_some_and(Attendance::awaiting_review) {
        items.push(state.store.review_queued(&caller.tenant_id, &FaceReview::of(&record, &mark))?);
    }
    let assignment_at = items.len();
    let checked_event = if direction == Direction::In { EventType::CheckedIn } else { EventType::CheckedOut };
    let mut events = vec![(checked_event, json!({ "attendance": record }))];
    if accepts_offer {
        let mut accepted = assignment.clone();
        accepted.status = AssignmentStatus::Accepted;
        accepted.touch(&at_iso);
        let audit = AuditEntry::new(
            &caller.actor(),
            "assignment.accepted_by_check_in",
            ("assignment", &accepted.id),
            Some(&assignment),
            Some(&accepted),
            &at_iso,
        );
        // Only while the offer is as read: a decline or a reassignment meanwhile wins.
        items.push(state.store.entity_put(&accepted, Some(assignment.version))?);
        items.push(state.store.audit_put(&audit)?);
        events.push((EventType::AssignmentAccepted, json!({ "assignment": accepted })));
    }
    if let Some(key) = &key {
        let replay = kept(&fingerprint, status, &checked)?;
        items.push(state.store.replay_put(&caller.tenant_id, &caller.person_id, key, &replay, now.timestamp())?);
    }
    let kept_at = items.len() - 1;
    match state.store.transact(items).await? {
        Ok(()) => {
            for (event, data) in events {
                state.outbox.webhook_for(&tenant, Job::event(&caller.tenant_id, event, data, &at_iso)).await?;
            }
            Ok((status, Json(checked)))
        }
        // The same key raced this request and won: answer what it answered.
        Err(Refused(failed)) if key.is_some() && failed.contains(&kept_at) => {
            let key = key.as_deref().unwrap_or_default();
            match state.store.replay(&caller.tenant_id, &caller.person_id, key).await? {
                Some(replay) => replayed(replay, &fingerprint),
                None => Err(Error::Conflict("a request with this Idempotency-Key is still in progress")),
            }
        }
        Err(Refused(failed)) if accepts_offer && failed.contains(&assignment_at) => {
            Err(Error::Conflict("the offer changed meanwhile (declined or given to someone else); reload it"))
        }
        Err(Refused(_)) => Err(Error::Conflict(match direction {
            Direction::In => "checked in already",
            Direction::Out => "the record changed meanwhile (checked out already?); reload it",
        })),
    }
}

fn at(instant: &str) -> Result<chrono::DateTime<Utc>, Error> {
    instant.parse().map_err(Error::internal)
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "shift_id": "01JSAMPLESHIFT000000000000", "content_type": "image/jpeg", "content_length": 48213 }))]
pub struct PhotoRequest {
    #[garde(length(min = 1, max = 64))]
    #[schema(min_length = 1, max_length = 64)]
    pub shift_id: String,
    #[garde(skip)]
    pub content_type: ImageType,
    /// The file's exact size in bytes, at most 5 MiB.
    #[garde(range(min = 1, max = MAX_PHOTO_BYTES))]
    #[schema(minimum = 1, maximum = 5242880)]
    pub content_length: u64,
}

/// A presigned upload of a check-in or check-out photo for one of the caller's shifts, valid 15
/// minutes. Upload it, then send its `key` as `photo_key`.
#[utoipa::path(post, path = "/attendance/photo-url", tag = "attendance", security(("bearer" = [])),
    request_body = PhotoRequest,
    responses(
        (status = 201, description = "PUT the photo to `url` with exactly `headers`", body = Upload),
        (status = 404, description = "You are not on this shift", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn photo_url(
    State(state): State<AppState>,
    caller: Caller,
    ValidJson(request): ValidJson<PhotoRequest>,
) -> Result<(StatusCode, Json<Upload>), Error> {
    let id = Assignment::id_of(&request.shift_id, &caller.person_id);
    let assignment: Assignment = state.store.entity(&caller.tenant_id, &id).await?.ok_or(Error::NotFound)?;
    if assignment.status == AssignmentStatus::Declined {
        return Err(Error::NotFound);
    }
    let key = format!(
        "{}{}.{}",
        photo_folder(&caller, &request.shift_id),
        ulid::Ulid::new(),
        request.content_type.extension()
    );
    let upload = state.files.upload(key, request.content_type.mime(), request.content_length, Utc::now()).await?;
    Ok((StatusCode::CREATED, Json(upload)))
}
