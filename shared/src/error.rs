//! The one error type. Every handler returns `Result<_, rota::Error>`; this is the only place
//! errors become HTTP responses, always RFC 9457 `application/problem+json`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::conflicts::Violation;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The body is not JSON at all (malformed, truncated, trailing data).
    #[error("{0}")]
    InvalidRequest(String),
    /// A body was sent without `Content-Type: application/json`.
    #[error("the body must be JSON, sent with `Content-Type: application/json`")]
    UnsupportedMediaType,
    #[error("the body is larger than the {limit_bytes} bytes accepted")]
    PayloadTooLarge { limit_bytes: usize },
    /// The body is JSON but breaks the rules: unknown, missing or wrongly typed fields, or
    /// values out of range. Every offending field is listed.
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    #[error("{0}")]
    Unauthorized(&'static str),
    #[error("{0}")]
    Forbidden(&'static str),
    /// An owner, admin or platform admin acting without a session that passed two-factor
    /// authentication, while their organisation requires it.
    #[error("this action needs two-factor authentication: enable it (POST /auth/2fa/setup) and log in with a code")]
    MfaRequired,
    /// Separation of duties: a decision on one's own record or request (see `Caller::not_own`).
    #[error("nobody decides on their own record or request; ask a colleague")]
    OwnRecord,
    /// The caller's organisation is suspended by the platform.
    #[error("the organisation is suspended")]
    TenantSuspended,
    /// Also what another tenant's resource looks like: never a 403, never data.
    #[error("not found")]
    NotFound,
    #[error("no route matches {method} {path}")]
    RouteNotFound { method: String, path: String },
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("{0}")]
    Conflict(&'static str),
    /// A placement breaks scheduling rules: every violation, for every person.
    #[error("the placement breaks scheduling rules; see violations")]
    Scheduling(Vec<Violation>),
    /// A check-in farther from the shift's location than its geofence (in `reject` mode).
    #[error("{distance_m} m from the location, beyond its geofence of {radius_m} m")]
    OutsideGeofence { distance_m: u32, radius_m: u32 },
    /// A check-in or check-out outside the shift's window.
    #[error("checking in and out of this shift is open from {opens_at} to {closes_at}")]
    OutsideWindow { opens_at: String, closes_at: String },
    /// A check-in without a photo where the organisation requires one.
    #[error(
        "this organisation requires a photo with every check-in: upload one (POST /attendance/photo-url) and send its key as photo_key"
    )]
    PhotoRequired,
    /// More than the organisation's plan allows (its `limits`).
    #[error("{0}")]
    PlanLimitReached(String),
    /// The payment provider refused the payment (a declined card): the customer's to fix.
    #[error("the payment was declined ({code}): {message}")]
    PaymentDeclined { code: String, message: String },
    /// An event's dashboard data on a plan whose events are paid for one by one, before it is
    /// unlocked: the latest quote, if one is still valid.
    #[error(
        "this event is locked: pay its quote to open its dashboard, attendance and exports (POST /events/{{event_id}}/quote, then /unlock)"
    )]
    PaymentRequired { quote: Option<Box<crate::store::unlocks::Quote>> },
    /// The payment provider did not answer or failed: nothing was charged twice; retry later.
    #[error("the payment provider is unavailable; try again in a minute")]
    PaymentProviderUnavailable,
    /// An identity provider's discovery document or keys could not be read.
    #[error("the identity provider could not be reached; try again shortly")]
    IdentityProviderUnavailable,
    /// The DNS resolver did not answer, or could not resolve the name (not that it has no record).
    #[error("the DNS resolver could not be reached; try again shortly")]
    DnsUnavailable,
    #[error("too many requests; retry after {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    /// Anything we did not expect. Logged in full, answered without detail.
    #[error("internal error: {0}")]
    Internal(Box<dyn std::error::Error + Send + Sync>),
}

/// One broken rule: which field, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// RFC 9457 problem details, as every error is answered. (The response carries it in its
/// extensions too, for [`crate::http::scim`] to answer in SCIM's form.)
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI reference naming the problem type: `/problems/{code}`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
    /// Machine-readable code, e.g. `validation_failed`, `not_found`, `conflict`.
    pub code: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Scheduling rules broken (`scheduling_conflict`), each with its code and person.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub violations: Vec<Violation>,
    /// `outside_geofence`: how far from the location the device was, and the geofence's radius.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance_m: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub radius_m: Option<u32>,
    /// `outside_window`: when checking in opens and when it closes (UTC).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opens_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closes_at: Option<String>,
    /// `payment_required`: the event's quote still valid, with its amount, if it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quote: Option<crate::store::unlocks::Quote>,
}

impl Error {
    pub fn internal(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Internal(error.into())
    }

    pub fn field(field: &str, message: &str) -> Self {
        Self::Validation(vec![FieldError { field: field.into(), message: message.into() }])
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::InvalidRequest(_) => (StatusCode::BAD_REQUEST, "invalid_request"),
            Self::UnsupportedMediaType => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
            Self::PayloadTooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            Self::Validation(_) => (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            Self::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            Self::MfaRequired => (StatusCode::FORBIDDEN, "mfa_required"),
            Self::OwnRecord => (StatusCode::FORBIDDEN, "own_record"),
            Self::TenantSuspended => (StatusCode::FORBIDDEN, "tenant_suspended"),
            Self::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            Self::RouteNotFound { .. } => (StatusCode::NOT_FOUND, "route_not_found"),
            Self::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            Self::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            Self::Scheduling(_) => (StatusCode::UNPROCESSABLE_ENTITY, "scheduling_conflict"),
            Self::OutsideGeofence { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "outside_geofence"),
            Self::OutsideWindow { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "outside_window"),
            Self::PhotoRequired => (StatusCode::UNPROCESSABLE_ENTITY, "photo_required"),
            Self::PlanLimitReached(_) => (StatusCode::CONFLICT, "plan_limit_reached"),
            Self::PaymentDeclined { .. } => (StatusCode::PAYMENT_REQUIRED, "payment_declined"),
            Self::PaymentRequired { .. } => (StatusCode::PAYMENT_REQUIRED, "payment_required"),
            Self::PaymentProviderUnavailable => (StatusCode::SERVICE_UNAVAILABLE, "payment_provider_unavailable"),
            Self::IdentityProviderUnavailable => (StatusCode::SERVICE_UNAVAILABLE, "identity_provider_unavailable"),
            Self::DnsUnavailable => (StatusCode::SERVICE_UNAVAILABLE, "dns_unavailable"),
            Self::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal_error"),
        }
    }

    pub fn problem(&self) -> Problem {
        let (status, code) = self.status_and_code();
        let detail = match self {
            Self::Internal(error) => {
                tracing::error!(error = %error, "internal error");
                "an unexpected error occurred; it has been logged".to_owned()
            }
            other => other.to_string(),
        };
        let mut problem = Problem {
            kind: format!("/problems/{code}"),
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            detail,
            code,
            errors: match self {
                Self::Validation(errors) => errors.clone(),
                _ => Vec::new(),
            },
            violations: match self {
                Self::Scheduling(violations) => violations.clone(),
                _ => Vec::new(),
            },
            distance_m: None,
            radius_m: None,
            opens_at: None,
            closes_at: None,
            quote: None,
        };
        match self {
            Self::OutsideGeofence { distance_m, radius_m } => {
                (problem.distance_m, problem.radius_m) = (Some(*distance_m), Some(*radius_m));
            }
            Self::OutsideWindow { opens_at, closes_at } => {
                (problem.opens_at, problem.closes_at) = (Some(opens_at.clone()), Some(closes_at.clone()));
            }
            Self::PaymentRequired { quote } => problem.quote = quote.as_deref().cloned(),
            _ => {}
        }
        problem
    }
}

/// The error body of the SCIM endpoints (RFC 7644 §3.12), which identity providers read instead
/// of problem+json: made from the same [`Problem`], so the mapping stays here.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScimError {
    #[schema(example = json!(["urn:ietf:params:scim:api:messages:2.0:Error"]))]
    pub schemas: Vec<String>,
    /// The HTTP status, as a string (as SCIM has it).
    pub status: String,
    /// `invalidFilter`, `invalidSyntax`, `invalidValue` or `uniqueness`, where one applies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scim_type: Option<&'static str>,
    pub detail: String,
}

impl ScimError {
    /// `problem` as SCIM says it: a broken rule is SCIM's 400 `invalidValue` (`invalidFilter`
    /// for the filter) with each field in the detail, a conflict 409 `uniqueness`.
    pub fn of(problem: &Problem) -> (StatusCode, Self) {
        let field_named = |name: &str| problem.errors.iter().any(|error| error.field == name);
        let (status, scim_type) = match problem.code {
            "validation_failed" if field_named("filter") => (400, Some("invalidFilter")),
            "validation_failed" => (400, Some("invalidValue")),
            "invalid_request" => (400, Some("invalidSyntax")),
            "conflict" => (409, Some("uniqueness")),
            _ => (problem.status, None),
        };
        let mut detail = problem.detail.clone();
        for error in &problem.errors {
            detail.push_str(&format!("; {}: {}", error.field, error.message));
        }
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let schemas = vec!["urn:ietf:params:scim:api:messages:2.0:Error".to_owned()];
        (status, Self { schemas, status: status.as_u16().to_string(), scim_type, detail })
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let problem = self.problem();
        let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = (status, body).into_response();
        response.extensions_mut().insert(problem);
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        match self {
            Self::RateLimited { retry_after_secs } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            }
            Self::Unauthorized(_) => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            _ => {}
        }
        response
    }
}

impl<E, R> From<aws_sdk_dynamodb::error::SdkError<E, R>> for Error
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    fn from(error: aws_sdk_dynamodb::error::SdkError<E, R>) -> Self {
        Self::internal(aws_sdk_dynamodb::error::DisplayErrorContext(error).to_string())
    }
}

/// A provider failure as the caller's answer: a declined card is theirs to fix (402), an
/// unavailable provider is worth a retry (503); anything else is a bug or a misconfiguration.
impl From<crate::payments::PaymentError> for Error {
    fn from(error: crate::payments::PaymentError) -> Self {
        use crate::payments::PaymentError;
        match error {
            PaymentError::Declined { code, message, .. } => Self::PaymentDeclined { code, message },
            PaymentError::Unavailable(reason) => {
                tracing::warn!(%reason, "payment provider unavailable");
                Self::PaymentProviderUnavailable
            }
            other => Self::internal(other),
        }
    }
}

impl From<serde_dynamo::Error> for Error {
    fn from(error: serde_dynamo::Error) -> Self {
        Self::internal(error)
    }
}

impl From<garde::Report> for Error {
    fn from(report: garde::Report) -> Self {
        Self::Validation(
            report
                .iter()
                .map(|(path, error)| FieldError { field: path.to_string(), message: error.message().to_string() })
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_do_not_leak_their_detail() {
        let problem = Error::internal("table rota-secret missing").problem();
        assert_eq!(problem.status, 500);
        assert!(!problem.detail.contains("rota-secret"));
    }

    #[test]
    fn validation_lists_every_field() {
        let problem = Error::Validation(vec![
            FieldError { field: "email".into(), message: "not an email".into() },
            FieldError { field: "password".into(), message: "too short".into() },
        ])
        .problem();
        assert_eq!((problem.status, problem.code), (422, "validation_failed"));
        assert_eq!(problem.errors.len(), 2);
        assert_eq!(problem.kind, "/problems/validation_failed");
    }

    #[test]
    fn attendance_refusals_carry_what_a_client_shows() {
        let problem =
            serde_json::to_value(Error::OutsideGeofence { distance_m: 151, radius_m: 150 }.problem()).unwrap();
        assert_eq!((problem["status"].as_u64(), problem["code"].as_str()), (Some(422), Some("outside_geofence")));
        assert_eq!((problem["distance_m"].as_u64(), problem["radius_m"].as_u64()), (Some(151), Some(150)));
        assert!(problem.get("opens_at").is_none());
        let window =
            Error::OutsideWindow { opens_at: "2030-07-04T07:00:00Z".into(), closes_at: "2030-07-04T17:00:00Z".into() };
        let problem = serde_json::to_value(window.problem()).unwrap();
        assert_eq!(
            (problem["opens_at"].as_str(), problem["closes_at"].as_str()),
            (Some("2030-07-04T07:00:00Z"), Some("2030-07-04T17:00:00Z"))
        );
        assert!(problem["detail"].as_str().unwrap().contains("07:00:00Z"));
        let photo = Error::PhotoRequired.problem();
        assert_eq!(
            (photo.status, photo.code, photo.kind.as_str()),
            (422, "photo_required", "/problems/photo_required")
        );
        // Other problems carry none of it.
        assert!(serde_json::to_value(Error::NotFound.problem()).unwrap().get("distance_m").is_none());
    }
}
