//! Pay stubs: each person reads their own (and its PDF); admins read everyone's and export a
//! period's, as Rota's columns or a payroll provider's import file.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{NaiveDate, Utc};
use garde::Validate;
use rota::auth::{Caller, Permission};
use rota::error::Problem;
use rota::files::{Download, cell};
use rota::http::{ValidJson, ValidQuery};
use rota::store::invoices::Party;
use rota::store::page::Page;
use rota::store::payroll::PayStub;
use rota::store::people::Person;
use rota::{AppState, Error};

use crate::documents;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

rota::list_query! {
    pub struct StubQuery {
        /// One period's stubs, by its first day.
        #[garde(custom(rota::validate::in_years))]
        #[param(value_type = Option<String>, format = Date)]
        pub period: Option<NaiveDate>,
        /// One person's (admins; staff always get their own).
        #[garde(length(min = 1, max = 64))]
        #[param(min_length = 1, max_length = 64)]
        pub person_id: Option<String>,
    }
}

/// Pay stubs, newest period first: your own, or for admins everyone's (filters `period`,
/// `person_id`).
#[utoipa::path(get, path = "/pay-stubs", tag = "payroll", security(("bearer" = [])), params(StubQuery),
    responses((status = 200, description = "A page of pay stubs", body = Page<PayStub>)))]
pub async fn list_stubs(
    State(state): State<AppState>,
    caller: Caller,
    ValidQuery(query): ValidQuery<StubQuery>,
) -> Result<Json<Page<PayStub>>, Error> {
    let person = if caller.holds(Permission::PayrollRead) {
        caller.require(Permission::PayrollRead)?;
        query.person_id.clone()
    } else {
        Some(caller.person_id.clone())
    };
    let period = query.period.map(|period| period.to_string());
    let page = state
        .store
        .stubs(&caller.tenant_id, person.as_deref(), period.as_deref(), query.limit, query.cursor.as_deref())
        .await?;
    Ok(Json(page))
}

/// One pay stub (`{period start}_{person_id}`): its person's, or an admin's to read.
#[utoipa::path(get, path = "/pay-stubs/{stub_id}", tag = "payroll", security(("bearer" = [])),
    params(("stub_id" = String, Path)),
    responses(
        (status = 200, description = "The stub", body = PayStub),
        (status = 404, description = "No such stub (of yours, for staff)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_stub(
    State(state): State<AppState>,
    caller: Caller,
    Path(stub_id): Path<String>,
) -> Result<Json<PayStub>, Error> {
    let stub: PayStub = state.store.entity(&caller.tenant_id, &stub_id).await?.ok_or(Error::NotFound)?;
    caller.require_unless_own(&stub.person_id, Permission::PayrollRead)?;
    Ok(Json(stub))
}

/// A stub's PDF (its person, or an admin): employer, person, period, hours regular and
/// overtime, rate, gross, deductions and net, as a presigned download (15 minutes).
#[utoipa::path(get, path = "/pay-stubs/{stub_id}/pdf", tag = "payroll", security(("bearer" = [])),
    params(("stub_id" = String, Path)),
    responses(
        (status = 200, description = "GET the PDF from `url` before `expires_at`", body = Download),
        (status = 404, description = "No such stub (of yours, for staff)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn stub_pdf(
    State(state): State<AppState>,
    caller: Caller,
    Path(stub_id): Path<String>,
) -> Result<Json<Download>, Error> {
    let tenant_id = &caller.tenant_id;
    // The stub's id ends in its person's: the stub, the organisation and the person in parallel.
    let person_id = stub_id.split_once('_').map_or("", |(_, person)| person);
    let (stub, tenant, person) = tokio::try_join!(
        state.store.entity::<PayStub>(tenant_id, &stub_id),
        state.store.tenant(tenant_id),
        state.store.entity::<Person>(tenant_id, person_id),
    )?;
    let (stub, tenant) = (stub.ok_or(Error::NotFound)?, tenant.ok_or(Error::NotFound)?);
    caller.require_unless_own(&stub.person_id, Permission::PayrollRead)?;
    let employer = tenant.billing_details.clone().unwrap_or_else(|| Party::named(&tenant.name));
    let payroll_id = person.as_ref().and_then(|person| person.payroll_id.as_deref());
    let body = documents::stub_pdf(&stub, &employer, payroll_id);
    let key = format!("tenants/{tenant_id}/pay-stubs/{stub_id}.pdf");
    Ok(Json(state.files.publish(key, "application/pdf", body, Utc::now()).await?))
}

/// Which file an export writes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    /// Rota's own columns: every figure of each stub.
    #[default]
    Rota,
    /// ADP Workforce Now paydata (`PR{company_code}EPI.csv`): `Co Code`, `Batch ID`, `File #`
    /// (each person's `payroll_id`), `Reg Hours`, `O/T Hours`.
    Adp,
    /// Gusto's hours CSV: `first_name`, `last_name`, `gusto_employee_id` (`payroll_id`, when
    /// set), `regular_hours`, `overtime_hours`.
    Gusto,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "period": "2030-07-01", "format": "adp", "company_code": "RTA" }))]
pub struct StubExportRequest {
    /// The period's first day.
    #[garde(custom(rota::validate::in_years))]
    #[schema(value_type = String, format = Date)]
    pub period: NaiveDate,
    #[serde(default)]
    #[garde(skip)]
    pub format: ExportFormat,
    /// The organisation's ADP company code (2 or 3 capital letters or digits): needed for `adp`.
    #[garde(inner(pattern(r"^[A-Z0-9]{2,3}$")))]
    #[schema(pattern = r"^[A-Z0-9]{2,3}$")]
    pub company_code: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StubExport {
    /// Stubs in the file (one row each, after the header).
    pub rows: usize,
    #[serde(flatten)]
    pub download: Download,
}

const HEADER: [&str; 16] = [
    "stub_id",
    "period_start",
    "period_end",
    "person_id",
    "person_name",
    "currency",
    "hourly_rate_minor",
    "shifts",
    "worked_minutes",
    "regular_minutes",
    "overtime_minutes",
    "regular_minor",
    "overtime_minor",
    "gross_minor",
    "deductions_minor",
    "net_minor",
];

fn row(stub: &PayStub) -> [String; 16] {
    [
        stub.id.clone(),
        stub.period_start.clone(),
        stub.period_end.clone(),
        stub.person_id.clone(),
        cell(&stub.person_name),
        stub.currency.clone(),
        stub.hourly_rate_minor.to_string(),
        stub.shifts.to_string(),
        stub.worked_minutes.to_string(),
        stub.regular_minutes.to_string(),
        stub.overtime_minutes.to_string(),
        stub.regular_minor.to_string(),
        stub.overtime_minor.to_string(),
        stub.gross_minor.to_string(),
        stub.deductions.iter().map(|d| d.amount_minor).sum::<i64>().to_string(),
        stub.net_minor.to_string(),
    ]
}

/// Writes a period's pay stubs to a CSV file (admins) and answers a download link valid 15
/// minutes: Rota's own columns (amounts in integer minor units of the currency named on each
/// row), or a payroll provider's import file (`format`: `adp`, `gusto`) naming each person by
/// their `payroll_id` (`PATCH /people/{person_id}`). ADP needs everyone's: 422 names who has none.
#[utoipa::path(post, path = "/pay-stubs/exports", tag = "payroll", security(("bearer" = ["payroll.read"])),
    request_body = StubExportRequest,
    responses(
        (status = 201, description = "GET the file from `url` before `expires_at`", body = StubExport),
        (status = 422, description = "`company_code` missing for `adp`, or people without a `payroll_id`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn export_stubs(
    State(state): State<AppState>,
    caller: Caller,
    ValidJson(request): ValidJson<StubExportRequest>,
) -> Result<(StatusCode, Json<StubExport>), Error> {
    caller.require(Permission::PayrollRead)?;
    let company_code = match (request.format, request.company_code) {
        (ExportFormat::Adp, None) => return Err(Error::field("company_code", "is needed for the adp format")),
        (_, code) => code.unwrap_or_default(),
    };
    let tenant_id = &caller.tenant_id;
    let period = request.period.to_string();
    let stubs = state.store.period_stubs(tenant_id, &period).await?;
    let (name, body) = match request.format {
        ExportFormat::Rota => {
            let mut writer = csv::Writer::from_writer(Vec::new());
            writer.write_record(HEADER).map_err(Error::internal)?;
            for stub in &stubs {
                writer.write_record(row(stub)).map_err(Error::internal)?;
            }
            (format!("pay-stubs-{period}.csv"), writer.into_inner().map_err(Error::internal)?)
        }
        format => {
            // Round trip 2: the people's payroll numbers.
            let person_ids: Vec<&str> = stubs.iter().map(|stub| stub.person_id.as_str()).collect();
            let people = state.store.entities_among::<Person>(tenant_id, &person_ids).await?;
            let numbers: HashMap<&str, &str> =
                people.iter().filter_map(|person| Some((person.id.as_str(), person.payroll_id.as_deref()?))).collect();
            let numbered: Vec<(&PayStub, Option<&str>)> =
                stubs.iter().map(|stub| (stub, numbers.get(stub.person_id.as_str()).copied())).collect();
            if format == ExportFormat::Gusto {
                let body = documents::gusto_hours(&numbered).map_err(Error::internal)?;
                (format!("gusto-hours-{period}.csv"), body)
            } else {
                let unnumbered: Vec<&str> = numbered
                    .iter()
                    .filter(|(_, number)| number.is_none())
                    .map(|(stub, _)| stub.person_name.as_str())
                    .collect();
                if !unnumbered.is_empty() {
                    let message = format!(
                        "is missing for {} (their File # in ADP; set it with PATCH /people/{{person_id}})",
                        unnumbered.join(", ")
                    );
                    return Err(Error::field("payroll_id", &message));
                }
                let rows: Vec<(&PayStub, &str)> =
                    numbered.iter().map(|(stub, number)| (*stub, number.unwrap_or_default())).collect();
                let batch_id = documents::adp_batch_id(request.period);
                let body = documents::adp_paydata(&company_code, &batch_id, &rows).map_err(Error::internal)?;
                // ADP takes a single paydata file named for its company code.
                (format!("PR{company_code}EPI.csv"), body)
            }
        }
    };
    let key = format!("tenants/{tenant_id}/exports/{}/{name}", ulid::Ulid::new());
    let download = state.files.publish(key, "text/csv; charset=utf-8", body, Utc::now()).await?;
    Ok((StatusCode::CREATED, Json(StubExport { rows: stubs.len(), download })))
}
