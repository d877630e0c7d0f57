//! The nightly worker: the scheduled jobs, taken off the nightly queue (`ROTA_NIGHTLY_QUEUE`).
//!
//! Every hour an EventBridge rule queues `{"job":"sweep"}`; a sweep queues each active
//! organisation's jobs — `close_attendance`, `send_reminders`, `check_weekly_hours` and
//! `archive_stale_drafts`, `issue_invoice`, each `{"job":…,"tenant_id":…}` — and each organisation whose payment
//! is overdue its `dunning` (see [`dunning`]), so each job of each organisation is retried (and,
//! after 5 receives, dead-lettered) on its own. Every job is safe to run again or
//! twice at once: what it does once is claimed by a conditional write.
//!
//! Closing attendance: each place that counts as scheduled (accepted, or offered unless the
//! organisation's offers need an answer) on a published shift whose check-in window closed
//! since the last run gets its record closed with a `window_closed` entry in its log: created
//! `absent` when nobody checked in, `incomplete` and flagged when nobody checked out. Every record
//! is its own conditional transaction (new, or still at the version read), so overlapping runs
//! close a record once; the organisation's mark moves on only when every record is closed, and a
//! run that lost a record to a concurrent change fails, to be retried.
//!
//! Locally the dev server queues a sweep at start and every hour, and drains the queue with
//! [`poll`] into the same [`handle`] the Lambda runs.

mod drafts;
mod dunning;
mod hours;
mod invoices;
mod reminders;

use std::collections::HashMap;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use chrono::{DateTime, Utc};
use futures_util::{StreamExt, TryStreamExt};
use rota::clock::{instant, iso};
use rota::domain::attendance::{Status, Window, closing_range};
use rota::domain::dunning::DEFAULT_GRACE_DAYS;
use rota::domain::settings::Settings;
use rota::store::attendance::{Attendance, AttendanceEvent, Happening, SCHEDULED_JOB};
use rota::store::entities::{Filter, Refused};
use rota::store::invoices::Party;
use rota::store::people::Person;
use rota::store::schedule::{Assignment, Shift};
use rota::store::tenants::Tenant;
use rota::store::{RoundTrips, Store};
use rota::{Config, Error};
use serde::{Deserialize, Serialize};

pub use drafts::archive_stale_drafts;
pub use dunning::collect_overdue;
pub use hours::{HoursCheck, check_weekly_hours};
pub use invoices::issue_invoice;
pub use reminders::send_reminders;

/// How many of an organisation's shifts have their assignments read (or reminders sent) at once.
const SHIFTS_AT_ONCE: usize = 10;
/// How many records are closed at once.
const RECORDS_AT_ONCE: usize = 10;

/// What the worker needs, built once per cold start.
pub struct Nightly {
    pub store: Store,
    pub sqs: aws_sdk_sqs::Client,
    /// The nightly queue's URL: a sweep queues each organisation's job back on it.
    pub queue_url: String,
    /// The notification queue's URL: reminders and digests go out through the notifier.
    pub notification_queue: String,
    /// Days a subscription payment may stay overdue before the organisation is suspended
    /// (`ROTA_DUNNING_GRACE_DAYS`, the operator's; 14 unless set).
    pub dunning_grace_days: i64,
    /// Who Rota's invoices are from (`ROTA_INVOICE_SELLER`, the operator's legal details as JSON:
    /// `{"name", "address_lines", "postcode", "city", "country", "tax_number"}`).
    pub seller: Party,
}

impl Nightly {
    pub async fn from_env() -> Result<Self, String> {
        let config = Config::from_env()?;
        let queue_url = std::env::var("ROTA_NIGHTLY_QUEUE")
            .map_err(|_| "environment variable ROTA_NIGHTLY_QUEUE is not set".to_owned())?;
        let grace = match std::env::var("ROTA_DUNNING_GRACE_DAYS") {
            Ok(days) => days.parse().map_err(|_| format!("ROTA_DUNNING_GRACE_DAYS is not a number of days: {days}"))?,
            Err(_) => DEFAULT_GRACE_DAYS,
        };
        let seller = match std::env::var("ROTA_INVOICE_SELLER") {
            Ok(json) if !json.is_empty() => {
                serde_json::from_str(&json).map_err(|error| format!("ROTA_INVOICE_SELLER is not a seller: {error}"))?
            }
            _ => Party::named("Rota"),
        };
        Ok(Self { dunning_grace_days: grace, seller, ..Self::new(&config, queue_url).await })
    }

    pub async fn new(config: &Config, queue_url: String) -> Self {
        let sdk = rota::aws::sdk_config().await;
        Self {
            store: Store::from_sdk(&sdk, config.table.clone(), RoundTrips::default()),
            sqs: aws_sdk_sqs::Client::new(&sdk),
            queue_url,
            notification_queue: config.notification_queue.clone(),
            dunning_grace_days: DEFAULT_GRACE_DAYS,
            seller: Party::named("Rota"),
        }
    }
}

/// A message of the nightly queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "job", rename_all = "snake_case", deny_unknown_fields)]
pub enum Job {
    /// Queue each active organisation's jobs (from the hourly schedule).
    Sweep,
    /// Close the check-in windows of one organisation's shifts that closed since the last run.
    CloseAttendance { tenant_id: String },
    /// Remind one organisation's people of their shifts starting soon.
    SendReminders { tenant_id: String },
    /// Check one organisation's current week against the weekly hours caps.
    CheckWeeklyHours { tenant_id: String },
    /// Archive one organisation's drafts left unpublished 30 days past their start.
    ArchiveStaleDrafts { tenant_id: String },
    /// Invoice one organisation's billing period that ended.
    IssueInvoice { tenant_id: String },
    /// Remind the owners of one organisation whose payment is overdue, or suspend it.
    Dunning { tenant_id: String },
}

impl Job {
    /// Every job of one organisation, as a sweep queues them.
    pub fn of_organisation(tenant_id: &str) -> [Job; 5] {
        let tenant_id = tenant_id.to_owned();
        [
            Job::CloseAttendance { tenant_id: tenant_id.clone() },
            Job::SendReminders { tenant_id: tenant_id.clone() },
            Job::CheckWeeklyHours { tenant_id: tenant_id.clone() },
            Job::ArchiveStaleDrafts { tenant_id: tenant_id.clone() },
            Job::IssueInvoice { tenant_id },
        ]
    }
}

/// The whole `main` of the Lambda.
pub async fn run_lambda() -> Result<(), lambda_runtime::Error> {
    rota::telemetry::init();
    let nightly = Nightly::from_env().await?;
    rota::queue::serve(|event| handle(&nightly, event)).await
}

/// Handles a batch: every job on its own, the failed ones reported by message id.
pub async fn handle(nightly: &Nightly, event: SqsEvent) -> SqsBatchResponse {
    rota::queue::each(&event, |record: &SqsMessage| async move {
        let body = record.body.as_deref().unwrap_or_default();
        let job: Job = serde_json::from_str(body).map_err(|e| Error::internal(format!("not a nightly job: {e}")))?;
        match job {
            Job::Sweep => sweep(nightly).await.map(drop),
            Job::CloseAttendance { tenant_id } => {
                let closed = close_attendance(&nightly.store, &tenant_id, Utc::now()).await?;
                tracing::info!(tenant_id, absent = closed.absent, incomplete = closed.incomplete, "windows closed");
                rota::metrics::count("RecordsClosed", ("Status", "absent"), closed.absent);
                rota::metrics::count("RecordsClosed", ("Status", "incomplete"), closed.incomplete);
                Ok(())
            }
            Job::SendReminders { tenant_id } => {
                let reminded = send_reminders(nightly, &tenant_id, Utc::now()).await?;
                tracing::info!(tenant_id, reminded, "reminders sent");
                Ok(())
            }
            Job::CheckWeeklyHours { tenant_id } => {
                let checked = check_weekly_hours(nightly, &tenant_id, Utc::now()).await?;
                tracing::info!(
                    tenant_id,
                    week = checked.week,
                    warnings = checked.warnings,
                    digests = checked.digests,
                    items_read = checked.items_read,
                    "weekly hours checked"
                );
                Ok(())
            }
            Job::ArchiveStaleDrafts { tenant_id } => {
                let archived = archive_stale_drafts(&nightly.store, &tenant_id, Utc::now()).await?;
                tracing::info!(tenant_id, archived, "stale drafts archived");
                Ok(())
            }
            Job::IssueInvoice { tenant_id } => {
                let invoice = issue_invoice(nightly, &tenant_id, Utc::now()).await?;
                tracing::info!(tenant_id, invoice = invoice.map(|invoice| invoice.id), "invoicing");
                Ok(())
            }
            Job::Dunning { tenant_id } => {
                let step = collect_overdue(nightly, &tenant_id, Utc::now()).await?;
                tracing::info!(tenant_id, suspended = step.suspend, notice = ?step.notice, "dunning");
                Ok(())
            }
        }
    })
    .await
}

/// Drains the nightly queue once through [`handle`] (see [`rota::queue::poll`]). For the dev
/// server and the tests.
pub async fn poll(nightly: &Nightly, wait_secs: i32) -> Result<usize, Error> {
    rota::queue::poll(&nightly.sqs, &nightly.queue_url, wait_secs, |event| handle(nightly, event)).await
}

/// Queues every active organisation's jobs and every overdue one's dunning; returns how many
/// jobs were queued.
pub async fn sweep(nightly: &Nightly) -> Result<usize, Error> {
    let (active, overdue) = tokio::try_join!(nightly.store.active_tenant_ids(), nightly.store.past_due_tenant_ids())?;
    let jobs: Vec<Job> = active
        .iter()
        .flat_map(|tenant_id| Job::of_organisation(tenant_id))
        .chain(overdue.into_iter().map(|tenant_id| Job::Dunning { tenant_id }))
        .collect();
    rota::queue::send_all(&nightly.sqs, &nightly.queue_url, &jobs).await?;
    Ok(jobs.len())
}

/// The places on `shifts` that count as scheduled (accepted, or offered unless offers need an
/// answer), each with its shift: the shifts' assignments, ten shifts at a time. Also answers how
/// many assignments were read.
pub(crate) async fn counted_places(
    store: &Store,
    tenant: &Tenant,
    shifts: Vec<Shift>,
) -> Result<(Vec<(Shift, Assignment)>, usize), Error> {
    let per_shift: Vec<(Shift, Vec<Assignment>)> = futures_util::stream::iter(shifts)
        .map(|shift| async move {
            let assignments = store.shift_assignments(&tenant.id, &shift.id).await?;
            Ok::<_, Error>((shift, assignments))
        })
        .buffer_unordered(SHIFTS_AT_ONCE)
        .try_collect()
        .await?;
    let read = per_shift.iter().map(|(_, assignments)| assignments.len()).sum();
    let places = per_shift
        .into_iter()
        .flat_map(|(shift, assignments)| {
            assignments
                .into_iter()
                .filter(|assignment| tenant.settings.counts_as_scheduled(assignment.status))
                .map(move |assignment| (shift.clone(), assignment))
        })
        .collect();
    Ok((places, read))
}

/// What one run of [`close_attendance`] closed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Closed {
    pub absent: usize,
    pub incomplete: usize,
}

/// Closes the records of one organisation's check-in windows that closed in `(since, now]`
/// (see [`closing_range`]) and moves its mark to `now`.
///
/// Reads: the organisation and its mark (and moves any records kept as before, see
/// [`Store::attendance_moved_home`]), then its published shifts by start, then the closing
/// shifts' assignments, then their records and people. Writes: one transaction per record, then
/// the mark.
pub async fn close_attendance(store: &Store, tenant_id: &str, now: DateTime<Utc>) -> Result<Closed, Error> {
    // Records still in the organisation's partition are moved first: they are closed at their own.
    let (tenant, last_run, _) = tokio::try_join!(
        store.tenant(tenant_id),
        store.closed_through(tenant_id),
        store.attendance_moved_home(tenant_id)
    )?;
    let Some(tenant) = tenant else { return Ok(Closed::default()) };
    let settings = &tenant.settings;
    let last_run = last_run.and_then(|at| at.parse::<DateTime<Utc>>().ok());
    let (since, from) = closing_range(last_run, now, settings);
    let (from, to) = (instant(from), instant(now));
    let closing: Vec<Shift> = store
        .published_shifts(tenant_id, &from, &to)
        .await?
        .into_iter()
        .filter(|shift| {
            let (Ok(start), Ok(end)) = (shift.start.parse(), shift.end.parse()) else { return false };
            let closes_at = Window::of(start, end, settings).closes_at;
            since < closes_at && closes_at <= now
        })
        .collect();
    let (places, _) = counted_places(store, &tenant, closing).await?;
    let closed =
        if places.is_empty() { Closed::default() } else { close(store, tenant_id, settings, places, now).await? };
    store.set_closed_through(tenant_id, &iso(now)).await?;
    Ok(closed)
}

/// Closes the records of `places` (at least one), whose windows have closed: the records of their
/// shifts' starts and the people read in parallel, then one transaction per record.
async fn close(
    store: &Store,
    tenant_id: &str,
    settings: &Settings,
    places: Vec<(Shift, Assignment)>,
    now: DateTime<Utc>,
) -> Result<Closed, Error> {
    let person_ids: Vec<&str> = places.iter().map(|(_, assignment)| assignment.person_id.as_str()).collect();
    let first = places.iter().map(|(shift, _)| shift.start.as_str()).min().unwrap_or_default();
    let last = places.iter().map(|(shift, _)| shift.start.as_str()).max().unwrap_or_default();
    // Shift starts are stored to the second: the second after the last start bounds it from above.
    let after_last = instant(last.parse::<DateTime<Utc>>().map_err(Error::internal)? + chrono::TimeDelta::seconds(1));
    let (records, people) = tokio::try_join!(
        store.all_attendance(tenant_id, (None, None), (first, &after_last), Filter::default()),
        store.entities_among::<Person>(tenant_id, &person_ids)
    )?;
    let records: HashMap<String, Attendance> = records.into_iter().map(|record| (record.id.clone(), record)).collect();
    let people: HashMap<String, Person> = people.into_iter().map(|person| (person.id.clone(), person)).collect();
    let at = iso(now);
    let mut to_close: Vec<(Attendance, Option<Attendance>)> = Vec::new();
    for (shift, assignment) in &places {
        match records.get(&assignment.id) {
            None => {
                let person = people.get(&assignment.person_id);
                let (name, rate) = person.map_or(("", None), |person| (person.name.as_str(), person.hourly_rate_minor));
                to_close.push((Attendance::of(shift, assignment, name, rate, &at), None));
            }
            Some(record) if record.open_after_window() => to_close.push((record.clone(), Some(record.clone()))),
            Some(_) => {}
        }
    }
    let outcomes: Vec<Result<Option<Status>, Refused>> = futures_util::stream::iter(to_close)
        .map(|(mut record, before)| {
            let at = &at;
            async move {
                let event = AttendanceEvent::new(&record.id, SCHEDULED_JOB, at, Happening::WindowClosed);
                record.apply(&event, settings);
                let items = store.attendance_put(before.as_ref(), &record, &event, None)?;
                Ok::<_, Error>(store.transact(items).await?.map(|()| record.status))
            }
        })
        .buffer_unordered(RECORDS_AT_ONCE)
        .try_collect()
        .await?;
    let refused = outcomes.iter().filter(|outcome| outcome.is_err()).count();
    if refused > 0 {
        // Changed meanwhile (an overlapping run, a correction): the mark stays, the run is retried.
        return Err(Error::internal(format!("{refused} records changed while their windows were closed")));
    }
    Ok(Closed {
        absent: outcomes.iter().filter(|status| matches!(status, Ok(Some(Status::Absent)))).count(),
        incomplete: outcomes.iter().filter(|status| matches!(status, Ok(Some(Status::Incomplete)))).count(),
    })
}
