//! `POST /auth/signup`: a new organisation and its owner.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use garde::Validate;
use rota::auth::{Role, password};
use rota::clock::Now;
use rota::error::Problem;
use rota::http::ValidJson;
use rota::store::people::{Credential, Person, PersonStatus};
use rota::store::tenants::{Tenant, TenantStatus};
use rota::validate::not_blank;
use rota::{AppState, Error};
use serde::{Deserialize, Serialize};
use ulid::Ulid;
use utoipa::ToSchema;

use crate::tokens::{TokenDelivery, TokenPair, issue, new_session, normalise_email};

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "organisation_name": "Harbour Events", "name": "Olive Owner",
    "email": "olive@harbour.example", "password": "correct horse battery staple",
}))]
pub struct SignupRequest {
    #[garde(length(chars, min = 1, max = 200), custom(not_blank))]
    #[schema(min_length = 1, max_length = 200, pattern = r"[^\s\x00-\x1f\x7f-\x9f]")]
    pub organisation_name: String,
    /// The owner's name.
    #[garde(length(chars, min = 1, max = 100), custom(not_blank))]
    #[schema(min_length = 1, max_length = 100, pattern = r"[^\s\x00-\x1f\x7f-\x9f]")]
    pub name: String,
    /// Unique across the platform; compared case-insensitively.
    #[garde(email, length(chars, max = 254))]
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    #[garde(length(chars, min = 12, max = 128))]
    #[schema(min_length = 12, max_length = 128)]
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TenantSummary {
    pub id: String,
    pub name: String,
    pub status: TenantStatus,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SignupResponse {
    pub tenant: TenantSummary,
    pub me: Person,
    pub tokens: TokenPair,
}

/// Creates an organisation and its owner, and logs the owner in.
#[utoipa::path(post, path = "/auth/signup", tag = "auth", request_body = SignupRequest,
    responses(
        (status = 201, description = "Organisation and owner created; the owner is logged in", body = SignupResponse,
            links(("RevokeSession" = (operation_id = "revoke_session", parameters(("session_id" = "$response.body#/tokens/session_id")))))),
        (status = 409, description = "The email is already registered", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn signup(
    State(state): State<AppState>,
    headers: HeaderMap,
    ValidJson(request): ValidJson<SignupRequest>,
) -> Result<(StatusCode, HeaderMap, Json<SignupResponse>), Error> {
    let now = Now::get();
    let tenant_id = Ulid::new();
    let email = normalise_email(&request.email);
    let tenant = Tenant {
        id: tenant_id.to_string(),
        name: request.organisation_name.trim().to_owned(),
        status: TenantStatus::Active,
        created_at: now.iso.clone(),
    };
    let owner_id = Ulid::new();
    let owner = Person {
        id: owner_id.to_string(),
        tenant_id: tenant.id.clone(),
        email: email.clone(),
        name: request.name.trim().to_owned(),
        phone: None,
        role: Role::Owner,
        status: PersonStatus::Active,
        version: 1,
        created_at: now.iso.clone(),
        updated_at: now.iso.clone(),
    };
    let credential = Credential {
        email,
        tenant_id: tenant.id.clone(),
        person_id: owner.id.clone(),
        role: owner.role,
        status: owner.status,
        password_hash: password::hash(request.password).await?,
    };
    let (session, refresh) = new_session(tenant_id, owner_id, owner.role, &headers, &now);
    state.store.create_tenant_with_owner(&tenant, &owner, &credential, &session).await?;
    let delivery = TokenDelivery::choose(None, &state, &headers, false);
    let (cookie, tokens) = issue(&state, &session, &refresh, &now, delivery)?;
    let tenant = TenantSummary { id: tenant.id, name: tenant.name, status: tenant.status };
    Ok((StatusCode::CREATED, cookie, Json(SignupResponse { tenant, me: owner, tokens })))
}
