//! `POST /auth/forgot-password` and `POST /auth/reset-password`: a new password through an
//! emailed link.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use garde::Validate;
use rota::auth::password;
use rota::clock::Now;
use rota::error::Problem;
use rota::http::{ClientIp, RequestId, ValidJson};
use rota::notify::{Envelope, Message};
use rota::store::audit::{Actor, AuditEntry};
use rota::store::entities::{Entity, Refused};
use rota::store::links::{LinkKind, RESET_SECS, new_link, token_ids};
use rota::store::people::{Person, PersonStatus};
use rota::{AppState, Error};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::limits::Attempt;
use crate::tokens::normalise_email;

/// A request for a reset link is answered no sooner than this, whether or not a link was sent,
/// so the time taken does not tell whether the email has an account.
const ANSWER_FLOOR: Duration = Duration::from_millis(300);

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "email": "olive@harbour.example" }))]
pub struct ForgotPassword {
    #[garde(email, length(chars, max = 254))]
    #[schema(format = Email, max_length = 254)]
    pub email: String,
}

/// The same answer whether or not the email has an account.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResetRequested {
    /// How long an emailed link works, in seconds.
    pub link_expires_in: i64,
}

/// Emails a password-reset link if the address has an active account. The answer is the same
/// 202, in about the same time, either way. 3 requests per email and 10 per client address an
/// hour.
#[utoipa::path(post, path = "/auth/forgot-password", tag = "auth", request_body = ForgotPassword,
    extensions(("x-rate-limit" = json!("3 per email and 10 per client address, an hour"))),
    responses((status = 202, description = "If the email has an active account, a link is on its way", body = ResetRequested)))]
pub async fn forgot_password(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ValidJson(request): ValidJson<ForgotPassword>,
) -> Result<(StatusCode, Json<ResetRequested>), Error> {
    let answer_at = tokio::time::Instant::now() + ANSWER_FLOOR;
    let now = Now::get();
    let email = normalise_email(&request.email);
    let attempt = Attempt::reset(&email, ip.as_deref());
    // Round trip 1: the email's claim, and the request counted, in parallel.
    let (claim, counted) = tokio::try_join!(state.store.email_claim(&email), attempt.count(&state, now.epoch))?;
    if let Some(retry_after_secs) = counted.retry_after(now.epoch) {
        return Err(Error::RateLimited { retry_after_secs });
    }
    if let Some(claim) = claim.filter(|claim| claim.status == PersonStatus::Active) {
        let (link, token) = new_link(LinkKind::Reset, &claim.tenant_id, &claim.person_id, &email, now.epoch);
        // Round trip 2: the link, which the person's credential now names (older links die).
        let items = vec![state.store.link_put(&link)?, state.store.link_point(&link)?];
        if state.store.transact(items).await?.is_ok() {
            let reset = Message::PasswordReset { token, valid_minutes: RESET_SECS / 60 };
            let envelope = Envelope::new(Some(&claim.tenant_id), Some(&claim.person_id), &email, reset);
            state.outbox.send(&envelope).await?;
        }
    }
    tokio::time::sleep_until(answer_at).await;
    Ok((StatusCode::ACCEPTED, Json(ResetRequested { link_expires_in: RESET_SECS })))
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetPassword {
    /// The `token` of the emailed link (`…/reset-password?token=…`).
    #[garde(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub token: String,
    #[garde(length(chars, min = 12, max = 128))]
    #[schema(min_length = 12, max_length = 128)]
    pub password: String,
}

/// Sets a new password with an emailed link, and ends every session of the person (log in
/// again). The link works once, for 30 minutes, and only the newest one sent.
#[utoipa::path(post, path = "/auth/reset-password", tag = "auth", request_body = ResetPassword,
    responses(
        (status = 204, description = "The password is changed and every session ended"),
        (status = 404, description = "No reset waits for this token: wrong, used, replaced by a newer one or expired", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn reset_password(
    State(state): State<AppState>,
    RequestId(request_id): RequestId,
    ClientIp(ip): ClientIp,
    ValidJson(request): ValidJson<ResetPassword>,
) -> Result<StatusCode, Error> {
    let (tenant_id, person_id) = token_ids(&request.token).ok_or(Error::NotFound)?;
    let (tenant_id, person_id) = (tenant_id.to_string(), person_id.to_string());
    let now = Now::get();
    // Round trip 1: the link and the person, in parallel.
    let (link, person) = tokio::try_join!(
        state.store.link(&request.token, LinkKind::Reset, now.epoch),
        state.store.entity::<Person>(&tenant_id, &person_id),
    )?;
    let (Some(link), Some(before)) = (link, person) else { return Err(Error::NotFound) };
    if link.person_id != before.id || before.status != PersonStatus::Active {
        return Err(Error::NotFound);
    }
    let password_hash = password::hash(request.password).await?;
    let mut after = Person { sessions_valid_after: Some(now.iso.clone()), ..before.clone() };
    after.touch(&now.iso);
    let actor = Actor { tenant_id, person_id, request_id, ip };
    let audit =
        AuditEntry::new(&actor, "person.reset_password", ("person", &after.id), Some(&before), Some(&after), &now.iso);
    // Round trip 2: the new password, the link used up and every session ended, together.
    match state
        .store
        .update(&after, before.version, &audit, state.store.reset_use(&link, &password_hash, now.epoch)?)
        .await?
    {
        Ok(()) => Ok(StatusCode::NO_CONTENT),
        Err(Refused(_)) => Err(Error::NotFound),
    }
}
