//! Availability: the weekly windows a person can work and the days they cannot. The conflict
//! engine warns (`outside_availability`) when a shift falls outside them.

use axum::Json;
use axum::extract::{Path, State};
use chrono::NaiveDate;
use garde::Validate;
use rota::auth::{Caller, Permission};
use rota::clock::Now;
use rota::domain::settings::Weekday;
use rota::error::Problem;
use rota::http::ValidJson;
use rota::records::committed;
use rota::store::audit::AuditEntry;
use rota::store::schedule::{Availability, Blackout, WeeklyWindow};
use rota::{AppState, Error};
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WindowInput {
    #[garde(skip)]
    pub weekday: Weekday,
    #[garde(pattern(r"^([01][0-9]|2[0-3]):[0-5][0-9]$"))]
    #[schema(pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9]$", example = "09:00")]
    pub start_local: String,
    /// At or before the start: the window runs past midnight into the next day.
    #[garde(pattern(r"^([01][0-9]|2[0-3]):[0-5][0-9]$"))]
    #[schema(pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9]$", example = "17:00")]
    pub end_local: String,
    /// A time they would rather work (auto-fill favours it); false when absent.
    #[garde(skip)]
    #[serde(default)]
    pub preferred: bool,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BlackoutInput {
    #[garde(custom(rota::validate::in_years))]
    pub from: NaiveDate,
    /// Inclusive; not before `from`.
    #[garde(custom(rota::validate::in_years))]
    pub to: NaiveDate,
}

/// The whole availability: it replaces what was there. No weekly windows means any time.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "weekly": [{ "weekday": "thursday", "start_local": "08:00", "end_local": "20:00" }, { "weekday": "friday", "start_local": "22:00", "end_local": "06:00" }], "blackouts": [{ "from": "2030-08-01", "to": "2030-08-14" }] }))]
pub struct SetAvailability {
    #[garde(length(max = 28), dive)]
    #[schema(max_items = 28)]
    #[serde(default)]
    pub weekly: Vec<WindowInput>,
    #[garde(length(max = 50), dive)]
    #[schema(max_items = 50)]
    #[serde(default)]
    pub blackouts: Vec<BlackoutInput>,
}

/// Own availability.
#[utoipa::path(get, path = "/availability/me", tag = "scheduling", security(("bearer" = [])),
    responses((status = 200, description = "When you can work", body = Availability)))]
pub async fn get_my_availability(State(state): State<AppState>, caller: Caller) -> Result<Json<Availability>, Error> {
    Ok(Json(state.store.availability(&caller.tenant_id, &caller.person_id).await?))
}

/// Sets own availability (replaces it; audited).
#[utoipa::path(put, path = "/availability/me", tag = "scheduling", security(("bearer" = [])), request_body = SetAvailability,
    responses((status = 200, description = "Your availability as stored", body = Availability)))]
pub async fn set_my_availability(
    State(state): State<AppState>,
    caller: Caller,
    ValidJson(request): ValidJson<SetAvailability>,
) -> Result<Json<Availability>, Error> {
    for (i, blackout) in request.blackouts.iter().enumerate() {
        if blackout.to < blackout.from {
            return Err(Error::field(&format!("blackouts[{i}].to"), "must not be before from"));
        }
    }
    let now = Now::get();
    let after = Availability {
        person_id: caller.person_id.clone(),
        weekly: request
            .weekly
            .into_iter()
            .map(|window| WeeklyWindow {
                weekday: window.weekday,
                start_local: window.start_local,
                end_local: window.end_local,
                preferred: window.preferred,
            })
            .collect(),
        blackouts: request
            .blackouts
            .into_iter()
            .map(|blackout| Blackout { from: blackout.from.to_string(), to: blackout.to.to_string() })
            .collect(),
        updated_at: Some(now.iso.clone()),
    };
    let audit = AuditEntry::new(
        &caller.actor(),
        "availability.set",
        ("person", &caller.person_id),
        None::<&()>,
        Some(&after),
        &now.iso,
    );
    // One round trip: the availability with its audit entry.
    let items = vec![state.store.availability_put(&caller.tenant_id, &after)?, state.store.audit_put(&audit)?];
    committed(state.store.transact(items).await?)?;
    Ok(Json(after))
}

/// A person's availability: coordinators and up, or the person themself.
#[utoipa::path(get, path = "/people/{person_id}/availability", tag = "scheduling", security(("bearer" = [])),
    params(("person_id" = String, Path)),
    responses(
        (status = 200, description = "When the person can work", body = Availability),
        (status = 404, description = "No such person in this organisation (or not yours to see)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_availability(
    State(state): State<AppState>,
    caller: Caller,
    Path(person_id): Path<String>,
) -> Result<Json<Availability>, Error> {
    caller.require_unless_own(&person_id, Permission::PeopleRead)?;
    // One round trip: the person (so an unknown id is a 404) and their availability.
    let (person, availability) = tokio::try_join!(
        state.store.entity::<rota::store::people::Person>(&caller.tenant_id, &person_id),
        state.store.availability(&caller.tenant_id, &person_id),
    )?;
    caller.person_in_scope(person)?;
    Ok(Json(availability))
}
