//! The sample API Gateway events in events/ (for `cargo lambda invoke --data-file`) parse as
//! Lambda HTTP requests and reach their handlers.

use api_tests::spawn_app;
use serde_json::Value;
use tower::ServiceExt;

#[tokio::test]
async fn every_sample_event_reaches_a_handler() {
    let app = spawn_app().await;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let request = lambda_http::request::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let response = app.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
        let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        assert!(
            !status.is_server_error()
                && !matches!(body["code"].as_str(), Some("route_not_found" | "method_not_allowed" | "invalid_request")),
            "{}: {status} {body}",
            path.display()
        );
        seen += 1;
    }
    assert!(seen >= 9, "expected a sample event per auth route, found {seen}");
}
