//! Access tokens that must not open anything, and the keys that may sign the ones that do.

use api_tests::{Account, TestApp, local_config, problem_of, spawn_app, spawn_app_with};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// The app's own private key, read from the setting the app reads (`ROTA_JWT_PRIVATE_KEY`).
fn app_key(app: &TestApp) -> EncodingKey {
    let pem = app.config.jwt_private_key.as_ref().expect("make test sets ROTA_JWT_PRIVATE_KEY");
    rota::auth::jwt::private_key_from_pem(pem.expose()).unwrap()
}

fn sign(kid: &str, key: &EncodingKey, claims: &Value) -> String {
    let header = Header { kid: Some(kid.into()), ..Header::new(Algorithm::EdDSA) };
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

/// A fresh Ed25519 key the app has never seen: its private key and its public JWK under `kid`.
fn new_key(kid: &str) -> (EncodingKey, Value) {
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
    let public = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap().public_key().as_ref().to_vec();
    let jwk = json!({ "kty": "OKP", "crv": "Ed25519", "kid": kid, "x": URL_SAFE_NO_PAD.encode(public) });
    (EncodingKey::from_ed_der(pkcs8.as_ref()), jwk)
}

/// The app's JWKS entry for the key it signs with (`ROTA_JWT_PUBLIC_KEYS`).
fn app_jwk(app: &TestApp) -> Value {
    let jwks: Value = serde_json::from_str(&app.config.jwt_public_keys).unwrap();
    jwks["keys"].as_array().unwrap().iter().find(|key| key["kid"] == app.config.jwt_kid.as_str()).unwrap().clone()
}

fn claims(app: &TestApp, account: &Account, issued_at: i64) -> Value {
    json!({
        "iss": app.config.jwt_issuer, "aud": app.config.jwt_audience, "sub": account.person_id,
        "tenant_id": account.tenant_id, "role": "owner", "sid": account.session_id, "mfa": true, "mfa_enforced": true,
        "jti": "j1",
        "iat": issued_at, "nbf": issued_at, "exp": issued_at + 900,
    })
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// An app and a signed-up owner, with the claims of a valid token for them issued now.
async fn app_and_claims() -> (TestApp, Value) {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let claims = claims(&app, &owner, now());
    (app, claims)
}

async fn assert_refused(app: &TestApp, token: &str) {
    problem_of(app.get("/me", token).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

#[tokio::test]
async fn a_token_signed_with_the_apps_key_works() {
    // The control for the cases below: the forging helpers themselves produce accepted tokens.
    let (app, claims) = app_and_claims().await;
    let token = sign(&app.config.jwt_kid, &app_key(&app), &claims);
    assert_eq!(app.get("/me", &token).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_expired_token_is_401() {
    let (app, mut claims) = app_and_claims().await;
    claims["iat"] = json!(now() - 3600);
    claims["nbf"] = json!(now() - 3600);
    claims["exp"] = json!(now() - 2700);
    assert_refused(&app, &sign(&app.config.jwt_kid, &app_key(&app), &claims)).await;
}

#[tokio::test]
async fn a_token_for_another_audience_is_401() {
    let (app, mut claims) = app_and_claims().await;
    claims["aud"] = json!("someone-else");
    assert_refused(&app, &sign(&app.config.jwt_kid, &app_key(&app), &claims)).await;
}

#[tokio::test]
async fn an_unsigned_alg_none_token_is_401() {
    let (app, claims) = app_and_claims().await;
    let header = json!({ "alg": "none", "typ": "JWT", "kid": app.config.jwt_kid });
    let token =
        format!("{}.{}.", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
    assert_refused(&app, &token).await;
}

#[tokio::test]
async fn an_hs256_token_keyed_with_the_public_key_is_401() {
    // Key confusion: anyone can read the public key; a verifier that let the token choose the
    // algorithm would check this HMAC with those bytes and accept it.
    let (app, claims) = app_and_claims().await;
    let header = Header { kid: Some(app.config.jwt_kid.clone()), ..Header::new(Algorithm::HS256) };
    let x = app_jwk(&app)["x"].as_str().unwrap().to_owned();
    for secret in [URL_SAFE_NO_PAD.decode(&x).unwrap(), x.into_bytes(), app.config.jwt_public_keys.clone().into_bytes()]
    {
        let token = jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(&secret)).unwrap();
        assert_refused(&app, &token).await;
    }
}

#[tokio::test]
async fn a_token_with_an_unknown_kid_is_401() {
    // Signed with the app's real key: only the kid is wrong.
    let (app, claims) = app_and_claims().await;
    assert_refused(&app, &sign("some-other-key", &app_key(&app), &claims)).await;
    let no_kid = jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), &claims, &app_key(&app)).unwrap();
    assert_refused(&app, &no_kid).await;
}

#[tokio::test]
async fn a_token_signed_by_another_key_under_a_known_kid_is_401() {
    let (app, claims) = app_and_claims().await;
    let (impostor, _) = new_key(&app.config.jwt_kid);
    assert_refused(&app, &sign(&app.config.jwt_kid, &impostor, &claims)).await;
}

#[tokio::test]
async fn a_request_without_a_token_is_401() {
    let app = spawn_app().await;
    let response = app.request(reqwest::Method::GET, "/me", None, None).await;
    problem_of(response, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

#[tokio::test]
async fn while_a_rotation_overlaps_tokens_signed_by_either_key_work() {
    // The JWKS holds the current key and the next one; the app still signs with the current one.
    let mut config = local_config();
    let (next, next_jwk) = new_key("next");
    let current = serde_json::from_str::<Value>(&config.jwt_public_keys).unwrap()["keys"][0].clone();
    config.jwt_public_keys = json!({ "keys": [current, next_jwk] }).to_string();
    let app = spawn_app_with(config).await;
    let owner = app.signup().await;

    assert_eq!(app.get("/me", &owner.access_token).await.status(), StatusCode::OK, "signed by the current key");
    let by_next = sign("next", &next, &claims(&app, &owner, now()));
    assert_eq!(app.get("/me", &by_next).await.status(), StatusCode::OK, "signed by the next key");
}

#[tokio::test]
async fn a_function_without_the_private_key_verifies_tokens_but_cannot_issue_them() {
    // Every function but auth runs like this: the JWKS, no private key.
    let auth = spawn_app().await;
    let owner = auth.signup().await;
    let verifier = spawn_app_with(rota::Config { jwt_private_key: None, ..auth.config.clone() }).await;

    assert_eq!(verifier.get("/me", &owner.access_token).await.status(), StatusCode::OK);
    // The password step issues no token (the owner has 2FA on); the second step would.
    let waiting = api_tests::json_of(verifier.login(&owner.email, &owner.password).await, StatusCode::OK).await;
    let code = auth.fresh_code(&owner).await;
    let login = verifier.login_mfa(waiting["mfa_token"].as_str().unwrap(), &code).await;
    problem_of(login, StatusCode::INTERNAL_SERVER_ERROR, "internal_error").await;
}

#[tokio::test]
async fn a_token_without_the_2fa_claims_is_401() {
    // As every token issued before the claims existed: the client refreshes and gets them.
    let (app, mut claims) = app_and_claims().await;
    claims.as_object_mut().unwrap().remove("mfa");
    claims.as_object_mut().unwrap().remove("mfa_enforced");
    assert_refused(&app, &sign(&app.config.jwt_kid, &app_key(&app), &claims)).await;
}
