//! The organisation and its people, as an admin and the people they invite use them: invitations,
//! role and status changes that take effect at once, password resets, units, settings, and the
//! audit trail every change leaves.

use api_tests::{Account, PASSWORD, TestApp, json_of, problem_of, spawn_app, totp_code, unique_email};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn patch(app: &TestApp, path: &str, token: &str, body: Value) -> reqwest::Response {
    app.request(Method::PATCH, path, Some(token), Some(body)).await
}

/// Invites `email` as `role`; returns the person.
async fn invite(app: &TestApp, owner: &Account, email: &str, role: &str) -> Value {
    let body = json!({ "email": email, "name": "Ivy Invited", "role": role });
    json_of(app.post("/people", Some(&owner.access_token), body).await, StatusCode::CREATED).await
}

/// Accepts the newest invitation mailed to `email`; returns the answer (`me` and `tokens`).
async fn accept(app: &TestApp, email: &str) -> Value {
    let token = app.link_token(email, "/accept-invitation").await;
    let body = json!({ "token": token, "password": PASSWORD, "token_delivery": "body" });
    json_of(app.post("/auth/invitations/accept", None, body).await, StatusCode::CREATED).await
}

/// An admin's access token after turning on 2FA, as they must before acting as an admin.
async fn with_2fa(app: &TestApp, accepted: &Value) -> String {
    let token = accepted["tokens"]["access_token"].as_str().unwrap();
    let setup = json_of(app.post_empty("/auth/2fa/setup", token).await, StatusCode::OK).await;
    let code = totp_code(setup["secret"].as_str().unwrap(), chrono::Utc::now().timestamp());
    json_of(app.post("/auth/2fa/enable", Some(token), json!({ "code": code })).await, StatusCode::OK).await;
    let refreshed = app.refresh(accepted["tokens"]["refresh_token"].as_str().unwrap()).await;
    json_of(refreshed, StatusCode::OK).await["access_token"].as_str().unwrap().to_owned()
}

fn claims(access_token: &str) -> Value {
    use base64::Engine;
    let payload = access_token.split('.').nth(1).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

#[tokio::test]
async fn an_invited_person_sets_a_password_from_the_email_and_can_log_in() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let email = unique_email("ivy");
    let person = invite(&app, &owner, &email, "staff").await;
    assert_eq!((person["status"].as_str(), person["role"].as_str()), (Some("invited"), Some("staff")));

    // Before accepting, the account cannot log in.
    problem_of(app.login(&email, PASSWORD).await, StatusCode::UNAUTHORIZED, "unauthorized").await;

    let mail = app.mail_to(&email).await;
    assert_eq!(mail.len(), 1, "{mail:?}");
    assert!(mail[0]["subject"].as_str().unwrap().contains("Harbour Events"), "{mail:?}");
    let token = app.link_token(&email, "/accept-invitation").await;
    let body = json!({ "token": token, "password": PASSWORD, "token_delivery": "body" });
    let accepted = json_of(app.post("/auth/invitations/accept", None, body.clone()).await, StatusCode::CREATED).await;
    assert_eq!(accepted["me"]["status"], "active");
    assert_eq!(claims(accepted["tokens"]["access_token"].as_str().unwrap())["role"], "staff");

    // The link works once; the password works from now on.
    problem_of(app.post("/auth/invitations/accept", None, body).await, StatusCode::NOT_FOUND, "not_found").await;
    json_of(app.login(&email, PASSWORD).await, StatusCode::OK).await;
}

#[tokio::test]
async fn a_resent_invitation_kills_the_old_link() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let email = unique_email("ivy");
    let person = invite(&app, &owner, &email, "staff").await;
    let old = app.link_token(&email, "/accept-invitation").await;

    let path = format!("/people/{}/invite", person["id"].as_str().unwrap());
    let sent = json_of(app.post(&path, Some(&owner.access_token), json!(null)).await, StatusCode::ACCEPTED).await;
    assert_eq!((sent["email"].as_str(), sent["link_expires_in"].as_i64()), (Some(email.as_str()), Some(72 * 3600)));
    let new = app.link_token(&email, "/accept-invitation").await;
    assert_ne!(old, new);

    let with = |token: &str| json!({ "token": token, "password": PASSWORD });
    problem_of(app.post("/auth/invitations/accept", None, with(&old)).await, StatusCode::NOT_FOUND, "not_found").await;
    json_of(app.post("/auth/invitations/accept", None, with(&new)).await, StatusCode::CREATED).await;
    // Accepted: no more invitations for them.
    problem_of(app.post(&path, Some(&owner.access_token), json!(null)).await, StatusCode::CONFLICT, "conflict").await;
}

#[tokio::test]
async fn deactivation_stops_login_and_refresh_at_once() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let email = unique_email("ivy");
    let person = invite(&app, &owner, &email, "staff").await;
    let tokens = accept(&app, &email).await["tokens"].clone();

    let path = format!("/people/{}", person["id"].as_str().unwrap());
    let deleted = app.request(Method::DELETE, &path, Some(&owner.access_token), None).await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);

    let refresh = app.refresh(tokens["refresh_token"].as_str().unwrap()).await;
    problem_of(refresh, StatusCode::UNAUTHORIZED, "unauthorized").await;
    problem_of(app.login(&email, PASSWORD).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
    // History stays: the person is still there, inactive.
    let now = json_of(app.get(&path, &owner.access_token).await, StatusCode::OK).await;
    assert_eq!((now["status"].as_str(), now["version"].as_u64()), (Some("inactive"), Some(3)));
}

#[tokio::test]
async fn a_role_change_ends_the_old_sessions_and_the_next_login_has_the_new_role() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let email = unique_email("ivy");
    let person = invite(&app, &owner, &email, "staff").await;
    let tokens = accept(&app, &email).await["tokens"].clone();

    let path = format!("/people/{}", person["id"].as_str().unwrap());
    let changed =
        json_of(patch(&app, &path, &owner.access_token, json!({ "role": "coordinator" })).await, StatusCode::OK).await;
    assert_eq!(changed["role"], "coordinator");

    let refresh = app.refresh(tokens["refresh_token"].as_str().unwrap()).await;
    problem_of(refresh, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let login = json_of(app.login(&email, PASSWORD).await, StatusCode::OK).await;
    assert_eq!(claims(login["access_token"].as_str().unwrap())["role"], "coordinator");
}

#[tokio::test]
async fn who_may_change_whom() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let admin_email = unique_email("ada");
    invite(&app, &owner, &admin_email, "admin").await;
    let admin = accept(&app, &admin_email).await;
    // Until the admin turns on 2FA, admin actions wait for it.
    let without = admin["tokens"]["access_token"].as_str().unwrap();
    let body = json!({ "email": unique_email("x"), "name": "X", "role": "staff" });
    problem_of(app.post("/people", Some(without), body).await, StatusCode::FORBIDDEN, "mfa_required").await;
    let admin_token = &with_2fa(&app, &admin).await;

    // An admin cannot make an owner, nor change the owner; nobody changes their own role.
    let body = json!({ "email": unique_email("x"), "name": "X", "role": "owner" });
    problem_of(app.post("/people", Some(admin_token), body).await, StatusCode::FORBIDDEN, "forbidden").await;
    let owner_path = format!("/people/{}", owner.person_id);
    let demote = patch(&app, &owner_path, admin_token, json!({ "role": "staff" })).await;
    problem_of(demote, StatusCode::FORBIDDEN, "forbidden").await;
    let own = format!("/people/{}", admin["me"]["id"].as_str().unwrap());
    problem_of(patch(&app, &own, admin_token, json!({ "role": "owner" })).await, StatusCode::FORBIDDEN, "forbidden")
        .await;
    let body = json!({ "email": unique_email("x"), "name": "X", "role": "platform_admin" });
    let problem = problem_of(
        app.post("/people", Some(admin_token), body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "role");

    // Staff see themselves, not the list and not others.
    let staff_email = unique_email("sam");
    invite(&app, &owner, &staff_email, "staff").await;
    let staff = accept(&app, &staff_email).await;
    let staff_token = staff["tokens"]["access_token"].as_str().unwrap();
    problem_of(app.get("/people", staff_token).await, StatusCode::FORBIDDEN, "forbidden").await;
    problem_of(app.get(&own, staff_token).await, StatusCode::NOT_FOUND, "not_found").await;
    let me = format!("/people/{}", staff["me"]["id"].as_str().unwrap());
    json_of(app.get(&me, staff_token).await, StatusCode::OK).await;
    // An email belongs to one person on the whole platform.
    let body = json!({ "email": owner.email, "name": "Again", "role": "staff" });
    problem_of(app.post("/people", Some(&owner.access_token), body).await, StatusCode::CONFLICT, "conflict").await;
}

#[tokio::test]
async fn a_password_reset_works_once_and_ends_every_session() {
    let app = spawn_app().await;
    let owner = app.signup().await;

    // An unknown email gets the same answer, and no mail.
    let nobody = unique_email("nobody");
    let unknown =
        json_of(app.post("/auth/forgot-password", None, json!({ "email": nobody })).await, StatusCode::ACCEPTED).await;
    let known =
        json_of(app.post("/auth/forgot-password", None, json!({ "email": owner.email })).await, StatusCode::ACCEPTED)
            .await;
    assert_eq!(unknown, known);
    assert_eq!(known, json!({ "link_expires_in": 1800 }));
    assert!(app.mail_to(&nobody).await.is_empty());

    let token = app.link_token(&owner.email, "/reset-password").await;
    let body = json!({ "token": token, "password": "a brand new password" });
    let reset = app.post("/auth/reset-password", None, body.clone()).await;
    assert_eq!(reset.status(), StatusCode::NO_CONTENT);
    problem_of(app.post("/auth/reset-password", None, body).await, StatusCode::NOT_FOUND, "not_found").await;

    problem_of(app.refresh(&owner.refresh_token).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
    problem_of(app.login(&owner.email, PASSWORD).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
    json_of(app.login(&owner.email, "a brand new password").await, StatusCode::OK).await;
}

#[tokio::test]
async fn a_newer_reset_link_replaces_the_older_one() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let ask = || app.post("/auth/forgot-password", None, json!({ "email": owner.email }));
    json_of(ask().await, StatusCode::ACCEPTED).await;
    let older = app.link_token(&owner.email, "/reset-password").await;
    json_of(ask().await, StatusCode::ACCEPTED).await;
    let newer = app.link_token(&owner.email, "/reset-password").await;
    let with = |token: &str| json!({ "token": token, "password": "a brand new password" });
    problem_of(app.post("/auth/reset-password", None, with(&older)).await, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(app.post("/auth/reset-password", None, with(&newer)).await.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn a_suspended_organisation_accepts_no_invitation() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let email = unique_email("ivy");
    invite(&app, &owner, &email, "staff").await;
    app.set(&format!("T#{}", owner.tenant_id), "TENANT", &[("status", json!("suspended"))]).await;
    let token = app.link_token(&email, "/accept-invitation").await;
    let accept = app.post("/auth/invitations/accept", None, json!({ "token": token, "password": PASSWORD })).await;
    problem_of(accept, StatusCode::FORBIDDEN, "tenant_suspended").await;
}

#[tokio::test]
async fn of_two_people_made_lead_at_once_one_wins() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let org = app.organisation(&owner).await;
    let other = invite(&app, &owner, &unique_email("lee"), "staff").await;
    let path = format!("/units/{}", org.unit_id);
    let unit = json_of(app.get("/units", &owner.access_token).await, StatusCode::OK).await["items"][0].clone();
    let version = unit["version"].as_u64().unwrap();

    let candidates = [org.person_id.clone(), other["id"].as_str().unwrap().to_owned()];
    let attempts =
        candidates.iter().flat_map(|lead| (0..3).map(move |_| json!({ "lead_person_id": lead, "version": version })));
    let responses =
        futures_util::future::join_all(attempts.map(|body| patch(&app, &path, &owner.access_token, body))).await;
    let statuses: Vec<_> = responses.iter().map(|r| r.status()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::OK).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CONFLICT).count(), 5, "{statuses:?}");

    // Without a version, a unit that has a lead keeps it.
    let unit = json_of(app.get("/units", &owner.access_token).await, StatusCode::OK).await["items"][0].clone();
    let winner = unit["lead_person_id"].as_str().unwrap().to_owned();
    let loser = candidates.iter().find(|c| **c != winner).unwrap();
    let replace = patch(&app, &path, &owner.access_token, json!({ "lead_person_id": loser })).await;
    problem_of(replace, StatusCode::CONFLICT, "conflict").await;
    let cleared = patch(&app, &path, &owner.access_token, json!({ "lead_person_id": null })).await;
    assert_eq!(json_of(cleared, StatusCode::OK).await["lead_person_id"], Value::Null);
}

#[tokio::test]
async fn settings_change_one_at_a_time_and_bad_ones_are_named() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let tenant = json_of(app.get("/tenant", &owner.access_token).await, StatusCode::OK).await;
    assert_eq!((tenant["time_zone"].as_str(), tenant["currency"].as_str()), (Some("UTC"), Some("EUR")));
    assert_eq!(tenant["settings"]["late_grace_minutes"], 5);
    assert_eq!(tenant["settings"]["require_admin_mfa"], true);

    let body = json!({ "time_zone": "Europe/London", "settings": { "late_grace_minutes": 10 }, "version": 1 });
    let changed = json_of(patch(&app, "/tenant", &owner.access_token, body).await, StatusCode::OK).await;
    assert_eq!((changed["time_zone"].as_str(), changed["version"].as_u64()), (Some("Europe/London"), Some(2)));
    assert_eq!(changed["settings"]["late_grace_minutes"], 10);
    assert_eq!(changed["settings"]["min_rest_minutes"], 660, "other settings stay");

    let stale = patch(&app, "/tenant", &owner.access_token, json!({ "name": "Again", "version": 1 })).await;
    problem_of(stale, StatusCode::CONFLICT, "conflict").await;
    for (body, field) in [
        (json!({ "time_zone": "Mars/Olympus" }), "time_zone"),
        (json!({ "currency": "euro" }), "currency"),
        (json!({ "settings": { "late_grace_minutes": 500 } }), "settings.late_grace_minutes"),
        (json!({ "settings": { "colour": "red" } }), "settings"),
    ] {
        let problem = problem_of(
            patch(&app, "/tenant", &owner.access_token, body.clone()).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        assert!(problem["errors"][0]["field"].as_str().unwrap().starts_with(field), "{body}: {problem}");
    }
}

#[tokio::test]
async fn locations_keep_their_geofence_rules_and_archive_instead_of_vanishing() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let token = Some(owner.access_token.as_str());
    for (field, value) in
        [("lat", json!(90.5)), ("lng", json!(-181)), ("radius_m", json!(9)), ("radius_m", json!(5001))]
    {
        let mut body = json!({ "name": "Hall", "lat": 1.0, "lng": 1.0, "radius_m": 100 });
        body[field] = value;
        let problem = problem_of(
            app.post("/locations", token, body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        assert_eq!(problem["errors"][0]["field"], field);
    }
    let edge = json!({ "name": "Pole", "lat": 90, "lng": -180, "radius_m": 10 });
    let pole = json_of(app.post("/locations", token, edge).await, StatusCode::CREATED).await;
    assert_eq!(pole["time_zone"], "UTC", "the organisation's zone by default");

    let path = format!("/locations/{}", pole["id"].as_str().unwrap());
    assert_eq!(app.request(Method::DELETE, &path, token, None).await.status(), StatusCode::NO_CONTENT);
    let listed = json_of(app.get("/locations", &owner.access_token).await, StatusCode::OK).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 0);
    let all = json_of(app.get("/locations?include_archived=true", &owner.access_token).await, StatusCode::OK).await;
    assert_eq!(all["items"][0]["id"], pole["id"]);
    assert!(all["items"][0]["archived_at"].is_string());
}

#[tokio::test]
async fn people_are_listed_by_filter_a_page_at_a_time() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let org = app.organisation(&owner).await;
    for name in ["Ann", "Bob", "Cat"] {
        let body = json!({ "email": unique_email(name), "name": format!("{name} Lee"), "role": "staff", "unit_id": org.unit_id });
        json_of(app.post("/people", Some(&owner.access_token), body).await, StatusCode::CREATED).await;
    }
    let names = |page: &Value| -> Vec<String> {
        page["items"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap().to_owned()).collect()
    };
    let lees = json_of(app.get("/people?q=LEE", &owner.access_token).await, StatusCode::OK).await;
    assert_eq!(names(&lees), ["Ann Lee", "Bob Lee", "Cat Lee"]);
    let unit =
        json_of(app.get(&format!("/people?unit_id={}", org.unit_id), &owner.access_token).await, StatusCode::OK).await;
    assert_eq!(names(&unit).len(), 4, "the organisation's staff member and the three");
    let owners = json_of(app.get("/people?role=owner", &owner.access_token).await, StatusCode::OK).await;
    assert_eq!(names(&owners), ["Olive Owner"]);

    let first = json_of(app.get("/people?limit=2", &owner.access_token).await, StatusCode::OK).await;
    assert_eq!(names(&first).len(), 2);
    let cursor = first["next_cursor"].as_str().unwrap();
    let rest =
        json_of(app.get(&format!("/people?limit=2&cursor={cursor}"), &owner.access_token).await, StatusCode::OK).await;
    let last = json_of(
        app.get(&format!("/people?limit=2&cursor={}", rest["next_cursor"].as_str().unwrap()), &owner.access_token)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(names(&first).len() + names(&rest).len() + names(&last).len(), 5);
    assert!(last["next_cursor"].is_null());

    let bad = app.get("/people?cursor=bm90LWEtY3Vyc29y", &owner.access_token).await;
    let problem = problem_of(bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "cursor");
    let problem = problem_of(
        app.get("/people?limit=101", &owner.access_token).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "limit");
}

#[tokio::test]
async fn every_change_leaves_an_audit_entry_with_before_and_after() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let email = unique_email("ivy");
    let person = invite(&app, &owner, &email, "staff").await;
    let id = person["id"].as_str().unwrap();
    accept(&app, &email).await;
    let path = format!("/people/{id}");
    json_of(patch(&app, &path, &owner.access_token, json!({ "role": "coordinator" })).await, StatusCode::OK).await;
    app.request(Method::DELETE, &path, Some(&owner.access_token), None).await;
    json_of(patch(&app, "/tenant", &owner.access_token, json!({ "currency": "GBP" })).await, StatusCode::OK).await;

    let history =
        json_of(app.get(&format!("/audit-logs?entity_id={id}"), &owner.access_token).await, StatusCode::OK).await;
    let actions: Vec<_> = history["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        ["person.deactivated", "person.updated", "person.accepted_invitation", "person.invited"],
        "newest first"
    );
    let update = &history["items"][1];
    assert_eq!(
        (update["before"]["role"].as_str(), update["after"]["role"].as_str()),
        (Some("staff"), Some("coordinator"))
    );
    assert_eq!(update["actor_id"], owner.person_id.as_str());
    assert!(update["request_id"].as_str().is_some_and(|id| !id.is_empty()));
    assert!(history["items"][3]["before"].is_null());

    let tenant = json_of(app.get("/audit-logs?entity_type=tenant", &owner.access_token).await, StatusCode::OK).await;
    assert_eq!(tenant["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        (tenant["items"][0]["before"]["currency"].as_str(), tenant["items"][0]["after"]["currency"].as_str()),
        (Some("EUR"), Some("GBP"))
    );
    let by_person =
        json_of(app.get(&format!("/audit-logs?actor_id={id}"), &owner.access_token).await, StatusCode::OK).await;
    assert_eq!(by_person["items"][0]["action"], "person.accepted_invitation");
    // One's own profile too.
    json_of(patch(&app, "/me", &owner.access_token, json!({ "phone": "+44 20 7946 0000" })).await, StatusCode::OK)
        .await;
    let own = json_of(
        app.get(&format!("/audit-logs?entity_id={}", owner.person_id), &owner.access_token).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(own["items"][0]["action"], "person.updated_own_profile");
    assert_eq!(own["items"][0]["after"]["phone"], "+442079460000");
    let future =
        json_of(app.get("/audit-logs?from=2099-01-01T00:00:00Z", &owner.access_token).await, StatusCode::OK).await;
    assert_eq!(future["items"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn supervisors_give_feedback_and_the_worker_sees_only_their_own() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let (sam_email, kim_email) = (unique_email("sam"), unique_email("kim"));
    let sam = invite(&app, &owner, &sam_email, "staff").await;
    let kim = invite(&app, &owner, &kim_email, "staff").await;
    let sam_token = accept(&app, &sam_email).await["tokens"]["access_token"].as_str().unwrap().to_owned();
    let path = |person: &Value| format!("/people/{}/feedback", person["id"].as_str().unwrap());

    let token = Some(owner.access_token.as_str());
    for (rating, note) in [(4, "Good first shift"), (5, "Calm on a busy night")] {
        let given = app.post(&path(&sam), token, json!({ "rating": rating, "note": note })).await;
        let given = json_of(given, StatusCode::CREATED).await;
        assert_eq!(
            (given["rating"].as_u64(), given["author_id"].as_str()),
            (Some(rating), Some(owner.person_id.as_str()))
        );
    }
    for rating in [0, 6] {
        let problem = problem_of(
            app.post(&path(&sam), token, json!({ "rating": rating })).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        assert_eq!(problem["errors"][0]["field"], "rating");
    }

    let own = json_of(app.get(&path(&sam), &sam_token).await, StatusCode::OK).await;
    let notes: Vec<&str> = own["items"].as_array().unwrap().iter().map(|f| f["note"].as_str().unwrap()).collect();
    assert_eq!(notes, ["Calm on a busy night", "Good first shift"], "newest first");
    // A worker sees no one else's, and gives none.
    problem_of(app.get(&path(&kim), &sam_token).await, StatusCode::NOT_FOUND, "not_found").await;
    problem_of(
        app.post(&path(&kim), Some(&sam_token), json!({ "rating": 1 })).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let history =
        json_of(app.get("/audit-logs?action=feedback.given", &owner.access_token).await, StatusCode::OK).await;
    assert_eq!(history["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_person_uploads_their_photo_straight_to_s3_with_the_signed_type_and_size() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let email = unique_email("ivy");
    let ivy = invite(&app, &owner, &email, "staff").await;
    let ivy_token = accept(&app, &email).await["tokens"]["access_token"].as_str().unwrap().to_owned();
    let path = format!("/people/{}/photo", ivy["id"].as_str().unwrap());
    let photo = vec![0xff_u8; 2048];

    let upload =
        app.post(&path, Some(&ivy_token), json!({ "content_type": "image/jpeg", "content_length": 2048 })).await;
    let upload = json_of(upload, StatusCode::CREATED).await;
    let key =
        format!("tenants/{}/people/{}/photo.jpg", ivy["tenant_id"].as_str().unwrap(), ivy["id"].as_str().unwrap());
    assert_eq!((upload["key"].as_str(), upload["method"].as_str()), (Some(key.as_str()), Some("PUT")));
    assert_eq!(upload["headers"], json!({ "content-type": "image/jpeg", "content-length": "2048" }));
    let url = upload["url"].as_str().unwrap();
    // S3 refuses an upload whose type or size differs from the signed one. moto does not check
    // signatures, so what is signed is asserted here.
    assert!(url.contains("X-Amz-SignedHeaders=content-length%3Bcontent-type%3Bhost"), "{url}");
    assert!(url.contains("X-Amz-Expires=900"), "{url}");

    let put = reqwest::Client::new().put(url).header("content-type", "image/jpeg").body(photo).send().await.unwrap();
    assert_eq!(put.status(), StatusCode::OK, "{:?}", put.text().await);
    let stored = app.s3.head_object().bucket(&app.config.bucket).key(&key).send().await.unwrap();
    assert_eq!((stored.content_type(), stored.content_length()), (Some("image/jpeg"), Some(2048)));

    // Only images, only up to 5 MiB, each field named.
    let refused = app.post(&path, Some(&ivy_token), json!({ "content_type": "text/html", "content_length": 10 })).await;
    let problem = problem_of(refused, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "content_type");
    let too_big = json!({ "content_type": "image/png", "content_length": 5 * 1024 * 1024 + 1 });
    let problem = problem_of(
        app.post(&path, Some(&ivy_token), too_big).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "content_length");
    let largest = json!({ "content_type": "image/png", "content_length": 5 * 1024 * 1024 });
    json_of(app.post(&path, Some(&ivy_token), largest).await, StatusCode::CREATED).await;

    // Someone else's photo is an admin's business; an admin may set anyone's.
    let owner_path = format!("/people/{}/photo", owner.person_id);
    let body = json!({ "content_type": "image/webp", "content_length": 1 });
    problem_of(app.post(&owner_path, Some(&ivy_token), body.clone()).await, StatusCode::FORBIDDEN, "forbidden").await;
    json_of(app.post(&path, Some(&owner.access_token), body.clone()).await, StatusCode::CREATED).await;
    let nobody = format!("/people/{}/photo", ulid::Ulid::new());
    problem_of(app.post(&nobody, Some(&owner.access_token), body).await, StatusCode::NOT_FOUND, "not_found").await;
}
