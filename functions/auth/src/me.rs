//! `GET /me` and `PATCH /me`: the caller's own profile.

use axum::Json;
use axum::extract::State;
use garde::Validate;
use rota::auth::Caller;
use rota::clock::Now;
use rota::error::Problem;
use rota::http::ValidJson;
use rota::store::people::{ContactChange, Person};
use rota::validate::{not_blank, phone_number};
use rota::{AppState, Error};
use serde::Deserialize;
use utoipa::ToSchema;

#[utoipa::path(get, path = "/me", tag = "me", security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's profile", body = Person),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_me(State(state): State<AppState>, caller: Caller) -> Result<Json<Person>, Error> {
    let person = state.store.person(&caller.tenant_id, &caller.person_id).await?.ok_or(Error::NotFound)?;
    Ok(Json(person))
}

/// Own contact details; omitted fields stay as they are.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMe {
    #[garde(length(chars, min = 1, max = 100), custom(not_blank))]
    pub name: Option<String>,
    /// Digits with optional `+`, spaces, dashes, dots and parentheses.
    #[garde(custom(phone_number))]
    pub phone: Option<String>,
    /// The `version` last read; when given, a stale write answers 409.
    #[garde(skip)]
    pub version: Option<u64>,
}

#[utoipa::path(patch, path = "/me", tag = "me", security(("bearer" = [])), request_body = UpdateMe,
    responses(
        (status = 200, description = "The updated profile", body = Person),
        (status = 409, description = "`version` is stale", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_me(
    State(state): State<AppState>,
    caller: Caller,
    ValidJson(update): ValidJson<UpdateMe>,
) -> Result<Json<Person>, Error> {
    if update.name.is_none() && update.phone.is_none() {
        return Err(Error::field("name", "give at least one of name, phone"));
    }
    let change = ContactChange {
        name: update.name.map(|name| name.trim().to_owned()),
        phone: update.phone.map(|phone| phone.trim().to_owned()),
        expected_version: update.version,
        updated_at: Now::get().iso,
    };
    let person = state.store.update_contact(&caller.tenant_id, &caller.person_id, change).await?;
    Ok(Json(person))
}
