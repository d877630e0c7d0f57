//! Attendance as a worker and their supervisor live it: checking in on site within the window
//! (and being refused a metre beyond the geofence or a minute early), retries that record once,
//! late and on time at the grace edge, checking out, corrections that keep the original, the
//! review queue, hours, and exports a spreadsheet opens safely.

use api_tests::{Account, HALL, Organisation, TestApp, Worker, json_of, north_of, problem_of, spawn_app, worker};
use chrono::{Duration, Utc};
use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn minutes_from_now(minutes: i64) -> String {
    (Utc::now() + Duration::minutes(minutes)).to_rfc3339()
}

/// A published shift at the hall from `start` to `end` minutes from now, with `worker` on it.
async fn shift_for(app: &TestApp, owner: &Account, org: &Organisation, worker: &str, start: i64, end: i64) -> String {
    let token = Some(owner.access_token.as_str());
    let times = (minutes_from_now(start), minutes_from_now(end));
    let shift_id = app.published_shift(token, &org.location_id, &org.position_id, times).await;
    app.on_shift(token, &shift_id, worker, false).await;
    shift_id
}

fn at_hall(shift_id: &str, metres_north: f64) -> Value {
    let (lat, lng) = north_of(HALL.0, HALL.1, metres_north);
    json!({ "shift_id": shift_id, "lat": lat, "lng": lng, "accuracy_m": 8.0 })
}

async fn check(app: &TestApp, direction: &str, token: &str, key: Option<&str>, body: Value) -> reqwest::Response {
    let mut request = app.http.post(format!("{}/attendance/{direction}", app.address)).bearer_auth(token).json(&body);
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    request.send().await.unwrap()
}

/// PUTs a JPEG to the presigned `upload` (`POST /attendance/photo-url`'s answer), as a device does.
async fn put_photo(app: &TestApp, upload: &Value, photo: Vec<u8>) {
    let url = upload["url"].as_str().unwrap();
    let put = app.http.put(url).header("content-type", "image/jpeg").body(photo).send().await.unwrap();
    assert!(put.status().is_success(), "{}", put.status());
}

async fn record(app: &TestApp, token: &str, attendance_id: &str) -> Value {
    json_of(app.get(&format!("/attendance/{attendance_id}"), token).await, StatusCode::OK).await
}

fn kinds(record: &Value) -> Vec<&str> {
    record["events"].as_array().unwrap().iter().map(|event| event["happening"]["kind"].as_str().unwrap()).collect()
}

async fn setup(name: &str) -> (TestApp, Account, Organisation, Worker) {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let org = app.organisation(&owner).await;
    let sam = worker(&app, &owner, &org, name).await;
    (app, owner, org, sam)
}

#[tokio::test]
async fn a_metre_inside_the_geofence_checks_in_and_a_metre_beyond_is_refused_with_the_distance() {
    let (app, owner, org, sam) = setup("Sam Gate").await;
    let shift = shift_for(&app, &owner, &org, &sam.id, -2, 8 * 60).await;

    let beyond = check(&app, "check-in", &sam.token, None, at_hall(&shift, 151.0)).await;
    let problem = problem_of(beyond, StatusCode::UNPROCESSABLE_ENTITY, "outside_geofence").await;
    assert_eq!((problem["distance_m"].as_u64(), problem["radius_m"].as_u64()), (Some(151), Some(150)));

    let inside =
        json_of(check(&app, "check-in", &sam.token, None, at_hall(&shift, 149.0)).await, StatusCode::CREATED).await;
    assert_eq!(inside["id"], format!("{shift}_{}", sam.id));
    assert_eq!((inside["distance_m"].as_u64(), inside["radius_m"].as_u64()), (Some(149), Some(150)));
    assert_eq!((inside["status"].as_str(), inside["flagged"].as_bool()), (Some("on_time"), Some(false)));
    // No photo with none required: a little risk, below review.
    assert_eq!(inside["risk_score"], 10);
    let again = check(&app, "check-in", &sam.token, None, at_hall(&shift, 0.0)).await;
    problem_of(again, StatusCode::CONFLICT, "conflict").await;
}

#[tokio::test]
async fn checking_in_opens_an_hour_before_the_start_to_the_minute() {
    let (app, owner, org, sam) = setup("Sam Early").await;
    // Opens in a minute: refused, with the window.
    let soon = shift_for(&app, &owner, &org, &sam.id, 61, 5 * 60).await;
    let early = check(&app, "check-in", &sam.token, None, at_hall(&soon, 0.0)).await;
    let problem = problem_of(early, StatusCode::UNPROCESSABLE_ENTITY, "outside_window").await;
    let opens_at: chrono::DateTime<Utc> = problem["opens_at"].as_str().unwrap().parse().unwrap();
    let until_open = opens_at - Utc::now();
    assert!((Duration::seconds(30)..=Duration::seconds(61)).contains(&until_open), "{until_open}");
    assert!(problem["closes_at"].is_string());

    // Opened a minute ago (the owner's shift: Sam's overlaps it): on time, well before the start.
    let opened = app
        .published_shift(
            Some(&owner.access_token),
            &org.location_id,
            &org.position_id,
            (minutes_from_now(59), minutes_from_now(6 * 60)),
        )
        .await;
    let kim = worker(&app, &owner, &org, "Kim Prompt").await;
    app.on_shift(Some(&owner.access_token), &opened, &kim.id, false).await;
    let checked =
        json_of(check(&app, "check-in", &kim.token, None, at_hall(&opened, 0.0)).await, StatusCode::CREATED).await;
    assert_eq!(checked["status"], "on_time");
}

#[tokio::test]
async fn a_minute_past_the_grace_is_late_and_a_minute_inside_it_is_on_time() {
    let (app, owner, org, sam) = setup("Sam Late").await;
    let started_6_ago = shift_for(&app, &owner, &org, &sam.id, -6, 8 * 60).await;
    let late =
        json_of(check(&app, "check-in", &sam.token, None, at_hall(&started_6_ago, 0.0)).await, StatusCode::CREATED)
            .await;
    assert_eq!((late["status"].as_str(), late["attendance"]["late_minutes"].as_i64()), (Some("late"), Some(6)));

    let kim = worker(&app, &owner, &org, "Kim Grace").await;
    let started_4_ago = shift_for(&app, &owner, &org, &kim.id, -4, 8 * 60).await;
    let on_time =
        json_of(check(&app, "check-in", &kim.token, None, at_hall(&started_4_ago, 0.0)).await, StatusCode::CREATED)
            .await;
    assert_eq!(
        (on_time["status"].as_str(), on_time["attendance"]["late_minutes"].as_i64()),
        (Some("on_time"), Some(0))
    );

    // The coordinator's list finds the late one by status (the fixture's records started earlier).
    let from = (Utc::now() - Duration::minutes(30)).format("%Y-%m-%dT%H:%M:%SZ");
    let late_ones = app.get(&format!("/attendance?status=late&from={from}"), &owner.access_token).await;
    let late_ones = json_of(late_ones, StatusCode::OK).await;
    let people: Vec<&str> =
        late_ones["items"].as_array().unwrap().iter().map(|r| r["person_id"].as_str().unwrap()).collect();
    assert_eq!(people, [sam.id.as_str()]);
}

#[tokio::test]
async fn a_retried_check_in_records_once_and_answers_the_same_even_in_a_burst() {
    let (app, owner, org, sam) = setup("Sam Retry").await;
    let shift = shift_for(&app, &owner, &org, &sam.id, -1, 8 * 60).await;
    let body = at_hall(&shift, 20.0);
    let answers = join_all((0..6).map(|_| check(&app, "check-in", &sam.token, Some("tap-7f3a"), body.clone()))).await;
    let mut bodies = Vec::new();
    for answer in answers {
        bodies.push(json_of(answer, StatusCode::CREATED).await);
    }
    assert!(bodies.iter().all(|body| *body == bodies[0]), "every retry gets the first answer");
    let again = json_of(check(&app, "check-in", &sam.token, Some("tap-7f3a"), body).await, StatusCode::CREATED).await;
    assert_eq!(again, bodies[0]);
    let attendance = record(&app, &sam.token, bodies[0]["id"].as_str().unwrap()).await;
    assert_eq!(kinds(&attendance), ["check_in"]);

    // The key names one request: another body under it is refused, and records nothing.
    let other = check(&app, "check-in", &sam.token, Some("tap-7f3a"), at_hall(&shift, 30.0)).await;
    let problem = problem_of(other, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "Idempotency-Key");
    let bad_key = check(&app, "check-in", &sam.token, Some("has space"), at_hall(&shift, 30.0)).await;
    problem_of(bad_key, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
}

#[tokio::test]
async fn checking_out_needs_a_check_in_and_early_leaving_is_counted() {
    let (app, owner, org, sam) = setup("Sam Leaves").await;
    let shift = shift_for(&app, &owner, &org, &sam.id, -3, 4 * 60).await;
    let too_soon = check(&app, "check-out", &sam.token, None, at_hall(&shift, 0.0)).await;
    problem_of(too_soon, StatusCode::CONFLICT, "conflict").await;
    json_of(check(&app, "check-in", &sam.token, None, at_hall(&shift, 0.0)).await, StatusCode::CREATED).await;
    let out = json_of(check(&app, "check-out", &sam.token, None, at_hall(&shift, 10.0)).await, StatusCode::OK).await;
    assert_eq!(out["status"], "early_exit");
    let early = out["attendance"]["early_minutes"].as_i64().unwrap();
    assert!((239..=240).contains(&early), "{early}");
    assert_eq!(out["attendance"]["worked_minutes"], 0, "minutes on site less the 30-minute break, never negative");
    let twice = check(&app, "check-out", &sam.token, None, at_hall(&shift, 10.0)).await;
    problem_of(twice, StatusCode::CONFLICT, "conflict").await;

    // Someone not on a shift cannot check in to it.
    let kim = worker(&app, &owner, &org, "Kim Elsewhere").await;
    let stranger = check(&app, "check-in", &kim.token, None, at_hall(&shift, 0.0)).await;
    problem_of(stranger, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn ten_checks_a_minute_per_person_and_the_eleventh_waits_even_in_a_burst() {
    let (app, owner, org, sam) = setup("Sam Taps").await;
    let shift = shift_for(&app, &owner, &org, &sam.id, -1, 60).await;
    // Checking out before checking in: refused every time, but every attempt counts.
    let answers = join_all((0..13).map(|_| check(&app, "check-out", &sam.token, None, at_hall(&shift, 0.0)))).await;
    let limited: Vec<&reqwest::Response> =
        answers.iter().filter(|r| r.status() == StatusCode::TOO_MANY_REQUESTS).collect();
    assert_eq!(limited.len(), 3, "exactly the attempts after the tenth");
    let wait: u64 = limited[0].headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert_eq!(answers.iter().filter(|r| r.status() == StatusCode::CONFLICT).count(), 10);
}

#[tokio::test]
async fn a_photo_is_uploaded_to_the_signed_url_and_only_a_stored_one_is_recorded() {
    let (app, owner, org, sam) = setup("Sam Smile").await;
    let shift = shift_for(&app, &owner, &org, &sam.id, -1, 8 * 60).await;
    let photo = vec![0xff_u8; 4096];
    let asked = json!({ "shift_id": shift, "content_type": "image/jpeg", "content_length": photo.len() });
    let upload =
        json_of(app.post("/attendance/photo-url", Some(&sam.token), asked.clone()).await, StatusCode::CREATED).await;
    let key = upload["key"].as_str().unwrap().to_owned();
    assert!(key.starts_with(&format!("tenants/{}/attendance/{shift}/{}/", owner.tenant_id, sam.id)), "{key}");

    let mut with_photo = at_hall(&shift, 0.0);
    with_photo["photo_key"] = json!(key);
    let not_yet = check(&app, "check-in", &sam.token, None, with_photo.clone()).await;
    let problem = problem_of(not_yet, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "photo_key");

    put_photo(&app, &upload, photo).await;
    let checked = json_of(check(&app, "check-in", &sam.token, None, with_photo).await, StatusCode::CREATED).await;
    assert_eq!(checked["attendance"]["check_in"]["photo_key"], key.as_str());
    assert_eq!(checked["risk_score"], 0);

    // Someone else's folder is refused before anything is read; a shift one is not on is 404.
    let mut elsewhere = at_hall(&shift, 0.0);
    elsewhere["photo_key"] = json!(format!("tenants/{}/people/{}/photo.jpg", owner.tenant_id, sam.id));
    let refused = check(&app, "check-out", &sam.token, None, elsewhere).await;
    problem_of(refused, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let kim = worker(&app, &owner, &org, "Kim Camera").await;
    let not_on_it = app.post("/attendance/photo-url", Some(&kim.token), asked).await;
    problem_of(not_on_it, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn a_correction_is_an_event_that_keeps_the_original_and_is_audited() {
    let (app, owner, org, sam) = setup("Sam Corrected").await;
    let shift = shift_for(&app, &owner, &org, &sam.id, -20, 8 * 60).await;
    let late =
        json_of(check(&app, "check-in", &sam.token, None, at_hall(&shift, 0.0)).await, StatusCode::CREATED).await;
    assert_eq!(late["status"], "late");
    let id = late["id"].as_str().unwrap();
    let original = late["attendance"]["check_in"].clone();

    let start =
        json_of(app.get(&format!("/shifts/{shift}"), &owner.access_token).await, StatusCode::OK).await["start"].clone();
    let path = format!("/attendance/{id}/override");
    let needs_reason = app.post(&path, Some(&owner.access_token), json!({ "check_in_at": start, "reason": " " })).await;
    problem_of(needs_reason, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let staff = app.post(&path, Some(&sam.token), json!({ "check_in_at": start, "reason": "I was here" })).await;
    problem_of(staff, StatusCode::FORBIDDEN, "forbidden").await;
    let body = json!({ "check_in_at": start, "reason": "Queue at the gate; seen by the supervisor" });
    let corrected = json_of(app.post(&path, Some(&owner.access_token), body).await, StatusCode::OK).await;
    assert_eq!((corrected["status"].as_str(), corrected["overridden"].as_bool()), (Some("on_time"), Some(true)));
    assert_eq!(corrected["check_in"], original, "the mark made on site stays as it was");

    let attendance = record(&app, &sam.token, id).await;
    assert_eq!(kinds(&attendance), ["check_in", "override"]);
    assert_eq!(attendance["events"][1]["happening"]["reason"], "Queue at the gate; seen by the supervisor");
    let audit = app.get(&format!("/audit-logs?entity_type=attendance&entity_id={id}"), &owner.access_token).await;
    let audit = json_of(audit, StatusCode::OK).await;
    let actions: Vec<&str> = audit["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["attendance.overridden"]);
    assert_eq!(audit["items"][0]["before"]["status"], "late");
}

#[tokio::test]
async fn a_vague_position_waits_for_review_until_an_admin_decides() {
    let (app, owner, org, sam) = setup("Sam Vague").await;
    let shift = shift_for(&app, &owner, &org, &sam.id, -1, 8 * 60).await;
    let vague = json!({ "shift_id": shift, "lat": HALL.0, "lng": HALL.1, "accuracy_m": 900.0 });
    let checked = json_of(check(&app, "check-in", &sam.token, None, vague).await, StatusCode::CREATED).await;
    assert_eq!((checked["flagged"].as_bool(), checked["risk_score"].as_u64()), (Some(true), Some(40)));
    let id = checked["id"].as_str().unwrap();

    let queue = json_of(app.get("/admin/face-reviews", &owner.access_token).await, StatusCode::OK).await;
    let waiting: Vec<&str> =
        queue["items"].as_array().unwrap().iter().map(|r| r["attendance_id"].as_str().unwrap()).collect();
    assert_eq!(waiting, [id]);
    problem_of(app.get("/admin/face-reviews", &sam.token).await, StatusCode::FORBIDDEN, "forbidden").await;

    let path = format!("/admin/verify-face/{id}");
    let decision = json!({ "decision": "verified", "note": "GPS is poor in the hall" });
    let decided = json_of(app.post(&path, Some(&owner.access_token), decision.clone()).await, StatusCode::OK).await;
    assert_eq!(decided["review"]["state"], "verified");
    assert_eq!(decided["review"]["decided_by"], owner.person_id.as_str());
    let twice = app.post(&path, Some(&owner.access_token), decision).await;
    problem_of(twice, StatusCode::CONFLICT, "conflict").await;
    let queue = json_of(app.get("/admin/face-reviews", &owner.access_token).await, StatusCode::OK).await;
    assert_eq!(queue["items"], json!([]));
    assert_eq!(kinds(&record(&app, &owner.access_token, id).await), ["check_in", "review"]);
}

#[tokio::test]
async fn hours_split_a_long_day_into_regular_and_overtime_and_count_real_minutes_over_a_clock_change() {
    let (app, owner, org, sam) = setup("Sam Hours").await;
    let token = Some(owner.access_token.as_str());
    // A 10-hour day (30-minute break) in July, and a night across the October clock change in
    // London (01:00 BST → 01:00 GMT): 23:00 BST to 07:00 GMT is 9 real hours.
    let day = app
        .published_shift(
            token,
            &org.location_id,
            &org.position_id,
            ("2030-07-01T07:00:00Z".into(), "2030-07-01T17:30:00Z".into()),
        )
        .await;
    let night = app
        .published_shift(
            token,
            &org.location_id,
            &org.position_id,
            ("2030-10-26T22:00:00Z".into(), "2030-10-27T07:00:00Z".into()),
        )
        .await;
    for shift in [&day, &night] {
        let id = app.on_shift(token, shift, &sam.id, false).await;
        let detail = json_of(app.get(&format!("/shifts/{shift}"), &owner.access_token).await, StatusCode::OK).await;
        let worked =
            json!({ "check_in_at": detail["start"], "check_out_at": detail["end"], "reason": "Paper timesheet" });
        json_of(app.post(&format!("/attendance/{id}/override"), token, worked).await, StatusCode::OK).await;
    }
    let july = json_of(app.get("/me/hours?from=2030-07-01&to=2030-07-07", &sam.token).await, StatusCode::OK).await;
    assert_eq!(july["worked_minutes"], 600);
    assert_eq!((july["regular_minutes"].as_i64(), july["overtime_minutes"].as_i64()), (Some(480), Some(120)));
    assert_eq!(july["days"], json!([{ "date": "2030-07-01", "worked_minutes": 600 }]));
    let october = json_of(app.get("/me/hours?from=2030-10-26&to=2030-10-27", &sam.token).await, StatusCode::OK).await;
    assert_eq!(october["days"], json!([{ "date": "2030-10-26", "worked_minutes": 9 * 60 - 30 }]));
    assert_eq!(october["shifts"], 1);
    let backwards = app.get("/me/hours?from=2030-07-07&to=2030-07-01", &sam.token).await;
    problem_of(backwards, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;

    let mine = json_of(app.get("/me/attendance?from=2030-01-01T00:00:00Z", &sam.token).await, StatusCode::OK).await;
    let shifts: Vec<&str> = mine["items"].as_array().unwrap().iter().map(|r| r["shift_id"].as_str().unwrap()).collect();
    assert_eq!(shifts, [day.as_str(), night.as_str()]);
}

#[tokio::test]
async fn an_export_is_a_csv_download_that_a_spreadsheet_opens_safely() {
    let (app, owner, org, _) = setup("Sam Export").await;
    let token = Some(owner.access_token.as_str());
    let mallory = worker(&app, &owner, &org, "=HYPERLINK(\"http://evil\")").await;
    let shift = app
        .published_shift(
            token,
            &org.location_id,
            &org.position_id,
            ("2030-07-02T08:00:00Z".into(), "2030-07-02T12:00:00Z".into()),
        )
        .await;
    // A formula after a `;`: a spreadsheet where `;` separates cells would open `=cmd…` as one.
    let bob = worker(&app, &owner, &org, "Bob;=cmd|' /C calc'!A0").await;
    let worked = json!({ "check_in_at": "2030-07-02T08:10:00Z", "check_out_at": "2030-07-02T12:00:00Z", "reason": "Paper timesheet" });
    for person in [&mallory.id, &bob.id] {
        let id = app.on_shift(token, &shift, person, false).await;
        json_of(app.post(&format!("/attendance/{id}/override"), token, worked.clone()).await, StatusCode::OK).await;
    }

    let asked = json!({ "from": "2030-07-01", "to": "2030-07-31" });
    let export = json_of(app.post("/attendance/exports", token, asked).await, StatusCode::CREATED).await;
    assert_eq!(export["rows"], 2);
    let csv = app.http.get(export["url"].as_str().unwrap()).send().await.unwrap().text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[0].starts_with("attendance_id,date,person_id,person_name,"), "{}", lines[0]);
    let row = |person: &str| *lines.iter().find(|line| line.contains(person)).unwrap();
    assert!(row(&mallory.id).contains("\"'=HYPERLINK(\"\"http://evil\"\")\""), "{}", row(&mallory.id));
    assert!(row(&mallory.id).contains(",late,10,0,"), "{}", row(&mallory.id));
    assert!(row(&bob.id).contains(",Bob;'=cmd|' /C calc'!A0,"), "{}", row(&bob.id));
    assert!(!csv.contains(";=") && !csv.contains("\"=") && !csv.contains(",="), "{csv}");

    let nobody = json!({ "from": "2030-07-01", "to": "2030-07-31", "person_id": ulid::Ulid::new().to_string() });
    problem_of(app.post("/attendance/exports", token, nobody).await, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn checking_in_to_an_offer_accepts_it_and_a_declined_place_stays_refused() {
    let (app, owner, org, sam) = setup("Sam Shows").await;
    let token = Some(owner.access_token.as_str());
    let shift = app
        .published_shift(token, &org.location_id, &org.position_id, (minutes_from_now(-2), minutes_from_now(8 * 60)))
        .await;
    // Offered only: Sam never tapped "accept".
    let offered = app.post(&format!("/shifts/{shift}/assignments"), token, json!({ "person_ids": [sam.id] })).await;
    let assignment = json_of(offered, StatusCode::CREATED).await["assignments"][0]["id"].as_str().unwrap().to_owned();

    let checked =
        json_of(check(&app, "check-in", &sam.token, None, at_hall(&shift, 0.0)).await, StatusCode::CREATED).await;
    assert_eq!(
        (checked["status"].as_str(), checked["attendance"]["check_in"]["accepted_offer"].as_bool()),
        (Some("on_time"), Some(true))
    );
    // The place is accepted; the log and the audit say the check-in did it.
    let detail = json_of(app.get(&format!("/shifts/{shift}"), &owner.access_token).await, StatusCode::OK).await;
    assert_eq!(detail["assignments"][0]["status"], "accepted");
    let logged = record(&app, &owner.access_token, &assignment).await;
    assert_eq!(kinds(&logged), ["check_in"]);
    assert_eq!(logged["events"][0]["happening"]["accepted_offer"], true);
    let audit =
        json_of(app.get(&format!("/audit-logs?entity_id={assignment}"), &owner.access_token).await, StatusCode::OK)
            .await;
    let actions: Vec<&str> = audit["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert!(actions.contains(&"assignment.accepted_by_check_in"), "{actions:?}");
    let entry =
        audit["items"].as_array().unwrap().iter().find(|e| e["action"] == "assignment.accepted_by_check_in").unwrap();
    assert_eq!(
        (entry["actor_id"].as_str(), entry["before"]["status"].as_str(), entry["after"]["status"].as_str()),
        (Some(sam.id.as_str()), Some("offered"), Some("accepted"))
    );
    // Checking out accepts nothing more.
    let out = json_of(check(&app, "check-out", &sam.token, None, at_hall(&shift, 0.0)).await, StatusCode::OK).await;
    assert_eq!(out["attendance"]["check_out"]["accepted_offer"], false);

    // Kim declined the place: a check-in stays refused, and nothing is recorded.
    let kim = worker(&app, &owner, &org, "Kim Declines").await;
    let other = app
        .published_shift(token, &org.location_id, &org.position_id, (minutes_from_now(-2), minutes_from_now(60)))
        .await;
    let offered = app
        .post(&format!("/shifts/{other}/assignments"), token, json!({ "person_ids": [kim.id], "force": true }))
        .await;
    let kims = json_of(offered, StatusCode::CREATED).await["assignments"][0]["id"].as_str().unwrap().to_owned();
    json_of(
        app.post(&format!("/assignments/{kims}/status"), Some(&kim.token), json!({ "status": "declined" })).await,
        StatusCode::OK,
    )
    .await;
    problem_of(
        check(&app, "check-in", &kim.token, None, at_hall(&other, 0.0)).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    problem_of(app.get(&format!("/attendance/{kims}"), &owner.access_token).await, StatusCode::NOT_FOUND, "not_found")
        .await;
}

#[tokio::test]
async fn where_a_photo_is_required_a_check_in_without_one_is_refused_naming_why() {
    let (app, owner, org, sam) = setup("Sam Snap").await;
    let shift = shift_for(&app, &owner, &org, &sam.id, -1, 8 * 60).await;
    let required = json!({ "settings": { "photo_required": true } });
    json_of(
        app.request(reqwest::Method::PATCH, "/tenant", Some(&owner.access_token), Some(required)).await,
        StatusCode::OK,
    )
    .await;

    let refused = check(&app, "check-in", &sam.token, Some("no-photo-1"), at_hall(&shift, 0.0)).await;
    let problem = problem_of(refused, StatusCode::UNPROCESSABLE_ENTITY, "photo_required").await;
    assert_eq!(problem["type"], "/problems/photo_required");
    assert!(problem["detail"].as_str().unwrap().contains("photo_key"), "{problem}");
    // Nothing was recorded: the record does not exist.
    let attendance_id = format!("{shift}_{}", sam.id);
    problem_of(
        app.get(&format!("/attendance/{attendance_id}"), &owner.access_token).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    // With the photo uploaded, it is accepted and scores nothing for it.
    let photo = vec![0xff_u8; 2048];
    let asked = json!({ "shift_id": shift, "content_type": "image/jpeg", "content_length": photo.len() });
    let upload = json_of(app.post("/attendance/photo-url", Some(&sam.token), asked).await, StatusCode::CREATED).await;
    put_photo(&app, &upload, photo).await;
    let mut with_photo = at_hall(&shift, 0.0);
    with_photo["photo_key"] = upload["key"].clone();
    let checked = json_of(check(&app, "check-in", &sam.token, None, with_photo).await, StatusCode::CREATED).await;
    assert_eq!((checked["status"].as_str(), checked["risk_score"].as_u64()), (Some("on_time"), Some(0)));
}

#[tokio::test]
async fn a_check_in_and_a_decline_of_one_offer_at_once_end_in_one_story() {
    let (app, owner, org, sam) = setup("Sam Torn").await;
    let token = Some(owner.access_token.as_str());
    let times = (minutes_from_now(-2), minutes_from_now(8 * 60));
    let shift = app.published_shift(token, &org.location_id, &org.position_id, times).await;
    let offered = app.post(&format!("/shifts/{shift}/assignments"), token, json!({ "person_ids": [sam.id] })).await;
    let place = json_of(offered, StatusCode::CREATED).await["assignments"][0]["id"].as_str().unwrap().to_owned();

    let answer = format!("/assignments/{place}/status");
    let decline = app.post(&answer, Some(&sam.token), json!({ "status": "declined" }));
    let (checked, declined) = tokio::join!(check(&app, "check-in", &sam.token, None, at_hall(&shift, 0.0)), decline);
    let (checked, declined) = (checked.status(), declined.status());
    let detail = json_of(app.get(&format!("/shifts/{shift}"), &owner.access_token).await, StatusCode::OK).await;
    let record = app.get(&format!("/attendance/{place}"), &owner.access_token).await.status();
    match (checked, declined) {
        // The check-in won: the place is accepted and the decline came too late.
        (StatusCode::CREATED, StatusCode::CONFLICT) => {
            assert_eq!((detail["assignments"][0]["status"].as_str(), record), (Some("accepted"), StatusCode::OK));
        }
        // The decline won: no record, the place open again.
        (StatusCode::NOT_FOUND | StatusCode::CONFLICT, StatusCode::OK) => {
            assert_eq!(
                (detail["assignments"][0]["status"].as_str(), record),
                (Some("declined"), StatusCode::NOT_FOUND)
            );
            assert_eq!(detail["assigned_count"], 0);
        }
        other => panic!("both or neither won: {other:?}"),
    }
}
