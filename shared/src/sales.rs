//! One-off sales through the payment provider: a credit pack (billing) and an event's unlock
//! (payroll). Both charge the organisation's card once and do what was paid for once the provider
//! says the payment succeeded — in its answer (most cards) or later by webhook (a card whose bank
//! asks the customer first, 3-D Secure) — exactly once, whichever comes first and however often
//! the webhook is redelivered: the payment's record (`paid`) is written in the same transaction
//! as what it paid for, conditioned on not being `paid` already.

use std::collections::BTreeMap;

use crate::clock::instant_from_epoch;
use crate::notify::{Envelope, Message};
use crate::payments::{NewCustomer, NewPayment, PaymentError, PaymentIntent, PaymentIntentStatus, PaymentProvider};
use crate::store::audit::{Actor, AuditEntry};
use crate::store::billing::{Payment, PaymentStatus};
use crate::store::people::Person;
use crate::store::tenants::Tenant;
use crate::{AppState, Error};

/// An id as the provider writes them (`pm_1QbC2d…`): letters, digits and underscores.
pub fn provider_id(id: &str, _: &()) -> garde::Result {
    if id.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'_') {
        Ok(())
    } else {
        Err(garde::Error::new("a payment method id from Stripe.js (pm_…): letters, digits and underscores"))
    }
}

/// The organisation's customer at the provider: the one on file, or a new one in its owner's
/// name. A new one is keyed by the organisation, so a request after a failed one finds the
/// customer that one made (Stripe keeps keys 24 h).
pub async fn customer_of(payments: &dyn PaymentProvider, tenant: &Tenant, owner: &Person) -> Result<String, Error> {
    if let Some(id) = &tenant.billing_customer_id {
        return Ok(id.clone());
    }
    let customer = NewCustomer { email: owner.email.clone(), name: tenant.name.clone(), tenant_id: tenant.id.clone() };
    Ok(payments.create_customer(&customer, &format!("rota-customer-{}", tenant.id)).await?.id)
}

/// Makes `card` (collected with Stripe.js) the customer's card on file, for this and every later
/// charge. A card the provider does not know is the field's fault.
pub async fn keep_card(
    payments: &dyn PaymentProvider,
    customer_id: &str,
    card: &str,
    idempotency_key: &str,
) -> Result<(), Error> {
    payments.set_default_payment_method(customer_id, card, idempotency_key).await.map_err(|error| match error {
        PaymentError::BadRequest { status: 400 | 404, .. } => {
            Error::field("payment_method_id", "the payment provider has no such card: collect it again with Stripe.js")
        }
        other => other.into(),
    })?;
    Ok(())
}

/// What is sold, as its payment's metadata carries it, so whoever hears the payment succeeded
/// (the seller's answer or the webhook) does the right thing for the right organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sale {
    /// Message credits.
    Pack { tenant_id: String, pack_id: String, credits: i64, description: String },
    /// An event's dashboard data, for the quote paid; the receipt goes to `person_id` (the payer).
    Unlock { tenant_id: String, event_id: String, quote_id: String, person_id: String, description: String },
}

impl Sale {
    pub fn tenant_id(&self) -> &str {
        match self {
            Self::Pack { tenant_id, .. } | Self::Unlock { tenant_id, .. } => tenant_id,
        }
    }

    pub fn description(&self) -> &str {
        match self {
            Self::Pack { description, .. } | Self::Unlock { description, .. } => description,
        }
    }

    fn metadata(&self) -> BTreeMap<String, String> {
        let mut metadata = BTreeMap::from([
            ("tenant_id".to_owned(), self.tenant_id().to_owned()),
            ("description".to_owned(), self.description().to_owned()),
        ]);
        let pairs = match self {
            Self::Pack { pack_id, credits, .. } => {
                vec![("kind", "credit_pack".to_owned()), ("pack_id", pack_id.clone()), ("credits", credits.to_string())]
            }
            Self::Unlock { event_id, quote_id, person_id, .. } => vec![
                ("kind", "event_unlock".to_owned()),
                ("event_id", event_id.clone()),
                ("quote_id", quote_id.clone()),
                ("person_id", person_id.clone()),
            ],
        };
        metadata.extend(pairs.into_iter().map(|(key, value)| (key.to_owned(), value)));
        metadata
    }

    /// The sale a payment is for, if Rota sold it.
    pub fn from_metadata(metadata: &BTreeMap<String, String>) -> Option<Self> {
        let field = |name: &str| metadata.get(name).cloned();
        let (tenant_id, description) = (field("tenant_id")?, field("description").unwrap_or_default());
        match metadata.get("kind")?.as_str() {
            "credit_pack" => Some(Self::Pack {
                tenant_id,
                pack_id: field("pack_id")?,
                credits: field("credits")?.parse().ok().filter(|credits| *credits > 0)?,
                description,
            }),
            "event_unlock" => Some(Self::Unlock {
                tenant_id,
                event_id: field("event_id")?,
                quote_id: field("quote_id")?,
                person_id: field("person_id")?,
                description,
            }),
            _ => None,
        }
    }

    /// The organisation's record of `intent`, as the provider said at `said_at` (Unix seconds).
    pub fn payment(&self, intent: &PaymentIntent, status: PaymentStatus, said_at: i64) -> Payment {
        Payment {
            id: intent.id.clone(),
            tenant_id: self.tenant_id().to_owned(),
            status,
            amount_minor: intent.amount_minor,
            currency: intent.currency.to_uppercase(),
            provider_subscription_id: None,
            description: Some(self.description().to_owned()),
            created_at: instant_from_epoch(intent.created).unwrap_or_default(),
            updated_at: instant_from_epoch(said_at).unwrap_or_default(),
        }
    }
}

/// Charges the organisation `amount_minor` of `currency` once for `sale`, with `card` (which
/// becomes its card on file) or the one on file; keyed by `request_id`, so a request resent after
/// a lost answer charges once. The payment answered has succeeded, or waits for the customer
/// (`requires_action`) or the provider (`processing`); a declined one is `402`.
#[allow(clippy::too_many_arguments)]
pub async fn charge(
    payments: &dyn PaymentProvider,
    tenant: &Tenant,
    owner: &Person,
    card: Option<&str>,
    sale: &Sale,
    amount_minor: i64,
    currency: &str,
    request_id: &str,
) -> Result<PaymentIntent, Error> {
    let no_card = || Error::field("payment_method_id", "a card is needed: the organisation has none on file");
    if card.is_none() && tenant.billing_customer_id.is_none() {
        return Err(no_card());
    }
    let customer_id = customer_of(payments, tenant, owner).await?;
    let key = |what: &str| format!("rota-{what}-{request_id}");
    let card = match card {
        Some(card) => {
            keep_card(payments, &customer_id, card, &key("card")).await?;
            card.to_owned()
        }
        None => payments.customer(&customer_id).await?.invoice_settings.default_payment_method.ok_or_else(no_card)?,
    };
    let payment = NewPayment {
        amount_minor,
        currency: currency.to_lowercase(),
        customer_id,
        payment_method_id: card,
        metadata: sale.metadata(),
    };
    let intent = payments.create_payment(&payment, &key("sale")).await?;
    match intent.status {
        PaymentIntentStatus::Succeeded | PaymentIntentStatus::RequiresAction | PaymentIntentStatus::Processing => {
            Ok(intent)
        }
        _ => {
            let error = intent.last_payment_error.unwrap_or_default();
            Err(Error::PaymentDeclined {
                code: error.code.unwrap_or_else(|| "payment_failed".into()),
                message: error.message.unwrap_or_else(|| "the payment did not go through".into()),
            })
        }
    }
}

/// Does what `sale` was paid for, once (`intent` succeeded, as the provider said at `said_at`):
/// the pack's credits with their ledger entry, or the event's unlock (audited by `actor`) with a
/// receipt mailed to whoever paid. `true` when it was done now, `false` when it had been.
pub async fn fulfil(
    state: &AppState,
    sale: &Sale,
    intent: &PaymentIntent,
    said_at: i64,
    actor: &Actor,
) -> Result<bool, Error> {
    let payment = sale.payment(intent, PaymentStatus::Paid, said_at);
    match sale {
        Sale::Pack { credits, .. } => {
            state.store.credit_purchase(&payment, *credits, said_at, intent.customer.as_deref()).await
        }
        Sale::Unlock { tenant_id, event_id, person_id, .. } => {
            let unlocked = unlock(state, tenant_id, event_id, Some((&payment, said_at)), actor).await?;
            if unlocked {
                receipt(state, sale, person_id, &payment).await;
            }
            Ok(unlocked)
        }
    }
}

/// Unlocks an event (with the payment that paid for it, if any), audited; `true` when now.
pub async fn unlock(
    state: &AppState,
    tenant_id: &str,
    event_id: &str,
    payment: Option<(&Payment, i64)>,
    actor: &Actor,
) -> Result<bool, Error> {
    let at = crate::clock::Now::get().iso;
    let after = serde_json::json!({ "unlocked_at": at, "payment_id": payment.map(|(payment, _)| &payment.id) });
    let audit = AuditEntry::new(actor, "event.unlocked", ("event", event_id), None::<&()>, Some(&after), &at);
    state.store.unlock_event(tenant_id, event_id, payment, &at, &audit).await
}

/// Mails the receipt of a paid sale to the person who paid. The sale is done by now: a receipt
/// that cannot be queued is logged, not retried (the payment list shows the payment either way).
async fn receipt(state: &AppState, sale: &Sale, person_id: &str, payment: &Payment) {
    let message = Message::Receipt {
        description: sale.description().to_owned(),
        amount_minor: payment.amount_minor,
        currency: payment.currency.clone(),
        payment_id: payment.id.clone(),
        paid_at: payment.updated_at.clone(),
    };
    let envelope = Envelope::to_person(sale.tenant_id(), person_id, message);
    if let Err(error) = state.outbox.send(&envelope).await {
        tracing::error!(%error, payment = %payment.id, "the receipt could not be queued");
    }
}
