//! The organisation as the payment provider's customer, and its card on file: what subscribing
//! and buying credits both need before they charge anything.

use rota::Error;
use rota::payments::{NewCustomer, PaymentError, PaymentProvider};
use rota::store::people::Person;
use rota::store::tenants::Tenant;

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
