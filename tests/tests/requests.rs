//! Requests as staff and their coordinator live them: time off that clears the person's shifts on
//! those days and keeps new ones away, swaps a colleague takes and a coordinator approves (or
//! that go straight through), decisions that keep who, when and why, and a burst of colleagues
//! taking one swap at once.

use api_tests::{Account, Organisation, TestApp, json_of, problem_of, spawn_app, worker};
use futures_util::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// A published shift at the organisation's location (Europe/London) with `people` on it; its id.
async fn shift_with(
    app: &TestApp,
    owner: &Account,
    org: &Organisation,
    start: &str,
    end: &str,
    people: &[&str],
) -> String {
    let token = Some(owner.access_token.as_str());
    let body = json!({ "location_id": org.location_id, "position_id": org.position_id, "start": start, "end": end, "headcount": 3 });
    let id =
        json_of(app.post("/shifts", token, body).await, StatusCode::CREATED).await["id"].as_str().unwrap().to_owned();
    json_of(app.post_empty(&format!("/shifts/{id}/publish"), &owner.access_token).await, StatusCode::OK).await;
    if !people.is_empty() {
        let assigned = app.post(&format!("/shifts/{id}/assignments"), token, json!({ "person_ids": people })).await;
        json_of(assigned, StatusCode::CREATED).await;
    }
    id
}

async fn shift_detail(app: &TestApp, owner: &Account, shift_id: &str) -> Value {
    json_of(app.get(&format!("/shifts/{shift_id}"), &owner.access_token).await, StatusCode::OK).await
}

fn holders(detail: &Value) -> Vec<(&str, &str)> {
    let mut holders: Vec<(&str, &str)> = detail["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["person_id"].as_str().unwrap(), a["status"].as_str().unwrap()))
        .collect();
    holders.sort();
    holders
}

fn ids(page: &Value) -> Vec<&str> {
    page["items"].as_array().unwrap().iter().map(|item| item["id"].as_str().unwrap()).collect()
}

fn subjects(mail: &[Value]) -> Vec<&str> {
    mail.iter().map(|m| m["subject"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn approved_time_off_clears_the_days_shifts_and_keeps_new_ones_away_until_it_is_cancelled() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let org = app.organisation(&owner).await;
    let casey = worker(&app, &owner, &org, "Casey Crew").await;
    // A night from 31 July into 1 August (London time), a day on 1 August, one a week later.
    let night = shift_with(&app, &owner, &org, "2030-07-31T21:00:00Z", "2030-08-01T03:00:00Z", &[&casey.id]).await;
    let day = shift_with(&app, &owner, &org, "2030-08-01T15:00:00Z", "2030-08-01T21:00:00Z", &[&casey.id]).await;
    let later = shift_with(&app, &owner, &org, "2030-08-08T08:00:00Z", "2030-08-08T16:00:00Z", &[&casey.id]).await;

    let body = json!({ "kind": "time_off", "from": "2030-08-01", "to": "2030-08-02", "reason": "Family wedding" });
    let request = json_of(app.post("/requests", Some(&casey.token), body).await, StatusCode::CREATED).await;
    let request_id = request["id"].as_str().unwrap();
    assert_eq!((request["status"].as_str(), request["requester_name"].as_str()), (Some("pending"), Some("Casey Crew")));
    let mine = json_of(app.get("/requests?mine=true", &casey.token).await, StatusCode::OK).await;
    assert_eq!(ids(&mine), [request_id]);
    // The coordinator's queue holds it (and the owner's own time off of the organisation).
    let queue = json_of(app.get("/requests?to_review=true", &owner.access_token).await, StatusCode::OK).await;
    assert_eq!(ids(&queue), [org.request_id.as_str(), request_id]);

    // Staff do not decide.
    let path = format!("/requests/{request_id}/approve");
    problem_of(app.post(&path, Some(&casey.token), json!({})).await, StatusCode::FORBIDDEN, "forbidden").await;

    let approved =
        json_of(app.post(&path, Some(&owner.access_token), json!({ "note": "Enjoy!" })).await, StatusCode::OK).await;
    assert_eq!(approved["status"], "approved");
    assert_eq!(
        (approved["decision"]["by"].as_str(), approved["decision"]["note"].as_str()),
        (Some(owner.person_id.as_str()), Some("Enjoy!"))
    );
    let mut released: Vec<&str> =
        approved["released_shift_ids"].as_array().unwrap().iter().map(|id| id.as_str().unwrap()).collect();
    released.sort();
    let mut expected = vec![night.as_str(), day.as_str()];
    expected.sort();
    assert_eq!(released, expected, "the night touches 1 August on the location's clock");

    // The places are open again; the later shift is still Casey's.
    for shift in [&night, &day] {
        let detail = shift_detail(&app, &owner, shift).await;
        assert_eq!((detail["assigned_count"].as_u64(), holders(&detail)), (Some(0), vec![]));
    }
    assert_eq!(holders(&shift_detail(&app, &owner, &later).await), [(casey.id.as_str(), "offered")]);
    let queue = json_of(app.get("/requests?to_review=true", &owner.access_token).await, StatusCode::OK).await;
    assert_eq!(ids(&queue), [org.request_id.as_str()]);
    let mail = app.mail_to(&casey.email).await;
    let decided = mail.iter().find(|m| m["subject"] == "Time off approved").unwrap_or_else(|| panic!("{mail:?}"));
    assert!(decided["body"].as_str().unwrap().contains("Enjoy!"), "{decided}");

    // On those days nobody can give Casey a shift, force or not.
    let again = app
        .post(
            &format!("/shifts/{day}/assignments"),
            Some(&owner.access_token),
            json!({ "person_ids": [casey.id], "force": true }),
        )
        .await;
    let problem = problem_of(again, StatusCode::UNPROCESSABLE_ENTITY, "scheduling_conflict").await;
    assert_eq!(problem["violations"][0]["code"], "time_off", "{problem}");
    problem_of(app.post(&path, Some(&owner.access_token), json!({})).await, StatusCode::CONFLICT, "conflict").await;

    // Cancelling the approved time off gives the days back.
    let cancelled =
        json_of(app.post_empty(&format!("/requests/{request_id}/cancel"), &casey.token).await, StatusCode::OK).await;
    assert_eq!(cancelled["status"], "cancelled");
    let again = app
        .post(&format!("/shifts/{day}/assignments"), Some(&owner.access_token), json!({ "person_ids": [casey.id] }))
        .await;
    json_of(again, StatusCode::CREATED).await;
}

#[tokio::test]
async fn a_swap_goes_to_the_colleague_who_takes_it_once_a_coordinator_approves() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let org = app.organisation(&owner).await;
    let casey = worker(&app, &owner, &org, "Casey Crew").await;
    let robin = worker(&app, &owner, &org, "Robin Relief").await;
    let other = worker(&app, &owner, &org, "Olly Other").await;
    let shift = shift_with(&app, &owner, &org, "2030-09-03T08:00:00Z", "2030-09-03T16:00:00Z", &[&casey.id]).await;
    let assignment_id = format!("{shift}_{}", casey.id);

    let body = json!({ "kind": "swap", "assignment_id": assignment_id, "to_person_id": robin.id });
    let swap = json_of(app.post("/requests", Some(&casey.token), body).await, StatusCode::CREATED).await;
    let swap_id = swap["id"].as_str().unwrap();
    assert_eq!((swap["status"].as_str(), swap["shift"]["id"].as_str()), (Some("open"), Some(shift.as_str())));
    assert!(subjects(&app.mail_to(&robin.email).await).contains(&"Casey Crew offers you a shift"));
    let offered = json_of(app.get("/requests?to_review=true", &robin.token).await, StatusCode::OK).await;
    assert_eq!(ids(&offered), [swap_id]);

    // Only the named colleague takes it; nobody else even sees it.
    let accept = format!("/requests/{swap_id}/accept");
    problem_of(app.post_empty(&accept, &other.token).await, StatusCode::NOT_FOUND, "not_found").await;
    let nothing = json_of(app.get("/requests?to_review=true", &other.token).await, StatusCode::OK).await;
    assert_eq!(ids(&nothing), Vec::<&str>::new());

    let taken = json_of(app.post_empty(&accept, &robin.token).await, StatusCode::OK).await;
    assert_eq!((taken["status"].as_str(), taken["to_person_name"].as_str()), (Some("pending"), Some("Robin Relief")));
    assert!(subjects(&app.mail_to(&casey.email).await).contains(&"Robin Relief is taking your shift"));
    // Until approved, the shift is Casey's.
    assert_eq!(holders(&shift_detail(&app, &owner, &shift).await), [(casey.id.as_str(), "offered")]);

    let approve = format!("/requests/{swap_id}/approve");
    let approved = json_of(app.post_empty(&approve, &owner.access_token).await, StatusCode::OK).await;
    assert_eq!(
        (approved["status"].as_str(), approved["decision"]["by"].as_str()),
        (Some("approved"), Some(owner.person_id.as_str()))
    );
    let detail = shift_detail(&app, &owner, &shift).await;
    assert_eq!((detail["assigned_count"].as_u64(), holders(&detail)), (Some(1), vec![(robin.id.as_str(), "accepted")]));
    let robins = json_of(app.get("/me/shifts", &robin.token).await, StatusCode::OK).await;
    assert_eq!(robins["items"][0]["shift_id"], shift.as_str());
    let caseys = json_of(app.get("/me/shifts", &casey.token).await, StatusCode::OK).await;
    assert_eq!(caseys["items"].as_array().unwrap().len(), 0);
    for person in [&casey, &robin] {
        assert!(subjects(&app.mail_to(&person.email).await).contains(&"Shift swap approved"), "{}", person.email);
    }

    // Decided is decided.
    problem_of(app.post_empty(&approve, &owner.access_token).await, StatusCode::CONFLICT, "conflict").await;
    let cancel = format!("/requests/{swap_id}/cancel");
    problem_of(app.post_empty(&cancel, &casey.token).await, StatusCode::CONFLICT, "conflict").await;
}

#[tokio::test]
async fn a_swap_offered_to_anyone_is_judged_for_whoever_takes_it_and_can_go_straight_through() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let org = app.organisation(&owner).await;
    let settings = json!({ "settings": { "swap_approval_required": false } });
    json_of(app.request(Method::PATCH, "/tenant", Some(&owner.access_token), Some(settings)).await, StatusCode::OK)
        .await;
    let casey = worker(&app, &owner, &org, "Casey Crew").await;
    let robin = worker(&app, &owner, &org, "Robin Relief").await;
    let shift = shift_with(&app, &owner, &org, "2030-09-10T08:00:00Z", "2030-09-10T16:00:00Z", &[&casey.id]).await;
    // Robin works an overlapping shift elsewhere in the day.
    let busy = shift_with(&app, &owner, &org, "2030-09-10T12:00:00Z", "2030-09-10T20:00:00Z", &[&robin.id]).await;

    let body = json!({ "kind": "swap", "assignment_id": format!("{shift}_{}", casey.id) });
    let swap = json_of(app.post("/requests", Some(&casey.token), body).await, StatusCode::CREATED).await;
    let accept = format!("/requests/{}/accept", swap["id"].as_str().unwrap());
    let open = json_of(app.get("/requests?to_review=true", &robin.token).await, StatusCode::OK).await;
    assert_eq!(ids(&open), [swap["id"].as_str().unwrap()]);

    let refused = problem_of(
        app.post_empty(&accept, &robin.token).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "scheduling_conflict",
    )
    .await;
    assert_eq!(
        (refused["violations"][0]["code"].as_str(), refused["violations"][0]["shift_id"].as_str()),
        (Some("overlap"), Some(busy.as_str()))
    );

    // Robin drops the other shift; now the swap goes straight through.
    let dropped = app
        .request(Method::DELETE, &format!("/assignments/{busy}_{}", robin.id), Some(&owner.access_token), None)
        .await;
    assert_eq!(dropped.status(), StatusCode::NO_CONTENT);
    let taken = json_of(app.post_empty(&accept, &robin.token).await, StatusCode::OK).await;
    assert_eq!(
        (taken["status"].as_str(), taken["decision"]["by"].as_str(), taken["to_person_id"].as_str()),
        (Some("approved"), Some(robin.id.as_str()), Some(robin.id.as_str()))
    );
    assert_eq!(holders(&shift_detail(&app, &owner, &shift).await), [(robin.id.as_str(), "accepted")]);
}

#[tokio::test]
async fn colleagues_taking_one_open_swap_at_once_hand_it_to_exactly_one() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let org = app.organisation(&owner).await;
    let settings = json!({ "settings": { "swap_approval_required": false } });
    json_of(app.request(Method::PATCH, "/tenant", Some(&owner.access_token), Some(settings)).await, StatusCode::OK)
        .await;
    let casey = worker(&app, &owner, &org, "Casey Crew").await;
    // One by one: each reads its invitation from the app's one mailbox.
    let mut colleagues = Vec::new();
    for name in ["Ash", "Bo", "Cy", "Di", "Ed", "Fi"] {
        colleagues.push(worker(&app, &owner, &org, name).await);
    }
    let shift = shift_with(&app, &owner, &org, "2030-09-17T08:00:00Z", "2030-09-17T16:00:00Z", &[&casey.id]).await;
    let body = json!({ "kind": "swap", "assignment_id": format!("{shift}_{}", casey.id) });
    let swap = json_of(app.post("/requests", Some(&casey.token), body).await, StatusCode::CREATED).await;
    let accept = format!("/requests/{}/accept", swap["id"].as_str().unwrap());

    let answers = join_all(colleagues.iter().map(|colleague| app.post_empty(&accept, &colleague.token))).await;
    let statuses: Vec<StatusCode> = answers.iter().map(reqwest::Response::status).collect();
    let taken = statuses.iter().filter(|status| **status == StatusCode::OK).count();
    let refused = statuses.iter().filter(|status| **status == StatusCode::CONFLICT).count();
    assert_eq!((taken, refused), (1, 5), "{statuses:?}");
    let detail = shift_detail(&app, &owner, &shift).await;
    assert_eq!(detail["assigned_count"], 1);
    let holders = holders(&detail);
    assert_eq!(holders.len(), 1);
    assert!(colleagues.iter().any(|colleague| holders[0] == (colleague.id.as_str(), "accepted")), "{holders:?}");
}

#[tokio::test]
async fn requests_are_refused_with_the_reason_and_the_field() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let org = app.organisation(&owner).await;
    let casey = worker(&app, &owner, &org, "Casey Crew").await;
    let robin = worker(&app, &owner, &org, "Robin Relief").await;
    let shift = shift_with(&app, &owner, &org, "2030-10-01T08:00:00Z", "2030-10-01T16:00:00Z", &[&casey.id]).await;
    let token = Some(casey.token.as_str());

    let backwards = json!({ "kind": "time_off", "from": "2030-08-02", "to": "2030-08-01" });
    let problem = problem_of(
        app.post("/requests", token, backwards).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "to");
    let to_self = json!({ "kind": "swap", "assignment_id": format!("{shift}_{}", casey.id), "to_person_id": casey.id });
    let problem =
        problem_of(app.post("/requests", token, to_self).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
            .await;
    assert_eq!(problem["errors"][0]["field"], "to_person_id");
    // Someone else's assignment is not Robin's to give away.
    let not_theirs = json!({ "kind": "swap", "assignment_id": format!("{shift}_{}", casey.id) });
    problem_of(app.post("/requests", Some(&robin.token), not_theirs).await, StatusCode::NOT_FOUND, "not_found").await;

    // The colleague declines; the decision says who and why, and the requester hears of it.
    let body = json!({ "kind": "swap", "assignment_id": format!("{shift}_{}", casey.id), "to_person_id": robin.id });
    let swap = json_of(app.post("/requests", token, body).await, StatusCode::CREATED).await;
    let reject = format!("/requests/{}/reject", swap["id"].as_str().unwrap());
    let declined =
        json_of(app.post(&reject, Some(&robin.token), json!({ "note": "Away that week" })).await, StatusCode::OK).await;
    assert_eq!(
        (declined["status"].as_str(), declined["decision"]["by_name"].as_str(), declined["decision"]["note"].as_str()),
        (Some("rejected"), Some("Robin Relief"), Some("Away that week"))
    );
    assert!(subjects(&app.mail_to(&casey.email).await).contains(&"Shift swap rejected"));
    problem_of(app.post_empty(&reject, &robin.token).await, StatusCode::CONFLICT, "conflict").await;

    // A pending request is withdrawn by its requester only.
    let cancel = format!("/requests/{}/cancel", org.request_id);
    problem_of(app.post_empty(&cancel, &casey.token).await, StatusCode::NOT_FOUND, "not_found").await;
    let cancelled = json_of(app.post_empty(&cancel, &owner.access_token).await, StatusCode::OK).await;
    assert_eq!(cancelled["status"], "cancelled");
}
