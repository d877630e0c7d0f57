//! The public contact form: a message to the operator, kept as a lead of its CRM.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use garde::Validate;
use rota::clock::Now;
use rota::error::Problem;
use rota::http::{ClientIp, ValidJson};
use rota::store::crm::{Lead, LeadSource};
use rota::validate::{not_blank, trimmed};
use rota::{AppState, Error};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::limits::Attempt;
use crate::tokens::normalise_email;

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "Ada Lovelace", "email": "ada@harbour.example", "organisation": "Harbour Events",
    "message": "We run three festivals a year with about 400 volunteers. Can Rota handle check-in at the gates?",
}))]
pub struct ContactRequest {
    #[garde(length(chars, min = 1, max = 100), custom(not_blank))]
    #[schema(min_length = 1, max_length = 100, pattern = r"[^\s\x00-\x1f\x7f-\x9f]")]
    pub name: String,
    /// Where the operator answers.
    #[garde(email, length(chars, max = 254))]
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    #[garde(length(chars, max = 200))]
    #[schema(max_length = 200)]
    pub organisation: Option<String>,
    #[garde(length(chars, max = 32))]
    #[schema(max_length = 32)]
    pub phone: Option<String>,
    #[garde(length(chars, min = 1, max = 5000), custom(not_blank))]
    #[schema(min_length = 1, max_length = 5000, pattern = r"[^\s\x00-\x1f\x7f-\x9f]")]
    pub message: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ContactReceived {
    /// The address the answer will go to, as kept (trimmed, lower case).
    pub email: String,
}

/// Sends the operator a message (anyone, no account needed): it becomes a lead the platform's
/// admins follow up. Limited per email and per client address.
#[utoipa::path(post, path = "/contact", tag = "auth", request_body = ContactRequest,
    extensions(("x-rate-limit" = json!("3 per email and 10 per client address in an hour"))),
    responses(
        (status = 202, description = "Received; the operator answers by email", body = ContactReceived),
        (status = 429, description = "Too many messages from this email or address: wait `Retry-After` seconds", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn contact(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ValidJson(request): ValidJson<ContactRequest>,
) -> Result<(StatusCode, Json<ContactReceived>), Error> {
    let now = Now::get();
    let email = normalise_email(&request.email);
    // Round trip 1: the message counted against the limits.
    let attempt = Attempt::contact(&email, ip.as_deref());
    let counted = attempt.count(&state, now.epoch).await?;
    if let Some(retry_after_secs) = counted.retry_after(now.epoch) {
        return Err(Error::RateLimited { retry_after_secs });
    }
    let lead = Lead {
        organisation: trimmed(request.organisation),
        phone: trimmed(request.phone),
        message: Some(request.message.trim().to_owned()),
        ..Lead::new(LeadSource::ContactForm, request.name.trim().to_owned(), email.clone(), &now.iso)
    };
    // Round trip 2: the lead.
    state
        .store
        .transact(vec![state.store.entity_put(&lead, None)?])
        .await?
        .map_err(|_| Error::Conflict("sent already"))?;
    Ok((StatusCode::ACCEPTED, Json(ContactReceived { email })))
}
