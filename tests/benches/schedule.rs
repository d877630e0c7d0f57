//! `make bench`: scheduling figures against the local stack, reported, not asserted.
//! - An assignment's latency split into its reads and conflict check (a dry run does exactly those)
//!   and its one transaction (the rest of a real assignment): medians of 20.
//! - A year of daily night shifts: expanding the pattern alone (the pure rule), and making them
//!   through the API (four recurring requests of at most 99 shifts, each one transaction).

use std::time::{Duration, Instant};

use api_tests::{Account, Organisation, TestApp, json_of, spawn_app, unique_email};
use chrono::{NaiveDate, NaiveTime};
use reqwest::StatusCode;
use rota::domain::settings::Weekday;
use rota::domain::time::expand_weekly;
use serde_json::json;

const RUNS: usize = 20;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}

/// A published shift on day `day` of 2031 with room for everyone the bench places.
async fn shift(app: &TestApp, owner: &Account, org: &Organisation, day: u32) -> String {
    let start = NaiveDate::from_yo_opt(2031, day).unwrap().and_hms_opt(9, 0, 0).unwrap().and_utc();
    let body = json!({ "location_id": org.location_id, "position_id": org.position_id, "headcount": 40,
        "start": rota::clock::instant(start), "end": rota::clock::instant(start + chrono::Duration::hours(8)) });
    let id = json_of(app.post("/shifts", Some(&owner.access_token), body).await, StatusCode::CREATED).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    json_of(app.post_empty(&format!("/shifts/{id}/publish"), &owner.access_token).await, StatusCode::OK).await;
    id
}

async fn assign_split(app: &TestApp, owner: &Account, org: &Organisation) {
    let token = Some(owner.access_token.as_str());
    let mut checks = Vec::new();
    let mut assigns = Vec::new();
    for run in 0..RUNS {
        // A fresh person each time, so every assignment is a real one with a check to pass.
        let body = json!({ "email": unique_email("bench"), "name": "Bench Worker", "role": "staff", "position_ids": [org.position_id] });
        let person = json_of(app.post("/people", token, body).await, StatusCode::CREATED).await["id"].clone();
        let shift = shift(app, owner, org, 1 + run as u32 * 3).await;
        let path = format!("/shifts/{shift}/assignments");

        let started = Instant::now();
        json_of(app.post(&path, token, json!({ "person_ids": [person], "dry_run": true })).await, StatusCode::OK).await;
        checks.push(started.elapsed());
        let started = Instant::now();
        json_of(app.post(&path, token, json!({ "person_ids": [person] })).await, StatusCode::CREATED).await;
        assigns.push(started.elapsed());
    }
    let (check, assign) = (median(checks), median(assigns));
    println!(
        "assign (median of {RUNS}, local moto): total {}, reads + conflict check {}, transaction {}",
        ms(assign),
        ms(check),
        ms(assign.saturating_sub(check))
    );
}

async fn year_of_nights(app: &TestApp, owner: &Account, org: &Organisation) {
    let every_day = [
        Weekday::Monday,
        Weekday::Tuesday,
        Weekday::Wednesday,
        Weekday::Thursday,
        Weekday::Friday,
        Weekday::Saturday,
        Weekday::Sunday,
    ];
    let (start, end) = (NaiveTime::from_hms_opt(22, 0, 0).unwrap(), NaiveTime::from_hms_opt(6, 0, 0).unwrap());
    let (first, last) = (NaiveDate::from_ymd_opt(2032, 1, 1).unwrap(), NaiveDate::from_ymd_opt(2032, 12, 31).unwrap());
    let zone: chrono_tz::Tz = "Europe/London".parse().unwrap();
    let mut expansions = Vec::new();
    let mut made = 0;
    for _ in 0..RUNS {
        let started = Instant::now();
        made = expand_weekly(zone, &every_day, start, end, first, last, 400).unwrap().len();
        expansions.push(started.elapsed());
    }
    let expansion = median(expansions);

    // Through the API: 99 days per request, all of 2032.
    let started = Instant::now();
    let mut created = 0;
    let mut from = first;
    while from <= last {
        let to = (from + chrono::Duration::days(98)).min(last);
        let body = json!({ "location_id": org.location_id, "position_id": org.position_id, "headcount": 1,
            "weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "start_local": "22:00", "end_local": "06:00",
            "from": from.to_string(), "to": to.to_string() });
        let answer =
            json_of(app.post("/shifts/recurring", Some(&owner.access_token), body).await, StatusCode::CREATED).await;
        created += answer["items"].as_array().unwrap().len();
        from = to + chrono::Duration::days(1);
    }
    let through_api = started.elapsed();
    println!(
        "a year of daily 22:00-06:00 shifts (Europe/London, {made} nights, 2 of them DST): expansion {:.0} µs (median of {RUNS}); \
         made through the API in 4 requests: {created} shifts in {}",
        expansion.as_secs_f64() * 1e6,
        ms(through_api)
    );
}

#[tokio::main]
async fn main() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let org = app.organisation(&owner).await;
    assign_split(&app, &owner, &org).await;
    year_of_nights(&app, &owner, &org).await;
}
