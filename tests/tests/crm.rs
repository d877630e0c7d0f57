//! The operator's CRM: a festival organiser writes through the contact form, the operator calls
//! her, opens a deal, moves it to won as she signs up, and converts it to her organisation — the
//! pipeline's totals following every move; a sign-up never confirmed waits as a lead; a burst of
//! deals and moves is counted exactly.

use api_tests::{TestApp, json_of, problem_of, spawn_app, unique_email};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// A currency code of this test's own, so the pipeline's value in it counts only its deals
/// (tests run side by side on one platform).
fn own_currency() -> String {
    let id = ulid::Ulid::new().to_string();
    id.chars().rev().filter(|c| c.is_ascii_uppercase()).take(3).collect()
}

/// The pipeline's value at `stage` in `currency` (0 when none).
async fn value_at(app: &TestApp, operator: &str, stage: &str, currency: &str) -> i64 {
    let pipeline = json_of(app.get("/admin/crm/pipeline", operator).await, StatusCode::OK).await;
    let stages = pipeline["stages"].as_array().unwrap();
    let names: Vec<&str> = stages.iter().map(|s| s["stage"].as_str().unwrap()).collect();
    assert_eq!(names, ["new", "qualified", "proposal", "won", "lost"]);
    let at = stages.iter().find(|s| s["stage"] == stage).unwrap();
    at["value_minor"][currency].as_i64().unwrap_or(0)
}

async fn lead_of(app: &TestApp, operator: &str, email: &str) -> Value {
    let leads = json_of(app.get(&format!("/admin/crm/leads?email={email}"), operator).await, StatusCode::OK).await;
    let items = leads["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{leads}");
    items[0].clone()
}

async fn patch(app: &TestApp, path: impl Into<String>, token: &str, body: Value) -> reqwest::Response {
    app.request(Method::PATCH, &path.into(), Some(token), Some(body)).await
}

#[tokio::test]
async fn a_contact_becomes_a_won_deal_converted_to_her_organisation() {
    let app = spawn_app().await;
    let operator = app.platform_admin().await;
    let currency = own_currency();
    let email = unique_email("ada");

    // Ada writes through the public form.
    let message = json!({ "name": " Ada Lovelace ", "email": email.to_uppercase(), "organisation": "Harbour Events",
        "message": "Three festivals a year, 400 volunteers. Check-in at the gates?" });
    let received = json_of(app.post("/contact", None, message).await, StatusCode::ACCEPTED).await;
    assert_eq!(received["email"], email.as_str());
    let lead = lead_of(&app, &operator, &email).await;
    assert_eq!((lead["source"].as_str(), lead["status"].as_str()), (Some("contact_form"), Some("new")));
    assert_eq!((lead["name"].as_str(), lead["organisation"].as_str()), (Some("Ada Lovelace"), Some("Harbour Events")));
    assert!(lead["message"].as_str().unwrap().starts_with("Three festivals"));
    let lead_path = format!("/admin/crm/leads/{}", lead["id"].as_str().unwrap());

    // The operator calls her and marks the lead contacted; a stale change is refused.
    let call = json!({ "kind": "call", "body": "40 staff in season; wants a proposal." });
    json_of(app.post(&format!("{lead_path}/activities"), Some(&operator), call).await, StatusCode::CREATED).await;
    let contacted = json_of(
        patch(&app, &lead_path, &operator, json!({ "status": "contacted", "version": 1 })).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!((contacted["status"].as_str(), contacted["version"].as_u64()), (Some("contacted"), Some(2)));
    problem_of(
        patch(&app, &lead_path, &operator, json!({ "phone": "+441", "version": 1 })).await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    let problem = problem_of(
        patch(&app, &lead_path, &operator, json!({ "status": "converted" })).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "status", "{problem}");

    // A deal from the lead: the lead is qualified, the pipeline counts it at `new`.
    let deal = json!({ "title": "Harbour Events — Team", "lead_id": lead["id"], "value_minor": 588_000, "currency": currency });
    let deal = json_of(app.post("/admin/crm/deals", Some(&operator), deal).await, StatusCode::CREATED).await;
    assert_eq!((deal["stage"].as_str(), deal["contact_email"].as_str()), (Some("new"), Some(email.as_str())));
    assert_eq!(
        (deal["contact_name"].as_str(), deal["organisation"].as_str()),
        (Some("Ada Lovelace"), Some("Harbour Events"))
    );
    let deal_path = format!("/admin/crm/deals/{}", deal["id"].as_str().unwrap());
    let lead = json_of(app.get(&lead_path, &operator).await, StatusCode::OK).await;
    assert_eq!((lead["status"].as_str(), lead["deal_id"].as_str()), (Some("qualified"), deal["id"].as_str()));
    let kinds: Vec<&str> = lead["activities"].as_array().unwrap().iter().map(|a| a["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["call", "deal_opened"]);
    let again = json!({ "title": "Again", "lead_id": lead["id"], "value_minor": 1, "currency": currency });
    problem_of(app.post("/admin/crm/deals", Some(&operator), again).await, StatusCode::CONFLICT, "conflict").await;
    assert_eq!(value_at(&app, &operator, "new", &currency).await, 588_000);

    // Proposal at a new value: the value moves stage and amount.
    let proposal = json!({ "stage": "proposal", "value_minor": 640_000, "version": 1 });
    json_of(patch(&app, &deal_path, &operator, proposal).await, StatusCode::OK).await;
    assert_eq!(value_at(&app, &operator, "new", &currency).await, 0);
    assert_eq!(value_at(&app, &operator, "proposal", &currency).await, 640_000);
    let problem = problem_of(
        patch(&app, &deal_path, &operator, json!({ "stage": "lost" })).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "lost_reason", "{problem}");

    // Not won yet: nothing to convert. Ada signs up; the deal is won and converted to her
    // organisation, which the deal suggests.
    let convert = |id: &str| json!({ "organisation_id": id });
    let anyone = "01JSAMPLETENANT00000000000";
    let problem = problem_of(
        app.post(&format!("{deal_path}/convert"), Some(&operator), convert(anyone)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "organisation_id", "{problem}");
    json_of(app.signup_response(&email).await, StatusCode::ACCEPTED).await;
    let token = app.link_token(&email, "/verify-email").await;
    let signed_up =
        json_of(app.post("/auth/verify-email", None, json!({ "token": token })).await, StatusCode::CREATED).await;
    let organisation_id = signed_up["tenant"]["id"].as_str().unwrap();
    problem_of(
        app.post(&format!("{deal_path}/convert"), Some(&operator), convert(organisation_id)).await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    let won = json_of(patch(&app, &deal_path, &operator, json!({ "stage": "won" })).await, StatusCode::OK).await;
    assert!(won["closed_at"].is_string(), "{won}");
    assert_eq!(
        (value_at(&app, &operator, "proposal", &currency).await, value_at(&app, &operator, "won", &currency).await),
        (0, 640_000)
    );
    let read = json_of(app.get(&deal_path, &operator).await, StatusCode::OK).await;
    assert_eq!(read["contact_organisation_id"], organisation_id);
    let converted = json_of(
        app.post(&format!("{deal_path}/convert"), Some(&operator), convert(organisation_id)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(converted["organisation_id"], organisation_id);
    problem_of(
        app.post(&format!("{deal_path}/convert"), Some(&operator), convert(organisation_id)).await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    problem_of(
        patch(&app, &deal_path, &operator, json!({ "stage": "lost", "lost_reason": "x" })).await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;

    // The deal's history, oldest first; the won deals list holds it.
    let read = json_of(app.get(&deal_path, &operator).await, StatusCode::OK).await;
    let history: Vec<String> = read["activities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| format!("{}: {}", a["kind"].as_str().unwrap(), a["body"].as_str().unwrap()))
        .collect();
    assert_eq!(
        history,
        [
            "deal_opened: Deal opened: Harbour Events — Team".to_owned(),
            "stage_changed: new → proposal".to_owned(),
            "stage_changed: proposal → won".to_owned(),
            format!("converted: Converted to Harbour Events ({organisation_id})"),
        ]
    );
    let won = json_of(app.get("/admin/crm/deals?stage=won&limit=100", &operator).await, StatusCode::OK).await;
    assert!(won["items"].as_array().unwrap().iter().any(|d| d["id"] == deal["id"]), "{won}");

    // Her organisation's owner is no platform admin; nobody signed out is anyone.
    let owner = signed_up["tokens"]["access_token"].as_str().unwrap();
    problem_of(app.get("/admin/crm/leads", owner).await, StatusCode::FORBIDDEN, "forbidden").await;
    let anonymous = app.request(Method::GET, "/admin/crm/pipeline", None, None).await;
    problem_of(anonymous, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

#[tokio::test]
async fn a_signup_waits_as_one_lead_until_it_is_confirmed() {
    let app = spawn_app().await;
    let operator = app.platform_admin().await;
    let email = unique_email("bob");

    // Two attempts, one lead, the link's expiry with it.
    json_of(app.signup_response(&email).await, StatusCode::ACCEPTED).await;
    json_of(app.signup_response(&email).await, StatusCode::ACCEPTED).await;
    let lead = lead_of(&app, &operator, &email).await;
    assert_eq!((lead["source"].as_str(), lead["status"].as_str()), (Some("signup"), Some("new")));
    assert_eq!((lead["organisation"].as_str(), lead["version"].as_u64()), (Some("Harbour Events"), Some(2)));
    assert!(lead["signup_expires_at"].as_str().unwrap() > lead["created_at"].as_str().unwrap(), "{lead}");
    let unconfirmed =
        json_of(app.get("/admin/crm/leads?source=signup&status=new&limit=100", &operator).await, StatusCode::OK).await;
    assert!(unconfirmed["items"].as_array().unwrap().iter().any(|l| l["id"] == lead["id"]), "{unconfirmed}");

    // Confirmed: the lead is converted to the organisation it created.
    let token = app.link_token(&email, "/verify-email").await;
    let body =
        json_of(app.post("/auth/verify-email", None, json!({ "token": token })).await, StatusCode::CREATED).await;
    let lead = lead_of(&app, &operator, &email).await;
    assert_eq!(
        (lead["status"].as_str(), lead["organisation_id"].as_str()),
        (Some("converted"), body["tenant"]["id"].as_str())
    );
}

#[tokio::test]
async fn the_contact_form_refuses_bad_input_and_floods() {
    let app = spawn_app().await;
    let email = unique_email("flood");
    let problem = problem_of(
        app.post("/contact", None, json!({ "name": "Eve", "email": email, "message": "   " })).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "message", "{problem}");
    // Three an hour per address (the refused one above did not count); the fourth waits.
    for _ in 0..3 {
        json_of(
            app.post("/contact", None, json!({ "name": "Eve", "email": email, "message": "Hi" })).await,
            StatusCode::ACCEPTED,
        )
        .await;
    }
    let refused = app.post("/contact", None, json!({ "name": "Eve", "email": email, "message": "Hi" })).await;
    let wait: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=3600).contains(&wait), "{wait}");
    problem_of(refused, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
}

#[tokio::test]
async fn a_burst_of_deals_and_moves_is_counted_exactly() {
    let app = spawn_app().await;
    let operator = app.platform_admin().await;
    let currency = own_currency();
    let open = |i: usize| {
        let body = json!({ "title": format!("Deal {i}"), "contact_name": "C", "contact_email": unique_email("c"),
            "organisation": format!("Org {i}"), "value_minor": 100 + i as i64, "currency": currency });
        app.post("/admin/crm/deals", Some(&operator), body)
    };
    let opened = futures_util::future::join_all((0..10).map(open)).await;
    let mut ids = Vec::new();
    for response in opened {
        ids.push(json_of(response, StatusCode::CREATED).await["id"].as_str().unwrap().to_owned());
    }
    let total: i64 = (0..10).map(|i| 100 + i).sum();
    assert_eq!(value_at(&app, &operator, "new", &currency).await, total);

    // Every deal won at once, and one deal changed by five admins holding the same version:
    // exactly one of them wins.
    let moves =
        ids.iter().map(|id| patch(&app, format!("/admin/crm/deals/{id}"), &operator, json!({ "stage": "won" })));
    for response in futures_util::future::join_all(moves).await {
        json_of(response, StatusCode::OK).await;
    }
    assert_eq!(
        (value_at(&app, &operator, "new", &currency).await, value_at(&app, &operator, "won", &currency).await),
        (0, total)
    );
    let lost = |i: usize| {
        let body = json!({ "stage": "lost", "lost_reason": format!("reason {i}"), "version": 2 });
        patch(&app, format!("/admin/crm/deals/{}", ids[0]), &operator, body)
    };
    let statuses: Vec<StatusCode> =
        futures_util::future::join_all((0..5).map(lost)).await.iter().map(|r| r.status()).collect();
    // A won deal stays won: all five refused, the totals untouched.
    assert_eq!(statuses, [StatusCode::CONFLICT; 5]);
    let reopen = |i: usize| {
        let body = json!({ "title": format!("Renamed {i}"), "value_minor": 1, "version": 2 });
        patch(&app, format!("/admin/crm/deals/{}", ids[1]), &operator, body)
    };
    let statuses: Vec<StatusCode> =
        futures_util::future::join_all((0..5).map(reopen)).await.iter().map(|r| r.status()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::OK).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CONFLICT).count(), 4, "{statuses:?}");
    assert_eq!(value_at(&app, &operator, "won", &currency).await, total - 101 + 1);
}
