//! `make bench`: an emergency broadcast to 500 people on site, reported, not asserted — the
//! request's latency, the fan-out (working out the people and queuing their messages: its time,
//! the messages and the SQS requests), and the whole delivery against the local stack (its time
//! and the providers' requests).

use std::time::Instant;

use api_tests::{json_of, spawn_app};
use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use reqwest::StatusCode;
use serde_json::json;

const PEOPLE: usize = 500;

#[tokio::main]
async fn main() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let org = app.organisation(&owner).await;
    let token = owner.access_token.as_str();
    app.set(&format!("T#{}", owner.tenant_id), "TENANT", &[("message_credits", json!(1_000_000))]).await;
    let crew = app.crew_on_now(token, &org, PEOPLE).await;
    let phones = crew.iter().filter(|member| member.phone.is_some()).count();
    app.deliver().await;

    let body = json!({ "event_id": org.event_id, "message": "Fire alarm in hall B: leave by the east doors." });
    let started = Instant::now();
    let sent = json_of(app.post("/broadcasts", Some(token), body).await, StatusCode::ACCEPTED).await;
    let request = started.elapsed();

    // The job alone (the only message queued): the fan-out.
    let queue = &app.config.notification_queue;
    let received = app.sqs.receive_message().queue_url(queue).max_number_of_messages(1).send().await.unwrap();
    let job = received.messages.unwrap_or_default().remove(0);
    let mut record = SqsMessage::default();
    record.message_id = job.message_id.clone();
    record.body = job.body.clone();
    let mut event = SqsEvent::default();
    event.records = vec![record];
    let started = Instant::now();
    assert!(notifier::handle(&app.notifier, event).await.batch_item_failures.is_empty());
    let fan_out = started.elapsed();
    app.sqs.delete_message().queue_url(queue).receipt_handle(job.receipt_handle.unwrap()).send().await.unwrap();
    let messages = PEOPLE + 2 * phones;

    let started = Instant::now();
    let delivered = app.deliver().await;
    let delivery = started.elapsed();
    let report =
        json_of(app.get(&format!("/broadcasts/{}", sent["id"].as_str().unwrap()), token).await, StatusCode::OK).await;
    println!(
        "broadcast to {PEOPLE} people on site ({phones} with a phone; local moto): request {:.1} ms; fan-out {:.0} ms \
         ({messages} messages queued in {} SendMessageBatch requests); delivery of {delivered} messages {:.1} s \
         ({} emails, {phones} SMS and {phones} WhatsApp requests to the providers); reached {} of {}",
        request.as_secs_f64() * 1000.0,
        fan_out.as_secs_f64() * 1000.0,
        messages.div_ceil(10),
        delivery.as_secs_f64(),
        PEOPLE,
        report["reached"],
        report["recipients"],
    );
}
