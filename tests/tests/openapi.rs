//! The OpenAPI document and the router describe the same API: every route is documented and
//! every documented operation is served.

use api_tests::{TestApp, json_of, spawn_app};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::collections::BTreeSet;

/// The paths the app's routes serve, read from their `Debug` form (axum has no route listing)
/// before `serve` wraps them in one service. Each route there has a `RouteId(n)`; unless a path
/// was read for every one of them, the format changed and routes could hide, so this fails instead.
fn router_paths() -> BTreeSet<String> {
    let (routes, _) = rota::http::document(dev_server::api());
    let debug = format!("{routes:?}");
    let path_router = &debug[..debug.find("fallback_router").expect("axum's Router Debug layout changed")];
    let mut paths = BTreeSet::new();
    let mut rest = path_router;
    while let Some(at) = rest.find("): \"/") {
        rest = &rest[at + 4..];
        let end = rest.find('"').unwrap();
        paths.insert(rest[..end].to_owned());
        rest = &rest[end..];
    }
    let mut route_ids = BTreeSet::new();
    let mut rest = path_router;
    while let Some(at) = rest.find("RouteId(") {
        rest = &rest[at + "RouteId(".len()..];
        let end = rest.find(')').expect("RouteId(n)");
        route_ids.insert(rest[..end].to_owned());
        rest = &rest[end..];
    }
    assert!(!route_ids.is_empty(), "no RouteId in the router's Debug output: axum's layout changed");
    assert_eq!(
        paths.len(),
        route_ids.len(),
        "read {} paths for {} RouteIds from the router's Debug output: axum's layout changed ({paths:?})",
        paths.len(),
        route_ids.len()
    );
    paths
}

fn documented(app: &TestApp) -> Vec<(String, Method)> {
    let doc = serde_json::to_value(&app.doc).unwrap();
    let mut operations = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if let Ok(method) = method.to_uppercase().parse::<Method>() {
                operations.push((path.clone(), method));
            }
        }
    }
    operations
}

fn concrete(path: &str) -> String {
    path.split('/')
        .map(|part| if part.starts_with('{') { "01J0000000000000000000000X" } else { part })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn the_served_document_is_the_generated_one() {
    let app = spawn_app().await;
    let served = json_of(app.request(Method::GET, "/openapi.json", None, None).await, StatusCode::OK).await;
    assert_eq!(served, serde_json::to_value(&app.doc).unwrap());
    assert!(served["openapi"].as_str().unwrap().starts_with("3.1"));
}

#[tokio::test]
async fn every_route_of_the_router_is_documented() {
    let app = spawn_app().await;
    let served = router_paths();
    assert!(
        served.contains("/auth/login") && served.contains("/auth/sessions/{session_id}"),
        "could not read routes: {served:?}"
    );
    let documented: BTreeSet<String> = documented(&app).into_iter().map(|(path, _)| path).collect();
    let undocumented: Vec<_> = served.difference(&documented).collect();
    assert!(undocumented.is_empty(), "routes missing from the OpenAPI document: {undocumented:?}");

    // And no path serves a method the document does not list for it.
    let operations = documented_operations(&app);
    for path in &served {
        for method in [Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            let response = app.request(method.clone(), &concrete(path), None, None).await;
            if response.status() != StatusCode::METHOD_NOT_ALLOWED {
                assert!(
                    operations.contains(&(path.clone(), method.clone())),
                    "{method} {path} is served but not documented"
                );
            }
        }
    }
}

fn documented_operations(app: &TestApp) -> BTreeSet<(String, Method)> {
    documented(app).into_iter().collect()
}

#[tokio::test]
async fn every_documented_operation_is_served() {
    let app = spawn_app().await;
    for (path, method) in documented(&app) {
        let response = app.request(method.clone(), &concrete(&path), None, None).await;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert!(
            !matches!(body["code"].as_str(), Some("route_not_found" | "method_not_allowed")),
            "{method} {path} is documented but not served ({status}: {body})"
        );
    }
}

/// Frontends generate clients from the committed document, so it must be what the code serves.
#[test]
fn the_committed_document_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../openapi.json");
    let committed: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let generated = serde_json::to_value(dev_server::document()).unwrap();
    assert!(committed == generated, "openapi.json is stale: run `make openapi` and commit it");
}

/// A Lambda serves `lambda_router()`, built from the same declarations as the documented
/// `router()` but without the OpenAPI operations: every path and method must answer alike.
#[tokio::test]
async fn each_lambda_serves_exactly_its_documented_operations() {
    use tower::ServiceExt;
    let state = rota::AppState::from_env().await.expect("state");
    let lambdas: std::collections::HashMap<_, _> = dev_server::lambda_routers().into_iter().collect();
    for (binary, documented) in dev_server::functions() {
        let lambda = lambdas
            .get(binary)
            .unwrap_or_else(|| panic!("add {binary}'s lambda_router() to dev_server::lambda_routers()"));
        let (documented, doc) = documented.split_for_parts();
        let (documented, lambda) =
            (rota::http::serve(documented, state.clone()), rota::http::serve(lambda.clone(), state.clone()));
        assert!(!doc.paths.paths.is_empty(), "{binary} documents no operation");
        for path in doc.paths.paths.keys() {
            for method in [Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
                let answer = |router: axum::Router| {
                    let request = axum::http::Request::builder()
                        .method(method.as_str())
                        .uri(concrete(path))
                        .body(axum::body::Body::empty())
                        .unwrap();
                    async move { router.oneshot(request).await.unwrap().status() }
                };
                let (expected, actual) = (answer(documented.clone()).await, answer(lambda.clone()).await);
                assert_eq!(actual, expected, "{binary}: {method} {path}");
            }
        }
    }
}

/// utoipa names a schema after its type (or its `#[schema(as = …)]`), and of two types with one
/// name the document keeps one, silently: a response then "violates" the other's schema. Every
/// `ToSchema` type of the sources has a name of its own.
#[test]
fn no_two_schemas_share_a_name() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    let mut folders = vec![root.join("shared/src"), root.join("functions")];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() && !path.ends_with("target") {
                folders.push(path);
            } else if path.extension().is_some_and(|extension| extension == "rs") {
                files.push(path);
            }
        }
    }
    let mut seen: std::collections::BTreeMap<String, String> = std::collections::BTreeMap::new();
    for file in files {
        let source = std::fs::read_to_string(&file).unwrap();
        let lines: Vec<&str> = source.lines().collect();
        for (at, line) in lines.iter().enumerate() {
            if !(line.trim_start().starts_with("#[derive(") && line.contains("ToSchema")) {
                continue;
            }
            // The attributes up to the item, then the item's own name.
            let mut renamed = None;
            for next in &lines[at + 1..] {
                let next = next.trim_start();
                if let Some(rest) = next.split("schema(as = ").nth(1) {
                    renamed = rest.split([',', ')']).next().map(str::trim).map(str::to_owned);
                }
                if let Some(item) = next.strip_prefix("pub struct ").or_else(|| next.strip_prefix("pub enum ")) {
                    let name = item.split([' ', '<', '(', '{', ';']).next().unwrap().to_owned();
                    let name = renamed.take().unwrap_or(name);
                    let place = format!("{}:{}", file.strip_prefix(&root).unwrap().display(), at + 1);
                    if let Some(first) = seen.insert(name.clone(), place.clone()) {
                        panic!(
                            "two schemas named {name}: {first} and {place}; rename one or give it #[schema(as = …)]"
                        );
                    }
                    break;
                }
            }
        }
    }
    assert!(seen.len() > 100, "only {} schemas found: is the walk right?", seen.len());
}
