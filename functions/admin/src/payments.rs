//! `GET /admin/payments`: every organisation's payments of one status (the platform's), so an
//! operator sees at once whose card failed.

use axum::Json;
use axum::extract::State;
use rota::auth::{Caller, Permission};
use rota::http::ValidQuery;
use rota::store::billing::{Payment, PaymentStatus};
use rota::store::page::Page;
use rota::{AppState, Error};

rota::list_query! {
    pub struct PaymentsQuery {
        /// `failed` (the default): those still unpaid; `paid`: those settled.
        #[garde(skip)]
        pub status: Option<PaymentStatus>,
    }
}

/// Every organisation's payments of one status, newest first (platform admins).
#[utoipa::path(get, path = "/admin/payments", tag = "platform", security(("bearer" = ["platform.manage"])), params(PaymentsQuery),
    responses((status = 200, description = "A page of payments", body = Page<Payment>)))]
pub async fn list_payments(
    State(state): State<AppState>,
    caller: Caller,
    ValidQuery(query): ValidQuery<PaymentsQuery>,
) -> Result<Json<Page<Payment>>, Error> {
    caller.require(Permission::PlatformManage)?;
    let status = query.status.unwrap_or(PaymentStatus::Failed);
    Ok(Json(state.store.payments_with_status(status, query.limit, query.cursor.as_deref()).await?))
}
