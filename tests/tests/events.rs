//! The sample API Gateway events in events/ (for `cargo lambda invoke --data-file`) parse as
//! Lambda HTTP requests and succeed: their placeholders get a fresh account's real values, and
//! each event must answer its operation's documented success status. Every documented operation
//! needs a sample event.

use std::collections::BTreeSet;

use api_tests::{json_of, spawn_app, unique_email};
use reqwest::StatusCode;
use serde_json::Value;

/// What the sample events carry where a real value goes, as a developer pastes it in.
const ACCESS_TOKEN: &str = "REPLACE_WITH_ACCESS_TOKEN";
const REFRESH_TOKEN: &str = "REPLACE_WITH_REFRESH_TOKEN";
const SESSION_ID: &str = "01JSAMPLESESSION0000000000";
const SIGNUP_TOKEN: &str = "REPLACE_WITH_THE_TOKEN_FROM_THE_EMAILED_LINK";
const INVITATION_TOKEN: &str = "REPLACE_WITH_THE_INVITATION_TOKEN";
const RESET_TOKEN: &str = "REPLACE_WITH_THE_RESET_TOKEN";
/// The ids of the people-function samples, replaced by records of the owner's organisation.
const LOCATION_ID: &str = "01JSAMPLELOCATION000000000";
const POSITION_ID: &str = "01JSAMPLEPOSITION000000000";
const UNIT_ID: &str = "01JSAMPLEUN1T0000000000000";
const PERSON_ID: &str = "01JSAMPLEPERSON00000000000";
/// The sign-up sample creates this owner and the login sample logs in as them.
const EMAIL: &str = "owner@example.com";

/// The one 2xx status the document gives an operation.
fn documented_success(doc: &Value, method: &str, path: &str) -> StatusCode {
    let responses = doc["paths"][path][method.to_lowercase()]["responses"]
        .as_object()
        .unwrap_or_else(|| panic!("{method} {path} is not in the document"));
    let successes: Vec<_> = responses.keys().filter(|status| status.starts_with('2')).collect();
    assert_eq!(successes.len(), 1, "{method} {path} documents {successes:?}");
    successes[0].parse().unwrap()
}

#[tokio::test]
async fn every_sample_event_succeeds_with_real_tokens() {
    let app = spawn_app().await;
    let doc = serde_json::to_value(&app.doc).unwrap();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|entry| entry.unwrap().path()).collect();
    files.sort();

    let mut covered = BTreeSet::new();
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        let event: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        if event["Records"].is_array() {
            continue; // an SQS event, for a worker: tests/notifier.rs runs it
        }
        let route = event["routeKey"].as_str().unwrap_or_else(|| panic!("{name} has no routeKey")).to_owned();
        let (method, template) = route.split_once(' ').unwrap();

        // A fresh owner per event (an event may end its session), with a second session for the
        // revoke sample to end. The sign-up sample gets an address nobody has yet.
        let owner = app.signup().await;
        let spare = json_of(app.login(&owner.email, &owner.password).await, StatusCode::OK).await;
        let email = if route == "POST /auth/signup" { unique_email("sample") } else { owner.email.clone() };
        // The verify sample follows the link of a sign-up just started.
        let signup_token = if text.contains(SIGNUP_TOKEN) {
            let signup_email = unique_email("sample");
            json_of(app.signup_response(&signup_email).await, StatusCode::ACCEPTED).await;
            app.link_token(&signup_email, "/verify-email").await
        } else {
            String::new()
        };
        let org = app.organisation(&owner).await;
        let invitation_token = app.link_token(&org.person_email, "/accept-invitation").await;
        // The reset sample follows the link of a reset just asked for.
        let reset_token = if text.contains(RESET_TOKEN) {
            let forgot = app.post("/auth/forgot-password", None, serde_json::json!({ "email": owner.email })).await;
            json_of(forgot, StatusCode::ACCEPTED).await;
            app.link_token(&owner.email, "/reset-password").await
        } else {
            String::new()
        };
        let text = text
            .replace(LOCATION_ID, &org.location_id)
            .replace(POSITION_ID, &org.position_id)
            .replace(UNIT_ID, &org.unit_id)
            .replace(PERSON_ID, &org.person_id)
            .replace(SIGNUP_TOKEN, &signup_token)
            .replace(INVITATION_TOKEN, &invitation_token)
            .replace(RESET_TOKEN, &reset_token)
            .replace(ACCESS_TOKEN, &owner.access_token)
            .replace(REFRESH_TOKEN, &owner.refresh_token)
            .replace(SESSION_ID, spare["session_id"].as_str().unwrap())
            .replace(EMAIL, &email);
        assert!(!text.contains("REPLACE_WITH_"), "{name}: a placeholder this test does not know");

        let (status, _, body) = app.invoke(&serde_json::from_str(&text).unwrap()).await;
        assert_eq!(status, documented_success(&doc, method, template), "{name} ({route}): {body}");
        covered.insert(route);
    }

    let mut missing = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let route = format!("{} {path}", method.to_uppercase());
            if !covered.contains(&route) {
                missing.push(route);
            }
        }
    }
    assert!(missing.is_empty(), "add a sample event to events/ for {missing:?}");
}
