//! Behaviour that only exists behind API Gateway, driven with the same events Lambda receives:
//! the login limits keyed by the client address API Gateway reports.

use api_tests::{Account, PASSWORD, TestApp, spawn_app, unique_email};
use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn login_event(email: &str, password: &str, source_ip: &str) -> Value {
    let mut event: Value =
        serde_json::from_str(include_str!("../../events/auth-login.json")).expect("the sample login event");
    event["body"] = json!(json!({ "email": email, "password": password }).to_string());
    event["requestContext"]["http"]["sourceIp"] = json!(source_ip);
    event
}

fn random_ip() -> String {
    let n = ulid::Ulid::new().random();
    format!("10.{}.{}.{}", (n >> 16) as u8, (n >> 8) as u8, n as u8)
}

async fn login_from(app: &TestApp, email: &str, password: &str, ip: &str) -> (StatusCode, Value) {
    let (status, _, body) = app.invoke(&login_event(email, password, ip)).await;
    (status, body)
}

/// Fires `events` at once and counts the answers by status: (401s, 429s).
async fn burst(app: &TestApp, events: Vec<Value>) -> (usize, usize) {
    let answers = join_all(events.iter().map(|event| app.invoke(event))).await;
    let count = |status| answers.iter().filter(|(s, _, _)| *s == status).count();
    assert_eq!(count(StatusCode::UNAUTHORIZED) + count(StatusCode::TOO_MANY_REQUESTS), events.len());
    (count(StatusCode::UNAUTHORIZED), count(StatusCode::TOO_MANY_REQUESTS))
}

#[tokio::test]
async fn a_parallel_burst_of_wrong_passwords_gets_exactly_five_checked() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let ip = random_ip();
    // Fifteen: under the per-address limit of 20, so only the per-email-and-address limit decides.
    let guesses = (0..15).map(|i| login_event(&owner.email, &format!("guess number {i}"), &ip)).collect();

    let (checked, limited) = burst(&app, guesses).await;
    assert_eq!((checked, limited), (5, 10), "the 5 counted first reach the password check, the rest are 429");

    let (status, body) = login_from(&app, &owner.email, PASSWORD, &ip).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")), "{body}");
}

#[tokio::test]
async fn a_parallel_burst_from_one_address_gets_exactly_twenty_checked() {
    let app = spawn_app().await;
    let ip = random_ip();
    // A different email each time, so only the per-address limit can trip.
    let guesses = (0..40).map(|_| login_event(&unique_email("guess"), "not the password", &ip)).collect();

    let (checked, limited) = burst(&app, guesses).await;
    assert_eq!((checked, limited), (20, 20));

    let (status, _) = login_from(&app, &unique_email("guess"), "not the password", &ip).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "the address stays locked out");
    let (status, body) = login_from(&app, &unique_email("guess"), "not the password", &random_ip()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "another address is not affected: {body}");
}

#[tokio::test]
async fn failures_from_one_address_do_not_lock_the_owner_out_from_another() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let (attacker, owners_phone) = (random_ip(), random_ip());
    for _ in 0..5 {
        assert_eq!(login_from(&app, &owner.email, "a wrong guess", &attacker).await.0, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(login_from(&app, &owner.email, PASSWORD, &attacker).await.0, StatusCode::TOO_MANY_REQUESTS);

    let (status, body) = login_from(&app, &owner.email, PASSWORD, &owners_phone).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn fifty_failures_from_anywhere_lock_the_email_until_the_window_ends() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    // Ten addresses, five guesses each: no address reaches its own limit.
    let guesses = (0..10)
        .flat_map(|_| {
            let ip = random_ip();
            (0..5).map(move |i| (ip.clone(), format!("guess {i}")))
        })
        .map(|(ip, guess)| login_event(&owner.email, &guess, &ip))
        .collect();
    assert_eq!(burst(&app, guesses).await, (50, 0));

    let (status, headers, body) = app.invoke(&login_event(&owner.email, PASSWORD, &random_ip())).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    let retry_after: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry_after), "Retry-After {retry_after}");
}

#[tokio::test]
async fn successful_logins_take_their_attempt_back() {
    let app = spawn_app().await;
    let owner: Account = app.signup().await;
    let ip = random_ip();
    // Twelve logins in a row from one phone: more than any limit, none of them a failure.
    for _ in 0..12 {
        let (status, body) = login_from(&app, &owner.email, PASSWORD, &ip).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    // And the failures after them still have all five tries.
    for _ in 0..5 {
        assert_eq!(login_from(&app, &owner.email, "a wrong guess", &ip).await.0, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(login_from(&app, &owner.email, "a wrong guess", &ip).await.0, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn ipv6_neighbours_in_one_64_share_a_limit() {
    let app = spawn_app().await;
    let prefix = format!("2001:db8:{:x}:{:x}", rand_u16(), rand_u16());
    for i in 0..20 {
        let ip = format!("{prefix}::{:x}", i + 1);
        assert_eq!(login_from(&app, &unique_email("v6"), "nope", &ip).await.0, StatusCode::UNAUTHORIZED);
    }
    let (status, _) = login_from(&app, &unique_email("v6"), "nope", &format!("{prefix}:ffff::1")).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "another address of the same /64");
}

fn rand_u16() -> u16 {
    ulid::Ulid::new().random() as u16
}

#[tokio::test]
async fn a_window_that_has_ended_starts_over_even_before_ttl_removes_it() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let ip = random_ip();
    for _ in 0..5 {
        assert_eq!(login_from(&app, &owner.email, "a wrong guess", &ip).await.0, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(login_from(&app, &owner.email, PASSWORD, &ip).await.0, StatusCode::TOO_MANY_REQUESTS);

    // The window ends; DynamoDB's TTL has not deleted the counter yet (it can take hours).
    let ended = json!(chrono::Utc::now().timestamp() - 1);
    app.set(&format!("RL#login-email-ip#{}#{ip}", owner.email), "RL", &[("expires_at", ended)]).await;

    let (status, body) = login_from(&app, &owner.email, PASSWORD, &ip).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn a_parallel_burst_of_single_sign_on_starts_from_one_address_gets_exactly_thirty() {
    let app = spawn_app().await;
    let ip = random_ip();
    let start = |email: String| {
        let mut event: Value =
            serde_json::from_str(include_str!("../../events/auth-oidc-start.json")).expect("the sample start event");
        event["body"] = json!(json!({ "email": email }).to_string());
        event["requestContext"]["http"]["sourceIp"] = json!(ip);
        event
    };
    let events: Vec<Value> = (0..40).map(|_| start(unique_email("sso"))).collect();
    let answers = join_all(events.iter().map(|event| app.invoke(event))).await;
    let count = |status| answers.iter().filter(|(s, _, _)| *s == status).count();
    assert_eq!((count(StatusCode::OK), count(StatusCode::TOO_MANY_REQUESTS)), (30, 10));
    let started = answers.iter().find(|(status, _, _)| *status == StatusCode::OK).unwrap();
    assert_eq!(started.2, json!({ "sso": false }), "an address of a domain without single sign-on");
}
