//! Two-factor authentication (TOTP, RFC 6238) with recovery codes: turning it on (`setup`, then
//! `enable` with a first code), turning it off, and a login's second step.
//!
//! Codes, wherever they are checked, count against one limit per person (5 in 15 minutes, taken
//! back when the request turns out to be no guess), and each is good once: a TOTP code only for
//! a time step later than the newest one accepted, a recovery code while it is unused, both
//! enforced by the conditional write that uses them up (see `rota::store::mfa`).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use garde::Validate;
use rota::auth::mfa::{self, MfaToken};
use rota::auth::{Caller, totp};
use rota::clock::Now;
use rota::error::Problem;
use rota::http::ValidJson;
use rota::store::mfa::{Enable, Enrolment, Factor, NotCompleted, NotEnabled};
use rota::store::people::PersonStatus;
use rota::validate::totp_code;
use rota::{AppState, Error};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::limits::Attempt;
use crate::tokens::{TokenDelivery, TokenPair, issue, new_session};

const ALREADY_ON: Error = Error::Conflict("two-factor authentication is on already; turn it off first to start over");
const NOT_ON: Error = Error::Conflict("two-factor authentication is not on");
const NO_SETUP: Error = Error::Conflict("no setup waits for a code: start with POST /auth/2fa/setup");
const WRONG_CODE: Error = Error::Unauthorized("the code is wrong, or was used already");
const BAD_LOGIN: Error = Error::Unauthorized("the login token is invalid, expired or used already: log in again");

/// A new secret for the authenticator app.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "secret": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
    "otpauth_uri": "otpauth://totp/Rota:olive%40harbour.example?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Rota",
}))]
pub struct TotpSetup {
    /// The shared secret, base32, for typing into the app.
    pub secret: String,
    /// The same as an `otpauth://` URI (issuer `Rota`, the person's email as the account; SHA1,
    /// 6 digits, 30 s): show it as a QR code.
    pub otpauth_uri: String,
}

/// Starts turning on two-factor authentication: a new TOTP secret for the authenticator app.
///
/// The secret is kept until `POST /auth/2fa/enable` confirms it with a code; setting up again
/// replaces a secret not yet confirmed.
#[utoipa::path(post, path = "/auth/2fa/setup", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 200, description = "The new secret, waiting for its first code", body = TotpSetup),
        (status = 409, description = "Two-factor authentication is on already", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn setup_2fa(State(state): State<AppState>, caller: Caller) -> Result<Json<TotpSetup>, Error> {
    let now = Now::get();
    // Round trip 1: the person (their email names the account in the app) and their enrolment;
    // and the TOTP key unwrapped if this is the first 2FA request of the cold start.
    let ((person, enrolment), ()) =
        tokio::try_join!(state.store.person_and_enrolment(&caller.tenant_id, &caller.person_id), state.totp.ready())?;
    let person = person.ok_or(Error::NotFound)?;
    if enrolment.is_some_and(|enrolment| enrolment.is_on()) {
        return Err(ALREADY_ON);
    }
    let secret = totp::generate_secret();
    let otpauth_uri = totp::otpauth_uri(&secret, &person.email)?;
    // Stored sealed: only the answer below shows the secret as it is.
    let sealed = state.totp.seal(&caller.tenant_id, &caller.person_id, &secret).await?;
    // Round trip 2: the secret kept as the pending one, unless 2FA went on meanwhile.
    if !state.store.set_pending_secret(&caller.tenant_id, &caller.person_id, &sealed, &now.iso).await? {
        return Err(ALREADY_ON);
    }
    Ok(Json(TotpSetup { secret, otpauth_uri }))
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "code": "123456" }))]
pub struct EnableRequest {
    /// The code the app shows for the secret from `POST /auth/2fa/setup`.
    #[garde(custom(totp_code))]
    #[schema(pattern = "^[0-9]{6}$")]
    pub code: String,
}

/// One-time codes for when the app is not at hand.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecoveryCodes {
    /// Ten codes, each good for one login (or for turning 2FA off) instead of a TOTP code. Shown
    /// only now: only their hashes are kept.
    pub recovery_codes: Vec<String>,
}

/// Turns two-factor authentication on with a first code, and answers ten recovery codes.
///
/// The code is one the app shows for the secret from `POST /auth/2fa/setup`. From now on a login
/// needs a code after the password. The session of this request counts as having passed 2FA:
/// refresh for an access token that says so (`mfa`).
#[utoipa::path(post, path = "/auth/2fa/enable", tag = "auth", security(("bearer" = [])), request_body = EnableRequest,
    extensions(("x-rate-limit" = json!("5 codes per person in 15 minutes, wherever they are sent"))),
    responses(
        (status = 200, description = "Two-factor authentication is on", body = RecoveryCodes),
        (status = 401, description = "The code is wrong or was used already, or this session has ended", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Two-factor authentication is on already, or no setup waits for a code", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn enable_2fa(
    State(state): State<AppState>,
    caller: Caller,
    ValidJson(request): ValidJson<EnableRequest>,
) -> Result<Json<RecoveryCodes>, Error> {
    let now = Now::get();
    let attempt = Attempt::mfa(&caller.tenant_id, &caller.person_id);
    // Round trip 1: the person, their enrolment, and this attempt counted (before the code is
    // checked); the TOTP key unwrapped alongside if need be.
    let ((person, enrolment), counted, ()) = tokio::try_join!(
        state.store.person_and_enrolment(&caller.tenant_id, &caller.person_id),
        attempt.count(&state, now.epoch),
        state.totp.ready(),
    )?;
    let enrolment = enrolment.unwrap_or_default();
    let waiting = person.zip(enrolment.pending_secret.as_deref()).filter(|_| !enrolment.is_on());
    let Some((person, pending)) = waiting else {
        let error = if enrolment.is_on() { ALREADY_ON } else { NO_SETUP };
        return Err(counted.refuse(&state, error).await);
    };
    if let Some(retry_after_secs) = counted.retry_after(now.epoch) {
        return Err(Error::RateLimited { retry_after_secs });
    }
    let secret = state.totp.open(&caller.tenant_id, &caller.person_id, pending).await?;
    let step = totp::verify(&secret, &request.code, now.epoch)?.ok_or(WRONG_CODE)?;
    let (codes, hashes) = mfa::generate_recovery_codes();
    let enable = Enable {
        tenant_id: &caller.tenant_id,
        person_id: &caller.person_id,
        email: &person.email,
        session_id: &caller.session_id,
        secret: pending,
        step,
        recovery_hashes: &hashes,
        now: &now.iso,
    };
    // Round trip 2: 2FA on (enrolment, credential and this session in one transaction), and the
    // attempt taken back.
    let (enabled, ()) = tokio::try_join!(state.store.enable_mfa(enable), counted.undo(&state))?;
    match enabled {
        Ok(()) => Ok(Json(RecoveryCodes { recovery_codes: codes })),
        Err(NotEnabled::Changed) => {
            Err(Error::Conflict("two-factor authentication changed meanwhile; set it up again"))
        }
        Err(NotEnabled::SessionEnded) => Err(Error::Unauthorized("this session has ended; log in again")),
    }
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "code": "123456" }))]
pub struct CodeRequest {
    /// A code the app shows, or one of the recovery codes.
    #[garde(length(chars, min = 6, max = 32))]
    #[schema(min_length = 6, max_length = 32)]
    pub code: String,
}

/// Turns two-factor authentication off, with a code from the app or a recovery code.
///
/// The secret and the recovery codes are forgotten; sessions that passed 2FA no longer count as
/// having passed it from their next refresh.
#[utoipa::path(post, path = "/auth/2fa/disable", tag = "auth", security(("bearer" = [])), request_body = CodeRequest,
    extensions(("x-rate-limit" = json!("5 codes per person in 15 minutes, wherever they are sent"))),
    responses(
        (status = 204, description = "Two-factor authentication is off"),
        (status = 401, description = "The code is wrong or was used already", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Two-factor authentication is not on", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn disable_2fa(
    State(state): State<AppState>,
    caller: Caller,
    ValidJson(request): ValidJson<CodeRequest>,
) -> Result<StatusCode, Error> {
    let now = Now::get();
    let attempt = Attempt::mfa(&caller.tenant_id, &caller.person_id);
    // Round trip 1: the person, their enrolment, and this attempt counted (before the code is
    // checked); the TOTP key unwrapped alongside if need be.
    let ((person, enrolment), counted, ()) = tokio::try_join!(
        state.store.person_and_enrolment(&caller.tenant_id, &caller.person_id),
        attempt.count(&state, now.epoch),
        state.totp.ready(),
    )?;
    let (Some(person), Some(enrolment)) = (person, enrolment.filter(Enrolment::is_on)) else {
        return Err(counted.refuse(&state, NOT_ON).await);
    };
    if let Some(retry_after_secs) = counted.retry_after(now.epoch) {
        return Err(Error::RateLimited { retry_after_secs });
    }
    let (secret, factor) = factor(&state, &caller.tenant_id, &caller.person_id, &enrolment, &request.code, now.epoch)
        .await?
        .ok_or(WRONG_CODE)?;
    // Round trip 2: 2FA off, using the code up (enrolment and credential in one transaction), and
    // the attempt taken back.
    let (disabled, ()) = tokio::try_join!(
        state.store.disable_mfa(&caller.tenant_id, &caller.person_id, &person.email, secret, factor),
        counted.undo(&state),
    )?;
    if disabled { Ok(StatusCode::NO_CONTENT) } else { Err(WRONG_CODE) }
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "mfa_token": "AZNY7Yxh4TmJ3rKcZ6hT0AGTWO2MYeE5iferuFXnXC7u3gkoMQV4UK2HcEqnI5wcP1d_YtKsn5JxqCs7d9wm0g", "code": "123456" }))]
pub struct LoginMfaRequest {
    /// The `mfa_token` of the `POST /auth/login` answer.
    #[garde(length(chars, min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub mfa_token: String,
    /// A code the app shows, or one of the recovery codes.
    #[garde(length(chars, min = 6, max = 32))]
    #[schema(min_length = 6, max_length = 32)]
    pub code: String,
    /// Where the refresh token goes (see `POST /auth/login`).
    #[garde(skip)]
    pub token_delivery: Option<TokenDelivery>,
}

/// Finishes a login with a second factor and starts a device session.
///
/// For a person with two-factor authentication on: the login token from `POST /auth/login` and a
/// code from the app (or a recovery code) give a new device session, which counts as having
/// passed 2FA. A login token works once and for 5 minutes; a code once. Wrong codes count
/// against the person's limit; past 5 within 15 minutes the answer is 429 whatever the code.
#[utoipa::path(post, path = "/auth/login/mfa", tag = "auth", request_body = LoginMfaRequest,
    extensions(("x-rate-limit" = json!("5 codes per person in 15 minutes, wherever they are sent"))),
    responses(
        (status = 200, description = "Logged in", body = TokenPair,
            links(("RevokeSession" = (operation_id = "revoke_session", parameters(("session_id" = "$response.body#/session_id")))))),
        (status = 401, description = "The login token is invalid, expired or used, or the code is wrong or used", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The organisation is suspended (`tenant_suspended`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn login_mfa(
    State(state): State<AppState>,
    headers: HeaderMap,
    ValidJson(request): ValidJson<LoginMfaRequest>,
) -> Result<(HeaderMap, Json<TokenPair>), Error> {
    let now = Now::get();
    let token = MfaToken::parse(&request.mfa_token).ok_or(BAD_LOGIN)?;
    let (tenant_id, person_id, token_hash) = (token.tenant_id.to_string(), token.person_id.to_string(), token.hash());
    let attempt = Attempt::mfa(&tenant_id, &person_id);
    // Round trip 1: the waiting login, the enrolment, the person and the organisation; and this
    // attempt counted (before the code is checked).
    let (context, counted, ()) = tokio::try_join!(
        state.store.mfa_login_context(&tenant_id, &person_id, &token_hash),
        attempt.count(&state, now.epoch),
        state.totp.ready(),
    )?;
    if let Some(retry_after_secs) = counted.retry_after(now.epoch) {
        return Err(Error::RateLimited { retry_after_secs });
    }
    // A token the store does not know (forged from someone's ids, say) is no guess at their code:
    // it is taken back, so it cannot use up their limit.
    let login = context.login.filter(|login| login.is_live(now.epoch) && login.person_id == person_id);
    let person = context.person.filter(|person| person.status == PersonStatus::Active);
    let enrolment = context.enrolment.filter(Enrolment::is_on);
    let (Some(login), Some(person), Some(enrolment), Some(tenant)) = (login, person, enrolment, context.tenant) else {
        return Err(counted.refuse(&state, BAD_LOGIN).await);
    };
    if !tenant.is_active() {
        return Err(counted.refuse(&state, Error::TenantSuspended).await);
    }
    let (secret, factor) =
        factor(&state, &tenant_id, &person_id, &enrolment, &request.code, now.epoch).await?.ok_or(WRONG_CODE)?;
    let (mut session, refresh) = new_session(token.tenant_id, token.person_id, person.role, &headers, &now);
    session.mfa = true;
    session.permission_set_id = person.permission_set_id.clone();
    session.scope = person.scope.clone();
    // Round trip 2: the login token and the code used up, the session written and the
    // organisation checked, in one transaction; the person's permission set; and the attempt
    // taken back.
    let (completed, granted, ()) = tokio::try_join!(
        state.store.complete_mfa_login(&login, secret, factor, &session, now.epoch),
        state.store.granted(&session.tenant_id, session.permission_set_id.as_deref()),
        counted.undo(&state),
    )?;
    match completed {
        Ok(()) => {}
        Err(NotCompleted::Used) => return Err(WRONG_CODE),
        Err(NotCompleted::Suspended) => return Err(Error::TenantSuspended),
    }
    let delivery = TokenDelivery::choose(request.token_delivery, &state, &headers, false);
    let (cookie, tokens) = issue(&state, &session, &refresh, &now, delivery, (tenant.require_admin_mfa, granted))?;
    Ok((cookie, Json(tokens)))
}

/// The factor `code` is for this enrolment, with the secret it belongs to: a TOTP code (six
/// digits; spaces ignored) of a step later than the newest one accepted, or an unused recovery
/// code. `None` for anything else. Whether it is still unused when it is used up is the write's
/// condition; this only spares that write for codes that cannot be right.
/// The factor `code` is, if it is an unused one of this enrolment, with the sealed secret it is
/// checked under (the condition of the write that uses it up).
async fn factor<'a>(
    state: &AppState,
    tenant_id: &str,
    person_id: &str,
    enrolment: &'a Enrolment,
    code: &str,
    now: i64,
) -> Result<Option<(&'a str, Factor<'a>)>, Error> {
    let Some(sealed) = enrolment.secret.as_deref() else { return Ok(None) };
    let code: String = code.split_whitespace().collect();
    if totp::looks_like_code(&code) {
        let secret = state.totp.open(tenant_id, person_id, sealed).await?;
        let step = totp::verify(&secret, &code, now)?.filter(|step| *step > enrolment.last_step);
        return Ok(step.map(|step| (sealed, Factor::Step(step))));
    }
    let hash = mfa::recovery_hash(&code);
    Ok(enrolment.recovery.iter().find(|stored| **stored == hash).map(|stored| (sealed, Factor::Recovery(stored))))
}
