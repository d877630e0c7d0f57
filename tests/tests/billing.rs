//! Billing as the platform's operator and a paying organisation meet it: plans the operator keeps
//! (never deleted, one the default), each new organisation on a trial of the default, and an
//! organisation never holding more people than its plan allows, however many are added at once;
//! an owner paying, the provider's events, and an overdue payment's reminders, suspension and
//! reactivation.

use api_tests::{
    Account, CONFIRMED_CARD, DECLINED_CARD, GOOD_CARD, TestApp, card, credit_pack, json_of, member, plan, problem_of,
    spawn_app, stripe_signature,
};
use futures_util::future::join_all;
use nightly::{collect_overdue, issue_invoice};
use reqwest::{Method, StatusCode};
use rota::domain::dunning::{Notice, Step};
use rota::store::billing::SubscriptionStatus;
use rota::store::credits::{CreditEntry, CreditKind};
use rota::store::tenants::TenantStatus;
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
    assert_eq!(
        billing["usage"],
        json!({ "active_people": 1, "max_active_people": null, "messages_this_month": 0, "messages_per_month": null })
    );
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

/// Takes the organisation off any subscription (its sign-up may have started a trial of whatever
/// plan another test made the default), so it starts from none.
async fn no_subscription(app: &TestApp, owner: &Account) {
    app.set(&format!("T#{}", owner.tenant_id), "TENANT", &[("subscription", Value::Null)]).await;
}

async fn subscribe(app: &TestApp, owner: &Account, body: Value) -> reqwest::Response {
    app.post("/billing/subscription", Some(&owner.access_token), body).await
}

#[tokio::test]
async fn an_owner_pays_for_a_plan_changes_it_prorated_and_cancels_at_the_period_end() {
    let app = spawn_app().await;
    let admin = app.platform_admin().await;
    let starter =
        plan(&app, &admin, json!({ "name": "Starter", "price_minor": 1900, "limits": { "max_active_people": 20 } }))
            .await;
    let growth =
        plan(&app, &admin, json!({ "name": "Growth", "price_minor": 4900, "limits": { "max_active_people": 200 } }))
            .await;
    assert!(starter["price_id"].as_str().is_some_and(|id| !id.is_empty()), "{starter}");
    let owner = app.signup().await;
    no_subscription(&app, &owner).await;

    // Charged today: a card is needed.
    let without = subscribe(&app, &owner, json!({ "plan_id": starter["id"] })).await;
    let problem = problem_of(without, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "payment_method_id", "{problem}");
    let unknown = subscribe(&app, &owner, json!({ "plan_id": "01JNOSUCHPLAN0000000000000" })).await;
    let problem = problem_of(unknown, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "plan_id", "{problem}");

    // A card the provider does not know is the field's fault; a declined one is told so. Nothing
    // changes either way.
    let unknown =
        subscribe(&app, &owner, json!({ "plan_id": starter["id"], "payment_method_id": "pm_never_collected" })).await;
    let problem = problem_of(unknown, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "payment_method_id", "{problem}");
    let declined =
        subscribe(&app, &owner, json!({ "plan_id": starter["id"], "payment_method_id": card(DECLINED_CARD).await }))
            .await;
    let problem = problem_of(declined, StatusCode::PAYMENT_REQUIRED, "payment_declined").await;
    assert!(problem["detail"].as_str().unwrap().contains("declined"), "{problem}");
    let billing = json_of(app.get("/billing", &owner.access_token).await, StatusCode::OK).await;
    assert_eq!(billing["subscription"], Value::Null);

    // A good card: active on Starter, its limits in force.
    let paid =
        subscribe(&app, &owner, json!({ "plan_id": starter["id"], "payment_method_id": card(GOOD_CARD).await })).await;
    let billing = json_of(paid, StatusCode::OK).await;
    let subscription = &billing["subscription"];
    assert_eq!(
        (subscription["status"].as_str(), subscription["plan_id"].as_str()),
        (Some("active"), starter["id"].as_str())
    );
    assert_eq!(billing["usage"]["max_active_people"], 20);
    assert!(subscription["provider_subscription_id"].as_str().is_some_and(|id| id.starts_with("sub_")), "{billing}");
    let (start, end): (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>) = (
        subscription["current_period_start"].as_str().unwrap().parse().unwrap(),
        subscription["current_period_end"].as_str().unwrap().parse().unwrap(),
    );
    assert!((28..=31).contains(&(end - start).num_days()), "{subscription}");
    assert_eq!(json_of(app.get("/billing", &owner.access_token).await, StatusCode::OK).await, billing);

    // Growth from now: prorated at the provider, the new limits at once, the same subscription.
    let changed = json_of(subscribe(&app, &owner, json!({ "plan_id": growth["id"] })).await, StatusCode::OK).await;
    assert_eq!(
        (changed["subscription"]["plan_id"].as_str(), changed["usage"]["max_active_people"].as_u64()),
        (growth["id"].as_str(), Some(200))
    );
    assert_eq!(changed["subscription"]["provider_subscription_id"], subscription["provider_subscription_id"]);
    assert_eq!(changed["subscription"]["started_at"], subscription["started_at"]);

    // Cancelled at the period's end: nothing else changes until then; once is enough.
    let cancel = || app.request(Method::DELETE, "/billing/subscription", Some(&owner.access_token), None);
    let cancelled = json_of(cancel().await, StatusCode::OK).await;
    assert_eq!(
        (cancelled["subscription"]["cancel_at_period_end"].as_bool(), cancelled["subscription"]["status"].as_str()),
        (Some(true), Some("active"))
    );
    problem_of(cancel().await, StatusCode::CONFLICT, "conflict").await;
    // Choosing the plan again takes the cancellation back.
    let resumed = json_of(subscribe(&app, &owner, json!({ "plan_id": growth["id"] })).await, StatusCode::OK).await;
    assert_eq!(resumed["subscription"]["cancel_at_period_end"], false);

    // Every step is in the organisation's audit log.
    let log = json_of(app.get("/audit-logs?entity_type=tenant", &owner.access_token).await, StatusCode::OK).await;
    let actions: Vec<&str> =
        log["items"].as_array().unwrap().iter().filter_map(|entry| entry["action"].as_str()).collect();
    assert_eq!(actions.iter().filter(|action| **action == "subscription.changed").count(), 3, "{actions:?}");
    assert_eq!(actions.iter().filter(|action| **action == "subscription.cancelled").count(), 1, "{actions:?}");
}

#[tokio::test]
async fn what_is_left_of_a_trial_carries_over_to_the_paid_subscription() {
    let app = spawn_app().await;
    let admin = app.platform_admin().await;
    let team = plan(&app, &admin, json!({ "name": "Team trial", "price_minor": 2900, "trial_days": 10 })).await;
    let owner = app.signup().await;
    let trial_end = (chrono::Utc::now() + chrono::Duration::days(6)).format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let trial = json!({ "plan_id": team["id"], "plan_name": "Team trial", "status": "trialing",
        "current_period_start": "2026-12-01T00:00:00Z", "current_period_end": trial_end, "trial_end": trial_end,
        "cancel_at_period_end": false, "limits": {}, "started_at": "2026-12-01T00:00:00Z" });
    app.set(&format!("T#{}", owner.tenant_id), "TENANT", &[("subscription", trial)]).await;

    // No card needed yet: nothing is charged before the trial ends, on the day it ends.
    let billing = json_of(subscribe(&app, &owner, json!({ "plan_id": team["id"] })).await, StatusCode::OK).await;
    let subscription = &billing["subscription"];
    assert_eq!(subscription["status"], "trialing", "{billing}");
    assert_eq!(subscription["trial_end"].as_str(), Some(trial_end.as_str()));
    assert_eq!(subscription["started_at"], "2026-12-01T00:00:00Z");
}

/// `event` as the provider delivers it: signed at `at` (Unix seconds) with the stack's secret.
async fn deliver(app: &TestApp, event: &Value, at: i64) -> reqwest::Response {
    let payload = serde_json::to_vec(event).unwrap();
    let secret = std::env::var("ROTA_STRIPE_WEBHOOK_SECRET").expect("the stack's webhook secret");
    app.http
        .post(format!("{}/billing/webhook", app.address))
        .header("stripe-signature", stripe_signature(&secret, at, &payload))
        .header("content-type", "application/json")
        .body(payload)
        .send()
        .await
        .expect("the server answers")
}

fn event(kind: &str, created: i64, object: Value) -> Value {
    json!({ "id": format!("evt_{}", ulid::Ulid::new()), "object": "event", "type": kind, "created": created,
        "data": { "object": object }, "livemode": false })
}

async fn applied(response: reqwest::Response) -> bool {
    json_of(response, StatusCode::OK).await["applied"].as_bool().unwrap()
}

#[tokio::test]
async fn provider_events_apply_once_in_their_own_order_and_forgeries_are_refused() {
    let app = spawn_app().await;
    let admin = app.platform_admin().await;
    let starter = plan(&app, &admin, json!({ "name": "Hooked", "price_minor": 1500 })).await;
    let owner = app.signup().await;
    no_subscription(&app, &owner).await;
    let paid =
        subscribe(&app, &owner, json!({ "plan_id": starter["id"], "payment_method_id": card(GOOD_CARD).await })).await;
    let billing = json_of(paid, StatusCode::OK).await;
    let subscription_id = billing["subscription"]["provider_subscription_id"].as_str().unwrap().to_owned();
    let status = || async {
        json_of(app.get("/billing", &owner.access_token).await, StatusCode::OK).await["subscription"].clone()
    };
    let customer = {
        let tenant = tenant(&app, &owner).await;
        tenant["billing_customer_id"].as_str().unwrap().to_owned()
    };
    let now = chrono::Utc::now().timestamp();
    // One invoice, failed then paid (the provider retries the same invoice).
    let invoice_id = format!("in_{}", ulid::Ulid::new());
    let invoice = |paid: bool| {
        json!({ "id": invoice_id, "object": "invoice",
        "customer": customer, "subscription": subscription_id, "currency": "eur", "total": 1500,
        "amount_paid": if paid { 1500 } else { 0 }, "created": now, "status": if paid { "paid" } else { "open" } })
    };

    // Forgeries and replays of a capture are refused, naming the header.
    let failed = event("invoice.payment_failed", now + 10, invoice(false));
    let mut tampered = failed.clone();
    tampered["data"]["object"]["customer"] = json!("cus_someone_else");
    let payload = serde_json::to_vec(&failed).unwrap();
    let forged = app
        .http
        .post(format!("{}/billing/webhook", app.address))
        .header("stripe-signature", stripe_signature("whsec_not_ours", now, &payload))
        .body(payload.clone())
        .send()
        .await
        .unwrap();
    let problem = problem_of(forged, StatusCode::BAD_REQUEST, "invalid_request").await;
    assert!(problem["detail"].as_str().unwrap().contains("Stripe-Signature"), "{problem}");
    let secret = std::env::var("ROTA_STRIPE_WEBHOOK_SECRET").unwrap();
    let changed_after_signing = app
        .http
        .post(format!("{}/billing/webhook", app.address))
        .header("stripe-signature", stripe_signature(&secret, now, &payload))
        .body(serde_json::to_vec(&tampered).unwrap())
        .send()
        .await
        .unwrap();
    problem_of(changed_after_signing, StatusCode::BAD_REQUEST, "invalid_request").await;
    problem_of(deliver(&app, &failed, now - 600).await, StatusCode::BAD_REQUEST, "invalid_request").await;
    let unsigned = app.http.post(format!("{}/billing/webhook", app.address)).body(payload).send().await.unwrap();
    problem_of(unsigned, StatusCode::BAD_REQUEST, "invalid_request").await;
    assert_eq!(status().await["status"], "active", "nothing forged applied");

    // A failed payment: past due from now; its redelivery changes nothing more.
    assert!(applied(deliver(&app, &failed, now).await).await);
    let overdue = status().await;
    assert_eq!(overdue["status"], "past_due");
    let since = overdue["past_due_since"].clone();
    assert!(since.is_string(), "{overdue}");
    assert!(!applied(deliver(&app, &failed, now).await).await);
    assert_eq!(status().await["past_due_since"], since);
    // The owner sees the failed payment; so does the platform, among every organisation's.
    let payments = || async { json_of(app.get("/billing/payments", &owner.access_token).await, StatusCode::OK).await };
    let listed = payments().await;
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(1), "{listed}");
    let payment = &listed["items"][0];
    assert_eq!(
        (
            payment["id"].as_str(),
            payment["status"].as_str(),
            payment["amount_minor"].as_i64(),
            payment["currency"].as_str()
        ),
        (Some(invoice_id.as_str()), Some("failed"), Some(1500), Some("EUR"))
    );
    let platform = |status: &'static str| {
        let path = format!("/admin/payments?status={status}");
        let (app, admin) = (&app, &admin);
        async move { json_of(app.get(&path, admin).await, StatusCode::OK).await }
    };
    let has = |page: &Value| page["items"].as_array().unwrap().iter().any(|item| item["id"] == invoice_id.as_str());
    assert!(has(&platform("failed").await), "the platform lists the failed payment");
    problem_of(app.get("/admin/payments", &owner.access_token).await, StatusCode::FORBIDDEN, "forbidden").await;

    // An older success arriving late is no news; a newer one settles it.
    let earlier_success = event("invoice.payment_succeeded", now + 5, invoice(true));
    assert!(!applied(deliver(&app, &earlier_success, now).await).await);
    assert_eq!(status().await["status"], "past_due");
    let success = event("invoice.payment_succeeded", now + 20, invoice(true));
    assert!(applied(deliver(&app, &success, now).await).await);
    let settled = status().await;
    assert_eq!((settled["status"].as_str(), settled.get("past_due_since")), (Some("active"), None), "{settled}");
    // The same payment, now paid: off the platform's failed list.
    let listed = payments().await;
    assert_eq!(
        (listed["items"].as_array().map(Vec::len), listed["items"][0]["status"].as_str()),
        (Some(1), Some("paid"))
    );
    assert!(!has(&platform("failed").await) && has(&platform("paid").await));

    // Deleted at the provider: cancelled, and no older update brings it back.
    let object = |status: &str| {
        json!({ "id": subscription_id, "object": "subscription", "customer": customer,
        "status": status, "cancel_at_period_end": false, "current_period_start": now, "current_period_end": now + 30 * 86_400,
        "items": { "object": "list", "data": [{ "id": "si_1", "price": { "id": starter["price_id"] } }], "has_more": false } })
    };
    assert!(
        applied(deliver(&app, &event("customer.subscription.deleted", now + 40, object("canceled")), now).await).await
    );
    assert_eq!(status().await["status"], "cancelled");
    assert!(
        !applied(deliver(&app, &event("customer.subscription.updated", now + 30, object("active")), now).await).await
    );
    assert!(
        !applied(deliver(&app, &event("customer.subscription.updated", now + 50, object("active")), now).await).await
    );
    assert_eq!(status().await["status"], "cancelled");

    // About a customer Rota does not know, or an event it does not act on: acknowledged.
    let mut stranger = invoice(false);
    stranger["customer"] = json!("cus_unknown_to_rota");
    assert!(!applied(deliver(&app, &event("invoice.payment_failed", now, stranger), now).await).await);
    assert!(!applied(deliver(&app, &event("charge.refunded", now, json!({ "id": "ch_1" })), now).await).await);
}

/// The owners' mail about the organisation's overdue payment: (subject, text) oldest first.
async fn dunning_mail(app: &TestApp, owner: &Account) -> Vec<(String, String)> {
    let mail = app.mail_to(&owner.email).await;
    mail.iter()
        .map(|mail| {
            (mail["subject"].as_str().unwrap().to_owned(), mail["body"].as_str().unwrap_or_default().to_owned())
        })
        .filter(|(subject, _)| subject.starts_with("Payment overdue") || subject.ends_with("is suspended on Rota"))
        .collect()
}

#[tokio::test]
async fn an_overdue_organisation_is_reminded_then_suspended_and_paying_brings_it_back() {
    let app = spawn_app().await;
    let admin = app.platform_admin().await;
    let monthly = plan(&app, &admin, json!({ "name": "Dunned", "price_minor": 2900 })).await;
    let owner = app.signup().await;
    no_subscription(&app, &owner).await;
    let paid =
        subscribe(&app, &owner, json!({ "plan_id": monthly["id"], "payment_method_id": card(GOOD_CARD).await })).await;
    let subscription_id =
        json_of(paid, StatusCode::OK).await["subscription"]["provider_subscription_id"].as_str().unwrap().to_owned();
    let customer = tenant(&app, &owner).await["billing_customer_id"].as_str().unwrap().to_owned();
    let nightly = app.nightly().await;
    let now = chrono::Utc::now();
    let nothing = Step { suspend: false, notice: None };
    assert_eq!(collect_overdue(&nightly, &owner.tenant_id, now).await.unwrap(), nothing, "nothing is overdue");

    // The renewal's payment fails: overdue, on the dunning list, with where to pay.
    let created = now.timestamp();
    let invoice = |id: &str, paid: bool| {
        json!({ "id": id, "object": "invoice", "customer": customer, "subscription": subscription_id,
            "currency": "eur", "total": 2900, "amount_paid": if paid { 2900 } else { 0 }, "created": created,
            "hosted_invoice_url": format!("https://pay.example/{id}") })
    };
    let first = format!("in_{}", ulid::Ulid::new());
    assert!(
        applied(deliver(&app, &event("invoice.payment_failed", created, invoice(&first, false)), created).await).await
    );
    let billing = json_of(app.get("/billing", &owner.access_token).await, StatusCode::OK).await;
    let overdue = &billing["subscription"];
    assert_eq!(overdue["status"], "past_due");
    assert_eq!(
        overdue["overdue"],
        json!({ "invoice_id": first, "amount_minor": 2900, "currency": "EUR", "pay_url": format!("https://pay.example/{first}") })
    );
    let since: chrono::DateTime<chrono::Utc> = overdue["past_due_since"].as_str().unwrap().parse().unwrap();
    assert!(app.store.past_due_tenant_ids().await.unwrap().contains(&owner.tenant_id));
    let on = |hours: i64| since + chrono::Duration::hours(hours);
    let dun = |hours: i64| collect_overdue(&nightly, &owner.tenant_id, on(hours));
    let reminded = |day: i64| Step { suspend: false, notice: Some(Notice::Reminder { day }) };

    // Reminded on days 1, 3 and 7, each once however often the sweep runs.
    assert_eq!(dun(1).await.unwrap(), reminded(1));
    assert_eq!(dun(2).await.unwrap(), nothing);
    let mail = dunning_mail(&app, &owner).await;
    assert_eq!(mail.len(), 1, "{mail:?}");
    let organisation = tenant(&app, &owner).await["name"].as_str().unwrap().to_owned();
    assert_eq!(mail[0].0, format!("Payment overdue for {organisation} on Rota"));
    assert!(mail[0].1.contains("Pay EUR 29.00 here") && mail[0].1.contains(&format!("https://pay.example/{first}")));
    assert_eq!(dun(49).await.unwrap(), reminded(3));
    assert_eq!(dun(7 * 24 - 1).await.unwrap(), reminded(7));
    assert_eq!(dun(10 * 24).await.unwrap(), nothing);
    assert_eq!(dunning_mail(&app, &owner).await.len(), 3);
    let login = app.login(&owner.email, &owner.password).await;
    assert_eq!(login.status(), StatusCode::OK, "still active in its grace");

    // After 14 days: suspended, audited, the owners told; nobody gets in.
    let suspended = Step { suspend: true, notice: Some(Notice::Suspended) };
    assert_eq!(dun(14 * 24 + 1).await.unwrap(), suspended);
    assert_eq!(dun(14 * 24 + 2).await.unwrap(), nothing);
    let mail = dunning_mail(&app, &owner).await;
    assert_eq!((mail.len(), mail[3].0.ends_with("is suspended on Rota")), (4, true), "{mail:?}");
    problem_of(app.login(&owner.email, &owner.password).await, StatusCode::FORBIDDEN, "tenant_suspended").await;
    problem_of(app.refresh(&owner.refresh_token).await, StatusCode::FORBIDDEN, "tenant_suspended").await;

    // The owner pays on the provider's page: active again at once, off the dunning list.
    let settled = event("invoice.paid", created + 60, invoice(&first, true));
    assert!(applied(deliver(&app, &settled, created).await).await);
    let tokens = json_of(app.refresh(&owner.refresh_token).await, StatusCode::OK).await;
    let token = tokens["access_token"].as_str().unwrap();
    let billing = json_of(app.get("/billing", token).await, StatusCode::OK).await;
    assert_eq!(billing["subscription"]["status"], "active");
    assert!(
        billing["subscription"].get("overdue").is_none() && billing["subscription"].get("past_due_since").is_none()
    );
    assert!(!app.store.past_due_tenant_ids().await.unwrap().contains(&owner.tenant_id));
    assert_eq!(dun(15 * 24).await.unwrap(), nothing, "paid: nothing more");
    let audit = json_of(app.get("/audit-logs?entity_type=tenant", token).await, StatusCode::OK).await;
    // (The suspension's entry is dated at the injected time, weeks ahead.)
    let mut by_rota: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| entry["actor_id"] == "rota")
        .map(|entry| entry["action"].as_str().unwrap())
        .collect();
    by_rota.sort_unstable();
    assert_eq!(by_rota, ["tenant.activated", "tenant.suspended"]);

    // Overdue again and suspended for it; then the platform suspends it on its own account: a
    // payment settles the subscription but leaves the platform's suspension.
    let second = format!("in_{}", ulid::Ulid::new());
    let failed_again = event("invoice.payment_failed", created + 120, invoice(&second, false));
    assert!(applied(deliver(&app, &failed_again, created).await).await);
    let since =
        app.store.tenant(&owner.tenant_id).await.unwrap().unwrap().subscription.unwrap().past_due_since.unwrap();
    let since: chrono::DateTime<chrono::Utc> = since.parse().unwrap();
    let late = since + chrono::Duration::days(20);
    assert_eq!(collect_overdue(&nightly, &owner.tenant_id, late).await.unwrap(), suspended);
    let path = format!("/admin/tenants/{}/suspend", owner.tenant_id);
    let overview = json_of(app.post_empty(&path, &admin).await, StatusCode::OK).await;
    assert_eq!((overview["status"].as_str(), overview.get("suspended_for")), (Some("suspended"), None));
    let paid_again = event("invoice.paid", created + 180, invoice(&second, true));
    assert!(applied(deliver(&app, &paid_again, created).await).await);
    let stored = app.store.tenant(&owner.tenant_id).await.unwrap().unwrap();
    assert_eq!(
        (stored.status, stored.subscription.map(|subscription| subscription.status)),
        (TenantStatus::Suspended, Some(SubscriptionStatus::Active))
    );
    let customer = app.store.customer(&customer).await.unwrap().unwrap();
    assert!(!customer.suspended_for_payment, "the customer's mark is cleared");
}

#[tokio::test]
async fn each_ended_period_is_invoiced_once_and_numbers_have_no_gaps_under_parallel_closes() {
    let app = spawn_app().await;
    let admin = app.platform_admin().await;
    let monthly = plan(&app, &admin, json!({ "name": "Invoiced", "price_minor": 1500 })).await;
    let nightly = app.nightly().await;
    let now = chrono::Utc::now();
    let mut owners = Vec::new();
    for _ in 0..4 {
        let owner = app.signup().await;
        no_subscription(&app, &owner).await;
        let body = json!({ "plan_id": monthly["id"], "payment_method_id": card(GOOD_CARD).await });
        let billing = json_of(subscribe(&app, &owner, body).await, StatusCode::OK).await;
        let subscription = billing["subscription"].clone();
        let customer = tenant(&app, &owner).await["billing_customer_id"].as_str().unwrap().to_owned();
        // The period's payment, then the provider renewing the subscription a month on.
        let paid = json!({ "id": format!("in_{}", ulid::Ulid::new()), "object": "invoice", "customer": customer,
            "subscription": subscription["provider_subscription_id"], "currency": "eur", "total": 1500,
            "amount_paid": 1500, "created": now.timestamp() + 5 });
        assert!(applied(deliver(&app, &event("invoice.paid", now.timestamp() + 5, paid), now.timestamp()).await).await);
        let renewal = (now + chrono::Duration::days(31)).timestamp();
        let renewed = json!({ "id": subscription["provider_subscription_id"], "object": "subscription",
            "customer": customer, "status": "active", "cancel_at_period_end": false,
            "current_period_start": renewal, "current_period_end": renewal + 30 * 86_400,
            "items": { "object": "list", "data": [{ "id": "si_1", "price": { "id": monthly["price_id"] } }], "has_more": false } });
        let update = event("customer.subscription.updated", renewal, renewed);
        assert!(applied(deliver(&app, &update, now.timestamp()).await).await);
        owners.push(owner);
    }
    // Before the period ends: nothing to invoice.
    assert_eq!(issue_invoice(&nightly, &owners[0].tenant_id, now).await.unwrap(), None);
    // The platform sets the first organisation's tax rate (as its jurisdiction has it).
    let rate_path = format!("/admin/tenants/{}/tax-rate", owners[0].tenant_id);
    let set_rate = |rate: u32| app.request(Method::PUT, &rate_path, Some(&admin), Some(json!({ "tax_rate_bp": rate })));
    let problem = problem_of(set_rate(10_001).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "tax_rate_bp");
    assert_eq!(json_of(set_rate(2000).await, StatusCode::OK).await, json!({ "tax_rate_bp": 2000 }));
    // Who the first organisation's invoices are made out to; a country that is not a code is refused.
    let details = json!({ "name": "Harbour Événements Ltd", "address_lines": ["4 Quay Street", "Unit 2"],
        "postcode": "BS1 4DJ", "city": "Bristol", "country": "GB", "tax_number": "GB123456789" });
    let set = |body: Value| app.request(Method::PUT, "/billing/details", Some(&owners[0].access_token), Some(body));
    let mut wrong = details.clone();
    wrong["country"] = json!("United Kingdom");
    let problem = problem_of(set(wrong).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert!(problem.to_string().contains("country"), "{problem}");
    assert_eq!(json_of(set(details.clone()).await, StatusCode::OK).await, details);
    let billing = json_of(app.get("/billing", &owners[0].access_token).await, StatusCode::OK).await;
    assert_eq!(billing["details"], details);

    // Every organisation's job twice, all at once, once the period has ended.
    let later = now + chrono::Duration::days(32);
    let year = chrono::Datelike::year(&later);
    let before = app.store.last_invoice_number(year).await.unwrap();
    let runs = owners.iter().chain(owners.iter()).map(|owner| issue_invoice(&nightly, &owner.tenant_id, later));
    let issued: Vec<_> = join_all(runs).await.into_iter().filter_map(Result::unwrap).collect();
    let mut numbers: Vec<String> = issued.iter().map(|invoice| invoice.id.clone()).collect();
    numbers.sort();
    let expected: Vec<String> = (before + 1..=before + 4).map(|n| format!("RT-{year}-{n:06}")).collect();
    assert_eq!(numbers, expected, "one invoice per organisation, numbered without a gap");
    assert_eq!(app.store.last_invoice_number(year).await.unwrap(), before + 4);
    assert_eq!(issue_invoice(&nightly, &owners[0].tenant_id, later).await.unwrap(), None, "invoiced already");

    // The owner reads it: the period's payment, the tax it includes.
    let page = json_of(app.get("/billing/invoices", &owners[0].access_token).await, StatusCode::OK).await;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{page}");
    let id = items[0]["id"].as_str().unwrap();
    let invoice =
        json_of(app.get(&format!("/billing/invoices/{id}"), &owners[0].access_token).await, StatusCode::OK).await;
    assert_eq!(
        (invoice["total_minor"].as_i64(), invoice["net_minor"].as_i64(), invoice["tax_minor"].as_i64()),
        (Some(1500), Some(1250), Some(250))
    );
    assert_eq!((invoice["currency"].as_str(), invoice["lines"].as_array().map(Vec::len)), (Some("EUR"), Some(1)));
    assert_eq!(invoice["lines"][0]["description"], "Invoiced plan");
    assert_eq!(invoice["buyer"], details);
    assert_eq!(invoice["seller"]["name"], "Rota");

    // Its PDF: a document that reads as the invoice it is.
    let download =
        json_of(app.get(&format!("/billing/invoices/{id}/pdf"), &owners[0].access_token).await, StatusCode::OK).await;
    let url = download["url"].as_str().unwrap();
    let file = app.http.get(url).send().await.unwrap();
    assert_eq!(file.status(), StatusCode::OK);
    let document = lopdf::Document::load_mem(&file.bytes().await.unwrap()).expect("a PDF");
    let text = document.extract_text(&[1]).expect("its text");
    for expected in
        [id, "Harbour Événements Ltd", "4 Quay Street", "Tax number: GB123456789", "EUR 15.00", "EUR 2.50", "Rota"]
    {
        assert!(text.contains(expected), "{expected:?} not in the PDF's text: {text}");
    }
    problem_of(
        app.get(&format!("/billing/invoices/{id}"), &owners[1].access_token).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn a_plan_charged_today_asks_for_a_card_when_none_is_on_file() {
    let app = spawn_app().await;
    let admin = app.platform_admin().await;
    let free = plan(&app, &admin, json!({ "name": "Free at the provider", "price_minor": 0 })).await;
    let paid = plan(&app, &admin, json!({ "name": "Paid today", "price_minor": 900 })).await;
    let owner = app.signup().await;
    no_subscription(&app, &owner).await;
    // A free plan needs no card; the organisation becomes a customer of the provider without one.
    let billing = json_of(subscribe(&app, &owner, json!({ "plan_id": free["id"] })).await, StatusCode::OK).await;
    let subscription_id = billing["subscription"]["provider_subscription_id"].as_str().unwrap().to_owned();
    let customer = tenant(&app, &owner).await["billing_customer_id"].as_str().unwrap().to_owned();
    let now = chrono::Utc::now().timestamp();
    let deleted = json!({ "id": subscription_id, "object": "subscription", "customer": customer, "status": "canceled",
        "cancel_at_period_end": false, "current_period_start": now, "current_period_end": now + 30 * 86_400,
        "items": { "object": "list", "data": [{ "id": "si_1", "price": { "id": free["price_id"] } }], "has_more": false } });
    assert!(applied(deliver(&app, &event("customer.subscription.deleted", now, deleted), now).await).await);

    // Starting anew on a paid plan without a card: the field to fill is named, nothing changes.
    let refused = subscribe(&app, &owner, json!({ "plan_id": paid["id"] })).await;
    let problem = problem_of(refused, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert!(problem.to_string().contains("payment_method_id"), "{problem}");
    let billing = json_of(app.get("/billing", &owner.access_token).await, StatusCode::OK).await;
    assert_eq!(billing["subscription"]["status"], "cancelled");
}

#[tokio::test]
async fn the_credits_ledger_sums_to_the_balance_after_concurrent_spends_and_grants() {
    let app = spawn_app().await;
    let admin = app.platform_admin().await;
    let owner = app.signup().await;
    let tenant_id = owner.tenant_id.as_str();
    // What the notifier does for each message that takes a credit.
    let spend = |amount: i64| {
        let entry = CreditEntry::new(tenant_id, CreditKind::Spend, -amount, Some("envelope"), "2027-01-01T00:00:00Z");
        let store = &app.store;
        async move { store.change_credits(&entry).await.unwrap() }
    };
    // The trial's 500 credits, spent down to 5; never below zero.
    for _ in 0..5 {
        assert!(spend(99).await);
    }
    assert!(!spend(6).await, "a spend the balance does not hold is refused");

    // 20 spends of one and 3 grants of one, all at once.
    let grants_path = format!("/admin/tenants/{tenant_id}/credits");
    let grant = || app.post(&grants_path, Some(&admin), json!({ "amount": 1 }));
    let (spent, granted) = tokio::join!(join_all((0..20).map(|_| spend(1))), join_all((0..3).map(|_| grant())));
    for response in granted {
        assert_eq!(response.status(), StatusCode::OK);
    }
    let taken = i64::try_from(spent.iter().filter(|taken| **taken).count()).unwrap();
    let billing = json_of(app.get("/billing", &owner.access_token).await, StatusCode::OK).await;
    let balance = billing["message_credits"].as_i64().unwrap();
    assert!((5..=8).contains(&taken) && balance >= 0, "{taken} taken, {balance} left");
    assert_eq!(taken + balance, 8, "every credit there was is either taken or left");

    // The ledger: every change once, summing to the balance.
    let path = "/billing/credits/transactions?limit=100";
    let ledger = json_of(app.get(path, &owner.access_token).await, StatusCode::OK).await;
    let entries = ledger["items"].as_array().unwrap();
    assert_eq!(i64::try_from(entries.len()).unwrap(), 1 + 5 + 3 + taken, "{ledger}");
    assert_eq!(entries.iter().map(|entry| entry["amount"].as_i64().unwrap()).sum::<i64>(), balance);
    let first = entries.last().unwrap();
    assert_eq!((first["kind"].as_str(), first["amount"].as_i64()), (Some("grant"), Some(500)), "the trial's, oldest");
    let grants = entries.iter().filter(|entry| entry["kind"] == "grant" && entry["amount"] == 1).count();
    assert_eq!(grants, 3);
}

/// A call to the provider (localstripe) as Stripe.js or the dashboard would make it.
async fn at_provider(method: Method, path: &str, form: &[(&str, &str)]) -> Value {
    let settings = rota::payments::StripeSettings::from_env().expect("run with `infra/stack run` (localstripe)");
    let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
    let response = reqwest::Client::new()
        .request(method, format!("{}{path}", settings.api))
        .bearer_auth(settings.secret_key.expose())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("localstripe answers");
    json_of(response, StatusCode::OK).await
}

#[tokio::test]
async fn a_credit_pack_bought_is_credited_once_however_often_the_provider_tells_of_it() {
    let app = spawn_app().await;
    let admin = app.platform_admin().await;
    let owner = app.signup().await;
    let token = owner.access_token.as_str();
    let pack = credit_pack(&app, &admin, json!({})).await;
    let gone = credit_pack(&app, &admin, json!({ "name": "Old pack" })).await;
    let retire = json!({ "retired": true, "version": gone["version"] });
    let path = format!("/admin/credit-packs/{}", gone["id"].as_str().unwrap());
    let retired = json_of(app.request(Method::PATCH, &path, Some(&admin), Some(retire)).await, StatusCode::OK).await;
    assert_eq!((retired["retired"].as_bool(), retired["version"].as_u64()), (Some(true), Some(2)));
    let balance =
        || async { json_of(app.get("/billing", token).await, StatusCode::OK).await["message_credits"].clone() };
    let buy = |body: Value| app.post("/billing/credits", Some(token), body);

    // What is on sale is on the billing page; the retired pack is not, nor can it be bought.
    let billing = json_of(app.get("/billing", token).await, StatusCode::OK).await;
    let on_sale: Vec<&Value> = billing["credit_packs"].as_array().unwrap().iter().collect();
    assert!(on_sale.iter().any(|on_sale| on_sale["id"] == pack["id"]), "{billing}");
    assert!(!on_sale.iter().any(|on_sale| on_sale["id"] == gone["id"]), "{billing}");
    assert_eq!(billing["message_credits"], 500, "the trial's credits");
    for refused in [
        json!({ "pack_id": gone["id"], "payment_method_id": "pm_x" }),
        json!({ "pack_id": "01JNOSUCHPACK0000000000000" }),
    ] {
        let problem = problem_of(buy(refused).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], "pack_id", "{problem}");
    }
    // No card given and none on file; then a declined one: nothing is credited.
    let problem =
        problem_of(buy(json!({ "pack_id": pack["id"] })).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
            .await;
    assert_eq!(problem["errors"][0]["field"], "payment_method_id", "{problem}");
    let declined = buy(json!({ "pack_id": pack["id"], "payment_method_id": card(DECLINED_CARD).await })).await;
    problem_of(declined, StatusCode::PAYMENT_REQUIRED, "payment_declined").await;
    assert_eq!(balance().await, 500);

    // A good card: paid and credited at once.
    let bought = buy(json!({ "pack_id": pack["id"], "payment_method_id": card(GOOD_CARD).await })).await;
    let bought = json_of(bought, StatusCode::OK).await;
    assert_eq!((bought["status"].as_str(), bought["credits"].as_u64()), (Some("credited"), Some(1000)), "{bought}");
    assert_eq!((bought["amount_minor"].as_i64(), bought["currency"].as_str()), (Some(2500), Some("EUR")));
    assert_eq!(bought.get("client_secret"), None, "only for a payment the customer must confirm");
    assert_eq!(balance().await, 1500);

    // The provider's webhook of that payment, delivered twice under two event ids: nothing more.
    let payment_id = bought["payment_id"].as_str().unwrap();
    let paid = at_provider(Method::GET, &format!("/v1/payment_intents/{payment_id}"), &[]).await;
    let now = chrono::Utc::now().timestamp();
    for _ in 0..2 {
        assert!(!applied(deliver(&app, &event("payment_intent.succeeded", now, paid.clone()), now).await).await);
    }
    assert_eq!(balance().await, 1500);

    // Again with the card now on file.
    let again = json_of(buy(json!({ "pack_id": pack["id"] })).await, StatusCode::OK).await;
    assert_eq!(again["status"], "credited");
    assert_ne!(again["payment_id"], bought["payment_id"]);
    assert_eq!(balance().await, 2500);

    // A card whose bank asks the customer first: nothing yet, and what Stripe.js needs.
    let pending = buy(json!({ "pack_id": pack["id"], "payment_method_id": card(CONFIRMED_CARD).await })).await;
    let pending = json_of(pending, StatusCode::ACCEPTED).await;
    assert_eq!(pending["status"], "requires_action", "{pending}");
    let secret = pending["client_secret"].as_str().expect("a client secret").to_owned();
    assert_eq!(balance().await, 2500);
    // The customer confirms; the provider tells of it three times at once: credited once.
    let confirmed = format!("/v1/payment_intents/{}/_authenticate", pending["payment_id"].as_str().unwrap());
    let paid = at_provider(Method::POST, &confirmed, &[("client_secret", &secret), ("success", "true")]).await;
    assert_eq!(paid["status"], "succeeded", "{paid}");
    let now = chrono::Utc::now().timestamp();
    let told = join_all((0..3).map(|_| async {
        applied(deliver(&app, &event("payment_intent.succeeded", now, paid.clone()), now).await).await
    }))
    .await;
    assert_eq!(told.iter().filter(|applied| **applied).count(), 1, "{told:?}");
    assert_eq!(balance().await, 3500);

    // Three payments, each saying what it bought; the ledger has each purchase once and sums up.
    let payments = json_of(app.get("/billing/payments", token).await, StatusCode::OK).await;
    let payments = payments["items"].as_array().unwrap();
    assert_eq!(payments.len(), 3, "{payments:?}");
    for payment in payments {
        assert_eq!(payment["status"], "paid");
        assert_eq!(payment["description"], "1000 message credits (1,000 messages)");
    }
    let ledger = json_of(app.get("/billing/credits/transactions", token).await, StatusCode::OK).await;
    let entries = ledger["items"].as_array().unwrap();
    let purchases: Vec<&Value> = entries.iter().filter(|entry| entry["kind"] == "purchase").collect();
    assert_eq!(purchases.len(), 3, "{ledger}");
    assert_eq!(purchases[0]["reference"], pending["payment_id"], "newest first");
    assert_eq!(entries.iter().map(|entry| entry["amount"].as_i64().unwrap()).sum::<i64>(), 3500);
}

#[tokio::test]
async fn an_event_on_a_per_event_plan_opens_once_its_quote_is_paid_and_only_once() {
    let app = spawn_app().await;
    let admin = app.platform_admin().await;
    let per_event = json!({ "name": "Per event", "price_minor": 0, "event_unlock": true, "staff_day_minor": 300 });
    let per_event = plan(&app, &admin, per_event).await;
    let owner = app.signup().await;
    let token = owner.access_token.as_str();
    let billing = json_of(subscribe(&app, &owner, json!({ "plan_id": per_event["id"] })).await, StatusCode::OK).await;
    assert_eq!(billing["subscription"]["event_unlock"], json!({ "staff_day_minor": 300, "currency": "EUR" }));
    // The event: one shift of three places.
    let org = app.organisation(&owner).await;
    let event_id = org.event_id.as_str();
    let estimate = format!("/events/{event_id}/cost-estimate");
    let attendance = format!("/attendance?event_id={event_id}");
    let export = || {
        let body = json!({ "from": "2030-07-01", "to": "2030-07-31", "event_id": event_id });
        app.post("/attendance/exports", Some(token), body)
    };

    // Locked: its dashboard data answers 402; scheduling it stays free.
    let locked = problem_of(app.get(&estimate, token).await, StatusCode::PAYMENT_REQUIRED, "payment_required").await;
    assert_eq!(locked.get("quote"), None, "no quote asked for yet: {locked}");
    problem_of(app.get(&attendance, token).await, StatusCode::PAYMENT_REQUIRED, "payment_required").await;
    problem_of(export().await, StatusCode::PAYMENT_REQUIRED, "payment_required").await;
    json_of(app.get(&format!("/events/{event_id}"), token).await, StatusCode::OK).await;

    // The quote: staff × days × rate, frozen for a week; the locked answers carry it.
    let quote = json_of(app.post_empty(&format!("/events/{event_id}/quote"), token).await, StatusCode::CREATED).await;
    assert_eq!(
        (quote["staff_days"].as_u64(), quote["amount_minor"].as_i64(), quote["currency"].as_str()),
        (Some(3), Some(900), Some("EUR")),
        "{quote}"
    );
    let expires: chrono::DateTime<chrono::Utc> = quote["expires_at"].as_str().unwrap().parse().unwrap();
    assert!((6..=7).contains(&(expires - chrono::Utc::now()).num_days()), "{quote}");
    let locked = problem_of(app.get(&estimate, token).await, StatusCode::PAYMENT_REQUIRED, "payment_required").await;
    assert_eq!(locked["quote"], quote);

    // Paying: another quote's id is refused, a declined card changes nothing.
    let unlock_path = format!("/events/{event_id}/unlock");
    let unlock = |body: Value| app.post(&unlock_path, Some(token), body);
    let stale = unlock(json!({ "quote_id": "01JNOSUCHQUOTE000000000000", "payment_method_id": "pm_x" })).await;
    let problem = problem_of(stale, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "quote_id", "{problem}");
    let declined = unlock(json!({ "quote_id": quote["id"], "payment_method_id": card(DECLINED_CARD).await })).await;
    problem_of(declined, StatusCode::PAYMENT_REQUIRED, "payment_declined").await;
    problem_of(app.get(&estimate, token).await, StatusCode::PAYMENT_REQUIRED, "payment_required").await;

    // A card whose bank asks first: nothing opens until the provider says it is paid; told three
    // times at once, it opens once.
    let pending = unlock(json!({ "quote_id": quote["id"], "payment_method_id": card(CONFIRMED_CARD).await })).await;
    let pending = json_of(pending, StatusCode::ACCEPTED).await;
    assert_eq!(pending["status"], "requires_action", "{pending}");
    problem_of(app.get(&estimate, token).await, StatusCode::PAYMENT_REQUIRED, "payment_required").await;
    let payment_id = pending["payment_id"].as_str().unwrap();
    let secret = pending["client_secret"].as_str().unwrap();
    let confirm = format!("/v1/payment_intents/{payment_id}/_authenticate");
    let paid = at_provider(Method::POST, &confirm, &[("client_secret", secret), ("success", "true")]).await;
    let now = chrono::Utc::now().timestamp();
    let told = join_all((0..3).map(|_| async {
        applied(deliver(&app, &event("payment_intent.succeeded", now, paid.clone()), now).await).await
    }))
    .await;
    assert_eq!(told.iter().filter(|applied| **applied).count(), 1, "{told:?}");

    // Open: the estimate, the attendance list and the export answer.
    let estimated = json_of(app.get(&estimate, token).await, StatusCode::OK).await;
    assert_eq!(estimated["places"], 3);
    json_of(app.get(&attendance, token).await, StatusCode::OK).await;
    json_of(export().await, StatusCode::CREATED).await;
    // Once: paying or quoting again is refused.
    problem_of(unlock(json!({ "quote_id": quote["id"] })).await, StatusCode::CONFLICT, "conflict").await;
    let again = app.post_empty(&format!("/events/{event_id}/quote"), token).await;
    problem_of(again, StatusCode::CONFLICT, "conflict").await;

    // One payment, one receipt to the owner who paid, one audit entry.
    let payments = json_of(app.get("/billing/payments", token).await, StatusCode::OK).await;
    let payments = payments["items"].as_array().unwrap();
    assert_eq!(payments.len(), 1, "{payments:?}");
    let (description, amount) = (payments[0]["description"].as_str().unwrap(), payments[0]["amount_minor"].as_i64());
    assert!(description.starts_with("Unlock of ") && description.ends_with(": 3 staff-days"), "{description}");
    assert_eq!((payments[0]["id"].as_str(), amount), (Some(payment_id), Some(900)));
    let receipts: Vec<Value> = app
        .mail_to(&owner.email)
        .await
        .into_iter()
        .filter(|mail| mail["subject"].as_str().is_some_and(|subject| subject.starts_with("Receipt: Unlock of")))
        .collect();
    assert_eq!(receipts.len(), 1, "{receipts:?}");
    assert!(receipts[0]["body"].as_str().unwrap().contains("EUR 9.00"), "{receipts:?}");
    let log = json_of(app.get("/audit-logs?entity_type=event", token).await, StatusCode::OK).await;
    let unlocked = log["items"].as_array().unwrap().iter().filter(|entry| entry["action"] == "event.unlocked").count();
    assert_eq!(unlocked, 1, "{log}");
}
