//! `rota::payments` against localstripe over HTTP (started by `infra/stack`, at
//! `ROTA_STRIPE_API`): customers, prices, subscriptions (trial, active, a prorated price change,
//! cancelling at period end), one-off payments (succeeded, declined), the provider's errors by
//! kind, and a webhook delivered to a real endpoint that verifies with `rota::payments::webhook`.
//! What Stripe.js does in a browser (a card turned into an attached payment method) the tests
//! do by calling localstripe directly.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{any, post};
use rota::payments::webhook::{self, DEFAULT_TOLERANCE_SECS, WebhookError};
use rota::payments::{
    Interval, InvoiceStatus, NewCustomer, NewPayment, NewPrice, NewSubscription, PaymentError, PaymentIntentStatus,
    PaymentProvider, Stripe, StripeSettings, SubscriptionStatus,
};
use serde_json::{Value, json};
use tokio::sync::mpsc;

/// The card that always succeeds, and one that attaches but whose charges are declined
/// (localstripe's `PaymentMethod._charging_is_declined`, as in Stripe's test cards).
const GOOD_CARD: &str = "4242424242424242";
const DECLINED_CARD: &str = "4000000000000341";

fn settings() -> StripeSettings {
    StripeSettings::from_env().expect("run the tests with `infra/stack run`, which starts localstripe")
}

fn provider() -> Stripe {
    Stripe::new(settings()).expect("valid provider settings")
}

fn key() -> String {
    ulid::Ulid::new().to_string()
}

/// Calls to localstripe made as Stripe.js (or an operator's setup) would, not through `Stripe`.
struct Localstripe {
    api: String,
    secret_key: String,
    http: reqwest::Client,
}

impl Localstripe {
    fn new() -> Self {
        let settings = settings();
        Self { api: settings.api, secret_key: settings.secret_key.expose().to_owned(), http: reqwest::Client::new() }
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> Value {
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
        let response = self
            .http
            .post(format!("{}{path}", self.api))
            .bearer_auth(&self.secret_key)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("localstripe answers");
        let status = response.status();
        let body: Value = response.json().await.expect("a JSON answer");
        assert_eq!(status, StatusCode::OK, "POST {path}: {body}");
        body
    }

    async fn get(&self, path: &str) -> Value {
        let response =
            self.http.get(format!("{}{path}", self.api)).bearer_auth(&self.secret_key).send().await.expect("answers");
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.json().await.expect("a JSON answer")
    }

    /// A card payment method attached to `customer`, as Stripe.js leaves it after the customer
    /// typed their card.
    async fn card(&self, number: &str, customer: &str) -> String {
        let method = self
            .post(
                "/v1/payment_methods",
                &[
                    ("type", "card"),
                    ("card[number]", number),
                    ("card[exp_month]", "12"),
                    ("card[exp_year]", "2030"),
                    ("card[cvc]", "123"),
                ],
            )
            .await;
        let id = method["id"].as_str().expect("a payment method id").to_owned();
        let attached = self.post(&format!("/v1/payment_methods/{id}/attach"), &[("customer", customer)]).await;
        assert_eq!(attached["customer"], customer);
        id
    }
}

async fn customer(provider: &Stripe, tenant_id: &str) -> rota::payments::Customer {
    let email = format!("billing-{}@example.com", tenant_id.to_lowercase());
    let new = NewCustomer { email: email.clone(), name: "Harbour Events".into(), tenant_id: tenant_id.into() };
    let customer = provider.create_customer(&new, &key()).await.expect("a customer");
    assert!(customer.id.starts_with("cus_"), "{customer:?}");
    assert_eq!(customer.email.as_deref(), Some(email.as_str()));
    assert_eq!(customer.name.as_deref(), Some("Harbour Events"));
    assert_eq!(customer.metadata.get("tenant_id").map(String::as_str), Some(tenant_id));
    customer
}

async fn monthly_price(provider: &Stripe, plan_id: &str, amount_minor: i64) -> rota::payments::Price {
    let new = NewPrice {
        name: format!("Plan {plan_id}"),
        amount_minor,
        currency: "eur".into(),
        interval: Interval::Month,
        plan_id: plan_id.into(),
    };
    let price = provider.create_price(&new, &key()).await.expect("a price");
    assert_eq!((price.amount_minor, price.currency.as_str(), price.interval), (amount_minor, "eur", Interval::Month));
    assert_eq!(price.metadata.get("plan_id").map(String::as_str), Some(plan_id));
    price
}

#[tokio::test]
async fn subscriptions_trial_then_active_then_a_prorated_change_then_cancelled_at_period_end() {
    let (provider, local) = (provider(), Localstripe::new());
    let tenant_id = key();
    let customer = customer(&provider, &tenant_id).await;
    let card = local.card(GOOD_CARD, &customer.id).await;
    let updated = provider.set_default_payment_method(&customer.id, &card, &key()).await.expect("a default card");
    assert_eq!(updated.invoice_settings.default_payment_method.as_deref(), Some(card.as_str()));
    let starter = monthly_price(&provider, "starter", 1_900).await;

    // With a trial: trialing until the trial's end, nothing charged.
    let asked_at = chrono::Utc::now().timestamp();
    let trial = NewSubscription {
        customer_id: customer.id.clone(),
        price_id: starter.id.clone(),
        trial_end: Some(asked_at + 14 * 86_400),
        tenant_id: tenant_id.clone(),
    };
    let trialing = provider.create_subscription(&trial, &key()).await.expect("a trial subscription");
    assert_eq!(trialing.status, SubscriptionStatus::Trialing);
    assert_eq!(trialing.customer, customer.id);
    assert_eq!(trialing.price_id(), Some(starter.id.as_str()));
    assert_eq!(trialing.metadata.get("tenant_id"), Some(&tenant_id));
    let (start, end) = (trialing.trial_start.expect("trial_start"), trialing.trial_end.expect("trial_end"));
    assert_eq!(end, asked_at + 14 * 86_400);
    assert!((0..=5).contains(&(start - asked_at)), "started at {start}, asked at {asked_at}");
    assert!(provider.invoices(&customer.id).await.expect("invoices").is_empty(), "a trial charges nothing");

    // Without: the first period is invoiced and paid with the default card, so it is active.
    let paid = NewSubscription { trial_end: None, ..trial };
    let active = provider.create_subscription(&paid, &key()).await.expect("a paid subscription");
    assert_eq!(active.status, SubscriptionStatus::Active);
    assert!(!active.cancel_at_period_end);
    let invoices = provider.invoices(&customer.id).await.expect("invoices");
    assert_eq!(invoices.len(), 1, "{invoices:?}");
    assert_eq!(invoices[0].subscription.as_deref(), Some(active.id.as_str()));
    assert_eq!(invoices[0].status, Some(InvoiceStatus::Paid));
    assert_eq!((invoices[0].total_minor, invoices[0].amount_paid_minor), (1_900, 1_900));
    assert_eq!(invoices[0].customer, customer.id);

    // To a dearer price, prorated: the unused time of the old price is credited (a pending
    // proration item the next invoice carries).
    let pro = monthly_price(&provider, "pro", 4_900).await;
    let changed = provider.change_price(&active.id, &pro.id, &key()).await.expect("a price change");
    assert_eq!(changed.price_id(), Some(pro.id.as_str()));
    assert_eq!(changed.status, SubscriptionStatus::Active);
    assert_eq!(changed.items.data.len(), 1, "the item is replaced, not added to");
    let fetched = provider.subscription(&active.id).await.expect("the subscription");
    assert_eq!(fetched.price_id(), Some(pro.id.as_str()));
    let pending = local.get(&format!("/v1/invoiceitems?customer={}", customer.id)).await;
    let prorations: Vec<&Value> =
        pending["data"].as_array().expect("a list").iter().filter(|item| item["proration"] == true).collect();
    assert_eq!(prorations.len(), 1, "{pending}");
    assert_eq!(prorations[0]["amount"], -1_900);

    // Cancelled at period end: still active until then.
    let cancelled = provider.cancel_at_period_end(&active.id, &key()).await.expect("cancel at period end");
    assert!(cancelled.cancel_at_period_end);
    assert_eq!(cancelled.status, SubscriptionStatus::Active);
    let fetched = provider.subscription(&active.id).await.expect("the subscription");
    assert!(fetched.cancel_at_period_end);
    assert_eq!(fetched.current_period_end, active.current_period_end);
}

#[tokio::test]
async fn a_one_off_payment_succeeds_with_a_good_card_and_is_declined_with_a_bad_one() {
    let (provider, local) = (provider(), Localstripe::new());
    let tenant_id = key();
    let customer = customer(&provider, &tenant_id).await;
    let metadata = BTreeMap::from([("tenant_id".to_owned(), tenant_id.clone()), ("kind".into(), "credit_pack".into())]);
    let payment = NewPayment {
        amount_minor: 2_500,
        currency: "eur".into(),
        customer_id: customer.id.clone(),
        payment_method_id: local.card(GOOD_CARD, &customer.id).await,
        metadata: metadata.clone(),
    };
    let intent = provider.create_payment(&payment, &key()).await.expect("a payment");
    assert!(intent.id.starts_with("pi_"), "{intent:?}");
    assert_eq!(intent.status, PaymentIntentStatus::Succeeded);
    assert_eq!((intent.amount_minor, intent.currency.as_str()), (2_500, "eur"));
    assert_eq!(intent.customer.as_deref(), Some(customer.id.as_str()));
    assert_eq!(intent.metadata, metadata);
    assert_eq!(intent.last_payment_error, None);
    let fetched = provider.payment(&intent.id).await.expect("the payment");
    assert_eq!(fetched, intent);

    let declined = NewPayment { payment_method_id: local.card(DECLINED_CARD, &customer.id).await, ..payment };
    match provider.create_payment(&declined, &key()).await {
        Err(PaymentError::Declined { code, message, .. }) => {
            assert_eq!(code, "card_declined");
            assert_eq!(message, "Your card was declined.");
        }
        other => panic!("expected a declined payment, got {other:?}"),
    }
}

#[tokio::test]
async fn refusals_are_told_apart_from_declines() {
    let provider = provider();
    let error = provider.subscription("sub_doesnotexist").await.unwrap_err();
    assert!(error.is_not_found(), "{error:?}");
    assert!(matches!(error, PaymentError::BadRequest { status: 404, .. }), "{error:?}");

    let unknown_price = NewSubscription {
        customer_id: customer(&provider, &key()).await.id,
        price_id: "plan_doesnotexist".into(),
        trial_end: None,
        tenant_id: key(),
    };
    let error = provider.create_subscription(&unknown_price, &key()).await.unwrap_err();
    assert!(matches!(error, PaymentError::BadRequest { status: 404, .. }), "{error:?}");

    let error = provider.subscription("sub_1/../../customers").await.unwrap_err();
    assert!(matches!(error, PaymentError::InvalidInput(_)), "{error:?}");

    let wrong_key = Stripe::new(StripeSettings { secret_key: rota::Secret::new("not_a_key"), ..settings() }).unwrap();
    let error = wrong_key.subscription("sub_doesnotexist").await.unwrap_err();
    assert_eq!(error, PaymentError::Misconfigured { status: 401 });
}

/// A provider at `api` giving up after `timeout`.
fn provider_at(api: String, timeout: Duration) -> Stripe {
    Stripe::new(StripeSettings { api, timeout, ..settings() }).expect("valid settings")
}

async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a port");
    let address = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(axum::serve(listener, router).into_future());
    address
}

#[tokio::test]
async fn a_failing_slow_or_absent_provider_is_unavailable() {
    // A provider failing with 5xx.
    let failing = serve(axum::Router::new().route(
        "/{*path}",
        any(|| async { (StatusCode::SERVICE_UNAVAILABLE, r#"{"error":{"type":"api_error","message":"down"}}"#) }),
    ))
    .await;
    let error = provider_at(failing, Duration::from_secs(5)).subscription("sub_1").await.unwrap_err();
    assert_eq!(error, PaymentError::Unavailable("HTTP 503: down".into()));

    // A provider that accepts the request and never answers.
    let silent = serve(axum::Router::new().route("/{*path}", any(std::future::pending::<()>))).await;
    let error = provider_at(silent, Duration::from_millis(300)).subscription("sub_1").await.unwrap_err();
    assert_eq!(error, PaymentError::Unavailable("no answer within 300ms".into()));

    // Nothing listening: the port of a listener that was closed.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
    let error =
        provider_at(format!("http://{closed}"), Duration::from_secs(5)).subscription("sub_1").await.unwrap_err();
    assert!(matches!(error, PaymentError::Unavailable(_)), "{error:?}");
}

/// One delivery as the endpoint received it.
struct Delivery {
    signature: String,
    body: Bytes,
}

#[tokio::test]
async fn a_delivered_webhook_verifies_with_the_endpoint_secret_only() {
    let (provider, local) = (provider(), Localstripe::new());
    let secrets = rota::payments::webhook_secrets_from_env().expect("ROTA_STRIPE_WEBHOOK_SECRET");
    let secret = secrets[0].expose().to_owned();

    // The endpoint: every delivery goes to this test, which answers 200 as Rota's handler would.
    let (deliveries, mut delivered) = mpsc::unbounded_channel::<Delivery>();
    let receiver = axum::Router::new()
        .route(
            "/billing/webhook",
            post(|State(deliveries): State<mpsc::UnboundedSender<Delivery>>, headers: HeaderMap, body: Bytes| async move {
                let signature = headers.get("stripe-signature").and_then(|value| value.to_str().ok()).unwrap_or("");
                let _ = deliveries.send(Delivery { signature: signature.to_owned(), body });
                StatusCode::OK
            }),
        )
        .with_state(deliveries);
    let endpoint = format!("{}/billing/webhook", serve(receiver).await);
    let registration = local
        .http
        .post(format!("{}/_config/webhooks/{}", local.api, key()))
        .json(&json!({ "url": endpoint, "secret": secret, "events": ["payment_intent.succeeded"] }))
        .send()
        .await
        .expect("localstripe answers");
    assert_eq!(registration.status(), StatusCode::OK);

    let tenant_id = key();
    let customer = customer(&provider, &tenant_id).await;
    let payment = NewPayment {
        amount_minor: 12_000,
        currency: "eur".into(),
        customer_id: customer.id.clone(),
        payment_method_id: local.card(GOOD_CARD, &customer.id).await,
        metadata: BTreeMap::from([("tenant_id".to_owned(), tenant_id.clone()), ("kind".into(), "event_unlock".into())]),
    };
    let intent = provider.create_payment(&payment, &key()).await.expect("a payment");

    // Other tests' payments reach this endpoint too (localstripe's webhooks are global): wait for
    // the one about this payment.
    let delivery = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let delivery = delivered.recv().await.expect("the endpoint is up");
            let event = webhook::Event::parse(&delivery.body).expect("an event envelope");
            if event.object_id() == Some(intent.id.as_str()) {
                return delivery;
            }
        }
    })
    .await
    .expect("the payment's webhook is delivered within 20 s");

    let now = chrono::Utc::now().timestamp();
    let event = webhook::verified_event(&delivery.signature, &delivery.body, &[&secret], now, DEFAULT_TOLERANCE_SECS)
        .expect("the delivery verifies with the endpoint's secret");
    assert!(event.id.starts_with("evt_"), "{event:?}");
    assert_eq!(event.kind, "payment_intent.succeeded");
    assert_eq!(event.data.object["status"], "succeeded");
    assert_eq!(event.data.object["amount"], 12_000);
    assert_eq!(event.data.object["metadata"]["tenant_id"], tenant_id.as_str());
    assert!((now - event.created).abs() <= DEFAULT_TOLERANCE_SECS);

    // With a second secret configured (a rotation) it still verifies; another secret alone does
    // not, nor does the same delivery with its body changed.
    assert_eq!(webhook::verify(&delivery.signature, &delivery.body, &["whsec_old", &secret], now, 300), Ok(()));
    assert_eq!(
        webhook::verify(&delivery.signature, &delivery.body, &["whsec_wrong"], now, 300),
        Err(WebhookError::SignatureMismatch)
    );
    let mut changed = delivery.body.to_vec();
    let at = changed.iter().position(|byte| *byte == b'1').expect("a digit in the payload");
    changed[at] = b'9';
    assert_eq!(
        webhook::verify(&delivery.signature, &changed, &[&secret], now, 300),
        Err(WebhookError::SignatureMismatch)
    );
    // Replayed an hour later, it is refused.
    assert!(matches!(
        webhook::verify(&delivery.signature, &delivery.body, &[&secret], now + 3600, 300),
        Err(WebhookError::OutsideTolerance { .. })
    ));
}
