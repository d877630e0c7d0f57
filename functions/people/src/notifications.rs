//! `GET /notifications`: every message the organisation sent or tried to send (admins).

use axum::Json;
use axum::extract::State;
use garde::Validate;
use rota::auth::{Caller, Role};
use rota::http::ValidQuery;
use rota::store::notifications::Notification;
use rota::store::page::Page;
use rota::{AppState, Error};
use serde::Deserialize;
use utoipa::IntoParams;

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct NotificationsQuery {
    /// Page size, 1 to 100 (50 by default).
    #[garde(range(min = 1, max = 100))]
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[garde(length(max = 1024))]
    #[param(max_length = 1024)]
    pub cursor: Option<String>,
}

/// The organisation's notifications, newest first: kind, recipient, and whether each was sent,
/// skipped (no message credit left, or the person opted out) or failed.
#[utoipa::path(get, path = "/notifications", tag = "organisation", security(("bearer" = ["admin"])), params(NotificationsQuery),
    responses((status = 200, description = "A page of notifications", body = Page<Notification>)))]
pub async fn list_notifications(
    State(state): State<AppState>,
    caller: Caller,
    ValidQuery(query): ValidQuery<NotificationsQuery>,
) -> Result<Json<Page<Notification>>, Error> {
    caller.require(Role::Admin)?;
    Ok(Json(state.store.notifications(&caller.tenant_id, query.limit, query.cursor.as_deref()).await?))
}
