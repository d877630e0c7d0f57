//! The notifier worker: takes envelopes off the notification queue and sends each once.
//!
//! Per record: claim the envelope's id (a conditional put of a `SENT#` marker, so a redelivery or
//! a concurrent delivery sends nothing), check the recipient's opt-outs, take a message credit
//! (account mail is free), send through the [`Channel`], and log the attempt for the
//! organisation's admins. A record that fails is reported in the batch response alone
//! (`ReportBatchItemFailures`); SQS retries it and, after 5 receives, moves it to the
//! dead-letter queue.
//!
//! Locally the dev server and the tests call [`poll`], which drains the queue into the same
//! [`handle`] the Lambda runs.

mod channel;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use rota::clock::Now;
use rota::notify::{Envelope, render};
use rota::store::notifications::{DeliveryStatus, Notification};
use rota::store::people::Person;
use rota::store::{RoundTrips, Store};
use rota::{Config, Error};

pub use channel::{Channel, Ses};

/// What the worker needs, built once per cold start.
pub struct Notifier {
    pub store: Store,
    pub channel: Box<dyn Channel>,
    pub app_url: String,
}

impl Notifier {
    pub async fn from_env() -> Result<Self, String> {
        Ok(Self::new(&Config::from_env()?).await)
    }

    pub async fn new(config: &Config) -> Self {
        let sdk = rota::aws::sdk_config().await;
        let ses = aws_sdk_ses::Client::new(&sdk);
        Self {
            store: Store::from_sdk(&sdk, config.table.clone(), RoundTrips::default()),
            channel: Box::new(Ses::new(ses, config.mail_from.clone())),
            app_url: config.app_url.clone(),
        }
    }
}

/// The whole `main` of the Lambda.
pub async fn run_lambda() -> Result<(), lambda_runtime::Error> {
    rota::telemetry::init();
    let notifier = Notifier::from_env().await?;
    rota::queue::serve(|event| handle(&notifier, event)).await
}

/// Handles a batch: every record on its own, the failed ones reported by message id.
pub async fn handle(notifier: &Notifier, event: SqsEvent) -> SqsBatchResponse {
    rota::queue::each(&event, |record| deliver(notifier, record)).await
}

async fn deliver(notifier: &Notifier, record: &SqsMessage) -> Result<(), Error> {
    let body = record.body.as_deref().unwrap_or_default();
    let envelope: Envelope =
        serde_json::from_str(body).map_err(|e| Error::internal(format!("not an envelope: {e}")))?;
    let now = Now::get();
    if !notifier.store.claim_delivery(&envelope.id, now.epoch).await? {
        tracing::info!(envelope_id = envelope.id, "already delivered; skipped");
        return Ok(());
    }
    let mut envelope = envelope;
    let status = match attempt(notifier, &mut envelope).await {
        Ok(status) => status,
        Err(error) => {
            // Not sent: give the claim back so the retry can send, and log the failure.
            notifier.store.release_delivery(&envelope.id).await?;
            log(notifier, &envelope, DeliveryStatus::Failed, &now.iso).await?;
            return Err(error);
        }
    };
    log(notifier, &envelope, status, &now.iso).await
}

/// Opt-outs, credits, then the channel. Returns what became of the envelope.
async fn attempt(notifier: &Notifier, envelope: &mut Envelope) -> Result<DeliveryStatus, Error> {
    let kind = envelope.message.kind();
    // The person's opt-outs (account mail has none), and their address as it is now when the
    // envelope names none.
    if let (Some(tenant_id), Some(person_id)) = (&envelope.tenant_id, &envelope.person_id)
        && (!kind.is_account_mail() || envelope.to.is_empty())
    {
        let person: Option<Person> = notifier.store.entity(tenant_id, person_id).await?;
        if envelope.to.is_empty() {
            let person = person.as_ref().ok_or_else(|| Error::internal("the recipient is not in the organisation"))?;
            envelope.to.clone_from(&person.email);
        }
        if !kind.is_account_mail() && person.is_some_and(|person| person.notification_opt_outs.contains(&kind)) {
            return Ok(DeliveryStatus::OptedOut);
        }
    }
    // The month (`yyyy-mm` of the ISO instant) the message counts in: the plan's messages of the
    // month are used first, then credits.
    let month = &Now::get().iso[..7];
    let charged = match envelope.tenant_id.as_deref().filter(|_| !kind.is_account_mail()) {
        Some(tenant_id) => match notifier.store.charge_message(tenant_id, month, &envelope.id).await? {
            Some(charge) => Some((tenant_id, charge)),
            None => return Ok(DeliveryStatus::SkippedNoCredit),
        },
        None => None,
    };
    let rendered = render(&envelope.message, &notifier.app_url);
    if let Err(error) = notifier.channel.send(&envelope.to, &rendered).await {
        if let Some((tenant_id, charge)) = &charged {
            notifier.store.refund(tenant_id, charge, &envelope.id).await?;
        }
        return Err(error);
    }
    // The platform's count of this month's messages. The message is out: a failure here must
    // not make the queue send it again.
    if let Err(error) = notifier.store.count_sent(month).await {
        tracing::warn!(error = %error, "the monthly message count missed one");
    }
    Ok(DeliveryStatus::Sent)
}

/// The organisation's log of the attempt (mail sent before an organisation exists has none).
async fn log(notifier: &Notifier, envelope: &Envelope, status: DeliveryStatus, at: &str) -> Result<(), Error> {
    let Some(tenant_id) = &envelope.tenant_id else { return Ok(()) };
    let notification = Notification {
        id: envelope.id.clone(),
        tenant_id: tenant_id.clone(),
        kind: envelope.message.kind(),
        recipient: envelope.to.clone(),
        person_id: envelope.person_id.clone(),
        status,
        at: at.to_owned(),
    };
    notifier.store.record_notification(&notification).await
}

/// Drains `queue_url` once through [`handle`], as the Lambda trigger would deliver it (see
/// [`rota::queue::poll`]). For the dev server and the tests.
pub async fn poll(
    notifier: &Notifier,
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    wait_secs: i32,
) -> Result<usize, Error> {
    rota::queue::poll(sqs, queue_url, wait_secs, |event| handle(notifier, event)).await
}
