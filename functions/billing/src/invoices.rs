//! `GET /billing/invoices[/{invoice_id}[/pdf]]`: Rota's invoices to the organisation, one per
//! billing period that had payments, issued by the nightly job once the period has ended; and
//! `PUT /billing/details`, who they are made out to.

use axum::Json;
use axum::extract::{Path, State};
use rota::auth::{Caller, Permission};
use rota::clock::Now;
use rota::error::Problem;
use rota::files::Download;
use rota::http::ValidJson;
use rota::http::{PageQuery, ValidQuery};
use rota::store::audit::AuditEntry;
use rota::store::invoices::{Invoice, Party};
use rota::store::page::Page;
use rota::{AppState, Error};

/// The organisation's invoices, newest first (owners).
#[utoipa::path(get, path = "/billing/invoices", tag = "billing", security(("bearer" = ["billing.manage"])), params(PageQuery),
    responses((status = 200, description = "A page of invoices", body = Page<Invoice>)))]
pub async fn list_invoices(
    State(state): State<AppState>,
    caller: Caller,
    ValidQuery(query): ValidQuery<PageQuery>,
) -> Result<Json<Page<Invoice>>, Error> {
    caller.require(Permission::BillingManage)?;
    Ok(Json(state.store.invoices(&caller.tenant_id, query.limit, query.cursor.as_deref()).await?))
}

/// One invoice of the organisation's, by its number (owners).
#[utoipa::path(get, path = "/billing/invoices/{invoice_id}", tag = "billing", security(("bearer" = ["billing.manage"])),
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
    caller.require(Permission::BillingManage)?;
    state.store.invoice(&caller.tenant_id, &invoice_id).await?.map(Json).ok_or(Error::NotFound)
}

/// The invoice as a PDF (seller and buyer with their addresses, number, dates, lines, tax and
/// total), stored in the organisation's files and answered as a presigned download (owners).
#[utoipa::path(get, path = "/billing/invoices/{invoice_id}/pdf", tag = "billing", security(("bearer" = ["billing.manage"])),
    params(("invoice_id" = String, Path, description = "Its number, e.g. `RT-2027-000123`")),
    responses(
        (status = 200, description = "Where to download the PDF, for 15 minutes", body = Download),
        (status = 404, description = "No such invoice of the organisation's", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn invoice_pdf(
    State(state): State<AppState>,
    caller: Caller,
    Path(invoice_id): Path<String>,
) -> Result<Json<Download>, Error> {
    caller.require(Permission::BillingManage)?;
    let invoice = state.store.invoice(&caller.tenant_id, &invoice_id).await?.ok_or(Error::NotFound)?;
    // The invoice never changes, so neither does its document: rendering it again is writing the
    // same file.
    let key = format!("tenants/{}/invoices/{}.pdf", caller.tenant_id, invoice.id);
    let body = crate::pdf::render(&invoice);
    Ok(Json(state.files.publish(key, "application/pdf", body, chrono::Utc::now()).await?))
}

/// Sets who the organisation's invoices are made out to (owners): its legal name, address and tax
/// number. Invoices issued from now on carry them; issued ones keep what they were issued with.
#[utoipa::path(put, path = "/billing/details", tag = "billing", security(("bearer" = ["billing.manage"])),
    request_body = Party,
    responses(
        (status = 200, description = "The billing details as kept", body = Party),
        (status = 422, description = "A field is invalid (named in the problem)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn set_details(
    State(state): State<AppState>,
    caller: Caller,
    ValidJson(details): ValidJson<Party>,
) -> Result<Json<Party>, Error> {
    caller.require(Permission::BillingManage)?;
    let now = Now::get();
    let audit = AuditEntry::new(
        &caller.actor(),
        "tenant.billing_details_changed",
        ("tenant", &caller.tenant_id),
        None::<&Party>,
        Some(&details),
        &now.iso,
    );
    state.store.set_billing_details(&caller.tenant_id, &details, &audit).await?;
    Ok(Json(details))
}
