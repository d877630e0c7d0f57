//! What the logs may hold: even at `RUST_LOG=trace`, never a password, a token or an
//! `Authorization` header. One test binary, one global subscriber writing to a buffer.

use std::io::Write;
use std::sync::{Arc, Mutex};

use api_tests::{PASSWORD, json_of, spawn_app};
use reqwest::StatusCode;

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_login_at_trace_level_logs_no_password_and_no_token() {
    let buffer = Buffer::default();
    let writer = buffer.clone();
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(rota::telemetry::filter(Some("trace")))
        .with_writer(move || writer.clone())
        .init();
    // The pinned crates stay quiet below info...
    tracing::trace!(target: "lambda_runtime", "raw event: {{\"password\": \"leaked\"}}");
    tracing::debug!(target: "aws_smithy_runtime", "request body: leaked");
    // ...while everything else is at trace.
    tracing::trace!(target: "rota", "a trace line of our own");

    let app = spawn_app().await;
    let owner = app.signup().await;
    let tokens = app.login_tokens(&owner).await;
    json_of(app.refresh(tokens["refresh_token"].as_str().unwrap()).await, StatusCode::OK).await;
    json_of(app.get("/me", tokens["access_token"].as_str().unwrap()).await, StatusCode::OK).await;
    // A calendar feed's path is its credential.
    let feed =
        json_of(app.get("/me/calendar-url", tokens["access_token"].as_str().unwrap()).await, StatusCode::OK).await;
    let feed_url = feed["url"].as_str().unwrap();
    let (_, feed_token) = feed_url.rsplit_once('/').unwrap();
    let served = app.http.get(format!("{}/calendar/{feed_token}", app.address)).send().await.unwrap();
    assert_eq!(served.status(), StatusCode::OK);

    let logs = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("a trace line of our own"), "the filter is at trace");
    assert!(logs.contains("\"request finished\""), "requests are logged");
    assert!(logs.contains("/calendar/{token}"), "the feed's request is logged, its secret left out");
    assert!(!logs.contains("leaked"), "a pinned crate logged below info");
    let secret = owner.totp_secret.clone().unwrap();
    let secrets = [PASSWORD, &owner.refresh_token, &owner.access_token, &secret, &owner.recovery_codes[0]];
    let secrets = secrets
        .iter()
        .copied()
        .chain([tokens["access_token"].as_str().unwrap(), tokens["refresh_token"].as_str().unwrap()])
        .chain(feed_token.rsplit('.').next());
    for secret in secrets {
        assert!(!logs.contains(secret), "a secret reached the logs: {secret}");
    }
}
