//! Event day as the operations manager watches it: places and how many are filled, who is on
//! site now, who came late, who never came, what waits for review, hours and cost so far against
//! the estimate — read back from the dashboard with exact figures as the day goes on, and the
//! list of who is on site at the gate.

use api_tests::{Account, HALL, Organisation, TestApp, Worker, json_of, north_of, problem_of, spawn_app, worker};
use chrono::{DateTime, Duration, Utc};
use futures_util::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn at(instant: DateTime<Utc>) -> String {
    instant.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A shift of `event_id` from `start` to `end` with `headcount` places and a 30-minute break,
/// published: the shift as created.
async fn event_shift(
    app: &TestApp,
    owner: &Account,
    org: &Organisation,
    event_id: &str,
    (start, end): (String, String),
    headcount: u32,
) -> Value {
    let token = Some(owner.access_token.as_str());
    let body = json!({ "location_id": org.location_id, "position_id": org.position_id, "event_id": event_id,
        "start": start, "end": end, "headcount": headcount, "break_minutes": 30, "supervisor_id": owner.person_id });
    let shift = json_of(app.post("/shifts", token, body).await, StatusCode::CREATED).await;
    let publish = format!("/shifts/{}/publish", shift["id"].as_str().unwrap());
    json_of(app.post_empty(&publish, &owner.access_token).await, StatusCode::OK).await
}

/// `people` placed on `shift`; `accept`: and their offers accepted.
async fn place(app: &TestApp, owner: &Account, shift: &Value, people: &[&str], accept: bool) {
    let token = Some(owner.access_token.as_str());
    let placing = json!({ "person_ids": people, "force": true });
    let path = format!("/shifts/{}/assignments", shift["id"].as_str().unwrap());
    let placed = json_of(app.post(&path, token, placing).await, StatusCode::CREATED).await;
    if accept {
        for assignment in placed["assignments"].as_array().unwrap() {
            let path = format!("/assignments/{}/status", assignment["id"].as_str().unwrap());
            json_of(app.post(&path, token, json!({ "status": "accepted" })).await, StatusCode::OK).await;
        }
    }
}

async fn check(app: &TestApp, worker: &Worker, direction: &str, shift: &Value, accuracy_m: f64) -> Value {
    let (lat, lng) = north_of(HALL.0, HALL.1, 20.0);
    let body = json!({ "shift_id": shift["id"], "lat": lat, "lng": lng, "accuracy_m": accuracy_m });
    let response = app.post(&format!("/attendance/check-{direction}"), Some(&worker.token), body).await;
    let status = if direction == "in" { StatusCode::CREATED } else { StatusCode::OK };
    json_of(response, status).await
}

async fn dashboard(app: &TestApp, token: &str, event_id: &str) -> Value {
    json_of(app.get(&format!("/events/{event_id}/dashboard"), token).await, StatusCode::OK).await
}

fn paid(shift: &Value) -> i64 {
    shift["duration_minutes"].as_i64().unwrap() - shift["break_minutes"].as_i64().unwrap()
}

fn figures(day: &Value) -> [i64; 10] {
    ["places", "filled", "open", "on_site", "checked_out", "late", "absent", "awaiting_review", "worked_minutes"]
        .map(|field| day[field].as_i64().unwrap_or_else(|| panic!("{field} in {day}")))
        .into_iter()
        .chain([day["shifts"].as_i64().unwrap()])
        .collect::<Vec<_>>()
        .try_into()
        .unwrap()
}

#[tokio::test]
async fn an_event_day_read_back_from_the_dashboard() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let org = app.organisation(&owner).await;
    let token = Some(owner.access_token.as_str());
    // The position is priced at 12.00 an hour; Di is paid 20.00 of her own.
    let position_rate = json!({ "default_hourly_rate_minor": 1200 });
    let position = format!("/positions/{}", org.position_id);
    json_of(app.request(Method::PATCH, &position, token, Some(position_rate)).await, StatusCode::OK).await;
    let (ann, bo, cy, di, eve) = (
        worker(&app, &owner, &org, "Ann").await,
        worker(&app, &owner, &org, "Bo").await,
        worker(&app, &owner, &org, "Cy").await,
        worker(&app, &owner, &org, "Di").await,
        worker(&app, &owner, &org, "Eve").await,
    );
    let di_rate = json!({ "hourly_rate_minor": 2000 });
    json_of(app.request(Method::PATCH, &format!("/people/{}", di.id), token, Some(di_rate)).await, StatusCode::OK)
        .await;
    let now = Utc::now();
    let today = (now - Duration::days(1)).date_naive();
    let event = json!({ "title": "Harbour Festival", "location_id": org.location_id, "starts_on": today, "ends_on": "2030-06-30" });
    let event = json_of(app.post("/events", token, event).await, StatusCode::CREATED).await;
    let event_id = event["id"].as_str().unwrap();

    // Started 20 minutes ago (Ann comes late), starts in 30 minutes (Bo comes early; one place
    // stays open), ended three hours ago (Cy never came, Di's times are entered from the
    // timesheet), one on a later day (Eve only offered), and one cancelled.
    let started =
        event_shift(&app, &owner, &org, event_id, (at(now - Duration::minutes(20)), at(now + Duration::hours(4))), 3)
            .await;
    let starting =
        event_shift(&app, &owner, &org, event_id, (at(now + Duration::minutes(30)), at(now + Duration::hours(5))), 2)
            .await;
    let ended =
        event_shift(&app, &owner, &org, event_id, (at(now - Duration::hours(7)), at(now - Duration::hours(3))), 2)
            .await;
    let later =
        event_shift(&app, &owner, &org, event_id, ("2030-06-01T08:00:00Z".into(), "2030-06-01T16:00:00Z".into()), 4)
            .await;
    let cancelled =
        event_shift(&app, &owner, &org, event_id, ("2030-06-02T08:00:00Z".into(), "2030-06-02T12:00:00Z".into()), 2)
            .await;
    place(&app, &owner, &started, &[&ann.id], true).await;
    place(&app, &owner, &starting, &[&bo.id], true).await;
    place(&app, &owner, &ended, &[&cy.id, &di.id], true).await;
    place(&app, &owner, &later, &[&eve.id], false).await;
    place(&app, &owner, &cancelled, &[&eve.id], false).await;
    let cancel = format!("/shifts/{}/cancel", cancelled["id"].as_str().unwrap());
    json_of(app.post_empty(&cancel, &owner.access_token).await, StatusCode::OK).await;

    // Before anyone comes: the plan only.
    let board = dashboard(&app, &owner.access_token, event_id).await;
    assert_eq!(board["title"], "Harbour Festival");
    // places, filled, open, on site, out, late, absent, review, worked, shifts
    assert_eq!(figures(&board["total"]), [11, 5, 6, 0, 0, 0, 0, 0, 0, 4]);
    assert_eq!(board["total"]["fill_rate"].as_f64(), Some(0.4545));
    let estimate: i64 = [&started, &starting, &ended, &later]
        .iter()
        .map(|shift| {
            let minutes = shift["headcount"].as_i64().unwrap() * paid(shift);
            (minutes * 1200 * 2 + 60) / 120
        })
        .sum();
    assert_eq!(board["total"]["costs"]["estimate_minor"].as_i64(), Some(estimate));
    assert_eq!(board["total"]["costs"]["cost_minor"].as_i64(), Some(0));
    let june = board["days"].as_array().unwrap().iter().find(|day| day["date"] == "2030-06-01").unwrap();
    assert_eq!(figures(june), [4, 1, 3, 0, 0, 0, 0, 0, 0, 1], "the cancelled day is no day: {board}");
    assert!(board["days"].as_array().unwrap().iter().all(|day| day["date"] != "2030-06-02"), "{board}");

    // Ann checks in late, with a position coarser than the geofence (it waits for review); Bo
    // checks in early; Di's times are entered; the window of the ended shift closes on Cy.
    let ann_in = check(&app, &ann, "in", &started, 400.0).await;
    assert_eq!(ann_in["status"], "late");
    check(&app, &bo, "in", &starting, 8.0).await;
    let di_record = format!("/attendance/{}_{}/override", ended["id"].as_str().unwrap(), di.id);
    let times = json!({ "check_in_at": ended["start"], "check_out_at": ended["end"], "reason": "Paper timesheet" });
    let corrected = json_of(app.post(&di_record, token, times).await, StatusCode::OK).await;
    assert_eq!(corrected["rate_minor"].as_u64(), Some(2000), "the owner sees pay");
    nightly::close_attendance(&app.store, &owner.tenant_id, now).await.unwrap();

    let board = dashboard(&app, &owner.access_token, event_id).await;
    let worked = paid(&ended);
    assert_eq!(figures(&board["total"]), [11, 5, 6, 2, 1, 1, 1, 1, worked, 4]);
    assert_eq!(board["total"]["costs"]["cost_minor"].as_i64(), Some((worked * 2000 * 2 + 60) / 120));
    let days = board["days"].as_array().unwrap();
    for field in ["places", "filled", "on_site", "checked_out", "late", "absent", "worked_minutes"] {
        let sum: i64 = days.iter().map(|day| day[field].as_i64().unwrap()).sum();
        assert_eq!(Some(sum), board["total"][field].as_i64(), "{field}: the days add up to the total");
    }

    // At the gate: Ann and Bo are on site, with their shift and its supervisor.
    let gate = format!("/locations/{}/on-site", org.location_id);
    let on_site = json_of(app.get(&gate, &owner.access_token).await, StatusCode::OK).await;
    let mut here: Vec<(&str, &str)> = on_site["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|person| (person["person_name"].as_str().unwrap(), person["supervisor"]["person_id"].as_str().unwrap()))
        .collect();
    here.sort();
    assert_eq!(here, [("Ann", owner.person_id.as_str()), ("Bo", owner.person_id.as_str())]);
    let ann_here = on_site["items"].as_array().unwrap().iter().find(|person| person["person_name"] == "Ann").unwrap();
    assert_eq!(
        (ann_here["since"].as_str(), ann_here["flagged"].as_bool()),
        (ann_in["attendance"]["check_in_at"].as_str(), Some(true))
    );

    // Bo leaves; Ann's check-in is verified.
    check(&app, &bo, "out", &starting, 8.0).await;
    let verify = format!("/admin/verify-face/{}", ann_in["id"].as_str().unwrap());
    json_of(app.post(&verify, token, json!({ "decision": "verified" })).await, StatusCode::OK).await;
    let board = dashboard(&app, &owner.access_token, event_id).await;
    let total = figures(&board["total"]);
    assert_eq!((total[3], total[4], total[7]), (1, 2, 0), "on site, checked out, awaiting review: {board}");
    let on_site = json_of(app.get(&gate, &owner.access_token).await, StatusCode::OK).await;
    assert_eq!(on_site["items"].as_array().unwrap().len(), 1);
    assert_eq!(on_site["items"][0]["person_name"], "Ann");

    // Eve declines her offer: one place less filled.
    let board_before = figures(&dashboard(&app, &owner.access_token, event_id).await["total"]);
    let answer = format!("/assignments/{}_{}/status", later["id"].as_str().unwrap(), eve.id);
    json_of(app.post(&answer, Some(&eve.token), json!({ "status": "declined" })).await, StatusCode::OK).await;
    let total = figures(&dashboard(&app, &owner.access_token, event_id).await["total"]);
    assert_eq!((total[0], total[1], total[2]), (board_before[0], board_before[1] - 1, board_before[2] + 1));

    // Staff see no dashboard.
    problem_of(app.get(&format!("/events/{event_id}/dashboard"), &ann.token).await, StatusCode::FORBIDDEN, "forbidden")
        .await;
    problem_of(app.get(&gate, &ann.token).await, StatusCode::FORBIDDEN, "forbidden").await;
}

#[tokio::test]
async fn a_crowd_checking_in_at_once_is_counted_exactly() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let org = app.organisation(&owner).await;
    let token = Some(owner.access_token.as_str());
    let today = Utc::now().date_naive();
    let event = json!({ "title": "Gates open", "location_id": org.location_id, "starts_on": today, "ends_on": today });
    let event = json_of(app.post("/events", token, event).await, StatusCode::CREATED).await;
    let event_id = event["id"].as_str().unwrap();
    let now = Utc::now();
    let shift =
        event_shift(&app, &owner, &org, event_id, (at(now + Duration::minutes(10)), at(now + Duration::hours(3))), 6)
            .await;
    let mut crowd = Vec::new();
    for n in 0..6 {
        crowd.push(worker(&app, &owner, &org, &format!("Steward {n}")).await);
    }
    let ids: Vec<&str> = crowd.iter().map(|member| member.id.as_str()).collect();
    place(&app, &owner, &shift, &ids, true).await;

    join_all(crowd.iter().map(|member| check(&app, member, "in", &shift, 8.0))).await;

    let board = dashboard(&app, &owner.access_token, event_id).await;
    assert_eq!(figures(&board["total"]), [6, 6, 0, 6, 0, 0, 0, 0, 0, 1]);
    let gate = format!("/locations/{}/on-site?limit=100", org.location_id);
    let on_site = json_of(app.get(&gate, &owner.access_token).await, StatusCode::OK).await;
    assert_eq!(on_site["items"].as_array().unwrap().len(), 6);
}
