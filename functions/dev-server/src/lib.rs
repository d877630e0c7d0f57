//! Every HTTP router merged on one port: what `make dev` serves and what the tests talk to.
//! The routers are the same ones each Lambda runs, so local runs exercise the code that ships.

use axum::Router;
use rota::AppState;
use utoipa::openapi::OpenApi;
use utoipa_axum::router::OpenApiRouter;

/// Every HTTP function: its Lambda binary (template.yaml's `BuildProperties.Binary`) and its
/// routes. Add a function here when it is created; the template test then expects its routes
/// in template.yaml.
pub fn functions() -> Vec<(&'static str, OpenApiRouter<AppState>)> {
    vec![
        ("auth", auth::router()),
        ("people", people::router()),
        ("schedule", schedule::router()),
        ("attendance", attendance::router()),
        ("payroll", payroll::router()),
        ("admin", admin::router()),
        ("billing", billing::router()),
    ]
}

/// Every HTTP function's Lambda router (`lambda_router()`, the same routes without the OpenAPI
/// operations), by binary: what `tests/openapi.rs` compares with [`functions`].
pub fn lambda_routers() -> Vec<(&'static str, axum::Router<AppState>)> {
    vec![
        ("auth", auth::lambda_router()),
        ("people", people::lambda_router()),
        ("schedule", schedule::lambda_router()),
        ("attendance", attendance::lambda_router()),
        ("payroll", payroll::lambda_router()),
        ("admin", admin::lambda_router()),
        ("billing", billing::lambda_router()),
    ]
}

/// Every function's routes, merged.
pub fn api() -> OpenApiRouter<AppState> {
    functions().into_iter().fold(OpenApiRouter::new(), |api, (_, router)| api.merge(router))
}

/// The whole API's OpenAPI document: what `make openapi` writes to `openapi.json` and the `docs`
/// function serves in AWS.
pub fn document() -> OpenApi {
    rota::http::document(api()).1
}

/// The merged router, ready to serve, and its OpenAPI document.
pub fn app(state: AppState) -> (Router, OpenApi) {
    rota::http::finish(api(), state)
}
