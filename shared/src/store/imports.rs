//! Imports: a spreadsheet of people written all-or-nothing by the importer worker.
//!
//! An import (`T#{t}` / `IMPORT#{id}`) moves `pending → validating → importing → done`, or to
//! `failed` with its errors. Every row is validated before anything is written; then the rows go
//! out in `BatchWriteItem`s of 25, which are not one transaction, so a worker that dies half-way
//! would leave some rows written. They stay invisible: every row carries its `import_id`, and the
//! organisation's staging marker (`T#{t}` / `STAGING`) lists the imports that have started and
//! not finished (`POST /imports/{id}/start` adds one before any row can be written). Every list of
//! an importable kind reads the marker in parallel with its query and leaves out the rows of
//! those imports ([`super::entities`]); a row's id is fresh and known to nobody before the
//! commit, so no read by id can reach one either. The commit is one transaction: the import
//! `done`, its id taken off the marker, the organisation's head count and the audit entry. A
//! retried job writes the same rows again under the same ids (they derive from the import's id
//! and the row's number), so a kill between batches and a retry leave exactly the file's rows;
//! two deliveries at once write the same items and only one commit wins.
//!
//! Progress rides in the batches as an item of its own (`IMPORTING#{id}`, every 500 rows), so
//! 10,000 rows take 401 `BatchWriteItem`s and one commit: no request is spent on it. Its first
//! write is what makes a validating import `importing`; the commit deletes it.

use std::collections::HashSet;

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, TransactWriteItem, Update, WriteRequest};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::audit::AuditEntry;
use super::entities::Filter;
use super::page::Page;
use super::{Item, Store, from_item, key, keys, n, s, to_item, value, written};
use crate::Error;
use crate::auth::Role;
pub use crate::domain::imports::RowError;

/// The largest file accepted, in bytes (10 MiB).
pub const MAX_IMPORT_BYTES: u64 = 10 * 1024 * 1024;
/// The most rows one file may have, header excluded.
pub const MAX_IMPORT_ROWS: usize = 50_000;
/// The most errors an import keeps (`error_count` has them all).
pub const MAX_IMPORT_ERRORS: usize = 1_000;
/// Progress is written after every this many rows (in the rows' own batches).
pub const PROGRESS_EVERY_ROWS: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImportKind {
    People,
    Shifts,
}

impl ImportKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::People => "people",
            Self::Shifts => "shifts",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImportFormat {
    Csv,
    Xlsx,
}

impl ImportFormat {
    /// The content type the upload is signed for.
    pub fn mime(self) -> &'static str {
        match self {
            Self::Csv => "text/csv",
            Self::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImportStatus {
    /// Waiting for its file and `POST /imports/{import_id}/start`.
    Pending,
    /// Queued or reading the file: every row is checked before anything is written.
    Validating,
    /// Every row passed; they are being written (invisible until the import is `done`).
    Importing,
    Done,
    /// Nothing was written; `errors` says why.
    Failed,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Import {
    pub id: String,
    pub tenant_id: String,
    pub kind: ImportKind,
    pub format: ImportFormat,
    /// The name of the file as the admin's computer called it (shown back, never used as a path).
    pub filename: String,
    pub status: ImportStatus,
    /// Data rows in the file; known once it has been read.
    pub rows_total: usize,
    /// Rows written so far (moves every 500 rows while `importing`).
    pub rows_done: usize,
    /// The first 1,000 errors, file order.
    pub errors: Vec<RowError>,
    /// Every error, also those past the first 1,000.
    pub error_count: usize,
    /// Who asked for it, and their role then (an admin's import cannot make owners).
    pub requested_by: String,
    pub requester_role: Role,
    /// A shifts file's assignees are placed despite warnings (outside availability, weekly cap,
    /// rest, days in a row), never despite blocking rules.
    #[serde(default)]
    pub force: bool,
    /// The request that started it (the audit entry's).
    pub request_id: Option<String>,
    pub created_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub version: u64,
    pub updated_at: String,
}

crate::entity!(Import, "IMPORT#", "import");

impl Import {
    /// Where its file is uploaded to, in the bucket.
    pub fn object_key(&self) -> String {
        format!("tenants/{}/imports/{}", self.tenant_id, self.id)
    }

    pub fn finished(&self) -> bool {
        matches!(self.status, ImportStatus::Done | ImportStatus::Failed)
    }
}

/// A message of the import queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "job", rename_all = "snake_case", deny_unknown_fields)]
pub enum ImportJob {
    /// Validate and write one import (`POST /imports/{import_id}/start`).
    Run { tenant_id: String, import_id: String },
    /// Invite some of the people a committed import added (at most 100 a message).
    Invite { tenant_id: String, import_id: String, person_ids: Vec<String> },
}

impl Store {
    /// Marks the import started, once (`false`: it was not `pending`), and lists it on the
    /// organisation's staging marker before any of its rows can be written.
    pub async fn import_start(
        &self,
        tenant_id: &str,
        import_id: &str,
        request_id: &str,
        now: &str,
    ) -> Result<bool, Error> {
        let start = Update::builder()
            .table_name(&self.table)
            .set_key(Some(import_key(tenant_id, import_id)))
            .update_expression("SET started_at = :now, request_id = :request, #status = :validating, updated_at = :now ADD version :one")
            .condition_expression("#status = :pending")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":now", s(now))
            .expression_attribute_values(":request", s(request_id))
            .expression_attribute_values(":pending", value(&ImportStatus::Pending)?)
            .expression_attribute_values(":validating", value(&ImportStatus::Validating)?)
            .expression_attribute_values(":one", n(1))
            .build()
            .map_err(Error::internal)?;
        let staging = self.staging(tenant_id, import_id, "ADD")?;
        let items = vec![TransactWriteItem::builder().update(start).build(), staging];
        Ok(self.transact(items).await?.is_ok())
    }

    /// Undoes [`Store::import_start`] when its job could not be queued, so it can be started again.
    pub async fn import_unstart(&self, tenant_id: &str, import_id: &str, started_at: &str) -> Result<(), Error> {
        written(
            self.client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(import_key(tenant_id, import_id)))
                .update_expression("SET #status = :pending REMOVE started_at, request_id")
                .condition_expression("started_at = :started AND #status = :validating")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":started", s(started_at))
                .expression_attribute_values(":pending", value(&ImportStatus::Pending)?)
                .expression_attribute_values(":validating", value(&ImportStatus::Validating)?)
                .send()
                .await,
        )
        .map(drop)
    }

    /// The import failed with `errors` (every one counted, the first 1,000 kept), off the staging
    /// marker; `false` when it had finished already.
    pub async fn import_fail(
        &self,
        import: &Import,
        rows_total: usize,
        errors: Vec<RowError>,
        now: &str,
    ) -> Result<bool, Error> {
        let count = errors.len();
        let kept: Vec<RowError> = errors.into_iter().take(MAX_IMPORT_ERRORS).collect();
        let failed = Update::builder()
            .table_name(&self.table)
            .set_key(Some(import_key(&import.tenant_id, &import.id)))
            .update_expression(
                "SET #status = :failed, errors = :errors, error_count = :count, rows_total = :total, finished_at = :now, updated_at = :now ADD version :one",
            )
            .expression_attribute_values(":failed", value(&ImportStatus::Failed)?)
            .expression_attribute_values(":errors", value(&kept)?)
            .expression_attribute_values(":count", n(count))
            .expression_attribute_values(":total", n(rows_total));
        self.import_finish(import, failed, Vec::new(), now).await
    }

    /// Commits an import whose rows are all written: `done`, off the staging marker, with `more`
    /// (the head count, say) and its audit entry, in one transaction. `Ok(false)` when another
    /// delivery of the same job committed it first.
    pub async fn import_commit(
        &self,
        import: &Import,
        rows_total: usize,
        audit: &AuditEntry,
        mut more: Vec<TransactWriteItem>,
        now: &str,
    ) -> Result<bool, Error> {
        let done = Update::builder()
            .table_name(&self.table)
            .set_key(Some(import_key(&import.tenant_id, &import.id)))
            .update_expression("SET #status = :done, rows_total = :total, rows_done = :total, finished_at = :now, updated_at = :now ADD version :one")
            .expression_attribute_values(":done", value(&ImportStatus::Done)?)
            .expression_attribute_values(":total", n(rows_total));
        more.push(self.audit_put(audit)?);
        self.import_finish(import, done, more, now).await
    }

    /// One transaction: the import's `finish` (conditioned on it still validating), off the
    /// staging marker, its progress gone, and `more`.
    async fn import_finish(
        &self,
        import: &Import,
        finish: aws_sdk_dynamodb::types::builders::UpdateBuilder,
        more: Vec<TransactWriteItem>,
        now: &str,
    ) -> Result<bool, Error> {
        let finish = finish
            .condition_expression("#status = :validating")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":validating", value(&ImportStatus::Validating)?)
            .expression_attribute_values(":now", s(now))
            .expression_attribute_values(":one", n(1))
            .build()
            .map_err(Error::internal)?;
        let mut items = vec![
            TransactWriteItem::builder().update(finish).build(),
            self.staging(&import.tenant_id, &import.id, "DELETE")?,
            self.removal(progress_key(&import.tenant_id, &import.id))?,
        ];
        items.extend(more);
        Ok(self.transact(items).await?.is_ok())
    }

    /// The organisation's staging marker with `import_id` added (`ADD`) or taken off (`DELETE`).
    fn staging(&self, tenant_id: &str, import_id: &str, change: &str) -> Result<TransactWriteItem, Error> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::tenant(tenant_id), keys::STAGING_SK)))
            .update_expression(format!("{change} import_ids :id"))
            .expression_attribute_values(":id", AttributeValue::Ss(vec![import_id.to_owned()]))
            .build()
            .map_err(Error::internal)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// The progress of a running import as an item for its batches: progress costs no request of
    /// its own. Its first one (0 rows) says the rows are being written (`importing`).
    pub fn import_progress_item(&self, import: &Import, rows_done: usize, rows_total: usize) -> Result<Item, Error> {
        let progress = Progress { rows_done, rows_total };
        to_item(&progress, &[("pk", keys::tenant(&import.tenant_id)), ("sk", keys::import_progress_sk(&import.id))])
    }

    /// An import with its progress while it is written, in one `BatchGetItem`.
    pub async fn import(&self, tenant_id: &str, import_id: &str) -> Result<Option<Import>, Error> {
        let mut found =
            self.batch_get(&[import_key(tenant_id, import_id), progress_key(tenant_id, import_id)]).await?.into_iter();
        let import: Option<Import> = found.next().flatten().map(from_item).transpose()?;
        let progress: Option<Progress> = found.next().flatten().map(from_item).transpose()?;
        Ok(import.map(|import| import.with(progress)))
    }

    /// A page of the organisation's imports, the running ones with their progress (a second
    /// round trip only when some are running).
    pub async fn imports(
        &self,
        tenant_id: &str,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<Page<Import>, Error> {
        let mut page: Page<Import> = self.entities(tenant_id, limit, cursor, Filter::default()).await?;
        let running: Vec<Item> = page
            .items
            .iter()
            .filter(|import| import.status == ImportStatus::Validating)
            .map(|import| progress_key(tenant_id, &import.id))
            .collect();
        if running.is_empty() {
            return Ok(page);
        }
        let progress = self.batch_get(&running).await?;
        let mut progress = progress.into_iter();
        for import in page.items.iter_mut().filter(|import| import.status == ImportStatus::Validating) {
            let found: Option<Progress> = progress.next().flatten().map(from_item).transpose()?;
            *import = import.clone().with(found);
        }
        Ok(page)
    }

    /// The imports of the organisation that have started and not finished: their rows are not to
    /// be seen.
    pub async fn staged_imports(&self, tenant_id: &str) -> Result<HashSet<String>, Error> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::tenant(tenant_id), keys::STAGING_SK)))
            .consistent_read(true)
            .send()
            .await?;
        Ok(match output.item.as_ref().and_then(|item| item.get("import_ids")) {
            Some(AttributeValue::Ss(ids)) => ids.iter().cloned().collect(),
            _ => HashSet::new(),
        })
    }

    /// Writes `items` (at most 25) with one `BatchWriteItem`, asking again with backoff for any
    /// DynamoDB leaves unprocessed under load. Plain puts: for rows no one else writes.
    pub async fn put_batch(&self, items: Vec<Item>) -> Result<(), Error> {
        let mut requests: Vec<WriteRequest> = items
            .into_iter()
            .map(|item| {
                let put = PutRequest::builder().set_item(Some(item)).build().map_err(Error::internal)?;
                Ok(WriteRequest::builder().put_request(put).build())
            })
            .collect::<Result<_, Error>>()?;
        let mut pause_ms = 25;
        while !requests.is_empty() {
            let output =
                self.client.batch_write_item().request_items(&self.table, std::mem::take(&mut requests)).send().await?;
            requests = output.unprocessed_items.and_then(|mut rest| rest.remove(&self.table)).unwrap_or_default();
            if !requests.is_empty() {
                tokio::time::sleep(std::time::Duration::from_millis(pause_ms)).await;
                pause_ms = (pause_ms * 2).min(2_000);
            }
        }
        Ok(())
    }
}

/// How far a running import's rows are written.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Progress {
    rows_done: usize,
    rows_total: usize,
}

impl Import {
    /// As the API shows it: a validating import whose rows are being written is `importing`.
    fn with(self, progress: Option<Progress>) -> Self {
        match progress {
            Some(progress) if self.status == ImportStatus::Validating => Self {
                status: ImportStatus::Importing,
                rows_done: progress.rows_done,
                rows_total: progress.rows_total,
                ..self
            },
            _ => self,
        }
    }
}

fn progress_key(tenant_id: &str, import_id: &str) -> Item {
    key(keys::tenant(tenant_id), keys::import_progress_sk(import_id))
}

fn import_key(tenant_id: &str, import_id: &str) -> Item {
    key(keys::tenant(tenant_id), format!("IMPORT#{import_id}"))
}
