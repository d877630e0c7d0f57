//! CORS for the browser origins in `ROTA_CORS_ORIGINS` (none by default). In AWS the HTTP API's
//! `CorsConfiguration` answers for the same origins (template.yaml takes both from one parameter,
//! and a test checks that its methods and headers are these).

use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderName, HeaderValue, Method, header};
use tower_http::cors::{AllowCredentials, AllowOrigin, CorsLayer};

pub const ALLOWED_METHODS: [Method; 5] = [Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE];
pub const ALLOWED_HEADERS: [HeaderName; 4] =
    [header::AUTHORIZATION, header::CONTENT_TYPE, header::IF_MATCH, HeaderName::from_static("idempotency-key")];
pub const EXPOSED_HEADERS: [HeaderName; 3] =
    [header::RETRY_AFTER, header::WWW_AUTHENTICATE, HeaderName::from_static("x-request-id")];
pub const MAX_AGE_SECS: u64 = 600;

/// Parses `ROTA_CORS_ORIGINS`: comma-separated origins such as `https://app.example.com`.
pub fn parse_origins(setting: &str) -> Result<Vec<HeaderValue>, String> {
    setting
        .split(',')
        .map(str::trim)
        .filter(|origin| !origin.is_empty())
        .map(|origin| {
            let (scheme, host) = origin.split_once("://").unwrap_or_default();
            let valid = matches!(scheme, "https" | "http") && !host.is_empty() && !host.contains('/');
            match HeaderValue::from_str(origin) {
                Ok(value) if valid => Ok(value),
                _ => Err(format!("ROTA_CORS_ORIGINS: `{origin}` is not an origin like https://app.example.com")),
            }
        })
        .collect()
}

/// The layer for the allowed origins, or `None` when there are none (no CORS headers at all).
/// Credentials (the refresh cookie) are allowed, which is safe because only listed origins are
/// ever echoed back, never `*`.
pub fn layer(origins: &[HeaderValue]) -> Option<CorsLayer> {
    let listed: Arc<[HeaderValue]> = origins.into();
    (!origins.is_empty()).then(|| {
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins.iter().cloned()))
            // Said only to a listed origin: anyone else hears nothing about CORS from us.
            .allow_credentials(AllowCredentials::predicate(move |origin, _| listed.contains(origin)))
            .allow_methods(ALLOWED_METHODS)
            .allow_headers(ALLOWED_HEADERS)
            .expose_headers(EXPOSED_HEADERS)
            .max_age(Duration::from_secs(MAX_AGE_SECS))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_comma_separated_list_of_origins() {
        let origins = parse_origins(" https://app.example.com, http://localhost:5173 ,").unwrap();
        assert_eq!(origins, ["https://app.example.com", "http://localhost:5173"]);
        assert!(parse_origins("").unwrap().is_empty());
        for bad in ["*", "app.example.com", "https://app.example.com/", "ftp://x", "https://"] {
            assert!(parse_origins(bad).is_err(), "{bad}");
        }
    }
}
