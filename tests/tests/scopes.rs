//! Scopes: a coordinator limited to some locations and a unit sees and changes only theirs —
//! every list holds only their locations' shifts and attendance and their unit's people, read
//! through those partitions and merged page by page; anything beyond is 404, as another
//! organisation's is. A limited admin gives no wider scope than their own, and people they
//! invite are limited as they are.

use api_tests::{PASSWORD, TestApp, json_of, problem_of, spawn_app, unique_email};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn created(app: &TestApp, token: &str, path: &str, body: Value) -> String {
    json_of(app.post(path, Some(token), body).await, StatusCode::CREATED).await["id"].as_str().unwrap().to_owned()
}

/// A location with `name` at the fixture's point.
async fn location(app: &TestApp, token: &str, name: &str) -> String {
    let body = json!({ "name": name, "lat": 53.8, "lng": -1.55, "radius_m": 150, "time_zone": "Europe/London" });
    created(app, token, "/locations", body).await
}

/// `person_id` on a published shift at `location_id` in 2019, their times recorded by `token`
/// (an owner's correction): their attendance record's id.
async fn worked(app: &TestApp, token: &str, (location_id, position_id): (&str, &str), person_id: &str) -> String {
    let times = ("2019-03-05T08:00:00Z".to_owned(), "2019-03-05T12:00:00Z".to_owned());
    let shift = app.published_shift(Some(token), location_id, position_id, times.clone()).await;
    let record = app.on_shift(Some(token), &shift, person_id, true).await;
    let body = json!({ "check_in_at": times.0, "check_out_at": times.1, "reason": "Paper timesheet" });
    json_of(app.post(&format!("/attendance/{record}/override"), Some(token), body).await, StatusCode::OK).await;
    record
}

fn ids(page: &Value) -> Vec<&str> {
    page["items"].as_array().unwrap().iter().map(|item| item["id"].as_str().unwrap()).collect()
}

/// Every item of a list, a page of one at a time.
async fn walk(app: &TestApp, token: &str, path: &str) -> Vec<String> {
    let (mut items, mut cursor) = (Vec::new(), None::<String>);
    for _ in 0..20 {
        let page_path = match &cursor {
            Some(cursor) => format!("{path}&limit=1&cursor={cursor}"),
            None => format!("{path}&limit=1"),
        };
        let page = json_of(app.get(&page_path, token).await, StatusCode::OK).await;
        items.extend(ids(&page).into_iter().map(str::to_owned));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return items,
        }
    }
    panic!("the list never ended: {items:?}");
}

#[tokio::test]
async fn a_coordinator_of_two_locations_and_a_unit_sees_and_changes_only_theirs() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let token = owner.access_token.as_str();
    // Riverside (the fixture's location, unit "Bar team" and its staff member on a July 2030
    // shift), Canal Street, also theirs, and Dockside with its own unit and person, not theirs.
    let org = app.organisation(&owner).await;
    let (riverside, position) = (org.location_id.as_str(), org.position_id.as_str());
    let (canal, dockside) = (location(&app, token, "Canal Street").await, location(&app, token, "Dockside").await);
    let door_team = created(&app, token, "/units", json!({ "name": "Door team" })).await;
    let body = json!({ "email": unique_email("dee"), "name": "Dee Door", "role": "staff", "position_ids": [position], "unit_id": door_team });
    let dee = created(&app, token, "/people", body).await;
    let at = |day: &str| (format!("2030-07-{day}T12:00:00Z"), format!("2030-07-{day}T16:00:00Z"));
    let canal_shift = app.published_shift(Some(token), &canal, position, at("04")).await;
    let dockside_shift = app.published_shift(Some(token), &dockside, position, at("05")).await;
    let riverside_later = app.published_shift(Some(token), riverside, position, at("06")).await;
    let riverside_record = worked(&app, token, (riverside, position), &org.person_id).await;
    let dockside_record = worked(&app, token, (&dockside, position), &dee).await;

    let email = unique_email("coordinator");
    let scope = json!({ "location_ids": [canal, riverside, canal], "unit_ids": [org.unit_id] });
    let body = json!({ "email": email, "name": "Cory Coordinator", "role": "coordinator", "unit_id": org.unit_id, "scope": scope });
    let cory = app.member(token, body).await;
    let cory_id = cory["id"].as_str().unwrap();
    let mut expected_scope = vec![canal.clone(), riverside.to_owned()];
    expected_scope.sort();
    assert_eq!(cory["scope"], json!({ "location_ids": expected_scope, "unit_ids": [org.unit_id] }), "each once");
    let tokens = json_of(app.login(&email, PASSWORD).await, StatusCode::OK).await;
    let cory_token = tokens["access_token"].as_str().unwrap();

    // Shifts: their two locations' in start order, merged across pages of one; none of Dockside.
    let july = "/shifts?from=2030-07-01T00:00:00Z&to=2030-08-01T00:00:00Z";
    let shifts = walk(&app, cory_token, july).await;
    assert_eq!(shifts, [org.shift_id.as_str(), canal_shift.as_str(), riverside_later.as_str()]);
    let owners = walk(&app, token, july).await;
    assert_eq!(owners.len(), 4, "the owner sees Dockside's too: {owners:?}");
    let elsewhere = format!("{july}&location_id={dockside}");
    assert_eq!(ids(&json_of(app.get(&elsewhere, cory_token).await, StatusCode::OK).await), Vec::<&str>::new());
    let one = format!("{july}&location_id={canal}");
    assert_eq!(ids(&json_of(app.get(&one, cory_token).await, StatusCode::OK).await), [canal_shift.as_str()]);

    // Each of their lists reads its partitions at once: one round trip.
    for path in [july, "/people?status=invited", "/attendance?from=2019-01-01T00:00:00Z"] {
        let response = app.get(path, cory_token).await;
        assert_eq!((response.status(), app.round_trips_of(response.headers())), (StatusCode::OK, 1), "{path}");
    }

    // Beyond their locations nothing is found, to read or to change.
    let dockside_path = format!("/shifts/{dockside_shift}");
    problem_of(app.get(&dockside_path, cory_token).await, StatusCode::NOT_FOUND, "not_found").await;
    let change = Some(json!({ "headcount": 5 }));
    let patched = app.request(Method::PATCH, &dockside_path, Some(cory_token), change.clone()).await;
    problem_of(patched, StatusCode::NOT_FOUND, "not_found").await;
    let cancel = app.post_empty(&format!("{dockside_path}/cancel"), cory_token).await;
    problem_of(cancel, StatusCode::NOT_FOUND, "not_found").await;
    let new_shift = |location: &str| {
        json!({ "location_id": location, "position_id": position,
        "start": "2030-08-01T08:00:00Z", "end": "2030-08-01T12:00:00Z", "headcount": 1 })
    };
    problem_of(app.post("/shifts", Some(cory_token), new_shift(&dockside)).await, StatusCode::NOT_FOUND, "not_found")
        .await;
    json_of(app.post("/shifts", Some(cory_token), new_shift(&canal)).await, StatusCode::CREATED).await;
    let canal_path = format!("/shifts/{canal_shift}");
    json_of(app.request(Method::PATCH, &canal_path, Some(cory_token), change).await, StatusCode::OK).await;
    let placing = json!({ "person_ids": [dee] });
    let placed = app.post(&format!("/shifts/{canal_shift}/assignments"), Some(cory_token), placing).await;
    problem_of(placed, StatusCode::NOT_FOUND, "not_found").await;
    let eligible = json_of(app.get(&format!("/shifts/{canal_shift}/eligible"), cory_token).await, StatusCode::OK).await;
    let candidates: Vec<&str> = ["candidates", "excluded"]
        .iter()
        .flat_map(|list| eligible[list].as_array().unwrap())
        .map(|candidate| candidate["person_id"].as_str().unwrap())
        .collect();
    assert!(!candidates.contains(&dee.as_str()) && candidates.contains(&org.person_id.as_str()), "{candidates:?}");

    // People: their unit's (themself among them); the owner and Dockside's person are not found.
    let people = json_of(app.get("/people?limit=100", cory_token).await, StatusCode::OK).await;
    let mut seen = ids(&people);
    seen.sort_unstable();
    let mut wanted = vec![org.person_id.as_str(), cory_id];
    wanted.sort_unstable();
    assert_eq!(seen, wanted);
    for hidden in [&dee, &owner.person_id] {
        problem_of(app.get(&format!("/people/{hidden}"), cory_token).await, StatusCode::NOT_FOUND, "not_found").await;
    }
    let door = format!("/people?unit_id={door_team}");
    assert_eq!(ids(&json_of(app.get(&door, cory_token).await, StatusCode::OK).await), Vec::<&str>::new());
    assert_eq!(ids(&json_of(app.get(&door, token).await, StatusCode::OK).await), [dee.as_str()]);

    // Attendance: their locations' records; Dockside's is not found.
    let records = json_of(app.get("/attendance?from=2019-01-01T00:00:00Z", cory_token).await, StatusCode::OK).await;
    assert_eq!(ids(&records), [riverside_record.as_str()]);
    let all =
        json_of(app.get("/attendance?from=2019-01-01T00:00:00Z&to=2019-12-31T00:00:00Z", token).await, StatusCode::OK)
            .await;
    assert_eq!(ids(&all).len(), 2, "the owner sees both: {all}");
    let hidden = app.get(&format!("/attendance/{dockside_record}"), cory_token).await;
    problem_of(hidden, StatusCode::NOT_FOUND, "not_found").await;

    // The organisation's places: their locations and unit only.
    let locations = json_of(app.get("/locations", cory_token).await, StatusCode::OK).await;
    let mut seen = ids(&locations);
    seen.sort_unstable();
    assert_eq!(seen, expected_scope.iter().map(String::as_str).collect::<Vec<_>>());
    problem_of(app.get(&format!("/locations/{dockside}"), cory_token).await, StatusCode::NOT_FOUND, "not_found").await;
    let units = json_of(app.get("/units", cory_token).await, StatusCode::OK).await;
    assert_eq!(ids(&units), [org.unit_id.as_str()]);

    // Narrowing their scope ends their sessions; the next sign-in holds the new one.
    let narrowed = json!({ "scope": { "location_ids": [dockside], "unit_ids": [door_team] } });
    let path = format!("/people/{cory_id}");
    let after = json_of(app.request(Method::PATCH, &path, Some(token), Some(narrowed)).await, StatusCode::OK).await;
    assert_eq!(after["scope"], json!({ "location_ids": [dockside], "unit_ids": [door_team] }));
    problem_of(app.refresh(tokens["refresh_token"].as_str().unwrap()).await, StatusCode::UNAUTHORIZED, "unauthorized")
        .await;
    let tokens = json_of(app.login(&email, PASSWORD).await, StatusCode::OK).await;
    let cory_token = tokens["access_token"].as_str().unwrap();
    json_of(app.get(&dockside_path, cory_token).await, StatusCode::OK).await;
    problem_of(app.get(&canal_path, cory_token).await, StatusCode::NOT_FOUND, "not_found").await;
    let audit = json_of(app.get(&format!("/audit-logs?entity_id={cory_id}"), token).await, StatusCode::OK).await;
    assert_eq!(audit["items"][0]["action"], "person.updated");
    assert_eq!(audit["items"][0]["after"]["scope"]["unit_ids"], json!([door_team]));
}

#[tokio::test]
async fn a_limited_admin_gives_no_wider_scope_than_their_own() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let token = owner.access_token.as_str();
    let settings = json!({ "settings": { "require_admin_mfa": false } });
    json_of(app.request(Method::PATCH, "/tenant", Some(token), Some(settings)).await, StatusCode::OK).await;
    let org = app.organisation(&owner).await;
    let door_team = created(&app, token, "/units", json!({ "name": "Door team" })).await;
    let email = unique_email("admin");
    let body = json!({ "email": email, "name": "Ada Admin", "role": "admin", "unit_id": org.unit_id,
        "scope": { "unit_ids": [org.unit_id] } });
    app.member(token, body).await;
    let tokens = json_of(app.login(&email, PASSWORD).await, StatusCode::OK).await;
    let ada = tokens["access_token"].as_str().unwrap();

    // Someone Ada invites is limited as she is; she places nobody outside her units.
    let invite = |fields: Value| {
        let mut body =
            json!({ "email": unique_email("staff"), "name": "Sam", "role": "staff", "unit_id": org.unit_id });
        body.as_object_mut().unwrap().extend(fields.as_object().unwrap().clone());
        app.post("/people", Some(ada), body)
    };
    let invited = json_of(invite(json!({})).await, StatusCode::CREATED).await;
    assert_eq!(invited["scope"], json!({ "location_ids": [], "unit_ids": [org.unit_id] }));
    let outside = invite(json!({ "unit_id": door_team })).await;
    assert_eq!(
        problem_of(outside, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await["errors"][0]["field"],
        "unit_id"
    );
    for wider in [
        json!({ "unit_ids": [org.unit_id, door_team] }),
        json!({ "location_ids": [org.location_id] }),
        json!({ "location_ids": [], "unit_ids": [] }),
    ] {
        problem_of(invite(json!({ "scope": wider })).await, StatusCode::FORBIDDEN, "forbidden").await;
    }
    let narrower = json!({ "scope": { "location_ids": [org.location_id], "unit_ids": [org.unit_id] } });
    json_of(invite(narrower).await, StatusCode::CREATED).await;
    let unknown = json!({ "scope": { "location_ids": ["01J0000000000000000NOWHERE"], "unit_ids": [org.unit_id] } });
    problem_of(invite(unknown).await, StatusCode::NOT_FOUND, "not_found").await;

    // The fixture's staff member (her unit, no scope): no role from her until she limits them.
    let path = format!("/people/{}", org.person_id);
    let promote = app.request(Method::PATCH, &path, Some(ada), Some(json!({ "role": "coordinator" }))).await;
    problem_of(promote, StatusCode::FORBIDDEN, "forbidden").await;
    let limited = json!({ "role": "coordinator", "scope": { "unit_ids": [org.unit_id] } });
    let promoted = json_of(app.request(Method::PATCH, &path, Some(ada), Some(limited)).await, StatusCode::OK).await;
    assert_eq!(
        (promoted["role"].as_str(), &promoted["scope"]["unit_ids"]),
        (Some("coordinator"), &json!([org.unit_id]))
    );
    // Moving someone out of her units would lose them: refused.
    let away = app.request(Method::PATCH, &path, Some(ada), Some(json!({ "unit_id": door_team }))).await;
    problem_of(away, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    // Her own scope is not hers to change.
    let me = format!("/people/{}", invited["id"].as_str().unwrap());
    json_of(app.get(&me, ada).await, StatusCode::OK).await;
    let own = json!({ "scope": { "location_ids": [], "unit_ids": [] } });
    let ada_id = json_of(app.get("/me", ada).await, StatusCode::OK).await["id"].as_str().unwrap().to_owned();
    let widened = app.request(Method::PATCH, &format!("/people/{ada_id}"), Some(ada), Some(own)).await;
    problem_of(widened, StatusCode::FORBIDDEN, "forbidden").await;
}

/// The coordinator's other lists follow the same scope: events at their locations (and those at
/// no one location, which they read but do not change), requests of their units' people,
/// broadcasts to their locations, and nothing they send goes beyond them.
#[tokio::test]
async fn a_limited_coordinators_events_requests_and_broadcasts_are_theirs() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let token = owner.access_token.as_str();
    let org = app.organisation(&owner).await;
    let riverside = org.location_id.as_str();
    let dockside = location(&app, token, "Dockside").await;
    let door_team = created(&app, token, "/units", json!({ "name": "Door team" })).await;
    let event = |title: &str, location: Option<&str>| json!({ "title": title, "location_id": location, "starts_on": "2030-08-01", "ends_on": "2030-08-02" });
    let dockside_event = created(&app, token, "/events", event("Dock party", Some(&dockside))).await;
    let everywhere = created(&app, token, "/events", event("City week", None)).await;
    let dee = app
        .member(
            token,
            json!({ "email": unique_email("dee"), "name": "Dee Door", "role": "staff", "unit_id": door_team }),
        )
        .await;
    let dee_token = json_of(app.login(dee["email"].as_str().unwrap(), PASSWORD).await, StatusCode::OK).await;
    let sam_token = app.staff_token(&org).await;
    let time_off = json!({ "kind": "time_off", "from": "2030-09-01", "to": "2030-09-02" });
    let sams = created(&app, &sam_token, "/requests", time_off.clone()).await;
    let dees = created(&app, dee_token["access_token"].as_str().unwrap(), "/requests", time_off).await;
    let broadcast = |location: &str| json!({ "location_id": location, "message": "Doors open at six." });
    let send = |location: &str| app.post("/broadcasts", Some(token), broadcast(location));
    let to_riverside = json_of(send(riverside).await, StatusCode::ACCEPTED).await["id"].as_str().unwrap().to_owned();
    let to_dockside = json_of(send(&dockside).await, StatusCode::ACCEPTED).await["id"].as_str().unwrap().to_owned();

    let email = unique_email("coordinator");
    let body = json!({ "email": email, "name": "Cory Coordinator", "role": "coordinator", "unit_id": org.unit_id,
        "scope": { "location_ids": [riverside], "unit_ids": [org.unit_id] } });
    app.member(token, body).await;
    let tokens = json_of(app.login(&email, PASSWORD).await, StatusCode::OK).await;
    let cory = tokens["access_token"].as_str().unwrap();

    // Events: Riverside's and the one at no one location; Dockside's is not found.
    let mut events = ids(&json_of(app.get("/events?limit=100", cory).await, StatusCode::OK).await)
        .into_iter()
        .map(str::to_owned)
        .collect::<Vec<_>>();
    events.sort_unstable();
    let mut wanted = vec![org.event_id.clone(), everywhere.clone()];
    wanted.sort_unstable();
    assert_eq!(events, wanted);
    problem_of(app.get(&format!("/events/{dockside_event}"), cory).await, StatusCode::NOT_FOUND, "not_found").await;
    let rename = Some(json!({ "title": "Renamed" }));
    let shared = app.request(Method::PATCH, &format!("/events/{everywhere}"), Some(cory), rename.clone()).await;
    problem_of(shared, StatusCode::FORBIDDEN, "forbidden").await;
    let own = app.request(Method::PATCH, &format!("/events/{}", org.event_id), Some(cory), rename).await;
    json_of(own, StatusCode::OK).await;
    problem_of(
        app.post("/events", Some(cory), event("Elsewhere", Some(&dockside))).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let nowhere = app.post("/events", Some(cory), event("Nowhere", None)).await;
    problem_of(nowhere, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;

    // Requests: their unit's people's — Sam's time off and the swap of Sam's shift; not Dee's.
    let requests = json_of(app.get("/requests?limit=100", cory).await, StatusCode::OK).await;
    let mut seen = ids(&requests);
    seen.sort_unstable();
    let mut wanted = vec![sams.as_str(), org.swap_id.as_str()];
    wanted.sort_unstable();
    assert_eq!(seen, wanted);
    let review = json_of(app.get("/requests?to_review=true", cory).await, StatusCode::OK).await;
    assert_eq!(ids(&review), [sams.as_str()]);
    problem_of(app.get(&format!("/requests/{dees}"), cory).await, StatusCode::NOT_FOUND, "not_found").await;
    let approve = app.post_empty(&format!("/requests/{dees}/approve"), cory).await;
    problem_of(approve, StatusCode::NOT_FOUND, "not_found").await;

    // Broadcasts: to Riverside only, both ways.
    let sent = json_of(app.get("/broadcasts", cory).await, StatusCode::OK).await;
    assert_eq!(ids(&sent), [to_riverside.as_str()]);
    problem_of(app.get(&format!("/broadcasts/{to_dockside}"), cory).await, StatusCode::NOT_FOUND, "not_found").await;
    problem_of(app.post("/broadcasts", Some(cory), broadcast(&dockside)).await, StatusCode::NOT_FOUND, "not_found")
        .await;
    let everyone = json!({ "event_id": org.event_id, "message": "Doors open at six." });
    problem_of(
        app.post("/broadcasts", Some(cory), everyone).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let status = app.post("/broadcasts", Some(cory), broadcast(riverside)).await.status();
    assert_eq!(status, StatusCode::ACCEPTED);
}
