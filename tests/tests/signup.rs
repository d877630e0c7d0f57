//! Sign-up as a new organisation lives it: the emailed link, following it once, and what an
//! unconfirmed sign-up can and cannot do to an address.

use api_tests::{PASSWORD, json_of, problem_of, spawn_app, unique_email};
use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn an_owner_signs_up_follows_the_link_and_is_logged_in() {
    let app = spawn_app().await;
    let email = unique_email("olive");
    let accepted = json_of(app.signup_response(&email).await, StatusCode::ACCEPTED).await;
    assert_eq!(accepted, json!({ "email": email, "link_expires_in": 86400 }));
    // Nothing exists yet: the password does not log in.
    problem_of(app.login(&email, PASSWORD).await, StatusCode::UNAUTHORIZED, "unauthorized").await;

    let mail = app.mail_to(&email).await;
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0]["subject"], "Confirm your email to finish signing up");
    assert!(mail[0]["body"].as_str().unwrap().contains("Harbour Events"));
    let token = app.link_token(&email, "/verify-email").await;

    let created =
        json_of(app.post("/auth/verify-email", None, json!({ "token": token })).await, StatusCode::CREATED).await;
    assert_eq!(
        (created["tenant"]["name"].as_str(), created["tenant"]["status"].as_str()),
        (Some("Harbour Events"), Some("active"))
    );
    assert_eq!(
        (created["me"]["email"].as_str(), created["me"]["role"].as_str()),
        (Some(email.as_str()), Some("owner"))
    );
    let me = json_of(app.get("/me", created["tokens"]["access_token"].as_str().unwrap()).await, StatusCode::OK).await;
    assert_eq!(me["id"], created["me"]["id"]);
    json_of(app.login(&email, PASSWORD).await, StatusCode::OK).await;
}

#[tokio::test]
async fn a_link_works_once() {
    let app = spawn_app().await;
    let email = unique_email("once");
    json_of(app.signup_response(&email).await, StatusCode::ACCEPTED).await;
    let token = app.link_token(&email, "/verify-email").await;

    let answers = join_all((0..3).map(|_| app.post("/auth/verify-email", None, json!({ "token": token })))).await;
    let statuses: Vec<_> = answers.iter().map(|answer| answer.status()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CREATED).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::NOT_FOUND).count(), 2, "{statuses:?}");

    let again = app.post("/auth/verify-email", None, json!({ "token": token })).await;
    problem_of(again, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn an_unconfirmed_sign_up_never_blocks_the_address() {
    let app = spawn_app().await;
    let email = unique_email("victim");
    // Someone who cannot read the victim's mail signs up with the address first...
    let squatter = json!({ "organisation_name": "Squat Ltd", "name": "Mallory", "email": email, "password": "mallory's password" });
    json_of(app.post("/auth/signup", None, squatter).await, StatusCode::ACCEPTED).await;
    assert_eq!(app.mail_to(&email).await.len(), 1, "the squatter's link went to the victim");
    // ...and the real owner of the address signs up and confirms.
    json_of(app.signup_response(&email).await, StatusCode::ACCEPTED).await;
    let token = app.link_token(&email, "/verify-email").await;
    let created =
        json_of(app.post("/auth/verify-email", None, json!({ "token": token })).await, StatusCode::CREATED).await;
    assert_eq!(created["tenant"]["name"], "Harbour Events");
    problem_of(app.login(&email, "mallory's password").await, StatusCode::UNAUTHORIZED, "unauthorized").await;

    // The squatter's link, if it ever reached them, can no longer claim the address.
    let squatter_token = app.link_tokens(&email, "/verify-email").await[0].clone();
    let late = app.post("/auth/verify-email", None, json!({ "token": squatter_token })).await;
    problem_of(late, StatusCode::CONFLICT, "conflict").await;
}

#[tokio::test]
async fn an_expired_link_creates_nothing() {
    let app = spawn_app().await;
    let email = unique_email("late");
    json_of(app.signup_response(&email).await, StatusCode::ACCEPTED).await;
    let token = app.link_token(&email, "/verify-email").await;
    let pending = format!("SIGNUP#{}", rota::auth::one_time::hash(&token));
    app.set_secret(&pending, "SIGNUP", &[("expires_at", json!(chrono::Utc::now().timestamp() - 1))]).await;

    let late = app.post("/auth/verify-email", None, json!({ "token": token })).await;
    problem_of(late, StatusCode::NOT_FOUND, "not_found").await;
    problem_of(app.login(&email, PASSWORD).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

#[tokio::test]
async fn sign_ups_for_one_email_are_limited_to_three_an_hour() {
    let app = spawn_app().await;
    let email = unique_email("flood");
    let answers = join_all((0..5).map(|_| app.signup_response(&email))).await;
    let statuses: Vec<_> = answers.iter().map(|answer| answer.status()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::ACCEPTED).count(), 3, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count(), 2, "{statuses:?}");
    assert_eq!(app.mail_to(&email).await.len(), 3, "the address got three messages, not five");
}
