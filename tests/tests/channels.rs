//! Reaching people where they are: the notifier sends by the channels a person prefers — WhatsApp,
//! then SMS, then email — through the providers' fakes over real HTTP (infra/fake_messaging.py);
//! a throttled or failing provider is waited for (its Retry-After honoured), then passed over for
//! the next channel; the organisation's log says which carried it, or why not yet.

use api_tests::{TestApp, json_of, spawn_app};
use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use reqwest::{Method, StatusCode};
use rota::notify::{Envelope, Message};
use serde_json::{Value, json};

/// A number of its own per test (the fake keeps messages and failures per number).
fn phone() -> String {
    format!("+4477009{:05}", ulid::Ulid::new().random() % 100_000)
}

/// What the fake provider accepted for `to`, oldest first.
async fn received(app: &TestApp, to: &str) -> Vec<Value> {
    let api = std::env::var("ROTA_SMS_API").expect("run with `infra/stack run` (the messaging fake)");
    let response = app.http.get(format!("{api}/_fake/messages")).query(&[("to", to)]).send().await.unwrap();
    json_of(response, StatusCode::OK).await.as_array().unwrap().clone()
}

/// The next `times` sends on `channel` to `to` fail with `status` (429, 500, "timeout").
async fn fail_next(app: &TestApp, channel: &str, to: &str, status: Value, times: u32) {
    let api = std::env::var("ROTA_SMS_API").unwrap();
    let body = json!({ "channel": channel, "to": to, "status": status, "times": times, "retry_after": 3600 });
    json_of(app.http.post(format!("{api}/_fake/fail")).json(&body).send().await.unwrap(), StatusCode::OK).await;
}

/// A message to the staff member, as the queue delivers it the third time (an earlier receive
/// failed).
async fn third_receive(app: &TestApp, tenant_id: &str, person_id: &str) {
    let envelope = Envelope::to_person(tenant_id, person_id, imported());
    let mut record = SqsMessage::default();
    record.message_id = Some(envelope.id.clone());
    record.body = Some(serde_json::to_string(&envelope).unwrap());
    record.attributes.insert("ApproximateReceiveCount".into(), "3".into());
    let mut event = SqsEvent::default();
    event.records = vec![record];
    let response = notifier::handle(&app.notifier, event).await;
    assert!(response.batch_item_failures.is_empty(), "a channel took it");
}

/// The message these tests send: not account mail, so channels and credits apply.
fn imported() -> Message {
    Message::ImportFinished { import_id: "I1".into(), filename: "staff.csv".into(), done: true, rows: 3, errors: 0 }
}

/// A message to the staff member of `org`, queued and delivered.
async fn notify(app: &TestApp, tenant_id: &str, person_id: &str) {
    app.state.outbox.send(&Envelope::to_person(tenant_id, person_id, imported())).await.unwrap();
    app.deliver().await;
}

#[tokio::test]
async fn a_message_goes_by_the_persons_first_channel_and_falls_back_when_a_provider_fails() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let org = app.organisation(&owner).await;
    let staff = app.staff_token(&org).await;
    let number = phone();

    // The staff member prefers WhatsApp, then SMS.
    let body = json!({ "phone": number, "channels": ["whatsapp", "sms"] });
    let me = json_of(app.request(Method::PATCH, "/me", Some(&staff), Some(body)).await, StatusCode::OK).await;
    assert_eq!(me["channels"], json!(["whatsapp", "sms"]));
    let refused = app.request(Method::PATCH, "/me", Some(&staff), Some(json!({ "channels": ["sms", "sms"] }))).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // WhatsApp carries it, as a template message with the subject and text.
    notify(&app, &owner.tenant_id, &org.person_id).await;
    let got = received(&app, &number).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(
        (got[0]["channel"].as_str(), got[0]["template"].as_str()),
        (Some("whatsapp"), Some("rota_notification"))
    );
    assert!(got[0]["body"].as_str().unwrap().contains("All 3 rows of staff.csv were imported."), "{got:?}");

    // WhatsApp throttling: the message waits for it (the person chose it first), as long as it
    // asks; the log says why and when it is tried again.
    fail_next(&app, "whatsapp", &number, json!(429), 1).await;
    notify(&app, &owner.tenant_id, &org.person_id).await;
    assert_eq!(received(&app, &number).await.len(), 1, "not sent by another channel yet");
    let log = json_of(app.get("/notifications?limit=1", &owner.access_token).await, StatusCode::OK).await;
    let line = &log["items"][0];
    assert_eq!((line["status"].as_str(), line["channel"].as_str()), (Some("failed"), Some("whatsapp")), "{log}");
    assert!(line["detail"].as_str().unwrap().contains("tried again in 3600 s"), "{log}");

    // From its third receive a failing channel passes the message on: SMS, then email.
    fail_next(&app, "whatsapp", &number, json!(500), 1).await;
    third_receive(&app, &owner.tenant_id, &org.person_id).await;
    let got = received(&app, &number).await;
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[1]["channel"], "sms");
    assert!(got[1]["body"].as_str().unwrap().starts_with("Import finished: staff.csv\n\n"), "{got:?}");
    fail_next(&app, "whatsapp", &number, json!(500), 1).await;
    fail_next(&app, "sms", &number, json!(503), 1).await;
    third_receive(&app, &owner.tenant_id, &org.person_id).await;
    assert_eq!(received(&app, &number).await.len(), 2, "neither provider took it");
    let mail = app.mail_to(&org.person_email).await;
    assert_eq!(mail.iter().filter(|mail| mail["subject"] == "Import finished: staff.csv").count(), 1, "{mail:?}");

    // The organisation's log: one line each, naming the channel that carried it.
    let log = json_of(app.get("/notifications?limit=20", &owner.access_token).await, StatusCode::OK).await;
    let channels: Vec<&str> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|line| line["kind"] == "import_finished" && line["status"] == "sent")
        .filter_map(|line| line["channel"].as_str())
        .collect();
    assert_eq!(channels, ["email", "sms", "whatsapp"], "newest first: {log}");

    // The organisation lets this kind go by SMS only (besides email): WhatsApp is passed over.
    let settings = json!({ "settings": { "message_channels": [{ "kind": "import_finished", "channels": ["sms"] }] } });
    json_of(app.request(Method::PATCH, "/tenant", Some(&owner.access_token), Some(settings)).await, StatusCode::OK)
        .await;
    notify(&app, &owner.tenant_id, &org.person_id).await;
    let got = received(&app, &number).await;
    assert_eq!((got.len(), got[2]["channel"].as_str()), (3, Some("sms")), "{got:?}");
}

#[tokio::test]
async fn staff_reach_their_shifts_supervisor_by_whatsapp_or_a_call_from_the_shift() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let org = app.organisation(&owner).await;
    let staff = app.staff_token(&org).await;
    let number = phone();
    let body = json!({ "phone": number });
    json_of(app.request(Method::PATCH, "/me", Some(&owner.access_token), Some(body)).await, StatusCode::OK).await;
    let me = json_of(app.get("/me", &owner.access_token).await, StatusCode::OK).await;
    let shift = format!("/shifts/{}", org.shift_id);

    // The owner runs the shift on site.
    let named = json!({ "supervisor_id": me["id"] });
    let changed =
        json_of(app.request(Method::PATCH, &shift, Some(&owner.access_token), Some(named)).await, StatusCode::OK).await;
    let digits = number.trim_start_matches('+');
    let expected = json!({ "person_id": me["id"], "name": me["name"], "phone": number,
        "whatsapp_url": format!("https://wa.me/{digits}"), "tel_url": format!("tel:{number}") });
    assert_eq!(changed["supervisor"], expected);
    // The staff member on it sees whom to call.
    let seen = json_of(app.get(&shift, &staff).await, StatusCode::OK).await;
    assert_eq!(seen["supervisor"], expected);

    // Nobody of another organisation, nor nobody at all, can be named; `null` takes it off.
    let unknown = json!({ "supervisor_id": "01JNOSUCHPERSON00000000000" });
    let refused = app.request(Method::PATCH, &shift, Some(&owner.access_token), Some(unknown)).await;
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
    let none = json!({ "supervisor_id": null });
    let changed =
        json_of(app.request(Method::PATCH, &shift, Some(&owner.access_token), Some(none)).await, StatusCode::OK).await;
    assert_eq!(changed.get("supervisor"), None, "{changed}");
}
