//! [`Stripe`]: the [`PaymentProvider`] speaking Stripe's HTTP API (form-encoded requests, JSON
//! answers) through [`Outbound`] (the HTTP client the AWS SDK already links).

use std::fmt;

use aws_smithy_types::body::SdkBody;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderValue, Method};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::outbound::Outbound;

use super::{
    Call, Customer, Invoice, List, NewCustomer, NewPayment, NewPrice, NewSubscription, PaymentError, PaymentIntent,
    PaymentProvider, Price, StripeSettings, Subscription,
};

/// The API version every request asks for, so answers keep the shape these types read (Stripe
/// otherwise answers in the account's default version, which changes when someone upgrades it in
/// the dashboard). 2024-06-20 still has a subscription's `current_period_*` and an invoice's
/// `subscription` at the top level; moving to a later version means checking those types.
const API_VERSION: &str = "2024-06-20";

/// A client of Stripe's API (or of localstripe), built once per cold start and shared.
pub struct Stripe {
    outbound: Outbound,
    /// `Bearer sk_…`, marked sensitive so no debug output shows it.
    authorization: HeaderValue,
}

impl Stripe {
    /// Checks the settings; no connection is made and no certificate is loaded here. The secret
    /// key never crosses a network in clear text: plain HTTP is for localstripe on loopback.
    pub fn new(settings: StripeSettings) -> Result<Self, String> {
        let outbound = Outbound::new("ROTA_STRIPE_API", &settings.api, settings.timeout)?;
        let mut authorization = HeaderValue::from_str(&format!("Bearer {}", settings.secret_key.expose()))
            .map_err(|_| "ROTA_STRIPE_SECRET_KEY holds characters a header cannot carry".to_owned())?;
        authorization.set_sensitive(true);
        Ok(Self { outbound, authorization })
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, PaymentError> {
        self.call(Method::GET, path, None).await
    }

    async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        form: Form,
        idempotency_key: &str,
    ) -> Result<T, PaymentError> {
        self.call(Method::POST, path, Some((form.0, idempotency_key))).await
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        form: Option<(String, &str)>,
    ) -> Result<T, PaymentError> {
        let (status, body) = self.send(method, path, form).await?;
        if !(200..300).contains(&status) {
            return Err(error_from(status, &body));
        }
        serde_json::from_slice(&body).map_err(|error| PaymentError::InvalidResponse(format!("{path}: {error}")))
    }

    /// One request: its status and whole body, within the timeout.
    async fn send(
        &self,
        method: Method,
        path: &str,
        form: Option<(String, &str)>,
    ) -> Result<(u16, Vec<u8>), PaymentError> {
        let request = http::Request::builder()
            .method(method)
            .uri(self.outbound.url(path))
            .header(AUTHORIZATION, self.authorization.clone())
            .header("stripe-version", API_VERSION);
        let request = match form {
            Some((form, idempotency_key)) => request
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header("idempotency-key", checked_idempotency_key(idempotency_key)?)
                .body(SdkBody::from(form)),
            None => request.body(SdkBody::empty()),
        };
        let request = request.map_err(|error| PaymentError::InvalidInput(error.to_string()))?;
        let answer = self.outbound.send(request).await.map_err(|error| PaymentError::Unavailable(error.0))?;
        Ok((answer.status, answer.body))
    }
}

impl fmt::Debug for Stripe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stripe").field("outbound", &self.outbound).finish_non_exhaustive()
    }
}

/// Stripe's error body: `{"error": {"type", "code", "decline_code", "message", "param", …}}`.
#[derive(Default, Deserialize)]
struct ApiError {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    decline_code: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    param: Option<String>,
    #[serde(default)]
    payment_intent: Option<super::ObjectId>,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ApiError,
}

/// A non-2xx answer as a [`PaymentError`] (a body that is not Stripe's error JSON still maps by
/// status: a proxy's 502 page is `Unavailable`).
fn error_from(status: u16, body: &[u8]) -> PaymentError {
    let error = serde_json::from_slice::<ErrorBody>(body).map(|body| body.error).unwrap_or_default();
    let message = error.message.unwrap_or_else(|| format!("HTTP {status}"));
    match status {
        402 => PaymentError::Declined {
            code: error.code.unwrap_or_else(|| "payment_failed".into()),
            decline_code: error.decline_code,
            message,
            payment_intent_id: error.payment_intent.map(|intent| intent.id),
        },
        _ if error.kind.as_deref() == Some("card_error") => PaymentError::Declined {
            code: error.code.unwrap_or_else(|| "card_error".into()),
            decline_code: error.decline_code,
            message,
            payment_intent_id: error.payment_intent.map(|intent| intent.id),
        },
        401 | 403 => PaymentError::Misconfigured { status },
        429 | 500..=599 => PaymentError::Unavailable(format!("HTTP {status}: {message}")),
        _ => PaymentError::BadRequest { status, code: error.code, param: error.param, message },
    }
}

/// An id as one path segment: Stripe's ids are letters, digits and underscores, and anything
/// else could change which URL is called.
fn segment(id: &str) -> Result<&str, PaymentError> {
    let valid =
        !id.is_empty() && id.len() <= 255 && id.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'_');
    if valid { Ok(id) } else { Err(PaymentError::InvalidInput(format!("{id:?} is not a provider id"))) }
}

/// Stripe accepts keys of up to 255 characters.
fn checked_idempotency_key(key: &str) -> Result<HeaderValue, PaymentError> {
    let valid = !key.is_empty() && key.len() <= 255 && key.bytes().all(|byte| byte.is_ascii_graphic());
    let invalid =
        || PaymentError::InvalidInput(format!("{key:?} is not an idempotency key (1–255 visible ASCII characters)"));
    if !valid {
        return Err(invalid());
    }
    HeaderValue::from_str(key).map_err(|_| invalid())
}

/// A form-encoded body (`application/x-www-form-urlencoded`, nested keys as Stripe writes them:
/// `metadata[tenant_id]`, `items[0][price]`).
#[derive(Default)]
struct Form(String);

impl Form {
    fn append_pair(&mut self, key: &str, value: &str) -> &mut Self {
        if !self.0.is_empty() {
            self.0.push('&');
        }
        self.0.extend(form_urlencoded::byte_serialize(key.as_bytes()));
        self.0.push('=');
        self.0.extend(form_urlencoded::byte_serialize(value.as_bytes()));
        self
    }
}

fn form() -> Form {
    Form::default()
}

impl PaymentProvider for Stripe {
    fn create_customer<'a>(&'a self, customer: &'a NewCustomer, idempotency_key: &'a str) -> Call<'a, Customer> {
        Box::pin(async move {
            let mut form = form();
            form.append_pair("email", &customer.email)
                .append_pair("name", &customer.name)
                .append_pair("metadata[tenant_id]", &customer.tenant_id);
            self.post("/v1/customers", form, idempotency_key).await
        })
    }

    fn customer<'a>(&'a self, customer_id: &'a str) -> Call<'a, Customer> {
        Box::pin(async move { self.get(&format!("/v1/customers/{}", segment(customer_id)?)).await })
    }

    fn set_default_payment_method<'a>(
        &'a self,
        customer_id: &'a str,
        payment_method_id: &'a str,
        idempotency_key: &'a str,
    ) -> Call<'a, Customer> {
        Box::pin(async move {
            // Attached first (Stripe.js may leave it unattached), then made the default.
            let attach = format!("/v1/payment_methods/{}/attach", segment(payment_method_id)?);
            let mut owner = form();
            owner.append_pair("customer", customer_id);
            let _: serde_json::Value = self.post(&attach, owner, &format!("{idempotency_key}-attach")).await?;
            let path = format!("/v1/customers/{}", segment(customer_id)?);
            let mut default = form();
            default.append_pair("invoice_settings[default_payment_method]", payment_method_id);
            self.post(&path, default, idempotency_key).await
        })
    }

    fn create_price<'a>(&'a self, price: &'a NewPrice, idempotency_key: &'a str) -> Call<'a, Price> {
        Box::pin(async move {
            let interval = price
                .interval
                .as_str()
                .ok_or_else(|| PaymentError::InvalidInput("a plan is billed by month or by year".into()))?;
            let mut form = form();
            form.append_pair("amount", &price.amount_minor.to_string())
                .append_pair("currency", &price.currency)
                .append_pair("interval", interval)
                .append_pair("product[name]", &price.name)
                .append_pair("metadata[plan_id]", &price.plan_id);
            self.post("/v1/plans", form, idempotency_key).await
        })
    }

    fn create_subscription<'a>(
        &'a self,
        subscription: &'a NewSubscription,
        idempotency_key: &'a str,
    ) -> Call<'a, Subscription> {
        Box::pin(async move {
            let mut form = form();
            form.append_pair("customer", &subscription.customer_id)
                .append_pair("items[0][price]", &subscription.price_id)
                .append_pair("metadata[tenant_id]", &subscription.tenant_id);
            match subscription.trial_end {
                Some(end) => form.append_pair("trial_end", &end.to_string()),
                // Charged now: a declined card refuses the subscription (402) rather than leaving
                // an `incomplete` one behind.
                None => form.append_pair("payment_behavior", "error_if_incomplete"),
            };
            self.post("/v1/subscriptions", form, idempotency_key).await
        })
    }

    fn change_price<'a>(
        &'a self,
        subscription_id: &'a str,
        price_id: &'a str,
        idempotency_key: &'a str,
    ) -> Call<'a, Subscription> {
        Box::pin(async move {
            // The item to move is named by its id; otherwise Stripe adds a second item.
            let current = self.subscription(subscription_id).await?;
            let item = current
                .item()
                .ok_or_else(|| PaymentError::InvalidResponse(format!("subscription {subscription_id} has no item")))?;
            let mut form = form();
            // A plan chosen again goes on: a cancellation at the period's end is taken back.
            form.append_pair("items[0][id]", &item.id)
                .append_pair("items[0][price]", price_id)
                .append_pair("proration_behavior", "create_prorations")
                .append_pair("cancel_at_period_end", "false");
            self.post(&format!("/v1/subscriptions/{}", segment(subscription_id)?), form, idempotency_key).await
        })
    }

    fn cancel_at_period_end<'a>(
        &'a self,
        subscription_id: &'a str,
        idempotency_key: &'a str,
    ) -> Call<'a, Subscription> {
        Box::pin(async move {
            let mut form = form();
            form.append_pair("cancel_at_period_end", "true");
            self.post(&format!("/v1/subscriptions/{}", segment(subscription_id)?), form, idempotency_key).await
        })
    }

    fn cancel_now<'a>(&'a self, subscription_id: &'a str) -> Call<'a, Subscription> {
        Box::pin(async move {
            self.call(Method::DELETE, &format!("/v1/subscriptions/{}", segment(subscription_id)?), None).await
        })
    }

    fn subscription<'a>(&'a self, subscription_id: &'a str) -> Call<'a, Subscription> {
        Box::pin(async move { self.get(&format!("/v1/subscriptions/{}", segment(subscription_id)?)).await })
    }

    fn create_payment<'a>(&'a self, payment: &'a NewPayment, idempotency_key: &'a str) -> Call<'a, PaymentIntent> {
        Box::pin(async move {
            let mut form = form();
            form.append_pair("amount", &payment.amount_minor.to_string())
                .append_pair("currency", &payment.currency)
                .append_pair("customer", &payment.customer_id)
                .append_pair("payment_method", &payment.payment_method_id)
                // Cards only: with the account's automatic payment methods, confirming here would
                // also need a return URL for methods that redirect.
                .append_pair("payment_method_types[0]", "card")
                .append_pair("confirm", "true");
            for (key, value) in &payment.metadata {
                form.append_pair(&format!("metadata[{key}]"), value);
            }
            self.post("/v1/payment_intents", form, idempotency_key).await
        })
    }

    fn payment<'a>(&'a self, payment_intent_id: &'a str) -> Call<'a, PaymentIntent> {
        Box::pin(async move { self.get(&format!("/v1/payment_intents/{}", segment(payment_intent_id)?)).await })
    }

    fn invoices<'a>(&'a self, customer_id: &'a str) -> Call<'a, Vec<Invoice>> {
        Box::pin(async move {
            let customer_id = segment(customer_id)?;
            let mut invoices: Vec<Invoice> = Vec::new();
            loop {
                let mut path = format!("/v1/invoices?customer={customer_id}&limit=100");
                if let Some(last) = invoices.last() {
                    path.push_str(&format!("&starting_after={}", segment(&last.id)?));
                }
                let page: List<Invoice> = self.get(&path).await?;
                let done = !page.has_more || page.data.is_empty();
                invoices.extend(page.data);
                if done {
                    return Ok(invoices);
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    fn settings(api: &str) -> StripeSettings {
        StripeSettings {
            api: api.into(),
            secret_key: Secret::new("sk_test_x"),
            timeout: std::time::Duration::from_secs(1),
        }
    }

    #[test]
    fn plain_http_only_to_loopback() {
        assert!(Stripe::new(settings("http://127.0.0.1:8420")).is_ok());
        assert!(Stripe::new(settings("http://localhost:8420/")).is_ok());
        assert!(Stripe::new(settings("https://api.stripe.com")).is_ok());
        let error = Stripe::new(settings("http://api.stripe.com")).unwrap_err();
        assert!(error.contains("must be https://"), "{error}");
        assert!(Stripe::new(settings("ftp://127.0.0.1")).is_err());
        assert!(Stripe::new(settings("not a url")).is_err());
    }

    #[test]
    fn the_key_stays_out_of_debug_output() {
        let stripe = Stripe::new(settings("https://api.stripe.com")).unwrap();
        let debug = format!("{stripe:?}");
        assert!(!debug.contains("sk_test_x"), "{debug}");
        assert!(debug.contains("api.stripe.com"), "{debug}");
    }

    #[tokio::test]
    async fn https_trusts_the_platform_roots_not_any_server() {
        // A local server whose certificate chains to the private test CA only (shared/certs/test):
        // the call goes out over TLS and is refused at the handshake, as Unavailable.
        let (port, server) = crate::aws::tests::one_tls_connection().await;
        let stripe = Stripe::new(settings(&format!("https://localhost:{port}"))).unwrap();
        let error = stripe.subscription("sub_1").await.unwrap_err();
        assert!(!server.await.unwrap(), "the handshake must not complete");
        assert!(matches!(&error, PaymentError::Unavailable(reason) if reason.contains("UnknownIssuer")), "{error:?}");
    }

    #[test]
    fn errors_by_kind() {
        let declined = br#"{"error":{"type":"card_error","code":"card_declined","decline_code":"insufficient_funds","message":"Your card has insufficient funds.","payment_intent":{"id":"pi_1"}}}"#;
        assert_eq!(
            error_from(402, declined),
            PaymentError::Declined {
                code: "card_declined".into(),
                decline_code: Some("insufficient_funds".into()),
                message: "Your card has insufficient funds.".into(),
                payment_intent_id: Some("pi_1".into()),
            }
        );
        let missing = br#"{"error":{"type":"invalid_request_error","code":"resource_missing","param":"id","message":"No such subscription"}}"#;
        let error = error_from(404, missing);
        assert!(error.is_not_found());
        assert_eq!(
            error,
            PaymentError::BadRequest {
                status: 404,
                code: Some("resource_missing".into()),
                param: Some("id".into()),
                message: "No such subscription".into(),
            }
        );
        assert_eq!(error_from(401, b"{}"), PaymentError::Misconfigured { status: 401 });
        assert_eq!(
            error_from(502, b"<html>Bad gateway</html>"),
            PaymentError::Unavailable("HTTP 502: HTTP 502".into())
        );
        assert!(matches!(error_from(429, b"{}"), PaymentError::Unavailable(_)));
        assert!(matches!(error_from(400, b"not json"), PaymentError::BadRequest { status: 400, code: None, .. }));
    }

    #[test]
    fn ids_and_keys_are_checked_before_sending() {
        assert_eq!(segment("sub_1Abc").unwrap(), "sub_1Abc");
        for bad in ["", "sub/../customers", "sub_1?expand=x", "sub 1"] {
            assert!(matches!(segment(bad), Err(PaymentError::InvalidInput(_))), "{bad:?}");
        }
        assert!(checked_idempotency_key("unlock:01HZX").is_ok());
        for bad in ["", "with space", "line\nbreak", &"k".repeat(256)] {
            assert!(matches!(checked_idempotency_key(bad), Err(PaymentError::InvalidInput(_))), "{bad:?}");
        }
    }
}
