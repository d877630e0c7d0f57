//! DynamoDB round-trip budgets per endpoint, counted by the SDK interceptor.

use api_tests::{PASSWORD, TestApp, json_of, spawn_app};
use reqwest::{Method, Response, StatusCode};

async fn counted<F: Future<Output = Response>>(app: &TestApp, request: F) -> (usize, Response) {
    let before = app.round_trips();
    let response = request.await;
    (app.round_trips() - before, response)
}

#[tokio::test]
async fn auth_endpoints_stay_within_their_round_trip_budgets() {
    let app = spawn_app().await;
    let email = api_tests::unique_email("budget");
    let (trips, response) = counted(&app, app.signup_response(&email)).await;
    json_of(response, StatusCode::ACCEPTED).await;
    assert!((1..=2).contains(&trips), "signup took {trips} round trips");
    let token = app.link_token(&email, "/verify-email").await;
    let (trips, response) =
        counted(&app, app.post("/auth/verify-email", None, serde_json::json!({ "token": token }))).await;
    json_of(response, StatusCode::CREATED).await;
    assert!((1..=2).contains(&trips), "verify-email took {trips} round trips (read, then one transaction)");
    let owner = app.signup().await;

    // Login: the rate-limit check and the credential read go in parallel, then one write.
    let (trips, response) = counted(&app, app.login(&owner.email, PASSWORD)).await;
    json_of(response, StatusCode::OK).await;
    assert!(trips <= 2, "login took {trips} round trips");
    let (trips, _) = counted(&app, app.login(&owner.email, "wrong password")).await;
    assert!(trips <= 2, "failed login took {trips} round trips");

    let (trips, response) = counted(&app, app.get("/me", &owner.access_token)).await;
    json_of(response, StatusCode::OK).await;
    assert_eq!(trips, 1, "GET /me");

    let (trips, response) = counted(&app, app.refresh(&owner.refresh_token)).await;
    let tokens = json_of(response, StatusCode::OK).await;
    assert!(trips <= 2, "refresh took {trips} round trips");
    let token = tokens["access_token"].as_str().unwrap();

    for (method, path) in [(Method::GET, "/auth/sessions"), (Method::POST, "/auth/logout-all")] {
        let (trips, response) = counted(&app, app.request(method.clone(), path, Some(token), None)).await;
        assert!(response.status().is_success());
        assert!(trips <= 2, "{method} {path} took {trips} round trips");
    }
}
