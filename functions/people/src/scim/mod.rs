//! SCIM 2.0 provisioning (RFC 7643/7644): the organisation's identity provider (Okta, Entra ID)
//! creates, updates and deactivates its people. The owner makes the SCIM token
//! (`POST /tenant/scim/token`: shown once, stored as its SHA-256, replaced by the next); the
//! provider sends it as a bearer token to `/scim/v2/…`.
//!
//! A provisioned person is active at once, with no password: they sign in through the
//! organisation's single sign-on (or a code by phone). Deactivation (`active: false`, or `DELETE`)
//! ends every session they have, as an admin's does. Rota keeps people with their history:
//! `DELETE` deactivates, and the user stays listed with `active: false`, so a provider that
//! assigns them again finds them by `userName` and sets them active.
//!
//! Every endpoint reads the organisation's token hash in the same round trip as its own data
//! (the token names its organisation), and answers nothing before the token matched.

mod model;

use axum::Json;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use garde::Validate;
use rota::auth::one_time;
use rota::auth::{Caller, Permission, Role};
use rota::clock::Now;
use rota::error::ScimError;
use rota::http::scim::Scim;
use rota::http::{ClientIp, RequestId, ValidJson, ValidQuery, bearer_token};
use rota::records::committed;
use rota::store::audit::{Actor, AuditEntry};
use rota::store::billing::people_limit_reached;
use rota::store::entities::Refused;
use rota::store::people::{EmailClaim, Person, PersonStatus};
use rota::store::scim::{ScimToken, TOKEN_PREFIX};
use rota::store::tenants::TenantGate;
use rota::{AppState, Error};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use self::model::{LIST_SCHEMA, PatchRequest, Profile, ScimUser, UserRequest, user_name_filter};
use crate::people::{access_changes, changed};

/// The organisation's SCIM set-up, as its admins see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScimSettings {
    /// Whether a token exists (provisioning is on).
    pub enabled: bool,
    pub token_created_at: Option<String>,
    /// The SCIM base URL's path, after the API's address (`https://api.example.com/scim/v2`).
    #[schema(example = "/scim/v2")]
    pub base_path: &'static str,
}

/// A new SCIM token: shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct NewScimToken {
    /// Paste it into the identity provider's provisioning settings as the secret (bearer) token.
    pub token: String,
    pub created_at: String,
    #[schema(example = "/scim/v2")]
    pub base_path: &'static str,
}

const BASE_PATH: &str = "/scim/v2";

/// The organisation's SCIM provisioning (owners and admins).
#[utoipa::path(get, path = "/tenant/scim", tag = "scim", security(("bearer" = ["integrations.read"])),
    responses((status = 200, description = "Whether provisioning is on, and since when its token exists", body = ScimSettings)))]
pub async fn get_scim(State(state): State<AppState>, caller: Caller) -> Result<Json<ScimSettings>, Error> {
    caller.require(Permission::IntegrationsRead)?;
    // Round trip 1: the organisation's gate, which holds the token's hash.
    let gate = state.store.tenant_gate(&caller.tenant_id).await?.ok_or(Error::NotFound)?;
    let token_created_at = gate.scim_token.map(|token| token.created_at);
    Ok(Json(ScimSettings { enabled: token_created_at.is_some(), token_created_at, base_path: BASE_PATH }))
}

/// Makes the organisation's SCIM token (owners); one made before stops working at once. Shown
/// once: store it in the identity provider.
#[utoipa::path(post, path = "/tenant/scim/token", tag = "scim", security(("bearer" = ["integrations.manage"])),
    responses((status = 201, description = "The new token, shown this once", body = NewScimToken)))]
pub async fn create_scim_token(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<(StatusCode, Json<NewScimToken>), Error> {
    caller.require(Permission::IntegrationsManage)?;
    let now = Now::get();
    let (secret, _) = one_time::generate();
    let token = format!("{TOKEN_PREFIX}{}_{secret}", caller.tenant_id);
    let stored = ScimToken { hash: one_time::hash(&token), created_at: now.iso.clone() };
    let audit = token_audit(&caller, "scim.token_created", &now.iso);
    // Round trip 1: the token's hash on the organisation, with the audit entry.
    state.store.set_scim_token(&caller.tenant_id, Some(&stored), &audit).await?;
    Ok((StatusCode::CREATED, Json(NewScimToken { token, created_at: now.iso, base_path: BASE_PATH })))
}

/// Ends provisioning (owners): the token stops working; the people it provisioned stay.
#[utoipa::path(delete, path = "/tenant/scim/token", tag = "scim", security(("bearer" = ["integrations.manage"])),
    responses((status = 204, description = "No SCIM token any more (or there was none)")))]
pub async fn delete_scim_token(State(state): State<AppState>, caller: Caller) -> Result<StatusCode, Error> {
    caller.require(Permission::IntegrationsManage)?;
    let now = Now::get();
    let audit = token_audit(&caller, "scim.token_removed", &now.iso);
    // Round trip 1: the hash removed, with the audit entry.
    state.store.set_scim_token(&caller.tenant_id, None, &audit).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn token_audit(caller: &Caller, action: &str, now: &str) -> AuditEntry {
    AuditEntry::new(&caller.actor(), action, ("tenant", &caller.tenant_id), None::<&()>, None::<&()>, now)
}

/// The identity provider behind a SCIM request: the organisation its token names and the token's
/// hash, to be compared with the organisation's ([`ScimClient::check`]) before anything is
/// answered.
pub struct ScimClient {
    tenant_id: String,
    token_hash: String,
    actor: Actor,
}

const NOT_VALID: Error =
    Error::Unauthorized("the SCIM token is not valid: the owner makes one with POST /tenant/scim/token");

impl FromRequestParts<AppState> for ScimClient {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let token = bearer_token(&parts.headers)
            .ok_or(Error::Unauthorized("the organisation's SCIM token is required, as a Bearer token"))?;
        let tenant_id = token.strip_prefix(TOKEN_PREFIX).and_then(|rest| rest.split_once('_')).map(|(id, _)| id);
        let tenant_id = tenant_id.filter(|id| id.parse::<ulid::Ulid>().is_ok()).ok_or(NOT_VALID)?.to_owned();
        let token_hash = one_time::hash(token);
        let Ok(RequestId(request_id)) = RequestId::from_request_parts(parts, state).await;
        let Ok(ClientIp(ip)) = ClientIp::from_request_parts(parts, state).await;
        let actor = Actor::identity_provider(&tenant_id, &request_id, ip);
        Ok(Self { token_hash, tenant_id, actor })
    }
}

impl ScimClient {
    /// The token is the organisation's current one, and the organisation is active.
    fn check(&self, gate: Option<TenantGate>) -> Result<(), Error> {
        let gate = gate.ok_or(NOT_VALID)?;
        let stored = gate.scim_token.as_ref().ok_or(NOT_VALID)?;
        if !one_time::same_hash(&stored.hash, &self.token_hash) {
            return Err(NOT_VALID);
        }
        if !gate.is_active() {
            return Err(Error::TenantSuspended);
        }
        Ok(())
    }
}

/// What Rota's SCIM service does (RFC 7643 §5): users with PATCH and the `userName` filter; no
/// groups, bulk, sorting or entity tags.
#[utoipa::path(get, path = "/scim/v2/ServiceProviderConfig", tag = "scim", security(("scim" = [])),
    responses(
        (status = 200, description = "The service's features", body = Object, content_type = "application/scim+json"),
    ))]
pub async fn service_provider_config(State(state): State<AppState>, client: ScimClient) -> Result<Scim<Value>, Error> {
    // Round trip 1: the organisation's token.
    client.check(state.store.tenant_gate(&client.tenant_id).await?)?;
    let unsupported = json!({ "supported": false });
    Ok(Scim(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "patch": { "supported": true },
        "bulk": { "supported": false, "maxOperations": 0, "maxPayloadSize": 0 },
        "filter": { "supported": true, "maxResults": MAX_COUNT },
        "changePassword": unsupported,
        "sort": unsupported,
        "etag": unsupported,
        "authenticationSchemes": [{
            "type": "oauthbearertoken", "name": "Bearer token", "primary": true,
            "description": "The organisation's SCIM token, made by its owner with POST /tenant/scim/token",
        }],
        "meta": { "resourceType": "ServiceProviderConfig", "location": "/scim/v2/ServiceProviderConfig" },
    })))
}

/// The most users one page holds.
const MAX_COUNT: usize = 100;

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct UsersQuery {
    /// Only `userName eq "…"` (what providers send before creating someone).
    #[garde(length(chars, max = 300))]
    #[param(max_length = 300)]
    pub filter: Option<String>,
    /// 1-based; below 1 counts as 1.
    #[garde(range(min = -1_000_000_000, max = 1_000_000_000))]
    #[param(minimum = -1_000_000_000, maximum = 1_000_000_000)]
    pub start_index: Option<i64>,
    /// At most 100 (the default); below 0 counts as 0.
    #[garde(range(min = -1_000_000_000, max = 1_000_000_000))]
    #[param(minimum = -1_000_000_000, maximum = 1_000_000_000)]
    pub count: Option<i64>,
    /// Accepted and ignored: every attribute is returned.
    #[garde(length(max = 1000))]
    #[param(max_length = 1000)]
    pub attributes: Option<String>,
    #[garde(length(max = 1000))]
    #[param(max_length = 1000)]
    pub excluded_attributes: Option<String>,
}

/// A page of users (RFC 7644 §3.4.2).
#[derive(Debug, Serialize, ToSchema)]
pub struct ScimUsers {
    #[schema(example = json!([LIST_SCHEMA]))]
    pub schemas: Vec<String>,
    #[serde(rename = "totalResults")]
    pub total_results: usize,
    #[serde(rename = "startIndex")]
    pub start_index: usize,
    #[serde(rename = "itemsPerPage")]
    pub items_per_page: usize,
    #[serde(rename = "Resources")]
    pub resources: Vec<ScimUser>,
}

/// The organisation's people as SCIM users, oldest first: the one a `userName eq` filter names,
/// or a page of all of them.
#[utoipa::path(get, path = "/scim/v2/Users", tag = "scim", security(("scim" = [])), params(UsersQuery),
    responses(
        (status = 200, description = "A page of users", body = ScimUsers, content_type = "application/scim+json"),
        (status = 400, description = "An unsupported filter (`invalidFilter`) or a bad parameter (`invalidValue`)", body = ScimError, content_type = "application/scim+json"),
    ))]
pub async fn list_users(
    State(state): State<AppState>,
    client: ScimClient,
    ValidQuery(query): ValidQuery<UsersQuery>,
) -> Result<Scim<ScimUsers>, Error> {
    let start = query.start_index.unwrap_or(1).max(1) as usize;
    let count = query.count.map_or(MAX_COUNT, |count| count.clamp(0, MAX_COUNT as i64) as usize);
    let people = match query.filter.as_deref().map(user_name_filter).transpose()? {
        Some(user_name) => {
            // Round trip 1: the organisation's token, and whom the name names.
            let (gate, named) = tokio::try_join!(
                state.store.tenant_gate(&client.tenant_id),
                state.store.scim_user_name(&client.tenant_id, &user_name),
            )?;
            client.check(gate)?;
            // Round trip 2: that person.
            match named.person_id(&client.tenant_id) {
                Some(person_id) => {
                    state.store.entity::<Person>(&client.tenant_id, &person_id).await?.into_iter().collect()
                }
                None => Vec::new(),
            }
        }
        None => {
            // Round trip 1: the organisation's token, and its people (one round trip while they
            // come to under 1 MB, about a thousand people; a provider's full import is rare).
            let (gate, people) = tokio::try_join!(
                state.store.tenant_gate(&client.tenant_id),
                state.store.all::<Person>(&client.tenant_id),
            )?;
            client.check(gate)?;
            people
        }
    };
    let resources: Vec<ScimUser> = people.iter().skip(start - 1).take(count).map(ScimUser::of).collect();
    Ok(Scim(ScimUsers {
        schemas: vec![LIST_SCHEMA.to_owned()],
        total_results: people.len(),
        start_index: start,
        items_per_page: resources.len(),
        resources,
    }))
}

/// Adds a person the identity provider provisions: active at once (staff), signing in through
/// the organisation's single sign-on; audited as `person.provisioned`.
#[utoipa::path(post, path = "/scim/v2/Users", tag = "scim", security(("scim" = [])), request_body(content = UserRequest, content_type = "application/scim+json"),
    responses(
        (status = 201, description = "The user", body = ScimUser, content_type = "application/scim+json"),
        (status = 409, description = "The `userName` or the address is someone's already (`uniqueness`), or the plan allows no more people", body = ScimError, content_type = "application/scim+json"),
    ))]
pub async fn create_user(
    State(state): State<AppState>,
    client: ScimClient,
    ValidJson(request): ValidJson<UserRequest>,
) -> Result<(StatusCode, Scim<ScimUser>), Error> {
    let profile = Profile::from_request(request)?;
    let now = Now::get();
    // Round trip 1: the organisation's token.
    client.check(state.store.tenant_gate(&client.tenant_id).await?)?;
    let mut person = Person::invited(
        ulid::Ulid::new().to_string(),
        client.tenant_id.clone(),
        profile.email,
        profile.name,
        Role::Staff,
        &now.iso,
    );
    person.status = if profile.active { PersonStatus::Active } else { PersonStatus::Inactive };
    person.joined_at = Some(now.iso.clone());
    person.phone = profile.phone;
    let claim = EmailClaim::of(&person);
    let mut more = vec![
        state.store.claim_put(&claim)?,
        state.store.invitation_absent(&person.tenant_id, &person.email)?,
        state.store.scim_user_name_put(&person.tenant_id, &profile.link.user_name, &person.id)?,
    ];
    if profile.active {
        more.push(state.store.person_joined(&person.tenant_id)?);
    }
    person.scim = Some(profile.link);
    let audit = AuditEntry::new(
        &client.actor,
        "person.provisioned",
        ("person", &person.id),
        None::<&Person>,
        Some(&person),
        &now.iso,
    );
    // Round trip 2: the person, their address claimed, no invitation waiting for it, their
    // `userName`, the head count and the audit entry, in one transaction.
    // Positions: 0 the person, 1 the audit entry, then `more` in order.
    match state.store.create(&person, &audit, more).await? {
        Ok(()) => {}
        Err(Refused(failed)) if failed.contains(&2) => return Err(Error::Conflict(ADDRESS_TAKEN)),
        Err(Refused(failed)) if failed.contains(&3) => return Err(Error::Conflict(INVITED)),
        Err(Refused(failed)) if failed.contains(&4) => return Err(Error::Conflict(USER_NAME_TAKEN)),
        Err(Refused(failed)) if failed.contains(&5) => return Err(people_limit_reached()),
        Err(refused) => committed(Err(refused))?,
    }
    Ok((StatusCode::CREATED, Scim(ScimUser::of(&person))))
}

const ADDRESS_TAKEN: &str =
    "the address has an account already: in this organisation (find it with filter=userName eq \"address\") or another";
const INVITED: &str = "an invitation waits for this address: find the person with filter=userName eq \"address\"";
const USER_NAME_TAKEN: &str = "this userName is another person's in the organisation";

/// One user.
#[utoipa::path(get, path = "/scim/v2/Users/{user_id}", tag = "scim", security(("scim" = [])),
    params(("user_id" = String, Path, description = "The person's id in Rota")),
    responses(
        (status = 200, description = "The user", body = ScimUser, content_type = "application/scim+json"),
        (status = 404, description = "No such user in this organisation", body = ScimError, content_type = "application/scim+json"),
    ))]
pub async fn get_user(
    State(state): State<AppState>,
    client: ScimClient,
    Path(user_id): Path<String>,
) -> Result<Scim<ScimUser>, Error> {
    let person = checked_person(&state, &client, &user_id).await?;
    Ok(Scim(ScimUser::of(&person)))
}

/// Replaces a user's attributes (name, phone, `userName`, `externalId`, `active`). The address
/// cannot change.
#[utoipa::path(put, path = "/scim/v2/Users/{user_id}", tag = "scim", security(("scim" = [])),
    params(("user_id" = String, Path, description = "The person's id in Rota")),
    request_body(content = UserRequest, content_type = "application/scim+json"),
    responses(
        (status = 200, description = "The user", body = ScimUser, content_type = "application/scim+json"),
        (status = 403, description = "The organisation is suspended, or the user is an owner (whom only an owner deactivates, in Rota)", body = ScimError, content_type = "application/scim+json"),
        (status = 404, description = "No such user in this organisation", body = ScimError, content_type = "application/scim+json"),
        (status = 409, description = "The `userName` is another person's (`uniqueness`), or reactivating exceeds the plan", body = ScimError, content_type = "application/scim+json"),
    ))]
pub async fn replace_user(
    State(state): State<AppState>,
    client: ScimClient,
    Path(user_id): Path<String>,
    ValidJson(request): ValidJson<UserRequest>,
) -> Result<Scim<ScimUser>, Error> {
    let profile = Profile::from_request(request)?;
    let before = checked_person(&state, &client, &user_id).await?;
    Ok(Scim(ScimUser::of(&provisioned(&state, &client, before, profile).await?)))
}

/// Changes some of a user's attributes (RFC 7644 §3.5.2): `active: false` deactivates (ends every
/// session), `true` brings them back.
#[utoipa::path(patch, path = "/scim/v2/Users/{user_id}", tag = "scim", security(("scim" = [])),
    params(("user_id" = String, Path, description = "The person's id in Rota")),
    request_body(content = PatchRequest, content_type = "application/scim+json"),
    responses(
        (status = 200, description = "The user", body = ScimUser, content_type = "application/scim+json"),
        (status = 403, description = "The organisation is suspended, or the user is an owner (whom only an owner deactivates, in Rota)", body = ScimError, content_type = "application/scim+json"),
        (status = 404, description = "No such user in this organisation", body = ScimError, content_type = "application/scim+json"),
        (status = 409, description = "The `userName` is another person's (`uniqueness`), or reactivating exceeds the plan", body = ScimError, content_type = "application/scim+json"),
    ))]
pub async fn patch_user(
    State(state): State<AppState>,
    client: ScimClient,
    Path(user_id): Path<String>,
    ValidJson(patch): ValidJson<PatchRequest>,
) -> Result<Scim<ScimUser>, Error> {
    let before = checked_person(&state, &client, &user_id).await?;
    let profile = Profile::of(&before).patched(&patch.operations)?;
    Ok(Scim(ScimUser::of(&provisioned(&state, &client, before, profile).await?)))
}

/// Deactivates a user (Rota keeps their history): signed out everywhere at once; still listed,
/// with `active: false`.
#[utoipa::path(delete, path = "/scim/v2/Users/{user_id}", tag = "scim", security(("scim" = [])),
    params(("user_id" = String, Path, description = "The person's id in Rota")),
    responses(
        (status = 204, description = "Deactivated (or inactive already)"),
        (status = 403, description = "The organisation is suspended, or the user is an owner", body = ScimError, content_type = "application/scim+json"),
        (status = 404, description = "No such user in this organisation", body = ScimError, content_type = "application/scim+json"),
    ))]
pub async fn delete_user(
    State(state): State<AppState>,
    client: ScimClient,
    Path(user_id): Path<String>,
) -> Result<StatusCode, Error> {
    let before = checked_person(&state, &client, &user_id).await?;
    if before.status != PersonStatus::Inactive {
        let profile = Profile { active: false, ..Profile::of(&before) };
        provisioned(&state, &client, before, profile).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Round trip 1 of a user's endpoint: the organisation's token and the person, read together.
async fn checked_person(state: &AppState, client: &ScimClient, user_id: &str) -> Result<Person, Error> {
    let (gate, person) = tokio::try_join!(
        state.store.tenant_gate(&client.tenant_id),
        state.store.entity::<Person>(&client.tenant_id, user_id),
    )?;
    client.check(gate)?;
    person.ok_or(Error::NotFound)
}

/// Writes `profile` onto the person (round trip 2), as an admin's change is written: a
/// deactivation ends their sessions in the same transaction.
async fn provisioned(state: &AppState, client: &ScimClient, before: Person, profile: Profile) -> Result<Person, Error> {
    if profile.email != before.email {
        return Err(Error::field("emails", "a person's address is how they sign in to Rota: it cannot change"));
    }
    let mut after = before.clone();
    after.name = profile.name;
    after.phone = profile.phone;
    after.status = match (before.status, profile.active) {
        (PersonStatus::Inactive, true) if before.joined_at.is_none() => {
            return Err(Error::Conflict("this person's invitation was revoked before they joined; create them again"));
        }
        (PersonStatus::Inactive, true) => PersonStatus::Active,
        (_, false) => PersonStatus::Inactive,
        // An invited person stays invited: their invitation (or the provider's sign-in) lets them in.
        (status, true) => status,
    };
    if access_changes(&before, &after) && before.role == Role::Owner {
        return Err(Error::Forbidden("an owner is deactivated only by another owner, in Rota"));
    }
    let old_name = before.scim.as_ref().map(|link| link.user_name.to_lowercase());
    let mut more = Vec::new();
    if old_name.as_deref() != Some(profile.link.user_name.to_lowercase().as_str()) {
        more.push(state.store.scim_user_name_put(&after.tenant_id, &profile.link.user_name, &after.id)?);
        if let Some(old_name) = &old_name {
            more.push(state.store.scim_user_name_release(&after.tenant_id, old_name)?);
        }
    }
    after.scim = Some(profile.link);
    let deactivated = after.status == PersonStatus::Inactive && before.status != PersonStatus::Inactive;
    let action = if deactivated { "person.deactivated" } else { "person.updated" };
    changed(state, &client.actor, (before, after), action, (more, USER_NAME_TAKEN)).await
}
