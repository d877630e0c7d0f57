//! Two-factor authentication as a person lives it: turning it on with an authenticator app,
//! logging in with a code, codes and recovery codes that work once, the limit on wrong codes,
//! what the tokens say about it, and a suspended organisation at login and refresh.

use api_tests::{Account, PASSWORD, TestApp, json_of, problem_of, spawn_app, totp_code};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures_util::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The claims of an access token (already verified by the server that issued it).
fn claims(access_token: &str) -> Value {
    let payload = access_token.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// `mfa` and `mfa_enforced` of a token pair's access token.
fn mfa_claims(tokens: &Value) -> (bool, bool) {
    let claims = claims(tokens["access_token"].as_str().unwrap());
    (claims["mfa"].as_bool().unwrap(), claims["mfa_enforced"].as_bool().unwrap())
}

/// The password step of a login that needs a second factor: its `mfa_token`.
async fn password_step(app: &TestApp, account: &Account) -> String {
    let waiting = json_of(app.login(&account.email, PASSWORD).await, StatusCode::OK).await;
    assert_eq!(waiting["mfa_required"], true, "{waiting}");
    assert!(waiting.get("access_token").is_none() && waiting.get("session_id").is_none(), "{waiting}");
    waiting["mfa_token"].as_str().unwrap().to_owned()
}

async fn enable(app: &TestApp, token: &str, code: &str) -> reqwest::Response {
    app.post("/auth/2fa/enable", Some(token), json!({ "code": code })).await
}

async fn disable(app: &TestApp, token: &str, code: &str) -> reqwest::Response {
    app.post("/auth/2fa/disable", Some(token), json!({ "code": code })).await
}

#[tokio::test]
async fn an_owner_turns_2fa_on_and_then_logs_in_with_a_code_that_works_once() {
    let app = spawn_app().await;
    let owner = app.signup_without_2fa().await;
    let token = owner.access_token.as_str();

    let setup = json_of(app.post_empty("/auth/2fa/setup", token).await, StatusCode::OK).await;
    let secret = setup["secret"].as_str().unwrap();
    let account = owner.email.replace('@', "%40");
    assert_eq!(setup["otpauth_uri"], format!("otpauth://totp/Rota:{account}?secret={secret}&issuer=Rota"));
    // The app shows a code; a wrong one does not turn 2FA on.
    let wrong = totp_code(secret, now() + 3600);
    problem_of(enable(&app, token, &wrong).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let enabled = json_of(enable(&app, token, &totp_code(secret, now())).await, StatusCode::OK).await;
    let mut codes: Vec<&str> =
        enabled["recovery_codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
    codes.sort();
    codes.dedup();
    assert_eq!(codes.len(), 10, "{enabled}");
    problem_of(app.post_empty("/auth/2fa/setup", token).await, StatusCode::CONFLICT, "conflict").await;

    // A login now needs a code after the password. The step the enable used is spent, so the
    // next code the app shows is the one that works.
    let code = totp_code(secret, now() + 30);
    let mfa_token = password_step(&app, &owner).await;
    let tokens = json_of(app.login_mfa(&mfa_token, &code).await, StatusCode::OK).await;
    assert_eq!(mfa_claims(&tokens), (true, true));
    json_of(app.get("/me", tokens["access_token"].as_str().unwrap()).await, StatusCode::OK).await;

    // The same code again, with a new login token: refused.
    let again = password_step(&app, &owner).await;
    problem_of(app.login_mfa(&again, &code).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
    // An older code of the window too: only later steps than the newest accepted one count.
    problem_of(app.login_mfa(&again, &totp_code(secret, now())).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
    // The used login token, even with a code the server has not seen: refused.
    let owner = Account { totp_secret: Some(secret.to_owned()), ..owner };
    let fresh = app.fresh_code(&owner).await;
    problem_of(app.login_mfa(&mfa_token, &fresh).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
    json_of(app.login_mfa(&again, &fresh).await, StatusCode::OK).await;
}

#[tokio::test]
async fn setting_up_again_replaces_a_secret_not_yet_confirmed() {
    let app = spawn_app().await;
    let owner = app.signup_without_2fa().await;
    let token = owner.access_token.as_str();
    problem_of(enable(&app, token, "123456").await, StatusCode::CONFLICT, "conflict").await;

    let first = json_of(app.post_empty("/auth/2fa/setup", token).await, StatusCode::OK).await;
    let second = json_of(app.post_empty("/auth/2fa/setup", token).await, StatusCode::OK).await;
    assert_ne!(first["secret"], second["secret"]);
    let first_code = totp_code(first["secret"].as_str().unwrap(), now());
    let second_code = totp_code(second["secret"].as_str().unwrap(), now());
    if first_code != second_code {
        problem_of(enable(&app, token, &first_code).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
    }
    json_of(enable(&app, token, &second_code).await, StatusCode::OK).await;
}

#[tokio::test]
async fn a_recovery_code_works_once() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let recovery = owner.recovery_codes[0].clone();

    // Typed loosely: upper case, spaces for dashes.
    let typed = recovery.to_uppercase().replace('-', " ");
    let tokens = json_of(app.login_mfa(&password_step(&app, &owner).await, &typed).await, StatusCode::OK).await;
    assert_eq!(mfa_claims(&tokens), (true, true));

    let mfa_token = password_step(&app, &owner).await;
    problem_of(app.login_mfa(&mfa_token, &recovery).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
    // The other nine still work, and the login token was not used up by the refusal.
    json_of(app.login_mfa(&mfa_token, &owner.recovery_codes[1]).await, StatusCode::OK).await;
}

#[tokio::test]
async fn five_wrong_codes_and_even_the_right_one_waits() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let mfa_token = password_step(&app, &owner).await;
    for i in 1..=5 {
        let wrong = owner.code_at(now() + 3600 * i);
        problem_of(app.login_mfa(&mfa_token, &wrong).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
    }

    let code = app.fresh_code(&owner).await;
    let response = app.login_mfa(&mfa_token, &code).await;
    let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry_after), "Retry-After {retry_after}");
    problem_of(response, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    // The limit is the person's, whichever token or endpoint the codes come through.
    let other_login = password_step(&app, &owner).await;
    problem_of(app.login_mfa(&other_login, &code).await, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    problem_of(disable(&app, &owner.access_token, &code).await, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
}

#[tokio::test]
async fn a_forged_login_token_does_not_use_up_the_persons_limit() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let mfa_token = password_step(&app, &owner).await;
    // Someone who knows the owner's ids (no secret) but not a login token of theirs.
    let forged = api_tests::forged_mfa_token(&mfa_token);
    for _ in 0..6 {
        problem_of(app.login_mfa(&forged, &owner.code()).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
    }
    let code = app.fresh_code(&owner).await;
    json_of(app.login_mfa(&mfa_token, &code).await, StatusCode::OK).await;
}

#[tokio::test]
async fn a_parallel_burst_of_one_code_logs_in_exactly_once() {
    let app = spawn_app().await;

    // The same login token and code, five times at once: the token is single use.
    let owner = app.signup().await;
    let mfa_token = password_step(&app, &owner).await;
    let code = app.fresh_code(&owner).await;
    let answers = join_all((0..5).map(|_| app.login_mfa(&mfa_token, &code))).await;
    let statuses: Vec<StatusCode> = answers.iter().map(|answer| answer.status()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::OK).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count(), 4, "{statuses:?}");

    // Five login tokens, one code, at once: the code's step is accepted once.
    let owner = app.signup().await;
    let mut tokens = Vec::new();
    for _ in 0..5 {
        tokens.push(password_step(&app, &owner).await);
    }
    let code = app.fresh_code(&owner).await;
    let answers = join_all(tokens.iter().map(|token| app.login_mfa(token, &code))).await;
    let statuses: Vec<StatusCode> = answers.iter().map(|answer| answer.status()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::OK).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count(), 4, "{statuses:?}");
}

#[tokio::test]
async fn a_browser_gets_the_refresh_token_of_a_second_factor_login_as_a_cookie() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let mfa_token = password_step(&app, &owner).await;
    let code = app.fresh_code(&owner).await;
    let body = json!({ "mfa_token": mfa_token, "code": code, "token_delivery": "cookie" });
    let response = app.post("/auth/login/mfa", None, body).await;
    let cookie = response.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("__Secure-rota_refresh=") && cookie.contains("HttpOnly"), "{cookie}");
    let tokens = json_of(response, StatusCode::OK).await;
    assert!(tokens.get("refresh_token").is_none(), "{tokens}");
}

#[tokio::test]
async fn turning_2fa_off_takes_a_code_or_a_recovery_code() {
    let app = spawn_app().await;
    let mut owner = app.signup().await;
    let token = owner.access_token.clone();
    let token = token.as_str();
    assert_eq!(mfa_claims(&json!({ "access_token": token })), (true, true));

    problem_of(disable(&app, token, "123456").await, StatusCode::UNAUTHORIZED, "unauthorized").await;
    problem_of(disable(&app, token, "nope-nope-nope").await, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let response = disable(&app, token, &owner.recovery_codes[3]).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    problem_of(disable(&app, token, &owner.code()).await, StatusCode::CONFLICT, "conflict").await;

    // The password alone logs in again; no session counts as having passed 2FA any more.
    let tokens = json_of(app.login(&owner.email, PASSWORD).await, StatusCode::OK).await;
    assert_eq!(mfa_claims(&tokens), (false, true));
    let refreshed = json_of(app.refresh(&owner.refresh_token).await, StatusCode::OK).await;
    assert_eq!(mfa_claims(&refreshed), (false, true));

    // And on again with a new secret: the old codes are gone.
    let old_recovery = owner.recovery_codes[4].clone();
    app.enable_2fa(&mut owner, token).await;
    let mfa_token = password_step(&app, &owner).await;
    problem_of(app.login_mfa(&mfa_token, &old_recovery).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

#[tokio::test]
async fn tokens_say_whether_the_session_passed_2fa_and_whether_the_role_must() {
    let app = spawn_app().await;
    // An owner who has not turned 2FA on: admin actions would be 403 mfa_required
    // (`Caller::require`); their own profile and sessions work.
    let owner = app.signup_without_2fa().await;
    assert_eq!(mfa_claims(&json!({ "access_token": owner.access_token })), (false, true));
    let login = json_of(app.login(&owner.email, PASSWORD).await, StatusCode::OK).await;
    assert_eq!(mfa_claims(&login), (false, true));
    json_of(app.get("/me", &owner.access_token).await, StatusCode::OK).await;
    json_of(app.get("/auth/sessions", &owner.access_token).await, StatusCode::OK).await;

    // Turning 2FA on in a session makes that session one that passed it (from its next
    // refresh); a session started before does not.
    let mut owner = owner;
    let token = owner.access_token.clone();
    app.enable_2fa(&mut owner, &token).await;
    let this_one = json_of(app.refresh(&owner.refresh_token).await, StatusCode::OK).await;
    assert_eq!(mfa_claims(&this_one), (true, true));
    let older = json_of(app.refresh(login["refresh_token"].as_str().unwrap()).await, StatusCode::OK).await;
    assert_eq!(mfa_claims(&older), (false, true));

    // An organisation that does not require 2FA of its admins.
    let tenant = format!("T#{}", owner.tenant_id);
    app.set(&tenant, "TENANT", &[("settings", json!({ "require_admin_mfa": false }))]).await;
    let refreshed = json_of(app.refresh(this_one["refresh_token"].as_str().unwrap()).await, StatusCode::OK).await;
    assert_eq!(mfa_claims(&refreshed), (true, false));
}

#[tokio::test]
async fn a_suspended_organisation_cannot_log_in_or_refresh_until_it_is_reactivated() {
    let app = spawn_app().await;
    let (with_2fa, without) = (app.signup().await, app.signup_without_2fa().await);
    let waiting = password_step(&app, &with_2fa).await;
    for owner in [&with_2fa, &without] {
        app.set(&format!("T#{}", owner.tenant_id), "TENANT", &[("status", json!("suspended"))]).await;
    }

    for owner in [&with_2fa, &without] {
        problem_of(app.login(&owner.email, PASSWORD).await, StatusCode::FORBIDDEN, "tenant_suspended").await;
        problem_of(app.refresh(&owner.refresh_token).await, StatusCode::FORBIDDEN, "tenant_suspended").await;
        // A wrong password learns nothing about the organisation.
        problem_of(app.login(&owner.email, "not the password").await, StatusCode::UNAUTHORIZED, "unauthorized").await;
    }
    // A login that passed its password before the suspension cannot be completed either.
    let code = app.fresh_code(&with_2fa).await;
    problem_of(app.login_mfa(&waiting, &code).await, StatusCode::FORBIDDEN, "tenant_suspended").await;

    for owner in [&with_2fa, &without] {
        app.set(&format!("T#{}", owner.tenant_id), "TENANT", &[("status", json!("active"))]).await;
    }
    // The sessions resume, and the refused logins left none behind.
    for owner in [&with_2fa, &without] {
        let refreshed = json_of(app.refresh(&owner.refresh_token).await, StatusCode::OK).await;
        let sessions =
            json_of(app.get("/auth/sessions", refreshed["access_token"].as_str().unwrap()).await, StatusCode::OK).await;
        let ids: Vec<&str> = sessions["items"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
        assert_eq!(ids, [owner.session_id.as_str()], "{sessions}");
    }
    json_of(app.login(&without.email, PASSWORD).await, StatusCode::OK).await;
    json_of(app.login_mfa(&waiting, &app.fresh_code(&with_2fa).await).await, StatusCode::OK).await;
}

#[tokio::test]
async fn the_2fa_routes_need_a_token() {
    let app = spawn_app().await;
    for path in ["/auth/2fa/setup", "/auth/2fa/enable", "/auth/2fa/disable"] {
        let response = app.request(Method::POST, path, None, Some(json!({ "code": "123456" }))).await;
        problem_of(response, StatusCode::UNAUTHORIZED, "unauthorized").await;
    }
}
