//! The JSON body extractor. One meaning per status: a body that is not JSON at all is 400, a body
//! without a JSON content type 415, a body over the limit 413, and a JSON body with unknown,
//! missing or wrongly typed fields, or values breaking a rule, 422 naming every field.

use axum::body::Bytes;
use axum::extract::{FromRequest, OptionalFromRequest, Request};
use axum::http::{HeaderMap, header};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::Error;
use crate::error::FieldError;

/// Bodies above this size are refused (Lambda itself stops at 6 MB); applied by `finish` as
/// axum's `DefaultBodyLimit`.
pub const BODY_LIMIT_BYTES: usize = 1 << 20;

/// A JSON body, deserialised strictly (unknown fields are errors) and validated with `garde`.
pub struct ValidJson<T>(pub T);

impl<T, S> FromRequest<S> for ValidJson<T>
where
    T: DeserializeOwned + garde::Validate<Context = ()>,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request(request: Request, state: &S) -> Result<Self, Error> {
        if !is_json(request.headers()) {
            return Err(Error::UnsupportedMediaType);
        }
        let bytes = read(request, state).await?;
        validated(parse(&bytes)?)
    }
}

/// An optional body: an empty body (with or without a JSON content type) and JSON `null` are
/// `None`; anything else must be a valid JSON body.
impl<T, S> OptionalFromRequest<S> for ValidJson<T>
where
    T: DeserializeOwned + garde::Validate<Context = ()>,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request(request: Request, state: &S) -> Result<Option<Self>, Error> {
        let json = is_json(request.headers());
        let bytes = read(request, state).await?;
        match (bytes.is_empty(), json) {
            (true, _) => Ok(None),
            (false, false) => Err(Error::UnsupportedMediaType),
            (false, true) => parse::<Option<T>>(&bytes)?.map(validated).transpose(),
        }
    }
}

/// `application/json` or any `application/*+json`, parameters (charset) ignored.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else { return false };
    let essence = value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

async fn read<S: Send + Sync>(request: Request, state: &S) -> Result<Bytes, Error> {
    Bytes::from_request(request, state).await.map_err(|rejection| {
        if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            Error::PayloadTooLarge { limit_bytes: BODY_LIMIT_BYTES }
        } else {
            Error::InvalidRequest(format!("the body could not be read: {}", rejection.body_text()))
        }
    })
}

fn validated<T: garde::Validate<Context = ()>>(value: T) -> Result<ValidJson<T>, Error> {
    value.validate()?;
    Ok(ValidJson(value))
}

/// Deserialises a body, naming the field behind any error that is about the data rather than
/// the JSON syntax. A number with a zero fraction (`3.0`) counts as the integer it equals, as JSON
/// Schema says it is.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    let mut value: Value = serde_json::from_slice(bytes).map_err(|error| not_json(&error))?;
    integral_floats_as_integers(&mut value);
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        Error::Validation(vec![field_error(&path, &error.into_inner())])
    })
}

/// Largest integer an f64 holds exactly (2^53).
const EXACT_INTEGERS: f64 = 9_007_199_254_740_992.0;

fn integral_floats_as_integers(value: &mut Value) {
    match value {
        Value::Number(number) => {
            if let Some(float) =
                number.as_f64().filter(|f| number.is_f64() && f.fract() == 0.0 && f.abs() <= EXACT_INTEGERS)
            {
                *number = if float < 0.0 { (float as i64).into() } else { (float as u64).into() };
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_floats_as_integers),
        Value::Object(fields) => fields.values_mut().for_each(integral_floats_as_integers),
        _ => {}
    }
}

fn not_json(error: &serde_json::Error) -> Error {
    Error::InvalidRequest(format!("the body is not valid JSON: {error}"))
}

/// The field behind a data error. serde_path_to_error's path already ends at an unknown field,
/// but a missing field is reported against the object that lacks it: its name is in the message.
fn field_error(path: &str, error: &serde_json::Error) -> FieldError {
    let text = error.to_string();
    // serde_json appends the position; the field name says where.
    let message = text.rsplit_once(" at line ").map_or(text.as_str(), |(message, _)| message);
    let path = if path == "." { "" } else { path };
    if let Some((name, _)) = message.strip_prefix("missing field `").and_then(|rest| rest.split_once('`')) {
        let field = if path.is_empty() { name.to_owned() } else { format!("{path}.{name}") };
        return FieldError { field, message: "is required".into() };
    }
    let message = match message.strip_prefix("unknown field `").and_then(|rest| rest.split_once("`, ")) {
        Some((_, expected)) => format!("unknown field; {expected}"),
        None => message.to_owned(),
    };
    FieldError { field: if path.is_empty() { "body".into() } else { path.into() }, message }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        email: String,
        inner: Option<Inner>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        count: u8,
    }

    fn errors(json: &str) -> Vec<FieldError> {
        match parse::<Body>(json.as_bytes()) {
            Err(Error::Validation(errors)) => errors,
            other => panic!("expected a validation error for {json}, got {other:?}"),
        }
    }

    fn field(json: &str) -> (String, String) {
        let error = errors(json).remove(0);
        (error.field, error.message)
    }

    #[test]
    fn names_unknown_missing_and_mistyped_fields() {
        let (name, message) = field(r#"{"email": "a@b.c", "admin": true}"#);
        assert_eq!(name, "admin");
        assert_eq!(message, "unknown field; expected `email` or `inner`");
        assert_eq!(field(r#"{}"#), ("email".into(), "is required".into()));
        assert_eq!(field(r#"{"email": 5}"#).0, "email");
        assert_eq!(field(r#"{"email": "x", "inner": {"count": 300}}"#).0, "inner.count");
        assert_eq!(field(r#"{"email": "x", "inner": {"cnt": 3}}"#).0, "inner.cnt");
        assert_eq!(field(r#"{"email": "x", "inner": {}}"#).0, "inner.count");
        assert_eq!(field("7").0, "body");
        assert!(!field(r#"{"email": 5}"#).1.contains("line"), "no position in the message");
    }

    #[test]
    fn text_that_is_not_json_is_a_bad_request() {
        for body in ["", "{", "not json", r#"{"email": "x"} trailing"#, "{\"email\": \"\\u12\"}"] {
            assert!(matches!(parse::<Body>(body.as_bytes()), Err(Error::InvalidRequest(_))), "{body:?}");
        }
        assert!(parse::<Body>(br#" {"email": "x"} "#).is_ok());
    }

    #[test]
    fn a_whole_number_written_with_a_fraction_is_an_integer() {
        let body: Body = parse(br#"{"email": "a", "inner": {"count": 3.0}}"#).unwrap();
        assert_eq!(body.inner.unwrap().count, 3);
        assert_eq!(field(r#"{"email": "a", "inner": {"count": 3.5}}"#).0, "inner.count");
    }

    #[test]
    fn recognises_json_content_types() {
        let with = |value: &'static str| HeaderMap::from_iter([(header::CONTENT_TYPE, value.parse().unwrap())]);
        assert!(is_json(&with("application/json")));
        assert!(is_json(&with("Application/JSON; charset=utf-8")));
        assert!(is_json(&with("application/merge-patch+json")));
        assert!(!is_json(&with("text/plain")));
        assert!(!is_json(&with("application/jsonx")));
        assert!(!is_json(&HeaderMap::new()));
    }
}
