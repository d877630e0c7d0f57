//! Fanning a broadcast out: its job (an envelope naming the broadcast and no person) becomes one
//! envelope per person on site and channel they have, each then sent like any other message
//! (claimed once, paid for, retried) and recorded as a line of the broadcast.
//!
//! The people are worked out once, when the job first runs: those assigned (offered or accepted)
//! to a published shift of the event or location whose check-in window is open now. A job run
//! again (a redelivery) queues the same envelopes under the same ids, so nobody gets it twice.

use chrono::{DateTime, TimeDelta, Utc};
use rota::Error;
use rota::clock::Now;
use rota::domain::attendance::Window;
use rota::domain::time::MAX_SHIFT_MINUTES;
use rota::notify::{ChannelKind, Envelope};
use rota::store::broadcasts::{Broadcast, Recipient, Scope};
use rota::store::people::{Person, PersonStatus};
use rota::store::schedule::{Assignment, AssignmentStatus, Shift, ShiftStatus};

use crate::Notifier;

/// Queues the broadcast `job` names to everyone on site, on each of their channels.
pub(crate) async fn fan_out(notifier: &Notifier, job: &Envelope) -> Result<(), Error> {
    let (Some(tenant_id), Some(broadcast_id)) = (&job.tenant_id, &job.broadcast_id) else {
        return Err(Error::internal("a broadcast job names no organisation or broadcast"));
    };
    let Some((broadcast, _)) = notifier.store.broadcast(tenant_id, broadcast_id).await? else {
        tracing::warn!(broadcast_id, "a job for a broadcast that is not there; dropped");
        return Ok(());
    };
    let recipients = match broadcast.fanned_out_at {
        Some(_) => broadcast.recipients.clone(),
        None => {
            let recipients = recipients(notifier, &broadcast).await?;
            let now = Now::get();
            if notifier.store.broadcast_fanned_out(tenant_id, broadcast_id, &recipients, &now.iso).await? {
                recipients
            } else {
                // Another run kept its list first: that one is the broadcast's.
                let kept = notifier.store.broadcast(tenant_id, broadcast_id).await?;
                kept.map(|(broadcast, _)| broadcast.recipients).unwrap_or_default()
            }
        }
    };
    let envelopes: Vec<Envelope> = recipients
        .iter()
        .flat_map(|recipient| {
            recipient.channels.iter().map(|channel| Envelope {
                id: format!("{broadcast_id}-{}-{}", recipient.person_id, channel.as_str()),
                person_id: Some(recipient.person_id.clone()),
                channel: Some(*channel),
                ..job.clone()
            })
        })
        .collect();
    tracing::info!(broadcast_id, people = recipients.len(), messages = envelopes.len(), "broadcast fanned out");
    rota::queue::send_all(&notifier.sqs, &notifier.queue_url, &envelopes).await
}

/// The people on site for `broadcast`, with the channels each can be reached on.
async fn recipients(notifier: &Notifier, broadcast: &Broadcast) -> Result<Vec<Recipient>, Error> {
    let tenant_id = &broadcast.tenant_id;
    let now = Utc::now();
    let tenant = notifier.store.tenant(tenant_id).await?.ok_or_else(|| Error::internal("the organisation is gone"))?;
    let settings = tenant.settings;
    let open = |shift: &Shift| {
        shift.status == ShiftStatus::Published
            && match (instant(&shift.start), instant(&shift.end)) {
                (Some(start), Some(end)) => Window::of(start, end, &settings).contains(now),
                _ => false,
            }
    };
    let Scope { event_id, location_id } = &broadcast.scope;
    let here = |shift: &Shift| location_id.as_ref().is_none_or(|location| shift.location_id == *location);
    let held: Vec<Assignment> = match event_id {
        Some(event_id) => notifier
            .store
            .event_shifts(tenant_id, event_id)
            .await?
            .into_iter()
            .filter(|(shift, _)| open(shift) && here(shift))
            .flat_map(|(_, assignments)| assignments)
            .collect(),
        None => {
            // A shift on now started at most a day (the longest shift) and the closing minutes
            // ago, and at most the opening minutes ahead.
            let from = now
                - TimeDelta::minutes(MAX_SHIFT_MINUTES)
                - TimeDelta::minutes(i64::from(settings.check_in_closes_minutes_after));
            let to =
                now + TimeDelta::minutes(i64::from(settings.check_in_opens_minutes_before)) + TimeDelta::seconds(1);
            let shifts = notifier
                .store
                .shifts_starting(tenant_id, &rota::clock::instant(from), &rota::clock::instant(to))
                .await?;
            let on_now = shifts.iter().filter(|shift| here(shift) && open(shift));
            let held = on_now.map(|shift| notifier.store.shift_assignments(tenant_id, &shift.id));
            futures_util::future::try_join_all(held).await?.into_iter().flatten().collect()
        }
    };
    let ids: Vec<&str> = held
        .iter()
        .filter(|assignment| assignment.status != AssignmentStatus::Declined)
        .map(|assignment| assignment.person_id.as_str())
        .collect();
    let people: Vec<Person> = notifier.store.entities_among(tenant_id, &ids).await?;
    Ok(people
        .into_iter()
        .filter(|person| person.status != PersonStatus::Inactive)
        .map(|person| Recipient { channels: channels_of(notifier, &person), person_id: person.id, name: person.name })
        .collect())
}

/// Every channel `person` can be reached on: email, and SMS and WhatsApp where they are
/// configured and the person has a phone in international form.
fn channels_of(notifier: &Notifier, person: &Person) -> Vec<ChannelKind> {
    let phone = person.phone.as_deref().and_then(rota::phone::e164).is_some();
    [ChannelKind::Email, ChannelKind::Sms, ChannelKind::Whatsapp]
        .into_iter()
        .filter(|kind| *kind == ChannelKind::Email || (phone && notifier.channel(*kind).is_some()))
        .collect()
}

fn instant(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text).ok().map(|at| at.with_timezone(&Utc))
}
