//! Emergency broadcasts: a coordinator's message reaches everyone on a shift of the event now, on
//! every channel each has, whatever they opted out of; the broadcast says who has been reached,
//! and nobody gets it twice.

use api_tests::{TestApp, json_of, spawn_app};
use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// People on the shift: this many, every tenth with a phone (SMS and WhatsApp too).
const PEOPLE: usize = 500;

async fn broadcast(app: &TestApp, token: &str, key: &str, body: Value) -> reqwest::Response {
    let request =
        app.http.post(format!("{}/broadcasts", app.address)).bearer_auth(token).header("idempotency-key", key);
    request.json(&body).send().await.unwrap()
}

#[tokio::test]
async fn a_broadcast_reaches_everyone_on_site_on_every_channel_once() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let org = app.organisation(&owner).await;
    let token = owner.access_token.as_str();
    app.set(&format!("T#{}", owner.tenant_id), "TENANT", &[("message_credits", json!(100_000))]).await;

    // A shift of the event on now, with 500 people on it; one has opted out of broadcasts.
    let crew = app.crew_on_now(token, &org, PEOPLE).await;
    let phones: Vec<&str> = crew.iter().filter_map(|member| member.phone.as_deref()).collect();
    let opted = format!("T#{}", owner.tenant_id);
    app.set(&opted, &format!("PERSON#{}", crew[1].id), &[("notification_opt_outs", json!(["broadcast"]))]).await;

    // Staff cannot broadcast; a coordinator and up can, once per key.
    let staff = app.staff_token(&org).await;
    let message = "Fire alarm in hall B: leave by the east doors and gather at the car park.";
    let body = json!({ "event_id": org.event_id, "message": message });
    assert_eq!(broadcast(&app, &staff, "k1", body.clone()).await.status(), StatusCode::FORBIDDEN);
    let sent = json_of(broadcast(&app, token, "fire-1", body.clone()).await, StatusCode::ACCEPTED).await;
    let again = json_of(broadcast(&app, token, "fire-1", body.clone()).await, StatusCode::ACCEPTED).await;
    assert_eq!(again, sent, "the same key answers the same, and sends nothing more");
    let other = broadcast(&app, token, "fire-1", json!({ "location_id": org.location_id, "message": "Other" })).await;
    assert_eq!(other.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!((sent["urgent"].as_bool(), sent["place"].is_string()), (Some(true), true));

    // The notifier fans it out and sends every message.
    app.deliver().await;
    let path = format!("/broadcasts/{}", sent["id"].as_str().unwrap());
    let report = json_of(app.get(&path, token).await, StatusCode::OK).await;
    let expected_messages = PEOPLE + 2 * phones.len();
    assert_eq!(
        (report["recipients"].as_u64(), report["reached"].as_u64(), report["not_reached"].as_u64()),
        (Some(PEOPLE as u64), Some(PEOPLE as u64), Some(0)),
        "{}",
        report["people"][0]
    );
    let lines: Vec<&Value> =
        report["people"].as_array().unwrap().iter().flat_map(|person| person["channels"].as_array().unwrap()).collect();
    assert_eq!(lines.len(), expected_messages);
    assert!(lines.iter().all(|line| line["status"] == "sent"), "every person and channel has a final state");

    // Once each: the job delivered again queues the same messages, which are not sent twice.
    let job = rota::notify::Envelope {
        broadcast_id: sent["id"].as_str().map(str::to_owned),
        ..rota::notify::Envelope::new(
            Some(&owner.tenant_id),
            None,
            "",
            rota::notify::Message::Broadcast {
                place: "x".into(),
                from: "x".into(),
                text: message.into(),
                urgent: true,
            },
        )
    };
    let mut record = SqsMessage::default();
    record.message_id = Some(job.id.clone());
    record.body = Some(serde_json::to_string(&job).unwrap());
    let mut event = SqsEvent::default();
    event.records = vec![record];
    assert!(notifier::handle(&app.notifier, event).await.batch_item_failures.is_empty());
    app.deliver().await;
    for phone in &phones[..5] {
        let got = app.messages_to(phone).await;
        let channels: Vec<&str> = got.iter().map(|message| message["channel"].as_str().unwrap()).collect();
        assert_eq!(channels.len(), 2, "{phone}: {got:?}");
        assert!(channels.contains(&"sms") && channels.contains(&"whatsapp"));
        assert!(got[0]["body"].as_str().unwrap().contains("Fire alarm in hall B"));
    }
    // Email once each, the person who opted out of broadcasts too (it is urgent).
    for member in crew.iter().take(3) {
        let email = &member.email;
        let mail = app.mail_to(email).await;
        assert_eq!(mail.len(), 1, "{email}: {mail:?}");
        assert_eq!(mail[0]["subject"], format!("URGENT from {}", sent["place"].as_str().unwrap()));
    }
    let log = json_of(app.get("/notifications?limit=100", token).await, StatusCode::OK).await;
    assert!(
        log["items"].as_array().unwrap().iter().all(|line| line["kind"] != "broadcast" || line["status"] == "sent")
    );

    // A provider's delivery report moves the person's line on to delivered.
    let api = std::env::var("ROTA_SMS_API").unwrap();
    let body =
        json!({ "to": phones[0], "status": "delivered", "callback": format!("{}/webhooks/whatsapp", app.address) });
    let reported =
        json_of(app.http.post(format!("{api}/_fake/report")).json(&body).send().await.unwrap(), StatusCode::OK).await;
    assert_eq!(reported["status"], 200, "{reported}");
    let report = json_of(app.get(&path, token).await, StatusCode::OK).await;
    let first =
        report["people"].as_array().unwrap().iter().find(|person| person["person_id"] == crew[0].id.as_str()).unwrap();
    let delivered = first["channels"].as_array().unwrap().iter().filter(|line| line["status"] == "delivered").count();
    assert_eq!(delivered, 1, "{first}");

    // The organisation's list has it once, with how many people it went to; staff cannot list.
    let list = json_of(app.get("/broadcasts", token).await, StatusCode::OK).await;
    let listed: Vec<(&str, Option<u64>)> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| (item["id"].as_str().unwrap(), item["recipients_count"].as_u64()))
        .collect();
    assert_eq!(listed, [(sent["id"].as_str().unwrap(), Some(PEOPLE as u64))]);
    assert_eq!(app.get("/broadcasts", &staff).await.status(), StatusCode::FORBIDDEN);

    // The audit log has it once.
    let audit = json_of(app.get("/audit-logs?action=broadcast.sent", token).await, StatusCode::OK).await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 1, "{audit}");
}
