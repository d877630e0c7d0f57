//! The provider's webhooks: the `Stripe-Signature` check and the event envelope. Pure: no I/O
//! and no clock (the caller passes `now`), so every rule is tested exactly.
//!
//! Stripe signs `"{t}.{payload}"` with HMAC-SHA256 under the endpoint's secret and sends
//! `Stripe-Signature: t=TIMESTAMP,v1=HEX[,v1=HEX…]` (several `v1` while Stripe rotates the
//! secret; other schemes such as `v0` are ignored). A delivery is accepted when one `v1` matches
//! under one of the configured secrets (several while Rota rotates its own), compared in constant
//! time, and its timestamp is within the tolerance of `now` in either direction (a captured
//! delivery replayed later is refused).

use std::collections::BTreeMap;

use aws_lc_rs::{constant_time, hmac};
use serde::Deserialize;

/// Stripe's own default: five minutes.
pub const DEFAULT_TOLERANCE_SECS: i64 = 300;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// A part of the header is not `key=value`.
    #[error("the Stripe-Signature header is malformed: {0:?} is not key=value")]
    MalformedHeader(String),
    #[error("the Stripe-Signature header has no timestamp (t=…)")]
    MissingTimestamp,
    #[error("the Stripe-Signature header's timestamp {0:?} is not a number of seconds")]
    InvalidTimestamp(String),
    #[error("the Stripe-Signature header has no v1 signature")]
    MissingSignature,
    /// No `v1` matches under any secret: a wrong secret, a forged or altered delivery.
    #[error("no signature matches the payload")]
    SignatureMismatch,
    /// Authentic, but signed too long before or after `now`.
    #[error("signed at {timestamp}, more than {tolerance_secs} s from now ({now})")]
    OutsideTolerance { timestamp: i64, now: i64, tolerance_secs: i64 },
    #[error("no webhook secret is configured")]
    NoSecret,
    /// The payload is signed but is not an event envelope.
    #[error("the payload is not an event: {0}")]
    InvalidEvent(String),
}

/// Checks a delivery's `Stripe-Signature` `header` against its raw `payload` (the body's bytes
/// exactly as received) under any of `secrets`, at `now` (Unix seconds), allowing
/// `tolerance_secs` of clock difference either way ([`DEFAULT_TOLERANCE_SECS`]).
pub fn verify(
    header: &str,
    payload: &[u8],
    secrets: &[&str],
    now: i64,
    tolerance_secs: i64,
) -> Result<(), WebhookError> {
    if secrets.is_empty() {
        return Err(WebhookError::NoSecret);
    }
    let header = Header::parse(header)?;
    let matches = secrets.iter().any(|secret| {
        let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
        let mut context = hmac::Context::with_key(&key);
        context.update(header.timestamp_text.as_bytes());
        context.update(b".");
        context.update(payload);
        let expected = context.sign();
        // Every candidate is compared, in constant time, whether or not an earlier one matched.
        header.signatures.iter().fold(false, |found, candidate| {
            found | constant_time::verify_slices_are_equal(expected.as_ref(), candidate).is_ok()
        })
    });
    if !matches {
        return Err(WebhookError::SignatureMismatch);
    }
    let distance = now.saturating_sub(header.timestamp).saturating_abs();
    if distance > tolerance_secs {
        return Err(WebhookError::OutsideTolerance { timestamp: header.timestamp, now, tolerance_secs });
    }
    Ok(())
}

/// [`verify`], then [`Event::parse`]: what a webhook endpoint does with a delivery.
pub fn verified_event(
    header: &str,
    payload: &[u8],
    secrets: &[&str],
    now: i64,
    tolerance_secs: i64,
) -> Result<Event, WebhookError> {
    verify(header, payload, secrets, now, tolerance_secs)?;
    Event::parse(payload)
}

struct Header<'a> {
    timestamp: i64,
    /// The timestamp as sent: it is what was signed.
    timestamp_text: &'a str,
    /// Each `v1`, hex-decoded; one that is not 32 bytes of hex can match nothing and is dropped.
    signatures: Vec<[u8; 32]>,
}

impl<'a> Header<'a> {
    fn parse(header: &'a str) -> Result<Self, WebhookError> {
        let mut timestamp = None;
        let mut signatures = Vec::new();
        let mut any_v1 = false;
        for part in header.split(',').map(str::trim).filter(|part| !part.is_empty()) {
            let (key, value) = part.split_once('=').ok_or_else(|| WebhookError::MalformedHeader(part.into()))?;
            match key.trim() {
                // The first `t` counts, as in Stripe's libraries.
                "t" if timestamp.is_none() => timestamp = Some(value.trim()),
                "v1" => {
                    any_v1 = true;
                    signatures.extend(hex32(value.trim()));
                }
                _ => {}
            }
        }
        let timestamp_text = timestamp.ok_or(WebhookError::MissingTimestamp)?;
        let timestamp = timestamp_text
            .parse::<i64>()
            .ok()
            .filter(|_| timestamp_text.bytes().all(|byte| byte.is_ascii_digit()))
            .ok_or_else(|| WebhookError::InvalidTimestamp(timestamp_text.into()))?;
        if !any_v1 {
            return Err(WebhookError::MissingSignature);
        }
        Ok(Self { timestamp, timestamp_text, signatures })
    }
}

/// 64 hex digits (either case) as 32 bytes.
fn hex32(text: &str) -> Option<[u8; 32]> {
    let digits = text.as_bytes();
    if digits.len() != 64 {
        return None;
    }
    let nibble = |digit: u8| (digit as char).to_digit(16).map(|value| value as u8);
    let mut bytes = [0u8; 32];
    for (byte, pair) in bytes.iter_mut().zip(digits.chunks_exact(2)) {
        *byte = nibble(pair[0])? << 4 | nibble(pair[1])?;
    }
    Some(bytes)
}

/// An event's envelope; `data.object` is the object it is about (a subscription, an invoice, a
/// payment intent), as JSON for the handler of its `type` to read.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Event {
    /// `evt_…`: deliveries of one event share it (the idempotency key of its handling).
    pub id: String,
    /// `invoice.paid`, `customer.subscription.updated`, `payment_intent.succeeded`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// When the event happened (Unix seconds), not when it was delivered.
    pub created: i64,
    pub data: EventData,
    #[serde(default)]
    pub livemode: bool,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct EventData {
    pub object: serde_json::Value,
    /// On `*.updated` events, the fields that changed with their values before.
    #[serde(default)]
    pub previous_attributes: Option<BTreeMap<String, serde_json::Value>>,
}

impl Event {
    pub fn parse(payload: &[u8]) -> Result<Self, WebhookError> {
        serde_json::from_slice(payload).map_err(|error| WebhookError::InvalidEvent(error.to_string()))
    }

    /// The id of the object the event is about (`data.object.id`).
    pub fn object_id(&self) -> Option<&str> {
        self.data.object.get("id").and_then(serde_json::Value::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret";
    const NOW: i64 = 1_767_225_600;
    const PAYLOAD: &[u8] = br#"{"id":"evt_1","type":"invoice.paid","created":1767225600,"data":{"object":{"id":"in_1","object":"invoice"}}}"#;

    /// What Stripe computes: hex HMAC-SHA256 of "t.payload", done here independently of `verify`.
    fn sign(secret: &str, timestamp: i64, payload: &[u8]) -> String {
        let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
        let mut signed = format!("{timestamp}.").into_bytes();
        signed.extend_from_slice(payload);
        hmac::sign(&key, &signed).as_ref().iter().map(|byte| format!("{byte:02x}")).collect()
    }

    fn header(timestamp: i64, secret: &str) -> String {
        format!("t={timestamp},v1={}", sign(secret, timestamp, PAYLOAD))
    }

    #[test]
    fn a_good_signature_verifies() {
        assert_eq!(verify(&header(NOW, SECRET), PAYLOAD, &[SECRET], NOW, DEFAULT_TOLERANCE_SECS), Ok(()));
        // Within the tolerance either way, to the second.
        for timestamp in [NOW - 300, NOW + 300] {
            assert_eq!(verify(&header(timestamp, SECRET), PAYLOAD, &[SECRET], NOW, DEFAULT_TOLERANCE_SECS), Ok(()));
        }
    }

    #[test]
    fn a_wrong_secret_does_not() {
        let result = verify(&header(NOW, "whsec_other"), PAYLOAD, &[SECRET], NOW, DEFAULT_TOLERANCE_SECS);
        assert_eq!(result, Err(WebhookError::SignatureMismatch));
    }

    #[test]
    fn a_payload_changed_after_signing_does_not() {
        let changed = String::from_utf8(PAYLOAD.to_vec()).unwrap().replace("in_1", "in_2");
        let result = verify(&header(NOW, SECRET), changed.as_bytes(), &[SECRET], NOW, DEFAULT_TOLERANCE_SECS);
        assert_eq!(result, Err(WebhookError::SignatureMismatch));
    }

    #[test]
    fn a_stale_timestamp_is_refused() {
        let signed_at = NOW - 301;
        let result = verify(&header(signed_at, SECRET), PAYLOAD, &[SECRET], NOW, DEFAULT_TOLERANCE_SECS);
        assert_eq!(result, Err(WebhookError::OutsideTolerance { timestamp: signed_at, now: NOW, tolerance_secs: 300 }));
    }

    #[test]
    fn a_timestamp_beyond_the_tolerance_in_the_future_is_refused() {
        let signed_at = NOW + 301;
        let result = verify(&header(signed_at, SECRET), PAYLOAD, &[SECRET], NOW, DEFAULT_TOLERANCE_SECS);
        assert_eq!(result, Err(WebhookError::OutsideTolerance { timestamp: signed_at, now: NOW, tolerance_secs: 300 }));
    }

    #[test]
    fn the_timestamp_is_signed() {
        // A valid signature moved to another timestamp (to pass the tolerance) no longer matches.
        let signature = sign(SECRET, NOW - 3600, PAYLOAD);
        let result = verify(&format!("t={NOW},v1={signature}"), PAYLOAD, &[SECRET], NOW, DEFAULT_TOLERANCE_SECS);
        assert_eq!(result, Err(WebhookError::SignatureMismatch));
    }

    #[test]
    fn a_second_v1_may_match() {
        let header = format!("t={NOW},v1={},v0=abc,v1={}", sign("whsec_old", NOW, PAYLOAD), sign(SECRET, NOW, PAYLOAD));
        assert_eq!(verify(&header, PAYLOAD, &[SECRET], NOW, DEFAULT_TOLERANCE_SECS), Ok(()));
        // Upper-case hex is the same signature.
        let upper = format!("t={NOW},v1={}", sign(SECRET, NOW, PAYLOAD).to_uppercase());
        assert_eq!(verify(&upper, PAYLOAD, &[SECRET], NOW, DEFAULT_TOLERANCE_SECS), Ok(()));
    }

    #[test]
    fn any_configured_secret_may_match() {
        // Rota's own rotation: the new secret is added before the endpoint switches to it.
        let header = header(NOW, "whsec_next");
        assert_eq!(verify(&header, PAYLOAD, &[SECRET, "whsec_next"], NOW, DEFAULT_TOLERANCE_SECS), Ok(()));
        assert_eq!(
            verify(&header, PAYLOAD, &[SECRET], NOW, DEFAULT_TOLERANCE_SECS),
            Err(WebhookError::SignatureMismatch)
        );
        assert_eq!(verify(&header, PAYLOAD, &[], NOW, DEFAULT_TOLERANCE_SECS), Err(WebhookError::NoSecret));
    }

    #[test]
    fn a_missing_timestamp_is_named() {
        let header = format!("v1={}", sign(SECRET, NOW, PAYLOAD));
        assert_eq!(
            verify(&header, PAYLOAD, &[SECRET], NOW, DEFAULT_TOLERANCE_SECS),
            Err(WebhookError::MissingTimestamp)
        );
        assert_eq!(
            verify(&format!("t=soon,v1={}", sign(SECRET, NOW, PAYLOAD)), PAYLOAD, &[SECRET], NOW, 300),
            Err(WebhookError::InvalidTimestamp("soon".into()))
        );
        assert_eq!(
            verify(&format!("t=+{NOW},v1={}", sign(SECRET, NOW, PAYLOAD)), PAYLOAD, &[SECRET], NOW, 300),
            Err(WebhookError::InvalidTimestamp(format!("+{NOW}")))
        );
    }

    #[test]
    fn a_missing_signature_is_named() {
        assert_eq!(verify(&format!("t={NOW}"), PAYLOAD, &[SECRET], NOW, 300), Err(WebhookError::MissingSignature));
        // A v1 that is not 64 hex digits can match nothing.
        assert_eq!(
            verify(&format!("t={NOW},v1=zz"), PAYLOAD, &[SECRET], NOW, 300),
            Err(WebhookError::SignatureMismatch)
        );
    }

    #[test]
    fn a_garbage_header_is_refused() {
        assert_eq!(
            verify("garbage", PAYLOAD, &[SECRET], NOW, 300),
            Err(WebhookError::MalformedHeader("garbage".into()))
        );
        assert_eq!(verify("", PAYLOAD, &[SECRET], NOW, 300), Err(WebhookError::MissingTimestamp));
        assert_eq!(verify(",,,", PAYLOAD, &[SECRET], NOW, 300), Err(WebhookError::MissingTimestamp));
        assert!(verify("t=1,v1=ü=ä,🦀", PAYLOAD, &[SECRET], NOW, 300).is_err());
    }

    #[test]
    fn the_envelope_parses() {
        let event = verified_event(&header(NOW, SECRET), PAYLOAD, &[SECRET], NOW, 300).unwrap();
        assert_eq!(event.id, "evt_1");
        assert_eq!(event.kind, "invoice.paid");
        assert_eq!(event.created, 1_767_225_600);
        assert_eq!(event.object_id(), Some("in_1"));
        assert_eq!(event.data.object["object"], "invoice");
        assert!(!event.livemode);

        let not_an_event = br#"{"id":"evt_1"}"#;
        let header = format!("t={NOW},v1={}", sign(SECRET, NOW, not_an_event));
        assert!(matches!(
            verified_event(&header, not_an_event, &[SECRET], NOW, 300),
            Err(WebhookError::InvalidEvent(_))
        ));
    }
}
