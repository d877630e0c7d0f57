//! `GET /health`, for uptime checks: public, no data. A 200 says the API, a function and the table
//! answer (one `GetItem` of a key that holds nothing); anything else is down.

use axum::Json;
use axum::extract::State;
use rota::error::Problem;
use rota::{AppState, Error};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok`.
    pub status: &'static str,
}

/// Whether Rota answers: for an uptime check, no token.
#[utoipa::path(get, path = "/health", tag = "health",
    responses(
        (status = 200, description = "Rota answers", body = Health, example = json!({ "status": "ok" })),
        (status = 500, description = "The table did not answer", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn health(State(state): State<AppState>) -> Result<Json<Health>, Error> {
    state.store.ping().await?;
    Ok(Json(Health { status: "ok" }))
}
