//! `GET /admin/revenue`: the platform's revenue figures (platform admins), from the counters billing
//! keeps as it changes (see [`rota::store::revenue`]), never from reading organisations.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use garde::Validate;
use rota::auth::{Caller, Permission};
use rota::clock::Now;
use rota::http::ValidQuery;
use rota::{AppState, Error};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RevenueQuery {
    /// The month whose churn and sales to show (`YYYY-MM`, UTC); this month when absent.
    #[garde(inner(pattern(r"^[0-9]{4}-(0[1-9]|1[0-2])$")))]
    #[param(pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
    pub month: Option<String>,
}

/// An amount in one currency.
#[derive(Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct Amount {
    /// ISO 4217, upper case.
    pub currency: String,
    pub amount_minor: i64,
}

/// Organisations by the status of their subscription, now.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct ByStatus {
    pub trialing: i64,
    pub active: i64,
    pub past_due: i64,
    pub cancelled: i64,
}

/// The platform's revenue figures.
#[derive(Debug, Serialize, ToSchema)]
pub struct Revenue {
    /// Monthly recurring revenue now, per currency: what `active` and `past_due` subscriptions
    /// bring a month (a yearly price ÷ 12).
    pub mrr: Vec<Amount>,
    pub organisations: ByStatus,
    /// The month the figures below are of (`YYYY-MM`, UTC).
    pub month: String,
    /// Subscriptions cancelled in the month.
    pub churned: i64,
    /// Subscription payments the provider reported failed in the month (each attempt).
    pub failed_payments: i64,
    /// Message credits sold in credit packs, and what they brought per currency.
    pub credits_sold: i64,
    pub credit_sales: Vec<Amount>,
    /// Events unlocked (pay-per-event plans), and what they brought per currency.
    pub events_unlocked: i64,
    pub unlock_sales: Vec<Amount>,
}

/// The platform's revenue: MRR and organisations by subscription status now, and a month's churn,
/// failed payments and one-off sales (platform admins). One read of the counters' shards.
#[utoipa::path(get, path = "/admin/revenue", tag = "platform", security(("bearer" = ["platform.manage"])), params(RevenueQuery),
    responses((status = 200, description = "The figures", body = Revenue)))]
pub async fn revenue(
    State(state): State<AppState>,
    caller: Caller,
    ValidQuery(query): ValidQuery<RevenueQuery>,
) -> Result<Json<Revenue>, Error> {
    caller.require(Permission::PlatformManage)?;
    let month = query.month.unwrap_or_else(|| Now::get().iso[..7].to_owned());
    let counters = state.store.revenue_counters(&month).await?;
    let (totals, monthly) = (&counters.totals, &counters.month);
    let count = |counters: &BTreeMap<String, i64>, name: &str| counters.get(name).copied().unwrap_or_default();
    Ok(Json(Revenue {
        mrr: amounts(totals, "mrr_"),
        organisations: ByStatus {
            trialing: count(totals, "subscriptions_trialing"),
            active: count(totals, "subscriptions_active"),
            past_due: count(totals, "subscriptions_past_due"),
            cancelled: count(totals, "subscriptions_cancelled"),
        },
        churned: count(monthly, "churned"),
        failed_payments: count(monthly, "failed_payments"),
        credits_sold: count(monthly, "credits_sold"),
        credit_sales: amounts(monthly, "credit_sales_"),
        events_unlocked: count(monthly, "events_unlocked"),
        unlock_sales: amounts(monthly, "unlock_sales_"),
        month,
    }))
}

/// The counters named `{prefix}{currency}`, as amounts (none of nothing).
fn amounts(counters: &BTreeMap<String, i64>, prefix: &str) -> Vec<Amount> {
    counters
        .iter()
        .filter_map(|(name, amount)| Some((name.strip_prefix(prefix)?, *amount)))
        .filter(|(_, amount)| *amount != 0)
        .map(|(currency, amount_minor)| Amount { currency: currency.to_owned(), amount_minor })
        .collect()
}
