//! HTTP plumbing shared by every function: the validated JSON extractor, the finishing touches on
//! a router (OpenAPI document, fallbacks, request logging) and the Lambda entry point.

mod body;
pub mod cors;
pub mod idempotency;
pub mod openapi;
mod query;
pub mod scim;

pub use body::{BODY_LIMIT_BYTES, ValidJson};
pub use idempotency::idempotency_key;
pub use openapi::OPENAPI_PATH;
pub use query::{PageQuery, ValidQuery};

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, Uri, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use lambda_http::request::RequestContext;
use tracing::Instrument;
use utoipa::openapi::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::metrics::{self, Unit};
use crate::store::{RequestTrips, Spent};
use crate::{AppState, Error};

/// The client's IP address as API Gateway saw it. `None` outside Lambda (the dev server), where
/// no trustworthy source is at hand; a client-sent `X-Forwarded-For` is never believed.
pub struct ClientIp(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(match parts.extensions.get::<RequestContext>() {
            Some(RequestContext::ApiGatewayV2(context)) => context.http.source_ip.clone(),
            _ => None,
        }))
    }
}

/// The id of the request being served (the Lambda invocation's, or a new ULID locally), as
/// logged and echoed in `x-request-id`; audit entries carry it.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for RequestId {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts.extensions.get::<RequestId>().cloned().unwrap_or_else(|| RequestId(String::new())))
    }
}

/// The token of an `Authorization: Bearer …` header, if the request has one.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    value.strip_prefix("Bearer ").map(str::trim)
}

/// Reads one cookie from the request headers. The same name twice is refused (`Err`): a cookie
/// planted by a sibling domain must not be able to shadow the real one.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a str>, Error> {
    let mut values = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter_map(|(key, value)| (key == name).then_some(value));
    match (values.next(), values.next()) {
        (_, Some(_)) => Err(Error::Unauthorized("the request carries the same cookie more than once")),
        (value, None) => Ok(value),
    }
}

/// A function's routes and their completed OpenAPI document (see [`openapi`]), without state:
/// what `make openapi` writes and what [`finish`] serves.
pub fn document(api: OpenApiRouter<AppState>) -> (Router<AppState>, OpenApi) {
    let (router, mut doc) = api.split_for_parts();
    openapi::complete(&mut doc);
    (router, doc)
}

/// The router that runs locally (dev server, tests): [`serve`]d routes plus `GET /openapi.json`,
/// and the document it serves. In AWS the `docs` function serves the committed document instead.
pub fn finish(api: OpenApiRouter<AppState>, state: AppState) -> (Router, OpenApi) {
    let (router, doc) = document(api);
    // Serialised once; each request shares the bytes.
    let served = axum::body::Bytes::from(serde_json::to_vec(&doc).expect("an OpenAPI document serialises"));
    let router = router.route(
        OPENAPI_PATH,
        axum::routing::get(move || async move { ([(header::CONTENT_TYPE, "application/json")], served) }),
    );
    (serve(router, state), doc)
}

/// What every served router gets: problem+json fallbacks, the body limit, request logging, CORS
/// for the configured origins and the state. (Public for `bench/split`, which times each step.)
pub fn serve(router: Router<AppState>, state: AppState) -> Router {
    let routes = router
        .fallback(|method: Method, uri: Uri| async move {
            Error::RouteNotFound { method: method.to_string(), path: uri.path().to_owned() }
        })
        .method_not_allowed_fallback(|| async { Error::MethodNotAllowed })
        .with_state(state.clone());
    // The layers wrap the routes once, as one service: `Router::layer` on the routes themselves
    // would wrap each route apart, work every cold start pays for.
    let router = Router::new().fallback_service(routes).layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES));
    // A panic is a bug, but one request's bug must not take every other request down with it:
    // where panics unwind (debug builds: the dev server, the tests), it becomes a 500 problem
    // and the process goes on. Release builds abort on panic (smaller, faster binaries), so
    // there input is bounded before it reaches arithmetic (`validate::in_years`) instead.
    #[cfg(panic = "unwind")]
    let router = router.layer(tower_http::catch_panic::CatchPanicLayer::custom(|_: Box<dyn std::any::Any + Send>| {
        axum::response::IntoResponse::into_response(Error::internal("the handler panicked"))
    }));
    let router = router.layer(middleware::from_fn(scim::errors));
    let router = router.layer(middleware::from_fn_with_state(state.clone(), log_request));
    match cors::layer(&state.config.cors_origins) {
        Some(cors) => router.layer(cors),
        None => router,
    }
}

/// One JSON log line per request, inside a span carrying the request id, which is echoed back as
/// `x-request-id`. In Lambda the id is the invocation's; locally a new ULID. The request runs in
/// its own round-trip scope, so `ddb_round_trips` counts its DynamoDB calls and no other's.
async fn log_request(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let request_id = request
        .extensions()
        .get::<lambda_http::Context>()
        .map(|context| context.request_id.clone())
        .unwrap_or_else(|| ulid::Ulid::new().to_string());
    request.extensions_mut().insert(RequestId(request_id.clone()));
    let route = route_key(&request);
    let path = logged_path(request.uri().path());
    let span = tracing::info_span!("request", request_id = %request_id, method = %request.method(), path = %path);
    let (started, trips) = (Instant::now(), RequestTrips::default());
    let mut response = trips.clone().scope(next.run(request)).instrument(span.clone()).await;
    // This request's own sequential DynamoDB round trips, exact however many run concurrently.
    let (ddb_round_trips, consumed) = (trips.count(), trips.consumed());
    let (read_units, write_units) = (consumed.read_units, consumed.write_units);
    state.store.round_trips().report(&request_id, Spent { round_trips: ddb_round_trips, consumed });
    span.in_scope(|| {
        tracing::info!(
            status = response.status().as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            ddb_round_trips,
            read_units,
            write_units,
            "request finished"
        )
    });
    if let Some(route) = route {
        let cold_start = !SERVED_ONE.swap(true, Ordering::Relaxed);
        metrics::emit(
            &[("Route", &route)],
            &[
                ("Latency", Unit::Milliseconds, started.elapsed().as_secs_f64() * 1000.0),
                ("DynamoDBRoundTrips", Unit::Count, ddb_round_trips as f64),
                ("ReadUnits", Unit::Count, read_units),
                ("WriteUnits", Unit::Count, write_units),
                ("ColdStart", Unit::Count, f64::from(u8::from(cold_start))),
            ],
        );
    }
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

/// Whether this process has served a request yet: its first is its cold start's.
static SERVED_ONE: AtomicBool = AtomicBool::new(false);

/// The API Gateway route the request came by (`GET /shifts/{shift_id}`): a metric's dimension,
/// one per operation whatever the ids. None outside API Gateway.
fn route_key(request: &Request) -> Option<String> {
    match request.extensions().get::<RequestContext>() {
        Some(RequestContext::ApiGatewayV2(context)) => context.route_key.clone(),
        _ => None,
    }
}

/// The path as logged: a calendar feed's path is its credential (calendar apps send no token),
/// so the secret stays out of the logs.
fn logged_path(path: &str) -> &str {
    if path.starts_with("/calendar/") { "/calendar/{token}" } else { path }
}

/// The whole `main` of an HTTP function: logs, state once per cold start, then serve events.
/// It takes the function's `lambda_router()` (see [`function_routes!`]): in AWS the document is
/// the `docs` function's, so building one here would only slow every cold start. `OUTBOX` and
/// `FILES` are the function's [`crate::Clients`], given as constants so that a client it does not
/// use is not even linked into its binary (the S3 client alone is ≈0.3 MiB).
pub async fn run_lambda<const OUTBOX: bool, const FILES: bool, const PAYMENTS: bool>(
    routes: Router<AppState>,
) -> Result<(), lambda_http::Error> {
    crate::telemetry::init();
    let state = AppState::for_lambda::<OUTBOX, FILES, PAYMENTS>().await?;
    lambda_http::run(serve(routes, state)).await
}

/// Declares a function's routes once, as groups of handlers that share a path, and defines from
/// them:
/// - `router()`: the routes with their OpenAPI operations (`utoipa_axum`), for the dev server,
///   the document and the tests;
/// - `lambda_router()`: the same routes, methods and handlers, taken from the same
///   `#[utoipa::path]` declarations but without building any OpenAPI operation, for the Lambda's
///   cold start. (`tests/openapi.rs` checks that both serve the same operations.)
/// - `run_lambda()`: the Lambda's whole `main`, with the clients the crate declares in its
///   `pub const CLIENTS` (see [`run_lambda`]).
#[macro_export]
macro_rules! function_routes {
    ($( [$($first:ident $(:: $rest:ident)*),+ $(,)?] ),+ $(,)?) => {
        pub fn router() -> ::utoipa_axum::router::OpenApiRouter<$crate::AppState> {
            ::utoipa_axum::router::OpenApiRouter::new()
                $( .routes(::utoipa_axum::routes!($($first $(:: $rest)*),+)) )+
        }

        pub fn lambda_router() -> ::axum::Router<$crate::AppState> {
            let router = ::axum::Router::new();
            $( $( let router = $crate::lambda_route!(router, $first $(:: $rest)*); )+ )+
            router
        }

        /// The Lambda's whole `main`: [`lambda_router`] served with the clients of `CLIENTS`.
        pub async fn run_lambda() -> Result<(), ::lambda_http::Error> {
            $crate::http::run_lambda::<{ CLIENTS.outbox }, { CLIENTS.files }, { CLIENTS.payments }>(lambda_router()).await
        }
    };
}

/// One handler's route, as [`function_routes!`]'s `lambda_router()` adds it.
#[doc(hidden)]
#[macro_export]
macro_rules! lambda_route {
    ($router:ident, $first:ident $(:: $rest:ident)*) => {{
        #[allow(unused_imports)]
        use ::utoipa_axum::PathItemExt;
        let path = ::utoipa_axum::routes!(@path [path()] of $first $(:: $rest)*);
        let methods = ::utoipa_axum::routes!(@path [methods()] of $first $(:: $rest)*);
        let method_router = methods.iter().fold(::axum::routing::MethodRouter::new(), |routes, method| {
            routes.on(method.to_method_filter(), $first $(:: $rest)*)
        });
        $router.route(&path, method_router)
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_cookie_among_several_and_refuses_it_twice() {
        let with = |value: &'static str| HeaderMap::from_iter([(header::COOKIE, HeaderValue::from_static(value))]);
        let headers = with("a=1; __Secure-rota_refresh=xyz; b=2");
        assert_eq!(cookie(&headers, "__Secure-rota_refresh").unwrap(), Some("xyz"));
        assert_eq!(cookie(&headers, "missing").unwrap(), None);
        assert!(cookie(&with("t=1; a=2; t=3"), "t").is_err());
    }
}
