//! `GET /me` and `PATCH /me`: the caller's own profile.

use axum::Json;
use axum::extract::State;
use garde::Validate;
use rota::auth::{Caller, Role};
use rota::clock::Now;
use rota::error::Problem;
use rota::http::ValidJson;
use rota::store::people::{ContactChange, Person, PersonStatus};
use rota::{AppState, Error};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A person as they see themselves.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub id: String,
    pub tenant_id: String,
    pub email: String,
    pub name: String,
    pub phone: Option<String>,
    pub role: Role,
    pub status: PersonStatus,
    /// Send it back in `PATCH /me` to refuse overwriting someone else's change (409).
    pub version: u64,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Person> for Me {
    fn from(person: Person) -> Self {
        Self {
            id: person.id,
            tenant_id: person.tenant_id,
            email: person.email,
            name: person.name,
            phone: person.phone,
            role: person.role,
            status: person.status,
            version: person.version,
            created_at: person.created_at,
            updated_at: person.updated_at,
        }
    }
}

#[utoipa::path(get, path = "/me", tag = "me", security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's profile", body = Me),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_me(State(state): State<AppState>, caller: Caller) -> Result<Json<Me>, Error> {
    let person = state.store.person(&caller.tenant_id, &caller.person_id).await?.ok_or(Error::NotFound)?;
    Ok(Json(person.into()))
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
        (status = 200, description = "The updated profile", body = Me),
        (status = 409, description = "`version` is stale", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_me(State(state): State<AppState>, caller: Caller, ValidJson(update): ValidJson<UpdateMe>) -> Result<Json<Me>, Error> {
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
    Ok(Json(person.into()))
}

pub fn not_blank(value: &Option<String>, _: &()) -> garde::Result {
    match value {
        Some(value) if value.trim().is_empty() => Err(garde::Error::new("must not be blank")),
        _ => Ok(()),
    }
}

fn phone_number(value: &Option<String>, _: &()) -> garde::Result {
    let Some(value) = value else { return Ok(()) };
    let digits = value.chars().filter(char::is_ascii_digit).count();
    let allowed = value.chars().all(|c| c.is_ascii_digit() || " +-.()".contains(c));
    if allowed && (5..=20).contains(&digits) && value.len() <= 32 {
        Ok(())
    } else {
        Err(garde::Error::new("must be a phone number: 5 to 20 digits, optionally with + - . ( ) and spaces"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_common_phone_formats_only() {
        for good in ["+44 20 7946 0958", "(555) 123-4567", "0612345678"] {
            assert!(phone_number(&Some(good.into()), &()).is_ok(), "{good}");
        }
        for bad in ["call me", "12", "+1 555 CALL NOW", "1234567890123456789012"] {
            assert!(phone_number(&Some(bad.into()), &()).is_err(), "{bad}");
        }
    }
}
