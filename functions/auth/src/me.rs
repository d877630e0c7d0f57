//! `GET /me` and `PATCH /me`: the caller's own profile.

use axum::Json;
use axum::extract::State;
use garde::Validate;
use rota::auth::{Caller, Permission};
use rota::clock::Now;
use rota::domain::quiet::QuietHours;
use rota::error::Problem;
use rota::http::ValidJson;
use rota::notify::{ChannelKind, Kind};
use rota::store::audit::AuditEntry;
use rota::store::entities::Entity;
use rota::store::people::Person;
use rota::validate::{international_phone, not_blank};
use rota::{AppState, Error};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The caller's profile, and what they may do.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    #[serde(flatten)]
    pub person: Person,
    /// The permissions this session holds (its role's set, `GET /permission-sets`): a frontend
    /// shows only what the person may do.
    pub permissions: Vec<Permission>,
}

impl Me {
    fn of(person: Person, caller: &Caller) -> Json<Self> {
        Json(Self { person, permissions: caller.permissions().list() })
    }
}

#[utoipa::path(get, path = "/me", tag = "me", security(("bearer" = [])),
    responses((status = 200, description = "The caller's profile and permissions", body = Me)))]
pub async fn get_me(State(state): State<AppState>, caller: Caller) -> Result<Json<Me>, Error> {
    let person = state.store.entity::<Person>(&caller.tenant_id, &caller.person_id).await?.ok_or(Error::NotFound)?;
    Ok(Me::of(person, &caller))
}

/// Own contact details; omitted fields stay as they are.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "name": "Olive Owner", "phone": "+44 7911 123456" }))]
pub struct UpdateMe {
    #[garde(length(chars, min = 1, max = 100), custom(not_blank))]
    #[schema(min_length = 1, max_length = 100, pattern = r"[^\s\x00-\x1f\x7f-\x9f]")]
    pub name: Option<String>,
    /// In international form (`+44 7911 123456`; spaces, dots, dashes and brackets allowed), a valid
    /// number of its country; kept as E.164 (`+447911123456`), which SMS and WhatsApp need.
    #[garde(custom(international_phone))]
    #[schema(max_length = 32, pattern = r"^ *(?:\+|00)[ ().-]*[1-9](?:[ ().-]*[0-9]){7,14}[ ().-]*$")]
    pub phone: Option<String>,
    /// Kinds of notification not to receive (account mail — sign-up, password reset — always
    /// arrives). Replaces the list.
    #[garde(length(max = 20))]
    #[schema(max_items = 20)]
    pub notification_opt_outs: Option<Vec<Kind>>,
    /// How to reach you, in order (`whatsapp`, `sms`, `email`); email comes after the ones listed
    /// anyway. SMS and WhatsApp need a `phone`. Replaces the list.
    #[garde(length(max = 3), custom(distinct))]
    #[schema(schema_with = channels_schema)]
    pub channels: Option<Vec<ChannelKind>>,
    /// Hours when only urgent messages reach you (`{"start": "22:00", "end": "07:00"}`, in your
    /// organisation's time zone or `time_zone`); the rest wait until they end. `null` removes them.
    #[garde(dive)]
    #[serde(default, deserialize_with = "rota::validate::nullable")]
    #[schema(value_type = Option<QuietHours>)]
    pub quiet_hours: Option<Option<QuietHours>>,
    /// The `version` last read; when given, a stale write answers 409.
    #[garde(range(max = rota::validate::MAX_VERSION))]
    pub version: Option<u64>,
}

/// Up to three channels, each once.
fn channels_schema() -> utoipa::openapi::Array {
    use utoipa::openapi::{ArrayBuilder, Ref};
    ArrayBuilder::new().items(Ref::from_schema_name("ChannelKind")).max_items(Some(3)).unique_items(true).build()
}

/// Each channel once.
fn distinct(channels: &Option<Vec<ChannelKind>>, _: &()) -> garde::Result {
    let channels = channels.as_deref().unwrap_or_default();
    let unique: std::collections::HashSet<_> = channels.iter().collect();
    if unique.len() == channels.len() { Ok(()) } else { Err(garde::Error::new("each channel at most once")) }
}

#[utoipa::path(patch, path = "/me", tag = "me", security(("bearer" = [])), request_body = UpdateMe,
    responses(
        (status = 200, description = "The updated profile, and the caller's permissions", body = Me),
        (status = 409, description = "`version` is stale", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_me(
    State(state): State<AppState>,
    caller: Caller,
    ValidJson(update): ValidJson<UpdateMe>,
) -> Result<Json<Me>, Error> {
    if update.name.is_none()
        && update.phone.is_none()
        && update.notification_opt_outs.is_none()
        && update.channels.is_none()
        && update.quiet_hours.is_none()
    {
        // Nothing to change: answer the profile as it is, like a form saved untouched.
        return get_me(State(state), caller).await;
    }
    // Round trip 1: the profile as it is.
    let before = state.store.entity::<Person>(&caller.tenant_id, &caller.person_id).await?.ok_or(Error::NotFound)?;
    if update.version.is_some_and(|version| version != before.version) {
        return Err(Error::Conflict(Person::STALE));
    }
    let now = Now::get();
    let mut after = before.clone();
    if let Some(name) = update.name {
        after.name = name.trim().to_owned();
    }
    after.phone = update.phone.map(|phone| rota::phone::stored(&phone)).or(after.phone);
    after.notification_opt_outs = update.notification_opt_outs.unwrap_or(after.notification_opt_outs);
    after.channels = update.channels.unwrap_or(after.channels);
    after.quiet_hours = update.quiet_hours.unwrap_or(after.quiet_hours);
    after.touch(&now.iso);
    let audit = AuditEntry::new(
        &caller.actor(),
        "person.updated_own_profile",
        ("person", &after.id),
        Some(&before),
        Some(&after),
        &now.iso,
    );
    // Round trip 2: the change and its audit entry, if nobody changed the profile meanwhile.
    state
        .store
        .update(&after, before.version, &audit, Vec::new())
        .await?
        .map_err(|_| Error::Conflict(Person::STALE))?;
    Ok(Me::of(after, &caller))
}
