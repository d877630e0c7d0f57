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
    format!("+4474009{:05}", ulid::Ulid::new().random() % 100_000)
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
    let got = app.messages_to(&number).await;
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
    assert_eq!(app.messages_to(&number).await.len(), 1, "not sent by another channel yet");
    let log = json_of(app.get("/notifications?limit=1", &owner.access_token).await, StatusCode::OK).await;
    let line = &log["items"][0];
    assert_eq!((line["status"].as_str(), line["channel"].as_str()), (Some("failed"), Some("whatsapp")), "{log}");
    assert!(line["detail"].as_str().unwrap().contains("tried again in 3600 s"), "{log}");

    // From its third receive a failing channel passes the message on: SMS, then email.
    fail_next(&app, "whatsapp", &number, json!(500), 1).await;
    third_receive(&app, &owner.tenant_id, &org.person_id).await;
    let got = app.messages_to(&number).await;
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[1]["channel"], "sms");
    assert!(got[1]["body"].as_str().unwrap().starts_with("Import finished: staff.csv\n\n"), "{got:?}");
    fail_next(&app, "whatsapp", &number, json!(500), 1).await;
    fail_next(&app, "sms", &number, json!(503), 1).await;
    third_receive(&app, &owner.tenant_id, &org.person_id).await;
    assert_eq!(app.messages_to(&number).await.len(), 2, "neither provider took it");
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
    let got = app.messages_to(&number).await;
    assert_eq!((got.len(), got[2]["channel"].as_str()), (3, Some("sms")), "{got:?}");
}

/// The organisation's ledger of message credits, newest first: (kind, amount, channel); the
/// organisation's trial grant left out.
async fn ledger(app: &TestApp, token: &str) -> Vec<(String, i64, String)> {
    let ledger = json_of(app.get("/billing/credits/transactions?limit=50", token).await, StatusCode::OK).await;
    ledger["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| entry["kind"] != "grant")
        .map(|entry| {
            let text = |field: &str| entry[field].as_str().unwrap_or_default().to_owned();
            (text("kind"), entry["amount"].as_i64().unwrap(), text("channel"))
        })
        .collect()
}

#[tokio::test]
async fn each_channel_costs_its_price_a_failed_send_is_given_back_and_what_credits_cannot_pay_goes_cheaper() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let org = app.organisation(&owner).await;
    let staff = app.staff_token(&org).await;
    let number = phone();
    let body = json!({ "phone": number, "channels": ["whatsapp", "sms"] });
    json_of(app.request(Method::PATCH, "/me", Some(&staff), Some(body)).await, StatusCode::OK).await;
    let tenant_key = format!("T#{}", owner.tenant_id);
    let credits = |balance: i64| [("message_credits", json!(balance))];
    app.set(&tenant_key, "TENANT", &credits(10)).await;
    let billing = json_of(app.get("/billing", &owner.access_token).await, StatusCode::OK).await;
    assert_eq!(billing["message_prices"], json!({ "email": 1, "sms": 2, "whatsapp": 3 }), "the defaults");

    // WhatsApp costs 3; a WhatsApp failure gives its 3 back, and the SMS that carries it costs 2
    // (one segment).
    notify(&app, &owner.tenant_id, &org.person_id).await;
    fail_next(&app, "whatsapp", &number, json!(500), 1).await;
    third_receive(&app, &owner.tenant_id, &org.person_id).await;
    let got = app.messages_to(&number).await;
    let channels: Vec<&str> = got.iter().map(|message| message["channel"].as_str().unwrap()).collect();
    assert_eq!(channels, ["whatsapp", "sms"]);
    let billing = json_of(app.get("/billing", &owner.access_token).await, StatusCode::OK).await;
    assert_eq!(billing["message_credits"], 10 - 3 - 2);
    let entries = |list: &[(&str, i64, &str)]| {
        list.iter()
            .map(|(kind, amount, channel)| ((*kind).to_owned(), *amount, (*channel).to_owned()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ledger(&app, &owner.access_token).await[..4],
        entries(&[
            ("spend", -2, "sms"),
            ("refund", 3, "whatsapp"),
            ("spend", -3, "whatsapp"),
            ("spend", -3, "whatsapp")
        ])
    );

    // 2 credits: WhatsApp is passed over for SMS; 1: for email; none: nothing is sent.
    app.set(&tenant_key, "TENANT", &credits(2)).await;
    notify(&app, &owner.tenant_id, &org.person_id).await;
    app.set(&tenant_key, "TENANT", &credits(1)).await;
    notify(&app, &owner.tenant_id, &org.person_id).await;
    notify(&app, &owner.tenant_id, &org.person_id).await;
    let log = json_of(app.get("/notifications?limit=3", &owner.access_token).await, StatusCode::OK).await;
    let lines: Vec<(&str, &str)> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| (line["status"].as_str().unwrap(), line["channel"].as_str().unwrap_or("-")))
        .collect();
    assert_eq!(lines, [("skipped_no_credit", "-"), ("sent", "email"), ("sent", "sms")], "newest first: {log}");
    assert!(log["items"][2]["provider_id"].as_str().unwrap().starts_with("SM"), "{log}");
    let billing = json_of(app.get("/billing", &owner.access_token).await, StatusCode::OK).await;
    assert_eq!(billing["message_credits"], 0);

    // The plan's monthly messages count in the same credits: of 4, a WhatsApp message uses 3; the
    // next fits neither them nor the 2 credits by WhatsApp, and goes by SMS on the credits.
    let subscription = json!({ "plan_id": "01JMESSAGEPLAN000000000000", "plan_name": "Messages", "status": "active",
        "current_period_start": "2026-12-01T00:00:00Z", "current_period_end": "2027-01-01T00:00:00Z",
        "cancel_at_period_end": false, "limits": { "messages_per_month": 4 }, "started_at": "2026-12-01T00:00:00Z" });
    app.set(&tenant_key, "TENANT", &[("subscription", subscription), ("message_credits", json!(2))]).await;
    notify(&app, &owner.tenant_id, &org.person_id).await;
    notify(&app, &owner.tenant_id, &org.person_id).await;
    let billing = json_of(app.get("/billing", &owner.access_token).await, StatusCode::OK).await;
    assert_eq!(
        (billing["usage"]["messages_this_month"].as_i64(), billing["message_credits"].as_i64()),
        (Some(3), Some(0)),
        "{billing}"
    );
    let channels: Vec<String> =
        app.messages_to(&number).await.iter().map(|message| message["channel"].as_str().unwrap().to_owned()).collect();
    assert_eq!(channels, ["whatsapp", "sms", "sms", "whatsapp", "sms"]);
}

/// The provider reports the last message to `to` (see infra/fake_messaging.py): what the app
/// answered it.
async fn report(app: &TestApp, to: &str, report: Value) -> (u16, String) {
    let api = std::env::var("ROTA_SMS_API").unwrap();
    let mut body = json!({ "to": to, "callback": format!("{}/webhooks/whatsapp", app.address) });
    body.as_object_mut().unwrap().extend(report.as_object().unwrap().clone());
    let answer =
        json_of(app.http.post(format!("{api}/_fake/report")).json(&body).send().await.unwrap(), StatusCode::OK).await;
    (answer["status"].as_u64().unwrap() as u16, answer["body"].as_str().unwrap().to_owned())
}

/// The organisation's latest log line.
async fn latest(app: &TestApp, token: &str) -> Value {
    json_of(app.get("/notifications?limit=1", token).await, StatusCode::OK).await["items"][0].clone()
}

#[tokio::test]
async fn the_providers_delivery_reports_mark_messages_delivered_or_failed_and_forged_ones_change_nothing() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let org = app.organisation(&owner).await;
    let staff = app.staff_token(&org).await;
    let number = phone();
    let body = json!({ "phone": number, "channels": ["sms"] });
    json_of(app.request(Method::PATCH, "/me", Some(&staff), Some(body)).await, StatusCode::OK).await;

    // An SMS goes out asking Twilio to report to the app; the log keeps Twilio's id.
    notify(&app, &owner.tenant_id, &org.person_id).await;
    let sms = app.messages_to(&number).await;
    assert_eq!(sms[0]["status_callback"], format!("{}/webhooks/sms-status", app.address));
    let line = latest(&app, &owner.access_token).await;
    assert_eq!((line["status"].as_str(), line["provider_id"].as_str()), (Some("sent"), sms[0]["id"].as_str()));

    // A report signed with another key is refused and changes nothing.
    let (status, answer) = report(&app, &number, json!({ "status": "delivered", "forge": true })).await;
    assert_eq!(status, 403, "{answer}");
    assert!(answer.contains("X-Twilio-Signature"), "{answer}");
    assert_eq!(latest(&app, &owner.access_token).await["status"], "sent");

    // Twilio's signed report: delivered, once.
    let (status, answer) = report(&app, &number, json!({ "status": "delivered" })).await;
    assert_eq!((status, answer.as_str()), (200, r#"{"updated":1}"#));
    let line = latest(&app, &owner.access_token).await;
    assert_eq!(line["status"], "delivered", "{line}");
    assert!(line["reported_at"].as_str().is_some_and(|at| at.starts_with("20")), "{line}");
    let (status, answer) = report(&app, &number, json!({ "status": "undelivered", "error_code": 30003 })).await;
    assert_eq!((status, answer.as_str()), (200, r#"{"updated":0}"#), "a late report changes nothing");
    assert_eq!(latest(&app, &owner.access_token).await["status"], "delivered");

    // WhatsApp's webhook: the message could not be delivered, and the log says why.
    let body = json!({ "channels": ["whatsapp"] });
    json_of(app.request(Method::PATCH, "/me", Some(&staff), Some(body)).await, StatusCode::OK).await;
    notify(&app, &owner.tenant_id, &org.person_id).await;
    let (status, answer) =
        report(&app, &number, json!({ "status": "failed", "error_code": 131026, "forge": true })).await;
    assert_eq!(status, 403, "{answer}");
    let (status, answer) = report(&app, &number, json!({ "status": "failed", "error_code": 131026 })).await;
    assert_eq!((status, answer.as_str()), (200, r#"{"updated":1}"#));
    let line = latest(&app, &owner.access_token).await;
    assert_eq!((line["status"].as_str(), line["channel"].as_str()), (Some("failed"), Some("whatsapp")), "{line}");
    assert!(line["detail"].as_str().unwrap().contains("error 131026: Message undeliverable"), "{line}");

    // Meta's handshake when the operator sets the webhook up: the challenge back, for the token.
    let handshake = |token: &str| {
        format!("/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token={token}&hub.challenge=1158201444")
    };
    let answer =
        app.http.get(format!("{}{}", app.address, handshake("local-whatsapp-verify-token"))).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(answer.text().await.unwrap(), "1158201444");
    let answer = app.http.get(format!("{}{}", app.address, handshake("guess"))).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::FORBIDDEN);
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
    // ... and on their own list of shifts, which follows the shift.
    let on_my_list = |mine: &Value| {
        mine["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|held| held["shift_id"] == org.shift_id.as_str())
            .cloned()
            .unwrap()
    };
    let mine = json_of(app.get("/me/shifts", &staff).await, StatusCode::OK).await;
    assert_eq!(on_my_list(&mine)["supervisor"], expected);
    // Shifts made from a weekly pattern each name the pattern's supervisor.
    let pattern = json!({ "location_id": org.location_id, "position_id": org.position_id, "headcount": 1,
        "weekdays": ["sat"], "start_local": "09:00", "end_local": "17:00", "from": "2030-08-01", "to": "2030-08-14",
        "supervisor_id": me["id"] });
    let made =
        json_of(app.post("/shifts/recurring", Some(&owner.access_token), pattern).await, StatusCode::CREATED).await;
    let supervisors: Vec<&Value> = made["items"].as_array().unwrap().iter().map(|shift| &shift["supervisor"]).collect();
    assert_eq!(supervisors, [&expected, &expected]);

    // Nobody of another organisation, nor nobody at all, can be named; `null` takes it off.
    let unknown = json!({ "supervisor_id": "01JNOSUCHPERSON00000000000" });
    let refused = app.request(Method::PATCH, &shift, Some(&owner.access_token), Some(unknown)).await;
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
    let none = json!({ "supervisor_id": null });
    let changed =
        json_of(app.request(Method::PATCH, &shift, Some(&owner.access_token), Some(none)).await, StatusCode::OK).await;
    assert_eq!(changed.get("supervisor"), None, "{changed}");
    let mine = json_of(app.get("/me/shifts", &staff).await, StatusCode::OK).await;
    assert_eq!(on_my_list(&mine).get("supervisor"), None);
}

/// `envelope` handled as the queue delivers it once: no record may fail.
async fn handled(app: &TestApp, envelope: &Envelope) {
    let mut record = SqsMessage::default();
    record.message_id = Some(format!("{}-{}", envelope.id, ulid::Ulid::new()));
    record.body = Some(serde_json::to_string(envelope).unwrap());
    let mut event = SqsEvent::default();
    event.records = vec![record];
    assert!(notifier::handle(&app.notifier, event).await.batch_item_failures.is_empty());
}

#[tokio::test]
async fn quiet_hours_hold_a_message_until_they_end_but_never_an_urgent_one() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let org = app.organisation(&owner).await;
    let staff = app.staff_token(&org).await;

    // Quiet from an hour ago to an hour from now (UTC).
    let now = chrono::Utc::now();
    let hour = chrono::Duration::hours(1);
    let quiet = json!({ "start": (now - hour).format("%H:%M").to_string(), "end": (now + hour).format("%H:%M").to_string(),
        "time_zone": "UTC" });
    let body = json!({ "quiet_hours": quiet });
    let me = json_of(app.request(Method::PATCH, "/me", Some(&staff), Some(body)).await, StatusCode::OK).await;
    assert_eq!(me["quiet_hours"], quiet);
    let wrong = json!({ "quiet_hours": { "start": "25:00", "end": "07:00" } });
    let refused = app.request(Method::PATCH, "/me", Some(&staff), Some(wrong)).await;
    assert_eq!(json_of(refused, StatusCode::UNPROCESSABLE_ENTITY).await["errors"][0]["field"], "quiet_hours.start");

    // A message now waits, logged once as deferred with when; it is queued again out of sight.
    let envelope = Envelope::to_person(&owner.tenant_id, &org.person_id, imported());
    handled(&app, &envelope).await;
    let line =
        json_of(app.get("/notifications?limit=1", &owner.access_token).await, StatusCode::OK).await["items"][0].clone();
    assert_eq!(
        (line["id"].as_str(), line["status"].as_str()),
        (Some(envelope.id.as_str()), Some("deferred")),
        "{line}"
    );
    assert!(line["detail"].as_str().unwrap().starts_with("quiet hours until "), "{line}");
    let delayed = app
        .sqs
        .get_queue_attributes()
        .queue_url(&app.config.notification_queue)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesDelayed)
        .send()
        .await
        .unwrap();
    let delayed = delayed.attributes.unwrap_or_default();
    assert_eq!(
        delayed.get(&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesDelayed).map(String::as_str),
        Some("1")
    );
    let mail = |mail: &[Value]| mail.iter().filter(|mail| mail["subject"] == "Import finished: staff.csv").count();
    assert_eq!(mail(&app.mail_to(&org.person_email).await), 0, "nothing sent in the quiet hours");

    // The hop back while it is still quiet: nothing more is logged or sent.
    let hop = Envelope { deferred: true, ..envelope.clone() };
    handled(&app, &hop).await;
    let log = json_of(app.get("/notifications?limit=5", &owner.access_token).await, StatusCode::OK).await;
    let lines = log["items"].as_array().unwrap().iter().filter(|line| line["id"] == envelope.id.as_str()).count();
    assert_eq!(lines, 1, "{log}");

    // An urgent broadcast is not held.
    let urgent = Envelope {
        broadcast_id: Some("01JN0SUCHBR0ADCAST00000000".into()),
        channel: Some(rota::notify::ChannelKind::Email),
        ..Envelope::to_person(
            &owner.tenant_id,
            &org.person_id,
            Message::Broadcast {
                place: "Hall B".into(),
                from: "Olive".into(),
                text: "Leave by the east doors".into(),
                urgent: true,
            },
        )
    };
    handled(&app, &urgent).await;
    let got = app.mail_to(&org.person_email).await;
    assert_eq!(got.iter().filter(|mail| mail["subject"] == "URGENT from Hall B").count(), 1, "{got:?}");

    // Once the quiet hours are over (here: taken off), the hop is sent, once.
    let body = json!({ "quiet_hours": null });
    let me = json_of(app.request(Method::PATCH, "/me", Some(&staff), Some(body)).await, StatusCode::OK).await;
    assert!(me.get("quiet_hours").is_none(), "{me}");
    handled(&app, &hop).await;
    handled(&app, &hop).await;
    assert_eq!(mail(&app.mail_to(&org.person_email).await), 1);
    let line =
        json_of(app.get("/notifications?limit=1", &owner.access_token).await, StatusCode::OK).await["items"][0].clone();
    assert_eq!((line["id"].as_str(), line["status"].as_str()), (Some(envelope.id.as_str()), Some("sent")), "{line}");
}
