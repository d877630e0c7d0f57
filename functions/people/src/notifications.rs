//! `GET /notifications`: every message the organisation sent or tried to send (admins).

use axum::Json;
use axum::extract::State;
use rota::auth::{Caller, Permission};
use rota::http::{PageQuery, ValidQuery};
use rota::store::notifications::Notification;
use rota::store::page::Page;
use rota::{AppState, Error};

/// The organisation's notifications, newest first: kind, recipient, and whether each was sent,
/// skipped (no message credit left, or the person opted out) or failed.
#[utoipa::path(get, path = "/notifications", tag = "organisation", security(("bearer" = ["audit.read"])), params(PageQuery),
    responses((status = 200, description = "A page of notifications", body = Page<Notification>)))]
pub async fn list_notifications(
    State(state): State<AppState>,
    caller: Caller,
    ValidQuery(query): ValidQuery<PageQuery>,
) -> Result<Json<Page<Notification>>, Error> {
    caller.require(Permission::AuditRead)?;
    Ok(Json(state.store.notifications(&caller.tenant_id, query.limit, query.cursor.as_deref()).await?))
}
