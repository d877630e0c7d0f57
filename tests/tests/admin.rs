//! The platform admin's story: an operator invites them (never the API), they set a password and
//! turn on 2FA, then look after the organisations.

use api_tests::{json_of, problem_of, spawn_app, unique_email};
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn a_platform_admin_suspends_and_reactivates_an_organisation() {
    let app = spawn_app().await;
    let admin = app.platform_admin().await;
    let owner = app.signup().await;
    let path = |action: &str| format!("/admin/tenants/{}/{action}", owner.tenant_id);

    let suspended = json_of(app.post(&path("suspend"), Some(&admin), json!(null)).await, StatusCode::OK).await;
    assert_eq!(suspended["status"], "suspended");
    problem_of(app.login(&owner.email, &owner.password).await, StatusCode::FORBIDDEN, "tenant_suspended").await;
    problem_of(app.refresh(&owner.refresh_token).await, StatusCode::FORBIDDEN, "tenant_suspended").await;

    let active = json_of(app.post(&path("activate"), Some(&admin), json!(null)).await, StatusCode::OK).await;
    assert_eq!(active["status"], "active");
    json_of(app.refresh(&owner.refresh_token).await, StatusCode::OK).await;

    // The organisation's admins see who did it, in their own audit log.
    let owner_token = app.login_tokens(&owner).await["access_token"].as_str().unwrap().to_owned();
    let log = json_of(app.get("/audit-logs?entity_type=tenant", &owner_token).await, StatusCode::OK).await;
    let actions: Vec<&str> = log["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["tenant.activated", "tenant.suspended"]);
}

#[tokio::test]
async fn credits_are_granted_and_counted_exactly() {
    let app = spawn_app().await;
    let admin = app.platform_admin().await;
    let owner = app.signup().await;
    let path = format!("/admin/tenants/{}/credits", owner.tenant_id);
    // Ten grants at once: one ADD with its ledger entry each, none lost.
    let grants = (0..10)
        .map(|_| async { json_of(app.post(&path, Some(&admin), json!({ "amount": 7 })).await, StatusCode::OK).await });
    let balances: Vec<i64> =
        futures_util::future::join_all(grants).await.iter().map(|b| b["message_credits"].as_i64().unwrap()).collect();
    // Each answers the balance just after it (its own grant and any made meanwhile).
    assert!(balances.iter().all(|balance| (507..=570).contains(balance)), "{balances:?}");
    assert!(balances.contains(&570), "the last one sees them all: {balances:?}");
    let tenant = json_of(app.get("/tenant", &owner.access_token).await, StatusCode::OK).await;
    assert_eq!(tenant["message_credits"], 500 + 70);
    let ledger = json_of(app.get("/billing/credits/transactions", &owner.access_token).await, StatusCode::OK).await;
    let granted = ledger["items"].as_array().unwrap().iter().filter(|entry| entry["amount"] == 7).count();
    assert_eq!(granted, 10, "{ledger}");

    for amount in [json!(0), json!(1_000_001), json!("many")] {
        let problem = problem_of(
            app.post(&path, Some(&admin), json!({ "amount": amount })).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        assert_eq!(problem["errors"][0]["field"], "amount");
    }
    let nowhere = "/admin/tenants/01JNOSUCHTENANT00000000000/credits";
    problem_of(app.post(nowhere, Some(&admin), json!({ "amount": 1 })).await, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn the_tenant_list_and_figures_count_people_as_they_come_and_go() {
    let app = spawn_app().await;
    let admin = app.platform_admin().await;
    let owner = app.signup().await;
    let org = app.organisation(&owner).await;

    let find =
        |page: &Value| page["items"].as_array().unwrap().iter().find(|t| t["id"] == owner.tenant_id.as_str()).cloned();
    let first = json_of(app.get("/admin/tenants?limit=100", &admin).await, StatusCode::OK).await;
    let listed = find(&first).expect("the newest organisations come first");
    assert_eq!(
        (listed["people_count"].as_i64(), listed["status"].as_str()),
        (Some(2), Some("active")),
        "the owner and the invited staff member"
    );
    assert!(first["items"].as_array().unwrap().iter().all(|t| t["id"] != rota::store::platform::PLATFORM_TENANT));

    let before = json_of(app.get("/admin/stats", &admin).await, StatusCode::OK).await;
    let deactivate = app
        .request(reqwest::Method::DELETE, &format!("/people/{}", org.person_id), Some(&owner.access_token), None)
        .await;
    assert_eq!(deactivate.status(), StatusCode::NO_CONTENT);
    let invite = json!({ "email": unique_email("new"), "name": "New", "role": "staff" });
    json_of(app.post("/people", Some(&owner.access_token), invite).await, StatusCode::CREATED).await;
    app.deliver().await;
    let after = json_of(app.get("/admin/stats", &admin).await, StatusCode::OK).await;
    // Other tests run alongside and add their own: this organisation's changes are the floor.
    assert!(after["tenants"].as_i64() >= before["tenants"].as_i64());
    let sent = |stats: &Value| stats["messages_sent_this_month"].as_i64().unwrap();
    assert!(sent(&after) > sent(&before), "the invitation was sent and counted");
    let listed = find(&json_of(app.get("/admin/tenants?limit=100", &admin).await, StatusCode::OK).await).unwrap();
    assert_eq!(listed["people_count"], 2, "one deactivated, one invited");
}

#[tokio::test]
async fn only_platform_admins_reach_the_platform() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    for path in ["/admin/tenants", "/admin/stats"] {
        problem_of(app.get(path, &owner.access_token).await, StatusCode::FORBIDDEN, "forbidden").await;
    }
    let suspend = format!("/admin/tenants/{}/suspend", owner.tenant_id);
    problem_of(app.post(&suspend, Some(&owner.access_token), json!(null)).await, StatusCode::FORBIDDEN, "forbidden")
        .await;
    // The platform's own organisation is not the platform admin's to suspend.
    let admin = app.platform_admin().await;
    let own = format!("/admin/tenants/{}/suspend", rota::store::platform::PLATFORM_TENANT);
    problem_of(app.post(&own, Some(&admin), json!(null)).await, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn a_platform_admin_looks_into_an_organisation_and_its_waiting_check_ins() {
    let app = spawn_app().await;
    let admin = app.platform_admin().await;
    let owner = app.signup().await;
    let org = app.organisation(&owner).await;
    let site = app.on_site(&owner.access_token, &org).await;
    let today = chrono::Utc::now().date_naive().to_string();
    let fair = json!({ "title": "Town fair", "location_id": org.location_id, "starts_on": today, "ends_on": today });
    json_of(app.post("/events", Some(&owner.access_token), fair).await, StatusCode::CREATED).await;
    let detail = json_of(app.get(&format!("/admin/tenants/{}", owner.tenant_id), &admin).await, StatusCode::OK).await;
    assert_eq!(detail["id"], owner.tenant_id.as_str());
    let month = chrono::Utc::now().format("%Y-%m").to_string();
    // The owner and Sam; the fair runs today (the festival in 2030); the one check-in is the
    // fixture's (on a shift that started 70 minutes ago: this month unless it began since).
    let check_ins =
        i64::from((chrono::Utc::now() - chrono::Duration::minutes(70)).format("%Y-%m").to_string() == month);
    let usage = &detail["usage"];
    assert_eq!(
        (
            usage["month"].as_str(),
            usage["active_people"].as_i64(),
            usage["events"].as_i64(),
            usage["check_ins"].as_i64()
        ),
        (Some(month.as_str()), Some(2), Some(1), Some(check_ins)),
        "{detail}"
    );
    let contacts = detail["contacts"].as_array().unwrap();
    assert_eq!(contacts.len(), 1, "{detail}");
    assert_eq!(
        (contacts[0]["person_id"].as_str(), contacts[0]["email"].as_str()),
        (Some(owner.person_id.as_str()), Some(owner.email.as_str()))
    );
    problem_of(app.get("/admin/tenants/01JN0SUCHTENANT00000000000", &admin).await, StatusCode::NOT_FOUND, "not_found")
        .await;

    // The fixture's vague check-in waits for review: in the queue across organisations, with its
    // organisation; Rota decides it, in the organisation's log.
    let mut waiting = Vec::new();
    let mut cursor = String::new();
    loop {
        let page =
            json_of(app.get(&format!("/admin/platform/face-reviews?limit=100{cursor}"), &admin).await, StatusCode::OK)
                .await;
        waiting.extend(
            page["items"].as_array().unwrap().iter().filter(|r| r["tenant_id"] == owner.tenant_id.as_str()).cloned(),
        );
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(
        waiting.iter().map(|r| r["attendance_id"].as_str().unwrap()).collect::<Vec<_>>(),
        [site.attendance_id.as_str()]
    );
    let decide = format!("/admin/platform/face-reviews/{}/{}", owner.tenant_id, site.attendance_id);
    let decided =
        json_of(app.post(&decide, Some(&admin), json!({ "decision": "verified" })).await, StatusCode::OK).await;
    assert_eq!(decided["review"]["state"], "verified", "{decided}");
    problem_of(
        app.post(&decide, Some(&admin), json!({ "decision": "verified" })).await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    let queue = json_of(app.get("/admin/face-reviews", &owner.access_token).await, StatusCode::OK).await;
    assert_eq!(queue["items"].as_array().map(Vec::len), Some(0), "{queue}");
    let log = json_of(app.get("/audit-logs?entity_type=attendance", &owner.access_token).await, StatusCode::OK).await;
    assert!(log["items"].as_array().unwrap().iter().any(|e| e["action"] == "attendance.reviewed"), "{log}");

    // An organisation's owner reaches none of it.
    for path in [format!("/admin/tenants/{}", owner.tenant_id), "/admin/platform/face-reviews".to_owned()] {
        problem_of(app.get(&path, &owner.access_token).await, StatusCode::FORBIDDEN, "forbidden").await;
    }
}

#[tokio::test]
async fn a_platform_admin_signs_a_lost_phone_out_and_resets_its_2fa() {
    let app = spawn_app().await;
    let admin = app.platform_admin().await;
    let owner = app.signup().await;
    let other = app.signup().await;
    let phone = app.login_tokens(&owner).await;
    let person = format!("/admin/tenants/{}/people/{}", owner.tenant_id, owner.person_id);

    // Two sessions: the sign-up's and the phone's.
    let listed = json_of(app.get(&format!("{person}/sessions"), &admin).await, StatusCode::OK).await;
    let ids: Vec<&str> = listed["items"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 2, "{listed}");
    assert!(ids.contains(&owner.session_id.as_str()) && ids.contains(&phone["session_id"].as_str().unwrap()));

    // Resetting 2FA ends them all: no refresh works, and the next login asks for no code.
    let reset = app.post(&format!("{person}/reset-2fa"), Some(&admin), json!(null)).await;
    assert_eq!(reset.status(), StatusCode::NO_CONTENT);
    for refresh in [owner.refresh_token.as_str(), phone["refresh_token"].as_str().unwrap()] {
        assert_eq!(app.refresh(refresh).await.status(), StatusCode::UNAUTHORIZED);
    }
    let login = json_of(app.login(&owner.email, &owner.password).await, StatusCode::OK).await;
    assert_ne!(login["mfa_required"], true, "{login}");
    let again = app.post(&format!("{person}/reset-2fa"), Some(&admin), json!(null)).await;
    problem_of(again, StatusCode::CONFLICT, "conflict").await;
    let subjects: Vec<String> =
        app.mail_to(&owner.email).await.iter().map(|m| m["subject"].as_str().unwrap().to_owned()).collect();
    assert!(subjects.iter().any(|s| s == "Your two-factor authentication was reset"), "{subjects:?}");

    // Signing out everywhere, on its own: the new login's session ends too.
    let listed = json_of(app.get(&format!("{person}/sessions"), &admin).await, StatusCode::OK).await;
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(1), "{listed} {login}");
    let ended = app.request(reqwest::Method::DELETE, &format!("{person}/sessions"), Some(&admin), None).await;
    assert_eq!(ended.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.refresh(login["refresh_token"].as_str().unwrap()).await.status(), StatusCode::UNAUTHORIZED);
    let listed = json_of(app.get(&format!("{person}/sessions"), &admin).await, StatusCode::OK).await;
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(0), "{listed}");
    let subjects: Vec<String> =
        app.mail_to(&owner.email).await.iter().map(|m| m["subject"].as_str().unwrap().to_owned()).collect();
    assert!(subjects.iter().any(|s| s == "You were signed out everywhere"), "{subjects:?}");

    // Both in the organisation's own log, by the platform admin (read once the owner's new phone
    // makes their codes).
    let mut owner = owner;
    let tokens = json_of(app.login(&owner.email, &owner.password).await, StatusCode::OK).await;
    app.enable_2fa(&mut owner, tokens["access_token"].as_str().unwrap()).await;
    let tokens = json_of(app.refresh(tokens["refresh_token"].as_str().unwrap()).await, StatusCode::OK).await;
    let token = tokens["access_token"].as_str().unwrap();
    let log = json_of(app.get("/audit-logs?entity_type=person", token).await, StatusCode::OK).await;
    let actions: Vec<&str> = log["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert!(
        actions.contains(&"mfa.reset_by_platform") && actions.contains(&"sessions.ended_by_platform"),
        "{actions:?}"
    );

    // A person is found only under their own organisation; an owner reaches none of it.
    let elsewhere = format!("/admin/tenants/{}/people/{}/sessions", other.tenant_id, owner.person_id);
    problem_of(app.get(&elsewhere, &admin).await, StatusCode::NOT_FOUND, "not_found").await;
    problem_of(app.get(&format!("{person}/sessions"), &other.access_token).await, StatusCode::FORBIDDEN, "forbidden")
        .await;
}

/// Every message sent counts on the month's counter, split in shards so the busiest hour does not
/// heat one item: a burst of sends all at once still adds up exactly.
#[tokio::test]
async fn the_platforms_message_count_stays_exact_under_a_burst() {
    let app = spawn_app().await;
    let month = format!("burst-{}", ulid::Ulid::new()); // a month of this test's own
    let sends = (0..200).map(|_| {
        let (store, month) = (app.store.clone(), month.clone());
        tokio::spawn(async move { store.count_sent(&month, &ulid::Ulid::new().to_string()).await })
    });
    for sent in futures_util::future::join_all(sends).await {
        sent.unwrap().unwrap();
    }
    assert_eq!(app.store.messages_sent(&month).await.unwrap(), 200);
}
