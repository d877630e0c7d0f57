//! Outgoing webhooks, the organisation's side: its owners register endpoints (each with a secret
//! shown once, rotatable), test them with a ping, and read and redeliver what was sent. Messages
//! are signed and sent by the notifier (Standard Webhooks 1.0; see `rota::webhooks`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use garde::Validate;
use rota::auth::{Caller, Permission};
use rota::clock::Now;
use rota::error::Problem;
use rota::http::{ValidJson, ValidQuery};
use rota::records::unchanged_since;
use rota::store::audit::AuditEntry;
use rota::store::entities::Entity;
use rota::store::page::Page;
use rota::store::webhooks::{Delivery, EventType, WebhookDeliveryStatus, WebhookEndpoint};
use rota::validate::nullable;
use rota::webhooks::{Job, OLD_SECRET_SECS, new_secret};
use rota::{AppState, Error};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

rota::list_query! {
    pub struct DeliveriesQuery {
        #[garde(skip)]
        #[param(inline)]
        pub status: Option<WebhookDeliveryStatus>,
    }
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "url": "https://hooks.harbour.example/rota", "event_types": ["shift.published", "attendance.checked_in"], "description": "Payroll sync" }))]
pub struct NewEndpoint {
    /// `https://` to a public address (locally: a loopback address).
    #[garde(length(chars, min = 1, max = 2000))]
    #[schema(min_length = 1, max_length = 2000)]
    pub url: String,
    /// What it is told of; none or empty for everything.
    #[garde(length(max = 20))]
    #[serde(default)]
    pub event_types: Vec<EventType>,
    #[garde(length(chars, max = 200))]
    #[schema(max_length = 200)]
    pub description: Option<String>,
}

/// What changes; omitted fields stay as they are.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "enabled": true, "event_types": ["shift.published"] }))]
pub struct EndpointChange {
    #[garde(length(chars, min = 1, max = 2000))]
    #[schema(min_length = 1, max_length = 2000)]
    pub url: Option<String>,
    #[garde(length(max = 20))]
    pub event_types: Option<Vec<EventType>>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "nullable")]
    #[garde(inner(inner(length(chars, max = 200))))]
    #[schema(value_type = Option<String>, nullable, max_length = 200)]
    pub description: Option<Option<String>>,
    /// `true` turns a disabled endpoint back on (its reason cleared).
    #[garde(skip)]
    pub enabled: Option<bool>,
    /// The `version` last read; when given, a stale write answers 409.
    #[garde(range(max = rota::validate::MAX_VERSION))]
    pub version: Option<u64>,
}

/// An endpoint as its organisation reads it: never its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct Endpoint {
    pub id: String,
    pub url: String,
    pub description: Option<String>,
    pub event_types: Vec<EventType>,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub version: u64,
    pub created_at: String,
    pub updated_at: String,
}

impl From<WebhookEndpoint> for Endpoint {
    fn from(endpoint: WebhookEndpoint) -> Self {
        Self {
            id: endpoint.id,
            url: endpoint.url,
            description: endpoint.description,
            event_types: endpoint.event_types,
            enabled: endpoint.enabled,
            disabled_reason: endpoint.disabled_reason,
            version: endpoint.version,
            created_at: endpoint.created_at,
            updated_at: endpoint.updated_at,
        }
    }
}

/// An endpoint with its signing secret: shown on creation and rotation only.
#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointWithSecret {
    #[serde(flatten)]
    pub endpoint: Endpoint,
    /// `whsec_…`: verify each delivery's `webhook-signature` with it (any Standard Webhooks
    /// library does). Not shown again.
    pub secret: String,
}

/// A message queued: its `webhook-id`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Queued {
    pub message_id: String,
}

fn checked_url(state: &AppState, url: &str) -> Result<String, Error> {
    let url = url.trim();
    state.config.webhook_reach.check_url(url).map_err(|message| Error::field("url", message))?;
    Ok(url.to_owned())
}

fn without_ping(types: Vec<EventType>) -> Result<Vec<EventType>, Error> {
    if types.contains(&EventType::Ping) {
        return Err(Error::field("event_types", "webhook.ping is sent when asked, not subscribed to"));
    }
    let mut types = types;
    types.sort();
    types.dedup();
    Ok(types)
}

fn audit(
    caller: &Caller,
    action: &str,
    before: Option<&Endpoint>,
    after: Option<&Endpoint>,
    id: &str,
    at: &str,
) -> AuditEntry {
    AuditEntry::new(&caller.actor(), action, ("webhook_endpoint", id), before, after, at)
}

/// Registers an endpoint (owners): answers it with its secret, shown this once.
#[utoipa::path(post, path = "/webhooks/endpoints", tag = "webhooks", security(("bearer" = ["integrations.manage"])),
    request_body = NewEndpoint,
    responses(
        (status = 201, description = "The endpoint and its secret", body = EndpointWithSecret),
        (status = 409, description = "The organisation has 10 endpoints", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A URL Rota may not deliver to", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_endpoint(
    State(state): State<AppState>,
    caller: Caller,
    ValidJson(request): ValidJson<NewEndpoint>,
) -> Result<(StatusCode, Json<EndpointWithSecret>), Error> {
    caller.require(Permission::IntegrationsManage)?;
    let url = checked_url(&state, &request.url)?;
    let event_types = without_ping(request.event_types)?;
    let now = Now::get();
    let endpoint = WebhookEndpoint {
        id: ulid::Ulid::new().to_string(),
        tenant_id: caller.tenant_id.clone(),
        url,
        description: rota::validate::trimmed(request.description),
        event_types,
        enabled: true,
        disabled_reason: None,
        secret: new_secret(),
        previous_secret: None,
        previous_secret_expires_at: None,
        version: 1,
        created_at: now.iso.clone(),
        updated_at: now.iso.clone(),
    };
    let shown = Endpoint::from(endpoint.clone());
    let entry = audit(&caller, "webhook_endpoint.created", None, Some(&shown), &endpoint.id, &now.iso);
    // Round trip 1: the endpoint, its audit entry and the organisation's count of them (refused
    // beyond the limit).
    let counted = vec![state.store.endpoint_count_change(&caller.tenant_id, 1)?];
    if state.store.create(&endpoint, &entry, counted).await?.is_err() {
        return Err(Error::Conflict("an organisation has at most 10 webhook endpoints"));
    }
    Ok((StatusCode::CREATED, Json(EndpointWithSecret { endpoint: shown, secret: endpoint.secret })))
}

/// The organisation's endpoints (admins).
#[utoipa::path(get, path = "/webhooks/endpoints", tag = "webhooks", security(("bearer" = ["integrations.read"])),
    responses((status = 200, description = "Every endpoint, oldest first", body = Vec<Endpoint>)))]
pub async fn list_endpoints(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<Endpoint>>, Error> {
    caller.require(Permission::IntegrationsRead)?;
    let endpoints = state.store.webhook_endpoints(&caller.tenant_id).await?;
    Ok(Json(endpoints.into_iter().map(Into::into).collect()))
}

async fn endpoint(state: &AppState, caller: &Caller, id: &str) -> Result<WebhookEndpoint, Error> {
    state.store.entity::<WebhookEndpoint>(&caller.tenant_id, id).await?.ok_or(Error::NotFound)
}

/// An endpoint that takes messages: a disabled one is 409 until turned back on.
fn enabled(endpoint: WebhookEndpoint) -> Result<WebhookEndpoint, Error> {
    if !endpoint.enabled {
        return Err(Error::Conflict("the endpoint is disabled: enable it first"));
    }
    Ok(endpoint)
}

/// One endpoint (admins).
#[utoipa::path(get, path = "/webhooks/endpoints/{endpoint_id}", tag = "webhooks", security(("bearer" = ["integrations.read"])),
    params(("endpoint_id" = String, Path)),
    responses(
        (status = 200, description = "The endpoint", body = Endpoint),
        (status = 404, description = "No such endpoint", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_endpoint(
    State(state): State<AppState>,
    caller: Caller,
    Path(endpoint_id): Path<String>,
) -> Result<Json<Endpoint>, Error> {
    caller.require(Permission::IntegrationsRead)?;
    Ok(Json(endpoint(&state, &caller, &endpoint_id).await?.into()))
}

/// Changes an endpoint, or turns a disabled one back on (owners).
#[utoipa::path(patch, path = "/webhooks/endpoints/{endpoint_id}", tag = "webhooks", security(("bearer" = ["integrations.manage"])),
    params(("endpoint_id" = String, Path)), request_body = EndpointChange,
    responses(
        (status = 200, description = "The endpoint as it is now", body = Endpoint),
        (status = 404, description = "No such endpoint", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Changed by someone else since `version`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A URL Rota may not deliver to", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_endpoint(
    State(state): State<AppState>,
    caller: Caller,
    Path(endpoint_id): Path<String>,
    ValidJson(change): ValidJson<EndpointChange>,
) -> Result<Json<Endpoint>, Error> {
    caller.require(Permission::IntegrationsManage)?;
    let url = change.url.as_deref().map(|url| checked_url(&state, url)).transpose()?;
    let event_types = change.event_types.map(without_ping).transpose()?;
    // Round trip 1: the endpoint as it is.
    let before = endpoint(&state, &caller, &endpoint_id).await?;
    unchanged_since(change.version, &before)?;
    let mut after = before.clone();
    if let Some(url) = url {
        after.url = url;
    }
    if let Some(event_types) = event_types {
        after.event_types = event_types;
    }
    if let Some(description) = change.description {
        after.description = rota::validate::trimmed(description);
    }
    if let Some(enabled) = change.enabled {
        after.enabled = enabled;
        after.disabled_reason = None;
    }
    let now = Now::get();
    after.touch(&now.iso);
    let (shown_before, shown) = (Endpoint::from(before.clone()), Endpoint::from(after.clone()));
    let entry = audit(&caller, "webhook_endpoint.updated", Some(&shown_before), Some(&shown), &endpoint_id, &now.iso);
    // Round trip 2: the endpoint if nobody changed it since, and its audit entry.
    state
        .store
        .update(&after, before.version, &entry, Vec::new())
        .await?
        .map_err(|_| Error::Conflict(WebhookEndpoint::STALE))?;
    Ok(Json(shown))
}

/// Removes an endpoint (owners): nothing more is sent to it.
#[utoipa::path(delete, path = "/webhooks/endpoints/{endpoint_id}", tag = "webhooks", security(("bearer" = ["integrations.manage"])),
    params(("endpoint_id" = String, Path)),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No such endpoint", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_endpoint(
    State(state): State<AppState>,
    caller: Caller,
    Path(endpoint_id): Path<String>,
) -> Result<StatusCode, Error> {
    caller.require(Permission::IntegrationsManage)?;
    // Round trip 1: the endpoint as it is.
    let before = endpoint(&state, &caller, &endpoint_id).await?;
    let now = Now::get();
    let shown = Endpoint::from(before.clone());
    let entry = audit(&caller, "webhook_endpoint.deleted", Some(&shown), None, &endpoint_id, &now.iso);
    // Round trip 2: gone with its audit entry and from the count, unless it changed meanwhile.
    let counted = state.store.endpoint_count_change(&caller.tenant_id, -1)?;
    if state.store.delete_entity(&before, &entry, vec![counted]).await?.is_err() {
        return Err(Error::Conflict(WebhookEndpoint::STALE));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// A new secret for an endpoint (owners): answered this once; the old one signs too for 24 hours,
/// so the receiver can switch without missing a message.
#[utoipa::path(post, path = "/webhooks/endpoints/{endpoint_id}/rotate-secret", tag = "webhooks", security(("bearer" = ["integrations.manage"])),
    params(("endpoint_id" = String, Path)),
    responses(
        (status = 200, description = "The endpoint and its new secret", body = EndpointWithSecret),
        (status = 404, description = "No such endpoint", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Changed by someone else meanwhile", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn rotate_secret(
    State(state): State<AppState>,
    caller: Caller,
    Path(endpoint_id): Path<String>,
) -> Result<Json<EndpointWithSecret>, Error> {
    caller.require(Permission::IntegrationsManage)?;
    // Round trip 1: the endpoint as it is.
    let before = endpoint(&state, &caller, &endpoint_id).await?;
    let now = Now::get();
    let mut after = WebhookEndpoint {
        secret: new_secret(),
        previous_secret: Some(before.secret.clone()),
        previous_secret_expires_at: Some(now.epoch + OLD_SECRET_SECS),
        ..before.clone()
    };
    after.touch(&now.iso);
    let shown = Endpoint::from(after.clone());
    let entry = audit(&caller, "webhook_endpoint.secret_rotated", None, Some(&shown), &endpoint_id, &now.iso);
    // Round trip 2: the endpoint if nobody changed it since, and its audit entry.
    state
        .store
        .update(&after, before.version, &entry, Vec::new())
        .await?
        .map_err(|_| Error::Conflict(WebhookEndpoint::STALE))?;
    Ok(Json(EndpointWithSecret { endpoint: shown, secret: after.secret }))
}

/// Sends an endpoint a test message, `webhook.ping` (owners); see it under its deliveries.
#[utoipa::path(post, path = "/webhooks/endpoints/{endpoint_id}/ping", tag = "webhooks", security(("bearer" = ["integrations.manage"])),
    params(("endpoint_id" = String, Path)),
    responses(
        (status = 202, description = "Queued", body = Queued),
        (status = 404, description = "No such endpoint", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The endpoint is disabled", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn ping(
    State(state): State<AppState>,
    caller: Caller,
    Path(endpoint_id): Path<String>,
) -> Result<(StatusCode, Json<Queued>), Error> {
    caller.require(Permission::IntegrationsManage)?;
    // Round trip 1: the endpoint.
    let endpoint = enabled(endpoint(&state, &caller, &endpoint_id).await?)?;
    let data = serde_json::json!({ "endpoint_id": endpoint.id });
    let job = Job::event(&caller.tenant_id, EventType::Ping, data, &Now::get().iso).to_endpoint(&endpoint.id, 1, None);
    let message_id = job.message_id.clone();
    state.outbox.webhook(job).await?;
    Ok((StatusCode::ACCEPTED, Json(Queued { message_id })))
}

/// What was sent to an endpoint, newest first (admins): each message with its attempts so far.
#[utoipa::path(get, path = "/webhooks/endpoints/{endpoint_id}/deliveries", tag = "webhooks", security(("bearer" = ["integrations.read"])),
    params(("endpoint_id" = String, Path), DeliveriesQuery),
    responses(
        (status = 200, description = "A page of deliveries", body = Page<Delivery>),
        (status = 404, description = "No such endpoint", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_deliveries(
    State(state): State<AppState>,
    caller: Caller,
    Path(endpoint_id): Path<String>,
    query: Result<ValidQuery<DeliveriesQuery>, Error>,
) -> Result<Json<Page<Delivery>>, Error> {
    caller.require(Permission::IntegrationsRead)?;
    let ValidQuery(query) = query?;
    // Round trip 1, in parallel: the endpoint (another organisation's is 404) and the page.
    let (endpoint, page) = tokio::try_join!(
        state.store.entity::<WebhookEndpoint>(&caller.tenant_id, &endpoint_id),
        state.store.deliveries(&caller.tenant_id, &endpoint_id, query.status, query.limit, query.cursor.as_deref()),
    )?;
    endpoint.ok_or(Error::NotFound)?;
    Ok(Json(page))
}

/// Sends a message again, as a new first attempt with the same `webhook-id` (owners).
#[utoipa::path(post, path = "/webhooks/endpoints/{endpoint_id}/deliveries/{delivery_id}/redeliver", tag = "webhooks", security(("bearer" = ["integrations.manage"])),
    params(("endpoint_id" = String, Path), ("delivery_id" = String, Path)),
    responses(
        (status = 202, description = "Queued", body = Queued),
        (status = 404, description = "No such endpoint or delivery", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The endpoint is disabled", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn redeliver(
    State(state): State<AppState>,
    caller: Caller,
    Path((endpoint_id, delivery_id)): Path<(String, String)>,
) -> Result<(StatusCode, Json<Queued>), Error> {
    caller.require(Permission::IntegrationsManage)?;
    // Round trip 1, in parallel: the endpoint and the delivery.
    let (endpoint, delivery) = tokio::try_join!(
        state.store.entity::<WebhookEndpoint>(&caller.tenant_id, &endpoint_id),
        state.store.delivery(&caller.tenant_id, &endpoint_id, &delivery_id),
    )?;
    let (endpoint, delivery) = (enabled(endpoint.ok_or(Error::NotFound)?)?, delivery.ok_or(Error::NotFound)?);
    let job = Job {
        tenant_id: caller.tenant_id.clone(),
        endpoint_id: Some(endpoint.id),
        message_id: delivery.id.clone(),
        event_type: delivery.event_type,
        payload: delivery.payload,
        attempt: 1,
        not_before: None,
    };
    state.outbox.webhook(job).await?;
    Ok((StatusCode::ACCEPTED, Json(Queued { message_id: delivery.id })))
}
