//! Every HTTP router merged on one port: what `make dev` serves and what the tests talk to.
//! The routers are the same ones each Lambda runs, so local runs exercise the code that ships.

use axum::Router;
use rota::AppState;
use utoipa::openapi::OpenApi;
use utoipa_axum::router::OpenApiRouter;

/// Every function's routes, merged. Add a function's router here when it is created.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().merge(auth::router())
}

/// The merged router, ready to serve, and its OpenAPI document.
pub fn app(state: AppState) -> (Router, OpenApi) {
    rota::http::finish(api(), state)
}
