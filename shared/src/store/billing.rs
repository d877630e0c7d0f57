//! Billing records: the platform's plans, and each organisation's subscription to one.
//!
//! - A plan is a record of the platform's own organisation (`T#{platform}` / `PLAN#{id}`), so it
//!   has a version and every change is audited there, like any record. A plan is never deleted:
//!   one that is `retired` keeps its subscribers and takes no new ones. At most one plan is the
//!   `default`, which every new organisation starts a trial of.
//! - An organisation's subscription lives on its tenant item, with a copy of its plan's limits
//!   taken when it started: the head count moves on that item too, so "no more people than the
//!   plan allows" is one condition on one item, exact under any burst.

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::audit::{Actor, AuditEntry};
use super::page::{Index, Page};
use super::platform::PLATFORM_TENANT;
use super::tenants::{SuspendedFor, TenantStatus};
use super::{Store, key, keys, n, s as string, value};
use crate::clock::{instant, instant_from_epoch};
use crate::domain::revenue;
use crate::{Error, payments};

/// What a plan allows: an absent `max_active_people` is no limit; absent `messages_per_month`
/// are none included (every message takes a credit).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, garde::Validate)]
#[serde(deny_unknown_fields)]
pub struct PlanLimits {
    /// People who are not deactivated (invited or active).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[garde(inner(range(min = 1, max = 1_000_000)))]
    #[schema(minimum = 1, maximum = 1000000)]
    pub max_active_people: Option<u32>,
    /// Message credits a month included (an email is one; see `message_prices`), used before
    /// the balance is spent (absent: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[garde(inner(range(max = 100_000_000)))]
    #[schema(maximum = 100000000)]
    pub messages_per_month: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BillingInterval {
    Month,
    Year,
}

/// A plan organisations subscribe to.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Plan {
    pub id: String,
    /// Always the platform's organisation: its partition names it, so it is not stored or shown.
    #[serde(skip_serializing, default = "platform")]
    #[schema(ignore)]
    pub tenant_id: String,
    pub name: String,
    /// The price per interval, in minor units of `currency` (cents).
    pub price_minor: i64,
    /// ISO 4217, upper case.
    pub currency: String,
    pub interval: BillingInterval,
    pub limits: PlanLimits,
    /// Days of free trial a new subscription starts with.
    pub trial_days: u32,
    /// Events of organisations on this plan are paid for one by one (a quote, then an unlock).
    pub event_unlock: bool,
    /// On an `event_unlock` plan: what one place for one day of an event costs to unlock (a
    /// quote is staff × days × this), in minor units of `currency`.
    #[serde(default)]
    pub staff_day_minor: i64,
    /// New organisations start a trial of this plan.
    pub default: bool,
    /// Kept for its subscribers; no new subscription can choose it.
    pub retired: bool,
    /// The payment provider's price for the current `price_minor`, `currency` and `interval`
    /// (a new one when the price changes; subscriptions on the old one keep it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_id: Option<String>,
    pub version: u64,
    pub created_at: String,
    pub updated_at: String,
}

crate::entity!(Plan, "PLAN#", "plan");

impl Plan {
    /// The organisation whose records the plans are.
    pub const OWNER: &'static str = PLATFORM_TENANT;

    /// The provider's price for this plan as it is now, to be created under an idempotency key
    /// that names the plan and its price (a retry creates it once).
    pub fn new_price(&self) -> (crate::payments::NewPrice, String) {
        let price = crate::payments::NewPrice {
            name: self.name.clone(),
            amount_minor: self.price_minor,
            currency: self.currency.to_lowercase(),
            interval: match self.interval {
                BillingInterval::Month => crate::payments::Interval::Month,
                BillingInterval::Year => crate::payments::Interval::Year,
            },
            plan_id: self.id.clone(),
        };
        let key = format!("rota-price-{}-{}-{}", self.id, self.price_minor, self.currency);
        (price, key)
    }
}

impl Plan {
    /// Its price a month (a yearly one ÷ 12).
    pub fn monthly_minor(&self) -> i64 {
        revenue::monthly(self.price_minor, self.interval == BillingInterval::Year)
    }

    /// What unlocking an event costs on this plan; none when its events are free.
    pub fn event_price(&self) -> Option<EventPrice> {
        self.event_unlock.then(|| EventPrice { staff_day_minor: self.staff_day_minor, currency: self.currency.clone() })
    }
}

/// What unlocking an event costs: per place per day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EventPrice {
    pub staff_day_minor: i64,
    /// ISO 4217, upper case.
    pub currency: String,
}

fn platform() -> String {
    PLATFORM_TENANT.to_owned()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionStatus {
    Trialing,
    Active,
    /// A payment failed; reminders go out until it is paid or the grace ends.
    PastDue,
    Cancelled,
}

impl SubscriptionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Trialing => "trialing",
            Self::Active => "active",
            Self::PastDue => "past_due",
            Self::Cancelled => "cancelled",
        }
    }
}

/// An invoice whose payment failed: what the owners are asked to pay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OverdueInvoice {
    /// The provider's invoice (`in_…`).
    pub invoice_id: String,
    /// In minor units of `currency` (cents).
    pub amount_minor: i64,
    /// ISO 4217, upper case.
    pub currency: String,
    /// The provider's page where it can be paid (with another card too), when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pay_url: Option<String>,
}

/// An organisation's subscription, as its tenant item keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Subscription {
    pub plan_id: String,
    pub plan_name: String,
    pub status: SubscriptionStatus,
    pub current_period_start: String,
    pub current_period_end: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trial_end: Option<String>,
    /// Cancelled, ending when the current period does.
    #[serde(default)]
    pub cancel_at_period_end: bool,
    /// The plan's limits when the subscription started or last changed plan.
    pub limits: PlanLimits,
    /// On a plan whose events are paid for one by one: what unlocking one costs (the plan's, as
    /// the limits are taken).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_unlock: Option<EventPrice>,
    /// Its plan's price a month (a yearly one ÷ 12) when it started or last changed plan, in
    /// minor units of `currency`: what it brings the platform while paid.
    #[serde(default)]
    pub mrr_minor: i64,
    #[serde(default)]
    pub currency: String,
    pub started_at: String,
    /// Since when a payment has been overdue (`past_due`); reminders count their days from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub past_due_since: Option<String>,
    /// The invoice whose payment failed, while it is overdue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overdue: Option<OverdueInvoice>,
    /// The subscription at the payment provider, once the owner has subscribed (the trial every
    /// organisation starts with has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_subscription_id: Option<String>,
    /// When (Unix seconds) the provider's state of it was last taken: a webhook about an older
    /// state changes nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_updated_at: Option<i64>,
}

/// A subscription as the platform's revenue figures count it: kept on the provider's customer
/// (`counted`), so that each provider event moves the figures from what was counted last.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Standing {
    pub status: SubscriptionStatus,
    pub mrr_minor: i64,
    pub currency: String,
}

impl Standing {
    pub fn counted(&self) -> revenue::Counted<'_> {
        revenue::Counted { status: self.status.as_str(), mrr_minor: self.mrr_minor, currency: &self.currency }
    }

    /// The standing after `change`, from this one (none: not counted before).
    fn after(before: Option<&Self>, change: &ProviderChange) -> Self {
        let (mrr_minor, currency) = match (change, before) {
            (ProviderChange::Subscription { plan: Some(plan), .. }, _) => (plan.monthly_minor(), plan.currency.clone()),
            (_, Some(before)) => (before.mrr_minor, before.currency.clone()),
            (_, None) => (0, String::new()),
        };
        Self { status: change.status(), mrr_minor, currency }
    }
}

/// The counters' changes from `before` to `after`: totals, and the month's (a churn).
fn revenue_changes(
    before: Option<&Standing>,
    after: Option<&Standing>,
) -> (std::collections::BTreeMap<String, i64>, std::collections::BTreeMap<String, i64>) {
    let (before, after) = (before.map(Standing::counted), after.map(Standing::counted));
    let mut monthly = std::collections::BTreeMap::new();
    if revenue::churned(before, after) {
        monthly.insert("churned".to_owned(), 1);
    }
    (revenue::changes(before, after), monthly)
}

impl Subscription {
    pub fn standing(&self) -> Standing {
        Standing { status: self.status, mrr_minor: self.mrr_minor, currency: self.currency.clone() }
    }

    /// A new subscription of `plan` from `now`: a trial of its `trial_days`, or (with none) its
    /// first interval, active.
    pub fn start(plan: &Plan, now: DateTime<Utc>) -> Self {
        let (status, end) = match plan.trial_days {
            0 => (SubscriptionStatus::Active, period_end(now, plan.interval)),
            days => (SubscriptionStatus::Trialing, now + Duration::days(i64::from(days))),
        };
        Self {
            plan_id: plan.id.clone(),
            plan_name: plan.name.clone(),
            status,
            current_period_start: instant(now),
            current_period_end: instant(end),
            trial_end: (status == SubscriptionStatus::Trialing).then(|| instant(end)),
            cancel_at_period_end: false,
            limits: plan.limits.clone(),
            event_unlock: plan.event_price(),
            mrr_minor: plan.monthly_minor(),
            currency: plan.currency.clone(),
            started_at: instant(now),
            past_due_since: None,
            overdue: None,
            provider_subscription_id: None,
            provider_updated_at: None,
        }
    }

    /// The subscription as the provider answered it (`at`: when, Unix seconds), on `plan`,
    /// following `before` (the organisation's subscription until now, if any).
    pub fn from_provider(
        provider: &payments::Subscription,
        plan: &Plan,
        before: Option<&Subscription>,
        now: DateTime<Utc>,
    ) -> Self {
        let status = status_of(provider.status).unwrap_or(SubscriptionStatus::PastDue);
        let seconds = |at: Option<i64>| at.and_then(instant_from_epoch);
        // The same subscription goes on (a trial becoming paid, a change of plan); one that
        // was cancelled, or another at the provider, starts anew.
        let same = before.filter(|before| {
            before.status != SubscriptionStatus::Cancelled
                && before.provider_subscription_id.as_deref().is_none_or(|id| id == provider.id)
        });
        Self {
            plan_id: plan.id.clone(),
            plan_name: plan.name.clone(),
            status,
            current_period_start: seconds(provider.current_period_start).unwrap_or_else(|| instant(now)),
            current_period_end: seconds(provider.current_period_end)
                .unwrap_or_else(|| instant(period_end(now, plan.interval))),
            trial_end: seconds(provider.trial_end).filter(|_| status == SubscriptionStatus::Trialing),
            cancel_at_period_end: provider.cancel_at_period_end,
            limits: plan.limits.clone(),
            event_unlock: plan.event_price(),
            mrr_minor: plan.monthly_minor(),
            currency: plan.currency.clone(),
            started_at: same.map_or_else(|| instant(now), |before| before.started_at.clone()),
            past_due_since: (status == SubscriptionStatus::PastDue)
                .then(|| before.and_then(|before| before.past_due_since.clone()).unwrap_or_else(|| instant(now))),
            overdue: same.and_then(|before| before.overdue.clone()).filter(|_| status == SubscriptionStatus::PastDue),
            provider_subscription_id: Some(provider.id.clone()),
            provider_updated_at: Some(now.timestamp()),
        }
    }
}

/// Rota's status for the provider's: what the organisation is to do (nothing, or pay).
/// `incomplete` (a first payment not made) and `unpaid`/`paused` count as overdue; an unknown
/// status is `None` (left as it was).
pub fn status_of(status: payments::SubscriptionStatus) -> Option<SubscriptionStatus> {
    use payments::SubscriptionStatus as Provider;
    match status {
        Provider::Trialing => Some(SubscriptionStatus::Trialing),
        Provider::Active => Some(SubscriptionStatus::Active),
        Provider::PastDue | Provider::Unpaid | Provider::Incomplete | Provider::Paused => {
            Some(SubscriptionStatus::PastDue)
        }
        Provider::Canceled | Provider::IncompleteExpired => Some(SubscriptionStatus::Cancelled),
        Provider::Unknown => None,
    }
}

/// What a provider event says about an organisation's subscription.
#[derive(Debug, Clone)]
pub enum ProviderChange {
    /// The subscription as the provider has it now (created, updated, deleted), with the plan
    /// its price belongs to when Rota knows it.
    Subscription {
        subscription_id: String,
        status: SubscriptionStatus,
        current_period_start: Option<String>,
        current_period_end: Option<String>,
        trial_end: Option<String>,
        cancel_at_period_end: bool,
        plan: Option<Box<Plan>>,
    },
    /// An invoice of the subscription was paid.
    InvoicePaid { subscription_id: String },
    /// The payment of an invoice of the subscription failed.
    InvoiceFailed { subscription_id: String, invoice: OverdueInvoice },
}

impl ProviderChange {
    /// The subscription as a provider event has it, with the plan of `plans` its price is;
    /// none for a status Rota does not know.
    pub fn of_subscription(provider: payments::Subscription, plans: &[Plan]) -> Option<Self> {
        let status = status_of(provider.status)?;
        let seconds = |at: Option<i64>| at.and_then(instant_from_epoch);
        let plan = provider
            .price_id()
            .and_then(|price| plans.iter().find(|plan| plan.price_id.as_deref() == Some(price)))
            .map(|plan| Box::new(plan.clone()));
        Some(Self::Subscription {
            status,
            current_period_start: seconds(provider.current_period_start),
            current_period_end: seconds(provider.current_period_end),
            trial_end: seconds(provider.trial_end).filter(|_| status == SubscriptionStatus::Trialing),
            cancel_at_period_end: provider.cancel_at_period_end,
            plan,
            subscription_id: provider.id,
        })
    }

    fn subscription_id(&self) -> &str {
        match self {
            Self::Subscription { subscription_id, .. }
            | Self::InvoicePaid { subscription_id }
            | Self::InvoiceFailed { subscription_id, .. } => subscription_id,
        }
    }

    /// The subscription's status once the change is applied.
    fn status(&self) -> SubscriptionStatus {
        match self {
            Self::Subscription { status, .. } => *status,
            Self::InvoicePaid { .. } => SubscriptionStatus::Active,
            Self::InvoiceFailed { .. } => SubscriptionStatus::PastDue,
        }
    }

    /// Whether it says the organisation owes nothing now (what lifts a suspension for payment).
    pub fn settles(&self) -> bool {
        match self {
            Self::Subscription { status, .. } => {
                matches!(status, SubscriptionStatus::Active | SubscriptionStatus::Trialing)
            }
            Self::InvoicePaid { .. } => true,
            Self::InvoiceFailed { .. } => false,
        }
    }
}

/// Whether a provider event changed the organisation's subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Changed,
    /// Changed, and the organisation, suspended for this overdue payment, is active again.
    Reactivated,
    /// Applied before (a redelivery), about an older state than the one kept, about another
    /// subscription than the organisation's, or about a cancelled one: nothing to do.
    Ignored,
}

/// The end of a billing period starting at `start`: the same day and time a month or a year on
/// (the month's last day when it has no such day, as Stripe does).
pub fn period_end(start: DateTime<Utc>, interval: BillingInterval) -> DateTime<Utc> {
    let months = match interval {
        BillingInterval::Month => chrono::Months::new(1),
        BillingInterval::Year => chrono::Months::new(12),
    };
    start.checked_add_months(months).unwrap_or(start)
}

/// The stored path of an organisation's people limit, on its tenant item (names below).
const PEOPLE_LIMIT: &str = "#subscription.#limits.#max_people";

fn limit_names(
    update: aws_sdk_dynamodb::types::builders::UpdateBuilder,
) -> aws_sdk_dynamodb::types::builders::UpdateBuilder {
    update
        .expression_attribute_names("#subscription", "subscription")
        .expression_attribute_names("#limits", "limits")
        .expression_attribute_names("#max_people", "max_active_people")
}

/// The refusal of a person beyond the plan's people limit.
pub fn people_limit_reached() -> Error {
    Error::PlanLimitReached(
        "the organisation's plan allows no more people who are not deactivated: deactivate someone or change plan"
            .to_owned(),
    )
}

impl Store {
    /// Every plan, retired ones included (a handful: one Query of the platform's partition).
    pub async fn plans(&self) -> Result<Vec<Plan>, Error> {
        self.all::<Plan>(Plan::OWNER).await
    }

    /// One more person who counts (invited or active) on the organisation's head count, only
    /// while it is below its plan's `max_active_people` (none: no limit). The limit is read from
    /// the same item in the same condition, so a burst of additions stops exactly at it.
    pub fn person_joined(&self, tenant_id: &str) -> Result<TransactWriteItem, Error> {
        let update = limit_names(Update::builder())
            .table_name(&self.table)
            .set_key(Some(key(keys::tenant(tenant_id), keys::TENANT_SK)))
            .update_expression("ADD people_count :one")
            .condition_expression(format!(
                "attribute_exists(pk) AND (attribute_not_exists({PEOPLE_LIMIT}) OR people_count < {PEOPLE_LIMIT})"
            ))
            .expression_attribute_values(":one", n(1))
            .build()
            .map_err(Error::internal)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// `count` more people at once (an import), within the people limit as it was `read` (none:
    /// no limit), only if that is still the limit.
    pub fn people_joined(&self, tenant_id: &str, count: u32, read: Option<u32>) -> Result<TransactWriteItem, Error> {
        let update = limit_names(Update::builder())
            .table_name(&self.table)
            .set_key(Some(key(keys::tenant(tenant_id), keys::TENANT_SK)))
            .update_expression("ADD people_count :count")
            .expression_attribute_values(":count", n(count));
        let update = match read {
            None => {
                update.condition_expression(format!("attribute_exists(pk) AND attribute_not_exists({PEOPLE_LIMIT})"))
            }
            Some(limit) => update
                .condition_expression(format!("{PEOPLE_LIMIT} = :limit AND people_count <= :most"))
                .expression_attribute_values(":limit", n(limit))
                .expression_attribute_values(":most", n(i64::from(limit) - i64::from(count))),
        };
        Ok(TransactWriteItem::builder().update(update.build().map_err(Error::internal)?).build())
    }
}

/// What became of a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    Paid,
    /// Refused (a declined card); the provider retries it, and it becomes `paid` if one succeeds.
    Failed,
}

impl PaymentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Paid => "paid",
            Self::Failed => "failed",
        }
    }
}

/// A charge of an organisation: one per invoice of the provider's for its subscription, as it
/// last stood (a failed one that is paid later becomes `paid`), and one per one-off payment (a
/// credit pack).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Payment {
    /// The provider's invoice (`in_…`) or one-off payment (`pi_…`).
    pub id: String,
    pub tenant_id: String,
    pub status: PaymentStatus,
    /// In minor units of `currency` (cents).
    pub amount_minor: i64,
    /// ISO 4217, upper case.
    pub currency: String,
    /// The subscription it is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_subscription_id: Option<String>,
    /// What a one-off payment bought (`500 message credits`); none for the subscription's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// When the invoice or payment was made.
    pub created_at: String,
    /// When the provider said what `status` says.
    pub updated_at: String,
}

/// The stored item of `payment` as the provider said at `at` (Unix seconds).
fn payment_item(payment: &Payment, at: i64) -> Result<super::Item, Error> {
    let mut item = super::to_item(
        payment,
        &[
            ("pk", keys::tenant(&payment.tenant_id)),
            ("sk", keys::payment_sk(&payment.created_at, &payment.id)),
            ("gsi1pk", keys::payments_with_status(payment.status.as_str())),
            ("gsi1sk", format!("{}#{}#{}", payment.created_at, payment.tenant_id, payment.id)),
        ],
    )?;
    item.insert("said_at".to_owned(), n(at));
    Ok(item)
}

/// An organisation as a customer of the payment provider (`PAYCUS#{id}`, outside every tenant:
/// the provider's webhooks name only the customer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    pub id: String,
    pub tenant_id: String,
    /// Dunning suspended the organisation: a payment that settles its debt reactivates it.
    pub suspended_for_payment: bool,
    /// Its subscription as the revenue figures last counted it.
    pub counted: Option<Standing>,
}

/// How long an applied event's id is kept: longer than the provider retries a delivery (3 days).
const EVENT_KEPT_DAYS: i64 = 30;

/// How often a provider event is tried against what its customer's other events changed
/// meanwhile, before its delivery fails (and the provider delivers it again).
const APPLY_ATTEMPTS: usize = 4;

impl Store {
    /// Stores the subscription the owner just made or changed at the provider, `before` being the
    /// one read (only if it is still the one stored: two owners subscribing at once do not both
    /// win), with the provider's customer and its way back to the organisation.
    pub async fn subscribed(
        &self,
        tenant_id: &str,
        customer_id: &str,
        subscription: &Subscription,
        before: Option<&Subscription>,
        audit: &AuditEntry,
    ) -> Result<bool, Error> {
        let read = before.and_then(|before| before.provider_subscription_id.as_deref());
        // Overdue from the start (a provider status Rota reads as such): on the dunning list.
        let listing = if subscription.status == SubscriptionStatus::PastDue {
            ", gsi2pk = :past_due, gsi2sk = :tenant"
        } else {
            " REMOVE gsi2pk, gsi2sk"
        };
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::tenant(tenant_id), keys::TENANT_SK)))
            .update_expression(format!("SET subscription = :subscription, billing_customer_id = :customer{listing}"))
            .expression_attribute_values(":subscription", value(subscription)?)
            .expression_attribute_values(":customer", string(customer_id));
        if subscription.status == SubscriptionStatus::PastDue {
            update = update
                .expression_attribute_values(":past_due", string(keys::PAST_DUE))
                .expression_attribute_values(":tenant", string(tenant_id));
        }
        let mut condition = match read {
            Some(id) => {
                update = update.expression_attribute_values(":read", string(id));
                "subscription.provider_subscription_id = :read".to_owned()
            }
            None => "attribute_exists(pk) AND attribute_not_exists(subscription.provider_subscription_id)".to_owned(),
        };
        if let Some(before) = before {
            // Still as read, so the revenue figures move from what it was.
            condition += " AND subscription.#status = :read_status AND subscription.plan_id = :read_plan";
            update = update
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":read_status", value(&before.status)?)
                .expression_attribute_values(":read_plan", string(&before.plan_id));
        }
        let after = subscription.standing();
        let customer = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::payment_customer(customer_id), keys::PAYMENT_CUSTOMER_SK)))
            .update_expression("SET tenant_id = :tenant_id, counted = :counted")
            .expression_attribute_values(":tenant_id", string(tenant_id))
            .expression_attribute_values(":counted", value(&after)?)
            .build()
            .map_err(Error::internal)?;
        let mut items = vec![
            TransactWriteItem::builder()
                .update(update.condition_expression(condition).build().map_err(Error::internal)?)
                .build(),
            TransactWriteItem::builder().update(customer).build(),
            self.audit_put(audit)?,
        ];
        let (totals, monthly) = revenue_changes(before.map(Subscription::standing).as_ref(), Some(&after));
        items.extend(self.revenue_items(&totals, &crate::clock::Now::get().iso[..7], &monthly)?);
        Ok(self.transact(items).await?.is_ok())
    }

    /// The provider's customer's way back to its organisation (`PAYCUS#…`), for the transaction
    /// that first stores the customer on the organisation (writing it again changes nothing).
    pub(super) fn customer_link(&self, customer_id: &str, tenant_id: &str) -> Result<TransactWriteItem, Error> {
        let link = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::payment_customer(customer_id), keys::PAYMENT_CUSTOMER_SK)))
            .update_expression("SET tenant_id = :tenant_id")
            .expression_attribute_values(":tenant_id", string(tenant_id))
            .build()
            .map_err(Error::internal)?;
        Ok(TransactWriteItem::builder().update(link).build())
    }

    /// A provider's customer: the organisation it is, and whether dunning suspended it.
    pub async fn customer(&self, customer_id: &str) -> Result<Option<Customer>, Error> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::payment_customer(customer_id), keys::PAYMENT_CUSTOMER_SK)))
            .send()
            .await?;
        #[derive(Deserialize)]
        struct Stored {
            tenant_id: String,
            #[serde(default)]
            suspended_for_payment: bool,
            #[serde(default)]
            counted: Option<Standing>,
        }
        let Some(item) = output.item else { return Ok(None) };
        let stored: Stored = super::from_item(item)?;
        Ok(Some(Customer {
            id: customer_id.to_owned(),
            tenant_id: stored.tenant_id,
            suspended_for_payment: stored.suspended_for_payment,
            counted: stored.counted,
        }))
    }

    /// Marks the organisation's subscription to be cancelled at the end of its period (a trial
    /// with no provider subscription: at the trial's end), if it is still `provider_id`'s.
    pub async fn cancelling(
        &self,
        tenant_id: &str,
        provider_id: Option<&str>,
        at: i64,
        audit: &AuditEntry,
    ) -> Result<bool, Error> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::tenant(tenant_id), keys::TENANT_SK)))
            .update_expression("SET subscription.cancel_at_period_end = :yes, subscription.provider_updated_at = :at")
            .expression_attribute_values(":yes", AttributeValue::Bool(true))
            .expression_attribute_values(":at", n(at));
        let update = match provider_id {
            Some(id) => update
                .condition_expression("subscription.provider_subscription_id = :id")
                .expression_attribute_values(":id", string(id)),
            None => update.condition_expression(
                "attribute_exists(subscription) AND attribute_not_exists(subscription.provider_subscription_id)",
            ),
        };
        let items = vec![
            TransactWriteItem::builder().update(update.build().map_err(Error::internal)?).build(),
            self.audit_put(audit)?,
        ];
        Ok(self.transact(items).await?.is_ok())
    }

    /// Records `payment` as the provider said at `at` (Unix seconds), unless what is stored was
    /// said later: a late delivery of an older event leaves the newer state.
    pub async fn record_payment(&self, payment: &Payment, at: i64) -> Result<(), Error> {
        let item = payment_item(payment, at)?;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR said_at <= :at")
            .expression_attribute_values(":at", n(at))
            .send()
            .await;
        super::written(result).map(|_| ())
    }

    /// `payment` recorded as paid (as the provider said at `said_at`), for the transaction of
    /// what it paid for: refused when it is recorded as paid already, so that happens once.
    pub(super) fn paid_once(&self, payment: &Payment, said_at: i64) -> Result<TransactWriteItem, Error> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(payment_item(payment, said_at)?))
            .condition_expression("attribute_not_exists(pk) OR #status <> :paid")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":paid", string(PaymentStatus::Paid.as_str()))
            .build()
            .map_err(Error::internal)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// An organisation's payments, newest first.
    pub async fn payments(
        &self,
        tenant_id: &str,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<Page<Payment>, Error> {
        self.newest_first(Index::Table, keys::tenant(tenant_id), keys::PAYMENTS_SK_PREFIX, limit, cursor).await
    }

    /// Every organisation's payments of one status, newest first (the platform's).
    pub async fn payments_with_status(
        &self,
        status: PaymentStatus,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<Page<Payment>, Error> {
        self.newest_first(Index::Gsi1, keys::payments_with_status(status.as_str()), "", limit, cursor).await
    }

    /// Applies a provider event (`event_id`, created at `created`, Unix seconds) to the
    /// organisation's subscription: once per event, only if it is about the subscription the
    /// organisation has and no older than the state kept, and never reviving a cancelled one.
    /// The event's id is stored in the same transaction, so a redelivery is ignored.
    ///
    /// `customer` is the organisation's at the provider as read, with whether dunning suspended
    /// it: a change that [settles](ProviderChange::settles) the debt then also reactivates it
    /// (audited), in the same transaction, if it is still suspended for payment. If it is not
    /// (the platform reactivated or suspended it meanwhile), the change is applied again without
    /// (a third round trip, rare) and the customer's mark is cleared either way.
    pub async fn apply_provider_change(
        &self,
        customer: &Customer,
        event_id: &str,
        created: i64,
        change: &ProviderChange,
        now: DateTime<Utc>,
    ) -> Result<Applied, Error> {
        let mut customer = customer.clone();
        let mut reactivating = customer.suspended_for_payment && change.settles();
        for _ in 0..APPLY_ATTEMPTS {
            let items = self.provider_change_items(&customer, event_id, created, change, reactivating, now)?;
            match self.transact(items).await? {
                Ok(()) if reactivating => return Ok(Applied::Reactivated),
                Ok(()) => return Ok(Applied::Changed),
                // Applied before: a redelivery.
                Err(super::entities::Refused(failed)) if failed.contains(&1) => return Ok(Applied::Ignored),
                // Another event of the customer was counted meanwhile: again from what is counted.
                Err(super::entities::Refused(failed)) if failed.contains(&2) => {
                    customer = self.customer(&customer.id).await?.ok_or(Error::NotFound)?;
                    reactivating = reactivating && customer.suspended_for_payment;
                }
                // The organisation is not suspended for payment (any more): the change on its own.
                Err(super::entities::Refused(failed)) if reactivating && failed == [0] => reactivating = false,
                Err(_) => return Ok(Applied::Ignored),
            }
        }
        Err(Error::internal("the customer's events kept changing it meanwhile; the provider retries"))
    }

    /// The transaction of [`Self::apply_provider_change`]: the tenant item's update (0), the
    /// event's id (1), the customer's counted standing (2), the revenue counters, the audit entry.
    fn provider_change_items(
        &self,
        customer: &Customer,
        event_id: &str,
        created: i64,
        change: &ProviderChange,
        reactivating: bool,
        now: DateTime<Utc>,
    ) -> Result<Vec<TransactWriteItem>, Error> {
        let tenant_id = customer.tenant_id.as_str();
        let mut sets = vec!["subscription.provider_updated_at = :created".to_owned()];
        let mut removes = Vec::new();
        let mut values = vec![
            (":created", n(created)),
            (":id", string(change.subscription_id())),
            (":cancelled", value(&SubscriptionStatus::Cancelled)?),
            (":now", string(instant(now))),
        ];
        let status = match change {
            ProviderChange::Subscription {
                status,
                current_period_start,
                current_period_end,
                trial_end,
                cancel_at_period_end,
                plan,
                ..
            } => {
                for (name, placeholder, at) in [
                    ("current_period_start", ":period_start", current_period_start),
                    ("current_period_end", ":period_end", current_period_end),
                    ("trial_end", ":trial_end", trial_end),
                ] {
                    match at {
                        Some(at) => {
                            sets.push(format!("subscription.{name} = {placeholder}"));
                            values.push((placeholder, string(at)));
                        }
                        // A trial that is over has no end to show; a period is always kept.
                        None if name == "trial_end" => removes.push("subscription.trial_end".to_owned()),
                        None => {}
                    }
                }
                sets.push("subscription.cancel_at_period_end = :at_end".into());
                values.push((":at_end", AttributeValue::Bool(*cancel_at_period_end)));
                if let Some(plan) = plan {
                    sets.push("subscription.plan_id = :plan, subscription.plan_name = :plan_name".into());
                    sets.push("subscription.limits = :limits".into());
                    values.push((":plan", string(&plan.id)));
                    values.push((":plan_name", string(&plan.name)));
                    values.push((":limits", value(&plan.limits)?));
                    match plan.event_price() {
                        Some(price) => {
                            sets.push("subscription.event_unlock = :event_unlock".into());
                            values.push((":event_unlock", value(&price)?));
                        }
                        None => removes.push("subscription.event_unlock".into()),
                    }
                }
                *status
            }
            ProviderChange::InvoicePaid { .. } => SubscriptionStatus::Active,
            ProviderChange::InvoiceFailed { invoice, .. } => {
                sets.push("subscription.overdue = :overdue".into());
                values.push((":overdue", value(invoice)?));
                SubscriptionStatus::PastDue
            }
        };
        sets.push("subscription.#status = :status".into());
        values.push((":status", value(&status)?));
        if status == SubscriptionStatus::PastDue {
            // Overdue since the provider said so (the event's time, not its delivery's).
            sets.push("subscription.past_due_since = if_not_exists(subscription.past_due_since, :said)".into());
            values.push((":said", string(instant_from_epoch(created).unwrap_or_else(|| instant(now)))));
            sets.push("gsi2pk = :past_due, gsi2sk = :tenant".into());
            values.push((":past_due", string(keys::PAST_DUE)));
            values.push((":tenant", string(tenant_id)));
        } else {
            removes
                .extend(["subscription.past_due_since", "subscription.overdue", "gsi2pk", "gsi2sk"].map(String::from));
        }
        let mut condition = "subscription.provider_subscription_id = :id AND subscription.#status <> :cancelled \
             AND (attribute_not_exists(subscription.provider_updated_at) OR subscription.provider_updated_at <= :created)"
            .to_owned();
        let mut reactivated = None;
        if reactivating {
            // `#status` names the tenant's status here, as it names the subscription's above.
            sets.push("#status = :active, updated_at = :now".into());
            removes.push("suspended_for".into());
            condition += " AND suspended_for = :payment";
            values.push((":active", value(&TenantStatus::Active)?));
            values.push((":payment", value(&SuspendedFor::Payment)?));
            let actor = Actor::rota(tenant_id, event_id);
            let (before, after) =
                (json!({ "status": "suspended", "suspended_for": "payment" }), json!({ "status": "active" }));
            let at = instant(now);
            reactivated = Some(AuditEntry::new(
                &actor,
                "tenant.activated",
                ("tenant", tenant_id),
                Some(&before),
                Some(&after),
                &at,
            ));
        }
        let mut expression = format!("SET {}", sets.join(", "));
        if !removes.is_empty() {
            expression += &format!(" REMOVE {}", removes.join(", "));
        }
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::tenant(tenant_id), keys::TENANT_SK)))
            .update_expression(expression)
            .condition_expression(condition)
            .expression_attribute_names("#status", "status");
        for (name, attribute) in values {
            update = update.expression_attribute_values(name, attribute);
        }
        let event = Put::builder()
            .table_name(&self.table)
            .set_item(Some(
                [
                    ("pk".to_owned(), string(keys::payment_event(event_id))),
                    ("sk".to_owned(), string(keys::PAYMENT_EVENT_SK)),
                    ("tenant_id".to_owned(), string(tenant_id)),
                    ("expires_at".to_owned(), n((now + Duration::days(EVENT_KEPT_DAYS)).timestamp())),
                ]
                .into(),
            ))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(Error::internal)?;
        // The customer's standing as the figures count it moves from what was read, once.
        let counted = Standing::after(customer.counted.as_ref(), change);
        let mut marked = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::payment_customer(&customer.id), keys::PAYMENT_CUSTOMER_SK)))
            .expression_attribute_values(":counted", value(&counted)?);
        // A payment that settles the debt clears the dunning mark, whatever the organisation is.
        let clears =
            if customer.suspended_for_payment && change.settles() { " REMOVE suspended_for_payment" } else { "" };
        marked = marked.update_expression(format!("SET counted = :counted{clears}"));
        marked = match &customer.counted {
            Some(read) => marked
                .condition_expression(
                    "counted.#status = :read_status AND counted.mrr_minor = :read_mrr AND counted.currency = :read_currency",
                )
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":read_status", value(&read.status)?)
                .expression_attribute_values(":read_mrr", n(read.mrr_minor))
                .expression_attribute_values(":read_currency", string(&read.currency)),
            None => marked.condition_expression("attribute_exists(pk) AND attribute_not_exists(counted)"),
        };
        let mut items = vec![
            TransactWriteItem::builder().update(update.build().map_err(Error::internal)?).build(),
            TransactWriteItem::builder().put(event).build(),
            TransactWriteItem::builder().update(marked.build().map_err(Error::internal)?).build(),
        ];
        let (totals, mut monthly) = revenue_changes(customer.counted.as_ref(), Some(&counted));
        if matches!(change, ProviderChange::InvoiceFailed { .. }) {
            monthly.insert("failed_payments".to_owned(), 1);
        }
        items.extend(self.revenue_items(&totals, &instant(now)[..7], &monthly)?);
        if let Some(audit) = &reactivated {
            items.push(self.audit_put(audit)?);
        }
        Ok(items)
    }

    /// Marks a provider's customer as suspended for payment, so its webhooks know without reading
    /// the organisation (a payment that settles the debt clears the mark).
    fn customer_suspended(&self, customer_id: &str) -> Result<TransactWriteItem, Error> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::payment_customer(customer_id), keys::PAYMENT_CUSTOMER_SK)))
            .condition_expression("attribute_exists(pk)")
            .update_expression("SET suspended_for_payment = :yes")
            .expression_attribute_values(":yes", AttributeValue::Bool(true))
            .build()
            .map_err(Error::internal)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// Suspends the organisation for the payment overdue since `since`, if that is still so and
    /// it is active, and marks its customer (so the payment's webhook reactivates it), audited.
    pub async fn suspend_for_payment(
        &self,
        tenant_id: &str,
        customer_id: &str,
        since: &str,
        audit: &AuditEntry,
    ) -> Result<bool, Error> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::tenant(tenant_id), keys::TENANT_SK)))
            .update_expression("SET #status = :suspended, suspended_for = :payment, updated_at = :at")
            .condition_expression(
                "#status = :active AND subscription.#status = :past_due AND subscription.past_due_since = :since",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":suspended", value(&TenantStatus::Suspended)?)
            .expression_attribute_values(":active", value(&TenantStatus::Active)?)
            .expression_attribute_values(":payment", value(&SuspendedFor::Payment)?)
            .expression_attribute_values(":past_due", value(&SubscriptionStatus::PastDue)?)
            .expression_attribute_values(":since", string(since))
            .expression_attribute_values(":at", string(&audit.at))
            .build()
            .map_err(Error::internal)?;
        let items = vec![
            TransactWriteItem::builder().update(update).build(),
            self.customer_suspended(customer_id)?,
            self.audit_put(audit)?,
        ];
        Ok(self.transact(items).await?.is_ok())
    }

    /// The organisations whose subscription payment is overdue (gsi2 `PAST_DUE`).
    pub async fn past_due_tenant_ids(&self) -> Result<Vec<String>, Error> {
        #[derive(Deserialize)]
        struct Id {
            id: String,
        }
        let query = self
            .client
            .query()
            .index_name("gsi2")
            .key_condition_expression("gsi2pk = :past_due")
            .projection_expression("id")
            .expression_attribute_values(":past_due", string(keys::PAST_DUE));
        let items = self.every(query).await?;
        items.into_iter().map(|item| super::from_item::<Id>(item).map(|id| id.id)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn plan() -> Plan {
        serde_json::from_value(serde_json::json!({ "id": "P1", "name": "Team", "price_minor": 2900,
            "currency": "EUR", "interval": "month", "limits": { "max_active_people": 50 }, "trial_days": 14,
            "event_unlock": false, "default": true, "retired": false, "version": 1,
            "created_at": "2027-01-01T00:00:00Z", "updated_at": "2027-01-01T00:00:00Z" }))
        .unwrap()
    }

    fn provider(id: &str, status: &str) -> payments::Subscription {
        serde_json::from_value(serde_json::json!({ "id": id, "customer": "cus_1", "status": status,
            "current_period_start": 1_800_000_000, "current_period_end": 1_802_592_000, "trial_end": 1_801_000_000,
            "items": { "data": [{ "id": "si_1", "price": { "id": "price_1" } }] } }))
        .unwrap()
    }

    #[test]
    fn the_providers_statuses_are_what_the_organisation_is_to_do() {
        use payments::SubscriptionStatus as Provider;
        let cases = [
            (Provider::Trialing, Some(SubscriptionStatus::Trialing)),
            (Provider::Active, Some(SubscriptionStatus::Active)),
            (Provider::PastDue, Some(SubscriptionStatus::PastDue)),
            (Provider::Unpaid, Some(SubscriptionStatus::PastDue)),
            (Provider::Incomplete, Some(SubscriptionStatus::PastDue)),
            (Provider::Paused, Some(SubscriptionStatus::PastDue)),
            (Provider::Canceled, Some(SubscriptionStatus::Cancelled)),
            (Provider::IncompleteExpired, Some(SubscriptionStatus::Cancelled)),
            (Provider::Unknown, None),
        ];
        for (provider, ours) in cases {
            assert_eq!(status_of(provider), ours, "{provider:?}");
        }
    }

    #[test]
    fn a_trial_that_becomes_paid_goes_on_and_a_cancelled_one_starts_anew() {
        let now = at("2027-01-10T00:00:00Z");
        let trial = Subscription::start(&plan(), at("2027-01-01T00:00:00Z"));
        let paid = Subscription::from_provider(&provider("sub_1", "trialing"), &plan(), Some(&trial), now);
        assert_eq!((paid.started_at.as_str(), paid.status), ("2027-01-01T00:00:00Z", SubscriptionStatus::Trialing));
        assert_eq!(paid.trial_end.as_deref(), Some("2027-01-26T21:46:40Z"));
        assert_eq!(paid.provider_subscription_id.as_deref(), Some("sub_1"));
        assert_eq!((paid.provider_updated_at, paid.limits.max_active_people), (Some(now.timestamp()), Some(50)));

        // Overdue: since the first failure, kept while it stays overdue.
        let overdue = Subscription::from_provider(&provider("sub_1", "past_due"), &plan(), Some(&paid), now);
        assert_eq!(
            (overdue.past_due_since.as_deref(), overdue.trial_end.as_deref()),
            (Some("2027-01-10T00:00:00Z"), None)
        );
        let later = at("2027-01-12T00:00:00Z");
        let still = Subscription::from_provider(&provider("sub_1", "past_due"), &plan(), Some(&overdue), later);
        assert_eq!(still.past_due_since, overdue.past_due_since);

        let cancelled = Subscription { status: SubscriptionStatus::Cancelled, ..overdue };
        let again = Subscription::from_provider(&provider("sub_2", "active"), &plan(), Some(&cancelled), later);
        assert_eq!((again.started_at.as_str(), again.past_due_since), ("2027-01-12T00:00:00Z", None));
    }

    #[test]
    fn a_period_ends_on_the_same_day_of_the_next_month_or_its_last_day() {
        assert_eq!(period_end(at("2027-01-15T10:00:00Z"), BillingInterval::Month), at("2027-02-15T10:00:00Z"));
        assert_eq!(period_end(at("2027-01-31T10:00:00Z"), BillingInterval::Month), at("2027-02-28T10:00:00Z"));
        assert_eq!(period_end(at("2028-02-29T00:00:00Z"), BillingInterval::Year), at("2029-02-28T00:00:00Z"));
    }
}
