//! The messaging providers' delivery reports (public; authenticated by their signatures): an SMS
//! or WhatsApp message the notifier sent becomes `delivered` in the organisation's log
//! (`GET /notifications`), or `failed` with the provider's reason. A report about a message Rota
//! does not know, or one already reported, is acknowledged and changes nothing: an error would
//! only make the provider retry.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use rota::callbacks::{meta_signed, twilio_signed};
use rota::clock::Now;
use rota::error::Problem;
use rota::http::ValidQuery;
use rota::store::notifications::DeliveryStatus;
use rota::{AppState, Error};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// What a delivery report changed.
#[derive(Debug, Serialize, ToSchema)]
pub struct Reported {
    /// Messages of the organisations' logs that the report changed now.
    pub updated: usize,
}

/// The fields of Twilio's status callback Rota reads (it sends more, all signed).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
#[allow(dead_code)] // Documents the form; the handler reads the fields by name, as signed.
pub struct SmsStatus {
    /// The message (`SM…`).
    message_sid: String,
    /// `queued`, `sent`, `delivered`, `undelivered`, `failed`, `read`, …
    message_status: String,
    /// Twilio's error code when it could not deliver.
    error_code: Option<String>,
}

/// Twilio's status callback for an SMS the notifier sent (the `StatusCallback` it asked for),
/// signed with `X-Twilio-Signature` over `ROTA_API_URL` and the form.
#[utoipa::path(post, path = "/webhooks/sms-status", tag = "messaging",
    params(("X-Twilio-Signature" = String, Header, description = "Base64 HMAC-SHA1 of the URL and the sorted form, keyed by the auth token")),
    request_body(content = SmsStatus, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Received (a message's state changed now, or not)", body = Reported),
        (status = 403, description = "Not signed by the provider (or callbacks are not configured)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn sms_status(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Reported>, Error> {
    let form: Vec<(String, String)> =
        form_urlencoded::parse(&body).map(|(name, value)| (name.into_owned(), value.into_owned())).collect();
    let (Some(token), Some(api_url)) = (&state.config.sms_auth_token, &state.config.api_url) else {
        return Err(Error::Forbidden("SMS status callbacks are not configured"));
    };
    let signature = headers.get("x-twilio-signature").and_then(|value| value.to_str().ok()).unwrap_or_default();
    if !twilio_signed(token.expose(), &format!("{api_url}/webhooks/sms-status"), &form, signature) {
        return Err(Error::Forbidden("the X-Twilio-Signature does not match"));
    }
    let field = |name: &str| form.iter().find(|(field, _)| field == name).map(|(_, value)| value.as_str());
    let (Some(sid), Some(status)) = (field("MessageSid"), field("MessageStatus")) else {
        return Err(Error::InvalidRequest("MessageSid and MessageStatus are required".into()));
    };
    let reason = field("ErrorCode").map(|code| format!("error {code}"));
    let updated = report(&state, sid, status, reason).await?;
    Ok(Json(Reported { updated: usize::from(updated) }))
}

/// Meta's webhook subscription handshake.
#[derive(Debug, Deserialize, IntoParams, garde::Validate)]
#[into_params(parameter_in = Query)]
#[garde(allow_unvalidated)]
pub struct Handshake {
    /// `subscribe`.
    #[serde(rename = "hub.mode")]
    #[param(rename = "hub.mode")]
    mode: String,
    /// The verify token the operator entered in the app's webhook settings.
    #[serde(rename = "hub.verify_token")]
    #[param(rename = "hub.verify_token")]
    verify_token: String,
    /// What to answer, to prove the endpoint is this one.
    #[serde(rename = "hub.challenge")]
    #[param(rename = "hub.challenge")]
    challenge: String,
}

/// Meta verifies the webhook URL before sending to it: the challenge back, for the verify token
/// set as `ROTA_WHATSAPP_VERIFY_TOKEN`.
#[utoipa::path(get, path = "/webhooks/whatsapp", tag = "messaging", params(Handshake),
    responses(
        (status = 200, description = "The challenge", body = String, content_type = "text/plain"),
        (status = 403, description = "Another verify token", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn whatsapp_handshake(
    State(state): State<AppState>,
    ValidQuery(handshake): ValidQuery<Handshake>,
) -> Result<String, Error> {
    let expected = state.config.whatsapp_verify_token.as_ref().map(|token| token.expose());
    if handshake.mode != "subscribe" || expected != Some(handshake.verify_token.as_str()) {
        return Err(Error::Forbidden("the verify token does not match"));
    }
    Ok(handshake.challenge)
}

/// A WhatsApp Business Account webhook delivery (only the statuses are read).
#[derive(Debug, Deserialize, ToSchema)]
pub struct WhatsAppEvent {
    #[serde(default)]
    entry: Vec<Entry>,
}

#[derive(Debug, Deserialize, ToSchema)]
struct Entry {
    #[serde(default)]
    changes: Vec<Change>,
}

#[derive(Debug, Deserialize, ToSchema)]
struct Change {
    #[serde(default)]
    value: ChangeValue,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
struct ChangeValue {
    #[serde(default)]
    statuses: Vec<MessageStatus>,
}

#[derive(Debug, Deserialize, ToSchema)]
struct MessageStatus {
    /// The message (`wamid.…`).
    id: String,
    /// `sent`, `delivered`, `read` or `failed`.
    status: String,
    #[serde(default)]
    errors: Vec<StatusError>,
}

#[derive(Debug, Deserialize, ToSchema)]
struct StatusError {
    code: Option<i64>,
    title: Option<String>,
}

/// The WhatsApp Cloud API's webhook (message statuses), signed with `X-Hub-Signature-256` by the
/// app secret (`ROTA_WHATSAPP_APP_SECRET`).
#[utoipa::path(post, path = "/webhooks/whatsapp", tag = "messaging",
    params(("X-Hub-Signature-256" = String, Header, description = "`sha256=` and the hex HMAC-SHA256 of the body, keyed by the app secret")),
    request_body(content = WhatsAppEvent, description = "The delivery, exactly as sent"),
    responses(
        (status = 200, description = "Received (messages' states changed now, or not)", body = Reported),
        (status = 400, description = "Signed, but not a webhook delivery", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not signed by the provider (or WhatsApp is not configured)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn whatsapp_webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Reported>, Error> {
    let Some(secret) = &state.config.whatsapp_app_secret else {
        return Err(Error::Forbidden("WhatsApp webhooks are not configured"));
    };
    let signature = headers.get("x-hub-signature-256").and_then(|value| value.to_str().ok()).unwrap_or_default();
    if !meta_signed(secret.expose(), &body, signature) {
        return Err(Error::Forbidden("the X-Hub-Signature-256 does not match"));
    }
    let event: WhatsAppEvent = serde_json::from_slice(&body)
        .map_err(|error| Error::InvalidRequest(format!("not a WhatsApp webhook delivery: {error}")))?;
    let statuses = event.entry.iter().flat_map(|entry| &entry.changes).flat_map(|change| &change.value.statuses);
    let reports = statuses.map(|status| {
        let reason = status.errors.first().map(|error| {
            format!("error {}: {}", error.code.unwrap_or_default(), error.title.as_deref().unwrap_or("unknown"))
        });
        report(&state, &status.id, &status.status, reason)
    });
    let updated = futures_util::future::try_join_all(reports).await?;
    Ok(Json(Reported { updated: updated.into_iter().filter(|updated| *updated).count() }))
}

/// Applies a provider's `status` of message `provider_id`: delivered (or read) and failed change
/// the log; the others (queued, sent, …) say nothing new.
async fn report(state: &AppState, provider_id: &str, status: &str, reason: Option<String>) -> Result<bool, Error> {
    let (status, detail) = match status {
        "delivered" | "read" => (DeliveryStatus::Delivered, None),
        "undelivered" | "failed" => {
            let reason = reason.unwrap_or_else(|| "no reason given".into());
            (DeliveryStatus::Failed, Some(format!("the provider could not deliver it ({reason})")))
        }
        _ => return Ok(false),
    };
    state.store.delivery_reported(provider_id, status, detail.as_deref(), &Now::get().iso).await
}
