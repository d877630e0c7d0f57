//! `GET /billing/invoices[/{invoice_id}]`: Rota's invoices to the organisation, one per billing
//! period that had payments, issued by the nightly job once the period has ended.

use axum::Json;
use axum::extract::{Path, State};
use rota::auth::{Caller, Role};
use rota::error::Problem;
use rota::http::{PageQuery, ValidQuery};
use rota::store::invoices::Invoice;
use rota::store::page::Page;
use rota::{AppState, Error};

/// The organisation's invoices, newest first (owners).
#[utoipa::path(get, path = "/billing/invoices", tag = "billing", security(("bearer" = ["owner"])), params(PageQuery),
    responses((status = 200, description = "A page of invoices", body = Page<Invoice>)))]
pub async fn list_invoices(
    State(state): State<AppState>,
    caller: Caller,
    ValidQuery(query): ValidQuery<PageQuery>,
) -> Result<Json<Page<Invoice>>, Error> {
    caller.require(Role::Owner)?;
    Ok(Json(state.store.invoices(&caller.tenant_id, query.limit, query.cursor.as_deref()).await?))
}

/// One invoice of the organisation's, by its number (owners).
#[utoipa::path(get, path = "/billing/invoices/{invoice_id}", tag = "billing", security(("bearer" = ["owner"])),
    params(("invoice_id" = String, Path, description = "Its number, e.g. `RT-2027-000123`")),
    responses(
        (status = 200, description = "The invoice", body = Invoice),
        (status = 404, description = "No such invoice of the organisation's", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_invoice(
    State(state): State<AppState>,
    caller: Caller,
    Path(invoice_id): Path<String>,
) -> Result<Json<Invoice>, Error> {
    caller.require(Role::Owner)?;
    state.store.invoice(&caller.tenant_id, &invoice_id).await?.map(Json).ok_or(Error::NotFound)
}
