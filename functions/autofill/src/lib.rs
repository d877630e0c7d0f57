//! The auto-fill worker, on the auto-fill queue (`ROTA_AUTO_FILL_QUEUE`): `POST /auto-fill` queues
//! an [`AutoFillJob`]; the worker reads the period once (its open places, the people who could take
//! them with their schedules and availability, the organisation's rules), judges every pair with
//! the conflict engine, runs the solver within the job's time limit (the best score so far on the
//! job every second), and keeps the proposal in the bucket (docs/auto-fill.md).
//!
//! A job runs once: a delivery of a finished job does nothing; one of a job left `solving` (a
//! worker that died) solves again. Anything that goes wrong marks the job `failed` with a reason,
//! so a coordinator is never left watching `solving` forever.
//!
//! Locally the dev server drains the queue with [`poll`] into the same [`handle`] the Lambda runs.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use chrono::{Days, NaiveDate, NaiveTime};
use rota::clock::{Now, iso};
use rota::domain::auto_fill::{Built, Place, Worker, build, proposal};
use rota::domain::time::resolve;
use rota::files::Files;
use rota::store::auto_fill::{AutoFill, AutoFillJob, AutoFillStatus, AutoFillSummary, Score};
use rota::store::entities::Entity;
use rota::store::people::{Person, PersonStatus};
use rota::store::placing::{candidate, preferred_windows, rules, slot, zone};
use rota::store::schedule::{AssignmentStatus, ShiftStatus};
use rota::store::{RoundTrips, Store};
use rota::{Config, Error};

/// The seed of every solve: the same period read the same way, searched as long, is proposed the
/// same way.
const SEED: u64 = 1;

/// What the worker needs, built once per cold start.
pub struct AutoFiller {
    pub store: Store,
    pub files: Files,
    pub sqs: aws_sdk_sqs::Client,
    pub queue_url: String,
}

impl AutoFiller {
    pub async fn from_env() -> Result<Self, String> {
        let config = Config::from_env()?;
        let queue_url = config.auto_fill_queue.clone().ok_or("environment variable ROTA_AUTO_FILL_QUEUE is not set")?;
        Ok(Self::new(&config, queue_url, RoundTrips::default()).await)
    }

    pub async fn new(config: &Config, queue_url: String, round_trips: RoundTrips) -> Self {
        let sdk = rota::aws::sdk_config().await;
        Self {
            store: Store::from_sdk(&sdk, config.table.clone(), round_trips),
            files: Files::new(rota::aws::LazyClient::new::<true>(&sdk), config.bucket.clone()),
            sqs: aws_sdk_sqs::Client::new(&sdk),
            queue_url,
        }
    }
}

/// The whole `main` of the Lambda.
pub async fn run_lambda() -> Result<(), lambda_runtime::Error> {
    rota::telemetry::init();
    let filler = AutoFiller::from_env().await?;
    rota::queue::serve(|event| handle(&filler, event)).await
}

/// Handles a batch: every job on its own, the failed ones reported by message id.
pub async fn handle(filler: &AutoFiller, event: SqsEvent) -> SqsBatchResponse {
    rota::queue::each(&event, |record: &SqsMessage| async move {
        let body = record.body.as_deref().unwrap_or_default();
        let job: AutoFillJob =
            serde_json::from_str(body).map_err(|e| Error::internal(format!("not an auto-fill job: {e}")))?;
        run(filler, &job.tenant_id, &job.job_id).await
    })
    .await
}

/// Drains the auto-fill queue once through [`handle`]. For the dev server and the tests.
pub async fn poll(filler: &AutoFiller, wait_secs: i32) -> Result<usize, Error> {
    rota::queue::poll(&filler.sqs, &filler.queue_url, wait_secs, |event| handle(filler, event)).await
}

/// Runs one job to `done` or `failed`.
pub async fn run(filler: &AutoFiller, tenant_id: &str, job_id: &str) -> Result<(), Error> {
    let store = &filler.store;
    let Some(job) = store.entity::<AutoFill>(tenant_id, job_id).await? else {
        tracing::warn!(tenant_id, job_id, "no such auto-fill job");
        return Ok(());
    };
    if matches!(job.status, AutoFillStatus::Done | AutoFillStatus::Failed) {
        return Ok(());
    }
    let job = save(store, AutoFill { status: AutoFillStatus::Solving, ..job.clone() }, job.version).await?;
    let outcome = solve_job(filler, &job).await;
    let finished = match outcome {
        Ok(summary) => AutoFill {
            status: AutoFillStatus::Done,
            best_score: Some(summary.score.total),
            summary: Some(summary),
            ..job.clone()
        },
        Err(error) => {
            tracing::error!(tenant_id, job_id, error = %error, "auto-fill failed");
            let reason = "the period could not be read or solved; try again".to_owned();
            AutoFill { status: AutoFillStatus::Failed, error: Some(reason), ..job.clone() }
        }
    };
    // Progress writes leave the version alone: the job is still at the one `save` gave it.
    save(store, finished, job.version).await?;
    Ok(())
}

/// Writes `job` over the version read, one later.
async fn save(store: &Store, mut job: AutoFill, read_version: u64) -> Result<AutoFill, Error> {
    job.version = read_version;
    job.touch(&Now::get().iso);
    rota::records::committed(store.transact(vec![store.entity_put(&job, Some(read_version))?]).await?)?;
    Ok(job)
}

/// Reads the period, solves it within the job's time limit and keeps the proposal.
async fn solve_job(filler: &AutoFiller, job: &AutoFill) -> Result<AutoFillSummary, Error> {
    let started = Instant::now();
    let (built, (starts_at, ends_before)) = read_period(&filler.store, job).await?;
    let places: u32 = built.instance.shifts.iter().map(|shift| shift.open).sum();

    // The search on a thread of its own; the best score so far goes on the job every second.
    let best = Arc::new(AtomicI64::new(i64::MAX));
    let limit = Duration::from_millis(u64::from(job.request.time_limit_ms));
    // Everything that takes CPU (the search, and the report's explanations) stays off the
    // runtime's threads: locally the same runtime serves the API.
    let mut search = {
        let best = best.clone();
        tokio::task::spawn_blocking(move || {
            let clock = Instant::now();
            let solution = solver::solve(
                &built.instance,
                solver::Limits {
                    seed: SEED,
                    max_moves: u64::MAX,
                    stop: &mut || clock.elapsed() >= limit,
                    on_best: &mut |_, score| best.store(score, Ordering::Relaxed),
                },
            );
            let searched = clock.elapsed();
            let body = serde_json::to_vec(&proposal(&built, &solution.assignments));
            (solution, searched, body)
        })
    };
    let mut every_second =
        tokio::time::interval_at(tokio::time::Instant::now() + Duration::from_secs(1), Duration::from_secs(1));
    let mut reported = i64::MAX;
    let (solution, searched, body) = loop {
        tokio::select! {
            searched = &mut search => break searched.map_err(Error::internal)?,
            _ = every_second.tick() => {
                let score = best.load(Ordering::Relaxed);
                if score < reported {
                    filler.store.auto_fill_progress(&job.tenant_id, &job.id, score).await?;
                    reported = score;
                }
            }
        }
    };

    let body = body.map_err(Error::internal)?;
    filler.files.write(&job.object_key(), "application/json", body).await?;
    let filled = solution.assignments.len() as u32;
    tracing::info!(job_id = %job.id, places, filled, moves = solution.moves, total_ms = started.elapsed().as_millis() as u64, "auto-fill solved");
    Ok(AutoFillSummary {
        starts_at,
        ends_before,
        places,
        filled,
        left_open: places - filled,
        score: Score::from(solution.parts),
        moves: solution.moves,
        solve_ms: searched.as_millis() as u64,
    })
}

/// The period's open places and the people who could take them, judged, with the period's bounds
/// as read: three round trips (the organisation; its people and the period's shifts; then the
/// people's schedules and availability).
pub async fn read_period(store: &Store, job: &AutoFill) -> Result<(Built, (String, String)), Error> {
    let request = &job.request;
    let (from, to) = (date(&request.from)?, date(&request.to)?);
    let tenant = store.tenant(&job.tenant_id).await?.ok_or(Error::NotFound)?;
    let zone = zone(&tenant.time_zone)?;
    let start = iso(resolve(zone, from, NaiveTime::MIN));
    let end = iso(resolve(zone, to + Days::new(1), NaiveTime::MIN));
    let locations = (!request.location_ids.is_empty()).then_some(request.location_ids.as_slice());
    let (shifts, people) = tokio::try_join!(
        store.shifts_with_assignments_between(&job.tenant_id, locations, (&start, &end)),
        store.all::<Person>(&job.tenant_id),
    )?;
    let wanted = |shift: &rota::store::schedule::Shift| {
        shift.status != ShiftStatus::Cancelled
            && shift.archived_at.is_none()
            && shift.assigned_count < shift.headcount
            && request.event_id.as_ref().is_none_or(|event| shift.event_id.as_ref() == Some(event))
            && (request.position_ids.is_empty() || request.position_ids.contains(&shift.position_id))
    };
    let places: Vec<Place> = shifts
        .iter()
        .filter(|(shift, _)| wanted(shift))
        .map(|(shift, held)| {
            let holders = held
                .iter()
                .filter(|assignment| assignment.status != AssignmentStatus::Declined)
                .map(|assignment| assignment.person_id.clone())
                .collect();
            Ok(Place { slot: slot(shift)?, open: shift.headcount - shift.assigned_count, holders })
        })
        .collect::<Result<_, Error>>()?;
    let people: Vec<Person> = people
        .into_iter()
        .filter(|person| person.status != PersonStatus::Inactive && job.scope.sees_unit(person.unit_id.as_deref()))
        .collect();
    let placings = store.placing_to_rank(&job.tenant_id, &people).await?;
    let mut workers = Vec::with_capacity(people.len());
    for (person, placing) in people.iter().zip(&placings) {
        let Some(candidate) = candidate(&person.id, placing)? else { continue };
        workers.push(Worker {
            candidate,
            rate_minor: person.hourly_rate_minor,
            preferred: preferred_windows(&placing.availability),
        });
    }
    // Judging every pair takes CPU: off the runtime's threads.
    let (rules, settings, weights) = (rules(&tenant)?, tenant.settings.clone(), request.weights);
    let built = tokio::task::spawn_blocking(move || build(&places, &workers, &rules, &settings, weights, from))
        .await
        .map_err(Error::internal)?;
    Ok((built, (start, end)))
}

fn date(stored: &str) -> Result<NaiveDate, Error> {
    stored.parse().map_err(Error::internal)
}
