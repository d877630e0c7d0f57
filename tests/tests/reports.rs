//! The operations manager's Monday: last week's hours, scheduled against worked, with overtime,
//! lateness, no-shows and cost, per person, position, location, event and unit — every grouping
//! adding up to the same total, which is the sum of the week's attendance records — and the same
//! as a CSV file for the spreadsheet.

use api_tests::{Account, Organisation, TestApp, json_of, problem_of, spawn_app, worker};
use chrono::{Datelike, Days, NaiveDate, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// A published shift on `day` from `hours` (UTC) with a 30-minute break and one place per person
/// in `people`, who are placed on it and, when `accept`, accept: the shift as created.
async fn shift(
    app: &TestApp,
    owner: &Account,
    (location_id, position_id, event_id): (&str, &str, Option<&str>),
    (day, hours): (NaiveDate, (u32, u32)),
    (people, accept): (&[&str], bool),
) -> Value {
    let token = Some(owner.access_token.as_str());
    let at = |hour: u32| format!("{day}T{hour:02}:00:00Z");
    let body = json!({ "location_id": location_id, "position_id": position_id, "event_id": event_id,
        "start": at(hours.0), "end": at(hours.1), "headcount": people.len(), "break_minutes": 30 });
    let shift = json_of(app.post("/shifts", token, body).await, StatusCode::CREATED).await;
    let id = shift["id"].as_str().unwrap();
    json_of(app.post_empty(&format!("/shifts/{id}/publish"), &owner.access_token).await, StatusCode::OK).await;
    let placing = json!({ "person_ids": people, "force": true });
    let placed =
        json_of(app.post(&format!("/shifts/{id}/assignments"), token, placing).await, StatusCode::CREATED).await;
    for assignment in placed["assignments"].as_array().unwrap().iter().filter(|_| accept) {
        let path = format!("/assignments/{}/status", assignment["id"].as_str().unwrap());
        json_of(app.post(&path, token, json!({ "status": "accepted" })).await, StatusCode::OK).await;
    }
    shift
}

/// The times of `person_id` on `shift`, entered from the timesheet.
async fn timesheet(
    app: &TestApp,
    owner: &Account,
    shift: &Value,
    person_id: &str,
    (check_in, check_out): (&str, &str),
) {
    let path = format!("/attendance/{}_{person_id}/override", shift["id"].as_str().unwrap());
    let times = json!({ "check_in_at": check_in, "check_out_at": check_out, "reason": "Paper timesheet" });
    json_of(app.post(&path, Some(&owner.access_token), times).await, StatusCode::OK).await;
}

async fn report(app: &TestApp, token: &str, query: &str) -> Value {
    json_of(app.get(&format!("/reports/hours?{query}"), token).await, StatusCode::OK).await
}

/// A group's (or the total's) figures: scheduled places and minutes, records, checked in, worked,
/// regular and overtime minutes, late, absent, cost.
fn figures(group: &Value) -> [i64; 10] {
    let field = |name: &str| group[name].as_i64().unwrap_or_else(|| panic!("{name} in {group}"));
    [
        field("scheduled_places"),
        field("scheduled_minutes"),
        field("records"),
        field("checked_in"),
        field("worked_minutes"),
        field("regular_minutes"),
        field("overtime_minutes"),
        field("late"),
        field("absent"),
        group["costs"]["cost_minor"].as_i64().unwrap_or_else(|| panic!("costs in {group}")),
    ]
}

/// Each group's name with its figures, in the report's order.
fn rows(report: &Value) -> Vec<(String, [i64; 10])> {
    let groups = report["groups"].as_array().unwrap();
    groups.iter().map(|group| (group["name"].as_str().unwrap().to_owned(), figures(group))).collect()
}

struct Week {
    owner: Account,
    org: Organisation,
    monday: NaiveDate,
    second_location: String,
}

/// A week three weeks ago: Ann (her own rate 20.00, in the Bar team) works Monday's festival shift
/// and a 10-hour Tuesday as a runner; Bo (the bartender's default 12.00) comes 20 minutes late on
/// Monday; Cy, offered a Wednesday morning at the second site, never comes. Overtime starts after
/// 8 hours a day and 10 a week.
async fn last_weeks_hours(app: &TestApp) -> Week {
    let owner = app.signup().await;
    let org = app.organisation(&owner).await;
    let token = Some(owner.access_token.as_str());
    let settings = json!({ "settings": { "weekly_overtime_after_minutes": 600 } });
    json_of(app.request(Method::PATCH, "/tenant", token, Some(settings)).await, StatusCode::OK).await;
    let bar_rate = json!({ "default_hourly_rate_minor": 1200 });
    let path = format!("/positions/{}", org.position_id);
    json_of(app.request(Method::PATCH, &path, token, Some(bar_rate)).await, StatusCode::OK).await;
    let runner = json_of(app.post("/positions", token, json!({ "name": "Runner" })).await, StatusCode::CREATED).await;
    let quay =
        json!({ "name": "Quay Stage", "lat": 53.79, "lng": -1.54, "radius_m": 150, "time_zone": "Europe/London" });
    let quay = json_of(app.post("/locations", token, quay).await, StatusCode::CREATED).await;
    let (ann, bo, cy) = (
        worker(app, &owner, &org, "Ann").await,
        worker(app, &owner, &org, "Bo").await,
        worker(app, &owner, &org, "Cy").await,
    );
    let ann_terms = json!({ "hourly_rate_minor": 2000, "unit_id": org.unit_id,
        "position_ids": [org.position_id, runner["id"]] });
    json_of(app.request(Method::PATCH, &format!("/people/{}", ann.id), token, Some(ann_terms)).await, StatusCode::OK)
        .await;
    let today = Utc::now().date_naive();
    let monday = today - Days::new(u64::from(today.weekday().num_days_from_monday()) + 21);
    let fair =
        json!({ "title": "Spring Fair", "location_id": org.location_id, "starts_on": monday, "ends_on": monday });
    let fair = json_of(app.post("/events", token, fair).await, StatusCode::CREATED).await;
    let (hall, bar, run) =
        (org.location_id.as_str(), org.position_id.as_str(), runner["id"].as_str().unwrap().to_owned());
    let quay_id = quay["id"].as_str().unwrap().to_owned();

    let festival =
        shift(app, &owner, (hall, bar, fair["id"].as_str()), (monday, (9, 17)), (&[&ann.id, &bo.id], true)).await;
    let tuesday = monday + Days::new(1);
    let long_day = shift(app, &owner, (hall, &run, None), (tuesday, (8, 18)), (&[&ann.id], true)).await;
    let wednesday = monday + Days::new(2);
    shift(app, &owner, (&quay_id, bar, None), (wednesday, (9, 13)), (&[&cy.id], false)).await;
    timesheet(app, &owner, &festival, &ann.id, (&format!("{monday}T09:00:00Z"), &format!("{monday}T17:00:00Z"))).await;
    timesheet(app, &owner, &festival, &bo.id, (&format!("{monday}T09:20:00Z"), &format!("{monday}T17:00:00Z"))).await;
    timesheet(app, &owner, &long_day, &ann.id, (&format!("{tuesday}T08:00:00Z"), &format!("{tuesday}T18:00:00Z")))
        .await;
    let thursday_noon = format!("{}T12:00:00Z", monday + Days::new(3)).parse().unwrap();
    let closed = nightly::close_attendance(&app.store, &owner.tenant_id, thursday_noon).await.unwrap();
    assert_eq!(closed.absent, 1, "Cy's window closed on nobody");
    Week { owner, org, monday, second_location: quay_id }
}

#[tokio::test]
async fn a_weeks_hours_grouped_every_way_add_up_to_its_records() {
    let app = spawn_app().await;
    let Week { owner, org, monday, second_location } = last_weeks_hours(&app).await;
    let token = owner.access_token.as_str();
    let week = format!("from={monday}&to={}", monday + Days::new(6));

    // places, scheduled, records, in, worked, regular, overtime, late, absent, cost
    let people = report(&app, token, &format!("{week}&group_by=person")).await;
    assert_eq!(people["currency"], "EUR");
    assert_eq!(
        rows(&people),
        [
            // Monday 450 min; Tuesday 570: 90 over the day's 8 h, then the week's regular minutes
            // pass 600 — 150 regular, 420 overtime. 7.5 h + 2.5 h at 20.00, 7 h at 30.00.
            ("Ann".to_owned(), [2, 1_020, 2, 2, 1_020, 600, 420, 0, 0, 41_000]),
            // 09:20 to 17:00 less the break: 430 min at 12.00.
            ("Bo".to_owned(), [1, 450, 1, 1, 430, 430, 0, 1, 0, 8_600]),
            ("Cy".to_owned(), [1, 210, 1, 0, 0, 0, 0, 0, 1, 0]),
        ]
    );
    let total = &people["total"];
    assert_eq!(figures(total), [4, 1_680, 4, 3, 1_450, 1_030, 420, 1, 1, 49_600]);
    assert_eq!((total["late_rate"].as_f64(), total["no_show_rate"].as_f64()), (Some(0.3333), Some(0.25)));
    assert_eq!(people["groups"][2]["no_show_rate"].as_f64(), Some(1.0));

    // Every grouping's rows add up to the same total: the sum of the week's records.
    let records = json_of(
        app.get(
            &format!("/attendance?from={monday}T00:00:00Z&to={}T00:00:00Z&limit=100", monday + Days::new(7)),
            token,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let worked: i64 = records["items"].as_array().unwrap().iter().map(|r| r["worked_minutes"].as_i64().unwrap()).sum();
    assert_eq!(worked, 1_450);
    for group_by in ["person", "position", "location", "event", "unit"] {
        let grouped = report(&app, token, &format!("{week}&group_by={group_by}")).await;
        assert_eq!(grouped["group_by"], group_by);
        assert_eq!(figures(&grouped["total"]), figures(total), "{group_by}");
        let sum = rows(&grouped).iter().fold([0; 10], |sum, (_, row)| std::array::from_fn(|i| sum[i] + row[i]));
        assert_eq!(sum, figures(total), "{group_by}: the rows add up to the total");
    }
    let positions = report(&app, token, &format!("{week}&group_by=position")).await;
    assert_eq!(
        rows(&positions),
        [
            ("Bartender".to_owned(), [3, 1_110, 3, 2, 880, 880, 0, 1, 1, 23_600]),
            ("Runner".to_owned(), [1, 570, 1, 1, 570, 150, 420, 0, 0, 26_000]),
        ]
    );
    let events = report(&app, token, &format!("{week}&group_by=event")).await;
    let names: Vec<(String, i64)> = rows(&events).into_iter().map(|(name, row)| (name, row[0])).collect();
    assert_eq!(names, [("Spring Fair".to_owned(), 2), ("No event".to_owned(), 2)]);
    assert_eq!(events["groups"][1]["id"], Value::Null);
    let units = report(&app, token, &format!("{week}&group_by=unit")).await;
    let names: Vec<(String, i64)> = rows(&units).into_iter().map(|(name, row)| (name, row[4])).collect();
    assert_eq!(names, [("Bar team".to_owned(), 1_020), ("No unit".to_owned(), 430)]);
    let locations = report(&app, token, &format!("{week}&group_by=location")).await;
    let names: Vec<(String, i64)> = rows(&locations).into_iter().map(|(name, row)| (name, row[0])).collect();
    assert_eq!(names, [("Quay Stage".to_owned(), 1), ("Riverside Hall".to_owned(), 3)]);

    // One location's: only its shifts.
    let quay = report(&app, token, &format!("{week}&group_by=person&location_id={second_location}")).await;
    assert_eq!(rows(&quay), [("Cy".to_owned(), [1, 210, 1, 0, 0, 0, 0, 0, 1, 0])]);

    // From Tuesday, Ann's Tuesday still counts the week from Monday: the same overtime.
    let from_tuesday = format!("from={}&to={}&group_by=person", monday + Days::new(1), monday + Days::new(6));
    let ann = report(&app, token, &from_tuesday).await["groups"][0].clone();
    assert_eq!((ann["name"].as_str(), figures(&ann)), (Some("Ann"), [1, 570, 1, 1, 570, 150, 420, 0, 0, 26_000]));

    // The same as a file for the spreadsheet.
    let file = app.get(&format!("/reports/hours?{week}&group_by=position&format=csv"), token).await;
    assert_eq!(file.status(), StatusCode::OK);
    assert_eq!(file.headers()["content-type"], "text/csv; charset=utf-8");
    let disposition = file.headers()["content-disposition"].to_str().unwrap().to_owned();
    assert_eq!(
        disposition,
        format!("attachment; filename=\"hours-{monday}-{}-by-position.csv\"", monday + Days::new(6))
    );
    let text = file.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "group_by,id,name,scheduled_places,scheduled_hours,records,checked_in,worked_hours,regular_hours,\
         overtime_hours,late,late_rate,absent,no_show_rate,cost,unpriced_hours,currency"
    );
    assert_eq!(
        lines[1],
        format!("position,{},Bartender,3,18.50,3,2,14.67,14.67,0.00,1,0.5,1,0.3333,236.00,0.00,EUR", org.position_id)
    );
    assert_eq!(lines[3], "position,,total,4,28.00,4,3,24.17,17.17,7.00,1,0.3333,1,0.25,496.00,0.00,EUR");
    assert_eq!(lines.len(), 4);
}

#[tokio::test]
async fn the_report_refuses_what_it_cannot_answer() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let org = app.organisation(&owner).await;
    let token = owner.access_token.as_str();
    let problem = problem_of(
        app.get("/reports/hours?from=2030-07-01&to=2030-07-31&group_by=team", token).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "group_by", "{problem}");
    for to in ["2030-06-30", "2030-10-02"] {
        let query = format!("/reports/hours?from=2030-07-01&to={to}&group_by=person");
        let problem =
            problem_of(app.get(&query, token).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], "to", "{problem}");
    }
    let elsewhere =
        "/reports/hours?from=2030-07-01&to=2030-07-31&group_by=person&location_id=01J0000000000000000000000";
    problem_of(app.get(elsewhere, token).await, StatusCode::NOT_FOUND, "not_found").await;
    // A quarter is fine, and an empty one is all zeros.
    let quarter = report(&app, token, "from=2030-07-01&to=2030-10-01&group_by=person").await;
    assert_eq!(quarter["groups"].as_array().map(Vec::len), Some(1), "the fixture's 2030 shift: {quarter}");
    let staff = app.staff_token(&org).await;
    problem_of(
        app.get("/reports/hours?from=2030-07-01&to=2030-07-31&group_by=person", &staff).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
}
