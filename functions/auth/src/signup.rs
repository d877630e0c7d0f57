//! Sign-up in two steps: `POST /auth/signup` emails a link, `POST /auth/verify-email` follows it
//! and creates the organisation and its owner. Until then nothing exists and no email is claimed.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use garde::Validate;
use rota::auth::permissions::Permissions;
use rota::auth::{Role, one_time, password};
use rota::clock::{Now, iso_from_epoch};
use rota::error::Problem;
use rota::http::{ClientIp, ValidJson};
use rota::notify::{Envelope, Message};
use rota::store::billing::Subscription;
use rota::store::crm::Lead;
use rota::store::people::{Credential, EmailClaim, Person, PersonStatus};
use rota::store::signups::PendingSignup;
use rota::store::tenants::{NotCreated, Tenant, TenantStatus};
use rota::validate::not_blank;
use rota::{AppState, Error};
use serde::{Deserialize, Serialize};
use ulid::Ulid;
use utoipa::ToSchema;

use crate::limits::Attempt;
use crate::tokens::{TokenDelivery, TokenPair, issue, new_session, normalise_email};

/// How long a sign-up link works.
const SIGNUP_LINK_SECS: i64 = 24 * 3600;

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

/// The same answer whether or not the email already has an account.
#[derive(Debug, Serialize, ToSchema)]
pub struct SignupAccepted {
    /// The address the link went to, as it will be used (trimmed, lower case).
    pub email: String,
    /// How long the emailed link works, in seconds.
    pub link_expires_in: i64,
}

/// Starts a sign-up: emails a link that creates the organisation and its owner when followed.
///
/// The answer is the same 202 whether or not the email already has an account (that address
/// gets a "someone tried to sign up with your email" message instead), so it reveals nothing.
/// Nothing is created, and no address is claimed, until the link is followed
/// (`POST /auth/verify-email`); an unconfirmed sign-up expires after 24 hours.
#[utoipa::path(post, path = "/auth/signup", tag = "auth", request_body = SignupRequest,
    extensions(("x-rate-limit" = json!("3 per email and 10 per client address in an hour"))),
    responses((status = 202, description = "If the email can be used, a link to finish signing up has been sent to it", body = SignupAccepted)))]
pub async fn signup(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ValidJson(request): ValidJson<SignupRequest>,
) -> Result<(StatusCode, Json<SignupAccepted>), Error> {
    let now = Now::get();
    let email = normalise_email(&request.email);
    // Round trip 1: the attempt counted (before any work), and whether the email is taken.
    let attempt = Attempt::signup(&email, ip.as_deref());
    let (claim, counted) = tokio::try_join!(state.store.email_claim(&email), attempt.count(&state, now.epoch))?;
    if let Some(retry_after_secs) = counted.retry_after(now.epoch) {
        return Err(Error::RateLimited { retry_after_secs });
    }
    // Hashed either way, so a taken email answers no faster than a free one.
    let password_hash = password::hash(request.password).await?;
    let accepted = SignupAccepted { email: email.clone(), link_expires_in: SIGNUP_LINK_SECS };
    if claim.is_some() {
        state.outbox.send(&Envelope::new(None, None, &email, Message::SignupAttempt)).await?;
        return Ok((StatusCode::ACCEPTED, Json(accepted)));
    }
    let (token, token_hash) = one_time::generate();
    let organisation = request.organisation_name.trim().to_owned();
    let name = request.name.trim().to_owned();
    let expires_at = now.epoch + SIGNUP_LINK_SECS;
    let link_expires = iso_from_epoch(expires_at);
    // Until it is confirmed, a sign-up is a lead of the operator's CRM (one per address).
    let lead = state.store.signup_lead(&email, &name, &organisation, &link_expires, &now.iso);
    let pending = PendingSignup {
        token_hash,
        organisation_name: organisation.clone(),
        name: name.clone(),
        email: email.clone(),
        password_hash,
        created_at: now.iso.clone(),
        expires_at,
        lead_id: Some(Lead::signup_id(&email)),
    };
    // Round trip 2, in parallel: the pending sign-up and its lead; then the link.
    tokio::try_join!(state.store.put_pending_signup(&pending), lead)?;
    let verify = Message::SignupVerification { organisation, token, valid_hours: SIGNUP_LINK_SECS / 3600 };
    state.outbox.send(&Envelope::new(None, None, &email, verify)).await?;
    Ok((StatusCode::ACCEPTED, Json(accepted)))
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "token": "z1v9HkWm0t3Q8cJr6xYbN2pLdA5sFgE7uKoIiRe4TqU" }))]
pub struct VerifyEmailRequest {
    /// The `token` of the emailed link.
    #[garde(length(chars, min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub token: String,
    /// Where the refresh token goes (see `POST /auth/login`).
    #[garde(skip)]
    pub token_delivery: Option<TokenDelivery>,
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

/// Follows a sign-up link: creates the organisation and its owner, claims the email, and logs
/// the owner in. A link works once.
#[utoipa::path(post, path = "/auth/verify-email", tag = "auth", request_body = VerifyEmailRequest,
    responses(
        (status = 201, description = "Organisation and owner created; the owner is logged in", body = SignupResponse,
            links(("RevokeSession" = (operation_id = "revoke_session", parameters(("session_id" = "$response.body#/tokens/session_id")))))),
        (status = 404, description = "No sign-up waits for this token: the link is wrong, used or expired (sign up again)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The email has an account already (another sign-up was confirmed first): log in instead", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn verify_email(
    State(state): State<AppState>,
    headers: HeaderMap,
    ValidJson(request): ValidJson<VerifyEmailRequest>,
) -> Result<(StatusCode, HeaderMap, Json<SignupResponse>), Error> {
    let now = Now::get();
    let token_hash = one_time::hash(&request.token);
    // Round trip 1: the pending sign-up, and the plans (the organisation starts a trial of the
    // default one).
    let (signup, plans) = tokio::try_join!(state.store.pending_signup(&token_hash, now.epoch), state.store.plans())?;
    let signup = signup.ok_or(Error::NotFound)?;
    let (tenant_id, owner_id) = (Ulid::new(), Ulid::new());
    let trial = plans
        .iter()
        .find(|plan| plan.default && !plan.retired)
        .map(|plan| Subscription::start(plan, chrono::Utc::now()));
    let tenant = Tenant {
        people_count: 1,
        subscription: trial,
        ..Tenant::new(tenant_id.to_string(), signup.organisation_name.clone(), &now.iso)
    };
    let owner = Person {
        status: PersonStatus::Active,
        joined_at: Some(now.iso.clone()),
        ..Person::invited(
            owner_id.to_string(),
            tenant.id.clone(),
            signup.email.clone(),
            signup.name.clone(),
            Role::Owner,
            &now.iso,
        )
    };
    let claim = EmailClaim::of(&owner);
    let credential = Credential::new(&claim, signup.password_hash.clone());
    let (session, refresh) = new_session(tenant_id, owner_id, owner.role, &headers, &now);
    // Round trip 2: everything, the pending sign-up consumed and its lead converted, in one
    // transaction.
    match state.store.create_tenant_with_owner(&tenant, &owner, &claim, &credential, &session, &signup).await? {
        Ok(()) => {}
        Err(NotCreated::SignupUsed) => return Err(Error::NotFound),
        Err(NotCreated::EmailTaken) => {
            return Err(Error::Conflict("this email has an account already: log in instead"));
        }
    }
    let delivery = TokenDelivery::choose(request.token_delivery, &state, &headers, false);
    let (cookie, tokens) =
        issue(&state, &session, &refresh, &now, delivery, (tenant.settings.require_admin_mfa, Permissions::none()))?;
    let tenant = TenantSummary { id: tenant.id, name: tenant.name, status: tenant.status };
    Ok((StatusCode::CREATED, cookie, Json(SignupResponse { tenant, me: owner, tokens })))
}
