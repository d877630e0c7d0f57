//! The weekly-hours check: per person, minutes worked plus still scheduled in the current week
//! (the organisation's week and zone) against their own cap or the organisation's. Everyone near
//! (90 %) or over it has a warning stored for the week (`GET /hours-warnings`), rewritten with each
//! run's figures and removed when they fall below; and each coordinator gets one digest mail a
//! week listing them, claimed with a conditional marker per coordinator and week, sent by the
//! first run that finds anyone near or over.
//!
//! Reads are proportional to the week, never to the organisation's history: the week's shifts and
//! their assignments by start (gsi2, eventually consistent: a warning a run late is no harm), its
//! attendance records by shift start (gsi2), the people and the week's warnings, all in parallel.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use futures_util::{StreamExt, TryStreamExt};
use rota::Error;
use rota::auth::Permission;
use rota::clock::{instant, iso};
use rota::domain::hours::{Level, Place, Record, level, week_loads};
use rota::domain::time::{local_date, week_bounds};
use rota::notify::{DigestLine, Envelope, Message};
use rota::store::entities::Filter;
use rota::store::hours::HoursWarning;
use rota::store::keys;
use rota::store::people::{Person, PersonStatus};
use rota::store::schedule::ShiftStatus;

use crate::{Nightly, SHIFTS_AT_ONCE};

/// How long a digest's marker is kept (then TTL removes it): well past its week.
const DIGEST_MARKER_DAYS: i64 = 60;

/// What one run of the check found and did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct HoursCheck {
    /// The week's first day.
    pub week: String,
    /// People near or over their cap.
    pub warnings: usize,
    /// Digests this run sent (at most one per coordinator and week, over all runs).
    pub digests: usize,
    /// Items the run's reads returned: the week's shifts, records, assignments and warnings, and
    /// the people.
    pub items_read: usize,
}

/// Checks one organisation's current week at `now`.
pub async fn check_weekly_hours(nightly: &Nightly, tenant_id: &str, now: DateTime<Utc>) -> Result<HoursCheck, Error> {
    let store = &nightly.store;
    let Some(tenant) = store.tenant(tenant_id).await? else { return Ok(HoursCheck::default()) };
    let zone = tenant.zone()?;
    let (start, end) = week_bounds(now, zone, tenant.week_start);
    let week = local_date(start, zone).to_string();
    let (from, to) = (instant(start), instant(end));
    let (staffed, records, people, earlier) = tokio::try_join!(
        store.shifts_with_assignments_between(tenant_id, None, (&from, &to)),
        store.all_attendance(tenant_id, (None, None), (&from, &to), Filter::default()),
        store.all::<Person>(tenant_id),
        store.hours_warnings(tenant_id, &week),
    )?;
    let assignments_read: usize = staffed.iter().map(|(_, held)| held.len()).sum();
    let items_read = staffed.len() + assignments_read + records.len() + people.len() + earlier.len();
    let places: Vec<Place> = staffed
        .iter()
        .filter(|(shift, _)| shift.status == ShiftStatus::Published)
        .flat_map(|(shift, held)| {
            let counted = held.iter().filter(|assignment| tenant.settings.counts_as_scheduled(assignment.status));
            counted.map(move |assignment| (shift, assignment))
        })
        .map(|(shift, assignment)| {
            Ok(Place {
                person_id: assignment.person_id.clone(),
                shift_id: shift.id.clone(),
                end: shift.end.parse().map_err(Error::internal)?,
                paid_minutes: (shift.duration_minutes - i64::from(shift.break_minutes)).max(0),
            })
        })
        .collect::<Result<_, Error>>()?;
    let records: Vec<Record> = records
        .iter()
        .map(|record| Record {
            person_id: record.person_id.clone(),
            shift_id: record.shift_id.clone(),
            worked_minutes: record.worked_minutes,
            settled: record.check_out_at.is_some() || record.window_closed || record.overridden,
        })
        .collect();
    let people: HashMap<&str, &Person> = people.iter().map(|person| (person.id.as_str(), person)).collect();
    let checked_at = iso(now);
    let mut warnings: Vec<HoursWarning> = Vec::new();
    for (person_id, load) in week_loads(&places, &records, now) {
        let Some(person) = people.get(person_id.as_str()) else { continue };
        let cap_hours = person.weekly_hours_cap.unwrap_or(tenant.settings.weekly_hours_cap);
        if let Some(level) = level(load.total(), cap_hours) {
            warnings.push(HoursWarning {
                tenant_id: tenant_id.to_owned(),
                person_id,
                person_name: person.name.clone(),
                unit_id: person.unit_id.clone(),
                week: week.clone(),
                worked_minutes: load.worked_minutes,
                scheduled_minutes: load.scheduled_minutes,
                total_minutes: load.total(),
                cap_hours,
                level,
                checked_at: checked_at.clone(),
            });
        }
    }
    let warned: HashSet<&str> = warnings.iter().map(|warning| warning.person_id.as_str()).collect();
    let gone: Vec<&str> =
        earlier.iter().map(|warning| warning.person_id.as_str()).filter(|id| !warned.contains(id)).collect();
    futures_util::future::try_join(
        futures_util::future::try_join_all(warnings.iter().map(|warning| store.hours_warning_put(warning))),
        futures_util::future::try_join_all(gone.iter().map(|id| store.hours_warning_delete(tenant_id, &week, id))),
    )
    .await?;
    let coordinators: Vec<&Person> = people
        .values()
        .copied()
        .filter(|person| {
            person.status == PersonStatus::Active && person.role.permissions().contains(Permission::ScheduleWrite)
        })
        .collect();
    let digests = if warnings.is_empty() { 0 } else { send_digests(nightly, &week, &warnings, &coordinators).await? };
    Ok(HoursCheck { week, warnings: warnings.len(), digests, items_read })
}

/// Sends the week's digest to each coordinator who has not had it; returns how many were sent.
async fn send_digests(
    nightly: &Nightly,
    week: &str,
    warnings: &[HoursWarning],
    coordinators: &[&Person],
) -> Result<usize, Error> {
    let mut sorted = warnings.to_vec();
    sorted.sort_by(HoursWarning::reading_order);
    let people: Vec<DigestLine> = sorted
        .iter()
        .map(|warning| DigestLine {
            name: warning.person_name.clone(),
            total_minutes: warning.total_minutes,
            cap_hours: warning.cap_hours,
            over: warning.level == Level::Over,
        })
        .collect();
    let expires_at = (Utc::now() + Duration::days(DIGEST_MARKER_DAYS)).timestamp();
    // Owned ids: a stream closure taking a reference is not `Send` enough for the worker's task.
    let recipients: Vec<(String, String)> =
        coordinators.iter().map(|coordinator| (coordinator.tenant_id.clone(), coordinator.id.clone())).collect();
    let sent: Vec<bool> = futures_util::stream::iter(recipients)
        .map(|(tenant_id, coordinator_id)| {
            let people = people.clone();
            async move {
                let pk = keys::hours_digests(&tenant_id, week);
                if !nightly.store.claim_once(pk.clone(), &coordinator_id, expires_at).await? {
                    return Ok(false);
                }
                let message = Message::HoursDigest { week: week.to_owned(), people };
                let envelope = Envelope::to_person(&tenant_id, &coordinator_id, message);
                if let Err(error) = rota::queue::send(&nightly.sqs, &nightly.notification_queue, &envelope).await {
                    nightly.store.release_once(pk, &coordinator_id).await?;
                    return Err(error);
                }
                Ok::<_, Error>(true)
            }
        })
        .buffer_unordered(SHIFTS_AT_ONCE)
        .try_collect()
        .await?;
    Ok(sent.into_iter().filter(|sent| *sent).count())
}
