//! Locations: venues, sites and rooms, each with its geofence and time zone.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use garde::Validate;
use rota::auth::{Caller, Permission};
use rota::clock::Now;
use rota::domain::settings::{self, TimeZone};
use rota::error::Problem;
use rota::http::{ValidJson, ValidQuery};
use rota::store::audit::AuditEntry;
use rota::store::page::Page;
use rota::store::places::Location;
use rota::validate::{not_blank, texts, texts_or_null};
use rota::{AppState, Error};
use serde::Deserialize;
use utoipa::ToSchema;

use rota::records::{ArchiveFilter, archived, committed, save};

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "name": "Riverside Hall", "address": "1 River Road, Leeds", "lat": 53.7997, "lng": -1.5492, "radius_m": 150, "time_zone": "Europe/London", "tags": ["main"] }))]
pub struct CreateLocation {
    #[garde(length(chars, min = 1, max = 200), custom(not_blank))]
    #[schema(min_length = 1, max_length = 200, pattern = r"[^\s\x00-\x1f\x7f-\x9f]")]
    pub name: String,
    #[garde(length(chars, max = 500))]
    #[schema(max_length = 500)]
    pub address: Option<String>,
    #[garde(range(min = -90.0, max = 90.0))]
    #[schema(minimum = -90, maximum = 90)]
    pub lat: f64,
    #[garde(range(min = -180.0, max = 180.0))]
    #[schema(minimum = -180, maximum = 180)]
    pub lng: f64,
    /// The geofence radius in metres.
    #[garde(range(min = 10, max = 5000))]
    #[schema(minimum = 10, maximum = 5000)]
    pub radius_m: u32,
    /// IANA time zone; the organisation's when omitted.
    #[garde(custom(settings::time_zone))]
    #[schema(value_type = Option<TimeZone>, example = "Europe/London")]
    pub time_zone: Option<String>,
    #[garde(length(max = 20), inner(length(chars, min = 1, max = 40), custom(not_blank)))]
    #[schema(schema_with = texts::<20, 40>)]
    #[serde(default)]
    pub tags: Vec<String>,
}

/// Omitted fields stay as they are.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateLocation {
    #[garde(length(chars, min = 1, max = 200), custom(not_blank))]
    #[schema(min_length = 1, max_length = 200, pattern = r"[^\s\x00-\x1f\x7f-\x9f]")]
    pub name: Option<String>,
    #[garde(length(chars, max = 500))]
    #[schema(max_length = 500)]
    pub address: Option<String>,
    #[garde(range(min = -90.0, max = 90.0))]
    #[schema(minimum = -90, maximum = 90)]
    pub lat: Option<f64>,
    #[garde(range(min = -180.0, max = 180.0))]
    #[schema(minimum = -180, maximum = 180)]
    pub lng: Option<f64>,
    #[garde(range(min = 10, max = 5000))]
    #[schema(minimum = 10, maximum = 5000)]
    pub radius_m: Option<u32>,
    #[garde(custom(settings::time_zone))]
    #[schema(value_type = Option<TimeZone>)]
    pub time_zone: Option<String>,
    #[garde(length(max = 20), inner(inner(length(chars, min = 1, max = 40), custom(not_blank))))]
    #[schema(schema_with = texts_or_null::<20, 40>)]
    pub tags: Option<Vec<String>>,
    /// The `version` last read; when given, a stale write answers 409.
    #[garde(range(max = rota::validate::MAX_VERSION))]
    pub version: Option<u64>,
}

/// Degrees kept to 7 decimals (about a centimetre): what a geofence needs, and a number DynamoDB
/// can store (it refuses magnitudes below 1e-130).
fn coordinate(degrees: f64) -> f64 {
    (degrees * 1e7).round() / 1e7
}

/// The organisation's locations, oldest first; archived ones only when asked for. A caller
/// limited to some locations gets only theirs (the organisation's few are read, theirs kept).
#[utoipa::path(get, path = "/locations", tag = "organisation", security(("bearer" = [])), params(ArchiveFilter),
    responses((status = 200, description = "A page of locations", body = Page<Location>)))]
pub async fn list_locations(
    State(state): State<AppState>,
    caller: Caller,
    ValidQuery(query): ValidQuery<ArchiveFilter>,
) -> Result<Json<Page<Location>>, Error> {
    let mut filter = query.filter();
    if let Some(locations) = caller.locations_to_read(None) {
        filter = filter.and_among("id", &locations);
    }
    let page = state.store.entities(&caller.tenant_id, query.limit, query.cursor.as_deref(), filter).await?;
    Ok(Json(page))
}

/// Adds a location (admins).
#[utoipa::path(post, path = "/locations", tag = "organisation", security(("bearer" = ["organisation.manage"])), request_body = CreateLocation,
    responses((status = 201, description = "The new location", body = Location)))]
pub async fn create_location(
    State(state): State<AppState>,
    caller: Caller,
    ValidJson(request): ValidJson<CreateLocation>,
) -> Result<(StatusCode, Json<Location>), Error> {
    caller.require(Permission::OrganisationManage)?;
    let time_zone = match request.time_zone {
        Some(zone) => zone,
        // Round trip 1 (only without a zone): the organisation's.
        None => state.store.tenant(&caller.tenant_id).await?.ok_or(Error::NotFound)?.time_zone,
    };
    let now = Now::get();
    let location = Location {
        id: ulid::Ulid::new().to_string(),
        tenant_id: caller.tenant_id.clone(),
        name: request.name.trim().to_owned(),
        address: request.address,
        lat: coordinate(request.lat),
        lng: coordinate(request.lng),
        radius_m: request.radius_m,
        time_zone,
        tags: request.tags,
        archived_at: None,
        version: 1,
        created_at: now.iso.clone(),
        updated_at: now.iso.clone(),
    };
    let audit = AuditEntry::new(
        &caller.actor(),
        "location.created",
        ("location", &location.id),
        None::<&Location>,
        Some(&location),
        &now.iso,
    );
    committed(state.store.create(&location, &audit, Vec::new()).await?)?;
    Ok((StatusCode::CREATED, Json(location)))
}

#[utoipa::path(get, path = "/locations/{location_id}", tag = "organisation", security(("bearer" = [])),
    params(("location_id" = String, Path)),
    responses(
        (status = 200, description = "The location", body = Location),
        (status = 404, description = "No such location in this organisation", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_location(
    State(state): State<AppState>,
    caller: Caller,
    Path(location_id): Path<String>,
) -> Result<Json<Location>, Error> {
    caller.within_location(&location_id)?;
    Ok(Json(state.store.entity(&caller.tenant_id, &location_id).await?.ok_or(Error::NotFound)?))
}

/// Changes a location (admins).
#[utoipa::path(patch, path = "/locations/{location_id}", tag = "organisation", security(("bearer" = ["organisation.manage"])),
    params(("location_id" = String, Path)), request_body = UpdateLocation,
    responses(
        (status = 200, description = "The updated location", body = Location),
        (status = 404, description = "No such location in this organisation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`version` is stale", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_location(
    State(state): State<AppState>,
    caller: Caller,
    Path(location_id): Path<String>,
    ValidJson(update): ValidJson<UpdateLocation>,
) -> Result<Json<Location>, Error> {
    caller.require(Permission::OrganisationManage)?;
    caller.within_location(&location_id)?;
    // Round trip 1: the location as it is.
    let before: Location = state.store.entity(&caller.tenant_id, &location_id).await?.ok_or(Error::NotFound)?;
    // Round trip 2: the change and its audit entry, if nobody changed it meanwhile.
    let after = save(&state, &caller, before, update.version, "updated", |location| {
        if let Some(name) = update.name {
            location.name = name.trim().to_owned();
        }
        location.address = update.address.or(location.address.take());
        location.lat = update.lat.map(coordinate).unwrap_or(location.lat);
        location.lng = update.lng.map(coordinate).unwrap_or(location.lng);
        location.radius_m = update.radius_m.unwrap_or(location.radius_m);
        location.time_zone = update.time_zone.unwrap_or(std::mem::take(&mut location.time_zone));
        location.tags = update.tags.unwrap_or(std::mem::take(&mut location.tags));
        Ok(())
    })
    .await?;
    Ok(Json(after))
}

/// Archives a location (admins): it leaves the list, and what happened there stays.
#[utoipa::path(delete, path = "/locations/{location_id}", tag = "organisation", security(("bearer" = ["organisation.manage"])),
    params(("location_id" = String, Path)),
    responses(
        (status = 204, description = "Archived (or already archived)"),
        (status = 404, description = "No such location in this organisation", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_location(
    State(state): State<AppState>,
    caller: Caller,
    Path(location_id): Path<String>,
) -> Result<StatusCode, Error> {
    caller.require(Permission::OrganisationManage)?;
    caller.within_location(&location_id)?;
    archived::<Location>(&state, &caller, &location_id, |_| Ok(())).await
}
