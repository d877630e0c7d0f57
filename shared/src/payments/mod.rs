//! Payments: the provider behind a trait ([`PaymentProvider`]), its one implementation speaking
//! Stripe's HTTP API ([`Stripe`]; locally localstripe), and the verification of the webhooks it
//! sends ([`webhook`]). Only what billing uses: customers, a price per plan, subscriptions, one-off
//! payments (credit packs, event unlocks) and a customer's invoices. See docs/payments.md.

mod stripe;
pub mod webhook;

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::future::BoxFuture;
use serde::Deserialize;

use crate::config::Secret;

pub use stripe::Stripe;

/// A payment provider. Object-safe (each method returns a boxed future) so that the state every
/// handler receives can hold an `Arc<dyn PaymentProvider>` without a type parameter spreading
/// through every router; one allocation per call is nothing next to the network round trip.
///
/// Every POST takes an idempotency key the caller derives from what it is doing (the purchase's
/// or the request's own id), so a retry after a lost answer never charges or subscribes twice.
pub trait PaymentProvider: Send + Sync {
    /// A customer for an organisation: its billing email and name, `tenant_id` in the metadata
    /// (so an event about the customer leads back to the organisation).
    fn create_customer<'a>(&'a self, customer: &'a NewCustomer, idempotency_key: &'a str) -> Call<'a, Customer>;

    /// A customer as the provider has it (its default payment method among the rest).
    fn customer<'a>(&'a self, customer_id: &'a str) -> Call<'a, Customer>;

    /// The customer's default payment method for subscriptions and invoices (a payment method
    /// the frontend collected with Stripe.js), attached to the customer first.
    fn set_default_payment_method<'a>(
        &'a self,
        customer_id: &'a str,
        payment_method_id: &'a str,
        idempotency_key: &'a str,
    ) -> Call<'a, Customer>;

    /// A recurring price for a plan (one price per plan and amount: a price never changes, a
    /// plan whose price changes gets a new one).
    fn create_price<'a>(&'a self, price: &'a NewPrice, idempotency_key: &'a str) -> Call<'a, Price>;

    /// A subscription to one price, charged to the customer's default payment method (or
    /// trialing until `trial_end` when it is set).
    fn create_subscription<'a>(
        &'a self,
        subscription: &'a NewSubscription,
        idempotency_key: &'a str,
    ) -> Call<'a, Subscription>;

    /// Moves a subscription to another price, prorated (`proration_behavior=create_prorations`:
    /// the unused time of the old price is credited and the new one charged from now on, on the
    /// next invoice).
    fn change_price<'a>(
        &'a self,
        subscription_id: &'a str,
        price_id: &'a str,
        idempotency_key: &'a str,
    ) -> Call<'a, Subscription>;

    /// Cancels a subscription at the end of its current period (it stays active until then).
    fn cancel_at_period_end<'a>(&'a self, subscription_id: &'a str, idempotency_key: &'a str)
    -> Call<'a, Subscription>;

    /// Cancels a subscription now (one whose first payment failed: nothing is left behind).
    fn cancel_now<'a>(&'a self, subscription_id: &'a str) -> Call<'a, Subscription>;

    fn subscription<'a>(&'a self, subscription_id: &'a str) -> Call<'a, Subscription>;

    /// A one-off payment (a credit pack, an event unlock), confirmed now with the given payment
    /// method. A declined card is [`PaymentError::Declined`]; a card that needs the customer
    /// (3-D Secure) comes back with status `requires_action`.
    fn create_payment<'a>(&'a self, payment: &'a NewPayment, idempotency_key: &'a str) -> Call<'a, PaymentIntent>;

    fn payment<'a>(&'a self, payment_intent_id: &'a str) -> Call<'a, PaymentIntent>;

    /// Every invoice of a customer, newest first.
    fn invoices<'a>(&'a self, customer_id: &'a str) -> Call<'a, Vec<Invoice>>;
}

/// What every [`PaymentProvider`] method returns.
pub type Call<'a, T> = BoxFuture<'a, Result<T, PaymentError>>;

/// Why a provider call failed, in the three kinds a caller acts on differently: the payment was
/// refused (tell the customer), the provider is unreachable (retry later), or the request itself
/// is wrong (a bug or a stale id: do not retry).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaymentError {
    /// The card was declined or the payment failed (HTTP 402, a `card_error`).
    #[error("the payment was declined ({code}): {message}")]
    Declined {
        /// Stripe's error code, e.g. `card_declined`, `expired_card`, `insufficient_funds`.
        code: String,
        /// The issuer's reason when it gave one (`decline_code`).
        decline_code: Option<String>,
        message: String,
        /// The PaymentIntent that failed, when the provider names it.
        payment_intent_id: Option<String>,
    },
    /// The provider did not answer in time, could not be reached, or failed itself (5xx, 429):
    /// the same call with the same idempotency key may be retried later.
    #[error("the payment provider is unavailable: {0}")]
    Unavailable(String),
    /// The provider refused the request (another 4xx): an unknown id, a bad parameter, an
    /// idempotency key reused with other parameters.
    #[error("the payment provider refused the request (HTTP {status}): {message}")]
    BadRequest { status: u16, code: Option<String>, param: Option<String>, message: String },
    /// The provider refused our key (401, 403): a deployment mistake, not the customer's.
    #[error("the payment provider refused the API key (HTTP {status})")]
    Misconfigured { status: u16 },
    /// An id or idempotency key that cannot be sent as given (refused before any request).
    #[error("not sent to the payment provider: {0}")]
    InvalidInput(String),
    /// A 2xx answer that is not the object expected.
    #[error("unexpected answer from the payment provider: {0}")]
    InvalidResponse(String),
}

impl PaymentError {
    /// Whether the provider does not know the object (a stale or foreign id).
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::BadRequest { status: 404, .. })
    }
}

/// How to reach the provider: `ROTA_STRIPE_API` (default `https://api.stripe.com`; locally
/// localstripe's address, set by infra/stack) and `ROTA_STRIPE_SECRET_KEY`.
#[derive(Clone, Debug)]
pub struct StripeSettings {
    pub api: String,
    pub secret_key: Secret,
    /// The longest a call may take, connection and answer included.
    pub timeout: Duration,
}

impl StripeSettings {
    pub const DEFAULT_API: &str = "https://api.stripe.com";
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

    pub fn from_env() -> Result<Self, String> {
        let secret_key = std::env::var("ROTA_STRIPE_SECRET_KEY")
            .ok()
            .filter(|key| !key.trim().is_empty())
            .ok_or("environment variable ROTA_STRIPE_SECRET_KEY is not set")?;
        let api = std::env::var("ROTA_STRIPE_API")
            .ok()
            .filter(|api| !api.trim().is_empty())
            .unwrap_or_else(|| Self::DEFAULT_API.to_owned());
        Ok(Self { api, secret_key: Secret::new(secret_key), timeout: Self::DEFAULT_TIMEOUT })
    }
}

/// `ROTA_STRIPE_WEBHOOK_SECRET`: the endpoint's signing secrets (`whsec_…`), comma-separated;
/// two while a rotation overlaps (see [`webhook::verify`]).
pub fn webhook_secrets_from_env() -> Result<Vec<Secret>, String> {
    let secrets: Vec<Secret> = std::env::var("ROTA_STRIPE_WEBHOOK_SECRET")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|secret| !secret.is_empty())
        .map(Secret::new)
        .collect();
    if secrets.is_empty() {
        return Err("environment variable ROTA_STRIPE_WEBHOOK_SECRET is not set".into());
    }
    Ok(secrets)
}

#[derive(Clone, Debug)]
pub struct NewCustomer {
    pub email: String,
    pub name: String,
    pub tenant_id: String,
}

#[derive(Clone, Debug)]
pub struct NewPrice {
    /// What the customer sees on invoices and receipts (the plan's name).
    pub name: String,
    pub amount_minor: i64,
    /// ISO 4217, lowercase as Stripe writes it (`eur`).
    pub currency: String,
    pub interval: Interval,
    /// Rota's plan, in the price's metadata.
    pub plan_id: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Interval {
    Month,
    Year,
    /// Another interval (`day`, `week`): never created by Rota.
    #[serde(other)]
    Other,
}

impl Interval {
    fn as_str(self) -> Option<&'static str> {
        match self {
            Self::Month => Some("month"),
            Self::Year => Some("year"),
            Self::Other => None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct NewSubscription {
    pub customer_id: String,
    pub price_id: String,
    /// The end of a free trial (Unix seconds): nothing is charged until then.
    pub trial_end: Option<i64>,
    /// In the subscription's metadata, so its events lead back to the organisation.
    pub tenant_id: String,
}

#[derive(Clone, Debug)]
pub struct NewPayment {
    pub amount_minor: i64,
    pub currency: String,
    pub customer_id: String,
    pub payment_method_id: String,
    /// What the payment is for (`tenant_id`, `kind`, `quote_id`, …): comes back in its webhooks.
    pub metadata: BTreeMap<String, String>,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Customer {
    pub id: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    #[serde(default)]
    pub invoice_settings: InvoiceSettings,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct InvoiceSettings {
    #[serde(default)]
    pub default_payment_method: Option<String>,
}

/// A recurring price. Created through Stripe's Plans API: a plan's ID is accepted wherever a
/// price ID is, and localstripe has no Prices API.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Price {
    pub id: String,
    #[serde(rename = "amount")]
    pub amount_minor: i64,
    pub currency: String,
    pub interval: Interval,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Subscription {
    pub id: String,
    pub customer: String,
    pub status: SubscriptionStatus,
    #[serde(default)]
    pub cancel_at_period_end: bool,
    #[serde(default)]
    pub current_period_start: Option<i64>,
    #[serde(default)]
    pub current_period_end: Option<i64>,
    #[serde(default)]
    pub trial_start: Option<i64>,
    #[serde(default)]
    pub trial_end: Option<i64>,
    #[serde(default)]
    pub canceled_at: Option<i64>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    pub items: List<SubscriptionItem>,
}

impl Subscription {
    /// The one item Rota's subscriptions have.
    pub fn item(&self) -> Option<&SubscriptionItem> {
        self.items.data.first()
    }

    /// The price the subscription is on.
    pub fn price_id(&self) -> Option<&str> {
        self.item().and_then(SubscriptionItem::price_id)
    }
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct SubscriptionItem {
    pub id: String,
    #[serde(default)]
    price: Option<ObjectId>,
    /// What localstripe (and older API versions) name the price.
    #[serde(default)]
    plan: Option<ObjectId>,
}

impl SubscriptionItem {
    pub fn price_id(&self) -> Option<&str> {
        self.price.as_ref().or(self.plan.as_ref()).map(|object| object.id.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
struct ObjectId {
    id: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionStatus {
    Incomplete,
    IncompleteExpired,
    Trialing,
    Active,
    PastDue,
    Canceled,
    Unpaid,
    Paused,
    /// A status this code does not know yet.
    #[serde(other)]
    Unknown,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct PaymentIntent {
    pub id: String,
    pub status: PaymentIntentStatus,
    #[serde(rename = "amount")]
    pub amount_minor: i64,
    pub currency: String,
    #[serde(default)]
    pub customer: Option<String>,
    /// When it was made (Unix seconds).
    pub created: i64,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    #[serde(default)]
    pub last_payment_error: Option<LastPaymentError>,
    /// What Stripe.js needs to take the customer through a step the bank asks for (3-D Secure,
    /// status `requires_action`).
    #[serde(default)]
    pub client_secret: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct LastPaymentError {
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub decline_code: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentIntentStatus {
    RequiresPaymentMethod,
    RequiresConfirmation,
    RequiresAction,
    Processing,
    RequiresCapture,
    Canceled,
    Succeeded,
    #[serde(other)]
    Unknown,
}

/// The provider's invoice (what it charged); Rota's own invoices with their numbering are built
/// from these by billing.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Invoice {
    pub id: String,
    pub customer: String,
    #[serde(default)]
    pub subscription: Option<String>,
    #[serde(default)]
    pub status: Option<InvoiceStatus>,
    pub currency: String,
    #[serde(rename = "total")]
    pub total_minor: i64,
    #[serde(rename = "amount_paid")]
    pub amount_paid_minor: i64,
    pub created: i64,
    #[serde(default)]
    pub period_start: Option<i64>,
    #[serde(default)]
    pub period_end: Option<i64>,
    /// Where the customer can pay it (Stripe's hosted invoice page; localstripe has none).
    #[serde(default)]
    pub hosted_invoice_url: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceStatus {
    Draft,
    Open,
    Paid,
    Uncollectible,
    Void,
    #[serde(other)]
    Unknown,
}

/// A page of a Stripe list.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct List<T> {
    pub data: Vec<T>,
    #[serde(default)]
    pub has_more: bool,
}
