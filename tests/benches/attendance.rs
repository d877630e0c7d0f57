//! `make bench`: attendance and payroll figures against the local stack, reported, not asserted.
//! - A check-in's latency (two round trips: the desk with the rate counter, then one
//!   transaction): the median of 20 people checking in to a shift on now.
//! - Closing a bi-weekly pay period for 500 people who each worked 10 shifts (5,000 attendance
//!   records, written straight into the table): its time, and the DynamoDB capacity it costs,
//!   estimated from the items' sizes as DynamoDB bills them (reads: 4 KB units, halved for the
//!   eventually consistent Query; writes: 1 KB units per item).

use std::time::{Duration, Instant};

use api_tests::{HALL, json_of, spawn_app, worker};
use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
use chrono::{Days, NaiveDate, Utc};
use reqwest::{Method, StatusCode};
use rota::store::attendance::Attendance;
use serde_json::json;

const RUNS: usize = 20;
const PEOPLE: usize = 500;
const SHIFTS_EACH: u64 = 10;

fn ms(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let org = app.organisation(&owner).await;
    let token = Some(owner.access_token.as_str());

    // Check-in latency: each person on a shift of their own that started a minute ago.
    let mut samples = Vec::new();
    for run in 0..RUNS {
        let person = worker(&app, &owner, &org, &format!("Bench Worker {run}")).await;
        let now = Utc::now();
        let times =
            ((now - chrono::Duration::minutes(1)).to_rfc3339(), (now + chrono::Duration::hours(4)).to_rfc3339());
        let shift = app.published_shift(token, &org.location_id, &org.position_id, times).await;
        app.on_shift(token, &shift, &person.id, true).await;
        let body = json!({ "shift_id": shift, "lat": HALL.0, "lng": HALL.1, "accuracy_m": 10.0 });
        let started = Instant::now();
        json_of(app.post("/attendance/check-in", Some(&person.token), body).await, StatusCode::CREATED).await;
        samples.push(started.elapsed());
    }
    samples.sort();
    println!("check-in (median of {RUNS}, local moto): {}", ms(samples[RUNS / 2]));

    // 500 people × 10 shifts over two weeks (Monday 2026-01-05 on), written straight into the
    // table as the check-outs would have left them.
    let biweekly = json!({ "settings": { "pay_period": "biweekly" } });
    json_of(app.request(Method::PATCH, "/tenant", token, Some(biweekly)).await, StatusCode::OK).await;
    let rate = json!({ "default_hourly_rate_minor": 1500 });
    let path = format!("/positions/{}", org.position_id);
    json_of(app.request(Method::PATCH, &path, token, Some(rate)).await, StatusCode::OK).await;
    let first = NaiveDate::from_ymd_opt(2026, 1, 5).unwrap();
    let mut items = Vec::new();
    let mut read_bytes = 0;
    for person in 0..PEOPLE {
        for shift in 0..SHIFTS_EACH {
            let day = first + Days::new(shift + shift / 5 * 2);
            let start = day.and_hms_opt(8, 0, 0).unwrap().and_utc();
            let record = json!({
                "id": format!("BENCHSHIFT{day}_BENCHPERSON{person:04}"), "tenant_id": owner.tenant_id,
                "shift_id": format!("BENCHSHIFT{day}"), "person_id": format!("BENCHPERSON{person:04}"),
                "person_name": format!("Bench Person {person}"), "event_id": null,
                "location_id": org.location_id, "location_name": "Riverside Hall",
                "position_id": org.position_id, "position_name": "Bartender",
                "shift_start": rota::clock::instant(start), "shift_end": rota::clock::instant(start + chrono::Duration::hours(9)),
                "break_minutes": 30, "check_in": null, "check_out": null,
                "check_in_at": rota::clock::iso(start), "check_out_at": rota::clock::iso(start + chrono::Duration::hours(9)),
                "status": "on_time", "status_override": null, "late_minutes": 0, "early_minutes": 0, "worked_minutes": 510,
                "overridden": false, "flagged": false, "risk_score": 10, "review": null, "version": 2,
                "created_at": rota::clock::iso(start), "updated_at": rota::clock::iso(start)
            });
            let record: Attendance = serde_json::from_value(record).unwrap();
            let item = app.store.entity_item(&record).unwrap();
            read_bytes += item_size(&item);
            items.push(
                WriteRequest::builder()
                    .put_request(PutRequest::builder().set_item(Some(item)).build().unwrap())
                    .build(),
            );
        }
    }
    let (client, table) = app.store.raw();
    for batch in items.chunks(25) {
        client.batch_write_item().request_items(table, batch.to_vec()).send().await.unwrap();
    }

    let started = Instant::now();
    let closed =
        json_of(app.post_empty("/pay-periods/2026-01-05/close", &owner.access_token).await, StatusCode::CREATED).await;
    let took = started.elapsed();
    let stubs = closed["stubs"].as_array().unwrap();
    let stub_bytes: usize = stubs.iter().map(|stub| stub.to_string().len()).sum();
    let write_units: usize = stubs.iter().map(|stub| stub.to_string().len().div_ceil(1024)).sum::<usize>() + 2 + 1 + 1;
    println!(
        "close a bi-weekly period, {PEOPLE} people × {SHIFTS_EACH} shifts (local moto): {}; {} stubs; \
         reads ≈ {} RCU ({} KB of attendance, eventually consistent), writes ≈ {} WCU ({} KB of stubs, \
         the period, its 2 weeks, the audit entry; transaction items bill twice: +4)",
        ms(took),
        stubs.len(),
        read_bytes.div_ceil(4096).div_ceil(2),
        read_bytes / 1024,
        write_units + 4,
        stub_bytes / 1024,
    );
}

/// An item's size as DynamoDB counts it: names and values.
fn item_size(item: &rota::store::Item) -> usize {
    item.iter().map(|(name, value)| name.len() + value_size(value)).sum()
}

fn value_size(value: &aws_sdk_dynamodb::types::AttributeValue) -> usize {
    use aws_sdk_dynamodb::types::AttributeValue as V;
    match value {
        V::S(text) => text.len(),
        V::N(number) => number.len().div_ceil(2) + 1,
        V::Bool(_) | V::Null(_) => 1,
        V::L(list) => 3 + list.iter().map(|v| 1 + value_size(v)).sum::<usize>(),
        V::M(map) => 3 + map.iter().map(|(k, v)| 1 + k.len() + value_size(v)).sum::<usize>(),
        _ => 0,
    }
}
