//! The platform's plans (platform admins): what organisations subscribe to, their prices and
//! limits. A plan is never deleted: one in use is retired, keeping its subscribers. Exactly one
//! plan at most is the default, which each new organisation starts a trial of; making another
//! the default takes it off the old one in the same transaction.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use garde::Validate;
use rota::auth::{Caller, Permission};
use rota::clock::Now;
use rota::domain::settings;
use rota::error::Problem;
use rota::http::ValidJson;
use rota::records::committed;
use rota::store::audit::AuditEntry;
use rota::store::billing::{BillingInterval, Plan, PlanLimits};
use rota::store::entities::{Entity, Refused};
use rota::{AppState, Error};
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "name": "Team", "price_minor": 4900, "currency": "EUR", "interval": "month",
    "limits": { "max_active_people": 50, "messages_per_month": 2000 }, "trial_days": 14 }))]
pub struct NewPlan {
    #[garde(length(chars, min = 1, max = 100), custom(rota::validate::not_blank))]
    #[schema(min_length = 1, max_length = 100, pattern = r"[^\s\x00-\x1f\x7f-\x9f]")]
    pub name: String,
    /// The price per interval in minor units (cents); 0 for a free plan.
    #[garde(range(min = 0, max = 100_000_000))]
    #[schema(minimum = 0, maximum = 100000000)]
    pub price_minor: i64,
    /// ISO 4217, e.g. `EUR`.
    #[garde(custom(settings::currency))]
    #[schema(pattern = "^[A-Z]{3}$")]
    pub currency: String,
    #[garde(skip)]
    pub interval: BillingInterval,
    #[garde(dive)]
    #[serde(default, deserialize_with = "object")]
    pub limits: PlanLimits,
    #[garde(range(max = 365))]
    #[schema(maximum = 365)]
    #[serde(default)]
    pub trial_days: u32,
    /// Events of organisations on this plan are paid for one by one.
    #[garde(skip)]
    #[serde(default)]
    pub event_unlock: bool,
    /// With `event_unlock`: what one place for one day of an event costs to unlock, in minor
    /// units (a quote is staff × days × this, at least 50: the provider's smallest charge).
    #[garde(range(min = 0, max = 10_000_000))]
    #[schema(minimum = 0, maximum = 10000000)]
    #[serde(default)]
    pub staff_day_minor: i64,
    /// New organisations start a trial of this plan (the default so far stops being it).
    #[garde(skip)]
    #[serde(default)]
    pub default: bool,
}

/// A change of a plan: only the fields given change. Its currency and interval are fixed (a
/// plan of another currency or interval is another plan). A new price or new limits apply to
/// subscriptions that start or change plan from now on.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "trial_days": 30 }))]
pub struct PlanChange {
    #[garde(inner(length(chars, min = 1, max = 100), custom(rota::validate::not_blank)))]
    #[schema(min_length = 1, max_length = 100, pattern = r"[^\s\x00-\x1f\x7f-\x9f]")]
    pub name: Option<String>,
    #[garde(inner(range(min = 0, max = 100_000_000)))]
    #[schema(minimum = 0, maximum = 100000000)]
    pub price_minor: Option<i64>,
    #[garde(dive)]
    #[serde(default, deserialize_with = "object")]
    pub limits: Option<PlanLimits>,
    #[garde(inner(range(max = 365)))]
    #[schema(maximum = 365)]
    pub trial_days: Option<u32>,
    #[garde(skip)]
    pub event_unlock: Option<bool>,
    #[garde(inner(range(min = 0, max = 10_000_000)))]
    #[schema(minimum = 0, maximum = 10000000)]
    pub staff_day_minor: Option<i64>,
    /// `true` makes it the default (the old default stops being it); a default plan stops being
    /// one only by another becoming it.
    #[garde(skip)]
    pub default: Option<bool>,
    /// `true` retires it (its subscribers keep it; no one new can choose it); `false` brings it
    /// back. The default plan cannot be retired.
    #[garde(skip)]
    pub retired: Option<bool>,
    /// The `version` last read; when given, a stale write answers 409.
    #[garde(range(max = rota::validate::MAX_VERSION))]
    pub version: Option<u64>,
}

/// A nested value only from a JSON object: serde would also read a struct from an array
/// (`[50, 2000]`), which the document does not allow.
fn object<'de, D: serde::Deserializer<'de>, T: serde::de::DeserializeOwned>(deserializer: D) -> Result<T, D::Error> {
    let value = serde_json::Value::deserialize(deserializer)?;
    if value.is_array() {
        return Err(serde::de::Error::custom("expected an object"));
    }
    serde_json::from_value(value).map_err(serde::de::Error::custom)
}

/// Every plan, retired ones included, oldest first.
#[utoipa::path(get, path = "/admin/plans", tag = "platform", security(("bearer" = ["platform.manage"])),
    responses((status = 200, description = "The plans", body = Vec<Plan>)))]
pub async fn list_plans(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<Plan>>, Error> {
    caller.require(Permission::PlatformManage)?;
    Ok(Json(state.store.plans().await?))
}

/// Adds a plan.
#[utoipa::path(post, path = "/admin/plans", tag = "platform", security(("bearer" = ["platform.manage"])), request_body = NewPlan,
    responses(
        (status = 201, description = "The new plan", body = Plan),
        (status = 409, description = "The default plan changed at the same time; retry", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The payment provider is unavailable: nothing is stored; retry", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_plan(
    State(state): State<AppState>,
    caller: Caller,
    ValidJson(request): ValidJson<NewPlan>,
) -> Result<(StatusCode, Json<Plan>), Error> {
    caller.require(Permission::PlatformManage)?;
    let now = Now::get();
    let mut plan = Plan {
        id: ulid::Ulid::new().to_string(),
        tenant_id: Plan::OWNER.to_owned(),
        name: request.name.trim().to_owned(),
        price_minor: request.price_minor,
        currency: request.currency,
        interval: request.interval,
        limits: request.limits,
        trial_days: request.trial_days,
        event_unlock: request.event_unlock,
        staff_day_minor: request.staff_day_minor,
        default: request.default,
        retired: false,
        price_id: None,
        version: 1,
        created_at: now.iso.clone(),
        updated_at: now.iso.clone(),
    };
    // Its price at the provider first: a plan no one could pay for is never stored.
    plan.price_id = Some(priced(&state, &plan).await?);
    // Round trip 1 (only for a new default): the plan that is the default now.
    let old = if plan.default { state.store.plans().await?.into_iter().find(|plan| plan.default) } else { None };
    let more = match &old {
        Some(old) => undefaulted(&state, &caller, old, &now.iso)?,
        None => Vec::new(),
    };
    let audit =
        AuditEntry::new(&caller.actor(), "plan.created", ("plan", &plan.id), None::<&Plan>, Some(&plan), &now.iso);
    // Round trip 2: the plan, its audit entry and the old default's change.
    committed(state.store.create(&plan, &audit, more).await?)?;
    Ok((StatusCode::CREATED, Json(plan)))
}

/// Changes a plan: its name, price, limits, trial, per-event payment, whether it is the default
/// or retired.
#[utoipa::path(patch, path = "/admin/plans/{plan_id}", tag = "platform", security(("bearer" = ["platform.manage"])),
    params(("plan_id" = String, Path)), request_body = PlanChange,
    responses(
        (status = 200, description = "The plan as changed", body = Plan),
        (status = 404, description = "No such plan", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Changed meanwhile (`version`), or a default plan retired or a retired one made the default", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The payment provider is unavailable (a new price): nothing is changed; retry", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_plan(
    State(state): State<AppState>,
    caller: Caller,
    Path(plan_id): Path<String>,
    ValidJson(change): ValidJson<PlanChange>,
) -> Result<Json<Plan>, Error> {
    caller.require(Permission::PlatformManage)?;
    // Round trip 1: every plan (a handful): this one, and the default it may replace.
    let plans = state.store.plans().await?;
    let before = plans.iter().find(|plan| plan.id == plan_id).cloned().ok_or(Error::NotFound)?;
    if change.version.is_some_and(|version| version != before.version) {
        return Err(Error::Conflict(Plan::STALE));
    }
    let mut after = before.clone();
    if let Some(name) = change.name {
        after.name = name.trim().to_owned();
    }
    after.price_minor = change.price_minor.unwrap_or(after.price_minor);
    after.limits = change.limits.unwrap_or(after.limits);
    after.trial_days = change.trial_days.unwrap_or(after.trial_days);
    after.event_unlock = change.event_unlock.unwrap_or(after.event_unlock);
    after.staff_day_minor = change.staff_day_minor.unwrap_or(after.staff_day_minor);
    after.retired = change.retired.unwrap_or(after.retired);
    match change.default {
        Some(true) => after.default = true,
        Some(false) if before.default => {
            return Err(Error::Conflict("a plan stops being the default when another becomes it"));
        }
        _ => {}
    }
    if after.default && after.retired {
        return Err(Error::Conflict("the default plan cannot be retired: make another the default first"));
    }
    if after.price_minor != before.price_minor || after.price_id.is_none() {
        after.price_id = Some(priced(&state, &after).await?);
    }
    let now = Now::get();
    after.touch(&now.iso);
    let more = match plans.iter().find(|plan| plan.default && plan.id != after.id) {
        Some(old) if after.default => undefaulted(&state, &caller, old, &now.iso)?,
        _ => Vec::new(),
    };
    let audit =
        AuditEntry::new(&caller.actor(), "plan.updated", ("plan", &after.id), Some(&before), Some(&after), &now.iso);
    // Round trip 2: the plan, its audit entry, the old default's change.
    match state.store.update(&after, before.version, &audit, more).await? {
        Ok(()) => Ok(Json(after)),
        Err(Refused(_)) => Err(Error::Conflict("the default plan changed at the same time; retry")),
    }
}

/// The provider's price for `plan` as it now is (a new price per amount: a price never changes).
async fn priced(state: &AppState, plan: &Plan) -> Result<String, Error> {
    let (price, idempotency_key) = plan.new_price();
    Ok(state.payments()?.create_price(&price, &idempotency_key).await?.id)
}

/// The writes that take `old` off being the default (conditioned on its version), with its audit
/// entry.
fn undefaulted(
    state: &AppState,
    caller: &Caller,
    old: &Plan,
    now: &str,
) -> Result<Vec<rota::store::TransactWriteItem>, Error> {
    let mut after = old.clone();
    after.default = false;
    after.touch(now);
    let audit = AuditEntry::new(&caller.actor(), "plan.updated", ("plan", &after.id), Some(old), Some(&after), now);
    Ok(vec![state.store.entity_put(&after, Some(old.version))?, state.store.audit_put(&audit)?])
}
