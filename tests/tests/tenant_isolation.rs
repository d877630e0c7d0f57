//! Tenant B's token on tenant A's resources: always 404, never A's data. The routes come from the
//! OpenAPI document, so every new route is covered the day it is added.

use api_tests::{Account, TestApp, json_of, spawn_app};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::HashMap;

/// Tenant A's resource ids by path parameter name. A new path parameter needs an entry here:
/// the matrix fails until it has one.
fn fixtures(a: &Account) -> HashMap<&'static str, String> {
    HashMap::from([("session_id", a.session_id.clone())])
}

fn secrets_of(a: &Account) -> [&str; 4] {
    [&a.tenant_id, &a.person_id, &a.session_id, &a.email]
}

#[tokio::test]
async fn tenant_b_never_reaches_tenant_a() {
    let app = spawn_app().await;
    let a = app.signup().await;
    let b = app.signup().await;
    let fixtures = fixtures(&a);
    let doc = serde_json::to_value(&app.doc).unwrap();

    let mut checked = 0;
    for (template, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            // Public operations (sign-up, login, refresh, the document) act on no tenant's data.
            if operation.get("security").is_none() {
                continue;
            }
            let method: Method = method.to_uppercase().parse().unwrap();
            let (path, has_params) = fill(template, &fixtures);
            let body = matches!(method, Method::POST | Method::PUT | Method::PATCH).then(|| json!({}));
            let response = app.request(method.clone(), &path, Some(&b.access_token), body).await;
            let status = response.status();
            let text = response.text().await.unwrap();
            for secret in secrets_of(&a) {
                assert!(!text.contains(secret), "{method} {path} with B's token showed A's data: {text}");
            }
            if has_params {
                assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path} with B's token: {text}");
            }
            checked += 1;
        }
    }
    assert!(checked >= 6, "only {checked} operations checked");

    // Nothing B did reached A: A's session still works.
    assert_still_there(&app, &a).await;
}

fn fill(template: &str, fixtures: &HashMap<&'static str, String>) -> (String, bool) {
    let mut has_params = false;
    let path = template
        .split('/')
        .map(|part| match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            Some(name) => {
                has_params = true;
                fixtures
                    .get(name)
                    .cloned()
                    .unwrap_or_else(|| panic!("add a fixture for `{name}` so the matrix covers {template}"))
            }
            None => part.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/");
    (path, has_params)
}

async fn assert_still_there(app: &TestApp, a: &Account) {
    let sessions: Value = json_of(app.get("/auth/sessions", &a.access_token).await, StatusCode::OK).await;
    assert!(sessions["items"].as_array().unwrap().iter().any(|s| s["id"] == a.session_id.as_str()));
}
