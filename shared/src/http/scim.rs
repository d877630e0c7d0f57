//! What the SCIM endpoints (`/scim/v2/…`, RFC 7644) answer in: `application/scim+json`, and
//! errors in SCIM's own form, whatever made them (a handler, an extractor, the route fallback).

use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::error::{Problem, ScimError};

/// Where the SCIM endpoints are.
pub const SCIM_PREFIX: &str = "/scim/v2/";
pub const SCIM_JSON: &str = "application/scim+json";

/// A SCIM resource or message as the answer's body.
pub struct Scim<T>(pub T);

impl<T: Serialize> IntoResponse for Scim<T> {
    fn into_response(self) -> Response {
        match serde_json::to_vec(&self.0) {
            Ok(body) => ([(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON))], body).into_response(),
            Err(error) => crate::Error::internal(error).into_response(),
        }
    }
}

/// Middleware: a problem answered under [`SCIM_PREFIX`] becomes a [`ScimError`] (its headers,
/// `WWW-Authenticate` and `Retry-After`, kept).
pub(crate) async fn errors(request: Request, next: Next) -> Response {
    let scim = request.uri().path().starts_with(SCIM_PREFIX);
    let response = next.run(request).await;
    let Some(problem) = response.extensions().get::<Problem>().filter(|_| scim) else { return response };
    let (status, error) = ScimError::of(problem);
    let (mut parts, _) = response.into_parts();
    parts.status = status;
    parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Scim(error).into_response().into_body())
}
