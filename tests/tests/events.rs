//! The sample API Gateway events in events/ (for `cargo lambda invoke --data-file`) parse as
//! Lambda HTTP requests and reach their handlers.

use api_tests::spawn_app;
use serde_json::Value;

#[tokio::test]
async fn every_sample_event_reaches_a_handler() {
    let app = spawn_app().await;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let event: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let (status, _, body) = app.invoke(&event).await;
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
