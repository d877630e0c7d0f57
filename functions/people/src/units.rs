//! Units: teams or classes, each with at most one lead.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use garde::Validate;
use rota::auth::{Caller, Permission};
use rota::clock::Now;
use rota::error::Problem;
use rota::http::{PageQuery, ValidJson, ValidQuery};
use rota::store::audit::AuditEntry;
use rota::store::entities::Filter;
use rota::store::page::Page;
use rota::store::people::{Person, PersonStatus};
use rota::store::places::Unit;
use rota::validate::{not_blank, nullable};
use rota::{AppState, Error};
use serde::Deserialize;
use utoipa::ToSchema;

use rota::records::{committed, save};

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "name": "Year 3 — Oak" }))]
pub struct CreateUnit {
    #[garde(length(chars, min = 1, max = 100), custom(not_blank))]
    #[schema(min_length = 1, max_length = 100, pattern = r"[^\s\x00-\x1f\x7f-\x9f]")]
    pub name: String,
    /// A person of the organisation who leads it.
    #[garde(length(max = 64))]
    #[schema(max_length = 64)]
    pub lead_person_id: Option<String>,
}

/// Omitted fields stay as they are; `lead_person_id: null` removes the lead.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUnit {
    #[garde(length(chars, min = 1, max = 100), custom(not_blank))]
    #[schema(min_length = 1, max_length = 100, pattern = r"[^\s\x00-\x1f\x7f-\x9f]")]
    pub name: Option<String>,
    /// The new lead. A unit that has a different lead already keeps it unless `version` is
    /// given (replacing a lead is deliberate): of two people made lead at once, one wins and
    /// the other gets 409.
    #[serde(default, deserialize_with = "nullable")]
    #[garde(inner(inner(length(max = 64))))]
    #[schema(value_type = Option<String>, nullable, max_length = 64)]
    pub lead_person_id: Option<Option<String>>,
    /// The `version` last read; when given, a stale write answers 409.
    #[garde(range(max = rota::validate::MAX_VERSION))]
    pub version: Option<u64>,
}

#[utoipa::path(get, path = "/units", tag = "organisation", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, description = "A page of units, oldest first (a caller limited to some units: only theirs)", body = Page<Unit>)))]
pub async fn list_units(
    State(state): State<AppState>,
    caller: Caller,
    ValidQuery(query): ValidQuery<PageQuery>,
) -> Result<Json<Page<Unit>>, Error> {
    let filter = match caller.units_to_read(None) {
        Some(units) => Filter::default().and_among("id", &units),
        None => Filter::default(),
    };
    Ok(Json(state.store.entities(&caller.tenant_id, query.limit, query.cursor.as_deref(), filter).await?))
}

/// A lead must be a current (invited or active) person of this organisation: an unknown one is
/// 404, an inactive one 422.
async fn check_lead(state: &AppState, caller: &Caller, lead: Option<&str>) -> Result<(), Error> {
    let Some(lead) = lead else { return Ok(()) };
    match state.store.entity::<Person>(&caller.tenant_id, lead).await? {
        Some(person) if person.status != PersonStatus::Inactive => Ok(()),
        Some(_) => Err(Error::field("lead_person_id", "is no longer a person of this organisation")),
        // Unknown here, another tenant's included.
        None => Err(Error::NotFound),
    }
}

/// Adds a unit (admins).
#[utoipa::path(post, path = "/units", tag = "organisation", security(("bearer" = ["organisation.manage"])), request_body = CreateUnit,
    responses(
        (status = 201, description = "The new unit", body = Unit),
        (status = 404, description = "The lead named is not a person of this organisation", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_unit(
    State(state): State<AppState>,
    caller: Caller,
    ValidJson(request): ValidJson<CreateUnit>,
) -> Result<(StatusCode, Json<Unit>), Error> {
    caller.require(Permission::OrganisationManage)?;
    // Round trip 1: the lead, if one is named.
    check_lead(&state, &caller, request.lead_person_id.as_deref()).await?;
    let now = Now::get();
    let unit = Unit {
        id: ulid::Ulid::new().to_string(),
        tenant_id: caller.tenant_id.clone(),
        name: request.name.trim().to_owned(),
        lead_person_id: request.lead_person_id,
        version: 1,
        created_at: now.iso.clone(),
        updated_at: now.iso.clone(),
    };
    let audit =
        AuditEntry::new(&caller.actor(), "unit.created", ("unit", &unit.id), None::<&Unit>, Some(&unit), &now.iso);
    // Round trip 2: the unit and its audit entry.
    committed(state.store.create(&unit, &audit, Vec::new()).await?)?;
    Ok((StatusCode::CREATED, Json(unit)))
}

/// Renames a unit or changes its lead (admins).
#[utoipa::path(patch, path = "/units/{unit_id}", tag = "organisation", security(("bearer" = ["organisation.manage"])),
    params(("unit_id" = String, Path)), request_body = UpdateUnit,
    responses(
        (status = 200, description = "The updated unit", body = Unit),
        (status = 404, description = "No such unit in this organisation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`version` is stale, or the unit has another lead already (send `version` to replace them)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_unit(
    State(state): State<AppState>,
    caller: Caller,
    Path(unit_id): Path<String>,
    ValidJson(update): ValidJson<UpdateUnit>,
) -> Result<Json<Unit>, Error> {
    caller.require(Permission::OrganisationManage)?;
    if !caller.scope.sees_unit(Some(&unit_id)) {
        return Err(Error::NotFound);
    }
    let new_lead = update.lead_person_id.as_ref().and_then(Option::as_deref);
    // Round trip 1: the unit and the new lead, in parallel.
    let (before, ()) = tokio::try_join!(
        state.store.entity::<Unit>(&caller.tenant_id, &unit_id),
        check_lead(&state, &caller, new_lead)
    )?;
    let before = before.ok_or(Error::NotFound)?;
    // Round trip 2: the change, only if the unit is still as read: one of two concurrent leads wins.
    let after = save(&state, &caller, before, update.version, "updated", |unit| {
        if let Some(name) = update.name {
            unit.name = name.trim().to_owned();
        }
        if let Some(lead) = update.lead_person_id {
            let replacing = unit.lead_person_id.is_some() && lead.is_some() && unit.lead_person_id != lead;
            if replacing && update.version.is_none() {
                return Err(Error::Conflict("the unit has a lead already; send `version` to replace them"));
            }
            unit.lead_person_id = lead;
        }
        Ok(())
    })
    .await?;
    Ok(Json(after))
}
