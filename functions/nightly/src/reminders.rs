//! Shift reminders: everyone holding a place that counts as scheduled on a published shift hears
//! of it `reminder_hours_before` (a setting; 0 turns reminders off) before it starts, once. Each
//! reminder is claimed with a conditional marker per assignment and start (a moved shift is
//! reminded again at its new time), so runs that overlap or repeat send it once; a reminder whose
//! queueing fails gives its marker back and fails the run, to be retried.

use chrono::{DateTime, Duration, Utc};
use futures_util::{StreamExt, TryStreamExt};
use rota::Error;
use rota::clock::instant;
use rota::notify::{Envelope, Message, ShiftSummary};
use rota::store::keys;
use rota::store::schedule::{Assignment, Shift};

use crate::{Nightly, SHIFTS_AT_ONCE, counted_places};

/// How long a reminder's marker outlives its shift's start (then TTL removes it).
const MARKER_DAYS: i64 = 2;

/// Reminds everyone on one organisation's published shifts starting within
/// `[now, now + reminder_hours_before)` who has not been reminded yet; returns how many were
/// reminded by this run.
pub async fn send_reminders(nightly: &Nightly, tenant_id: &str, now: DateTime<Utc>) -> Result<usize, Error> {
    let store = &nightly.store;
    let Some(tenant) = store.tenant(tenant_id).await? else { return Ok(0) };
    let hours = tenant.settings.reminder_hours_before;
    if hours == 0 {
        return Ok(0);
    }
    let until = now + Duration::hours(i64::from(hours));
    let shifts = store.published_shifts(tenant_id, &instant(now), &instant(until)).await?;
    let (places, _) = counted_places(store, &tenant, shifts).await?;
    let reminded: Vec<bool> = futures_util::stream::iter(places)
        .map(|(shift, assignment)| async move { remind(nightly, &shift, &assignment).await })
        .buffer_unordered(SHIFTS_AT_ONCE)
        .try_collect()
        .await?;
    Ok(reminded.into_iter().filter(|sent| *sent).count())
}

/// Claims the place's reminder and queues it; `false` when it was reminded before.
async fn remind(nightly: &Nightly, shift: &Shift, assignment: &Assignment) -> Result<bool, Error> {
    let store = &nightly.store;
    let (pk, sk) = (keys::reminded(&shift.tenant_id), format!("{}#{}", assignment.id, shift.start));
    let start: DateTime<Utc> = shift.start.parse().map_err(Error::internal)?;
    let expires_at = (start + Duration::days(MARKER_DAYS)).timestamp();
    if !store.claim_once(pk.clone(), &sk, expires_at).await? {
        return Ok(false);
    }
    let message = Message::ShiftReminder { shift: ShiftSummary::of(shift) };
    let envelope = Envelope::to_person(&shift.tenant_id, &assignment.person_id, message);
    if let Err(error) = rota::queue::send(&nightly.sqs, &nightly.notification_queue, &envelope).await {
        store.release_once(pk, &sk).await?;
        return Err(error);
    }
    Ok(true)
}
