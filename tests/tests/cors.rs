//! Browsers: only the configured origins get CORS headers, credentials included; others get none.

use api_tests::{local_config, spawn_app, spawn_app_with};
use reqwest::{Method, StatusCode};

const ALLOWED: &str = "https://app.example.com";

async fn app_allowing(origin: &str) -> api_tests::TestApp {
    spawn_app_with(rota::Config { cors_origins: vec![origin.parse().unwrap()], ..local_config() }).await
}

fn preflight(app: &api_tests::TestApp, origin: &str) -> reqwest::RequestBuilder {
    app.http
        .request(Method::OPTIONS, format!("{}/auth/refresh", app.address))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
}

#[tokio::test]
async fn an_allowed_origin_gets_the_preflight_and_the_headers_with_credentials() {
    let app = app_allowing(ALLOWED).await;
    let response = preflight(&app, ALLOWED).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers();
    assert_eq!(headers["access-control-allow-origin"], ALLOWED);
    assert_eq!(headers["access-control-allow-credentials"], "true");
    let methods = headers["access-control-allow-methods"].to_str().unwrap();
    assert!(methods.contains("POST") && methods.contains("PATCH"), "{methods}");
    assert!(headers["access-control-allow-headers"].to_str().unwrap().contains("content-type"));

    let response =
        app.http.get(format!("{}/openapi.json", app.address)).header("origin", ALLOWED).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["access-control-allow-origin"], ALLOWED);
    assert_eq!(response.headers()["access-control-allow-credentials"], "true");
    let exposed = response.headers()["access-control-expose-headers"].to_str().unwrap();
    assert!(exposed.contains("retry-after"), "{exposed}");
}

#[tokio::test]
async fn another_origin_gets_no_cors_headers() {
    let app = app_allowing(ALLOWED).await;
    for origin in ["https://evil.example.com", "https://app.example.com.evil.example", "null"] {
        let response = preflight(&app, origin).send().await.unwrap();
        assert!(!response.headers().contains_key("access-control-allow-origin"), "preflight from {origin}");
        assert!(!response.headers().contains_key("access-control-allow-credentials"), "preflight from {origin}");
        let response =
            app.http.get(format!("{}/openapi.json", app.address)).header("origin", origin).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert!(!response.headers().contains_key("access-control-allow-origin"), "GET from {origin}");
    }
}

#[tokio::test]
async fn with_no_origins_configured_there_is_no_cors_at_all() {
    let app = spawn_app().await;
    assert!(app.config.cors_origins.is_empty(), "the local default allows no origin");
    let response = preflight(&app, ALLOWED).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(!response.headers().contains_key("access-control-allow-origin"));
}

#[tokio::test]
async fn a_login_from_an_allowed_origin_gets_the_refresh_token_as_a_cookie() {
    let app = app_allowing(ALLOWED).await;
    let owner = app.signup_without_2fa().await;
    let body = serde_json::json!({ "email": owner.email, "password": api_tests::PASSWORD });
    let response = app
        .http
        .post(format!("{}/auth/login", app.address))
        .header("origin", ALLOWED)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(response.headers()["set-cookie"].to_str().unwrap().starts_with("__Secure-rota_refresh="));
    let tokens = api_tests::json_of(response, StatusCode::OK).await;
    assert!(tokens.get("refresh_token").is_none(), "{tokens}");
}
