//! `GET /billing`: the owner's billing page in one answer.

use axum::Json;
use axum::extract::State;
use rota::auth::{Caller, Permission};
use rota::notify::MessagePrices;
use rota::store::billing::{Plan, Subscription};
use rota::store::credits::CreditPack;
use rota::store::invoices::Party;
use rota::store::tenants::Tenant;
use rota::{AppState, Error};
use serde::Serialize;
use utoipa::ToSchema;

/// An organisation's billing: its plan, subscription, usage against the limits, and credits.
#[derive(Debug, Serialize, ToSchema)]
pub struct Billing {
    /// The plan subscribed to, as the platform offers it now (price, interval); none without a
    /// subscription.
    pub plan: Option<Plan>,
    /// Status, current period, trial end, and the limits that apply (the plan's when the
    /// subscription started or last changed plan).
    pub subscription: Option<Subscription>,
    pub usage: Usage,
    /// Credits for messages beyond the plan's monthly messages.
    pub message_credits: i64,
    /// What a message costs in credits (and in the plan's monthly messages) on each channel.
    pub message_prices: MessagePrices,
    /// Who its invoices are made out to (`PUT /billing/details`); none until an owner sets them.
    pub details: Option<Party>,
    /// The credit packs on sale (`POST /billing/credits` buys one).
    pub credit_packs: Vec<CreditPack>,
}

/// What counts against the limits, beside each limit (none: unlimited).
#[derive(Debug, Serialize, ToSchema)]
pub struct Usage {
    /// People who are not deactivated (invited or active).
    pub active_people: i64,
    pub max_active_people: Option<u32>,
    /// The plan's monthly messages used this month (UTC), in credits (`message_prices`), against
    /// `messages_per_month`.
    pub messages_this_month: i64,
    pub messages_per_month: Option<u32>,
}

/// The organisation's plan, subscription, usage and credits (owners).
#[utoipa::path(get, path = "/billing", tag = "billing", security(("bearer" = ["billing.manage"])),
    responses((status = 200, description = "The organisation's billing", body = Billing)))]
pub async fn get_billing(State(state): State<AppState>, caller: Caller) -> Result<Json<Billing>, Error> {
    caller.require(Permission::BillingManage)?;
    // One round trip: the organisation, the plans and the packs (a handful each), in parallel.
    let (tenant, plans, packs) =
        tokio::try_join!(state.store.tenant(&caller.tenant_id), state.store.plans(), state.store.credit_packs())?;
    Ok(Json(billing_of(tenant.ok_or(Error::NotFound)?, plans, packs, state.config.message_prices)))
}

/// The billing page of `tenant`, given every plan and credit pack.
pub fn billing_of(tenant: Tenant, plans: Vec<Plan>, packs: Vec<CreditPack>, message_prices: MessagePrices) -> Billing {
    let subscription = tenant.subscription;
    let plan =
        subscription.as_ref().and_then(|subscription| plans.into_iter().find(|plan| plan.id == subscription.plan_id));
    let limits = subscription.as_ref().map(|subscription| subscription.limits.clone()).unwrap_or_default();
    Billing {
        plan,
        subscription,
        usage: Usage {
            active_people: tenant.people_count,
            max_active_people: limits.max_active_people,
            messages_this_month: if tenant.messages_month.as_deref() == Some(&rota::clock::Now::get().iso[..7]) {
                tenant.messages_used
            } else {
                0
            },
            messages_per_month: limits.messages_per_month,
        },
        message_credits: tenant.message_credits,
        message_prices,
        details: tenant.billing_details,
        credit_packs: packs.into_iter().filter(|pack| !pack.retired).collect(),
    }
}
