//! Billing records: the platform's plans, and each organisation's subscription to one.
//!
//! - A plan is a record of the platform's own organisation (`T#{platform}` / `PLAN#{id}`), so it
//!   has a version and every change is audited there, like any record. A plan is never deleted:
//!   one that is `retired` keeps its subscribers and takes no new ones. At most one plan is the
//!   `default`, which every new organisation starts a trial of.
//! - An organisation's subscription lives on its tenant item, with a copy of its plan's limits
//!   taken when it started: the head count moves on that item too, so "no more people than the
//!   plan allows" is one condition on one item, exact under any burst.

use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::platform::PLATFORM_TENANT;
use super::{Store, key, keys, n};
use crate::Error;
use crate::clock::instant;

/// What a plan allows; an absent limit is no limit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, garde::Validate)]
#[serde(deny_unknown_fields)]
pub struct PlanLimits {
    /// People who are not deactivated (invited or active).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[garde(inner(range(min = 1, max = 1_000_000)))]
    #[schema(minimum = 1, maximum = 1000000)]
    pub max_active_people: Option<u32>,
    /// Messages a month before credits are spent.
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
    /// New organisations start a trial of this plan.
    pub default: bool,
    /// Kept for its subscribers; no new subscription can choose it.
    pub retired: bool,
    pub version: u64,
    pub created_at: String,
    pub updated_at: String,
}

crate::entity!(Plan, "PLAN#", "plan");

impl Plan {
    /// The organisation whose records the plans are.
    pub const OWNER: &'static str = PLATFORM_TENANT;
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
    pub started_at: String,
}

impl Subscription {
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
            started_at: instant(now),
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn a_period_ends_on_the_same_day_of_the_next_month_or_its_last_day() {
        assert_eq!(period_end(at("2027-01-15T10:00:00Z"), BillingInterval::Month), at("2027-02-15T10:00:00Z"));
        assert_eq!(period_end(at("2027-01-31T10:00:00Z"), BillingInterval::Month), at("2027-02-28T10:00:00Z"));
        assert_eq!(period_end(at("2028-02-29T00:00:00Z"), BillingInterval::Year), at("2029-02-28T00:00:00Z"));
    }
}
