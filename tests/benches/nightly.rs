//! `make bench`: the weekly-hours check of one organisation's week, reported, not asserted: 200
//! staff (imported from a CSV) on 1,000 places of 25 published shifts (imported with their
//! assignees), all near a 40-hour cap, checked on the week's Monday morning (everything still
//! scheduled): the items its reads returned, its sequential DynamoDB round trips, its time and
//! the warnings it stored. The items read grow with the week, not the organisation's
//! history (`tests/tests/nightly.rs` asserts that much).

use std::time::Instant;

use api_tests::{TestApp, json_of, spawn_app};
use chrono::{DateTime, Utc};
use nightly::{Nightly, check_weekly_hours};
use reqwest::StatusCode;
use rota::store::round_trips::RequestTrips;
use serde_json::Value;

const PEOPLE: usize = 200;
const DAYS: usize = 5;
/// Shifts a day; each holds 40 people, the most a shift holds.
const SHIFTS_A_DAY: usize = 5;
const MONDAY_MORNING: &str = "2030-07-01T06:00:00Z";

/// Imports `file` of `kind` as the owner and runs the worker (and the invitations it queues).
async fn import(app: &TestApp, token: &str, kind: &str, file: String) -> Value {
    let import_id = app.import_upload_of(token, kind, "csv", file.into_bytes()).await;
    json_of(app.post_empty(&format!("/imports/{import_id}/start"), token).await, StatusCode::ACCEPTED).await;
    app.run_imports().await;
    let done = json_of(app.get(&format!("/imports/{import_id}"), token).await, StatusCode::OK).await;
    assert_eq!(done["status"], "done", "{done}");
    done
}

#[tokio::main]
async fn main() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let token = owner.access_token.as_str();
    // Riverside Hall and its Bartender position, named by the files below.
    app.organisation(&owner).await;
    // A 40-hour cap: everyone's 37.5 paid hours are near it (90 %), so each gets a warning.
    let settings = serde_json::json!({ "settings": { "weekly_hours_cap": 40 } });
    json_of(app.request(reqwest::Method::PATCH, "/tenant", Some(token), Some(settings)).await, StatusCode::OK).await;
    let domain = format!("{}.example", owner.tenant_id.to_lowercase());
    let email = |i: usize| format!("crew{i}@{domain}");
    let mut people = String::from("name,email,role,positions\n");
    for i in 0..PEOPLE {
        people.push_str(&format!("Crew {i},{},staff,Bartender\n", email(i)));
    }
    import(&app, token, "people", people).await;
    // Monday 1 to Friday 5 July 2030; person i works shift i / 40 of every day.
    let per_shift = PEOPLE / SHIFTS_A_DAY;
    let mut shifts = String::from("location,position,date,start,end,headcount,break_minutes,assignees\n");
    for day in 1..=DAYS {
        for shift in 0..SHIFTS_A_DAY {
            let crew: Vec<String> = (shift * per_shift..(shift + 1) * per_shift).map(email).collect();
            let start = format!("08:{:02}", shift * 10);
            let end = format!("16:{:02}", shift * 10);
            shifts.push_str(&format!(
                "Riverside Hall,Bartender,2030-07-0{day},{start},{end},{per_shift},30,{}\n",
                crew.join(";")
            ));
        }
    }
    import(&app, token, "shifts", shifts).await;
    let week = "/shifts?from=2030-07-01T00:00:00Z&to=2030-07-06T00:00:00Z&status=draft&limit=100";
    let drafts = json_of(app.get(week, token).await, StatusCode::OK).await;
    for shift in drafts["items"].as_array().unwrap() {
        let published = app.post_empty(&format!("/shifts/{}/publish", shift["id"].as_str().unwrap()), token).await;
        json_of(published, StatusCode::OK).await;
    }

    let queue = app.sqs.create_queue().queue_name(format!("nightly-{}", ulid::Ulid::new())).send().await.unwrap();
    let nightly = Nightly::new(&app.config, queue.queue_url.unwrap()).await;
    let now: DateTime<Utc> = MONDAY_MORNING.parse().unwrap();
    let trips = RequestTrips::default();
    let started = Instant::now();
    let checked = trips.clone().scope(check_weekly_hours(&nightly, &owner.tenant_id, now)).await.unwrap();
    let elapsed = started.elapsed();
    println!(
        "weekly-hours check, {PEOPLE} people on {} places of {} shifts (local moto): {} items read, {} round trips, {:.0} ms, {} warnings",
        PEOPLE * DAYS,
        DAYS * SHIFTS_A_DAY,
        checked.items_read,
        trips.count(),
        elapsed.as_secs_f64() * 1000.0,
        checked.warnings,
    );
}
