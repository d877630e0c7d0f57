//! The import worker, on the import queue (`ROTA_IMPORT_QUEUE`): `POST /imports/{import_id}/start`
//! queues a [`ImportJob::Run`]; the worker reads the uploaded file (people, or draft shifts),
//! validates every row, and writes them all or nothing (see [`rota::store::imports`] for how a
//! half-written import stays invisible). After the commit it queues the new people's invitations,
//! a hundred a message ([`ImportJob::Invite`]), and mails the admin who started it (done or
//! failed, with the counts).
//!
//! Every step can run twice: a finished import is only followed up (its invitations written
//! once, its mail sent once), a running one is validated and written again under the same ids,
//! and only one commit wins.
//!
//! Locally the dev server drains the queue with [`poll`] into the same [`handle`] the Lambda runs.

mod people;
pub mod sheet;
mod shifts;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use chrono::Utc;
use futures_util::{StreamExt, TryStreamExt};
use rota::clock::iso;
use rota::files::Files;
use rota::notify::{Envelope, Message, Outbox};
use rota::store::Item;
use rota::store::audit::{Actor, AuditEntry};
use rota::store::entities::Refused;
use rota::store::imports::{
    Import, ImportJob, ImportKind, ImportStatus, MAX_IMPORT_BYTES, PROGRESS_EVERY_ROWS, RowError,
};
use rota::store::links::{LinkKind, PendingInvitation, invitation_envelope, new_link};
use rota::store::people::{Person, PersonStatus};
use rota::store::{RoundTrips, Store};
use rota::{Config, Error};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// Items per `BatchWriteItem` (DynamoDB's most).
const ROWS_PER_BATCH: usize = 25;
/// How many batches are in flight at once.
const BATCHES_AT_ONCE: usize = 4;
/// People per invitation job.
const INVITES_PER_JOB: usize = 100;
/// Invitations written at once within a job.
const INVITES_AT_ONCE: usize = 10;

/// What the worker needs, built once per cold start.
pub struct Importer {
    pub store: Store,
    pub files: Files,
    pub outbox: Outbox,
    pub sqs: aws_sdk_sqs::Client,
    /// The import queue's URL: invitation jobs go back on it.
    pub queue_url: String,
    /// Tests only: where the run stops (fails), as a worker killed half-way would.
    pub kill: Option<Kill>,
}

/// Where a test kills a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kill {
    /// After writing this many batches of rows.
    AfterBatches(usize),
    /// With every row written and every assignee's schedule booked, before the commit.
    BeforeCommit,
}

impl Importer {
    pub async fn from_env() -> Result<Self, String> {
        let config = Config::from_env()?;
        let queue_url = config.import_queue.clone().ok_or("environment variable ROTA_IMPORT_QUEUE is not set")?;
        Ok(Self::new(&config, queue_url, RoundTrips::default()).await)
    }

    /// The worker on `queue_url`; tests pass a recording `round_trips` to count its requests.
    pub async fn new(config: &Config, queue_url: String, round_trips: RoundTrips) -> Self {
        let sdk = rota::aws::sdk_config().await;
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        Self {
            store: Store::from_sdk(&sdk, config.table.clone(), round_trips),
            files: Files::new(rota::aws::LazyClient::new::<true>(&sdk), config.bucket.clone()),
            outbox: Outbox::new(rota::aws::LazyClient::new::<true>(&sdk), config.notification_queue.clone()),
            sqs,
            queue_url,
            kill: None,
        }
    }
}

/// The whole `main` of the Lambda.
pub async fn run_lambda() -> Result<(), lambda_runtime::Error> {
    rota::telemetry::init();
    let importer = Importer::from_env().await?;
    rota::queue::serve(|event| handle(&importer, event)).await
}

/// Handles a batch: every job on its own, the failed ones reported by message id.
pub async fn handle(importer: &Importer, event: SqsEvent) -> SqsBatchResponse {
    rota::queue::each(&event, |record: &SqsMessage| async move {
        let body = record.body.as_deref().unwrap_or_default();
        let job: ImportJob =
            serde_json::from_str(body).map_err(|e| Error::internal(format!("not an import job: {e}")))?;
        match job {
            ImportJob::Run { tenant_id, import_id } => run(importer, &tenant_id, &import_id).await,
            ImportJob::Invite { tenant_id, import_id, person_ids } => {
                invite(importer, &tenant_id, &import_id, &person_ids).await
            }
        }
    })
    .await
}

/// Drains the import queue once through [`handle`]. For the dev server and the tests.
pub async fn poll(importer: &Importer, wait_secs: i32) -> Result<usize, Error> {
    rota::queue::poll(&importer.sqs, &importer.queue_url, wait_secs, |event| handle(importer, event)).await
}

/// A name as names are matched: trimmed, any case.
fn name_key(name: &str) -> String {
    name.trim().to_lowercase()
}

/// A whole number from a number cell or text (`38`, `38.0`).
fn whole_number(cell: &sheet::Cell) -> Option<u32> {
    let number = match cell {
        sheet::Cell::Number(number) => *number,
        cell => cell.text().parse::<f64>().ok()?,
    };
    (number.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&number)).then_some(number as u32)
}

/// The id of the person (or shift) a file's `index`th data row adds: the same for every run of
/// one import, so a retried run rewrites the same items. A ULID of the import's time.
pub fn row_id(import_id: &str, index: usize) -> String {
    let time = ulid::Ulid::from_string(import_id).map_or(0, |id| id.timestamp_ms());
    let digest = Sha256::new().chain_update(import_id).chain_update(index.to_be_bytes()).finalize();
    let mut random = [0u8; 16];
    random[6..].copy_from_slice(&digest[..10]);
    ulid::Ulid::from_parts(time, u128::from_be_bytes(random)).to_string()
}

/// Runs one import: read, validate, write, commit; a finished one is only followed up.
pub async fn run(importer: &Importer, tenant_id: &str, import_id: &str) -> Result<(), Error> {
    let store = &importer.store;
    let Some(import) = store.entity::<Import>(tenant_id, import_id).await? else {
        tracing::warn!(tenant_id, import_id, "no such import");
        return Ok(());
    };
    match import.status {
        ImportStatus::Pending => return Ok(()),
        ImportStatus::Done | ImportStatus::Failed => return follow_up(importer, &import).await,
        // (`importing` is how the API shows a validating import whose rows are being written.)
        ImportStatus::Validating | ImportStatus::Importing => {}
    }
    // The file's data rows (when it could be read), and what they add or every error.
    let (rows, checked) = match importer.files.read(&import.object_key(), MAX_IMPORT_BYTES).await? {
        None => (0, Err(vec![RowError::file("unreadable_file", "no file was uploaded for this import")])),
        Some(bytes) => match sheet::read(import.format, &bytes) {
            Err(errors) => (0, Err(errors)),
            Ok(sheet) => (
                sheet.rows.len(),
                match import.kind {
                    ImportKind::People => people::prepare(store, &import, &sheet).await?.map(Rows::People),
                    ImportKind::Shifts => shifts::prepare(store, &import, &sheet).await?.map(Rows::Shifts),
                },
            ),
        },
    };
    let now = iso(Utc::now());
    match checked {
        Err(errors) => {
            rota::metrics::count("ImportRows", ("Outcome", "refused"), rows);
            store.import_fail(&import, rows, errors, &now).await?;
        }
        Ok(added) => {
            let rows_items = match &added {
                Rows::People(people) => {
                    people.iter().map(|person| Ok(vec![store.entity_item(person)?])).collect::<Result<_, Error>>()?
                }
                Rows::Shifts(staffing) => staffing
                    .rows
                    .iter()
                    .map(|(shift, assignments)| {
                        let mut items = vec![store.entity_item(shift)?];
                        let default_rate = staffing.default_rates.get(&shift.position_id).copied().flatten();
                        items.extend(store.shift_tally_item(shift, default_rate)?);
                        for assignment in assignments {
                            items.push(store.entity_item(assignment)?);
                        }
                        Ok(items)
                    })
                    .collect::<Result<_, Error>>()?,
            };
            write(importer, &import, rows_items).await?;
            let (head_count, committed) = match &added {
                Rows::People(people) => (Some(people.len()), Committed::rows(&import, rows)),
                Rows::Shifts(staffing) => {
                    shifts::book(store, tenant_id, &staffing.bookings).await?;
                    let assignments = staffing.rows.iter().map(|(_, assignments)| assignments.len()).sum();
                    let placed = Placed { assignments, forced: staffing.forced };
                    (None, Committed { placed: Some(placed), ..Committed::rows(&import, rows) })
                }
            };
            if importer.kill == Some(Kill::BeforeCommit) {
                return Err(Error::internal("stopped before the commit, as asked"));
            }
            let audit = AuditEntry::new(
                &Actor {
                    tenant_id: import.tenant_id.clone(),
                    person_id: import.requested_by.clone(),
                    request_id: import.request_id.clone().unwrap_or_default(),
                    ip: None,
                },
                "import.committed",
                ("import", &import.id),
                None::<&Import>,
                Some(&committed),
                &now,
            );
            let more = match head_count {
                // Within the people limit as it is now, and only if it still is.
                Some(people) => {
                    let tenant = store.tenant(tenant_id).await?;
                    let limit = tenant.and_then(|tenant| tenant.subscription?.limits.max_active_people);
                    vec![store.people_joined(tenant_id, people as u32, limit)?]
                }
                None => Vec::new(),
            };
            store.import_commit(&import, rows, &audit, more, &now).await?;
            rota::metrics::count("ImportRows", ("Outcome", "applied"), rows);
        }
    }
    reload_and_follow_up(importer, &import).await
}

/// What the audit log keeps of a committed import.
#[derive(Serialize)]
struct Committed<'a> {
    kind: ImportKind,
    filename: &'a str,
    rows: usize,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    placed: Option<Placed>,
}

impl<'a> Committed<'a> {
    fn rows(import: &'a Import, rows: usize) -> Self {
        Self { kind: import.kind, filename: &import.filename, rows, placed: None }
    }
}

/// A shifts file's assignments, and how many of them were placed despite warnings.
#[derive(Serialize)]
struct Placed {
    assignments: usize,
    forced: usize,
}

/// What a valid file adds.
enum Rows {
    People(Vec<Person>),
    Shifts(shifts::Staffing),
}

/// Writes the rows' items (each row's together) in batches of 25, a few at once, with a
/// progress item before each 500 rows.
async fn write(importer: &Importer, import: &Import, rows: Vec<Vec<Item>>) -> Result<(), Error> {
    let store = &importer.store;
    let total = rows.len();
    let mut items = Vec::with_capacity(total + total / PROGRESS_EVERY_ROWS + 1);
    for (done, chunk) in rows.chunks(PROGRESS_EVERY_ROWS).enumerate() {
        items.push(store.import_progress_item(import, done * PROGRESS_EVERY_ROWS, total)?);
        items.extend(chunk.iter().flatten().cloned());
    }
    // The futures made first, then streamed: a closure in the stream would make the job's
    // future not provably `Send` (rust-lang/rust#102211).
    let batches: Vec<_> = items.chunks(ROWS_PER_BATCH).map(|batch| store.put_batch(batch.to_vec())).collect();
    let mut written = futures_util::stream::iter(batches).buffered(BATCHES_AT_ONCE).enumerate();
    while let Some((index, outcome)) = written.next().await {
        outcome?;
        if importer.kill == Some(Kill::AfterBatches(index + 1)) {
            return Err(Error::internal(format!("stopped after {} batches, as asked", index + 1)));
        }
    }
    Ok(())
}

async fn reload_and_follow_up(importer: &Importer, import: &Import) -> Result<(), Error> {
    match importer.store.import(&import.tenant_id, &import.id).await? {
        Some(import) if import.finished() => follow_up(importer, &import).await,
        _ => Err(Error::internal("the import is still running after its run")),
    }
}

/// Once an import has finished: its people's invitations queued, and the admin told. Again on a
/// redelivered job: an invitation is written once (the rest of a job is left alone), and the
/// notifier sends an envelope id once.
async fn follow_up(importer: &Importer, import: &Import) -> Result<(), Error> {
    if import.status == ImportStatus::Done && import.kind == ImportKind::People {
        let ids: Vec<String> = (0..import.rows_total).map(|index| row_id(&import.id, index)).collect();
        let jobs: Vec<ImportJob> = ids
            .chunks(INVITES_PER_JOB)
            .map(|person_ids| ImportJob::Invite {
                tenant_id: import.tenant_id.clone(),
                import_id: import.id.clone(),
                person_ids: person_ids.to_vec(),
            })
            .collect();
        rota::queue::send_all(&importer.sqs, &importer.queue_url, &jobs).await?;
    }
    let message = Message::ImportFinished {
        import_id: import.id.clone(),
        filename: import.filename.clone(),
        done: import.status == ImportStatus::Done,
        rows: import.rows_total,
        errors: import.error_count,
    };
    // One id per import: the notifier sends a redelivered envelope once.
    let mut envelope = Envelope::to_person(&import.tenant_id, &import.requested_by, message);
    envelope.id = format!("import-{}", import.id);
    importer.outbox.send(&envelope).await
}

/// Invites the people of a committed import, each as `POST /people` would (the invitation, its
/// link, the mail). One already invited (a redelivered job) or no longer invited is left alone.
pub async fn invite(importer: &Importer, tenant_id: &str, import_id: &str, person_ids: &[String]) -> Result<(), Error> {
    let store = &importer.store;
    let ids: Vec<&str> = person_ids.iter().map(String::as_str).collect();
    let (tenant, people) = tokio::try_join!(store.tenant(tenant_id), store.entities_among::<Person>(tenant_id, &ids))?;
    let Some(tenant) = tenant else { return Ok(()) };
    let people: Vec<Person> = people
        .into_iter()
        .filter(|person| person.status == PersonStatus::Invited && person.import_id.as_deref() == Some(import_id))
        .collect();
    let emails: Vec<&str> = people.iter().map(|person| person.email.as_str()).collect();
    let registered = store.email_claims_among(&emails).await?;
    let now = Utc::now().timestamp();
    let invitations: Vec<_> = people
        .iter()
        .map(|person| invite_one(store, person, &tenant.name, !registered.contains_key(&person.email), now))
        .collect();
    let envelopes: Vec<Option<Envelope>> =
        futures_util::stream::iter(invitations).buffer_unordered(INVITES_AT_ONCE).try_collect().await?;
    let envelopes: Vec<Envelope> = envelopes.into_iter().flatten().collect();
    importer.outbox.send_all(&envelopes).await
}

/// One person's invitation and its link (none when the address has an account elsewhere, as with
/// `POST /people`), written if no invitation waits for the address yet; its mail, if written.
async fn invite_one(
    store: &Store,
    person: &Person,
    organisation: &str,
    free_address: bool,
    now: i64,
) -> Result<Option<Envelope>, Error> {
    let link = free_address.then(|| new_link(LinkKind::Invitation, &person.tenant_id, &person.id, &person.email, now));
    let pending = PendingInvitation {
        email: person.email.clone(),
        person_id: person.id.clone(),
        invitation_hash: link.as_ref().map(|(link, _)| link.token_hash.clone()),
    };
    let mut items = vec![store.invitation_put(&person.tenant_id, &pending)?];
    if let Some((link, _)) = &link {
        items.push(store.link_put(link)?);
    }
    Ok(match store.transact(items).await? {
        Ok(()) => Some(invitation_envelope(person, organisation, link.map(|(_, token)| token))),
        Err(Refused(_)) => None,
    })
}

#[cfg(test)]
mod tests {
    use super::row_id;
    use super::sheet::Cell;
    use super::whole_number;

    #[test]
    fn whole_numbers_from_text_or_number_cells() {
        assert_eq!(whole_number(&Cell::Number(38.0)), Some(38));
        assert_eq!(whole_number(&Cell::Text("40".into())), Some(40));
        assert_eq!(whole_number(&Cell::Text("37.5".into())), None);
        assert_eq!(whole_number(&Cell::Text("-3".into())), None);
    }

    #[test]
    fn a_rows_id_is_a_ulid_of_the_import_the_same_every_run() {
        let import = ulid::Ulid::new().to_string();
        assert_eq!(row_id(&import, 7), row_id(&import, 7));
        assert_ne!(row_id(&import, 7), row_id(&import, 8));
        let id = ulid::Ulid::from_string(&row_id(&import, 7)).unwrap();
        assert_eq!(id.timestamp_ms(), ulid::Ulid::from_string(&import).unwrap().timestamp_ms());
    }
}
