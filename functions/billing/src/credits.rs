//! Message credits: buying a pack (`POST /billing/credits`) and the ledger
//! (`GET /billing/credits/transactions`).
//!
//! A pack is paid with one payment at the provider, confirmed at once with the card given (or
//! the one on file). It is credited when the provider says the payment succeeded — in its answer
//! (most cards) or later by webhook (a card whose bank asks the customer first, 3-D Secure) —
//! exactly once, whichever comes first and however often the webhook is redelivered.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use garde::Validate;
use rota::auth::{Caller, Role};
use rota::clock::instant_from_epoch;
use rota::error::Problem;
use rota::http::{PageQuery, ValidJson, ValidQuery};
use rota::payments::{NewPayment, PaymentIntent, PaymentIntentStatus};
use rota::store::billing::{Payment, PaymentStatus};
use rota::store::credits::{CreditEntry, CreditPack};
use rota::store::page::Page;
use rota::store::people::Person;
use rota::{AppState, Error};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::customers::{customer_of, keep_card};

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
    #[garde(inner(length(min = 1, max = 255), custom(crate::customers::provider_id)))]
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
#[utoipa::path(post, path = "/billing/credits", tag = "billing", security(("bearer" = ["owner"])),
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
    caller.require(Role::Owner)?;
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
    let no_card = || Error::field("payment_method_id", "a card is needed: the organisation has none on file");
    if request.payment_method_id.is_none() && tenant.billing_customer_id.is_none() {
        return Err(no_card());
    }

    let payments = state.payments()?;
    let customer_id = customer_of(payments, &tenant, &owner).await?;
    // Each call is keyed by this request's id: one resent after a lost answer charges once.
    let key = |what: &str| format!("rota-{what}-{}", caller.request_id);
    let card = match request.payment_method_id {
        Some(card) => {
            keep_card(payments, &customer_id, &card, &key("card")).await?;
            card
        }
        None => payments.customer(&customer_id).await?.invoice_settings.default_payment_method.ok_or_else(no_card)?,
    };
    let sale = PackSale::of(&pack, &tenant.id);
    let payment = NewPayment {
        amount_minor: pack.price_minor,
        currency: pack.currency.to_lowercase(),
        customer_id,
        payment_method_id: card,
        metadata: sale.metadata(),
    };
    let intent = payments.create_payment(&payment, &key("credits")).await?;
    let status = match intent.status {
        PaymentIntentStatus::Succeeded => {
            // Round trip 2: the payment, the credits and their ledger entry (unless its webhook
            // was quicker).
            credit(&state, &sale, &intent, chrono::Utc::now().timestamp()).await?;
            PurchaseStatus::Credited
        }
        PaymentIntentStatus::RequiresAction => PurchaseStatus::RequiresAction,
        PaymentIntentStatus::Processing => PurchaseStatus::Processing,
        _ => {
            let error = intent.last_payment_error.unwrap_or_default();
            return Err(Error::PaymentDeclined {
                code: error.code.unwrap_or_else(|| "payment_failed".into()),
                message: error.message.unwrap_or_else(|| "the payment did not go through".into()),
            });
        }
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

/// What a pack's payment carries in its metadata, so whoever hears it succeeded (this function's
/// answer or the webhook) credits the right organisation with the right amount.
pub struct PackSale {
    pub tenant_id: String,
    pub pack_id: String,
    pub credits: i64,
    pub description: String,
}

impl PackSale {
    const KIND: &str = "credit_pack";

    fn of(pack: &CreditPack, tenant_id: &str) -> Self {
        Self {
            tenant_id: tenant_id.to_owned(),
            pack_id: pack.id.clone(),
            credits: i64::from(pack.credits),
            description: pack.description(),
        }
    }

    fn metadata(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("kind".to_owned(), Self::KIND.to_owned()),
            ("tenant_id".to_owned(), self.tenant_id.clone()),
            ("pack_id".to_owned(), self.pack_id.clone()),
            ("credits".to_owned(), self.credits.to_string()),
            ("description".to_owned(), self.description.clone()),
        ])
    }

    /// The sale a payment is for, if it is one of a pack.
    pub fn from_metadata(metadata: &BTreeMap<String, String>) -> Option<Self> {
        (metadata.get("kind")?.as_str() == Self::KIND).then_some(())?;
        Some(Self {
            tenant_id: metadata.get("tenant_id")?.clone(),
            pack_id: metadata.get("pack_id")?.clone(),
            credits: metadata.get("credits")?.parse().ok().filter(|credits| *credits > 0)?,
            description: metadata.get("description").cloned().unwrap_or_default(),
        })
    }

    /// The organisation's record of `intent`, as the provider said at `said_at` (Unix seconds).
    pub fn payment(&self, intent: &PaymentIntent, status: PaymentStatus, said_at: i64) -> Payment {
        Payment {
            id: intent.id.clone(),
            tenant_id: self.tenant_id.clone(),
            status,
            amount_minor: intent.amount_minor,
            currency: intent.currency.to_uppercase(),
            provider_subscription_id: None,
            description: Some(self.description.clone()),
            created_at: instant_from_epoch(intent.created).unwrap_or_default(),
            updated_at: instant_from_epoch(said_at).unwrap_or_default(),
        }
    }
}

/// Credits the pack `intent` paid for, once; `true` when it was credited now.
pub async fn credit(state: &AppState, sale: &PackSale, intent: &PaymentIntent, said_at: i64) -> Result<bool, Error> {
    let payment = sale.payment(intent, PaymentStatus::Paid, said_at);
    state.store.credit_purchase(&payment, sale.credits, said_at, intent.customer.as_deref()).await
}

/// Every change of the organisation's message credits, newest first: grants, purchases, spends
/// (one per message that took a credit) and refunds. They sum to the balance (owners).
#[utoipa::path(get, path = "/billing/credits/transactions", tag = "billing", security(("bearer" = ["owner"])), params(PageQuery),
    responses((status = 200, description = "A page of the ledger", body = Page<CreditEntry>)))]
pub async fn list_credit_entries(
    State(state): State<AppState>,
    caller: Caller,
    ValidQuery(query): ValidQuery<PageQuery>,
) -> Result<Json<Page<CreditEntry>>, Error> {
    caller.require(Role::Owner)?;
    Ok(Json(state.store.credit_entries(&caller.tenant_id, query.limit, query.cursor.as_deref()).await?))
}
