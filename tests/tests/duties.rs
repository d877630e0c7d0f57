//! Separation of duties, as a supervisor who would pay themself tries it: nobody below owner
//! corrects, verifies or approves their own record or request, and a correction cannot move a
//! time far outside its shift unless an owner confirms, nor count more than the shift's length
//! plus the margin. Reading others' records follows the same 2FA rule as changing them, and pay
//! rates show only to those who see pay.

use api_tests::{Account, HALL, TestApp, json_of, problem_of, spawn_app};
use chrono::{Duration, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Invites a person of `role` holding `position_id`, accepts for them and, for an admin, turns
/// 2FA on (admins need it to act): their account.
async fn member(app: &TestApp, owner: &Account, role: &str, position_id: &str) -> Account {
    let mut account = member_without_2fa(app, owner, role, position_id).await;
    if role == "admin" {
        let token = account.access_token.clone();
        app.enable_2fa(&mut account, &token).await;
        let tokens = json_of(app.refresh(&account.refresh_token).await, StatusCode::OK).await;
        account.access_token = tokens["access_token"].as_str().unwrap().into();
    }
    account
}

/// As [`member`], and never with 2FA.
async fn member_without_2fa(app: &TestApp, owner: &Account, role: &str, position_id: &str) -> Account {
    api_tests::member(app, owner, &format!("Casey {role}"), role, &[position_id]).await
}

fn minutes_from_now(minutes: i64) -> String {
    (Utc::now() + Duration::minutes(minutes)).to_rfc3339()
}

#[tokio::test]
async fn nobody_below_owner_corrects_verifies_or_approves_their_own() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let org = app.organisation(&owner).await;
    let (owners, position) = (Some(owner.access_token.as_str()), org.position_id.as_str());
    let coordinator = member(&app, &owner, "coordinator", position).await;
    let admin = member(&app, &owner, "admin", position).await;

    // The coordinator was on a shift; they would rather have been on it for weeks.
    let times = ("2030-07-04T08:00:00Z".to_owned(), "2030-07-04T16:00:00Z".to_owned());
    let shift = app.published_shift(owners, &org.location_id, position, times).await;
    let record = app.on_shift(owners, &shift, &coordinator.person_id, true).await;
    let path = format!("/attendance/{record}/override");
    let own =
        json!({ "check_in_at": "2030-07-04T08:00:00Z", "check_out_at": "2030-07-04T16:00:00Z", "reason": "Mine" });
    let refused = app.post(&path, Some(&coordinator.access_token), own.clone()).await;
    problem_of(refused, StatusCode::FORBIDDEN, "own_record").await;
    let nothing = app.get(&format!("/attendance/{record}"), &owner.access_token).await;
    problem_of(nothing, StatusCode::NOT_FOUND, "not_found").await;
    // Someone else may: the admin records the same times.
    let corrected = json_of(app.post(&path, Some(&admin.access_token), own).await, StatusCode::OK).await;
    assert_eq!(corrected["worked_minutes"], 8 * 60 - 30, "the shift less its break");

    // Their own time off waits for someone else.
    let asked = json!({ "kind": "time_off", "from": "2031-02-03", "to": "2031-02-04" });
    let request =
        json_of(app.post("/requests", Some(&coordinator.access_token), asked).await, StatusCode::CREATED).await;
    let approve = format!("/requests/{}/approve", request["id"].as_str().unwrap());
    let refused = app.post(&approve, Some(&coordinator.access_token), json!({})).await;
    problem_of(refused, StatusCode::FORBIDDEN, "own_record").await;
    let pending = json_of(
        app.get(&format!("/requests/{}", request["id"].as_str().unwrap()), &owner.access_token).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(pending["status"], "pending");
    let approved = json_of(app.post(&approve, Some(&admin.access_token), json!({})).await, StatusCode::OK).await;
    assert_eq!(
        (approved["status"].as_str(), approved["decision"]["by"].as_str()),
        (Some("approved"), Some(admin.person_id.as_str()))
    );

    // The admin's own doubtful check-in waits for another admin's (or the owner's) look.
    let now_shift =
        app.published_shift(owners, &org.location_id, position, (minutes_from_now(-5), minutes_from_now(8 * 60))).await;
    app.on_shift(owners, &now_shift, &admin.person_id, true).await;
    let vague = json!({ "shift_id": now_shift, "lat": HALL.0, "lng": HALL.1, "accuracy_m": 900.0 });
    let checked =
        json_of(app.post("/attendance/check-in", Some(&admin.access_token), vague).await, StatusCode::CREATED).await;
    let verify = format!("/admin/verify-face/{}", checked["id"].as_str().unwrap());
    let decision = json!({ "decision": "verified" });
    let refused = app.post(&verify, Some(&admin.access_token), decision.clone()).await;
    problem_of(refused, StatusCode::FORBIDDEN, "own_record").await;
    let decided = json_of(app.post(&verify, Some(&owner.access_token), decision).await, StatusCode::OK).await;
    assert_eq!(decided["review"]["decided_by"], owner.person_id.as_str());
}

/// Corrects a record to `check_in` until 16:00, as `token`'s holder.
async fn correct(app: &TestApp, path: &str, token: &str, check_in: &str, confirmed: Option<bool>) -> reqwest::Response {
    let mut body = json!({ "check_in_at": check_in, "check_out_at": "2030-07-10T16:00:00Z", "reason": "Timesheet" });
    if let Some(confirmed) = confirmed {
        body["owner_confirmed"] = json!(confirmed);
    }
    app.post(path, Some(token), body).await
}

#[tokio::test]
async fn a_correction_stays_near_its_shift_unless_an_owner_confirms_and_never_pays_past_the_margin() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let org = app.organisation(&owner).await;
    let (owners, position) = (Some(owner.access_token.as_str()), org.position_id.as_str());
    let coordinator = member(&app, &owner, "coordinator", position).await;
    let times = ("2030-07-10T08:00:00Z".to_owned(), "2030-07-10T16:00:00Z".to_owned());
    let shift = app.published_shift(owners, &org.location_id, position, times).await;
    let record = app.on_shift(owners, &shift, &org.person_id, true).await;
    let path = format!("/attendance/{record}/override");

    // The window opens an hour before the start; two more hours of margin: 05:00 is the edge.
    let edge: Value =
        json_of(correct(&app, &path, &coordinator.access_token, "2030-07-10T05:00:00Z", None).await, StatusCode::OK)
            .await;
    assert_eq!(edge["worked_minutes"], 10 * 60, "eleven hours checked in, capped at 8 h + 2 h");
    let beyond = correct(&app, &path, &coordinator.access_token, "2030-07-10T04:59:00Z", None).await;
    let problem = problem_of(beyond, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "check_in_at", "{problem}");
    let days_back = correct(&app, &path, &coordinator.access_token, "2030-06-14T08:00:00Z", None).await;
    problem_of(days_back, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let not_theirs = correct(&app, &path, &coordinator.access_token, "2030-06-14T08:00:00Z", Some(true)).await;
    problem_of(not_theirs, StatusCode::FORBIDDEN, "forbidden").await;

    // An owner confirms a time far out; the pay still stops at the shift's length plus 2 h.
    let confirmed =
        json_of(correct(&app, &path, &owner.access_token, "2030-06-14T08:00:00Z", Some(true)).await, StatusCode::OK)
            .await;
    assert_eq!(confirmed["check_in_at"], "2030-06-14T08:00:00.000Z");
    assert_eq!(confirmed["worked_minutes"], 10 * 60);
}

#[tokio::test]
async fn reading_others_follows_the_2fa_rule_and_rates_show_only_to_those_who_see_pay() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let org = app.organisation(&owner).await;
    let (owners, position) = (Some(owner.access_token.as_str()), org.position_id.as_str());
    let rate = json!({ "hourly_rate_minor": 1450 });
    let path = format!("/people/{}", org.person_id);
    json_of(app.request(reqwest::Method::PATCH, &path, owners, Some(rate)).await, StatusCode::OK).await;
    let position_rate = json!({ "default_hourly_rate_minor": 1200 });
    let position_path = format!("/positions/{position}");
    json_of(app.request(reqwest::Method::PATCH, &position_path, owners, Some(position_rate)).await, StatusCode::OK)
        .await;
    let times = ("2030-08-01T08:00:00Z".to_owned(), "2030-08-01T16:00:00Z".to_owned());
    let shift = json!({ "location_id": org.location_id, "position_id": position, "start": times.0, "end": times.1, "headcount": 1 });
    let draft =
        json_of(app.post("/shifts", owners, shift).await, StatusCode::CREATED).await["id"].as_str().unwrap().to_owned();

    // An admin who has not turned 2FA on reads nobody else's records, as they change none.
    let admin = member_without_2fa(&app, &owner, "admin", position).await;
    let worked = ("2030-08-02T08:00:00Z".to_owned(), "2030-08-02T12:00:00Z".to_owned());
    let worked_shift = app.published_shift(owners, &org.location_id, position, worked.clone()).await;
    let record = app.on_shift(owners, &worked_shift, &org.person_id, true).await;
    let times = json!({ "check_in_at": worked.0, "check_out_at": worked.1, "reason": "Timesheet" });
    json_of(app.post(&format!("/attendance/{record}/override"), owners, times).await, StatusCode::OK).await;
    let record = format!("/attendance/{record}");
    for read in [
        path.clone(),
        format!("{path}/feedback"),
        format!("{path}/availability"),
        record,
        format!("/shifts/{draft}"),
        "/shifts?status=draft".to_owned(),
    ] {
        problem_of(app.get(&read, &admin.access_token).await, StatusCode::FORBIDDEN, "mfa_required").await;
    }
    // What staff may see, they still see: their own profile, and published shifts without drafts.
    let own =
        json_of(app.get(&format!("/people/{}", admin.person_id), &admin.access_token).await, StatusCode::OK).await;
    assert_eq!(own["id"], admin.person_id.as_str());
    let shifts = json_of(app.get("/shifts?from=2030-01-01T00:00:00Z", &admin.access_token).await, StatusCode::OK).await;
    let ids: Vec<&str> = shifts["items"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [org.shift_id.as_str(), worked_shift.as_str()], "the published shifts, not the draft");

    // A coordinator schedules people without seeing their pay; an admin with 2FA sees it.
    let coordinator = member(&app, &owner, "coordinator", position).await;
    let seen = json_of(app.get(&path, &coordinator.access_token).await, StatusCode::OK).await;
    assert_eq!((seen["name"].as_str(), seen["hourly_rate_minor"].as_u64()), (Some("Sam Staff"), None));
    let listed = json_of(app.get("/people", &coordinator.access_token).await, StatusCode::OK).await;
    assert!(listed["items"].as_array().unwrap().iter().all(|person| person["hourly_rate_minor"].is_null()), "{listed}");
    let positions = json_of(app.get("/positions", &coordinator.access_token).await, StatusCode::OK).await;
    assert_eq!(
        (positions["items"][0]["name"].as_str(), positions["items"][0]["default_hourly_rate_minor"].as_u64()),
        (Some("Bartender"), None)
    );
    let audited = member(&app, &owner, "admin", position).await;
    let seen = json_of(app.get(&path, &audited.access_token).await, StatusCode::OK).await;
    assert_eq!(seen["hourly_rate_minor"], 1450);
    let positions = json_of(app.get("/positions", &audited.access_token).await, StatusCode::OK).await;
    assert_eq!(positions["items"][0]["default_hourly_rate_minor"], 1200);
}
