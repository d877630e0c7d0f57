//! Scheduling as a coordinator and their staff use it: shifts on the location's clock across
//! DST nights, assignments through the conflict engine, and the rules that hold under bursts
//! of concurrent requests.

use api_tests::{Account, Organisation, TestApp, json_of, problem_of, spawn_app, unique_email};
use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A staff member holding the organisation's position; their id.
async fn staff(app: &TestApp, owner: &Account, org: &Organisation) -> String {
    let body = json!({ "email": unique_email("crew"), "name": "Casey Crew", "role": "staff", "position_ids": [org.position_id] });
    json_of(app.post("/people", Some(&owner.access_token), body).await, StatusCode::CREATED).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A published shift at the organisation's location (Europe/London); its id.
async fn shift(app: &TestApp, owner: &Account, org: &Organisation, start: &str, end: &str, headcount: u32) -> String {
    let body = json!({ "location_id": org.location_id, "position_id": org.position_id, "start": start, "end": end, "headcount": headcount });
    let created = json_of(app.post("/shifts", Some(&owner.access_token), body).await, StatusCode::CREATED).await;
    let id = created["id"].as_str().unwrap().to_owned();
    json_of(app.post_empty(&format!("/shifts/{id}/publish"), &owner.access_token).await, StatusCode::OK).await;
    id
}

async fn assign(app: &TestApp, owner: &Account, shift_id: &str, body: Value) -> reqwest::Response {
    app.post(&format!("/shifts/{shift_id}/assignments"), Some(&owner.access_token), body).await
}

fn codes(problem: &Value) -> Vec<&str> {
    problem["violations"].as_array().unwrap().iter().map(|violation| violation["code"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn shifts_read_on_the_location_clock_and_a_dst_night_is_seven_or_nine_hours() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let org = app.organisation(&owner).await;
    let token = Some(owner.access_token.as_str());

    let body = json!({ "location_id": org.location_id, "position_id": org.position_id,
        "start": "2030-07-04T21:00:00Z", "end": "2030-07-05T05:00:00Z", "headcount": 2, "break_minutes": 30 });
    let summer = json_of(app.post("/shifts", token, body).await, StatusCode::CREATED).await;
    assert_eq!(
        (summer["start_local"].as_str(), summer["end_local"].as_str()),
        (Some("2030-07-04T22:00:00+01:00"), Some("2030-07-05T06:00:00+01:00"))
    );
    assert_eq!((summer["duration_minutes"].as_i64(), summer["status"].as_str()), (Some(480), Some("draft")));
    // The location's geofence goes with the shift: check-ins are judged against it.
    assert_eq!(summer["site"], json!({ "lat": 53.8, "lng": -1.55, "radius_m": 150 }));

    // 22:00–06:00 from Friday to Sunday around the spring change (London, 31 March 2030), and the
    // Saturday of the autumn change (27 October).
    let pattern = |from: &str, to: &str| {
        json!({ "location_id": org.location_id, "position_id": org.position_id, "headcount": 1,
            "weekdays": ["fri", "saturday", "sun"], "start_local": "22:00", "end_local": "06:00", "from": from, "to": to })
    };
    let spring =
        json_of(app.post("/shifts/recurring", token, pattern("2030-03-29", "2030-03-31")).await, StatusCode::CREATED)
            .await;
    let spring: Vec<(&str, i64)> = spring["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["start_local"].as_str().unwrap(), s["duration_minutes"].as_i64().unwrap()))
        .collect();
    assert_eq!(
        spring,
        [("2030-03-29T22:00:00+00:00", 480), ("2030-03-30T22:00:00+00:00", 420), ("2030-03-31T22:00:00+01:00", 480)]
    );
    let autumn =
        json_of(app.post("/shifts/recurring", token, pattern("2030-10-26", "2030-10-26")).await, StatusCode::CREATED)
            .await;
    assert_eq!(autumn["items"][0]["duration_minutes"], 540);
    assert_eq!(autumn["items"][0]["end"], "2030-10-27T06:00:00Z");

    // One query reads a location's week.
    let week = format!("/shifts?location_id={}&from=2030-03-29T00:00:00Z&to=2030-04-01T00:00:00Z", org.location_id);
    let week = json_of(app.get(&week, &owner.access_token).await, StatusCode::OK).await;
    assert_eq!(week["items"].as_array().unwrap().len(), 3, "{week}");

    // Bad input names its field.
    let too_many = pattern("2030-01-01", "2030-12-31");
    let problem = problem_of(
        app.post("/shifts/recurring", token, too_many).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "to");
    let backwards = json!({ "location_id": org.location_id, "position_id": org.position_id,
        "start": "2030-07-04T21:00:00Z", "end": "2030-07-04T20:00:00Z", "headcount": 1 });
    let problem =
        problem_of(app.post("/shifts", token, backwards).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
            .await;
    assert_eq!(problem["errors"][0]["field"], "end");
}

#[tokio::test]
async fn every_violation_is_listed_and_warnings_give_way_only_to_force() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let org = app.organisation(&owner).await;
    let early = shift(&app, &owner, &org, "2030-05-01T08:00:00Z", "2030-05-01T16:00:00Z", 2).await;
    let night = shift(&app, &owner, &org, "2030-05-02T00:00:00Z", "2030-05-02T04:00:00Z", 2).await;
    let overlapping = shift(&app, &owner, &org, "2030-05-01T12:00:00Z", "2030-05-01T20:00:00Z", 2).await;
    let casey = staff(&app, &owner, &org).await;
    json_of(assign(&app, &owner, &early, json!({ "person_ids": [casey] })).await, StatusCode::CREATED).await;

    // Blocking: an overlap naming the other shift; a person without the position.
    let outsider = {
        let body = json!({ "email": unique_email("nopos"), "name": "No Position", "role": "staff" });
        json_of(app.post("/people", Some(&owner.access_token), body).await, StatusCode::CREATED).await["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let refused = assign(&app, &owner, &overlapping, json!({ "person_ids": [casey, outsider], "force": true })).await;
    let problem = problem_of(refused, StatusCode::UNPROCESSABLE_ENTITY, "scheduling_conflict").await;
    assert_eq!(codes(&problem), ["overlap", "position_not_held"], "{problem}");
    assert_eq!(problem["violations"][0]["shift_id"], early.as_str());
    assert_eq!(problem["violations"][0]["person_id"], casey.as_str());

    // A warning: 8 h of rest after the early shift, 11 h required.
    let warned = assign(&app, &owner, &night, json!({ "person_ids": [casey] })).await;
    let problem = problem_of(warned, StatusCode::UNPROCESSABLE_ENTITY, "scheduling_conflict").await;
    assert_eq!(codes(&problem), ["min_rest"]);
    assert_eq!(problem["violations"][0]["blocking"], false);
    let dry =
        json_of(assign(&app, &owner, &night, json!({ "person_ids": [casey], "dry_run": true })).await, StatusCode::OK)
            .await;
    assert_eq!((dry["dry_run"].as_bool(), dry["warnings"][0]["code"].as_str()), (Some(true), Some("min_rest")));
    let detail = json_of(app.get(&format!("/shifts/{night}"), &owner.access_token).await, StatusCode::OK).await;
    assert_eq!((detail["assigned_count"].as_u64(), detail["assignments"].as_array().unwrap().len()), (Some(0), 0));

    let forced = json_of(
        assign(&app, &owner, &night, json!({ "person_ids": [casey], "force": true })).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(
        (forced["assignments"][0]["forced"].as_bool(), forced["warnings"][0]["code"].as_str()),
        (Some(true), Some("min_rest"))
    );
    let audit =
        json_of(app.get("/audit-logs?action=assignment.forced", &owner.access_token).await, StatusCode::OK).await;
    assert_eq!(audit["items"][0]["after"]["overridden"][0]["code"], "min_rest", "{audit}");

    // Removing the early shift's assignment frees its place and clears the way.
    let removed = app
        .request(reqwest::Method::DELETE, &format!("/assignments/{early}_{casey}"), Some(&owner.access_token), None)
        .await;
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    let detail = json_of(app.get(&format!("/shifts/{early}"), &owner.access_token).await, StatusCode::OK).await;
    assert_eq!(detail["assigned_count"], 0);
    json_of(
        assign(&app, &owner, &overlapping, json!({ "person_ids": [casey], "force": true })).await,
        StatusCode::CREATED,
    )
    .await;
}

#[tokio::test]
async fn fifty_concurrent_assignments_fill_a_headcount_of_five_exactly() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let org = app.organisation(&owner).await;
    let shift_id = shift(&app, &owner, &org, "2030-06-01T08:00:00Z", "2030-06-01T16:00:00Z", 5).await;
    let people = join_all((0..50).map(|_| staff(&app, &owner, &org))).await;

    let answers =
        join_all(people.iter().map(|person| assign(&app, &owner, &shift_id, json!({ "person_ids": [person] })))).await;
    let mut placed = 0;
    let mut full = 0;
    for answer in answers {
        match answer.status() {
            StatusCode::CREATED => placed += 1,
            StatusCode::UNPROCESSABLE_ENTITY => {
                let problem: Value = answer.json().await.unwrap();
                assert_eq!(codes(&problem), ["headcount_full"], "{problem}");
                full += 1;
            }
            other => panic!("unexpected {other}: {}", answer.text().await.unwrap()),
        }
    }
    assert_eq!((placed, full), (5, 45));
    let detail = json_of(app.get(&format!("/shifts/{shift_id}"), &owner.access_token).await, StatusCode::OK).await;
    assert_eq!((detail["assigned_count"].as_u64(), detail["assignments"].as_array().unwrap().len()), (Some(5), 5));
}

#[tokio::test]
async fn one_person_assigned_at_once_to_overlapping_shifts_or_twice_to_one_holds_one_place() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let org = app.organisation(&owner).await;
    let casey = staff(&app, &owner, &org).await;
    let first = shift(&app, &owner, &org, "2030-06-02T08:00:00Z", "2030-06-02T16:00:00Z", 3).await;
    let second = shift(&app, &owner, &org, "2030-06-02T12:00:00Z", "2030-06-02T20:00:00Z", 3).await;

    // Ten requests, half for each shift, all at once: one wins.
    let body = json!({ "person_ids": [casey], "force": true });
    let answers =
        join_all((0..10).map(|i| assign(&app, &owner, if i % 2 == 0 { &first } else { &second }, body.clone()))).await;
    let statuses: Vec<StatusCode> = answers.iter().map(reqwest::Response::status).collect();
    let placed = statuses.iter().filter(|status| **status == StatusCode::CREATED).count();
    assert_eq!(placed, 1, "{statuses:?}");
    assert!(
        statuses.iter().all(|s| [
            StatusCode::CREATED,
            StatusCode::OK,
            StatusCode::CONFLICT,
            StatusCode::UNPROCESSABLE_ENTITY
        ]
        .contains(s)),
        "{statuses:?}"
    );
    let mut counts = Vec::new();
    for id in [&first, &second] {
        let detail = json_of(app.get(&format!("/shifts/{id}"), &owner.access_token).await, StatusCode::OK).await;
        counts.push(detail["assigned_count"].as_u64().unwrap());
    }
    assert_eq!(counts.iter().sum::<u64>(), 1, "{counts:?}");

    // The same person to one shift ten times at once: one assignment.
    let third = shift(&app, &owner, &org, "2030-06-05T08:00:00Z", "2030-06-05T16:00:00Z", 3).await;
    let answers = join_all((0..10).map(|_| assign(&app, &owner, &third, json!({ "person_ids": [casey] })))).await;
    let placed = answers.iter().filter(|answer| answer.status() == StatusCode::CREATED).count();
    assert_eq!(placed, 1);
    let detail = json_of(app.get(&format!("/shifts/{third}"), &owner.access_token).await, StatusCode::OK).await;
    assert_eq!((detail["assigned_count"].as_u64(), detail["assignments"].as_array().unwrap().len()), (Some(1), 1));
}

#[tokio::test]
async fn staff_cannot_plan_and_do_not_see_drafts() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let org = app.organisation(&owner).await;
    let accepted = {
        let token = app.link_token(&org.person_email, "/accept-invitation").await;
        let body = json!({ "token": token, "password": api_tests::PASSWORD, "token_delivery": "body" });
        json_of(app.post("/auth/invitations/accept", None, body).await, StatusCode::CREATED).await
    };
    let staff_token = accepted["tokens"]["access_token"].as_str().unwrap();
    let body = json!({ "location_id": org.location_id, "position_id": org.position_id,
        "start": "2030-07-04T21:00:00Z", "end": "2030-07-05T05:00:00Z", "headcount": 2 });
    problem_of(app.post("/shifts", Some(staff_token), body.clone()).await, StatusCode::FORBIDDEN, "forbidden").await;
    let draft = json_of(app.post("/shifts", Some(&owner.access_token), body).await, StatusCode::CREATED).await;
    problem_of(
        app.get(&format!("/shifts/{}", draft["id"].as_str().unwrap()), staff_token).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    // The published shift of the organisation is visible, with the staff member on it.
    let published = json_of(app.get(&format!("/shifts/{}", org.shift_id), staff_token).await, StatusCode::OK).await;
    assert_eq!(published["assignments"][0]["person_id"], org.person_id.as_str());
    let listed = json_of(app.get("/shifts", staff_token).await, StatusCode::OK).await;
    let ids: Vec<&str> =
        listed["items"].as_array().unwrap().iter().map(|shift| shift["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [org.shift_id.as_str()]);
}

#[tokio::test]
async fn a_worker_answers_offers_claims_open_places_and_reads_their_schedule() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let org = app.organisation(&owner).await;
    let sam = app.staff_token(&org).await;

    // The organisation's shift was offered to Sam (and mailed once published).
    let offer = app.mail_to(&org.person_email).await;
    assert!(offer.iter().any(|mail| mail["subject"] == "You have been offered a shift"), "{offer:?}");
    let path = format!("/assignments/{}/status", org.assignment_id);
    let accepted = json_of(app.post(&path, Some(&sam), json!({ "status": "accepted" })).await, StatusCode::OK).await;
    assert_eq!(accepted["status"], "accepted");
    problem_of(app.post(&path, Some(&sam), json!({ "status": "declined" })).await, StatusCode::CONFLICT, "conflict")
        .await;
    // The coordinator hears of it.
    let answered = app.mail_to(&owner.email).await;
    assert!(answered.iter().any(|mail| mail["subject"] == "Sam Staff accepted a shift"), "{answered:?}");

    // An open published shift: Sam claims a place; a draft cannot be claimed (nor seen).
    let open = shift(&app, &owner, &org, "2030-08-01T08:00:00Z", "2030-08-01T16:00:00Z", 1).await;
    let claimed = json_of(app.post_empty(&format!("/shifts/{open}/claim"), &sam).await, StatusCode::CREATED).await;
    assert_eq!(claimed["assignments"][0]["status"], "accepted");
    let again = json_of(app.post_empty(&format!("/shifts/{open}/claim"), &sam).await, StatusCode::OK).await;
    assert_eq!(again["assignments"], json!([]));
    let body = json!({ "location_id": org.location_id, "position_id": org.position_id,
        "start": "2030-08-02T08:00:00Z", "end": "2030-08-02T16:00:00Z", "headcount": 1 });
    let draft = json_of(app.post("/shifts", Some(&owner.access_token), body).await, StatusCode::CREATED).await;
    let claim_draft = app.post_empty(&format!("/shifts/{}/claim", draft["id"].as_str().unwrap()), &sam).await;
    problem_of(claim_draft, StatusCode::NOT_FOUND, "not_found").await;
    // Its planner, who sees it, is told why instead.
    let planner_claims =
        app.post_empty(&format!("/shifts/{}/claim", draft["id"].as_str().unwrap()), &owner.access_token).await;
    let refused = problem_of(planner_claims, StatusCode::CONFLICT, "conflict").await;
    assert!(refused["detail"].as_str().unwrap().contains("draft"), "{refused}");

    // Upcoming, soonest first: the organisation's shift, then the claimed one.
    let mine = json_of(app.get("/me/shifts", &sam).await, StatusCode::OK).await;
    let shifts: Vec<&str> = mine["items"].as_array().unwrap().iter().map(|a| a["shift_id"].as_str().unwrap()).collect();
    assert_eq!(shifts, [org.shift_id.as_str(), open.as_str()]);
    let past = json_of(app.get("/me/shifts?when=past", &sam).await, StatusCode::OK).await;
    assert_eq!(past["items"], json!([]));

    // Declining an offer opens the place again.
    let another = shift(&app, &owner, &org, "2030-08-03T08:00:00Z", "2030-08-03T16:00:00Z", 1).await;
    json_of(assign(&app, &owner, &another, json!({ "person_ids": [org.person_id] })).await, StatusCode::CREATED).await;
    let decline = app
        .post(&format!("/assignments/{another}_{}/status", org.person_id), Some(&sam), json!({ "status": "declined" }))
        .await;
    assert_eq!(json_of(decline, StatusCode::OK).await["status"], "declined");
    let detail = json_of(app.get(&format!("/shifts/{another}"), &owner.access_token).await, StatusCode::OK).await;
    assert_eq!(detail["assigned_count"], 0);
    // Offered again later, the same assignment comes back.
    let again =
        json_of(assign(&app, &owner, &another, json!({ "person_ids": [org.person_id] })).await, StatusCode::CREATED)
            .await;
    assert_eq!(again["assignments"][0]["status"], "offered");
}

#[tokio::test]
async fn availability_warns_and_eligible_ranks_who_is_free_with_fewest_hours() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let org = app.organisation(&owner).await;
    let sam = app.staff_token(&org).await;
    // Sam works weekday daytimes only, and not in the first week of August.
    let availability = json!({ "weekly": [{ "weekday": "monday", "start_local": "08:00", "end_local": "18:00" }],
        "blackouts": [{ "from": "2030-08-01", "to": "2030-08-07" }] });
    let stored = app.request(reqwest::Method::PUT, "/availability/me", Some(&sam), Some(availability)).await;
    assert_eq!(json_of(stored, StatusCode::OK).await["weekly"][0]["weekday"], "monday");
    let seen =
        json_of(app.get(&format!("/people/{}/availability", org.person_id), &owner.access_token).await, StatusCode::OK)
            .await;
    assert_eq!(seen["blackouts"][0]["to"], "2030-08-07");

    // A Tuesday evening (London): outside the windows.
    let tuesday = shift(&app, &owner, &org, "2030-09-03T17:00:00Z", "2030-09-03T21:00:00Z", 2).await;
    let warned = problem_of(
        assign(&app, &owner, &tuesday, json!({ "person_ids": [org.person_id] })).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "scheduling_conflict",
    )
    .await;
    assert_eq!(codes(&warned), ["outside_availability"]);

    // Eligible for a Monday shift: Casey (no hours that week) before Sam (the org shift is in
    // another week, so 0 too: by name), and Nova without the position excluded.
    let monday = shift(&app, &owner, &org, "2030-09-02T08:00:00Z", "2030-09-02T12:00:00Z", 2).await;
    let casey = staff(&app, &owner, &org).await;
    let busy = shift(&app, &owner, &org, "2030-09-04T08:00:00Z", "2030-09-04T16:00:00Z", 2).await;
    // (Wednesday is outside Sam's windows: placed with force.)
    let forced = json!({ "person_ids": [org.person_id], "force": true });
    json_of(assign(&app, &owner, &busy, forced).await, StatusCode::CREATED).await;
    let body = json!({ "email": unique_email("nova"), "name": "Nova Nopos", "role": "staff" });
    let nova = json_of(app.post("/people", Some(&owner.access_token), body).await, StatusCode::CREATED).await;
    let eligible =
        json_of(app.get(&format!("/shifts/{monday}/eligible"), &owner.access_token).await, StatusCode::OK).await;
    let ranked: Vec<(&str, i64)> = eligible["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["person_id"].as_str().unwrap(), c["week_minutes"].as_i64().unwrap()))
        .collect();
    assert!(ranked.starts_with(&[(casey.as_str(), 0)]), "{eligible}");
    assert!(ranked.contains(&(org.person_id.as_str(), 480)), "{eligible}");
    let excluded = eligible["excluded"].as_array().unwrap();
    let nova_excluded = excluded.iter().find(|e| e["person_id"] == nova["id"]).expect("Nova is excluded");
    assert_eq!(codes(nova_excluded), ["position_not_held"]);
}

#[tokio::test]
async fn assignees_hear_of_changes_unless_they_opted_out() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let org = app.organisation(&owner).await;
    let sam = app.staff_token(&org).await;
    // Sam wants no "changed" mail.
    let opt_out = json!({ "notification_opt_outs": ["shift_changed"] });
    json_of(app.request(reqwest::Method::PATCH, "/me", Some(&sam), Some(opt_out)).await, StatusCode::OK).await;

    let path = format!("/shifts/{}", org.shift_id);
    let later = json!({ "start": "2030-07-04T09:00:00Z", "end": "2030-07-04T17:00:00Z" });
    let moved = json_of(
        app.request(reqwest::Method::PATCH, &path, Some(&owner.access_token), Some(later)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(moved["start_local"], "2030-07-04T10:00:00+01:00");
    let cancelled = json_of(app.post_empty(&format!("{path}/cancel"), &owner.access_token).await, StatusCode::OK).await;
    assert_eq!(cancelled["status"], "cancelled");

    let mail = app.mail_to(&org.person_email).await;
    let subjects: Vec<&str> = mail.iter().map(|m| m["subject"].as_str().unwrap()).collect();
    assert!(subjects.contains(&"Your shift is cancelled"), "{subjects:?}");
    assert!(!subjects.contains(&"Your shift has changed"), "{subjects:?}");
    let log = json_of(app.get("/notifications", &owner.access_token).await, StatusCode::OK).await;
    let statuses: Vec<(&str, &str)> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["person_id"] == org.person_id.as_str())
        .map(|n| (n["kind"].as_str().unwrap(), n["status"].as_str().unwrap()))
        .collect();
    assert!(statuses.contains(&("shift_changed", "opted_out")), "{statuses:?}");
    assert!(statuses.contains(&("shift_cancelled", "sent")), "{statuses:?}");
    // The cancelled shift left Sam's schedule: an overlapping one can be theirs.
    let overlapping = shift(&app, &owner, &org, "2030-07-04T10:00:00Z", "2030-07-04T12:00:00Z", 1).await;
    json_of(assign(&app, &owner, &overlapping, json!({ "person_ids": [org.person_id] })).await, StatusCode::CREATED)
        .await;
}

#[tokio::test]
async fn a_worker_subscribes_to_their_shifts_with_a_secret_url_they_can_revoke() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let org = app.organisation(&owner).await;
    let sam = app.staff_token(&org).await;

    let first = json_of(app.get("/me/calendar-url", &sam).await, StatusCode::OK).await;
    let again = json_of(app.get("/me/calendar-url", &sam).await, StatusCode::OK).await;
    assert_eq!(first, again, "the same URL until revoked");
    let url = first["url"].as_str().unwrap();
    let path = &url[url.find("/calendar/").unwrap()..];

    // No token: the secret in the URL is the credential. The organisation's shift is in it.
    let feed = app.request(reqwest::Method::GET, path, None, None).await;
    assert_eq!(feed.status(), StatusCode::OK);
    assert_eq!(feed.headers()["content-type"], "text/calendar; charset=utf-8");
    let ics = feed.text().await.unwrap();
    assert!(ics.starts_with("BEGIN:VCALENDAR\r\n") && ics.trim_end().ends_with("END:VCALENDAR"), "{ics}");
    assert_eq!(ics.matches("BEGIN:VEVENT").count(), 1, "{ics}");
    assert!(ics.contains("DTSTART:20300704T080000Z\r\n"), "{ics}");
    assert!(ics.contains("DTEND:20300704T160000Z\r\n"), "{ics}");
    assert!(ics.contains("SUMMARY:Shift: Bartender\r\n"), "{ics}");
    assert!(ics.contains(&format!("UID:{}@rota\r\n", org.assignment_id)), "{ics}");

    // A guessed secret for the same person finds nothing; a revoked URL stops at once.
    let forged = format!("{}X", path);
    problem_of(app.request(reqwest::Method::GET, &forged, None, None).await, StatusCode::NOT_FOUND, "not_found").await;
    let revoked = app.request(reqwest::Method::DELETE, "/me/calendar-url", Some(&sam), None).await;
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    problem_of(app.request(reqwest::Method::GET, path, None, None).await, StatusCode::NOT_FOUND, "not_found").await;
    let fresh = json_of(app.get("/me/calendar-url", &sam).await, StatusCode::OK).await;
    assert_ne!(fresh["url"], first["url"]);

    // Deactivated, the worker's feed stops answering with them.
    let url = fresh["url"].as_str().unwrap();
    let path = &url[url.find("/calendar/").unwrap()..];
    assert_eq!(app.request(reqwest::Method::GET, path, None, None).await.status(), StatusCode::OK);
    let person = format!("/people/{}", org.person_id);
    let gone = app.request(reqwest::Method::DELETE, &person, Some(&owner.access_token), None).await;
    assert_eq!(gone.status(), StatusCode::NO_CONTENT);
    problem_of(app.request(reqwest::Method::GET, path, None, None).await, StatusCode::NOT_FOUND, "not_found").await;
}

/// The people holding places on a shift, as `(person_id, status)`, by person.
async fn holders(app: &TestApp, owner: &Account, shift_id: &str) -> (Value, Vec<(String, String)>) {
    let detail = json_of(app.get(&format!("/shifts/{shift_id}"), &owner.access_token).await, StatusCode::OK).await;
    let mut held: Vec<(String, String)> = detail["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["person_id"].as_str().unwrap().to_owned(), a["status"].as_str().unwrap().to_owned()))
        .collect();
    held.sort();
    (detail, held)
}

#[tokio::test]
async fn a_coordinator_reassigns_a_place_in_one_step_and_both_people_hear_of_it() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let org = app.organisation(&owner).await;
    let kim = api_tests::worker(&app, &owner, &org, "Kim Cover").await;
    let reassign = |assignment: String, body: Value| {
        let token = owner.access_token.clone();
        let app = &app;
        async move { app.post(&format!("/assignments/{assignment}/reassign"), Some(&token), body).await }
    };

    // The organisation's shift goes from Sam to Kim: Kim is offered it, Sam is off it.
    let moved = reassign(org.assignment_id.clone(), json!({ "person_id": kim.id })).await;
    let moved = json_of(moved, StatusCode::CREATED).await;
    assert_eq!(moved["from_person_id"], org.person_id.as_str());
    assert_eq!(
        (moved["assignment"]["person_id"].as_str(), moved["assignment"]["status"].as_str()),
        (Some(kim.id.as_str()), Some("offered"))
    );
    assert_eq!(moved["warnings"], json!([]));
    let (detail, held) = holders(&app, &owner, &org.shift_id).await;
    assert_eq!(held, [(kim.id.clone(), "offered".to_owned())]);
    assert_eq!(detail["assigned_count"], 1);
    let kims = json_of(app.get("/me/shifts", &kim.token).await, StatusCode::OK).await;
    assert_eq!(kims["items"][0]["shift_id"], org.shift_id.as_str());
    // Both hear of it.
    let to_kim = app.mail_to(&kim.email).await;
    assert!(to_kim.iter().any(|mail| mail["subject"] == "You have been offered a shift"), "{to_kim:?}");
    let to_sam = app.mail_to(&org.person_email).await;
    assert!(to_sam.iter().any(|mail| mail["subject"] == "You are no longer on a shift"), "{to_sam:?}");
    // The old assignment is gone; the audit says who moved it where.
    let gone = reassign(org.assignment_id.clone(), json!({ "person_id": kim.id })).await;
    problem_of(gone, StatusCode::NOT_FOUND, "not_found").await;
    let kims_place = moved["assignment"]["id"].as_str().unwrap().to_owned();
    let audit =
        json_of(app.get(&format!("/audit-logs?entity_id={kims_place}"), &owner.access_token).await, StatusCode::OK)
            .await;
    let entry = &audit["items"][0];
    assert_eq!(
        (entry["action"].as_str(), entry["before"]["person_id"].as_str()),
        (Some("assignment.reassigned"), Some(org.person_id.as_str()))
    );

    // To the person who holds it already: nothing changes.
    let same = json_of(reassign(kims_place.clone(), json!({ "person_id": kim.id })).await, StatusCode::OK).await;
    assert_eq!(same["assignment"]["id"], kims_place.as_str());
    // Sam back onto it while on an overlapping shift: the same rules as assigning (422, listed).
    let overlapping = shift(&app, &owner, &org, "2030-07-04T12:00:00Z", "2030-07-04T18:00:00Z", 1).await;
    json_of(assign(&app, &owner, &overlapping, json!({ "person_ids": [org.person_id] })).await, StatusCode::CREATED)
        .await;
    let refused = reassign(kims_place.clone(), json!({ "person_id": org.person_id })).await;
    let problem = problem_of(refused, StatusCode::UNPROCESSABLE_ENTITY, "scheduling_conflict").await;
    assert_eq!(codes(&problem), ["overlap"]);
    assert_eq!(problem["violations"][0]["shift_id"], overlapping.as_str());
    // Someone of another organisation is nobody here; a bad body names its field.
    let stranger = app.signup().await;
    let nobody = reassign(kims_place.clone(), json!({ "person_id": stranger.person_id })).await;
    problem_of(nobody, StatusCode::NOT_FOUND, "not_found").await;
    let bad = reassign(kims_place.clone(), json!({ "person_id": "" })).await;
    let problem = problem_of(bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "person_id");
    // A declined place holds nothing to move.
    let declined =
        app.post(&format!("/assignments/{kims_place}/status"), Some(&kim.token), json!({ "status": "declined" })).await;
    json_of(declined, StatusCode::OK).await;
    let nothing = reassign(kims_place, json!({ "person_id": org.person_id })).await;
    problem_of(nothing, StatusCode::CONFLICT, "conflict").await;
}

#[tokio::test]
async fn a_burst_of_reassignments_to_different_people_places_exactly_one() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let org = app.organisation(&owner).await;
    let open = shift(&app, &owner, &org, "2030-09-02T08:00:00Z", "2030-09-02T16:00:00Z", 1).await;
    let placed =
        json_of(assign(&app, &owner, &open, json!({ "person_ids": [org.person_id] })).await, StatusCode::CREATED).await;
    let place = placed["assignments"][0]["id"].as_str().unwrap().to_owned();
    let mut crew = Vec::new();
    for _ in 0..8 {
        crew.push(staff(&app, &owner, &org).await);
    }
    let path = format!("/assignments/{place}/reassign");
    let burst = crew.iter().map(|person| app.post(&path, Some(&owner.access_token), json!({ "person_id": person })));
    let mut statuses = Vec::new();
    for response in join_all(burst).await {
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        if status == StatusCode::CREATED {
            statuses.push((status, body["assignment"]["person_id"].as_str().unwrap().to_owned()));
        } else {
            // Lost: to the winner's transaction (409), or read after it, when the place was gone (404).
            let lost = [(StatusCode::CONFLICT, Some("conflict")), (StatusCode::NOT_FOUND, Some("not_found"))];
            assert!(lost.contains(&(status, body["code"].as_str())), "{status} {body}");
            statuses.push((status, String::new()));
        }
    }
    let winners: Vec<&String> =
        statuses.iter().filter(|(status, _)| *status == StatusCode::CREATED).map(|(_, id)| id).collect();
    assert_eq!(winners.len(), 1, "{statuses:?}");
    let (detail, held) = holders(&app, &owner, &open).await;
    assert_eq!(held, [(winners[0].clone(), "offered".to_owned())]);
    assert_eq!(detail["assigned_count"], 1);
    // The winner's schedule has the shift (an overlapping one is refused them), the losers' not.
    let overlapping = shift(&app, &owner, &org, "2030-09-02T10:00:00Z", "2030-09-02T12:00:00Z", 8).await;
    let all: Vec<&String> = crew.iter().collect();
    let refused = assign(&app, &owner, &overlapping, json!({ "person_ids": all })).await;
    let problem = problem_of(refused, StatusCode::UNPROCESSABLE_ENTITY, "scheduling_conflict").await;
    let blocked: Vec<&str> =
        problem["violations"].as_array().unwrap().iter().map(|v| v["person_id"].as_str().unwrap()).collect();
    assert_eq!(blocked, [winners[0].as_str()]);
}

#[tokio::test]
async fn moving_a_shift_judges_its_assignees_again_and_publishing_too() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let org = app.organisation(&owner).await;
    let kim = staff(&app, &owner, &org).await;
    let patch = |shift_id: &str, body: Value| {
        let (token, path) = (owner.access_token.clone(), format!("/shifts/{shift_id}"));
        let app = &app;
        async move { app.request(reqwest::Method::PATCH, &path, Some(&token), Some(body)).await }
    };
    // Sam and Kim on Monday's morning, Sam alone on Tuesday's.
    let monday = shift(&app, &owner, &org, "2030-09-02T08:00:00Z", "2030-09-02T12:00:00Z", 2).await;
    let tuesday = shift(&app, &owner, &org, "2030-09-03T08:00:00Z", "2030-09-03T12:00:00Z", 1).await;
    let both = json!({ "person_ids": [org.person_id, kim] });
    json_of(assign(&app, &owner, &monday, both).await, StatusCode::CREATED).await;
    json_of(assign(&app, &owner, &tuesday, json!({ "person_ids": [org.person_id] })).await, StatusCode::CREATED).await;

    // Monday's shift moved onto Tuesday's: an overlap for Sam alone, even with force.
    let onto = json!({ "start": "2030-09-02T20:00:00Z", "end": "2030-09-03T09:00:00Z", "force": true });
    let problem = problem_of(patch(&monday, onto).await, StatusCode::UNPROCESSABLE_ENTITY, "scheduling_conflict").await;
    let who: Vec<(&str, &str)> = problem["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["person_id"].as_str().unwrap(), v["code"].as_str().unwrap()))
        .collect();
    assert_eq!(who, [(org.person_id.as_str(), "overlap")]);
    assert_eq!(problem["violations"][0]["shift_id"], tuesday.as_str());
    // Nothing changed.
    let (detail, _) = holders(&app, &owner, &monday).await;
    assert_eq!(detail["end"], "2030-09-02T12:00:00Z");
    // Ending at 22:00 leaves Sam 10 hours' rest: a warning, refused without force, kept with it.
    let late = json!({ "end": "2030-09-02T22:00:00Z" });
    let problem = problem_of(patch(&monday, late).await, StatusCode::UNPROCESSABLE_ENTITY, "scheduling_conflict").await;
    assert_eq!(codes(&problem), ["min_rest"]);
    assert_eq!(problem["violations"][0]["blocking"], false);
    let forced =
        json_of(patch(&monday, json!({ "end": "2030-09-02T22:00:00Z", "force": true })).await, StatusCode::OK).await;
    assert_eq!(forced["end"], "2030-09-02T22:00:00Z");
    let audit =
        json_of(app.get(&format!("/audit-logs?entity_id={monday}"), &owner.access_token).await, StatusCode::OK).await;
    let actions: Vec<&str> = audit["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert!(actions.contains(&"shift.updated_forced"), "{actions:?}");
    // Sam's schedule has the new times: a shift overlapping only the new evening is refused.
    let evening = shift(&app, &owner, &org, "2030-09-02T20:00:00Z", "2030-09-02T21:00:00Z", 1).await;
    let clash = assign(&app, &owner, &evening, json!({ "person_ids": [org.person_id] })).await;
    assert_eq!(codes(&problem_of(clash, StatusCode::UNPROCESSABLE_ENTITY, "scheduling_conflict").await)[0], "overlap");
    // The notes alone judge nobody again.
    json_of(patch(&monday, json!({ "notes": "Doors at 7" })).await, StatusCode::OK).await;

    // A draft whose assignee was deactivated since cannot be published: 422 naming them.
    let body = json!({ "location_id": org.location_id, "position_id": org.position_id,
        "start": "2030-09-10T08:00:00Z", "end": "2030-09-10T12:00:00Z", "headcount": 2 });
    let draft = json_of(app.post("/shifts", Some(&owner.access_token), body).await, StatusCode::CREATED).await;
    let draft = draft["id"].as_str().unwrap().to_owned();
    let pair = json!({ "person_ids": [org.person_id, kim] });
    json_of(assign(&app, &owner, &draft, pair).await, StatusCode::CREATED).await;
    let deactivated =
        app.request(reqwest::Method::DELETE, &format!("/people/{kim}"), Some(&owner.access_token), None).await;
    assert!(deactivated.status().is_success(), "{}", deactivated.status());
    let publish = app.post_empty(&format!("/shifts/{draft}/publish"), &owner.access_token).await;
    let problem = problem_of(publish, StatusCode::UNPROCESSABLE_ENTITY, "scheduling_conflict").await;
    assert_eq!(
        (codes(&problem), problem["violations"][0]["person_id"].as_str()),
        (vec!["person_inactive"], Some(kim.as_str()))
    );
    let (detail, _) = holders(&app, &owner, &draft).await;
    assert_eq!(detail["status"], "draft");
}
