//! Webhook messages (`rota::webhooks::Job`) off the notification queue: an organisation's event
//! fanned out to every endpoint that wants it, and each attempt at one endpoint — signed, sent,
//! recorded on its delivery, and retried on the schedule (a wait longer than SQS's 15-minute delay
//! is served in several). `410 Gone` disables the endpoint at once; a message that fails every
//! attempt (≈ 28 hours) disables it too.

use chrono::Utc;
use rota::Error;
use rota::clock::Now;
use rota::notify::{Envelope, Message};
use rota::store::webhooks::{Delivery, WebhookDeliveryStatus, WebhookEndpoint};
use rota::webhooks::{Job, Queued, retry_after_secs, signature};

use crate::Notifier;

/// Handles one job: a fan-out, or an attempt.
pub async fn handle(notifier: &Notifier, job: Job) -> Result<(), Error> {
    match &job.endpoint_id {
        None => fan_out(notifier, &job).await,
        Some(_) => attempt(notifier, job).await,
    }
}

/// One job per endpoint of the organisation that wants the event.
async fn fan_out(notifier: &Notifier, job: &Job) -> Result<(), Error> {
    let endpoints = notifier.store.webhook_endpoints(&job.tenant_id).await?;
    let jobs: Vec<Queued> = endpoints
        .iter()
        .filter(|endpoint| endpoint.wants(job.event_type))
        .map(|endpoint| Queued { webhook: job.to_endpoint(&endpoint.id, 1, None) })
        .collect();
    rota::queue::send_all(&notifier.sqs, &notifier.queue_url, &jobs).await
}

async fn attempt(notifier: &Notifier, job: Job) -> Result<(), Error> {
    let now = Now::get();
    if let Some(not_before) = job.not_before.filter(|at| *at > now.epoch) {
        let wait = i32::try_from(not_before - now.epoch).unwrap_or(i32::MAX);
        return rota::queue::send_later(&notifier.sqs, &notifier.queue_url, &Queued { webhook: job }, wait).await;
    }
    let endpoint_id = job.endpoint_id.clone().unwrap_or_default();
    let store = &notifier.store;
    let (endpoint, delivery) = tokio::try_join!(
        store.entity::<WebhookEndpoint>(&job.tenant_id, &endpoint_id),
        store.delivery(&job.tenant_id, &endpoint_id, &job.message_id),
    )?;
    let mut delivery = delivery.unwrap_or_else(|| Delivery {
        id: job.message_id.clone(),
        endpoint_id: endpoint_id.clone(),
        event_type: job.event_type,
        status: WebhookDeliveryStatus::Pending,
        attempts: 0,
        last_status_code: None,
        last_error: None,
        next_attempt_at: None,
        payload: job.payload.clone(),
        created_at: now.iso.clone(),
        updated_at: now.iso.clone(),
    });
    delivery.updated_at.clone_from(&now.iso);
    delivery.next_attempt_at = None;
    let Some(endpoint) = endpoint.filter(|endpoint| endpoint.enabled) else {
        delivery.status = WebhookDeliveryStatus::Failed;
        delivery.last_error = Some("the endpoint is disabled or removed".into());
        return store.put_delivery(&job.tenant_id, &delivery).await;
    };
    let body = serde_json::to_vec(&job.payload).map_err(Error::internal)?;
    let signed = signature(&endpoint.signing_secrets(now.epoch), &job.message_id, now.epoch, &body);
    let answer = notifier.webhooks.post(&endpoint.url, &job.message_id, now.epoch, &signed, body).await;
    delivery.attempts += 1;
    let (code, error) = match &answer {
        Ok(status) => (Some(*status), None),
        Err(unreachable) => (None, Some(unreachable.clone())),
    };
    delivery.last_status_code = code;
    delivery.last_error = error;
    let mut next = None;
    match code {
        Some(200..=299) => delivery.status = WebhookDeliveryStatus::Succeeded,
        Some(410) => {
            delivery.status = WebhookDeliveryStatus::Failed;
            disable(notifier, &endpoint, "the endpoint answered 410 Gone", &now.iso).await?;
        }
        _ => {
            let jitter = f64::from(Utc::now().timestamp_subsec_nanos() % 1000) / 1000.0;
            match retry_after_secs(job.attempt + 1, jitter) {
                Some(wait) => {
                    let wait = (wait as f64 * notifier.webhook_retry_scale) as i64;
                    delivery.status = WebhookDeliveryStatus::Pending;
                    delivery.next_attempt_at = Some(rota::clock::iso_from_epoch(now.epoch + wait));
                    next = Some((job.to_endpoint(&endpoint_id, job.attempt + 1, Some(now.epoch + wait)), wait));
                }
                None => {
                    delivery.status = WebhookDeliveryStatus::Failed;
                    let reason = format!("message {} failed every attempt", job.message_id);
                    disable(notifier, &endpoint, &reason, &now.iso).await?;
                }
            }
        }
    }
    store.put_delivery(&job.tenant_id, &delivery).await?;
    if let Some((job, wait)) = next {
        let delay = i32::try_from(wait).unwrap_or(i32::MAX);
        rota::queue::send_later(&notifier.sqs, &notifier.queue_url, &Queued { webhook: job }, delay).await?;
    }
    Ok(())
}

/// Disables the endpoint and, unless someone changed it meanwhile, mails the organisation's
/// owners why: their integration stopped hearing of events.
async fn disable(notifier: &Notifier, endpoint: &WebhookEndpoint, reason: &str, now: &str) -> Result<(), Error> {
    if !notifier.store.disable_endpoint(endpoint, reason, now).await? {
        return Ok(());
    }
    let tenant_id = &endpoint.tenant_id;
    let message =
        Message::WebhookDisabled { endpoint_id: endpoint.id.clone(), url: endpoint.url.clone(), reason: reason.into() };
    let owners = notifier.store.active_owners(tenant_id).await?;
    let envelopes: Vec<Envelope> =
        owners.iter().map(|owner| Envelope::to_person(tenant_id, &owner.id, message.clone())).collect();
    rota::queue::send_all(&notifier.sqs, &notifier.queue_url, &envelopes).await
}
