//! Access tokens that must not open anything.

use api_tests::{problem_of, spawn_app};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Signs `claims` with the app's real key, the way an attacker with a stolen key would not need to.
fn sign(app: &api_tests::TestApp, claims: &Value) -> String {
    let header = Header { kid: Some(app.config.jwt_kid.clone()), ..Header::new(Algorithm::HS256) };
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(app.config.jwt_secret.as_bytes())).unwrap()
}

fn claims(app: &api_tests::TestApp, account: &api_tests::Account, issued_at: i64) -> Value {
    json!({
        "iss": app.config.jwt_issuer, "aud": app.config.jwt_audience, "sub": account.person_id,
        "tenant_id": account.tenant_id, "role": "owner", "sid": account.session_id, "jti": "j1",
        "iat": issued_at, "nbf": issued_at, "exp": issued_at + 900,
    })
}

#[tokio::test]
async fn a_well_formed_token_signed_with_the_key_works() {
    // The control for the cases below: the forging helper itself produces accepted tokens.
    let app = spawn_app().await;
    let owner = app.signup().await;
    let token = sign(&app, &claims(&app, &owner, chrono::Utc::now().timestamp()));
    assert_eq!(app.get("/me", &token).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn expired_unsigned_and_misaddressed_tokens_are_401() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let now = chrono::Utc::now().timestamp();

    let expired = sign(&app, &claims(&app, &owner, now - 3600));
    let mut wrong_audience = claims(&app, &owner, now);
    wrong_audience["aud"] = json!("someone-else");
    let wrong_audience = sign(&app, &wrong_audience);
    let alg_none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(json!({ "alg": "none", "typ": "JWT", "kid": app.config.jwt_kid }).to_string()),
        URL_SAFE_NO_PAD.encode(claims(&app, &owner, now).to_string())
    );
    let header = Header { kid: Some("some-other-key".into()), ..Header::new(Algorithm::HS256) };
    let unknown_kid = jsonwebtoken::encode(
        &header,
        &claims(&app, &owner, now),
        &EncodingKey::from_secret(app.config.jwt_secret.as_bytes()),
    )
    .unwrap();

    for (name, token) in
        [("expired", expired), ("wrong aud", wrong_audience), ("alg none", alg_none), ("unknown kid", unknown_kid)]
    {
        let response = app.get("/me", &token).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{name}");
        problem_of(response, StatusCode::UNAUTHORIZED, "unauthorized").await;
    }
    let no_token = app.request(reqwest::Method::GET, "/me", None, None).await;
    problem_of(no_token, StatusCode::UNAUTHORIZED, "unauthorized").await;
}
