//! `POST /billing/webhook`: the payment provider's events (public; authenticated by their
//! signature). Each changes an organisation's subscription at most once (its id is kept with the
//! change), only if it is no older than the state kept (the event's own time, not its arrival),
//! and never for a subscription the organisation no longer has. A change that settles what an
//! organisation owes also reactivates it when dunning suspended it (never when the platform did).
//! A one-off payment that succeeded does what it paid for, once (see [`rota::sales`]). What is not
//! about an organisation Rota knows is acknowledged and logged: a 5xx would only make the provider
//! retry.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use rota::error::Problem;
use rota::payments::webhook::{DEFAULT_TOLERANCE_SECS, Event, verified_event};
use rota::payments::{self, Invoice, PaymentIntent};
use rota::sales::{Sale, fulfil};
use rota::store::audit::Actor;
use rota::store::billing::{Applied, OverdueInvoice, Payment, PaymentStatus, Plan, ProviderChange};

use rota::{AppState, Error};
use serde::Serialize;
use utoipa::ToSchema;

/// What became of a delivered event.
#[derive(Debug, Serialize, ToSchema)]
pub struct Receipt {
    /// The event changed an organisation's subscription, or did what a one-off payment paid for,
    /// now (false: applied before, older than what is kept, or not about either).
    pub applied: bool,
}

/// Receives the payment provider's events: subscriptions created, updated and deleted, invoices
/// paid and failed, one-off payments (credit packs, event unlocks) succeeded and failed. Signed with `Stripe-Signature` (HMAC-SHA256 of `t.payload`, within 5 minutes).
#[utoipa::path(post, path = "/billing/webhook", tag = "billing",
    params(("Stripe-Signature" = String, Header, description = "`t=…,v1=…` as the provider signs deliveries")),
    request_body(content = Object, description = "The provider's event, exactly as sent", content_type = "application/json"),
    responses(
        (status = 200, description = "Received (applied now or not)", body = Receipt),
        (status = 400, description = "Unsigned, wrongly signed, signed too long ago, or not an event", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn receive(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<Json<Receipt>, Error> {
    let signature = headers
        .get("stripe-signature")
        .and_then(|value| value.to_str().ok())
        .ok_or_else(|| Error::InvalidRequest("the Stripe-Signature header is missing".into()))?;
    let secrets: Vec<&str> = state.config.stripe_webhook_secrets.iter().map(|secret| secret.expose()).collect();
    let now = chrono::Utc::now();
    let event = verified_event(signature, &body, &secrets, now.timestamp(), DEFAULT_TOLERANCE_SECS)
        .map_err(|error| Error::InvalidRequest(format!("Stripe-Signature: {error}")))?;
    let Some(about) = About::of(&event)? else {
        return Ok(Json(Receipt { applied: false }));
    };
    if let About::Payment { intent, succeeded } = &about {
        return Ok(Json(Receipt { applied: one_off(&state, intent, *succeeded, &event).await? }));
    }
    // Round trip 1: the organisation the customer is, and (for a subscription) the plans.
    let (customer, plans) = tokio::try_join!(state.store.customer(about.customer()), async {
        match about {
            About::Subscription(_) => state.store.plans().await,
            _ => Ok(Vec::new()),
        }
    })?;
    let Some(customer) = customer else {
        tracing::warn!(event = %event.id, kind = %event.kind, customer = %about.customer(), "event about an unknown customer");
        return Ok(Json(Receipt { applied: false }));
    };
    let tenant_id = customer.tenant_id.clone();
    let payment = about.payment(&tenant_id, event.created);
    let Some(change) = about.change(&plans) else {
        return Ok(Json(Receipt { applied: false }));
    };
    // Round trip 2: the change with the event's id, and the invoice's payment as the event says.
    let (applied, ()) = tokio::try_join!(
        state.store.apply_provider_change(&customer, &event.id, event.created, &change, now),
        async {
            match &payment {
                Some(payment) => state.store.record_payment(payment, event.created).await,
                None => Ok(()),
            }
        }
    )?;
    tracing::info!(event = %event.id, kind = %event.kind, tenant = %tenant_id, ?applied, "payment event");
    Ok(Json(Receipt { applied: applied != Applied::Ignored }))
}

/// A one-off payment's outcome: what it paid for, once, when it succeeded (a pack's credits, an
/// event's unlock); its failure recorded when it failed (the owner was told at once, unless the
/// bank's confirmation failed later).
async fn one_off(state: &AppState, intent: &PaymentIntent, succeeded: bool, event: &Event) -> Result<bool, Error> {
    let Some(sale) = Sale::from_metadata(&intent.metadata) else {
        tracing::warn!(payment = %intent.id, "a payment Rota did not ask for");
        return Ok(false);
    };
    if succeeded {
        return fulfil(state, &sale, intent, event.created, &Actor::rota(sale.tenant_id(), &event.id)).await;
    }
    let failed = sale.payment(intent, PaymentStatus::Failed, event.created);
    state.store.record_payment(&failed, event.created).await?;
    Ok(false)
}

/// The object an event is about, where it is one billing acts on.
enum About {
    Subscription(payments::Subscription),
    Invoice { invoice: Invoice, paid: bool },
    Payment { intent: PaymentIntent, succeeded: bool },
}

impl About {
    fn of(event: &Event) -> Result<Option<Self>, Error> {
        let object = || event.data.object.clone();
        let invalid = |error: serde_json::Error| Error::InvalidRequest(format!("{}: {error}", event.kind));
        Ok(Some(match event.kind.as_str() {
            "customer.subscription.created" | "customer.subscription.updated" | "customer.subscription.deleted" => {
                Self::Subscription(serde_json::from_value(object()).map_err(invalid)?)
            }
            "invoice.paid" | "invoice.payment_succeeded" => {
                Self::Invoice { invoice: serde_json::from_value(object()).map_err(invalid)?, paid: true }
            }
            "invoice.payment_failed" => {
                Self::Invoice { invoice: serde_json::from_value(object()).map_err(invalid)?, paid: false }
            }
            "payment_intent.succeeded" => {
                Self::Payment { intent: serde_json::from_value(object()).map_err(invalid)?, succeeded: true }
            }
            "payment_intent.payment_failed" => {
                Self::Payment { intent: serde_json::from_value(object()).map_err(invalid)?, succeeded: false }
            }
            _ => return Ok(None),
        }))
    }

    fn customer(&self) -> &str {
        match self {
            Self::Subscription(subscription) => &subscription.customer,
            Self::Invoice { invoice, .. } => &invoice.customer,
            Self::Payment { intent, .. } => intent.customer.as_deref().unwrap_or_default(),
        }
    }

    /// The payment an invoice event says happened or failed (none for an invoice of nothing).
    fn payment(&self, tenant_id: &str, said_at: i64) -> Option<Payment> {
        let Self::Invoice { invoice, paid } = self else { return None };
        let at = |seconds: i64| rota::clock::instant_from_epoch(seconds);
        (invoice.total_minor > 0).then(|| Payment {
            id: invoice.id.clone(),
            tenant_id: tenant_id.to_owned(),
            status: if *paid { PaymentStatus::Paid } else { PaymentStatus::Failed },
            amount_minor: invoice.total_minor,
            currency: invoice.currency.to_uppercase(),
            provider_subscription_id: invoice.subscription.clone(),
            description: None,
            created_at: at(invoice.created).unwrap_or_default(),
            updated_at: at(said_at).unwrap_or_default(),
        })
    }

    /// The change to the organisation's subscription; none for an invoice of no subscription (a
    /// one-off payment), a paid invoice of nothing (a trial's), or a status Rota does not know.
    fn change(self, plans: &[Plan]) -> Option<ProviderChange> {
        match self {
            Self::Subscription(subscription) => ProviderChange::of_subscription(subscription, plans),
            Self::Payment { .. } => None,
            Self::Invoice { invoice, paid } => {
                if paid && invoice.amount_paid_minor == 0 {
                    return None;
                }
                let subscription_id = invoice.subscription.clone()?;
                if paid {
                    return Some(ProviderChange::InvoicePaid { subscription_id });
                }
                Some(ProviderChange::InvoiceFailed {
                    subscription_id,
                    invoice: OverdueInvoice {
                        amount_minor: invoice.total_minor - invoice.amount_paid_minor,
                        currency: invoice.currency.to_uppercase(),
                        pay_url: invoice.hosted_invoice_url,
                        invoice_id: invoice.id,
                    },
                })
            }
        }
    }
}
