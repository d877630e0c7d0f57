//! Message credits: buying a pack (`POST /billing/credits`) and the ledger
//! (`GET /billing/credits/transactions`).
//!
//! A pack is paid with one payment at the provider, confirmed at once with the card given (or
//! the one on file), and credited exactly once when the provider says it succeeded (see
//! [`rota::sales`]).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use garde::Validate;
use rota::auth::{Caller, Permission};
use rota::clock::Now;
use rota::error::Problem;
use rota::http::{PageQuery, ValidJson, ValidQuery};
use rota::payments::PaymentIntentStatus;
use rota::sales::{self, Sale};
use rota::store::credits::CreditEntry;
use rota::store::page::Page;
use rota::store::people::Person;
use rota::{AppState, Error};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "pack_id": "01JD3Z5Y8K2M4N6P8Q0R2S4T6V", "payment_method_id": "pm_1QbC2dEf3GhI4jKl" }))]
pub struct CreditPurchaseRequest {
    /// A pack on sale (`GET /billing` lists them).
    #[garde(length(min = 1, max = 64))]
    #[schema(min_length = 1, max_length = 64)]
    pub pack_id: String,
    /// A card the frontend collected with Stripe.js (`pm_…`): it becomes the organisation's card
    /// on file. Without it, the card on file pays.
    #[garde(inner(length(min = 1, max = 255), custom(sales::provider_id)))]
    #[schema(min_length = 1, max_length = 255, pattern = "^[A-Za-z0-9_]+$")]
    pub payment_method_id: Option<String>,
}

/// Where a purchase stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PurchaseStatus {
    /// Paid, and the credits are in the balance.
    Credited,
    /// The card's bank asks the customer to confirm (3-D Secure): hand `client_secret` to
    /// Stripe.js (`handleNextAction`); the credits come when it is paid.
    RequiresAction,
    /// The provider is still taking the payment; the credits come when it is paid.
    Processing,
}

/// A credit pack bought.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreditPurchase {
    /// The provider's payment (`pi_…`), as `GET /billing/payments` lists it once paid.
    pub payment_id: String,
    pub status: PurchaseStatus,
    pub pack_id: String,
    pub credits: u32,
    pub amount_minor: i64,
    pub currency: String,
    /// For `requires_action` only: what Stripe.js needs to take the customer through it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

/// Buys a credit pack for the organisation (owners). Answers 200 when the payment went through
/// and the credits are in the balance, 202 when the card's bank asks the customer to confirm
/// first (or the provider is still at it): the credits come when it is paid.
#[utoipa::path(post, path = "/billing/credits", tag = "billing", security(("bearer" = ["billing.manage"])),
    request_body = CreditPurchaseRequest,
    responses(
        (status = 200, description = "Paid and credited", body = CreditPurchase),
        (status = 202, description = "Not paid yet (`requires_action`, `processing`); credited when it is", body = CreditPurchase),
        (status = 402, description = "The card was declined (`payment_declined`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No such pack on sale, or no card given and none on file", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The payment provider is unavailable (`payment_provider_unavailable`): nothing was charged; retry", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn buy_credits(
    State(state): State<AppState>,
    caller: Caller,
    ValidJson(request): ValidJson<CreditPurchaseRequest>,
) -> Result<(StatusCode, Json<CreditPurchase>), Error> {
    caller.require(Permission::BillingManage)?;
    // Round trip 1: the organisation, the packs and the owner (their email for the provider).
    let (tenant, packs, owner) = tokio::try_join!(
        state.store.tenant(&caller.tenant_id),
        state.store.credit_packs(),
        state.store.entity::<Person>(&caller.tenant_id, &caller.person_id),
    )?;
    let (tenant, owner) = (tenant.ok_or(Error::NotFound)?, owner.ok_or(Error::NotFound)?);
    let pack = packs
        .into_iter()
        .find(|pack| pack.id == request.pack_id && !pack.retired)
        .ok_or_else(|| Error::field("pack_id", "no such credit pack on sale: GET /billing lists them"))?;
    let sale = Sale::Pack {
        tenant_id: tenant.id.clone(),
        pack_id: pack.id.clone(),
        credits: i64::from(pack.credits),
        description: pack.description(),
    };
    let card = request.payment_method_id.as_deref();
    let payments = state.payments()?;
    let intent =
        sales::charge(payments, &tenant, &owner, card, &sale, pack.price_minor, &pack.currency, &caller.request_id)
            .await?;
    let status = match intent.status {
        PaymentIntentStatus::Succeeded => {
            // Round trip 2: the payment, the credits and their ledger entry (unless its webhook
            // was quicker).
            sales::fulfil(&state, &sale, &intent, Now::get().epoch, &caller.actor()).await?;
            PurchaseStatus::Credited
        }
        PaymentIntentStatus::Processing => PurchaseStatus::Processing,
        _ => PurchaseStatus::RequiresAction,
    };
    let code = if status == PurchaseStatus::Credited { StatusCode::OK } else { StatusCode::ACCEPTED };
    Ok((
        code,
        Json(CreditPurchase {
            payment_id: intent.id,
            status,
            pack_id: pack.id,
            credits: pack.credits,
            amount_minor: intent.amount_minor,
            currency: pack.currency,
            client_secret: intent.client_secret.filter(|_| status == PurchaseStatus::RequiresAction),
        }),
    ))
}

/// Every change of the organisation's message credits, newest first: grants, purchases, spends
/// (one per message that took a credit) and refunds. They sum to the balance (owners).
#[utoipa::path(get, path = "/billing/credits/transactions", tag = "billing", security(("bearer" = ["billing.manage"])), params(PageQuery),
    responses((status = 200, description = "A page of the ledger", body = Page<CreditEntry>)))]
pub async fn list_credit_entries(
    State(state): State<AppState>,
    caller: Caller,
    ValidQuery(query): ValidQuery<PageQuery>,
) -> Result<Json<Page<CreditEntry>>, Error> {
    caller.require(Permission::BillingManage)?;
    Ok(Json(state.store.credit_entries(&caller.tenant_id, query.limit, query.cursor.as_deref()).await?))
}
