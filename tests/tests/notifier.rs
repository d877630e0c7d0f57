//! The notifier worker against the local SQS, SES and DynamoDB: each envelope is sent once,
//! failures are reported per record, and an organisation without credits sends nothing (and
//! sees why).

use api_tests::{json_of, spawn_app, unique_email};
use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use reqwest::StatusCode;
use rota::notify::{Envelope, Message};
use serde_json::{Value, json};

fn record(message_id: &str, body: String) -> SqsMessage {
    let mut record = SqsMessage::default();
    record.message_id = Some(message_id.to_owned());
    record.body = Some(body);
    record
}

fn batch(records: Vec<SqsMessage>) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = records;
    event
}

fn attempt_at(to: &str) -> String {
    serde_json::to_string(&Envelope::new(None, None, to, Message::SignupAttempt)).unwrap()
}

#[tokio::test]
async fn a_message_delivered_twice_is_sent_once() {
    let app = spawn_app().await;
    let to = unique_email("twice");
    let event = batch(vec![record("m-1", attempt_at(&to))]);
    for _ in 0..2 {
        let response = notifier::handle(&app.notifier, event.clone()).await;
        assert!(response.batch_item_failures.is_empty());
    }
    // And concurrently: the claim is one conditional write.
    let copies = (0..4).map(|_| notifier::handle(&app.notifier, event.clone()));
    futures_util::future::join_all(copies).await;
    assert_eq!(app.mail_to(&to).await.len(), 1);
}

#[tokio::test]
async fn only_the_failing_record_of_a_batch_is_reported() {
    let app = spawn_app().await;
    let recipients: Vec<String> = (0..9).map(|i| unique_email(&format!("batch{i}"))).collect();
    let mut records: Vec<SqsMessage> =
        recipients.iter().enumerate().map(|(i, to)| record(&format!("ok-{i}"), attempt_at(to))).collect();
    records.insert(4, record("broken", "{not an envelope".into()));
    assert_eq!(records.len(), 10);

    let response = notifier::handle(&app.notifier, batch(records)).await;
    let failed: Vec<_> = response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
    assert_eq!(failed, ["broken"]);
    for to in &recipients {
        assert_eq!(app.mail_to(to).await.len(), 1, "{to}");
    }
}

#[tokio::test]
async fn without_credits_nothing_is_sent_and_admins_see_why() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let tenant = json_of(app.get("/tenant", &owner.access_token).await, StatusCode::OK).await;
    assert_eq!(tenant["message_credits"], 500, "a new organisation's trial credits");

    let first = unique_email("first");
    let invite = |email: &str| json!({ "email": email, "name": "Ivy", "role": "staff" });
    json_of(app.post("/people", Some(&owner.access_token), invite(&first)).await, StatusCode::CREATED).await;
    assert_eq!(app.mail_to(&first).await.len(), 1);
    let tenant = json_of(app.get("/tenant", &owner.access_token).await, StatusCode::OK).await;
    assert_eq!(tenant["message_credits"], 499, "one credit per message");
    // The ledger: the trial's grant, then the invitation's spend, naming the message it paid for.
    let ledger = json_of(app.get("/billing/credits/transactions", &owner.access_token).await, StatusCode::OK).await;
    let entries: Vec<(&str, i64)> = ledger["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| (entry["kind"].as_str().unwrap(), entry["amount"].as_i64().unwrap()))
        .collect();
    assert_eq!(entries, [("spend", -1), ("grant", 500)]);
    let log = json_of(app.get("/notifications", &owner.access_token).await, StatusCode::OK).await;
    assert_eq!(ledger["items"][0]["reference"], log["items"][0]["id"], "the spend names the message");

    app.set(&format!("T#{}", owner.tenant_id), "TENANT", &[("message_credits", json!(0))]).await;
    let second = unique_email("second");
    json_of(app.post("/people", Some(&owner.access_token), invite(&second)).await, StatusCode::CREATED).await;
    assert!(app.mail_to(&second).await.is_empty());
    // Account mail is free: a password reset still arrives.
    json_of(app.post("/auth/forgot-password", None, json!({ "email": owner.email })).await, StatusCode::ACCEPTED).await;
    assert_eq!(app.mail_to(&owner.email).await.len(), 2, "the sign-up link and the reset link");

    let log = json_of(app.get("/notifications", &owner.access_token).await, StatusCode::OK).await;
    let entries: Vec<(&str, &str)> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["recipient"].as_str().unwrap(), n["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        entries,
        [(owner.email.as_str(), "sent"), (second.as_str(), "skipped_no_credit"), (first.as_str(), "sent")],
        "newest first"
    );
    assert_eq!(log["items"][1]["kind"], "invitation");
}

#[tokio::test]
async fn the_plans_messages_of_the_month_go_first_then_credits_exactly_under_a_burst() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    // A plan with 3 messages a month, and 2 credits: of 8 invitations at once, 5 are sent.
    let subscription = json!({ "plan_id": "01JMESSAGEPLAN000000000000", "plan_name": "Messages", "status": "active",
        "current_period_start": "2026-12-01T00:00:00Z", "current_period_end": "2027-01-01T00:00:00Z",
        "cancel_at_period_end": false, "limits": { "messages_per_month": 3 }, "started_at": "2026-12-01T00:00:00Z" });
    let tenant_key = format!("T#{}", owner.tenant_id);
    app.set(&tenant_key, "TENANT", &[("subscription", subscription), ("message_credits", json!(2))]).await;
    let emails: Vec<String> = (0..8).map(|i| unique_email(&format!("burst{i}"))).collect();
    let invited = futures_util::future::join_all(emails.iter().map(|email| {
        app.post("/people", Some(&owner.access_token), json!({ "email": email, "name": "Ivy", "role": "staff" }))
    }))
    .await;
    assert!(invited.iter().all(|response| response.status() == StatusCode::CREATED));
    let mut sent = 0;
    for email in &emails {
        sent += app.mail_to(email).await.len();
    }
    assert_eq!(sent, 5, "3 of the plan's, 2 on credits");

    let billing = json_of(app.get("/billing", &owner.access_token).await, StatusCode::OK).await;
    assert_eq!(
        (billing["usage"]["messages_this_month"].as_i64(), billing["usage"]["messages_per_month"].as_i64()),
        (Some(3), Some(3))
    );
    assert_eq!(billing["message_credits"], 0);
    let log = json_of(app.get("/notifications?limit=20", &owner.access_token).await, StatusCode::OK).await;
    let skipped = log["items"].as_array().unwrap().iter().filter(|n| n["status"] == "skipped_no_credit").count();
    assert_eq!(skipped, 3);

    // A new month starts its count again (last month's count left as it was).
    app.set(&tenant_key, "TENANT", &[("messages_month", json!("2000-01"))]).await;
    let next = unique_email("next-month");
    json_of(
        app.post("/people", Some(&owner.access_token), json!({ "email": next, "name": "Ivy", "role": "staff" })).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(app.mail_to(&next).await.len(), 1, "the new month's first message is the plan's");
    let billing = json_of(app.get("/billing", &owner.access_token).await, StatusCode::OK).await;
    assert_eq!(
        (billing["usage"]["messages_this_month"].as_i64(), billing["message_credits"].as_i64()),
        (Some(1), Some(0))
    );
}

#[tokio::test]
async fn the_sample_sqs_event_is_handled() {
    let app = spawn_app().await;
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events/notifier-sqs.json");
    let text = std::fs::read_to_string(path).unwrap();
    let to = unique_email("sample");
    // A fresh envelope id and recipient, so the sample's own id is not claimed by another run.
    let text =
        text.replace("owner@example.com", &to).replace("01JSAMPLEENVELOPE000000000", &ulid::Ulid::new().to_string());
    let event: SqsEvent = serde_json::from_str(&text).expect("the sample is an SQS event");
    let response = notifier::handle(&app.notifier, event).await;
    assert!(response.batch_item_failures.is_empty());
    let mail: Vec<Value> = app.mail_to(&to).await;
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0]["subject"], "Someone tried to sign up with your email");
}
