//! `GET /tenant` and `PATCH /tenant`: the organisation's profile and rule settings.

use axum::Json;
use axum::extract::State;
use garde::Validate;
use rota::auth::{Caller, Permission};
use rota::clock::Now;
use rota::domain::settings::{self, Settings, TimeZone, Weekday};
use rota::error::{FieldError, Problem};
use rota::http::ValidJson;
use rota::store::audit::AuditEntry;
use rota::store::tenants::Tenant;
use rota::validate::not_blank;
use rota::{AppState, Error};
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// The caller's organisation; every member may read it (time zone, week start, the rules).
#[utoipa::path(get, path = "/tenant", tag = "organisation", security(("bearer" = [])),
    responses((status = 200, description = "The organisation with its settings", body = Tenant)))]
pub async fn get_tenant(State(state): State<AppState>, caller: Caller) -> Result<Json<Tenant>, Error> {
    Ok(Json(state.store.tenant(&caller.tenant_id).await?.ok_or(Error::NotFound)?))
}

/// Omitted fields stay as they are; so do omitted settings.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "time_zone": "Europe/London", "settings": { "late_grace_minutes": 10 }, "version": 1 }))]
pub struct UpdateTenant {
    #[garde(length(chars, min = 1, max = 200), custom(not_blank))]
    #[schema(min_length = 1, max_length = 200, pattern = r"[^\s\x00-\x1f\x7f-\x9f]")]
    pub name: Option<String>,
    /// An IANA time zone, e.g. `Europe/Berlin`.
    #[garde(custom(settings::time_zone))]
    #[schema(value_type = Option<TimeZone>, example = "Europe/Berlin")]
    pub time_zone: Option<String>,
    #[garde(skip)]
    pub week_start: Option<Weekday>,
    /// ISO 4217, e.g. `EUR`.
    #[garde(custom(settings::currency))]
    #[schema(pattern = "^[A-Z]{3}$")]
    pub currency: Option<String>,
    /// Only the settings given change.
    #[garde(skip)]
    #[schema(value_type = Option<Settings>)]
    pub settings: Option<Map<String, Value>>,
    /// The `version` last read; when given, a stale write answers 409.
    #[garde(range(max = rota::validate::MAX_VERSION))]
    pub version: Option<u64>,
}

/// Changes the organisation's profile or settings (admins).
#[utoipa::path(patch, path = "/tenant", tag = "organisation", security(("bearer" = ["organisation.manage"])), request_body = UpdateTenant,
    responses(
        (status = 200, description = "The updated organisation", body = Tenant),
        (status = 409, description = "`version` is stale", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_tenant(
    State(state): State<AppState>,
    caller: Caller,
    ValidJson(update): ValidJson<UpdateTenant>,
) -> Result<Json<Tenant>, Error> {
    caller.require(Permission::OrganisationManage)?;
    // Round trip 1: the organisation as it is.
    let before = state.store.tenant(&caller.tenant_id).await?.ok_or(Error::NotFound)?;
    if update.version.is_some_and(|version| version != before.version) {
        return Err(Error::Conflict("the organisation was changed by someone else; reload and retry"));
    }
    let now = Now::get();
    let mut after = before.clone();
    if let Some(name) = update.name {
        after.name = name.trim().to_owned();
    }
    if let Some(time_zone) = update.time_zone {
        after.time_zone = time_zone;
    }
    if let Some(week_start) = update.week_start {
        after.week_start = week_start;
    }
    if let Some(currency) = update.currency {
        after.currency = currency;
    }
    if let Some(changes) = update.settings {
        after.settings = merged(&before.settings, changes)?;
    }
    after.version += 1;
    after.updated_at = now.iso.clone();
    let audit = AuditEntry::new(
        &caller.actor(),
        "tenant.updated",
        ("tenant", &caller.tenant_id),
        Some(&before),
        Some(&after),
        &now.iso,
    );
    // Round trip 2: the change and its audit entry, if nobody changed it meanwhile.
    state.store.update_tenant(&after, before.version, &audit).await?;
    Ok(Json(after))
}

/// The settings with the given ones changed, checked like a whole: each wrong setting is named
/// as `settings.{name}`.
fn merged(current: &Settings, changes: Map<String, Value>) -> Result<Settings, Error> {
    let Value::Object(mut all) = serde_json::to_value(current).map_err(Error::internal)? else {
        return Err(Error::internal("settings serialise to an object"));
    };
    all.extend(changes);
    let settings: Settings = serde_path_to_error::deserialize(Value::Object(all)).map_err(|error| {
        let path = error.path().to_string();
        let field = if path == "." { "settings".to_owned() } else { format!("settings.{path}") };
        Error::field(&field, &error.into_inner().to_string())
    })?;
    settings.validate().map_err(|report| {
        Error::Validation(
            report
                .iter()
                .map(|(path, error)| FieldError {
                    field: format!("settings.{path}"),
                    message: error.message().to_string(),
                })
                .collect(),
        )
    })?;
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changes(json: Value) -> Map<String, Value> {
        json.as_object().unwrap().clone()
    }

    #[test]
    fn only_the_given_settings_change() {
        let settings = merged(&Settings::default(), changes(serde_json::json!({ "late_grace_minutes": 10 }))).unwrap();
        assert_eq!(settings.late_grace_minutes, 10);
        assert_eq!(settings.min_rest_minutes, Settings::default().min_rest_minutes);
    }

    #[test]
    fn a_wrong_setting_is_named() {
        let field = |json| match merged(&Settings::default(), changes(json)) {
            Err(Error::Validation(errors)) => errors[0].field.clone(),
            other => panic!("expected a validation error, got {other:?}"),
        };
        assert_eq!(field(serde_json::json!({ "late_grace_minutes": "ten" })), "settings.late_grace_minutes");
        assert_eq!(field(serde_json::json!({ "late_grace_minutes": 500 })), "settings.late_grace_minutes");
        assert!(field(serde_json::json!({ "colour": "red" })).starts_with("settings"));
    }
}
