//! Payroll as a clerk lives it: a week of attendance closed into pay stubs (daily and weekly
//! overtime, deductions, minor units), closing again changing nothing, a closed week refusing
//! corrections until an owner reopens it, bi-weekly periods that never overlap, and exports.

use api_tests::{Account, Organisation, TestApp, Worker, json_of, problem_of, spawn_app, worker};
use chrono::Datelike;
use reqwest::{Method, StatusCode};
use serde_json::json;

/// A published shift from `start` to `end` (UTC) with `worker` on it, worked as planned (the
/// owner records the times): the attendance record's id.
async fn worked(app: &TestApp, owner: &Account, org: &Organisation, worker: &str, start: &str, end: &str) -> String {
    let token = Some(owner.access_token.as_str());
    let shift = app.published_shift(token, &org.location_id, &org.position_id, (start.into(), end.into())).await;
    let id = app.on_shift(token, &shift, worker, true).await;
    let times = json!({ "check_in_at": start, "check_out_at": end, "reason": "Timesheet" });
    json_of(app.post(&format!("/attendance/{id}/override"), token, times).await, StatusCode::OK).await;
    id
}

/// An organisation paying 15.00 an hour (the position's rate), 20 % tax, with a worker.
async fn payroll() -> (TestApp, Account, Organisation, Worker) {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let org = app.organisation(&owner).await;
    let token = Some(owner.access_token.as_str());
    let rate = json!({ "default_hourly_rate_minor": 1500 });
    json_of(
        app.request(Method::PATCH, &format!("/positions/{}", org.position_id), token, Some(rate)).await,
        StatusCode::OK,
    )
    .await;
    let tax = json!({ "currency": "GBP", "settings": { "deductions": [{ "name": "Tax", "basis_points": 2000 }] } });
    json_of(app.request(Method::PATCH, "/tenant", token, Some(tax)).await, StatusCode::OK).await;
    let sam = worker(&app, &owner, &org, "Sam Paid").await;
    (app, owner, org, sam)
}

fn close(app: &TestApp, owner: &Account, start: &str) -> impl Future<Output = reqwest::Response> {
    let path = format!("/pay-periods/{start}/close");
    let token = owner.access_token.clone();
    async move { app.post_empty(&path, &token).await }
}

#[tokio::test]
async fn a_week_of_ten_hour_days_is_paid_with_each_overtime_minute_counted_once() {
    let (app, owner, org, sam) = payroll().await;
    // Monday 2026-06-01 to Sunday 06-07, 10 h a day after a 30-minute break (London, summer).
    let mut records = Vec::new();
    for day in 1..=7 {
        let (start, end) = (format!("2026-06-0{day}T07:00:00Z"), format!("2026-06-0{day}T17:30:00Z"));
        records.push(worked(&app, &owner, &org, &sam.id, &start, &end).await);
    }
    let closed = json_of(close(&app, &owner, "2026-06-01").await, StatusCode::CREATED).await;
    assert_eq!(
        (closed["period"]["end"].as_str(), closed["period"]["status"].as_str()),
        (Some("2026-06-07"), Some("closed"))
    );
    let stubs = closed["stubs"].as_array().unwrap();
    assert_eq!(stubs.len(), 1);
    let stub = &stubs[0];
    assert_eq!(stub["id"], format!("2026-06-01_{}", sam.id));
    assert_eq!((stub["worked_minutes"].as_i64(), stub["shifts"].as_u64()), (Some(70 * 60), Some(7)));
    // Daily: 2 h a day over 8 h (14 h); weekly: days 6 and 7's regular 16 h are past 40 h.
    assert_eq!((stub["regular_minutes"].as_i64(), stub["overtime_minutes"].as_i64()), (Some(40 * 60), Some(30 * 60)));
    // 40 h × 15.00 = 600.00; 30 h × 22.50 = 675.00; tax 20 % of 1275.00.
    assert_eq!((stub["regular_minor"].as_i64(), stub["overtime_minor"].as_i64()), (Some(60_000), Some(67_500)));
    assert_eq!((stub["gross_minor"].as_i64(), stub["net_minor"].as_i64()), (Some(127_500), Some(102_000)));
    assert_eq!(stub["deductions"], json!([{ "name": "Tax", "amount_minor": 25_500 }]));
    assert_eq!(stub["currency"], "GBP");

    // Closing again changes nothing and writes no second stub.
    let again = json_of(close(&app, &owner, "2026-06-01").await, StatusCode::OK).await;
    assert_eq!(again["stubs"], closed["stubs"]);
    let listed = json_of(app.get("/pay-stubs?period=2026-06-01", &owner.access_token).await, StatusCode::OK).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    // The worker reads their own stub, and nobody else's list.
    let mine = json_of(app.get("/pay-stubs", &sam.token).await, StatusCode::OK).await;
    assert_eq!(mine["items"][0]["net_minor"], 102_000);
    let one =
        json_of(app.get(&format!("/pay-stubs/{}", stub["id"].as_str().unwrap()), &sam.token).await, StatusCode::OK)
            .await;
    assert_eq!(one["id"], stub["id"]);

    // The closed week refuses corrections until an owner reopens it; closing again then
    // recomputes the same stub.
    let fix = json!({ "check_out_at": "2026-06-07T15:30:00Z", "reason": "Left early" });
    let path = format!("/attendance/{}/override", records[6]);
    let refused = app.post(&path, Some(&owner.access_token), fix.clone()).await;
    problem_of(refused, StatusCode::CONFLICT, "conflict").await;
    let reopened =
        json_of(app.post_empty("/pay-periods/2026-06-01/reopen", &owner.access_token).await, StatusCode::OK).await;
    assert_eq!(reopened["status"], "reopened");
    json_of(app.post(&path, Some(&owner.access_token), fix).await, StatusCode::OK).await;
    let reclosed = json_of(close(&app, &owner, "2026-06-01").await, StatusCode::CREATED).await;
    assert_eq!(reclosed["stubs"][0]["id"], stub["id"]);
    assert_eq!(reclosed["stubs"][0]["worked_minutes"], 70 * 60 - 120);
    assert_eq!(reclosed["period"]["version"], 3);
    let listed = json_of(app.get("/pay-stubs?period=2026-06-01", &owner.access_token).await, StatusCode::OK).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    let audit = json_of(
        app.get("/audit-logs?entity_type=pay_period&entity_id=2026-06-01", &owner.access_token).await,
        StatusCode::OK,
    )
    .await;
    let actions: Vec<&str> = audit["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["pay_period.closed", "pay_period.reopened", "pay_period.closed"]);
}

#[tokio::test]
async fn bi_weekly_periods_start_on_a_week_start_never_overlap_and_must_be_over() {
    let (app, owner, org, sam) = payroll().await;
    let token = Some(owner.access_token.as_str());
    let biweekly = json!({ "settings": { "pay_period": "biweekly" } });
    json_of(app.request(Method::PATCH, "/tenant", token, Some(biweekly)).await, StatusCode::OK).await;
    worked(&app, &owner, &org, &sam.id, "2026-06-03T08:00:00Z", "2026-06-03T12:00:00Z").await;
    worked(&app, &owner, &org, &sam.id, "2026-06-12T08:00:00Z", "2026-06-12T12:00:00Z").await;

    let tuesday = close(&app, &owner, "2026-06-02").await;
    let problem = problem_of(tuesday, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "start");
    let closed = json_of(close(&app, &owner, "2026-06-01").await, StatusCode::CREATED).await;
    assert_eq!(closed["period"]["end"], "2026-06-14");
    // Two mornings of 4 h less a 30-minute break, one in each week.
    assert_eq!(
        (closed["stubs"][0]["shifts"].as_u64(), closed["stubs"][0]["worked_minutes"].as_i64()),
        (Some(2), Some(420))
    );
    problem_of(close(&app, &owner, "2026-06-08").await, StatusCode::CONFLICT, "conflict").await;

    // This week's period has not ended.
    let today = chrono::Utc::now().date_naive();
    let monday = today - chrono::Days::new(u64::from(today.weekday().num_days_from_monday()));
    problem_of(close(&app, &owner, &monday.to_string()).await, StatusCode::CONFLICT, "conflict").await;

    // Staff neither close nor reopen.
    let staff_close = app.post_empty("/pay-periods/2026-06-15/close", &sam.token).await;
    problem_of(staff_close, StatusCode::FORBIDDEN, "forbidden").await;
    let staff_reopen = app.post_empty("/pay-periods/2026-06-01/reopen", &sam.token).await;
    problem_of(staff_reopen, StatusCode::FORBIDDEN, "forbidden").await;
}

#[tokio::test]
async fn a_periods_stubs_export_to_a_csv_download() {
    let (app, owner, org, sam) = payroll().await;
    worked(&app, &owner, &org, &sam.id, "2026-06-02T08:00:00Z", "2026-06-02T16:30:00Z").await;
    json_of(close(&app, &owner, "2026-06-01").await, StatusCode::CREATED).await;
    let asked = json!({ "period": "2026-06-01" });
    let export =
        json_of(app.post("/pay-stubs/exports", Some(&owner.access_token), asked).await, StatusCode::CREATED).await;
    assert_eq!(export["rows"], 1);
    let csv = app.http.get(export["url"].as_str().unwrap()).send().await.unwrap().text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(lines[0].starts_with("stub_id,period_start,period_end,person_id,person_name,currency,"));
    // 8 h at 15.00 = 120.00 gross; 24.00 tax; 96.00 net.
    assert!(lines[1].ends_with(",GBP,1500,1,480,480,0,12000,0,12000,2400,9600"), "{}", lines[1]);
    let staff = app.post("/pay-stubs/exports", Some(&sam.token), json!({ "period": "2026-06-01" })).await;
    problem_of(staff, StatusCode::FORBIDDEN, "forbidden").await;
}

/// The same period as the payroll providers import it: ADP paydata and Gusto hours.
#[tokio::test]
async fn a_periods_stubs_export_as_adp_paydata_and_gusto_hours() {
    let (app, owner, org, sam) = payroll().await;
    let token = Some(owner.access_token.as_str());
    // 8 h a day, Monday to Friday, less the 30-minute breaks, and a long Saturday: 40 h regular
    // and 2 h 30 overtime.
    for day in 1..=5 {
        worked(&app, &owner, &org, &sam.id, &format!("2026-06-0{day}T08:00:00Z"), &format!("2026-06-0{day}T16:30:00Z"))
            .await;
    }
    worked(&app, &owner, &org, &sam.id, "2026-06-06T08:00:00Z", "2026-06-06T11:00:00Z").await;
    let closed = json_of(close(&app, &owner, "2026-06-01").await, StatusCode::CREATED).await;
    let stub = &closed["stubs"][0];
    assert_eq!((stub["regular_minutes"].as_i64(), stub["overtime_minutes"].as_i64()), (Some(2400), Some(150)));
    let export = |body: serde_json::Value| app.post("/pay-stubs/exports", token, body);

    // ADP needs the company code, and everyone's File #.
    let problem = problem_of(
        export(json!({ "period": "2026-06-01", "format": "adp" })).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "company_code");
    let adp = json!({ "period": "2026-06-01", "format": "adp", "company_code": "RTA" });
    let problem = problem_of(export(adp.clone()).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "payroll_id");
    assert!(problem["errors"][0]["message"].as_str().unwrap().contains("Sam Paid"), "{problem}");
    let number = json!({ "payroll_id": "004217" });
    let path = format!("/people/{}", sam.id);
    let person = json_of(app.request(Method::PATCH, &path, token, Some(number)).await, StatusCode::OK).await;
    assert_eq!(person["payroll_id"], "004217");
    let seen_by_sam = json_of(app.get(&path, &sam.token).await, StatusCode::OK).await;
    assert_eq!(seen_by_sam["payroll_id"], "004217", "their own");

    let download = json_of(export(adp).await, StatusCode::CREATED).await;
    let url = download["url"].as_str().unwrap();
    assert!(url.split('?').next().unwrap().ends_with("/PRRTAEPI.csv"), "ADP's file name: {url}");
    let file = app.http.get(url).send().await.unwrap().text().await.unwrap();
    assert_eq!(file, "Co Code,Batch ID,File #,Reg Hours,O/T Hours\nRTA,RO0601,004217,40.00,2.50\n");

    let gusto = json_of(export(json!({ "period": "2026-06-01", "format": "gusto" })).await, StatusCode::CREATED).await;
    let file = app.http.get(gusto["url"].as_str().unwrap()).send().await.unwrap().text().await.unwrap();
    assert_eq!(
        file,
        "first_name,last_name,gusto_employee_id,regular_hours,overtime_hours\nSam,Paid,004217,40.00,2.50\n"
    );
}

/// A stub as a PDF: its person downloads it; it reads as the stub it is.
#[tokio::test]
async fn a_stub_downloads_as_a_pdf_holding_its_figures() {
    let (app, owner, org, sam) = payroll().await;
    worked(&app, &owner, &org, &sam.id, "2026-06-02T08:00:00Z", "2026-06-02T16:30:00Z").await;
    let closed = json_of(close(&app, &owner, "2026-06-01").await, StatusCode::CREATED).await;
    let stub_id = closed["stubs"][0]["id"].as_str().unwrap();
    let path = format!("/pay-stubs/{stub_id}/pdf");
    let download = json_of(app.get(&path, &sam.token).await, StatusCode::OK).await;
    let file = app.http.get(download["url"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(file.status(), StatusCode::OK);
    let document = lopdf::Document::load_mem(&file.bytes().await.unwrap()).expect("a PDF");
    let text = document.extract_text(&[1]).expect("its text");
    // 8 h at 15.00 = 120.00 gross; 24.00 tax; 96.00 net.
    for expected in [
        "Pay stub",
        "Sam Paid",
        "2026-06-01 to 2026-06-07",
        "Regular hours",
        "8.00",
        "Overtime hours",
        "0.00",
        "GBP 15.00",
        "GBP 120.00",
        "Tax",
        "GBP -24.00",
        "Net pay",
        "GBP 96.00",
    ] {
        assert!(text.contains(expected), "{expected:?} not in the PDF's text: {text}");
    }
    // Another worker's stub is no stub of theirs; an admin reads anyone's.
    let other = worker(&app, &owner, &org, "Kim Other").await;
    problem_of(app.get(&path, &other.token).await, StatusCode::NOT_FOUND, "not_found").await;
    json_of(app.get(&path, &owner.access_token).await, StatusCode::OK).await;
}

#[tokio::test]
async fn an_events_estimate_prices_its_people_at_their_rates_and_its_open_places_at_the_positions() {
    let (app, owner, org, sam) = payroll().await;
    let token = Some(owner.access_token.as_str());
    // The fixture's event has one published shift, 08:00 to 16:00 less 30 minutes (450 paid), for
    // three, with the organisation's staff member offered a place. The owner takes one at 20.00
    // an hour of their own; Sam is offered one and declines it, so it is open again.
    let owner_id = json_of(app.get("/me", &owner.access_token).await, StatusCode::OK).await["id"].clone();
    let own_rate = json!({ "hourly_rate_minor": 2000 });
    let path = format!("/people/{}", owner_id.as_str().unwrap());
    json_of(app.request(Method::PATCH, &path, token, Some(own_rate)).await, StatusCode::OK).await;
    app.on_shift(token, &org.shift_id, owner_id.as_str().unwrap(), true).await;
    let offered =
        app.post(&format!("/shifts/{}/assignments", org.shift_id), token, json!({ "person_ids": [sam.id] })).await;
    let sams = json_of(offered, StatusCode::CREATED).await["assignments"][0]["id"].as_str().unwrap().to_owned();
    let decline = format!("/assignments/{sams}/status");
    json_of(app.post(&decline, Some(&sam.token), json!({ "status": "declined" })).await, StatusCode::OK).await;
    // A draft for two stewards, a position with no default rate: 4 h, nobody on it yet.
    let steward = json_of(app.post("/positions", token, json!({ "name": "Steward" })).await, StatusCode::CREATED).await;
    let draft = json!({ "location_id": org.location_id, "position_id": steward["id"], "event_id": org.event_id,
                        "start": "2030-07-05T10:00:00Z", "end": "2030-07-05T14:00:00Z", "headcount": 2 });
    let draft = json_of(app.post("/shifts", token, draft).await, StatusCode::CREATED).await;
    // Neither a cancelled shift of the event nor a shift of no event counts.
    let cancelled = json!({ "location_id": org.location_id, "position_id": org.position_id, "event_id": org.event_id,
                            "start": "2030-07-06T10:00:00Z", "end": "2030-07-06T14:00:00Z", "headcount": 5 });
    let cancelled = json_of(app.post("/shifts", token, cancelled).await, StatusCode::CREATED).await;
    let cancel = format!("/shifts/{}/cancel", cancelled["id"].as_str().unwrap());
    json_of(app.post_empty(&cancel, &owner.access_token).await, StatusCode::OK).await;
    let elsewhere = ("2030-07-04T18:00:00Z".to_owned(), "2030-07-04T22:00:00Z".to_owned());
    app.published_shift(token, &org.location_id, &org.position_id, elsewhere).await;

    let path = format!("/events/{}/cost-estimate", org.event_id);
    let estimate = json_of(app.get(&path, &owner.access_token).await, StatusCode::OK).await;
    // The owner 450 min × 20.00 = 150.00; the staff member (no rate of their own) and the open
    // place at the bartender's 15.00: 112.50 each. The stewards' places have no rate at all.
    let lines = estimate["shifts"].as_array().unwrap();
    let ids: Vec<&str> = lines.iter().map(|line| line["shift_id"].as_str().unwrap()).collect();
    assert_eq!(ids, [org.shift_id.as_str(), draft["id"].as_str().unwrap()]);
    let bar = &lines[0];
    assert_eq!(
        (bar["paid_minutes"].as_i64(), bar["assigned"].as_u64(), bar["open_places"].as_u64()),
        (Some(450), Some(2), Some(1))
    );
    assert_eq!((bar["assigned_minor"].as_i64(), bar["open_minor"].as_i64()), (Some(26_250), Some(11_250)));
    let stewards = &lines[1];
    assert_eq!((stewards["status"].as_str(), stewards["total_minor"].as_i64()), (Some("draft"), Some(0)));
    assert_eq!((stewards["open_places"].as_u64(), stewards["unpriced_places"].as_u64()), (Some(2), Some(2)));
    assert_eq!(
        estimate,
        json!({ "event_id": org.event_id, "currency": "GBP", "people": 2, "places": 5, "open_places": 3,
                "paid_minutes": 3 * 450 + 2 * 240, "assigned_minor": 26_250, "open_minor": 11_250,
                "total_minor": 37_500, "unpriced_places": 2, "shifts": lines,
                "days": [
                    { "date": "2030-07-04", "places": 3, "paid_minutes": 1350, "total_minor": 37_500, "unpriced_places": 0 },
                    { "date": "2030-07-05", "places": 2, "paid_minutes": 480, "total_minor": 0, "unpriced_places": 2 },
                ] }),
    );

    // A rate set later counts at once; staff cannot read the estimate; another id is 404.
    let rate = json!({ "default_hourly_rate_minor": 1000 });
    let path_of_steward = format!("/positions/{}", steward["id"].as_str().unwrap());
    json_of(app.request(Method::PATCH, &path_of_steward, token, Some(rate)).await, StatusCode::OK).await;
    let again = json_of(app.get(&path, &owner.access_token).await, StatusCode::OK).await;
    assert_eq!((again["total_minor"].as_i64(), again["unpriced_places"].as_u64()), (Some(37_500 + 8_000), Some(0)));
    problem_of(app.get(&path, &sam.token).await, StatusCode::FORBIDDEN, "forbidden").await;
    let unknown = app.get("/events/01JNOSUCHEVENT000000000000/cost-estimate", &owner.access_token).await;
    problem_of(unknown, StatusCode::NOT_FOUND, "not_found").await;
}
