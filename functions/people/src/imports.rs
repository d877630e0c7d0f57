//! Imports (admins): ask for an upload, PUT the file to S3, start the import, follow its
//! progress. The importer worker does the rest (`functions/importer`); the file's columns are
//! the templates' (`GET /imports/templates/{kind}`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use garde::Validate;
use rota::auth::{Caller, Permission};
use rota::clock::Now;
use rota::domain::imports::{PEOPLE, SHIFTS, template};
use rota::error::Problem;
use rota::http::{PageQuery, ValidJson, ValidQuery};
use rota::store::imports::{Import, ImportFormat, ImportJob, ImportKind, ImportStatus, MAX_IMPORT_BYTES};
use rota::store::page::Page;
use rota::validate::not_blank;
use rota::{AppState, Error};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// The tag an import file is uploaded with: the bucket's lifecycle rule deletes it after a day.
const EXPIRING: &str = "rota-expires=1d";

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "kind": "people", "format": "csv", "filename": "staff.csv", "content_length": 182044 }))]
pub struct NewImport {
    #[garde(skip)]
    pub kind: ImportKind,
    #[garde(skip)]
    pub format: ImportFormat,
    /// The file's name on the admin's computer, shown back in the import's status.
    #[garde(length(chars, min = 1, max = 255), custom(not_blank))]
    #[schema(min_length = 1, max_length = 255, pattern = r"[^\s\x00-\x1f\x7f-\x9f]")]
    pub filename: String,
    /// The file's exact size in bytes, at most 10 MiB.
    #[garde(range(min = 1, max = MAX_IMPORT_BYTES))]
    #[schema(minimum = 1, maximum = 10485760)]
    pub content_length: u64,
    /// A shifts file's assignees are placed despite warnings (outside availability, weekly cap,
    /// rest, days in a row); blocking rules (overlap, position, headcount, time off) still fail
    /// the import.
    #[garde(skip)]
    #[serde(default)]
    pub force: bool,
}

/// A new import and where to upload its file.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportUpload {
    pub import_id: String,
    /// PUT the file here with exactly `headers`, before `expires_at`.
    pub upload_url: String,
    /// The headers the upload must send, as signed (content type, length, the expiry tag).
    pub headers: BTreeMap<String, String>,
    pub expires_at: String,
}

/// A new import of people, or of draft shifts, from a CSV or .xlsx file (admins): upload the file
/// to `upload_url`, then `POST /imports/{import_id}/start`. Columns: `GET
/// /imports/templates/{kind}`. Files are deleted a day after upload.
#[utoipa::path(post, path = "/imports", tag = "imports", security(("bearer" = ["imports.run"])), request_body = NewImport,
    responses(
        (status = 201, description = "PUT the file to `upload_url` with exactly `headers`", body = ImportUpload,
            links(
                ("StartImport" = (operation_id = "start_import", parameters(("import_id" = "$response.body#/import_id")))),
                ("GetImport" = (operation_id = "get_import", parameters(("import_id" = "$response.body#/import_id")))),
            )),
    ))]
pub async fn create_import(
    State(state): State<AppState>,
    caller: Caller,
    ValidJson(request): ValidJson<NewImport>,
) -> Result<(StatusCode, Json<ImportUpload>), Error> {
    caller.require(Permission::ImportsRun)?;
    let now = Now::get();
    let import = Import {
        id: ulid::Ulid::new().to_string(),
        tenant_id: caller.tenant_id.clone(),
        kind: request.kind,
        format: request.format,
        filename: request.filename.trim().to_owned(),
        status: ImportStatus::Pending,
        rows_total: 0,
        rows_done: 0,
        errors: Vec::new(),
        error_count: 0,
        requested_by: caller.person_id.clone(),
        requester_role: caller.role,
        force: request.force,
        request_id: None,
        created_at: now.iso.clone(),
        started_at: None,
        finished_at: None,
        version: 1,
        updated_at: now.iso.clone(),
    };
    let key = import.object_key();
    let (written, upload) = tokio::try_join!(
        state.store.transact(vec![state.store.entity_put(&import, None)?]),
        state.files.upload_tagged(
            key,
            request.format.mime(),
            request.content_length,
            Some(EXPIRING),
            chrono::Utc::now()
        ),
    )?;
    rota::records::committed(written)?;
    let created = ImportUpload {
        import_id: import.id,
        upload_url: upload.url,
        headers: upload.headers,
        expires_at: upload.expires_at,
    };
    Ok((StatusCode::CREATED, Json(created)))
}

/// Starts an import whose file is uploaded: it is validated whole, then written all or nothing
/// (admins). Follow it with `GET /imports/{import_id}`; the admin is mailed when it finishes.
#[utoipa::path(post, path = "/imports/{import_id}/start", tag = "imports", security(("bearer" = ["imports.run"])),
    params(("import_id" = String, Path)),
    responses(
        (status = 202, description = "Queued: `validating`", body = Import),
        (status = 404, description = "No such import in this organisation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Started already, or no file uploaded yet", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn start_import(
    State(state): State<AppState>,
    caller: Caller,
    Path(import_id): Path<String>,
) -> Result<(StatusCode, Json<Import>), Error> {
    caller.require(Permission::ImportsRun)?;
    let queue = state.config.import_queue.as_deref().ok_or_else(|| Error::internal("ROTA_IMPORT_QUEUE is not set"))?;
    let now = Now::get();
    // Round trip 1: the import, and whether its file arrived.
    let key = format!("tenants/{}/imports/{import_id}", caller.tenant_id);
    let (import, uploaded) =
        tokio::try_join!(state.store.entity::<Import>(&caller.tenant_id, &import_id), state.files.exists(&key))?;
    let import = import.ok_or(Error::NotFound)?;
    if import.status != ImportStatus::Pending || import.started_at.is_some() {
        return Err(Error::Conflict(STARTED));
    }
    if !uploaded {
        return Err(Error::Conflict("no file was uploaded yet: PUT it to the upload_url first"));
    }
    // Round trip 2: started, once (of two starts at once, one is refused).
    let request_id = caller.actor().request_id;
    if !state.store.import_start(&caller.tenant_id, &import_id, &request_id, &now.iso).await? {
        return Err(Error::Conflict(STARTED));
    }
    let job = ImportJob::Run { tenant_id: caller.tenant_id.clone(), import_id: import_id.clone() };
    if let Err(error) = rota::queue::send(state.outbox.sqs(), queue, &job).await {
        // Not queued: as it was, so it can be started again.
        state.store.import_unstart(&caller.tenant_id, &import_id, &now.iso).await?;
        return Err(error);
    }
    let started = Import {
        status: ImportStatus::Validating,
        started_at: Some(now.iso.clone()),
        request_id: Some(request_id),
        version: import.version + 1,
        updated_at: now.iso,
        ..import
    };
    Ok((StatusCode::ACCEPTED, Json(started)))
}

const STARTED: &str = "this import was started already";

/// One import: its status, progress and errors (admins).
#[utoipa::path(get, path = "/imports/{import_id}", tag = "imports", security(("bearer" = ["imports.run"])),
    params(("import_id" = String, Path)),
    responses(
        (status = 200, description = "The import", body = Import),
        (status = 404, description = "No such import in this organisation", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_import(
    State(state): State<AppState>,
    caller: Caller,
    Path(import_id): Path<String>,
) -> Result<Json<Import>, Error> {
    caller.require(Permission::ImportsRun)?;
    let import = state.store.import(&caller.tenant_id, &import_id).await?.ok_or(Error::NotFound)?;
    Ok(Json(import))
}

/// The organisation's imports, oldest first (admins).
#[utoipa::path(get, path = "/imports", tag = "imports", security(("bearer" = ["imports.run"])), params(PageQuery),
    responses((status = 200, description = "A page of imports, oldest first", body = Page<Import>)))]
pub async fn list_imports(
    State(state): State<AppState>,
    caller: Caller,
    ValidQuery(query): ValidQuery<PageQuery>,
) -> Result<Json<Page<Import>>, Error> {
    caller.require(Permission::ImportsRun)?;
    Ok(Json(state.store.imports(&caller.tenant_id, query.limit, query.cursor.as_deref()).await?))
}

/// The columns of an import file: its header row and one example row, as CSV (admins). Headers
/// match ignoring case, spaces and underscores; optional columns may be left out.
#[utoipa::path(get, path = "/imports/templates/{kind}", tag = "imports", security(("bearer" = ["imports.run"])),
    params(("kind" = ImportKind, Path)),
    responses(
        (status = 200, description = "The template", content_type = "text/csv", body = String),
        (status = 404, description = "No such kind of import", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn import_template(caller: Caller, Path(kind): Path<String>) -> Result<impl IntoResponse, Error> {
    caller.require(Permission::ImportsRun)?;
    let columns = match kind.as_str() {
        "people" => PEOPLE,
        "shifts" => SHIFTS,
        _ => return Err(Error::NotFound),
    };
    let disposition = format!("attachment; filename=\"{kind}-template.csv\"");
    Ok((
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()), (header::CONTENT_DISPOSITION, disposition)],
        template(columns),
    ))
}
