//! Stale drafts: a draft shift never published 30 days past its start is archived — kept, with
//! its audit entry, but no longer listed. The run reads the organisation's shifts that started
//! since its mark (`JOB#archive_drafts`, less a week for drafts moved back; everything on the
//! first run) up to the cut-off, archives each stale draft in its own conditional transaction
//! (still at the version read), and moves the mark only when all of them are archived.

use chrono::{DateTime, Duration, Utc};
use futures_util::{StreamExt, TryStreamExt};
use rota::Error;
use rota::clock::{instant, iso};
use rota::store::Store;
use rota::store::audit::{Actor, AuditEntry};
use rota::store::entities::{Archivable, Entity};
use rota::store::keys;
use rota::store::schedule::{Shift, ShiftStatus};

use crate::SHIFTS_AT_ONCE;

/// How far before its mark a run looks again: a draft moved a little earlier is still found.
const LOOKBACK_DAYS: i64 = 7;
/// Where the first run starts: before any shift can start (dates are bounded to 2000–2100).
const BEGINNING: &str = "2000-01-01T00:00:00Z";

/// Archives one organisation's drafts that started more than 30 days before `now`; returns how
/// many this run archived.
pub async fn archive_stale_drafts(store: &Store, tenant_id: &str, now: DateTime<Utc>) -> Result<usize, Error> {
    let cutoff = instant(now - Duration::days(Shift::STALE_DRAFT_DAYS));
    let mark = store.job_mark(tenant_id, keys::ARCHIVED_THROUGH_SK).await?;
    let from = match mark.as_deref().map(str::parse::<DateTime<Utc>>) {
        Some(Ok(through)) => instant(through - Duration::days(LOOKBACK_DAYS)),
        _ => BEGINNING.to_owned(),
    };
    let stale: Vec<Shift> = store
        .shifts_starting(tenant_id, &from, &cutoff)
        .await?
        .into_iter()
        .filter(|shift| shift.status == ShiftStatus::Draft && !shift.archived())
        .collect();
    let at = iso(now);
    let actor = Actor::rota(tenant_id, &format!("nightly-{}", ulid::Ulid::new()));
    let archived: Vec<bool> = futures_util::stream::iter(stale)
        .map(|before| {
            let (at, actor) = (&at, &actor);
            async move {
                let mut after = before.clone();
                after.archive(at);
                after.touch(at);
                let audit =
                    AuditEntry::new(actor, "shift.archived", ("shift", &after.id), Some(&before), Some(&after), at);
                let items = vec![store.entity_put(&after, Some(before.version))?, store.audit_put(&audit)?];
                Ok::<_, Error>(store.transact(items).await?.is_ok())
            }
        })
        .buffer_unordered(SHIFTS_AT_ONCE)
        .try_collect()
        .await?;
    let refused = archived.iter().filter(|done| !**done).count();
    if refused > 0 {
        // Changed meanwhile (published, edited, or archived by an overlapping run): the mark
        // stays and the run is retried, which finds what is still a draft.
        return Err(Error::internal(format!("{refused} drafts changed while they were archived")));
    }
    store.set_job_mark(tenant_id, keys::ARCHIVED_THROUGH_SK, &cutoff).await?;
    Ok(archived.len())
}
