//! A worker's shifts as an iCalendar feed (RFC 5545) that calendar apps subscribe to: the URL
//! carries a secret of its own (calendar apps send no tokens), revocable at any time.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use chrono::Utc;
use rota::auth::Caller;
use rota::clock::{Now, instant};
use rota::error::Problem;
use rota::store::calendar::CalendarFeed;
use rota::store::schedule::{Assignment, AssignmentStatus, ShiftStatus};
use rota::{AppState, Error};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct CalendarUrl {
    /// Subscribe to it in a calendar app. Anyone with it sees your shifts: keep it to yourself,
    /// and revoke it (DELETE /me/calendar-url) if it leaks.
    pub url: String,
}

/// Where this API is reachable, as the request came in (API Gateway's domain in AWS).
fn base_url(headers: &HeaderMap) -> String {
    let text = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    let host = text(header::HOST.as_str()).unwrap_or("localhost");
    let scheme = text("x-forwarded-proto").unwrap_or(if host.starts_with("localhost") || host.starts_with("127.") {
        "http"
    } else {
        "https"
    });
    format!("{scheme}://{host}")
}

/// Own calendar feed URL: made on first ask, the same one after that until revoked.
#[utoipa::path(get, path = "/me/calendar-url", tag = "scheduling", security(("bearer" = [])),
    responses((status = 200, description = "The feed's secret URL", body = CalendarUrl)))]
pub async fn calendar_url(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
) -> Result<Json<CalendarUrl>, Error> {
    // One round trip, or two when a first feed is made at the same moment by another request.
    let feed = state.store.calendar_feed(&caller.tenant_id, &caller.person_id, &Now::get().iso).await?;
    Ok(Json(CalendarUrl { url: format!("{}/calendar/{}", base_url(&headers), feed.token()) }))
}

/// Revokes own calendar feed URL: subscriptions stop updating at once; the next ask makes a new one.
#[utoipa::path(delete, path = "/me/calendar-url", tag = "scheduling", security(("bearer" = [])),
    responses((status = 204, description = "Revoked (or there was none)")))]
pub async fn revoke_calendar_url(State(state): State<AppState>, caller: Caller) -> Result<StatusCode, Error> {
    state.store.revoke_calendar_feed(&caller.tenant_id, &caller.person_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The feed: a worker's shifts from 30 days back on (published and cancelled; declined offers
/// left out), as `text/calendar`. Public: the secret in the URL is the credential.
#[utoipa::path(get, path = "/calendar/{token}", tag = "scheduling",
    params(("token" = String, Path, description = "The secret from GET /me/calendar-url")),
    responses(
        (status = 200, description = "An iCalendar (RFC 5545) of the shifts", content_type = "text/calendar", body = String),
        (status = 404, description = "No such feed (revoked, or never made)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn calendar_feed(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<impl IntoResponse, Error> {
    let (tenant_id, person_id) = CalendarFeed::owner(&token).ok_or(Error::NotFound)?;
    let since = instant(Utc::now() - chrono::Duration::days(30));
    // One round trip: the feed (to check the secret) and the shifts, in parallel.
    let (feed, assignments) = tokio::try_join!(
        state.store.calendar_feed_of(tenant_id, person_id),
        state.store.person_assignments(tenant_id, person_id, (Some(&since), None), None, false, Some(100), None),
    )?;
    if !feed.is_some_and(|feed| feed.matches(&token)) {
        return Err(Error::NotFound);
    }
    let calendar = ics(&assignments.items);
    Ok(([(header::CONTENT_TYPE, "text/calendar; charset=utf-8")], calendar.to_string()))
}

fn ics(assignments: &[Assignment]) -> icalendar::Calendar {
    use icalendar::{Component, EventLike};
    let mut calendar = icalendar::Calendar::new();
    calendar.name("Rota shifts");
    for assignment in assignments.iter().filter(|a| a.status != AssignmentStatus::Declined) {
        let (Ok(start), Ok(end)) =
            (assignment.start.parse::<chrono::DateTime<Utc>>(), assignment.end.parse::<chrono::DateTime<Utc>>())
        else {
            continue;
        };
        let mut event = icalendar::Event::new();
        event
            .uid(&format!("{}@rota", assignment.id))
            .summary(&format!("Shift: {}", assignment.position_name))
            .location(&assignment.location_name)
            .starts(start)
            .ends(end)
            .status(match assignment.shift_status {
                ShiftStatus::Cancelled => icalendar::EventStatus::Cancelled,
                _ if assignment.status == AssignmentStatus::Accepted => icalendar::EventStatus::Confirmed,
                _ => icalendar::EventStatus::Tentative,
            });
        calendar.push(event.done());
    }
    calendar.done()
}
