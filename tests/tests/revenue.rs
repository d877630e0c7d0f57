//! The platform's revenue figures as an operator reads them on Monday morning: each paying
//! organisation moves MRR and the status counts exactly once per change — however often the
//! provider tells of it, and however many of its events arrive at once — and a month's churn,
//! failed payments and credit sales add up. Alone in its binary: the figures are the platform's,
//! so no other test may move them while this one compares.

use api_tests::{GOOD_CARD, TestApp, card, credit_pack, json_of, plan, spawn_app, stripe_signature};
use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn figures(app: &TestApp, admin: &str) -> Value {
    json_of(app.get("/admin/revenue", admin).await, StatusCode::OK).await
}

/// `figures` less `before`, for the counts and the EUR amounts that move here.
fn moved(before: &Value, after: &Value) -> Value {
    let eur = |figures: &Value, list: &str| {
        figures[list]
            .as_array()
            .unwrap()
            .iter()
            .find(|amount| amount["currency"] == "EUR")
            .map_or(0, |amount| amount["amount_minor"].as_i64().unwrap())
    };
    let count = |figures: &Value, path: &str| figures.pointer(path).and_then(Value::as_i64).unwrap();
    let mut moved = json!({});
    for list in ["mrr", "credit_sales"] {
        moved[list] = json!(eur(after, list) - eur(before, list));
    }
    for path in [
        "/organisations/trialing",
        "/organisations/active",
        "/organisations/past_due",
        "/organisations/cancelled",
        "/churned",
        "/failed_payments",
        "/credits_sold",
    ] {
        moved[path.trim_start_matches('/').replace('/', ".")] = json!(count(after, path) - count(before, path));
    }
    moved
}

async fn deliver(app: &TestApp, kind: &str, object: Value) -> bool {
    let now = chrono::Utc::now().timestamp();
    let event = json!({ "id": format!("evt_{}", ulid::Ulid::new()), "object": "event", "type": kind, "created": now,
        "data": { "object": object } });
    let payload = serde_json::to_vec(&event).unwrap();
    let secret = std::env::var("ROTA_STRIPE_WEBHOOK_SECRET").expect("the stack's webhook secret");
    let response = app
        .http
        .post(format!("{}/billing/webhook", app.address))
        .header("stripe-signature", stripe_signature(&secret, now, &payload))
        .header("content-type", "application/json")
        .body(payload)
        .send()
        .await
        .unwrap();
    json_of(response, StatusCode::OK).await["applied"].as_bool().unwrap()
}

#[tokio::test]
async fn mrr_and_the_status_counts_move_once_per_change_and_a_months_sales_add_up() {
    let app = spawn_app().await;
    let admin = app.platform_admin().await;
    let team = plan(&app, &admin, json!({ "name": "Revenue team", "price_minor": 4900 })).await;
    let yearly =
        plan(&app, &admin, json!({ "name": "Revenue yearly", "price_minor": 12_000, "interval": "year" })).await;
    let owner = app.signup().await;
    let token = owner.access_token.as_str();
    app.set(&format!("T#{}", owner.tenant_id), "TENANT", &[("subscription", Value::Null)]).await;
    let start = figures(&app, &admin).await;

    // Paying for the team plan: one more active organisation, its price a month.
    let body = json!({ "plan_id": team["id"], "payment_method_id": card(GOOD_CARD).await });
    let billing = json_of(app.post("/billing/subscription", Some(token), body).await, StatusCode::OK).await;
    let subscription_id = billing["subscription"]["provider_subscription_id"].as_str().unwrap().to_owned();
    let customer = app.state.store.tenant(&owner.tenant_id).await.unwrap().unwrap().billing_customer_id.unwrap();
    let paid = figures(&app, &admin).await;
    assert_eq!(moved(&start, &paid)["organisations.active"], 1, "{paid}");
    assert_eq!(moved(&start, &paid)["mrr"], 4900, "{paid}");

    // A failed payment: overdue, still subscribed (MRR kept), one failed payment this month.
    let invoice = |paid: bool| {
        json!({ "id": format!("in_{}", ulid::Ulid::new()), "object": "invoice", "customer": customer,
        "subscription": subscription_id, "currency": "eur", "total": 4900, "amount_paid": if paid { 4900 } else { 0 },
        "created": chrono::Utc::now().timestamp() })
    };
    assert!(deliver(&app, "invoice.payment_failed", invoice(false)).await);
    let overdue = figures(&app, &admin).await;
    let change = moved(&paid, &overdue);
    assert_eq!(
        (change["organisations.active"].as_i64(), change["organisations.past_due"].as_i64(), change["mrr"].as_i64()),
        (Some(-1), Some(1), Some(0)),
        "{change}"
    );
    assert_eq!(change["failed_payments"], 1);

    // Paid: five events of the provider at once (the invoice paid, told by several deliveries):
    // the organisation moves back exactly once.
    let told = join_all((0..5).map(|_| deliver(&app, "invoice.paid", invoice(true)))).await;
    assert_eq!(told.iter().filter(|applied| **applied).count(), 5, "each event applies: {told:?}");
    let settled = figures(&app, &admin).await;
    let change = moved(&overdue, &settled);
    assert_eq!(
        (change["organisations.active"].as_i64(), change["organisations.past_due"].as_i64(), change["mrr"].as_i64()),
        (Some(1), Some(-1), Some(0)),
        "{change}"
    );

    // A yearly plan brings a twelfth of its price a month.
    let body = json!({ "plan_id": yearly["id"] });
    json_of(app.post("/billing/subscription", Some(token), body).await, StatusCode::OK).await;
    let changed = figures(&app, &admin).await;
    assert_eq!(moved(&settled, &changed)["mrr"], 1000 - 4900, "{changed}");
    assert_eq!(moved(&settled, &changed)["organisations.active"], 0);

    // A credit pack sold.
    let pack = credit_pack(&app, &admin, json!({})).await;
    let bought = app.post("/billing/credits", Some(token), json!({ "pack_id": pack["id"] })).await;
    json_of(bought, StatusCode::OK).await;
    let sold = figures(&app, &admin).await;
    assert_eq!(
        (moved(&changed, &sold)["credits_sold"].as_i64(), moved(&changed, &sold)["credit_sales"].as_i64()),
        (Some(1000), Some(2500))
    );

    // Cancelled by the provider (told twice): one churn, its MRR gone, once.
    let object = json!({ "id": subscription_id, "object": "subscription", "customer": customer, "status": "canceled",
        "cancel_at_period_end": false, "items": { "data": [] } });
    assert!(deliver(&app, "customer.subscription.deleted", object.clone()).await);
    assert!(!deliver(&app, "customer.subscription.deleted", object).await);
    let churned = figures(&app, &admin).await;
    let change = moved(&sold, &churned);
    assert_eq!(
        (
            change["organisations.active"].as_i64(),
            change["organisations.cancelled"].as_i64(),
            change["churned"].as_i64(),
            change["mrr"].as_i64()
        ),
        (Some(-1), Some(1), Some(1), Some(-1000)),
        "{change}"
    );
    // The month asked for: another month has none of this.
    let other = json_of(app.get("/admin/revenue?month=2020-01", &admin).await, StatusCode::OK).await;
    assert_eq!((other["month"].as_str(), other["churned"].as_i64()), (Some("2020-01"), Some(0)));
    let bad = app.get("/admin/revenue?month=2020-13", &admin).await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
}
