//! `Idempotency-Key`: a request sent again with the same key (a retry after a lost answer, a
//! double tap) is answered what the first was, and does its work once. The answer is kept with the
//! work's own transaction ([`crate::store::attendance::Replay`], a day), keyed by the caller and the
//! key, with a fingerprint of the request, so the same key on another request is refused.

use axum::Json;
use axum::http::{HeaderMap, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::Error;
use crate::store::attendance::Replay;

/// The header.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// The request's key, if it sent one (1 to 128 visible ASCII characters).
pub fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, Error> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else { return Ok(None) };
    match value.to_str() {
        Ok(key) if (1..=128).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic()) => {
            Ok(Some(key.to_owned()))
        }
        _ => Err(Error::field("Idempotency-Key", "must be 1 to 128 visible ASCII characters")),
    }
}

/// What a request was (its operation and body), for telling a retry from another request under
/// the same key.
pub fn fingerprint(operation: &str, request: &impl Serialize) -> Result<String, Error> {
    let body = serde_json::to_vec(request).map_err(Error::internal)?;
    Ok(base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        Sha256::new_with_prefix(operation.as_bytes()).chain_update(b"\0").chain_update(body).finalize(),
    ))
}

/// The answer to keep under the key.
pub fn kept(fingerprint: &str, status: StatusCode, answer: &impl Serialize) -> Result<Replay, Error> {
    let body = serde_json::to_string(answer).map_err(Error::internal)?;
    Ok(Replay { fingerprint: fingerprint.to_owned(), status: status.as_u16(), body })
}

/// The kept answer, for the request of `fingerprint` sent again; another request under the same
/// key is refused.
pub fn replayed<T: DeserializeOwned>(replay: Replay, fingerprint: &str) -> Result<(StatusCode, Json<T>), Error> {
    if replay.fingerprint != fingerprint {
        return Err(Error::field("Idempotency-Key", "was used for another request; use a new key for each request"));
    }
    let status = StatusCode::from_u16(replay.status).map_err(Error::internal)?;
    Ok((status, Json(serde_json::from_str(&replay.body).map_err(Error::internal)?)))
}
