//! Billing as the platform's operator and a paying organisation meet it: plans the operator keeps
//! (never deleted, one the default), each new organisation on a trial of the default, and an
//! organisation never holding more people than its plan allows, however many are added at once.

use api_tests::{Account, TestApp, json_of, member, plan, problem_of, spawn_app};
use futures_util::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn patch_plan(app: &TestApp, admin: &str, plan: &Value, body: Value) -> reqwest::Response {
    let path = format!("/admin/plans/{}", plan["id"].as_str().unwrap());
    app.request(Method::PATCH, &path, Some(admin), Some(body)).await
}

async fn tenant(app: &TestApp, owner: &Account) -> Value {
    json_of(app.get("/tenant", &owner.access_token).await, StatusCode::OK).await
}

#[tokio::test]
async fn the_operator_keeps_plans_and_new_organisations_start_a_trial_of_the_default() {
    let app = spawn_app().await;
    let admin = app.platform_admin().await;
    // No limits: every test's sign-ups in this stack start on the default from now on.
    let team = plan(&app, &admin, json!({ "name": "Team", "trial_days": 14, "default": true })).await;
    let pro = plan(&app, &admin, json!({ "name": "Pro", "price_minor": 9900, "interval": "year" })).await;
    assert_eq!((team["default"].as_bool(), team["retired"].as_bool()), (Some(true), Some(false)));
    assert!(team.get("tenant_id").is_none(), "{team}");

    let owner = app.signup().await;
    let subscription = &tenant(&app, &owner).await["subscription"];
    // The owner's billing page: the plan as offered, the trial, usage against the limits.
    let billing = json_of(app.get("/billing", &owner.access_token).await, StatusCode::OK).await;
    assert_eq!(
        (billing["plan"]["id"].as_str(), billing["plan"]["price_minor"].as_u64()),
        (team["id"].as_str(), Some(1000))
    );
    assert_eq!(billing["subscription"], *subscription);
    assert_eq!(billing["usage"], json!({ "active_people": 1, "max_active_people": null, "messages_per_month": null }));
    assert_eq!(billing["message_credits"], 500);
    // Paying is the owner's: an admin does not see it.
    let ada = member(&app, &owner, "Ada Admin", "admin", &[]).await;
    problem_of(app.get("/billing", &ada.access_token).await, StatusCode::FORBIDDEN, "forbidden").await;
    assert_eq!(
        (subscription["plan_id"].as_str(), subscription["status"].as_str()),
        (team["id"].as_str(), Some("trialing"))
    );
    let trial_end: chrono::DateTime<chrono::Utc> = subscription["trial_end"].as_str().unwrap().parse().unwrap();
    let days = (trial_end - chrono::Utc::now()).num_hours();
    assert!((14 * 24 - 1..=14 * 24).contains(&days), "{subscription}");
    assert_eq!(subscription["current_period_end"], subscription["trial_end"]);

    // Another plan becomes the default: the first stops being it, in the same change.
    let made = json_of(patch_plan(&app, &admin, &pro, json!({ "default": true })).await, StatusCode::OK).await;
    assert_eq!((made["default"].as_bool(), made["version"].as_u64()), (Some(true), Some(2)));
    let plans = json_of(app.get("/admin/plans", &admin).await, StatusCode::OK).await;
    let of = |id: &Value| plans.as_array().unwrap().iter().find(|plan| plan["id"] == *id).unwrap().clone();
    assert_eq!((of(&team["id"])["default"].as_bool(), of(&pro["id"])["default"].as_bool()), (Some(false), Some(true)));
    let later = app.signup().await;
    assert_eq!(tenant(&app, &later).await["subscription"]["plan_id"], pro["id"]);
    assert_eq!(tenant(&app, &owner).await["subscription"]["plan_id"], team["id"], "a subscription keeps its plan");

    // Plans are retired, never deleted; the default cannot be, and a retired one cannot be it.
    let refused = patch_plan(&app, &admin, &pro, json!({ "retired": true })).await;
    problem_of(refused, StatusCode::CONFLICT, "conflict").await;
    let refused = patch_plan(&app, &admin, &pro, json!({ "default": false })).await;
    problem_of(refused, StatusCode::CONFLICT, "conflict").await;
    let retired = json_of(patch_plan(&app, &admin, &team, json!({ "retired": true })).await, StatusCode::OK).await;
    assert_eq!(retired["retired"], true);
    let refused = patch_plan(&app, &admin, &team, json!({ "default": true })).await;
    problem_of(refused, StatusCode::CONFLICT, "conflict").await;
    let stale = patch_plan(&app, &admin, &team, json!({ "name": "Old team", "version": 1 })).await;
    problem_of(stale, StatusCode::CONFLICT, "conflict").await;
    let deleted = app
        .request(Method::DELETE, &format!("/admin/plans/{}", team["id"].as_str().unwrap()), Some(&admin), None)
        .await;
    assert_eq!(deleted.status(), StatusCode::METHOD_NOT_ALLOWED);

    // Bad input names its field.
    let body = json!({ "name": "Cheap", "price_minor": -1, "currency": "eur", "interval": "week", "limits": { "max_active_people": 0 } });
    let invalid = problem_of(
        app.post("/admin/plans", Some(&admin), body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let fields: Vec<&str> =
        invalid["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert!(fields.contains(&"interval"), "{invalid}");
    let body = json!({ "name": "Cheap", "price_minor": -1, "currency": "eur", "interval": "month", "limits": { "max_active_people": 0 } });
    let invalid = problem_of(
        app.post("/admin/plans", Some(&admin), body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let mut fields: Vec<&str> =
        invalid["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    fields.sort();
    assert_eq!(fields, ["currency", "limits.max_active_people", "price_minor"], "{invalid}");
    let body = json!({ "name": "Listed", "price_minor": 0, "currency": "EUR", "interval": "month", "limits": [5, 10] });
    problem_of(
        app.post("/admin/plans", Some(&admin), body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
}

/// Puts `owner`'s organisation on a subscription allowing `people` people, as the billing paths
/// would (its trial of a plan with that limit).
async fn limit_people(app: &TestApp, owner: &Account, people: u32) {
    let subscription = json!({ "plan_id": "01JLIMITEDPLAN000000000000", "plan_name": "Small", "status": "active",
        "current_period_start": "2026-12-01T00:00:00Z", "current_period_end": "2027-01-01T00:00:00Z",
        "cancel_at_period_end": false, "limits": { "max_active_people": people }, "started_at": "2026-12-01T00:00:00Z" });
    app.set(&format!("T#{}", owner.tenant_id), "TENANT", &[("subscription", subscription)]).await;
}

#[tokio::test]
async fn an_organisation_never_holds_more_people_than_its_plan_allows_even_in_a_burst() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let kim = member(&app, &owner, "Kim Staff", "staff", &[]).await;
    // The owner and Kim: three places left of five.
    limit_people(&app, &owner, 5).await;

    let invite = |i: usize| {
        let body = json!({ "email": api_tests::unique_email(&format!("burst{i}")), "name": format!("Burst {i}"), "role": "staff" });
        app.post("/people", Some(&owner.access_token), body)
    };
    let answers = join_all((0..10).map(invite)).await;
    let mut created = 0;
    for answer in answers {
        match answer.status() {
            StatusCode::CREATED => created += 1,
            _ => {
                let problem = problem_of(answer, StatusCode::CONFLICT, "plan_limit_reached").await;
                assert!(problem["detail"].as_str().unwrap().contains("plan"), "{problem}");
            }
        }
    }
    assert_eq!(created, 3, "exactly the places left");
    let billing = json_of(app.get("/billing", &owner.access_token).await, StatusCode::OK).await;
    assert_eq!(
        (billing["usage"]["active_people"].as_i64(), billing["usage"]["max_active_people"].as_i64()),
        (Some(5), Some(5))
    );

    // Deactivating frees a place; bringing someone back takes one, if there is one.
    let kim_path = format!("/people/{}", kim.person_id);
    let gone = app.request(Method::DELETE, &kim_path, Some(&owner.access_token), None).await;
    assert_eq!(gone.status(), StatusCode::NO_CONTENT);
    json_of(invite(10).await, StatusCode::CREATED).await;
    let back =
        app.request(Method::PATCH, &kim_path, Some(&owner.access_token), Some(json!({ "status": "active" }))).await;
    problem_of(back, StatusCode::CONFLICT, "plan_limit_reached").await;
    limit_people(&app, &owner, 6).await;
    let back =
        app.request(Method::PATCH, &kim_path, Some(&owner.access_token), Some(json!({ "status": "active" }))).await;
    assert_eq!(json_of(back, StatusCode::OK).await["status"], "active");

    // An import that would not fit fails whole, saying so.
    let file = "name,email\nAna,ana@limit.example\nBo,bo@limit.example\n";
    let import_id = app.import_upload(&owner.access_token, "csv", file.as_bytes().to_vec()).await;
    let started = app.post_empty(&format!("/imports/{import_id}/start"), &owner.access_token).await;
    json_of(started, StatusCode::ACCEPTED).await;
    app.run_imports().await;
    let failed = json_of(app.get(&format!("/imports/{import_id}"), &owner.access_token).await, StatusCode::OK).await;
    assert_eq!(
        (failed["status"].as_str(), failed["errors"][0]["code"].as_str()),
        (Some("failed"), Some("plan_limit_reached")),
        "{failed}"
    );
    assert_eq!(tenant(&app, &owner).await["people_count"], 6);
}
