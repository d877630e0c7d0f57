//! Positions: the job roles of an organisation (bartender, nurse, teacher). People hold several;
//! every shift needs one.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use garde::Validate;
use rota::auth::{Caller, Permission};
use rota::clock::Now;
use rota::error::Problem;
use rota::http::{ValidJson, ValidQuery};
use rota::store::audit::AuditEntry;
use rota::store::page::Page;
use rota::store::places::Position;
use rota::validate::not_blank;
use rota::{AppState, Error};
use serde::Deserialize;
use utoipa::ToSchema;

use rota::records::{ArchiveFilter, archived, committed, save};

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "name": "Bartender", "default_hourly_rate_minor": 1450 }))]
pub struct CreatePosition {
    #[garde(length(chars, min = 1, max = 100), custom(not_blank))]
    #[schema(min_length = 1, max_length = 100, pattern = r"[^\s\x00-\x1f\x7f-\x9f]")]
    pub name: String,
    #[garde(length(chars, max = 1000))]
    #[schema(max_length = 1000)]
    pub description: Option<String>,
    /// Minor units of the organisation's currency per hour.
    #[garde(range(max = 10_000_000))]
    #[schema(maximum = 10_000_000)]
    pub default_hourly_rate_minor: Option<u64>,
}

/// Omitted fields stay as they are.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePosition {
    #[garde(length(chars, min = 1, max = 100), custom(not_blank))]
    #[schema(min_length = 1, max_length = 100, pattern = r"[^\s\x00-\x1f\x7f-\x9f]")]
    pub name: Option<String>,
    #[garde(length(chars, max = 1000))]
    #[schema(max_length = 1000)]
    pub description: Option<String>,
    #[garde(range(max = 10_000_000))]
    #[schema(maximum = 10_000_000)]
    pub default_hourly_rate_minor: Option<u64>,
    /// The `version` last read; when given, a stale write answers 409.
    #[garde(range(max = rota::validate::MAX_VERSION))]
    pub version: Option<u64>,
}

/// The organisation's positions, oldest first; archived ones only when asked for.
#[utoipa::path(get, path = "/positions", tag = "organisation", security(("bearer" = [])), params(ArchiveFilter),
    responses((status = 200, description = "A page of positions", body = Page<Position>)))]
pub async fn list_positions(
    State(state): State<AppState>,
    caller: Caller,
    ValidQuery(query): ValidQuery<ArchiveFilter>,
) -> Result<Json<Page<Position>>, Error> {
    let mut page: Page<Position> =
        state.store.entities(&caller.tenant_id, query.limit, query.cursor.as_deref(), query.filter()).await?;
    // A position's default rate is pay: admins' to see.
    if !caller.sees_pay() {
        page.items.iter_mut().for_each(|position| position.default_hourly_rate_minor = None);
    }
    Ok(Json(page))
}

/// Adds a position (admins).
#[utoipa::path(post, path = "/positions", tag = "organisation", security(("bearer" = ["organisation.manage"])), request_body = CreatePosition,
    responses((status = 201, description = "The new position", body = Position)))]
pub async fn create_position(
    State(state): State<AppState>,
    caller: Caller,
    ValidJson(request): ValidJson<CreatePosition>,
) -> Result<(StatusCode, Json<Position>), Error> {
    caller.require(Permission::OrganisationManage)?;
    let now = Now::get();
    let position = Position {
        id: ulid::Ulid::new().to_string(),
        tenant_id: caller.tenant_id.clone(),
        name: request.name.trim().to_owned(),
        description: request.description,
        default_hourly_rate_minor: request.default_hourly_rate_minor,
        archived_at: None,
        version: 1,
        created_at: now.iso.clone(),
        updated_at: now.iso.clone(),
    };
    let audit = AuditEntry::new(
        &caller.actor(),
        "position.created",
        ("position", &position.id),
        None::<&Position>,
        Some(&position),
        &now.iso,
    );
    committed(state.store.create(&position, &audit, Vec::new()).await?)?;
    Ok((StatusCode::CREATED, Json(position)))
}

/// Changes a position (admins).
#[utoipa::path(patch, path = "/positions/{position_id}", tag = "organisation", security(("bearer" = ["organisation.manage"])),
    params(("position_id" = String, Path)), request_body = UpdatePosition,
    responses(
        (status = 200, description = "The updated position", body = Position),
        (status = 404, description = "No such position in this organisation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`version` is stale", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_position(
    State(state): State<AppState>,
    caller: Caller,
    Path(position_id): Path<String>,
    ValidJson(update): ValidJson<UpdatePosition>,
) -> Result<Json<Position>, Error> {
    caller.require(Permission::OrganisationManage)?;
    // Round trip 1: the position as it is.
    let before: Position = state.store.entity(&caller.tenant_id, &position_id).await?.ok_or(Error::NotFound)?;
    // Round trip 2: the change and its audit entry, if nobody changed it meanwhile.
    let after = save(&state, &caller, before, update.version, "updated", |position| {
        if let Some(name) = update.name {
            position.name = name.trim().to_owned();
        }
        position.description = update.description.or(position.description.take());
        position.default_hourly_rate_minor = update.default_hourly_rate_minor.or(position.default_hourly_rate_minor);
        Ok(())
    })
    .await?;
    Ok(Json(after))
}

/// Archives a position (admins): it leaves the list; people and shifts keep naming it.
#[utoipa::path(delete, path = "/positions/{position_id}", tag = "organisation", security(("bearer" = ["organisation.manage"])),
    params(("position_id" = String, Path)),
    responses(
        (status = 204, description = "Archived (or already archived)"),
        (status = 404, description = "No such position in this organisation", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_position(
    State(state): State<AppState>,
    caller: Caller,
    Path(position_id): Path<String>,
) -> Result<StatusCode, Error> {
    caller.require(Permission::OrganisationManage)?;
    archived::<Position>(&state, &caller, &position_id, |_| Ok(())).await
}
