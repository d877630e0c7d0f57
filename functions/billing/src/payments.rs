//! `GET /billing/payments`: what the organisation has paid, and what failed.

use axum::Json;
use axum::extract::State;
use rota::auth::{Caller, Permission};
use rota::http::{PageQuery, ValidQuery};
use rota::store::billing::Payment;
use rota::store::page::Page;
use rota::{AppState, Error};

/// The organisation's payments, newest first: each invoice of its subscription with what became
/// of it (owners).
#[utoipa::path(get, path = "/billing/payments", tag = "billing", security(("bearer" = ["billing.manage"])), params(PageQuery),
    responses((status = 200, description = "A page of payments", body = Page<Payment>)))]
pub async fn list_payments(
    State(state): State<AppState>,
    caller: Caller,
    ValidQuery(query): ValidQuery<PageQuery>,
) -> Result<Json<Page<Payment>>, Error> {
    caller.require(Permission::BillingManage)?;
    Ok(Json(state.store.payments(&caller.tenant_id, query.limit, query.cursor.as_deref()).await?))
}
