//! `GET /billing/credits/transactions`: the organisation's message credits ledger.

use axum::Json;
use axum::extract::State;
use rota::auth::{Caller, Role};
use rota::http::{PageQuery, ValidQuery};
use rota::store::credits::CreditEntry;
use rota::store::page::Page;
use rota::{AppState, Error};

/// Every change of the organisation's message credits, newest first: grants, purchases, spends
/// (one per message that took a credit) and refunds. They sum to the balance (owners).
#[utoipa::path(get, path = "/billing/credits/transactions", tag = "billing", security(("bearer" = ["owner"])), params(PageQuery),
    responses((status = 200, description = "A page of the ledger", body = Page<CreditEntry>)))]
pub async fn list_credit_entries(
    State(state): State<AppState>,
    caller: Caller,
    ValidQuery(query): ValidQuery<PageQuery>,
) -> Result<Json<Page<CreditEntry>>, Error> {
    caller.require(Role::Owner)?;
    Ok(Json(state.store.credit_entries(&caller.tenant_id, query.limit, query.cursor.as_deref()).await?))
}
