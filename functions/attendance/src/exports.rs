//! Attendance exports: a CSV file of the records between two days, written to the files bucket
//! and handed out as a presigned download.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{Days, NaiveDate, NaiveTime, Utc};
use garde::Validate;
use rota::auth::{Caller, Permission};
use rota::clock::instant;
use rota::domain::attendance::Status;
use rota::domain::time::{local_date, resolve};
use rota::error::Problem;
use rota::files::{Download, cell};
use rota::http::ValidJson;
use rota::store::attendance::Attendance;
use rota::store::entities::Filter;
use rota::store::people::Person;
use rota::store::s;
use rota::store::schedule::Event;
use rota::store::unlocks::require_unlocked;
use rota::{AppState, Error};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "from": "2030-07-01", "to": "2030-07-31" }))]
pub struct ExportRequest {
    /// First day (the organisation's calendar) of the shifts' starts, included.
    #[garde(custom(rota::validate::in_years))]
    #[schema(value_type = String, format = Date)]
    pub from: NaiveDate,
    /// Last day, included; at most 366 days after `from`.
    #[garde(custom(rota::validate::in_years))]
    #[schema(value_type = String, format = Date)]
    pub to: NaiveDate,
    #[garde(length(min = 1, max = 64))]
    #[schema(min_length = 1, max_length = 64)]
    pub event_id: Option<String>,
    #[garde(length(min = 1, max = 64))]
    #[schema(min_length = 1, max_length = 64)]
    pub person_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Export {
    /// Records in the file (one row each, after the header).
    pub rows: usize,
    #[serde(flatten)]
    pub download: Download,
}

/// The CSV columns, in order.
const HEADER: [&str; 20] = [
    "attendance_id",
    "date",
    "person_id",
    "person_name",
    "shift_id",
    "event_id",
    "location",
    "position",
    "shift_start",
    "shift_end",
    "check_in_at",
    "check_out_at",
    "status",
    "late_minutes",
    "early_minutes",
    "break_minutes",
    "worked_minutes",
    "flagged",
    "risk_score",
    "review",
];

fn row(record: &Attendance, zone: chrono_tz::Tz) -> Vec<String> {
    let date = record.shift_start.parse().map(|start| local_date(start, zone).to_string()).unwrap_or_default();
    vec![
        record.id.clone(),
        date,
        record.person_id.clone(),
        cell(&record.person_name),
        record.shift_id.clone(),
        record.event_id.clone().unwrap_or_default(),
        cell(&record.location_name),
        cell(&record.position_name),
        record.shift_start.clone(),
        record.shift_end.clone(),
        record.check_in_at.clone().unwrap_or_default(),
        record.check_out_at.clone().unwrap_or_default(),
        record.status.map(Status::as_str).unwrap_or_default().to_owned(),
        record.late_minutes.to_string(),
        record.early_minutes.to_string(),
        record.break_minutes.to_string(),
        record.worked_minutes.to_string(),
        record.flagged.to_string(),
        record.risk_score.to_string(),
        record.review.as_ref().map(|review| format!("{:?}", review.state).to_lowercase()).unwrap_or_default(),
    ]
}

/// Writes the organisation's attendance between two days (by shift start; one person's or one
/// event's if asked) to a CSV file and answers a download link valid 15 minutes (coordinators
/// and up; within their locations when they are limited to some). Text cells that a spreadsheet would run as formulas are quoted with `'`.
#[utoipa::path(post, path = "/attendance/exports", tag = "attendance", security(("bearer" = ["attendance.read"])),
    request_body = ExportRequest,
    responses(
        (status = 201, description = "GET the file from `url` before `expires_at`", body = Export),
        (status = 402, description = "The event asked for is locked (`payment_required`), with its quote", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn export_attendance(
    State(state): State<AppState>,
    caller: Caller,
    ValidJson(request): ValidJson<ExportRequest>,
) -> Result<(StatusCode, Json<Export>), Error> {
    caller.require(Permission::AttendanceRead)?;
    if request.to < request.from || (request.to - request.from).num_days() > 366 {
        return Err(Error::field("to", "must be on or after from, and at most 366 days after it"));
    }
    // Round trip 1: the organisation (its calendar, its plan), whether the person and event named
    // are its own, and the event's unlock.
    let people: Vec<String> = request.person_id.iter().cloned().collect();
    let events: Vec<String> = request.event_id.iter().cloned().collect();
    let (tenant, (), (), unlock) = tokio::try_join!(
        state.store.tenant(&caller.tenant_id),
        state.store.all_exist::<Person>(&caller.tenant_id, &people),
        state.store.all_exist::<Event>(&caller.tenant_id, &events),
        async {
            match &request.event_id {
                Some(event_id) => state.store.event_unlock(&caller.tenant_id, event_id).await,
                None => Ok(None),
            }
        },
    )?;
    let tenant = tenant.ok_or(Error::NotFound)?;
    if request.event_id.is_some() {
        // One event's export is its dashboard data: locked until paid on a plan that charges per
        // event.
        require_unlocked(tenant.subscription.as_ref(), unlock, &rota::clock::Now::get().iso)?;
    }
    let zone = tenant.zone()?;
    let first = instant(resolve(zone, request.from, NaiveTime::MIN));
    let last = instant(resolve(zone, request.to + Days::new(1), NaiveTime::MIN));
    let filter = match &request.event_id {
        Some(event) => Filter::default().and("event_id = :event", ("", ""), (":event", s(event.clone()))),
        None => Filter::default(),
    };
    let locations = caller.locations_to_read(None);
    let read = (request.person_id.as_deref(), locations.as_deref());
    let records = state.store.all_attendance(&caller.tenant_id, read, (&first, &last), filter).await?;
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(HEADER).map_err(Error::internal)?;
    for record in &records {
        writer.write_record(row(record, zone)).map_err(Error::internal)?;
    }
    let body = writer.into_inner().map_err(Error::internal)?;
    let now = Utc::now();
    let key = format!(
        "tenants/{}/exports/attendance-{}-{}-{}.csv",
        caller.tenant_id,
        request.from,
        request.to,
        ulid::Ulid::new()
    );
    let download = state.files.publish(key, "text/csv; charset=utf-8", body, now).await?;
    Ok((StatusCode::CREATED, Json(Export { rows: records.len(), download })))
}
