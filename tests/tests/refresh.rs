//! Refresh tokens over a session's life: rotation, the grace for repeats, replays, forgeries, and
//! everything that ends a session (its age, its person, its organisation, log out everywhere).

use api_tests::{TestApp, json_of, problem_of, spawn_app};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn refreshed(app: &TestApp, token: &str) -> Value {
    json_of(app.refresh(token).await, StatusCode::OK).await
}

async fn refused(app: &TestApp, token: &str) {
    problem_of(app.refresh(token).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

#[tokio::test]
async fn each_refresh_rotates_the_token() {
    let app = spawn_app().await;
    let owner = app.signup().await;

    let first = refreshed(&app, &owner.refresh_token).await;
    let newer = first["refresh_token"].as_str().unwrap();
    assert_ne!(newer, owner.refresh_token);
    assert_eq!(first["session_id"], owner.session_id);
    json_of(app.get("/me", first["access_token"].as_str().unwrap()).await, StatusCode::OK).await;
    let second = refreshed(&app, newer).await;
    assert_ne!(second["refresh_token"], first["refresh_token"]);
}

#[tokio::test]
async fn a_repeat_within_the_grace_gets_the_same_next_token() {
    let app = spawn_app().await;
    let owner = app.signup().await;

    let first = refreshed(&app, &owner.refresh_token).await;
    // The client never heard the answer and asks again with the same token.
    let repeat = refreshed(&app, &owner.refresh_token).await;
    assert_eq!(repeat["refresh_token"], first["refresh_token"]);
    json_of(app.get("/me", repeat["access_token"].as_str().unwrap()).await, StatusCode::OK).await;
    // The session lives on: the token both answers carried works.
    refreshed(&app, first["refresh_token"].as_str().unwrap()).await;
}

#[tokio::test]
async fn tabs_refreshing_at_once_all_keep_the_session() {
    let app = spawn_app().await;
    let owner = app.signup().await;

    let answers = join_all((0..4).map(|_| app.refresh(&owner.refresh_token))).await;
    let mut tokens = Vec::new();
    for answer in answers {
        tokens.push(json_of(answer, StatusCode::OK).await["refresh_token"].as_str().unwrap().to_owned());
    }
    assert!(tokens.iter().all(|token| *token == tokens[0]), "one next token for all: {tokens:?}");
    refreshed(&app, &tokens[0]).await;
}

#[tokio::test]
async fn a_replay_after_the_grace_ends_the_whole_session() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let newer = refreshed(&app, &owner.refresh_token).await["refresh_token"].as_str().unwrap().to_owned();

    app.age_latest_rotation(&owner, 11).await;
    // The original token was rotated away 11 s ago: presenting it is theft or a bug. It fails...
    refused(&app, &owner.refresh_token).await;
    // ...and takes the newer token of the same session down with it.
    refused(&app, &newer).await;
}

#[tokio::test]
async fn a_repeat_just_inside_the_grace_still_gets_the_next_token() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let newer = refreshed(&app, &owner.refresh_token).await["refresh_token"].clone();

    app.age_latest_rotation(&owner, 9).await;
    assert_eq!(refreshed(&app, &owner.refresh_token).await["refresh_token"], newer);
}

#[tokio::test]
async fn a_forged_token_changes_nothing() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    // Tenant, session and person ids are no secret (the access token carries them); the secret is.
    let mut bytes = URL_SAFE_NO_PAD.decode(&owner.refresh_token).unwrap();
    for byte in &mut bytes[48..] {
        *byte ^= 0x5a;
    }
    refused(&app, &URL_SAFE_NO_PAD.encode(bytes)).await;

    refreshed(&app, &owner.refresh_token).await;
}

#[tokio::test]
async fn a_session_ends_thirty_days_after_login_however_often_it_refreshes() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let first = refreshed(&app, &owner.refresh_token).await;
    let left = first["refresh_expires_in"].as_i64().unwrap();
    assert!((7 * 86400 - 5..=7 * 86400).contains(&left), "{left}");

    let ended = chrono::Utc::now().timestamp() - 1;
    app.set_secret(&owner.session_key(), "SESSION", &[("ends_at", json!(ended))]).await;
    refused(&app, first["refresh_token"].as_str().unwrap()).await;
}

#[tokio::test]
async fn a_deactivated_person_gets_no_token_and_loses_the_session() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let person = format!("PERSON#{}", owner.person_id);
    app.set(&format!("T#{}", owner.tenant_id), &person, &[("status", json!("inactive"))]).await;
    refused(&app, &owner.refresh_token).await;

    // Reactivated, they log in again: the old session is gone.
    app.set(&format!("T#{}", owner.tenant_id), &person, &[("status", json!("active"))]).await;
    refused(&app, &owner.refresh_token).await;
}

#[tokio::test]
async fn a_changed_role_never_comes_out_of_an_old_session() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let person = format!("PERSON#{}", owner.person_id);
    app.set(&format!("T#{}", owner.tenant_id), &person, &[("role", json!("staff"))]).await;
    refused(&app, &owner.refresh_token).await;
}

#[tokio::test]
async fn a_suspended_organisation_gets_no_tokens_until_it_is_reactivated() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let tenant = format!("T#{}", owner.tenant_id);
    app.set(&tenant, "TENANT", &[("status", json!("suspended"))]).await;
    problem_of(app.refresh(&owner.refresh_token).await, StatusCode::FORBIDDEN, "tenant_suspended").await;

    app.set(&tenant, "TENANT", &[("status", json!("active"))]).await;
    refreshed(&app, &owner.refresh_token).await;
}

#[tokio::test]
async fn log_out_everywhere_ends_sessions_the_index_has_not_listed() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    // A session whose index entry lags: move it out of the person's listing.
    app.set_secret(&owner.session_key(), "SESSION", &[("gsi1pk", json!("LAGGING"))]).await;
    let other = app.login_tokens(&owner).await;

    let response = app.request(reqwest::Method::POST, "/auth/logout-all", other["access_token"].as_str(), None).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    refused(&app, &owner.refresh_token).await;
    refused(&app, other["refresh_token"].as_str().unwrap()).await;
}

/// Invites a person of `role` and accepts for them: their id and refresh token.
async fn member(app: &TestApp, owner: &api_tests::Account, role: &str) -> (String, String) {
    let account = api_tests::member(app, owner, &format!("A {role}"), role, &[]).await;
    (account.person_id, account.refresh_token)
}

/// `token` with its person id (bytes 32..48) replaced by `person_id`'s.
fn with_person(token: &str, person_id: &str) -> String {
    let mut bytes = URL_SAFE_NO_PAD.decode(token).unwrap();
    bytes[32..48].copy_from_slice(&ulid::Ulid::from_string(person_id).unwrap().to_bytes());
    URL_SAFE_NO_PAD.encode(bytes)
}

#[tokio::test]
async fn a_token_with_a_colleagues_id_swapped_in_opens_nothing() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let (colleague, _) = member(&app, &owner, "staff").await;
    let (other_admin, _) = member(&app, &owner, "admin").await;

    // Deactivated: their own token is refused, and so is it with an active colleague's id.
    let (leaver, leaver_token) = member(&app, &owner, "staff").await;
    let gone =
        app.request(reqwest::Method::DELETE, &format!("/people/{leaver}"), Some(&owner.access_token), None).await;
    assert_eq!(gone.status(), StatusCode::NO_CONTENT);
    refused(&app, &with_person(&leaver_token, &colleague)).await;
    refused(&app, &leaver_token).await;

    // Demoted from admin to staff: another admin's id does not bring the role back.
    let (demoted, demoted_token) = member(&app, &owner, "admin").await;
    let path = format!("/people/{demoted}");
    let changed =
        app.request(reqwest::Method::PATCH, &path, Some(&owner.access_token), Some(json!({ "role": "staff" })));
    assert_eq!(json_of(changed.await, StatusCode::OK).await["role"], "staff");
    refused(&app, &with_person(&demoted_token, &other_admin)).await;
    refused(&app, &demoted_token).await;

    // After a password reset every old session is over, whatever id it carries.
    let (resetter, resetter_token) = member(&app, &owner, "staff").await;
    let email =
        json_of(app.get(&format!("/people/{resetter}"), &owner.access_token).await, StatusCode::OK).await["email"]
            .as_str()
            .unwrap()
            .to_owned();
    let forgot = app.post("/auth/forgot-password", None, json!({ "email": email })).await;
    json_of(forgot, StatusCode::ACCEPTED).await;
    let reset = app.link_token(&email, "/reset-password").await;
    let body = json!({ "token": reset, "password": "a brand new passphrase" });
    assert_eq!(app.post("/auth/reset-password", None, body).await.status(), StatusCode::NO_CONTENT);
    refused(&app, &with_person(&resetter_token, &colleague)).await;
    refused(&app, &resetter_token).await;

    // A live session's token with another id changes nothing: the real token still works.
    let (_, live_token) = member(&app, &owner, "staff").await;
    refused(&app, &with_person(&live_token, &colleague)).await;
    refreshed(&app, &live_token).await;
}
