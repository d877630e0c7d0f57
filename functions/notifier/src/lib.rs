//! The notifier worker: takes envelopes off the notification queue and sends each once.
//!
//! Per record: claim the envelope's id (a conditional put of a `SENT#` marker, so a redelivery or
//! a concurrent delivery sends nothing), check the recipient's opt-outs and quiet hours (a message
//! inside them is queued again until they end: `defer`), then send through the person's channels
//! in the order they prefer (email, SMS, WhatsApp: see [`route`]), each paid for at its price in
//! credits before it is tried and given back if it fails (account mail is free) — a failing
//! provider is waited for, then passed over (see `retry`) — and log the attempt with the channel
//! that carried it for the organisation's admins. A record that no channel takes is reported in
//! the batch response alone (`ReportBatchItemFailures`); SQS retries it and, after 5 receives,
//! moves it to the dead-letter queue. A broadcast's job is fanned out to one envelope per person
//! and channel (`broadcast`).
//!
//! Locally the dev server and the tests call [`poll`], which drains the queue into the same
//! [`handle`] the Lambda runs.

mod broadcast;
mod channel;
mod retry;
mod sms;
mod webhooks;
mod whatsapp;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use rota::clock::Now;
use rota::notify::{ChannelKind, Envelope, Kind, Rendered, render};
use rota::store::broadcasts::{Line, line_key};
use rota::store::notifications::{DeliveryStatus, Notification};
use rota::store::people::Person;
use rota::store::{RoundTrips, Store};
use rota::{Config, Error};

pub use channel::{Channel, SendError, Sent, Ses};
pub use sms::{Sms, SmsSettings};
pub use whatsapp::{WhatsApp, WhatsAppSettings};

/// What the worker needs, built once per cold start.
pub struct Notifier {
    pub store: Store,
    pub email: Box<dyn Channel>,
    /// SMS and WhatsApp, where their providers are configured (`ROTA_SMS_*`, `ROTA_WHATSAPP_*`).
    pub sms: Option<Box<dyn Channel>>,
    pub whatsapp: Option<Box<dyn Channel>>,
    pub app_url: String,
    /// What each channel costs, in credits.
    pub prices: rota::notify::MessagePrices,
    /// The notification queue, whose messages' visibility a failed send pushes back.
    pub sqs: aws_sdk_sqs::Client,
    pub queue_url: String,
    /// Outgoing webhooks' deliveries, and how the retry schedule is scaled (see `Config`).
    pub webhooks: rota::webhooks::Sender,
    pub webhook_retry_scale: f64,
}

impl Notifier {
    pub async fn from_env() -> Result<Self, String> {
        Self::new(&Config::from_env()?).await
    }

    pub async fn new(config: &Config) -> Result<Self, String> {
        let sdk = rota::aws::sdk_config().await;
        let ses = aws_sdk_ses::Client::new(&sdk);
        Ok(Self {
            store: Store::from_sdk(&sdk, config.table.clone(), RoundTrips::default()),
            email: Box::new(Ses::new(ses, config.mail_from.clone())),
            sms: SmsSettings::from_env(config.api_url.as_deref())
                .map(Sms::new)
                .transpose()?
                .map(|sms| Box::new(sms) as Box<dyn Channel>),
            whatsapp: WhatsAppSettings::from_env()
                .map(WhatsApp::new)
                .transpose()?
                .map(|whatsapp| Box::new(whatsapp) as Box<dyn Channel>),
            app_url: config.app_url.clone(),
            prices: config.message_prices,
            sqs: aws_sdk_sqs::Client::new(&sdk),
            queue_url: config.notification_queue.clone(),
            webhooks: rota::webhooks::Sender::new(config.webhook_reach),
            webhook_retry_scale: config.webhook_retry_scale,
        })
    }

    fn channel(&self, kind: ChannelKind) -> Option<&dyn Channel> {
        match kind {
            ChannelKind::Email => Some(self.email.as_ref()),
            ChannelKind::Sms => self.sms.as_deref(),
            ChannelKind::Whatsapp => self.whatsapp.as_deref(),
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
    if let Ok(rota::webhooks::Queued { webhook }) = serde_json::from_str(body) {
        return webhooks::handle(notifier, webhook).await;
    }
    let envelope: Envelope =
        serde_json::from_str(body).map_err(|e| Error::internal(format!("not an envelope: {e}")))?;
    if envelope.broadcast_id.is_some() && envelope.person_id.is_none() {
        return broadcast::fan_out(notifier, &envelope).await;
    }
    let now = Now::get();
    if !notifier.store.claim_delivery(&envelope.id, now.epoch).await? {
        tracing::info!(envelope_id = envelope.id, "already delivered; skipped");
        return Ok(());
    }
    let mut envelope = envelope;
    let receive_count =
        record.attributes.get("ApproximateReceiveCount").and_then(|count| count.parse().ok()).unwrap_or(1);
    let failed = match attempt(notifier, &mut envelope, receive_count).await {
        Ok(Ok(outcome)) if outcome.status == DeliveryStatus::Deferred => {
            return defer(notifier, envelope, outcome).await;
        }
        Ok(Ok(outcome)) => return log(notifier, &envelope, outcome, &now.iso).await,
        Ok(Err(not_sent)) => not_sent,
        Err(error) => {
            // Not sent: give the claim back so the retry can send, and log the failure.
            notifier.store.release_delivery(&envelope.id).await?;
            log(notifier, &envelope, Outcome::skipped(DeliveryStatus::Failed), &now.iso).await?;
            return Err(error);
        }
    };
    // No channel took it: the claim back, the failure logged, and the next receive pushed back
    // (exponential backoff, the provider's Retry-After).
    notifier.store.release_delivery(&envelope.id).await?;
    let jitter = f64::from(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().subsec_nanos() % 1000,
    ) / 1000.0;
    let delay = retry::delay_secs(receive_count, &failed.failure, jitter);
    let detail = format!("{} (receive {receive_count}; tried again in {delay} s)", failed.failure);
    let outcome = Outcome {
        channel: Some(failed.channel),
        detail: Some(detail.clone()),
        ..Outcome::skipped(DeliveryStatus::Failed)
    };
    log(notifier, &envelope, outcome, &now.iso).await?;
    if let Some(receipt) = &record.receipt_handle {
        let visibility = i32::try_from(delay).unwrap_or(i32::MAX);
        let pushed = notifier
            .sqs
            .change_message_visibility()
            .queue_url(&notifier.queue_url)
            .receipt_handle(receipt)
            .visibility_timeout(visibility)
            .send()
            .await;
        if let Err(error) = pushed {
            tracing::warn!(error = %rota::queue::sqs_error(error), "the retry keeps the queue's visibility timeout");
        }
    }
    Err(Error::internal(detail))
}

/// A message no channel took now: the last channel tried, and why it failed.
struct NotSent {
    channel: ChannelKind,
    failure: SendError,
}

/// The channels a message may go by, in order, each with the address it takes: an address the
/// envelope names is email's (a phone number's: SMS, then WhatsApp); a person's own are taken in
/// the order they prefer (email when they said nothing), each only where its provider is
/// configured and the person has an address for it (a number in E.164 for SMS and WhatsApp) and
/// the organisation lets the message's kind go by it (`allowed`, when it limits them; email always
/// may), and email last of all if they did not list it.
pub fn route<'a>(
    notifier: &'a Notifier,
    to: &str,
    person: Option<&Person>,
    allowed: Option<&[ChannelKind]>,
) -> Vec<(ChannelKind, &'a dyn Channel, String)> {
    let Some(person) = person.filter(|_| to.is_empty()) else {
        // A phone number (a sign-in code, which must reach that phone) goes by SMS, then WhatsApp,
        // or the other way round for a person who put WhatsApp first.
        if let Some(phone) = rota::phone::e164(to) {
            let at = |kind| person.and_then(|person| person.channels.iter().position(|listed| *listed == kind));
            let phones = match (at(ChannelKind::Whatsapp), at(ChannelKind::Sms)) {
                (Some(whatsapp), sms) if sms.is_none_or(|sms| whatsapp < sms) => {
                    [ChannelKind::Whatsapp, ChannelKind::Sms]
                }
                _ => [ChannelKind::Sms, ChannelKind::Whatsapp],
            };
            return phones
                .into_iter()
                .filter_map(|kind| Some((kind, notifier.channel(kind)?, phone.clone())))
                .collect();
        }
        return vec![(ChannelKind::Email, notifier.email.as_ref(), to.to_owned())];
    };
    let mut preferred = person.channels.clone();
    if !preferred.contains(&ChannelKind::Email) {
        preferred.push(ChannelKind::Email);
    }
    let phone = person.phone.as_deref().and_then(rota::phone::e164);
    preferred
        .into_iter()
        .filter(|kind| *kind == ChannelKind::Email || allowed.is_none_or(|allowed| allowed.contains(kind)))
        .filter_map(|kind| {
            let address = match kind {
                ChannelKind::Email => person.email.clone(),
                ChannelKind::Sms | ChannelKind::Whatsapp => phone.clone()?,
            };
            Some((kind, notifier.channel(kind)?, address))
        })
        .collect()
}

/// What became of a message sent now.
struct Outcome {
    status: DeliveryStatus,
    /// The channel that carried it.
    channel: Option<ChannelKind>,
    /// The provider's id for it (`SM…`, `wamid.…`), which its status callbacks name.
    provider_id: Option<String>,
    /// Why it failed, and when it is tried again.
    detail: Option<String>,
    /// Deferred: until when (the end of the recipient's quiet hours).
    until: Option<chrono::DateTime<chrono::Utc>>,
}

impl Outcome {
    fn skipped(status: DeliveryStatus) -> Self {
        Self { status, channel: None, provider_id: None, detail: None, until: None }
    }
}

/// The one channel an envelope names (a broadcast's), with the person's address for it: none when
/// it is not configured or the person has no such address.
fn only<'a>(
    notifier: &'a Notifier,
    kind: ChannelKind,
    person: Option<&Person>,
) -> Vec<(ChannelKind, &'a dyn Channel, String)> {
    let address = person.and_then(|person| match kind {
        ChannelKind::Email => Some(person.email.clone()),
        ChannelKind::Sms | ChannelKind::Whatsapp => person.phone.as_deref().and_then(rota::phone::e164),
    });
    address.and_then(|address| Some((kind, notifier.channel(kind)?, address))).into_iter().collect()
}

/// Sends `rendered` by the first channel of `route` that takes it (the `receive_count`th time
/// the message is tried), each paid for before it is tried at its price (`tenant_id`'s, in
/// `month`; account mail is free) and given back when it fails: the outcome, the address it went
/// to, or why no channel took it. A channel the organisation cannot pay for is passed over; a
/// failed channel passes the message on only when [`retry::falls_back`] says so, else the message
/// waits for it.
async fn send(
    notifier: &Notifier,
    envelope: &Envelope,
    route: Vec<(ChannelKind, &dyn Channel, String)>,
    rendered: &Rendered,
    receive_count: u32,
    payer: Option<(&str, &str)>,
) -> Result<Result<(Outcome, String), NotSent>, Error> {
    let mut failed = None;
    for (kind, channel, address) in route {
        let charge = match payer {
            Some((tenant_id, month)) => {
                let credits = notifier.prices.of(kind, channel.units(rendered));
                match notifier.store.charge_message(tenant_id, month, &envelope.id, kind, credits).await? {
                    Some(charge) => Some((tenant_id, charge)),
                    None => continue,
                }
            }
            None => None,
        };
        match channel.send(&address, rendered).await {
            Ok(sent) => {
                let outcome = Outcome {
                    channel: Some(kind),
                    provider_id: Some(sent.provider_id),
                    ..Outcome::skipped(DeliveryStatus::Sent)
                };
                return Ok(Ok((outcome, address)));
            }
            Err(failure) => {
                tracing::warn!(channel = ?kind, %failure, receive_count, "not sent");
                if let Some((tenant_id, charge)) = &charge {
                    notifier.store.refund(tenant_id, charge, &envelope.id, kind).await?;
                }
                let next = retry::falls_back(receive_count, &failure);
                failed = Some(NotSent { channel: kind, failure });
                if !next {
                    break;
                }
            }
        }
    }
    Ok(match failed {
        Some(failed) => Err(failed),
        // Every channel was passed over: none the organisation could pay for, or none at all.
        None if payer.is_some() => Ok((Outcome::skipped(DeliveryStatus::SkippedNoCredit), String::new())),
        None => Err(NotSent {
            channel: ChannelKind::Email,
            failure: SendError::Refused("no channel reaches the recipient".into()),
        }),
    })
}

/// Opt-outs, then the channels (each paid for). Returns what became of the envelope, or why no
/// channel took it.
async fn attempt(
    notifier: &Notifier,
    envelope: &mut Envelope,
    receive_count: u32,
) -> Result<Result<Outcome, NotSent>, Error> {
    let kind = envelope.message.kind();
    // The person's opt-outs (account mail has none), and their channels and addresses as they are
    // now when the envelope names no address (or which of a phone's channels they prefer, for a
    // sign-in code).
    let mut person = None;
    let mut allowed = None;
    if let (Some(tenant_id), Some(person_id)) = (&envelope.tenant_id, &envelope.person_id)
        && (!kind.is_account_mail() || envelope.to.is_empty() || kind == Kind::SignInCode)
    {
        // The person and the organisation's channels for the kind and time zone, in parallel.
        let (read, tenant) =
            tokio::try_join!(notifier.store.entity::<Person>(tenant_id, person_id), notifier.store.tenant(tenant_id))?;
        person = read;
        let zone = tenant.as_ref().and_then(|tenant| tenant.time_zone.parse().ok()).unwrap_or(chrono_tz::UTC);
        allowed = tenant.and_then(|tenant| tenant.settings.channels_for(kind).map(<[ChannelKind]>::to_vec));
        if envelope.to.is_empty() && person.is_none() {
            return Err(Error::internal("the recipient is not in the organisation"));
        }
        if !kind.is_account_mail()
            && !envelope.message.is_urgent()
            && person.as_ref().is_some_and(|person| person.notification_opt_outs.contains(&kind))
        {
            envelope.to = person.map(|person| person.email).unwrap_or_default();
            return Ok(Ok(Outcome::skipped(DeliveryStatus::OptedOut)));
        }
        let quiet = person.as_ref().and_then(|person| person.quiet_hours.as_ref());
        if let Some(until) = quiet
            .filter(|_| !kind.is_account_mail() && !envelope.message.is_urgent())
            .and_then(|quiet| quiet.until(chrono::Utc::now(), zone))
        {
            envelope.to = person.map(|person| person.email).unwrap_or_default();
            let detail = format!("quiet hours until {}", rota::clock::iso(until));
            return Ok(Ok(Outcome {
                detail: Some(detail),
                until: Some(until),
                ..Outcome::skipped(DeliveryStatus::Deferred)
            }));
        }
    }
    // The month (`yyyy-mm` of the ISO instant) the message counts in: the plan's messages of the
    // month are used first, then credits.
    let month = &Now::get().iso[..7];
    let payer = envelope.tenant_id.as_deref().filter(|_| !kind.is_account_mail()).map(|tenant_id| (tenant_id, month));
    let rendered = render(&envelope.message, &notifier.app_url);
    let route = match envelope.channel {
        Some(channel) => only(notifier, channel, person.as_ref()),
        None => route(notifier, &envelope.to, person.as_ref(), allowed.as_deref()),
    };
    let sent = send(notifier, envelope, route, &rendered, receive_count, payer).await?;
    // The log names the address it went to, else the one it was meant for.
    let (outcome, address) = match sent {
        Ok((outcome, address)) => (Ok(outcome), address),
        Err(not_sent) => (Err(not_sent), String::new()),
    };
    if !address.is_empty() {
        envelope.to = address;
    } else if envelope.to.is_empty() {
        envelope.to = person.map(|person| person.email).unwrap_or_default();
    }
    let Ok(outcome) = outcome else { return Ok(outcome) };
    if outcome.status == DeliveryStatus::Sent {
        // The platform's count of this month's messages. The message is out: a failure here must
        // not make the queue send it again.
        if let Err(error) = notifier.store.count_sent(month, &envelope.id).await {
            tracing::warn!(error = %error, "the monthly message count missed one");
        }
    }
    Ok(Ok(outcome))
}

/// Puts a message off until its recipient's quiet hours end: the claim given back, and the
/// envelope queued again out of sight until then, in hops of SQS's longest delay (15 minutes; a
/// night of 8 hours is 32 hops, each a fresh message, so waiting never uses up its receives).
/// Logged the first time only.
async fn defer(notifier: &Notifier, mut envelope: Envelope, outcome: Outcome) -> Result<(), Error> {
    notifier.store.release_delivery(&envelope.id).await?;
    let wait = outcome.until.map(|until| (until - chrono::Utc::now()).num_seconds()).unwrap_or(0);
    let first = !envelope.deferred;
    envelope.deferred = true;
    rota::queue::send_later(&notifier.sqs, &notifier.queue_url, &envelope, i32::try_from(wait.max(1)).unwrap_or(900))
        .await?;
    if first {
        log(notifier, &envelope, outcome, &Now::get().iso).await?;
    }
    Ok(())
}

/// The organisation's log of the attempt (mail sent before an organisation exists has none), and
/// the broadcast's line when it is one of a broadcast's messages.
async fn log(notifier: &Notifier, envelope: &Envelope, outcome: Outcome, at: &str) -> Result<(), Error> {
    rota::metrics::count("Notifications", ("Status", &rota::metrics::name_of(&outcome.status)), 1);
    let Some(tenant_id) = &envelope.tenant_id else { return Ok(()) };
    let line = match (&envelope.broadcast_id, &envelope.person_id, outcome.channel.or(envelope.channel)) {
        (Some(broadcast_id), Some(person_id), Some(channel)) => Some((
            broadcast_id,
            Line {
                person_id: person_id.clone(),
                channel,
                status: outcome.status,
                detail: outcome.detail.clone(),
                at: at.to_owned(),
            },
        )),
        _ => None,
    };
    let way_back =
        line.as_ref().map(|(broadcast_id, line)| line_key(tenant_id, broadcast_id, &line.person_id, line.channel));
    let notification = Notification {
        id: envelope.id.clone(),
        tenant_id: tenant_id.clone(),
        kind: envelope.message.kind(),
        recipient: envelope.to.clone(),
        person_id: envelope.person_id.clone(),
        status: outcome.status,
        channel: outcome.channel,
        provider_id: outcome.provider_id,
        reported_at: None,
        detail: outcome.detail,
        at: at.to_owned(),
    };
    match &line {
        Some((broadcast_id, line)) => {
            tokio::try_join!(
                notifier.store.record_notification(&notification, way_back),
                notifier.store.record_broadcast_line(tenant_id, broadcast_id, line),
            )?;
            Ok(())
        }
        None => notifier.store.record_notification(&notification, None).await,
    }
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
