//! Pay stubs: each person reads their own; admins read everyone's and export a period's.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{NaiveDate, Utc};
use garde::Validate;
use rota::auth::{Caller, Permission};
use rota::error::Problem;
use rota::files::{Download, cell};
use rota::http::{ValidJson, ValidQuery};
use rota::store::page::Page;
use rota::store::payroll::PayStub;
use rota::{AppState, Error};
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

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "period": "2030-07-01" }))]
pub struct StubExportRequest {
    /// The period's first day.
    #[garde(custom(rota::validate::in_years))]
    #[schema(value_type = String, format = Date)]
    pub period: NaiveDate,
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
/// minutes. Amounts are integer minor units of the currency named on each row.
#[utoipa::path(post, path = "/pay-stubs/exports", tag = "payroll", security(("bearer" = ["payroll.read"])),
    request_body = StubExportRequest,
    responses((status = 201, description = "GET the file from `url` before `expires_at`", body = StubExport)))]
pub async fn export_stubs(
    State(state): State<AppState>,
    caller: Caller,
    ValidJson(request): ValidJson<StubExportRequest>,
) -> Result<(StatusCode, Json<StubExport>), Error> {
    caller.require(Permission::PayrollRead)?;
    let period = request.period.to_string();
    let stubs = state.store.period_stubs(&caller.tenant_id, &period).await?;
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(HEADER).map_err(Error::internal)?;
    for stub in &stubs {
        writer.write_record(row(stub)).map_err(Error::internal)?;
    }
    let body = writer.into_inner().map_err(Error::internal)?;
    let key = format!("tenants/{}/exports/pay-stubs-{period}-{}.csv", caller.tenant_id, ulid::Ulid::new());
    let download = state.files.publish(key, "text/csv; charset=utf-8", body, Utc::now()).await?;
    Ok((StatusCode::CREATED, Json(StubExport { rows: stubs.len(), download })))
}
