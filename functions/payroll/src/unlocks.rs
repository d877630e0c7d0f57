//! Pay-per-event unlock (the event-staffing organiser's flow), on a plan whose events are paid for
//! one by one: an admin asks for a quote (`POST /events/{event_id}/quote`: staff × days × the
//! plan's rate, frozen for a week), the owner pays it (`POST /events/{event_id}/unlock`), and
//! once paid the event's dashboard data opens — its cost estimate, attendance list and exports
//! answer `402 payment_required` with the quote until then. Scheduling it stays free. See
//! [`rota::store::unlocks`] and [`rota::sales`].

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::Duration;
use garde::Validate;
use rota::auth::{Caller, Permission};
use rota::clock::{Now, instant};
use rota::error::Problem;
use rota::http::ValidJson;
use rota::sales::{self, Sale};
use rota::store::billing::EventPrice;
use rota::store::people::Person;
use rota::store::schedule::{Event, ShiftStatus};
use rota::store::tenants::Tenant;
use rota::store::unlocks::Quote;
use rota::{AppState, Error};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// How long a quote can be paid.
const QUOTE_VALID_DAYS: i64 = 7;

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "quote_id": "01JD3Z5Y8K2M4N6P8Q0R2S4T6V", "payment_method_id": "pm_1QbC2dEf3GhI4jKl" }))]
pub struct UnlockRequest {
    /// The event's latest quote, not expired.
    #[garde(length(min = 1, max = 64))]
    #[schema(min_length = 1, max_length = 64)]
    pub quote_id: String,
    /// A card the frontend collected with Stripe.js (`pm_…`): it becomes the organisation's card
    /// on file. Without it, the card on file pays.
    #[garde(inner(length(min = 1, max = 255), custom(sales::provider_id)))]
    #[schema(min_length = 1, max_length = 255, pattern = "^[A-Za-z0-9_]+$")]
    pub payment_method_id: Option<String>,
}

/// Where an unlock stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UnlockStatus {
    /// Paid (or free), and the event's dashboard data is open.
    Unlocked,
    /// The card's bank asks the customer to confirm (3-D Secure): hand `client_secret` to
    /// Stripe.js (`handleNextAction`); the event opens when it is paid.
    RequiresAction,
    /// The provider is still taking the payment; the event opens when it is paid.
    Processing,
}

/// An event's unlock, paid or on its way.
#[derive(Debug, Serialize, ToSchema)]
pub struct Unlocking {
    pub event_id: String,
    pub status: UnlockStatus,
    pub quote: Quote,
    /// The provider's payment (`pi_…`); none for a quote of nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<String>,
    /// For `requires_action` only: what Stripe.js needs to take the customer through it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

/// The provider's smallest charge (50 minor units in the currencies Rota bills in): a quote that
/// comes to less, but not nothing, is raised to it.
const LEAST_CHARGE: i64 = 50;

/// Staff × days × rate, at least the provider's smallest charge (nothing when the rate is 0).
fn quoted(staff_days: u32, staff_day_minor: i64) -> i64 {
    match i64::from(staff_days) * staff_day_minor {
        0 => 0,
        amount => amount.max(LEAST_CHARGE),
    }
}

/// What unlocking an event costs the organisation: none when its plan does not charge per event.
fn event_price(tenant: &Tenant) -> Result<EventPrice, Error> {
    tenant
        .subscription
        .as_ref()
        .and_then(|subscription| subscription.event_unlock.clone())
        .ok_or(Error::Conflict("the organisation's plan does not charge per event: its events are open"))
}

/// A quote to unlock the event (admins): staff × days × the plan's rate per place per day, over
/// the event's shifts that are not cancelled; valid for 7 days, and the one `unlock` pays.
/// Asking again replaces it (after the event's shifts change, say).
#[utoipa::path(post, path = "/events/{event_id}/quote", tag = "payroll", security(("bearer" = ["billing.quote"])),
    params(("event_id" = String, Path)),
    responses(
        (status = 201, description = "The quote", body = Quote),
        (status = 404, description = "No such event in this organisation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The plan does not charge per event, the event is unlocked already, or it has no places yet", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn quote_event(
    State(state): State<AppState>,
    caller: Caller,
    Path(event_id): Path<String>,
) -> Result<(StatusCode, Json<Quote>), Error> {
    caller.require(Permission::BillingQuote)?;
    let tenant_id = &caller.tenant_id;
    // Round trip 1, in parallel: the event, its shifts, the organisation and the event's unlock.
    let (event, shifts, tenant, unlock) = tokio::try_join!(
        state.store.entity::<Event>(tenant_id, &event_id),
        state.store.event_shifts(tenant_id, &event_id),
        state.store.tenant(tenant_id),
        state.store.event_unlock(tenant_id, &event_id),
    )?;
    event.ok_or(Error::NotFound)?;
    let price = event_price(&tenant.ok_or(Error::NotFound)?)?;
    if unlock.is_some_and(|unlock| unlock.unlocked_at.is_some()) {
        return Err(Error::Conflict("the event is unlocked already"));
    }
    let staff_days: u32 = shifts
        .iter()
        .filter(|(shift, _)| shift.status != ShiftStatus::Cancelled)
        .map(|(shift, _)| shift.headcount)
        .sum();
    if staff_days == 0 {
        return Err(Error::Conflict("the event has no places to quote for yet: plan its shifts first"));
    }
    let now = chrono::Utc::now();
    let quote = Quote {
        id: ulid::Ulid::new().to_string(),
        event_id,
        staff_days,
        staff_day_minor: price.staff_day_minor,
        amount_minor: quoted(staff_days, price.staff_day_minor),
        currency: price.currency,
        created_at: instant(now),
        expires_at: instant(now + Duration::days(QUOTE_VALID_DAYS)),
    };
    // Round trip 2: the quote, unless the event was unlocked meanwhile.
    if !state.store.quoted(tenant_id, &quote).await? {
        return Err(Error::Conflict("the event is unlocked already"));
    }
    Ok((StatusCode::CREATED, Json(quote)))
}

/// Pays the event's quote and unlocks it (owners), with the card given or the one on file.
/// Answers 200 when it is paid and open, 202 when the card's bank asks the customer to confirm
/// first (or the provider is still at it): it opens when it is paid, once, and a receipt is
/// mailed to whoever paid.
#[utoipa::path(post, path = "/events/{event_id}/unlock", tag = "payroll", security(("bearer" = ["billing.manage"])),
    params(("event_id" = String, Path)), request_body = UnlockRequest,
    responses(
        (status = 200, description = "Paid and unlocked", body = Unlocking),
        (status = 202, description = "Not paid yet (`requires_action`, `processing`); unlocked when it is", body = Unlocking),
        (status = 402, description = "The card was declined (`payment_declined`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such event in this organisation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The plan does not charge per event, or the event is unlocked already", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not the event's latest quote, an expired one, or no card given and none on file", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The payment provider is unavailable (`payment_provider_unavailable`): nothing was charged; retry", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn unlock_event(
    State(state): State<AppState>,
    caller: Caller,
    Path(event_id): Path<String>,
    ValidJson(request): ValidJson<UnlockRequest>,
) -> Result<(StatusCode, Json<Unlocking>), Error> {
    caller.require(Permission::BillingManage)?;
    let tenant_id = &caller.tenant_id;
    // Round trip 1, in parallel: the event, the organisation, the event's unlock and the owner
    // (their email for the provider).
    let (event, tenant, unlock, owner) = tokio::try_join!(
        state.store.entity::<Event>(tenant_id, &event_id),
        state.store.tenant(tenant_id),
        state.store.event_unlock(tenant_id, &event_id),
        state.store.entity::<Person>(tenant_id, &caller.person_id),
    )?;
    let (event, tenant, owner) =
        (event.ok_or(Error::NotFound)?, tenant.ok_or(Error::NotFound)?, owner.ok_or(Error::NotFound)?);
    event_price(&tenant)?;
    let unlock = unlock.unwrap_or_default();
    if unlock.unlocked_at.is_some() {
        return Err(Error::Conflict("the event is unlocked already"));
    }
    let quote = unlock.quote.filter(|quote| quote.id == request.quote_id).ok_or_else(|| {
        Error::field("quote_id", "not the event's latest quote: ask for one (POST /events/{event_id}/quote)")
    })?;
    let now = Now::get();
    if quote.expires_at <= now.iso {
        return Err(Error::field("quote_id", "the quote has expired: ask for a new one"));
    }
    let unlocked = |payment_id: Option<String>| Unlocking {
        event_id: event.id.clone(),
        status: UnlockStatus::Unlocked,
        quote: quote.clone(),
        payment_id,
        client_secret: None,
    };
    if quote.amount_minor == 0 {
        // Round trip 2: a quote of nothing (a plan that charges 0 per place) opens it at once.
        if !sales::unlock(&state, tenant_id, &event.id, None, &caller.actor()).await? {
            return Err(Error::Conflict("the event is unlocked already"));
        }
        return Ok((StatusCode::OK, Json(unlocked(None))));
    }
    let sale = Sale::Unlock {
        tenant_id: tenant_id.clone(),
        event_id: event.id.clone(),
        quote_id: quote.id.clone(),
        person_id: caller.person_id.clone(),
        description: format!("Unlock of {}: {} staff-days", event.title, quote.staff_days),
    };
    let card = request.payment_method_id.as_deref();
    let payments = state.payments()?;
    let intent =
        sales::charge(payments, &tenant, &owner, card, &sale, quote.amount_minor, &quote.currency, &caller.request_id)
            .await?;
    let status = match intent.status {
        rota::payments::PaymentIntentStatus::Succeeded => {
            // Round trip 2: the unlock with the payment's record and the audit entry (unless the
            // webhook was quicker); then the receipt.
            sales::fulfil(&state, &sale, &intent, now.epoch, &caller.actor()).await?;
            return Ok((StatusCode::OK, Json(unlocked(Some(intent.id)))));
        }
        rota::payments::PaymentIntentStatus::Processing => UnlockStatus::Processing,
        _ => UnlockStatus::RequiresAction,
    };
    Ok((
        StatusCode::ACCEPTED,
        Json(Unlocking {
            event_id: event.id,
            status,
            quote,
            payment_id: Some(intent.id),
            client_secret: intent.client_secret.filter(|_| status == UnlockStatus::RequiresAction),
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quote_is_staff_times_days_times_rate_and_at_least_the_smallest_charge() {
        assert_eq!(quoted(150, 200), 30_000);
        assert_eq!(quoted(1, 20), LEAST_CHARGE);
        assert_eq!(quoted(3, 0), 0, "a plan that charges nothing opens events for free");
    }
}
