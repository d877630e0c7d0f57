//! Events: what the organisation runs over one or more days, which shifts can belong to.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::NaiveDate;
use garde::Validate;
use rota::auth::{Caller, Permission};
use rota::clock::Now;
use rota::error::Problem;
use rota::http::{ValidJson, ValidQuery};
use rota::records::{ArchiveFilter, archived, committed, save};
use rota::store::audit::AuditEntry;
use rota::store::page::Page;
use rota::store::places::Location;
use rota::store::schedule::{Event, EventStatus};
use rota::validate::{not_blank, texts, texts_or_null};
use rota::{AppState, Error};
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "title": "Harbour Festival", "location_id": "01JSAMPLELOCATION000000000", "starts_on": "2030-07-04", "ends_on": "2030-07-06", "tags": ["music"] }))]
pub struct CreateEvent {
    #[garde(length(chars, min = 1, max = 200), custom(not_blank))]
    #[schema(min_length = 1, max_length = 200, pattern = r"[^\s\x00-\x1f\x7f-\x9f]")]
    pub title: String,
    #[garde(length(max = 64))]
    #[schema(max_length = 64)]
    pub location_id: Option<String>,
    #[garde(custom(rota::validate::in_years))]
    pub starts_on: NaiveDate,
    /// The last day, inclusive; not before `starts_on`.
    #[garde(custom(rota::validate::in_years))]
    pub ends_on: NaiveDate,
    #[garde(length(max = 20), inner(length(chars, min = 1, max = 40), custom(not_blank)))]
    #[schema(schema_with = texts::<20, 40>)]
    #[serde(default)]
    pub tags: Vec<String>,
    /// `planned` when omitted.
    #[garde(skip)]
    pub status: Option<EventStatus>,
}

/// Omitted fields stay as they are; `location_id: null` detaches the event from its location.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "status": "confirmed" }))]
pub struct UpdateEvent {
    #[garde(length(chars, min = 1, max = 200), custom(not_blank))]
    #[schema(min_length = 1, max_length = 200, pattern = r"[^\s\x00-\x1f\x7f-\x9f]")]
    pub title: Option<String>,
    #[garde(inner(inner(length(max = 64))))]
    #[serde(default, deserialize_with = "rota::validate::nullable")]
    #[schema(value_type = Option<String>, max_length = 64)]
    pub location_id: Option<Option<String>>,
    #[garde(custom(rota::validate::in_years))]
    pub starts_on: Option<NaiveDate>,
    #[garde(custom(rota::validate::in_years))]
    pub ends_on: Option<NaiveDate>,
    #[garde(length(max = 20), inner(inner(length(chars, min = 1, max = 40), custom(not_blank))))]
    #[schema(schema_with = texts_or_null::<20, 40>)]
    pub tags: Option<Vec<String>>,
    #[garde(skip)]
    pub status: Option<EventStatus>,
    /// The `version` last read; when given, a stale write answers 409.
    #[garde(range(max = rota::validate::MAX_VERSION))]
    pub version: Option<u64>,
}

fn days_in_order(starts_on: NaiveDate, ends_on: NaiveDate) -> Result<(), Error> {
    if ends_on < starts_on {
        return Err(Error::field("ends_on", "must not be before starts_on"));
    }
    Ok(())
}

/// The organisation's events in creation order; archived ones only when asked for. Someone
/// limited to some locations sees theirs and those of no one location.
#[utoipa::path(get, path = "/events", tag = "scheduling", security(("bearer" = [])), params(ArchiveFilter),
    responses((status = 200, description = "A page of events", body = Page<Event>)))]
pub async fn list_events(
    State(state): State<AppState>,
    caller: Caller,
    ValidQuery(query): ValidQuery<ArchiveFilter>,
) -> Result<Json<Page<Event>>, Error> {
    let mut filter = query.filter();
    if let Some(locations) = caller.locations_to_read(None) {
        filter = filter.and_among_or_unset("location_id", &locations);
    }
    let page = state.store.entities(&caller.tenant_id, query.limit, query.cursor.as_deref(), filter).await?;
    Ok(Json(page))
}

/// Adds an event (coordinators and up).
#[utoipa::path(post, path = "/events", tag = "scheduling", security(("bearer" = ["schedule.write"])), request_body = CreateEvent,
    responses(
        (status = 201, description = "The new event", body = Event),
        (status = 404, description = "No such location in this organisation", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_event(
    State(state): State<AppState>,
    caller: Caller,
    ValidJson(request): ValidJson<CreateEvent>,
) -> Result<(StatusCode, Json<Event>), Error> {
    caller.require(Permission::ScheduleWrite)?;
    days_in_order(request.starts_on, request.ends_on)?;
    caller.may_act_at(request.location_id.as_deref())?;
    // Round trip 1: the location named exists here.
    if let Some(location) = &request.location_id {
        state.store.all_exist::<Location>(&caller.tenant_id, std::slice::from_ref(location)).await?;
    }
    let now = Now::get();
    let event = Event {
        id: ulid::Ulid::new().to_string(),
        tenant_id: caller.tenant_id.clone(),
        title: request.title.trim().to_owned(),
        location_id: request.location_id,
        starts_on: request.starts_on.to_string(),
        ends_on: request.ends_on.to_string(),
        tags: request.tags,
        status: request.status.unwrap_or(EventStatus::Planned),
        archived_at: None,
        version: 1,
        created_at: now.iso.clone(),
        updated_at: now.iso.clone(),
    };
    let audit =
        AuditEntry::new(&caller.actor(), "event.created", ("event", &event.id), None::<&Event>, Some(&event), &now.iso);
    // Round trip 2: the event with its audit entry.
    committed(state.store.create(&event, &audit, Vec::new()).await?)?;
    Ok((StatusCode::CREATED, Json(event)))
}

#[utoipa::path(get, path = "/events/{event_id}", tag = "scheduling", security(("bearer" = [])),
    params(("event_id" = String, Path)),
    responses(
        (status = 200, description = "The event", body = Event),
        (status = 404, description = "No such event in this organisation", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_event(
    State(state): State<AppState>,
    caller: Caller,
    Path(event_id): Path<String>,
) -> Result<Json<Event>, Error> {
    Ok(Json(in_scope(&caller, state.store.entity(&caller.tenant_id, &event_id).await?)?))
}

/// Someone limited to some locations changes only the events at one of them (an event at no one
/// location is everyone's: 403).
fn may_change(caller: &Caller, event: &Event) -> Result<(), Error> {
    match &event.location_id {
        _ if caller.scope.location_ids.is_empty() => Ok(()),
        Some(location) => caller.within_location(location),
        None => Err(Error::Forbidden("an event at no one location is changed by someone not limited to locations")),
    }
}

/// An event read, when the caller may see it: at one of their locations, or at no one location.
fn in_scope(caller: &Caller, event: Option<Event>) -> Result<Event, Error> {
    event
        .filter(|event| event.location_id.as_deref().is_none_or(|location| caller.scope.sees_location(location)))
        .ok_or(Error::NotFound)
}

/// Changes an event (coordinators and up).
#[utoipa::path(patch, path = "/events/{event_id}", tag = "scheduling", security(("bearer" = ["schedule.write"])),
    params(("event_id" = String, Path)), request_body = UpdateEvent,
    responses(
        (status = 200, description = "The updated event", body = Event),
        (status = 404, description = "No such event (or location) in this organisation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`version` is stale", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_event(
    State(state): State<AppState>,
    caller: Caller,
    Path(event_id): Path<String>,
    ValidJson(update): ValidJson<UpdateEvent>,
) -> Result<Json<Event>, Error> {
    caller.require(Permission::ScheduleWrite)?;
    let location: Vec<String> = update.location_id.clone().flatten().into_iter().collect();
    if let Some(moved) = &update.location_id {
        caller.may_act_at(moved.as_deref())?;
    }
    // Round trip 1: the event as it is, and the location named.
    let (before, ()) = tokio::try_join!(
        state.store.entity::<Event>(&caller.tenant_id, &event_id),
        state.store.all_exist::<Location>(&caller.tenant_id, &location)
    )?;
    let before = in_scope(&caller, before)?;
    may_change(&caller, &before)?;
    // Round trip 2: the change and its audit entry, if nobody changed it meanwhile.
    let after = save(&state, &caller, before, update.version, "updated", |event| {
        if let Some(title) = update.title {
            event.title = title.trim().to_owned();
        }
        if let Some(location) = update.location_id {
            event.location_id = location;
        }
        let starts_on = update.starts_on.map(|day| day.to_string()).unwrap_or(std::mem::take(&mut event.starts_on));
        let ends_on = update.ends_on.map(|day| day.to_string()).unwrap_or(std::mem::take(&mut event.ends_on));
        if ends_on < starts_on {
            return Err(Error::field(
                if update.ends_on.is_some() { "ends_on" } else { "starts_on" },
                "ends_on must not be before starts_on",
            ));
        }
        (event.starts_on, event.ends_on) = (starts_on, ends_on);
        event.tags = update.tags.unwrap_or(std::mem::take(&mut event.tags));
        event.status = update.status.unwrap_or(event.status);
        Ok(())
    })
    .await?;
    Ok(Json(after))
}

/// Archives an event (coordinators and up): it leaves the list; its shifts stay.
#[utoipa::path(delete, path = "/events/{event_id}", tag = "scheduling", security(("bearer" = ["schedule.write"])),
    params(("event_id" = String, Path)),
    responses(
        (status = 204, description = "Archived (or already archived)"),
        (status = 404, description = "No such event in this organisation", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_event(
    State(state): State<AppState>,
    caller: Caller,
    Path(event_id): Path<String>,
) -> Result<StatusCode, Error> {
    caller.require(Permission::ScheduleWrite)?;
    archived::<Event>(&state, &caller, &event_id, |event| may_change(&caller, event)).await
}
