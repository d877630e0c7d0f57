//! The owner's subscription at the payment provider: `POST /billing/subscription` starts one or
//! changes its plan (prorated, as Stripe does), `DELETE /billing/subscription` cancels it at the
//! end of the period. The provider is called between the read and the write; the write is
//! conditioned on the subscription read, so two owners acting at once do not both win.

use axum::Json;
use axum::extract::State;
use garde::Validate;
use rota::auth::{Caller, Permission};
use rota::clock::Now;
use rota::error::Problem;
use rota::http::ValidJson;
use rota::payments::{self, NewSubscription, PaymentError};
use rota::sales::{customer_of, keep_card};
use rota::store::audit::AuditEntry;
use rota::store::billing::{Subscription, SubscriptionStatus};
use rota::store::people::Person;
use rota::{AppState, Error};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::overview::{Billing, billing_of};

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "plan_id": "01JD3Z5Y8K2M4N6P8Q0R2S4T6V", "payment_method_id": "pm_1QbC2dEf3GhI4jKl" }))]
pub struct SubscriptionRequest {
    /// The plan to be on (one that is not retired).
    #[garde(length(min = 1, max = 64))]
    #[schema(min_length = 1, max_length = 64)]
    pub plan_id: String,
    /// A card the frontend collected with Stripe.js (`pm_…`): it becomes the organisation's card
    /// for this and every later invoice. Needed when nothing is on file and the plan is charged
    /// today (no trial left).
    #[garde(inner(length(min = 1, max = 255), custom(rota::sales::provider_id)))]
    #[schema(min_length = 1, max_length = 255, pattern = "^[A-Za-z0-9_]+$")]
    pub payment_method_id: Option<String>,
}

/// Subscribes the organisation to a plan, or moves its subscription to another (prorated: the
/// unused time of the old price is credited on the next invoice). What is left of a trial is
/// kept. Subscribing again to the plan it is on takes back a cancellation.
#[utoipa::path(post, path = "/billing/subscription", tag = "billing", security(("bearer" = ["billing.manage"])),
    request_body = SubscriptionRequest,
    responses(
        (status = 200, description = "The organisation's billing with its subscription", body = Billing),
        (status = 402, description = "The card was declined (`payment_declined`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The subscription changed meanwhile; reload and retry", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No such plan, a retired one, or no card for a plan charged today", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The payment provider is unavailable (`payment_provider_unavailable`); retry", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn subscribe(
    State(state): State<AppState>,
    caller: Caller,
    ValidJson(request): ValidJson<SubscriptionRequest>,
) -> Result<Json<Billing>, Error> {
    caller.require(Permission::BillingManage)?;
    // Round trip 1: the organisation, the plans, the packs (for the answer) and the owner (their
    // email for the provider).
    let (tenant, plans, packs, owner) = tokio::try_join!(
        state.store.tenant(&caller.tenant_id),
        state.store.plans(),
        state.store.credit_packs(),
        state.store.entity::<Person>(&caller.tenant_id, &caller.person_id),
    )?;
    let (mut tenant, owner) = (tenant.ok_or(Error::NotFound)?, owner.ok_or(Error::NotFound)?);
    let plan = plans
        .iter()
        .find(|plan| plan.id == request.plan_id)
        .ok_or_else(|| Error::field("plan_id", "no such plan: GET /billing shows the plan the organisation is on"))?;
    let before = tenant.subscription.clone();
    let current = before.as_ref().filter(|before| before.status != SubscriptionStatus::Cancelled);
    let provider_id = current.and_then(|current| current.provider_subscription_id.clone());
    if plan.retired && current.is_none_or(|current| current.plan_id != plan.id) {
        return Err(Error::field("plan_id", "this plan is retired: choose another"));
    }
    let price_id = plan.price_id.as_deref().ok_or_else(|| Error::internal(format!("plan {} has no price", plan.id)))?;
    let now = chrono::Utc::now();
    // What is left of a trial carries over; a trial that is over, or none, is charged today.
    let trial_end = current
        .filter(|current| current.status == SubscriptionStatus::Trialing)
        .and_then(|current| current.trial_end.as_deref()?.parse::<chrono::DateTime<chrono::Utc>>().ok())
        .filter(|end| *end > now + chrono::Duration::minutes(1));
    let charged_today = provider_id.is_none() && trial_end.is_none() && plan.price_minor > 0;
    if charged_today && request.payment_method_id.is_none() && tenant.billing_customer_id.is_none() {
        return Err(Error::field("payment_method_id", "a card is needed: this plan is charged from today"));
    }

    let payments = state.payments()?;
    let customer_id = customer_of(payments, &tenant, &owner).await?;
    // Each call is keyed by this request's id, so the provider applies a call resent after a lost
    // answer once.
    let key = |what: &str| format!("rota-{what}-{}", caller.request_id);
    if let Some(card) = &request.payment_method_id {
        keep_card(payments, &customer_id, card, &key("card")).await?;
    }
    let provider = match &provider_id {
        Some(id) => payments.change_price(id, price_id, &key("plan")).await?,
        None => {
            let subscription = NewSubscription {
                customer_id: customer_id.clone(),
                price_id: price_id.to_owned(),
                trial_end: trial_end.map(|end| end.timestamp()),
                tenant_id: tenant.id.clone(),
            };
            let created =
                payments.create_subscription(&subscription, &key("subscription")).await.map_err(
                    |error| match error {
                        // The customer is known from before, but has no card to charge today.
                        PaymentError::BadRequest { status: 400 | 404, .. }
                            if charged_today && request.payment_method_id.is_none() =>
                        {
                            Error::field("payment_method_id", "a card is needed: this plan is charged from today")
                        }
                        other => other.into(),
                    },
                )?;
            // A first payment that failed without an error (Stripe answers 402 to
            // `error_if_incomplete`; localstripe leaves it `incomplete`): nothing is kept.
            if created.status == payments::SubscriptionStatus::Incomplete {
                payments.cancel_now(&created.id).await?;
                return Err(Error::PaymentDeclined {
                    code: "card_declined".into(),
                    message: "the first payment of the subscription was declined".into(),
                });
            }
            created
        }
    };
    let after = Subscription::from_provider(&provider, plan, before.as_ref(), now);
    let audit = AuditEntry::new(
        &caller.actor(),
        "subscription.changed",
        ("tenant", &tenant.id),
        before.as_ref(),
        Some(&after),
        &Now::get().iso,
    );
    // Round trip 2: the subscription, the customer's way back to the organisation, the audit.
    if !state.store.subscribed(&tenant.id, &customer_id, &after, before.as_ref(), &audit).await? {
        return Err(Error::Conflict("the subscription was changed meanwhile; reload and retry"));
    }
    tenant.subscription = Some(after);
    tenant.billing_customer_id = Some(customer_id);
    Ok(Json(billing_of(tenant, plans, packs, state.config.message_prices)))
}

/// Cancels the subscription at the end of its current period (a trial: at its end): it stays
/// as it is until then. Subscribing again to its plan before then takes the cancellation back.
#[utoipa::path(delete, path = "/billing/subscription", tag = "billing", security(("bearer" = ["billing.manage"])),
    responses(
        (status = 200, description = "The organisation's billing, its subscription ending with the period", body = Billing),
        (status = 404, description = "No subscription to cancel", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Cancelled already, or changed meanwhile", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The payment provider is unavailable; retry", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn cancel(State(state): State<AppState>, caller: Caller) -> Result<Json<Billing>, Error> {
    caller.require(Permission::BillingManage)?;
    // Round trip 1: the organisation, the plans and the packs.
    let (tenant, plans, packs) =
        tokio::try_join!(state.store.tenant(&caller.tenant_id), state.store.plans(), state.store.credit_packs())?;
    let mut tenant = tenant.ok_or(Error::NotFound)?;
    let before = tenant.subscription.clone().ok_or(Error::NotFound)?;
    if before.status == SubscriptionStatus::Cancelled || before.cancel_at_period_end {
        return Err(Error::Conflict("the subscription is cancelled already"));
    }
    let provider_id = before.provider_subscription_id.as_deref();
    if let Some(id) = provider_id {
        state.payments()?.cancel_at_period_end(id, &format!("rota-cancel-{}", caller.request_id)).await?;
    }
    let mut after = before.clone();
    after.cancel_at_period_end = true;
    after.provider_updated_at = Some(chrono::Utc::now().timestamp());
    let audit = AuditEntry::new(
        &caller.actor(),
        "subscription.cancelled",
        ("tenant", &tenant.id),
        Some(&before),
        Some(&after),
        &Now::get().iso,
    );
    // Round trip 2: the cancellation and its audit entry.
    let at = after.provider_updated_at.unwrap_or_default();
    if !state.store.cancelling(&tenant.id, provider_id, at, &audit).await? {
        return Err(Error::Conflict("the subscription was changed meanwhile; reload and retry"));
    }
    tenant.subscription = Some(after);
    Ok(Json(billing_of(tenant, plans, packs, state.config.message_prices)))
}
