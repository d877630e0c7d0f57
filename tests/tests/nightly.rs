//! The nightly worker against the local SQS and DynamoDB: when a shift's check-in window has
//! closed, who never came is absent and who never checked out is incomplete (flagged), once,
//! however many runs overlap; reminders go out once; the weekly-hours check warns and sends one
//! digest, reading only the week; stale drafts are archived; the hourly sweep queues every active
//! organisation's jobs.

use std::collections::HashMap;

use api_tests::{HALL, Organisation, TestApp, json_of, member, problem_of, spawn_app, worker};
use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use chrono::{DateTime, Duration, Utc};
use nightly::{Closed, Job, archive_stale_drafts, check_weekly_hours, close_attendance, send_reminders};
use reqwest::StatusCode;
use rota::store::{RequestTrips, s};
use serde_json::{Value, json};

fn around(now: DateTime<Utc>, from_minutes: i64, to_minutes: i64) -> (String, String) {
    ((now + Duration::minutes(from_minutes)).to_rfc3339(), (now + Duration::minutes(to_minutes)).to_rfc3339())
}

async fn check(app: &TestApp, token: &str, direction: &str, shift_id: &str) -> Value {
    let body = json!({ "shift_id": shift_id, "lat": HALL.0, "lng": HALL.1, "accuracy_m": 10.0 });
    let expected = if direction == "in" { StatusCode::CREATED } else { StatusCode::OK };
    json_of(app.post(&format!("/attendance/check-{direction}"), Some(token), body).await, expected).await
}

/// The organisation's records of shifts starting within the last five hours, by person.
async fn records_by_person(app: &TestApp, token: &str, now: DateTime<Utc>) -> HashMap<String, Value> {
    let (from, to) = around(now, -5 * 60, 60);
    let path = format!("/attendance?from={}&to={}", urlencode(&from), urlencode(&to));
    let page = json_of(app.get(&path, token).await, StatusCode::OK).await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|record| (record["person_id"].as_str().unwrap().to_owned(), record.clone()))
        .collect()
}

fn urlencode(instant: &str) -> String {
    instant.replace('+', "%2B")
}

async fn log_of(app: &TestApp, token: &str, attendance_id: &str) -> Vec<Value> {
    let record = json_of(app.get(&format!("/attendance/{attendance_id}"), token).await, StatusCode::OK).await;
    record["events"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_closed_window_makes_who_never_came_absent_and_who_never_left_incomplete() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let org: Organisation = app.organisation(&owner).await;
    let token = Some(owner.access_token.as_str());
    let sam = app.staff_token(&org).await;
    let alex = worker(&app, &owner, &org, "Alex Worker").await;
    // Here an offer counts only once it is answered.
    let strict = json!({ "settings": { "offers_need_answer": true } });
    json_of(app.request(reqwest::Method::PATCH, "/tenant", token, Some(strict)).await, StatusCode::OK).await;
    let now = Utc::now();
    // Ended three hours ago: its window closed two hours ago. Sam accepted it and never came;
    // Alex was only offered it.
    let ended = app.published_shift(token, &org.location_id, &org.position_id, around(now, -4 * 60, -3 * 60)).await;
    app.on_shift(token, &ended, &org.person_id, true).await;
    let offered = json!({ "person_ids": [alex.id], "force": true });
    json_of(app.post(&format!("/shifts/{ended}/assignments"), token, offered).await, StatusCode::CREATED).await;
    // Starting in five minutes: Alex checks in and stays; the owner checks in and out.
    let on_now = app.published_shift(token, &org.location_id, &org.position_id, around(now, 5, 65)).await;
    app.on_shift(token, &on_now, &alex.id, true).await;
    app.on_shift(token, &on_now, &owner.person_id, true).await;
    check(&app, &alex.token, "in", &on_now).await;
    check(&app, &owner.access_token, "in", &on_now).await;
    check(&app, &owner.access_token, "out", &on_now).await;

    // The hourly run, through the queue as the Lambda gets it: only the ended shift has closed.
    let nightly = app.nightly().await;
    let job = serde_json::to_string(&Job::CloseAttendance { tenant_id: owner.tenant_id.clone() }).unwrap();
    nightly.sqs.send_message().queue_url(&nightly.queue_url).message_body(job).send().await.unwrap();
    assert_eq!(nightly::poll(&nightly, 0).await.unwrap(), 1);
    let records = records_by_person(&app, &owner.access_token, now).await;
    assert_eq!(records.len(), 3, "Sam's, Alex's and the owner's; none for an unanswered offer: {records:?}");
    let absent = &records[&org.person_id];
    assert_eq!((absent["status"].as_str(), absent["flagged"].as_bool()), (Some("absent"), Some(false)));
    assert_eq!((absent["shift_id"].as_str(), absent["window_closed"].as_bool()), (Some(ended.as_str()), Some(true)));
    assert_eq!(records[&alex.id]["status"], "on_time", "Alex's window is still open");
    let log = log_of(&app, &owner.access_token, absent["id"].as_str().unwrap()).await;
    assert_eq!(log.len(), 1);
    assert_eq!(
        (log[0]["happening"]["kind"].as_str(), log[0]["by_name"].as_str()),
        (Some("window_closed"), Some("Rota (scheduled job)"))
    );
    // Sam sees it among their own records.
    let mine = json_of(app.get("/me/attendance", &sam).await, StatusCode::OK).await;
    assert_eq!(mine["items"].as_array().unwrap().iter().filter(|record| record["status"] == "absent").count(), 1);

    // Three hours on, the second shift has closed too: Alex never checked out.
    let later = now + Duration::hours(3);
    let closed = close_attendance(&app.store, &owner.tenant_id, later).await.unwrap();
    assert_eq!(closed, Closed { absent: 0, incomplete: 1 });
    let records = records_by_person(&app, &owner.access_token, now).await;
    let incomplete = &records[&alex.id];
    assert_eq!((incomplete["status"].as_str(), incomplete["flagged"].as_bool()), (Some("incomplete"), Some(true)));
    assert!(incomplete["check_in_at"].is_string() && incomplete["check_out_at"].is_null());
    let done = &records[&owner.person_id];
    assert_eq!((done["status"].as_str(), done["window_closed"].as_bool()), (Some("early_exit"), Some(false)));
    // Run again, at the same instant or later: nothing left to close, nothing closed twice.
    for at in [later, later + Duration::hours(1)] {
        assert_eq!(close_attendance(&app.store, &owner.tenant_id, at).await.unwrap(), Closed::default());
    }
    assert_eq!(log_of(&app, &owner.access_token, incomplete["id"].as_str().unwrap()).await.len(), 2);
    assert_eq!(log_of(&app, &owner.access_token, absent["id"].as_str().unwrap()).await.len(), 1);
}

#[tokio::test]
async fn a_no_show_on_an_unanswered_offer_is_absent() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let org = app.organisation(&owner).await;
    let token = Some(owner.access_token.as_str());
    let now = Utc::now();
    // Sam was offered a shift that ended three hours ago, never answered and never came.
    let ended = app.published_shift(token, &org.location_id, &org.position_id, around(now, -4 * 60, -3 * 60)).await;
    let offered = json!({ "person_ids": [org.person_id], "force": true });
    json_of(app.post(&format!("/shifts/{ended}/assignments"), token, offered).await, StatusCode::CREATED).await;

    assert_eq!(close_attendance(&app.store, &owner.tenant_id, now).await.unwrap(), Closed { absent: 1, incomplete: 0 });
    let records = records_by_person(&app, &owner.access_token, now).await;
    let absent = &records[&org.person_id];
    assert_eq!((absent["status"].as_str(), absent["shift_id"].as_str()), (Some("absent"), Some(ended.as_str())));
}

#[tokio::test]
async fn overlapping_runs_close_each_record_once() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let org = app.organisation(&owner).await;
    let token = Some(owner.access_token.as_str());
    let now = Utc::now();
    let ended = app.published_shift(token, &org.location_id, &org.position_id, around(now, -4 * 60, -3 * 60)).await;
    app.on_shift(token, &ended, &org.person_id, true).await;
    app.on_shift(token, &ended, &owner.person_id, true).await;
    let runs = (0..4).map(|_| close_attendance(&app.store, &owner.tenant_id, now));
    let outcomes = futures_util::future::join_all(runs).await;
    // Each run closed what it won; one that lost a record to another fails, to be retried.
    let closed_by_runs: usize =
        outcomes.iter().filter_map(|outcome| outcome.as_ref().ok()).map(|closed| closed.absent).sum();
    assert!((0..=2).contains(&closed_by_runs), "{outcomes:?}");
    // The retry finds nothing left, and every record was closed exactly once.
    assert_eq!(close_attendance(&app.store, &owner.tenant_id, now).await.unwrap(), Closed::default());
    let records = records_by_person(&app, &owner.access_token, now).await;
    assert_eq!(records.len(), 2);
    for record in records.values() {
        assert_eq!((record["status"].as_str(), record["version"].as_u64()), (Some("absent"), Some(1)));
        assert_eq!(log_of(&app, &owner.access_token, record["id"].as_str().unwrap()).await.len(), 1);
    }
}

#[tokio::test]
async fn records_kept_in_the_organisations_partition_are_moved_to_their_own_and_closed() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let org = app.organisation(&owner).await;
    let token = Some(owner.access_token.as_str());
    let now = Utc::now();
    let on_now = app.published_shift(token, &org.location_id, &org.position_id, around(now, 5, 65)).await;
    app.on_shift(token, &on_now, &owner.person_id, true).await;
    let record = check(&app, &owner.access_token, "in", &on_now).await;
    let id = record["id"].as_str().unwrap();
    // The record as it was kept before records had partitions of their own: in the
    // organisation's, its log where it was.
    let (client, table) = app.store.raw();
    let (own, old) = (format!("T#{}#ATTLOG#{id}", owner.tenant_id), format!("T#{}", owner.tenant_id));
    let item_at = |pk: String| {
        let key = HashMap::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(format!("ATT#{id}")))]);
        async move { client.get_item().table_name(table).set_key(Some(key)).send().await.unwrap().item }
    };
    let mut kept = item_at(own.clone()).await.expect("a record in its own partition");
    kept.insert("pk".into(), s(old.clone()));
    client.put_item().table_name(table).set_item(Some(kept.clone())).send().await.unwrap();
    let key = HashMap::from([("pk".to_owned(), s(own.clone())), ("sk".to_owned(), s(format!("ATT#{id}")))]);
    client.delete_item().table_name(table).set_key(Some(key)).send().await.unwrap();
    problem_of(app.get(&format!("/attendance/{id}"), &owner.access_token).await, StatusCode::NOT_FOUND, "not_found")
        .await;

    // The next hourly run moves it first, then closes it where it now is: never checked out.
    let later = now + Duration::hours(3);
    let closed = close_attendance(&app.store, &owner.tenant_id, later).await.unwrap();
    assert_eq!(closed, Closed { absent: 0, incomplete: 1 });
    assert_eq!(item_at(old.clone()).await, None);
    let log = log_of(&app, &owner.access_token, id).await;
    let kinds: Vec<&str> = log.iter().map(|event| event["happening"]["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["check_in", "window_closed"]);
    // A stale copy left behind beside the record at its own key is dropped; the record is kept.
    client.put_item().table_name(table).set_item(Some(kept)).send().await.unwrap();
    assert_eq!(close_attendance(&app.store, &owner.tenant_id, later).await.unwrap(), Closed::default());
    assert_eq!(item_at(old).await, None);
    let record = json_of(app.get(&format!("/attendance/{id}"), &owner.access_token).await, StatusCode::OK).await;
    assert_eq!((record["status"].as_str(), record["version"].as_u64()), (Some("incomplete"), Some(2)));
}

#[tokio::test]
async fn the_sweep_queues_each_active_organisation_once() {
    let app = spawn_app().await;
    let active = app.signup().await;
    let suspended = app.signup().await;
    app.set(&format!("T#{}", suspended.tenant_id), "TENANT", &[("status", json!("suspended"))]).await;
    let nightly = app.nightly().await;
    let queued = nightly::sweep(&nightly).await.unwrap();
    let mut jobs = Vec::new();
    loop {
        let received = nightly
            .sqs
            .receive_message()
            .queue_url(&nightly.queue_url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        let messages = received.messages.unwrap_or_default();
        if messages.is_empty() {
            break;
        }
        for message in messages {
            jobs.push(serde_json::from_str::<Job>(message.body.as_deref().unwrap()).unwrap());
            nightly
                .sqs
                .delete_message()
                .queue_url(&nightly.queue_url)
                .receipt_handle(message.receipt_handle.unwrap())
                .send()
                .await
                .unwrap();
        }
    }
    assert_eq!(jobs.len(), queued);
    // Each of an organisation's five jobs once.
    let of = |tenant_id: &str| {
        Job::of_organisation(tenant_id).map(|wanted| jobs.iter().filter(|job| **job == wanted).count())
    };
    assert_eq!((of(&active.tenant_id), of(&suspended.tenant_id)), ([1; 5], [0; 5]));
}

#[tokio::test]
async fn the_sample_sqs_event_is_handled_and_a_bad_message_fails_alone() {
    let app = spawn_app().await;
    let nightly = app.nightly().await;
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events/nightly-sqs.json");
    let mut event: SqsEvent = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut bad = SqsMessage::default();
    bad.message_id = Some("bad".into());
    bad.body = Some(r#"{"job":"close_everything"}"#.into());
    event.records.push(bad);
    let response = nightly::handle(&nightly, event).await;
    let failed: Vec<_> = response.batch_item_failures.iter().map(|failure| failure.item_identifier.as_str()).collect();
    assert_eq!(failed, ["bad"]);
}

#[test]
fn the_hourly_rule_queues_a_sweep() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml");
    let template: serde_yaml_ng::Value = serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let input = template["Resources"]["HourlySweep"]["Properties"]["Targets"][0]["Input"].as_str().unwrap();
    assert_eq!(serde_json::from_str::<Job>(input).unwrap(), Job::Sweep);
}

/// The subjects of the mail sent to `to` so far.
async fn subjects(app: &TestApp, to: &str) -> Vec<String> {
    app.mail_to(to).await.iter().map(|mail| mail["subject"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn each_place_is_reminded_once_across_overlapping_runs_and_opt_outs_are_honoured() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let org = app.organisation(&owner).await;
    let token = Some(owner.access_token.as_str());
    let sam = app.staff_token(&org).await;
    let alex = worker(&app, &owner, &org, "Alex Quiet").await;
    let opt_out = json!({ "notification_opt_outs": ["shift_reminder"] });
    json_of(app.request(reqwest::Method::PATCH, "/me", Some(&alex.token), Some(opt_out)).await, StatusCode::OK).await;
    let now = Utc::now();
    // In six hours (within the 12 h of the default): Sam only offered it, Alex accepted it.
    let soon = app.published_shift(token, &org.location_id, &org.position_id, around(now, 6 * 60, 10 * 60)).await;
    let offered = json!({ "person_ids": [org.person_id] });
    json_of(app.post(&format!("/shifts/{soon}/assignments"), token, offered).await, StatusCode::CREATED).await;
    app.on_shift(token, &soon, &alex.id, true).await;
    // Tomorrow's, 20 hours ahead: not yet. A draft in two hours: never.
    let tomorrow = app.published_shift(token, &org.location_id, &org.position_id, around(now, 20 * 60, 22 * 60)).await;
    app.on_shift(token, &tomorrow, &org.person_id, true).await;
    let (start, end) = around(now, 2 * 60, 3 * 60);
    let draft = json!({ "location_id": org.location_id, "position_id": org.position_id, "start": start, "end": end, "headcount": 1 });
    let draft =
        json_of(app.post("/shifts", token, draft).await, StatusCode::CREATED).await["id"].as_str().unwrap().to_owned();
    json_of(
        app.post(
            &format!("/shifts/{draft}/assignments"),
            token,
            json!({ "person_ids": [org.person_id], "force": true }),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;

    let nightly = app.nightly().await;
    let (first, second) =
        tokio::join!(send_reminders(&nightly, &owner.tenant_id, now), send_reminders(&nightly, &owner.tenant_id, now));
    assert_eq!(first.unwrap() + second.unwrap(), 2, "Sam's and Alex's, each by one of the runs");
    assert_eq!(send_reminders(&nightly, &owner.tenant_id, now + Duration::minutes(30)).await.unwrap(), 0);
    let reminders = |subjects: Vec<String>| subjects.iter().filter(|s| *s == "Your shift starts soon").count();
    assert_eq!(reminders(subjects(&app, &org.person_email).await), 1);
    assert_eq!(reminders(subjects(&app, &alex.email).await), 0, "Alex opted out");
    let log = json_of(app.get("/notifications", &owner.access_token).await, StatusCode::OK).await;
    let kinds: Vec<(&str, &str)> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == "shift_reminder")
        .map(|n| (n["person_id"].as_str().unwrap(), n["status"].as_str().unwrap()))
        .collect();
    assert_eq!(kinds.len(), 2, "{kinds:?}");
    assert!(
        kinds.contains(&(org.person_id.as_str(), "sent")) && kinds.contains(&(alex.id.as_str(), "opted_out")),
        "{kinds:?}"
    );
    // Nine hours on, tomorrow's shift is within 12 hours: Sam hears of it, once.
    assert_eq!(send_reminders(&nightly, &owner.tenant_id, now + Duration::hours(9)).await.unwrap(), 1);
    assert_eq!(send_reminders(&nightly, &owner.tenant_id, now + Duration::hours(10)).await.unwrap(), 0);
    assert_eq!(reminders(subjects(&app, &org.person_email).await), 2);
    let mine = json_of(app.get("/me/shifts", &sam).await, StatusCode::OK).await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 3, "the fixture's, soon's and tomorrow's: {mine}");
}

/// Monday 1 July 2030 (London, weeks from Monday): the week the hours tests check, at 06:00 on
/// Tuesday.
const TUESDAY: &str = "2030-07-02T06:00:00Z";

#[tokio::test]
async fn a_week_whose_worked_and_scheduled_hours_cross_a_cap_warns_and_digests_once() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let org = app.organisation(&owner).await;
    let token = Some(owner.access_token.as_str());
    let london = json!({ "time_zone": "Europe/London", "settings": { "weekly_hours_cap": 10 } });
    json_of(app.request(reqwest::Method::PATCH, "/tenant", token, Some(london)).await, StatusCode::OK).await;
    let cora = member(&app, &owner, "Cora Coordinator", "coordinator", &[]).await;
    let alex = worker(&app, &owner, &org, "Alex Worker").await;
    let shift = |day: u32| (format!("2030-07-0{day}T08:00:00Z"), format!("2030-07-0{day}T14:00:00Z"));
    // Sam: Monday worked (a corrected record of five hours less the 30 min break), Tuesday and
    // Wednesday still scheduled (5 h 30 paid each, Wednesday's only offered) and the fixture's
    // Thursday (7 h 30, offered): 23 h against 10. Alex: Tuesday, and Wednesday's evening with
    // a 2 h 30 break: 9 h, exactly 90 %, near.
    let monday = app.published_shift(token, &org.location_id, &org.position_id, shift(1)).await;
    let sams_monday = app.on_shift(token, &monday, &org.person_id, true).await;
    let times =
        json!({ "check_in_at": "2030-07-01T08:00:00Z", "check_out_at": "2030-07-01T13:00:00Z", "reason": "Timesheet" });
    json_of(app.post(&format!("/attendance/{sams_monday}/override"), token, times).await, StatusCode::OK).await;
    let tuesday = app.published_shift(token, &org.location_id, &org.position_id, shift(2)).await;
    app.on_shift(token, &tuesday, &org.person_id, true).await;
    app.on_shift(token, &tuesday, &alex.id, true).await;
    let wednesday = app.published_shift(token, &org.location_id, &org.position_id, shift(3)).await;
    let both = json!({ "person_ids": [org.person_id], "force": true });
    json_of(app.post(&format!("/shifts/{wednesday}/assignments"), token, both).await, StatusCode::CREATED).await;
    let body = json!({ "location_id": org.location_id, "position_id": org.position_id, "start": "2030-07-03T15:00:00Z",
                       "end": "2030-07-03T21:00:00Z", "headcount": 1, "break_minutes": 150 });
    let evening =
        json_of(app.post("/shifts", token, body).await, StatusCode::CREATED).await["id"].as_str().unwrap().to_owned();
    json_of(app.post_empty(&format!("/shifts/{evening}/publish"), &owner.access_token).await, StatusCode::OK).await;
    app.on_shift(token, &evening, &alex.id, true).await;

    let nightly = app.nightly().await;
    let now: DateTime<Utc> = TUESDAY.parse().unwrap();
    let (first, second) = tokio::join!(
        check_weekly_hours(&nightly, &owner.tenant_id, now),
        check_weekly_hours(&nightly, &owner.tenant_id, now)
    );
    let (first, second) = (first.unwrap(), second.unwrap());
    assert_eq!((first.week.as_str(), first.warnings, second.warnings), ("2030-07-01", 2, 2));
    assert_eq!(first.digests + second.digests, 2, "one for the owner and one for Cora, over both runs");
    let again = check_weekly_hours(&nightly, &owner.tenant_id, now + Duration::hours(1)).await.unwrap();
    assert_eq!((again.warnings, again.digests), (2, 0));

    // Stored per person and week; any day of the week names it.
    let read = json_of(app.get("/hours-warnings?week=2030-07-04", &cora.access_token).await, StatusCode::OK).await;
    assert_eq!(read["week"], "2030-07-01");
    let items = read["items"].as_array().unwrap();
    let found: Vec<(&str, &str, i64, i64)> = items
        .iter()
        .map(|w| {
            (
                w["person_id"].as_str().unwrap(),
                w["level"].as_str().unwrap(),
                w["worked_minutes"].as_i64().unwrap(),
                w["scheduled_minutes"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(found, [(org.person_id.as_str(), "over", 270, 1110), (alex.id.as_str(), "near", 0, 540)]);
    assert_eq!((items[0]["cap_hours"].as_u64(), items[0]["total_minutes"].as_i64()), (Some(10), Some(1380)));
    let other_week =
        json_of(app.get("/hours-warnings?week=2030-07-08", &owner.access_token).await, StatusCode::OK).await;
    assert_eq!(other_week["items"], json!([]));
    let bad = app.get("/hours-warnings?week=2030-02-30", &owner.access_token).await;
    let problem = problem_of(bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "week");
    let staff = app.staff_token(&org).await;
    problem_of(app.get("/hours-warnings", &staff).await, StatusCode::FORBIDDEN, "forbidden").await;

    // One digest each, listing both.
    for to in [&owner.email, &cora.email] {
        let mail = app.mail_to(to).await;
        let digests: Vec<&Value> =
            mail.iter().filter(|m| m["subject"] == "Weekly hours: 2 near or over the cap").collect();
        assert_eq!(digests.len(), 1, "{to}: {mail:?}");
        let body = digests[0]["body"].as_str().unwrap();
        assert!(
            body.contains("Sam Staff: 23 h 00 min of 10 h (over)")
                && body.contains("Alex Worker: 9 h 00 min of 10 h (near)"),
            "{body}"
        );
    }

    // Alex off Wednesday's evening: below 90 %, the warning goes; no second digest.
    let drop = app.request(reqwest::Method::DELETE, &format!("/assignments/{evening}_{}", alex.id), token, None).await;
    assert_eq!(drop.status(), StatusCode::NO_CONTENT);
    let later = check_weekly_hours(&nightly, &owner.tenant_id, now + Duration::hours(2)).await.unwrap();
    assert_eq!((later.warnings, later.digests), (1, 0));
    let read = json_of(app.get("/hours-warnings?week=2030-07-01", &owner.access_token).await, StatusCode::OK).await;
    assert_eq!(read["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn the_weekly_check_reads_the_same_however_much_unrelated_data_there_is() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let org = app.organisation(&owner).await;
    let token = Some(owner.access_token.as_str());
    // The week: three shifts with the staff member on each.
    for day in 1..=3 {
        let times = (format!("2030-07-0{day}T08:00:00Z"), format!("2030-07-0{day}T12:00:00Z"));
        let shift = app.published_shift(token, &org.location_id, &org.position_id, times).await;
        app.on_shift(token, &shift, &org.person_id, true).await;
    }
    let nightly = app.nightly().await;
    let now: DateTime<Utc> = TUESDAY.parse().unwrap();
    let measure = || async {
        let trips = RequestTrips::default();
        let checked = trips.clone().scope(check_weekly_hours(&nightly, &owner.tenant_id, now)).await.unwrap();
        (checked.items_read, trips.count())
    };
    let before = measure().await;

    // Ten times as much elsewhere: 90 shifts of this organisation in other weeks, and another
    // organisation's 30 in this very week.
    let pattern = |from: &str, to: &str, org: &Organisation| {
        json!({ "location_id": org.location_id, "position_id": org.position_id, "headcount": 1,
                "weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "start_local": "09:00", "end_local": "13:00", "from": from, "to": to })
    };
    json_of(app.post("/shifts/recurring", token, pattern("2030-07-08", "2030-09-22", &org)).await, StatusCode::CREATED)
        .await;
    json_of(app.post("/shifts/recurring", token, pattern("2030-06-17", "2030-06-30", &org)).await, StatusCode::CREATED)
        .await;
    let other = app.signup().await;
    let other_org = app.organisation(&other).await;
    for _ in 0..4 {
        let made = app
            .post("/shifts/recurring", Some(&other.access_token), pattern("2030-07-01", "2030-07-07", &other_org))
            .await;
        json_of(made, StatusCode::CREATED).await;
    }
    let week_of_other = nightly::check_weekly_hours(&nightly, &other.tenant_id, now).await.unwrap();
    assert!(week_of_other.items_read >= 28, "the other organisation's week is read for it: {week_of_other:?}");

    let after = measure().await;
    assert_eq!(after, before, "(items read, round trips) before and after the unrelated data");
    assert_eq!(before.1, 2, "the organisation; the week's shifts and assignments, records, people and warnings");
}

#[tokio::test]
async fn drafts_thirty_days_past_their_start_are_archived_audited_and_unlisted() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let org = app.organisation(&owner).await;
    let token = Some(owner.access_token.as_str());
    let now = Utc::now();
    let draft = |days_ago: i64| {
        let (start, end) = around(now, -days_ago * 24 * 60, -days_ago * 24 * 60 + 4 * 60);
        json!({ "location_id": org.location_id, "position_id": org.position_id, "start": start, "end": end, "headcount": 1 })
    };
    let app = &app;
    let made = |body: Value| async move {
        json_of(app.post("/shifts", token, body).await, StatusCode::CREATED).await["id"].as_str().unwrap().to_owned()
    };
    let stale = made(draft(31)).await;
    let recent = made(draft(29)).await;
    let published = made(draft(40)).await;
    json_of(app.post_empty(&format!("/shifts/{published}/publish"), &owner.access_token).await, StatusCode::OK).await;

    // Two runs at once: one archives it; the other finds it archived or loses it and fails, to be
    // retried (which finds nothing left).
    let (first, second) = tokio::join!(
        archive_stale_drafts(&app.store, &owner.tenant_id, now),
        archive_stale_drafts(&app.store, &owner.tenant_id, now)
    );
    let archived: usize = [&first, &second].iter().filter_map(|run| run.as_ref().ok()).sum();
    assert_eq!(archived, 1, "{first:?} {second:?}");
    assert_eq!(archive_stale_drafts(&app.store, &owner.tenant_id, now + Duration::hours(1)).await.unwrap(), 0);

    let (from, to) = around(now, -45 * 24 * 60, 0);
    let list = |extra: &'static str| {
        let path = format!("/shifts?from={}&to={}{extra}", urlencode(&from), urlencode(&to));
        let owner = owner.access_token.clone();
        async move {
            let page = json_of(app.get(&path, &owner).await, StatusCode::OK).await;
            page["items"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
        }
    };
    let listed = list("").await;
    assert!(!listed.contains(&stale) && listed.contains(&recent) && listed.contains(&published), "{listed:?}");
    assert!(list("&include_archived=true").await.contains(&stale));
    let kept = json_of(app.get(&format!("/shifts/{stale}"), &owner.access_token).await, StatusCode::OK).await;
    assert_eq!((kept["status"].as_str(), kept["archived_at"].is_string()), (Some("draft"), true));
    let audit =
        json_of(app.get(&format!("/audit-logs?entity_id={stale}"), &owner.access_token).await, StatusCode::OK).await;
    let archived: Vec<&Value> =
        audit["items"].as_array().unwrap().iter().filter(|e| e["action"] == "shift.archived").collect();
    assert_eq!(archived.len(), 1, "{audit}");
    assert_eq!(
        (archived[0]["actor_id"].as_str(), archived[0]["before"]["archived_at"].is_null()),
        (Some("rota"), true)
    );
    // A day later the other draft is 30 days past too.
    assert_eq!(archive_stale_drafts(&app.store, &owner.tenant_id, now + Duration::days(2)).await.unwrap(), 1);
}
