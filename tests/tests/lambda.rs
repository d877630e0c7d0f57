//! Behaviour that only exists behind API Gateway, driven with the same events Lambda receives.

use api_tests::{spawn_app, unique_email};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn login_event(email: &str, source_ip: &str) -> Value {
    let mut event: Value =
        serde_json::from_str(include_str!("../../events/auth-login.json")).expect("the sample login event");
    event["body"] = json!(json!({ "email": email, "password": "not the password" }).to_string());
    event["requestContext"]["http"]["sourceIp"] = json!(source_ip);
    event
}

fn random_ip() -> String {
    let n = ulid::Ulid::new().random();
    format!("10.{}.{}.{}", (n >> 16) as u8, (n >> 8) as u8, n as u8)
}

#[tokio::test]
async fn twenty_failed_logins_from_one_address_lock_that_address_out() {
    let app = spawn_app().await;
    let (noisy, quiet) = (random_ip(), random_ip());
    // Different emails each time, so only the per-address limit can trip.
    for _ in 0..20 {
        let (status, _, body) = app.invoke(&login_event(&unique_email("guess"), &noisy)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    }

    let (status, headers, body) = app.invoke(&login_event(&unique_email("guess"), &noisy)).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")), "{body}");
    assert!(headers.contains_key("retry-after"));

    let (status, headers, body) = app.invoke(&login_event(&unique_email("guess"), &quiet)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "another address is not affected: {body}");
    let trips = app.round_trips_of(&headers);
    assert!((1..=2).contains(&trips), "a failed login with both limits took {trips} round trips");
}
