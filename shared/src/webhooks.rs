//! Outgoing webhooks as Standard Webhooks 1.0 has them (<https://www.standardwebhooks.com>):
//! secrets (`whsec_` and the base64 of 32 random bytes), the `v1` signature (HMAC-SHA256 of
//! `{id}.{timestamp}.{body}`), the retry schedule, which addresses a delivery may reach, the
//! job a message travels as, and the [`Sender`] the notifier delivers with.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

pub use crate::store::webhooks::EventType;

/// The secret's prefix, as the spec and its libraries expect.
pub const SECRET_PREFIX: &str = "whsec_";

/// A delivery's body is at most this big (the spec's advice: small payloads, details fetched).
pub const MAX_BODY_BYTES: usize = 20 * 1024;

/// How long a delivery waits for the endpoint's answer.
pub const TIMEOUT_SECS: u64 = 15;

/// After a secret is rotated, how long the old one still signs too.
pub const OLD_SECRET_SECS: i64 = 24 * 3600;

/// The waits before each retry (the spec's suggested schedule): 5 s, 5 min, 30 min, 2 h, 5 h,
/// 10 h, 10 h; a message is given up after the last.
pub const RETRY_SCHEDULE_SECS: [i64; 7] = [5, 300, 1800, 7200, 18000, 36000, 36000];

/// A new secret, as shown once to its owner.
pub fn new_secret() -> String {
    use rand_core::RngCore;
    let mut bytes = [0u8; 32];
    rand_core::OsRng.fill_bytes(&mut bytes);
    format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes))
}

/// The key a secret stands for (the bytes after `whsec_`), if it is one.
fn key_of(secret: &str) -> Option<Vec<u8>> {
    STANDARD.decode(secret.strip_prefix(SECRET_PREFIX)?).ok().filter(|key| key.len() >= 24)
}

/// The `webhook-signature` header: a `v1,` signature per secret (the current one, and during a
/// rotation the old one too), space-separated. Secrets that are none are left out.
pub fn signature(secrets: &[&str], id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut signed = format!("{id}.{timestamp}.").into_bytes();
    signed.extend_from_slice(body);
    secrets
        .iter()
        .filter_map(|secret| key_of(secret))
        .map(|key| format!("v1,{}", STANDARD.encode(hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &key), &signed))))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The wait before attempt `attempt` (2 for the first retry), with up to a tenth more at random
/// (`jitter` in 0..1) so endpoints that failed together are not retried together; `None` once the
/// schedule is spent.
pub fn retry_after_secs(attempt: u32, jitter: f64) -> Option<i64> {
    let wait = *RETRY_SCHEDULE_SECS.get(usize::try_from(attempt).ok()?.checked_sub(2)?)?;
    Some(wait + (wait as f64 * 0.1 * jitter.clamp(0.0, 1.0)) as i64)
}

/// Where deliveries may go. In AWS only public addresses (never the instance metadata service,
/// a VPC's private ranges or loopback: an endpoint must not reach inside); on the local stack only
/// loopback, where the fake receiver listens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    Public,
    Loopback,
}

impl Reach {
    pub fn allows(self, address: IpAddr) -> bool {
        match self {
            Reach::Loopback => address.is_loopback(),
            Reach::Public => is_public(address),
        }
    }

    /// Whether `url` may be registered: `https://` to a host (in AWS), or `http(s)://` to a
    /// loopback address (locally); never with credentials in it. The host's addresses are checked
    /// again when a delivery connects.
    pub fn check_url(self, url: &str) -> Result<(), &'static str> {
        let uri: http::Uri = url.parse().map_err(|_| "must be an absolute URL")?;
        let host = uri.host().ok_or("must be an absolute URL")?.trim_start_matches('[').trim_end_matches(']');
        if uri.authority().is_some_and(|authority| authority.as_str().contains('@')) {
            return Err("must not carry credentials");
        }
        let literal = host.parse::<IpAddr>().ok();
        match (self, uri.scheme_str()) {
            (Reach::Public, Some("https")) => match literal {
                Some(address) if !is_public(address) => Err("must not be a private, loopback or link-local address"),
                _ if host.eq_ignore_ascii_case("localhost") => Err("must not be a loopback address"),
                _ => Ok(()),
            },
            (Reach::Public, _) => Err("must be https://"),
            (Reach::Loopback, Some("http" | "https")) if literal.is_some_and(|a| a.is_loopback()) => Ok(()),
            (Reach::Loopback, _) => Err("must be a loopback address on the local stack"),
        }
    }
}

fn is_public(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(address: Ipv4Addr) -> bool {
    let [a, b, ..] = address.octets();
    !(address.is_private()
        || address.is_loopback()
        || address.is_link_local()
        || address.is_unspecified()
        || address.is_broadcast()
        || address.is_multicast()
        || address.is_documentation()
        || a == 0
        // Shared address space (carrier-grade NAT) and the benchmarking range.
        || (a == 100 && (64..128).contains(&b))
        || (a == 198 && (18..20).contains(&b))
        || a >= 240)
}

fn is_public_v6(address: Ipv6Addr) -> bool {
    let first = address.segments()[0];
    !(address.is_loopback()
        || address.is_unspecified()
        || address.is_multicast()
        // Unique local (fc00::/7), link-local (fe80::/10), documentation (2001:db8::/32).
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        || (first == 0x2001 && address.segments()[1] == 0x0db8))
}

/// The DNS resolver deliveries connect through: the system's lookup, keeping only the addresses
/// [`Reach`] allows — checked on the addresses connected to, so a name that resolves elsewhere
/// at delivery than at registration (DNS rebinding) reaches nothing it may not.
#[derive(Debug, Clone, Copy)]
pub struct Resolver(pub Reach);

impl aws_smithy_runtime_api::client::dns::ResolveDns for Resolver {
    fn resolve_dns<'a>(&'a self, name: &'a str) -> aws_smithy_runtime_api::client::dns::DnsFuture<'a> {
        use aws_smithy_runtime_api::client::dns::{DnsFuture, ResolveDnsError};
        let reach = self.0;
        DnsFuture::new(async move {
            let found = tokio::net::lookup_host((name, 0)).await.map_err(ResolveDnsError::new)?;
            let allowed: Vec<IpAddr> = found.map(|address| address.ip()).filter(|ip| reach.allows(*ip)).collect();
            if allowed.is_empty() {
                return Err(ResolveDnsError::new(format!("{name} resolves to no address a webhook may reach")));
            }
            Ok(allowed)
        })
    }
}

/// Sends deliveries: plain HTTP to loopback on the local stack; in AWS HTTPS through
/// [`Resolver`], with no redirect followed (the client follows none). Built once per cold start;
/// the TLS roots are loaded on the first delivery.
pub struct Sender {
    reach: Reach,
    connector: std::sync::OnceLock<aws_smithy_http_client::Connector>,
}

impl Sender {
    pub fn new(reach: Reach) -> Self {
        Self { reach, connector: std::sync::OnceLock::new() }
    }

    fn connector(&self) -> &aws_smithy_http_client::Connector {
        self.connector.get_or_init(|| match self.reach {
            Reach::Loopback => aws_smithy_http_client::Connector::builder().build_http(),
            Reach::Public => aws_smithy_http_client::Connector::builder()
                .tls_provider(crate::aws::tls_provider())
                .tls_context(aws_smithy_http_client::tls::TlsContext::default())
                .build_with_resolver(Resolver(Reach::Public)),
        })
    }

    /// One attempt: the endpoint's status, or why it could not be reached within
    /// [`TIMEOUT_SECS`]. The URL is checked again (it may predate a stricter rule).
    pub async fn post(
        &self,
        url: &str,
        id: &str,
        timestamp: i64,
        signature: &str,
        body: Vec<u8>,
    ) -> Result<u16, String> {
        use aws_smithy_runtime_api::client::http::HttpConnector;
        self.reach.check_url(url).map_err(|reason| format!("the URL {reason}"))?;
        let request = http::Request::post(url)
            .header("content-type", "application/json")
            .header("user-agent", "Rota-Webhooks/1.0")
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(aws_smithy_types::body::SdkBody::from(body))
            .map_err(|error| error.to_string())?;
        let request = aws_smithy_runtime_api::client::orchestrator::HttpRequest::try_from(request)
            .map_err(|error| error.to_string())?;
        let call = self.connector().call(request);
        match tokio::time::timeout(std::time::Duration::from_secs(TIMEOUT_SECS), call).await {
            Ok(Ok(response)) => Ok(response.status().as_u16()),
            Ok(Err(error)) => Err(aws_smithy_types::error::display::DisplayErrorContext(error).to_string()),
            Err(_) => Err(format!("no answer within {TIMEOUT_SECS} s")),
        }
    }
}

/// A message on its way: to every endpoint of the organisation that wants it (`endpoint_id`
/// unset: the notifier fans it out) or to one endpoint (an attempt, from the first to the last).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub tenant_id: String,
    pub endpoint_id: Option<String>,
    /// `msg_{ulid}`: the `webhook-id` of every attempt, what receivers deduplicate by.
    pub message_id: String,
    pub event_type: EventType,
    /// The body: `{type, timestamp, data}`.
    pub payload: serde_json::Value,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// Epoch seconds before which it is not tried (a wait longer than SQS's 15-minute delay is
    /// served in several).
    pub not_before: Option<i64>,
}

/// How a job travels on the notification queue, told apart from a notification's envelope.
#[derive(Debug, Serialize, Deserialize)]
pub struct Queued {
    pub webhook: Job,
}

impl Job {
    /// `event` of the organisation, happened `at` (RFC 3339), with its `data`, for every endpoint
    /// that wants it. A body that would pass [`MAX_BODY_BYTES`] carries only the records' ids
    /// (`{"shift": {"id": …}}`) and `"truncated": true`: the receiver fetches the rest.
    pub fn event(tenant_id: &str, event: EventType, data: serde_json::Value, at: &str) -> Self {
        let mut payload = serde_json::json!({ "type": event, "timestamp": at, "data": data });
        if serde_json::to_vec(&payload).map_or(0, |body| body.len()) > MAX_BODY_BYTES {
            payload["data"] = ids_only(&payload["data"]);
            payload["truncated"] = true.into();
        }
        Self {
            tenant_id: tenant_id.to_owned(),
            endpoint_id: None,
            message_id: format!("msg_{}", ulid::Ulid::new()),
            event_type: event,
            payload,
            attempt: 1,
            not_before: None,
        }
    }

    /// The same message, to one endpoint, as its attempt `attempt`.
    pub fn to_endpoint(&self, endpoint_id: &str, attempt: u32, not_before: Option<i64>) -> Self {
        Self { endpoint_id: Some(endpoint_id.to_owned()), attempt, not_before, ..self.clone() }
    }
}

/// `data` with each record cut to its id.
fn ids_only(data: &serde_json::Value) -> serde_json::Value {
    let Some(fields) = data.as_object() else { return serde_json::Value::Null };
    fields
        .iter()
        .map(|(name, value)| {
            let id = match value {
                serde_json::Value::Object(record) => serde_json::json!({ "id": record.get("id") }),
                small @ (serde_json::Value::String(_) | serde_json::Value::Number(_)) => small.clone(),
                _ => serde_json::Value::Null,
            };
            (name.clone(), id)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_over_20_kb_carries_ids_only() {
        let small = Job::event(
            "t",
            EventType::ShiftChanged,
            serde_json::json!({ "shift": { "id": "s1", "notes": "x" } }),
            "at",
        );
        assert_eq!(small.payload["data"]["shift"]["notes"], "x");
        assert_eq!(small.payload.get("truncated"), None);
        let notes = "x".repeat(MAX_BODY_BYTES);
        let big = Job::event(
            "t",
            EventType::ShiftChanged,
            serde_json::json!({ "shift": { "id": "s1", "notes": notes }, "shift_id": "s1" }),
            "at",
        );
        assert_eq!(big.payload["data"], serde_json::json!({ "shift": { "id": "s1" }, "shift_id": "s1" }));
        assert_eq!(
            (big.payload["truncated"].as_bool(), big.payload["type"].as_str()),
            (Some(true), Some("shift.changed"))
        );
        assert!((1..=MAX_BODY_BYTES).contains(&serde_json::to_vec(&big.payload).unwrap().len()));
    }

    #[test]
    fn the_signature_is_the_specs_own_example() {
        // From the Standard Webhooks specification's reference test.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            signature(&[secret], "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn during_a_rotation_both_secrets_sign_and_a_broken_one_is_left_out() {
        let (old, new) = (new_secret(), new_secret());
        let both = signature(&[&new, &old], "msg_1", 1, b"{}");
        let parts: Vec<&str> = both.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert!(parts.iter().all(|part| part.starts_with("v1,")));
        assert_eq!(parts[0], signature(&[&new], "msg_1", 1, b"{}"));
        assert_eq!(signature(&[&new, "whsec_short", "nonsense"], "msg_1", 1, b"{}"), parts[0]);
    }

    #[test]
    fn a_new_secret_is_32_random_bytes() {
        let (a, b) = (new_secret(), new_secret());
        assert_ne!(a, b);
        assert_eq!(key_of(&a).map(|key| key.len()), Some(32));
    }

    #[test]
    fn retries_follow_the_schedule_then_stop() {
        assert_eq!(retry_after_secs(1, 0.0), None);
        assert_eq!(retry_after_secs(2, 0.0), Some(5));
        assert_eq!(retry_after_secs(3, 1.0), Some(330));
        assert_eq!(retry_after_secs(8, 0.5), Some(37800));
        assert_eq!(retry_after_secs(9, 0.0), None);
    }

    #[test]
    fn only_public_addresses_are_reached_in_aws() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
        ] {
            assert!(!Reach::Public.allows(private.parse().unwrap()), "{private}");
        }
        for public in ["8.8.8.8", "52.94.236.248", "2606:4700:4700::1111"] {
            assert!(Reach::Public.allows(public.parse().unwrap()), "{public}");
        }
        assert!(Reach::Loopback.allows("127.0.0.1".parse().unwrap()));
        assert!(!Reach::Loopback.allows("8.8.8.8".parse().unwrap()));
    }

    #[test]
    fn urls_are_checked_for_where_they_point() {
        assert_eq!(Reach::Public.check_url("https://hooks.example.com/rota"), Ok(()));
        assert_eq!(Reach::Public.check_url("http://hooks.example.com/rota"), Err("must be https://"));
        for inside in
            ["https://169.254.169.254/latest/meta-data", "https://10.0.0.5/x", "https://[::1]/x", "https://localhost/x"]
        {
            assert!(Reach::Public.check_url(inside).is_err(), "{inside}");
        }
        assert_eq!(Reach::Public.check_url("https://user:pw@hooks.example.com/"), Err("must not carry credentials"));
        assert_eq!(Reach::Loopback.check_url("http://127.0.0.1:8080/hooks/a"), Ok(()));
        assert!(Reach::Loopback.check_url("https://hooks.example.com/").is_err());
        assert!(Reach::Public.check_url("not a url").is_err());
    }
}
