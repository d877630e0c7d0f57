//! The nightly worker against the local SQS and DynamoDB: when a shift's check-in window has
//! closed, who never came is absent and who never checked out is incomplete (flagged), once,
//! however many runs overlap; the hourly sweep queues every active organisation's job.

use std::collections::HashMap;

use api_tests::{HALL, Organisation, TestApp, json_of, spawn_app, worker};
use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use chrono::{DateTime, Duration, Utc};
use nightly::{Closed, Job, Nightly, close_attendance};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// The worker on a nightly queue of this test's own.
async fn nightly_of(app: &TestApp) -> Nightly {
    let queue = app.sqs.create_queue().queue_name(format!("nightly-{}", ulid::Ulid::new())).send().await.unwrap();
    Nightly::new(&app.config, queue.queue_url.unwrap()).await
}

fn around(now: DateTime<Utc>, from_minutes: i64, to_minutes: i64) -> (String, String) {
    ((now + Duration::minutes(from_minutes)).to_rfc3339(), (now + Duration::minutes(to_minutes)).to_rfc3339())
}

async fn check(app: &TestApp, token: &str, direction: &str, shift_id: &str) -> Value {
    let body = json!({ "shift_id": shift_id, "lat": HALL.0, "lng": HALL.1, "accuracy_m": 10.0 });
    let expected = if direction == "in" { StatusCode::CREATED } else { StatusCode::OK };
    json_of(app.post(&format!("/attendance/check-{direction}"), Some(token), body).await, expected).await
}

/// The organisation's records of shifts starting within the last five hours, by person.
async fn records_by_person(app: &TestApp, token: &str, now: DateTime<Utc>) -> HashMap<String, Value> {
    let (from, to) = around(now, -5 * 60, 60);
    let path = format!("/attendance?from={}&to={}", urlencode(&from), urlencode(&to));
    let page = json_of(app.get(&path, token).await, StatusCode::OK).await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|record| (record["person_id"].as_str().unwrap().to_owned(), record.clone()))
        .collect()
}

fn urlencode(instant: &str) -> String {
    instant.replace('+', "%2B")
}

async fn log_of(app: &TestApp, token: &str, attendance_id: &str) -> Vec<Value> {
    let record = json_of(app.get(&format!("/attendance/{attendance_id}"), token).await, StatusCode::OK).await;
    record["events"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_closed_window_makes_who_never_came_absent_and_who_never_left_incomplete() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let org: Organisation = app.organisation(&owner).await;
    let token = Some(owner.access_token.as_str());
    let sam = app.staff_token(&org).await;
    let alex = worker(&app, &owner, &org, "Alex Worker").await;
    // Here an offer counts only once it is answered.
    let strict = json!({ "settings": { "offers_need_answer": true } });
    json_of(app.request(reqwest::Method::PATCH, "/tenant", token, Some(strict)).await, StatusCode::OK).await;
    let now = Utc::now();
    // Ended three hours ago: its window closed two hours ago. Sam accepted it and never came;
    // Alex was only offered it.
    let ended = app.published_shift(token, &org.location_id, &org.position_id, around(now, -4 * 60, -3 * 60)).await;
    app.on_shift(token, &ended, &org.person_id, true).await;
    let offered = json!({ "person_ids": [alex.id], "force": true });
    json_of(app.post(&format!("/shifts/{ended}/assignments"), token, offered).await, StatusCode::CREATED).await;
    // Starting in five minutes: Alex checks in and stays; the owner checks in and out.
    let on_now = app.published_shift(token, &org.location_id, &org.position_id, around(now, 5, 65)).await;
    app.on_shift(token, &on_now, &alex.id, true).await;
    app.on_shift(token, &on_now, &owner.person_id, true).await;
    check(&app, &alex.token, "in", &on_now).await;
    check(&app, &owner.access_token, "in", &on_now).await;
    check(&app, &owner.access_token, "out", &on_now).await;

    // The hourly run, through the queue as the Lambda gets it: only the ended shift has closed.
    let nightly = nightly_of(&app).await;
    let job = serde_json::to_string(&Job::CloseAttendance { tenant_id: owner.tenant_id.clone() }).unwrap();
    nightly.sqs.send_message().queue_url(&nightly.queue_url).message_body(job).send().await.unwrap();
    assert_eq!(nightly::poll(&nightly, 0).await.unwrap(), 1);
    let records = records_by_person(&app, &owner.access_token, now).await;
    assert_eq!(records.len(), 3, "Sam's, Alex's and the owner's; none for an unanswered offer: {records:?}");
    let absent = &records[&org.person_id];
    assert_eq!((absent["status"].as_str(), absent["flagged"].as_bool()), (Some("absent"), Some(false)));
    assert_eq!((absent["shift_id"].as_str(), absent["window_closed"].as_bool()), (Some(ended.as_str()), Some(true)));
    assert_eq!(records[&alex.id]["status"], "on_time", "Alex's window is still open");
    let log = log_of(&app, &owner.access_token, absent["id"].as_str().unwrap()).await;
    assert_eq!(log.len(), 1);
    assert_eq!(
        (log[0]["happening"]["kind"].as_str(), log[0]["by_name"].as_str()),
        (Some("window_closed"), Some("Rota (scheduled job)"))
    );
    // Sam sees it among their own records.
    let mine = json_of(app.get("/me/attendance", &sam).await, StatusCode::OK).await;
    assert_eq!(mine["items"].as_array().unwrap().iter().filter(|record| record["status"] == "absent").count(), 1);

    // Three hours on, the second shift has closed too: Alex never checked out.
    let later = now + Duration::hours(3);
    let closed = close_attendance(&app.store, &owner.tenant_id, later).await.unwrap();
    assert_eq!(closed, Closed { absent: 0, incomplete: 1 });
    let records = records_by_person(&app, &owner.access_token, now).await;
    let incomplete = &records[&alex.id];
    assert_eq!((incomplete["status"].as_str(), incomplete["flagged"].as_bool()), (Some("incomplete"), Some(true)));
    assert!(incomplete["check_in_at"].is_string() && incomplete["check_out_at"].is_null());
    let done = &records[&owner.person_id];
    assert_eq!((done["status"].as_str(), done["window_closed"].as_bool()), (Some("early_exit"), Some(false)));
    // Run again, at the same instant or later: nothing left to close, nothing closed twice.
    for at in [later, later + Duration::hours(1)] {
        assert_eq!(close_attendance(&app.store, &owner.tenant_id, at).await.unwrap(), Closed::default());
    }
    assert_eq!(log_of(&app, &owner.access_token, incomplete["id"].as_str().unwrap()).await.len(), 2);
    assert_eq!(log_of(&app, &owner.access_token, absent["id"].as_str().unwrap()).await.len(), 1);
}

#[tokio::test]
async fn a_no_show_on_an_unanswered_offer_is_absent() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let org = app.organisation(&owner).await;
    let token = Some(owner.access_token.as_str());
    let now = Utc::now();
    // Sam was offered a shift that ended three hours ago, never answered and never came.
    let ended = app.published_shift(token, &org.location_id, &org.position_id, around(now, -4 * 60, -3 * 60)).await;
    let offered = json!({ "person_ids": [org.person_id], "force": true });
    json_of(app.post(&format!("/shifts/{ended}/assignments"), token, offered).await, StatusCode::CREATED).await;

    assert_eq!(close_attendance(&app.store, &owner.tenant_id, now).await.unwrap(), Closed { absent: 1, incomplete: 0 });
    let records = records_by_person(&app, &owner.access_token, now).await;
    let absent = &records[&org.person_id];
    assert_eq!((absent["status"].as_str(), absent["shift_id"].as_str()), (Some("absent"), Some(ended.as_str())));
}

#[tokio::test]
async fn overlapping_runs_close_each_record_once() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let org = app.organisation(&owner).await;
    let token = Some(owner.access_token.as_str());
    let now = Utc::now();
    let ended = app.published_shift(token, &org.location_id, &org.position_id, around(now, -4 * 60, -3 * 60)).await;
    app.on_shift(token, &ended, &org.person_id, true).await;
    app.on_shift(token, &ended, &owner.person_id, true).await;
    let runs = (0..4).map(|_| close_attendance(&app.store, &owner.tenant_id, now));
    let outcomes = futures_util::future::join_all(runs).await;
    // Each run closed what it won; one that lost a record to another fails, to be retried.
    let closed_by_runs: usize =
        outcomes.iter().filter_map(|outcome| outcome.as_ref().ok()).map(|closed| closed.absent).sum();
    assert!((0..=2).contains(&closed_by_runs), "{outcomes:?}");
    // The retry finds nothing left, and every record was closed exactly once.
    assert_eq!(close_attendance(&app.store, &owner.tenant_id, now).await.unwrap(), Closed::default());
    let records = records_by_person(&app, &owner.access_token, now).await;
    assert_eq!(records.len(), 2);
    for record in records.values() {
        assert_eq!((record["status"].as_str(), record["version"].as_u64()), (Some("absent"), Some(1)));
        assert_eq!(log_of(&app, &owner.access_token, record["id"].as_str().unwrap()).await.len(), 1);
    }
}

#[tokio::test]
async fn the_sweep_queues_each_active_organisation_once() {
    let app = spawn_app().await;
    let active = app.signup().await;
    let suspended = app.signup().await;
    app.set(&format!("T#{}", suspended.tenant_id), "TENANT", &[("status", json!("suspended"))]).await;
    let nightly = nightly_of(&app).await;
    let queued = nightly::sweep(&nightly).await.unwrap();
    let mut jobs = Vec::new();
    loop {
        let received = nightly
            .sqs
            .receive_message()
            .queue_url(&nightly.queue_url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        let messages = received.messages.unwrap_or_default();
        if messages.is_empty() {
            break;
        }
        for message in messages {
            jobs.push(serde_json::from_str::<Job>(message.body.as_deref().unwrap()).unwrap());
            nightly
                .sqs
                .delete_message()
                .queue_url(&nightly.queue_url)
                .receipt_handle(message.receipt_handle.unwrap())
                .send()
                .await
                .unwrap();
        }
    }
    assert_eq!(jobs.len(), queued);
    let of = |tenant_id: &str| {
        jobs.iter().filter(|job| **job == Job::CloseAttendance { tenant_id: tenant_id.to_owned() }).count()
    };
    assert_eq!((of(&active.tenant_id), of(&suspended.tenant_id)), (1, 0));
}

#[tokio::test]
async fn the_sample_sqs_event_is_handled_and_a_bad_message_fails_alone() {
    let app = spawn_app().await;
    let nightly = nightly_of(&app).await;
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events/nightly-sqs.json");
    let mut event: SqsEvent = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut bad = SqsMessage::default();
    bad.message_id = Some("bad".into());
    bad.body = Some(r#"{"job":"close_everything"}"#.into());
    event.records.push(bad);
    let response = nightly::handle(&nightly, event).await;
    let failed: Vec<_> = response.batch_item_failures.iter().map(|failure| failure.item_identifier.as_str()).collect();
    assert_eq!(failed, ["bad"]);
}

#[test]
fn the_hourly_rule_queues_a_sweep() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml");
    let template: serde_yaml_ng::Value = serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let input = template["Resources"]["HourlySweep"]["Properties"]["Targets"][0]["Input"].as_str().unwrap();
    assert_eq!(serde_json::from_str::<Job>(input).unwrap(), Job::Sweep);
}
