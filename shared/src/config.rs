//! Settings from the environment and the state every handler receives. Both are built once per
//! cold start (no network call happens here: SDK clients connect on first use).

use std::sync::Arc;

use crate::aws::LazyClient;
use crate::files::Files;
use crate::notify::Outbox;
use crate::store::{RoundTrips, Store};

/// Settings read from the environment. Locally they come from `infra/local.env` and `infra/stack`
/// (which generates a local key pair); in AWS from template.yaml (the private key through a Secrets
/// Manager reference on the auth function alone, never committed).
#[derive(Clone, Debug)]
pub struct Config {
    pub table: String,
    /// `ROTA_SECRETS_TABLE`: the table of credentials, sessions and 2FA enrolments
    /// ([`crate::store`]). Only the auth function is given it (and may reach it); elsewhere `None`.
    pub secrets_table: Option<String>,
    /// `ROTA_JWT_PRIVATE_KEY`: the Ed25519 key access tokens are signed with (PKCS#8 PEM). Only the
    /// auth function has it; without it a function verifies tokens but cannot issue them.
    pub jwt_private_key: Option<Secret>,
    /// `ROTA_JWT_KID`: the `kid` the private key signs with; must be in `jwt_public_keys`.
    pub jwt_kid: String,
    /// `ROTA_JWT_PUBLIC_KEYS`: a JWKS (`{"keys":[{"kty":"OKP","crv":"Ed25519","kid":…,"x":…}]}`) of
    /// every key a token may be signed with; several during a rotation.
    pub jwt_public_keys: String,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    /// `ROTA_CORS_ORIGINS`: browser origins allowed to call the API, comma-separated; none by
    /// default (no CORS headers at all).
    pub cors_origins: Vec<axum::http::HeaderValue>,
    /// `ROTA_MAIL_FROM`: the SES-verified sender of every email.
    pub mail_from: String,
    /// `ROTA_APP_URL`: the frontend's base URL; emailed links point into it.
    pub app_url: String,
    /// `ROTA_NOTIFICATION_QUEUE`: the URL of the queue the notifier worker sends from.
    pub notification_queue: String,
    /// `ROTA_BUCKET`: the bucket of photos, imports and exports.
    pub bucket: String,
    /// `ROTA_IMPORT_QUEUE`: the URL of the import worker's queue. The people function (which
    /// starts imports) and the importer only.
    pub import_queue: Option<String>,
    /// `ROTA_AUTO_FILL_QUEUE`: the URL of the auto-fill solver's queue. The schedule function
    /// (which queues jobs) and the solver only.
    pub auto_fill_queue: Option<String>,
    /// `ROTA_TOTP_KEYS`: the data keys TOTP secrets are sealed with, `kid=kms:BASE64` (wrapped by
    /// KMS) or locally `kid=raw:BASE64` ([`crate::auth::totp_keys`]). The auth function only.
    pub totp_keys: Option<Secret>,
    /// `ROTA_TOTP_KID`: the key new TOTP secrets are sealed with.
    pub totp_kid: String,
    /// The payment provider (`ROTA_STRIPE_API`, `ROTA_STRIPE_SECRET_KEY`): the billing and admin
    /// functions' only.
    pub stripe: Option<crate::payments::StripeSettings>,
    /// `ROTA_STRIPE_WEBHOOK_SECRET`: the signing secrets of the provider's webhooks.
    pub stripe_webhook_secrets: Vec<Secret>,
    /// `ROTA_MESSAGE_PRICES`: the credits a message costs on each channel.
    pub message_prices: crate::notify::MessagePrices,
    /// `ROTA_API_URL`: the API's public base URL, where providers call back (SMS status
    /// callbacks are asked for and their signatures checked against it); none: not asked for.
    pub api_url: Option<String>,
    /// What the messaging providers' callbacks are checked with: `ROTA_SMS_AUTH_TOKEN` (Twilio
    /// signs with it), `ROTA_WHATSAPP_APP_SECRET` (Meta's app secret) and
    /// `ROTA_WHATSAPP_VERIFY_TOKEN` (the webhook subscription's handshake).
    pub sms_auth_token: Option<Secret>,
    pub whatsapp_app_secret: Option<Secret>,
    pub whatsapp_verify_token: Option<Secret>,
    /// `ROTA_DNS_API`: a DNS-over-HTTPS JSON API (Google Public DNS's, `https://dns.google`, by
    /// default), asked for the TXT records that prove an organisation owns an email domain.
    pub dns_api: String,
    /// `ROTA_WEBHOOKS_REACH`: where outgoing webhooks may be delivered — `public` addresses only
    /// (the default, in AWS) or `loopback` only (the local stack, whose receiver listens there).
    pub webhook_reach: crate::webhooks::Reach,
    /// `ROTA_WEBHOOK_RETRY_SCALE`: the retry schedule's waits are multiplied by it (1 in AWS; a
    /// test that must not wait sets 0).
    pub webhook_retry_scale: f64,
}

impl Config {
    pub fn from_env() -> Result<Self, String> {
        let var = |name: &str| std::env::var(name).map_err(|_| format!("environment variable {name} is not set"));
        let or = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_owned());
        let set = |name: &str| std::env::var(name).ok().filter(|value| !value.trim().is_empty());
        Ok(Self {
            table: var("ROTA_TABLE")?,
            secrets_table: std::env::var("ROTA_SECRETS_TABLE").ok().filter(|name| !name.trim().is_empty()),
            jwt_private_key: std::env::var("ROTA_JWT_PRIVATE_KEY")
                .ok()
                .filter(|pem| !pem.trim().is_empty())
                .map(Secret),
            jwt_kid: or("ROTA_JWT_KID", "rota-1"),
            jwt_public_keys: var("ROTA_JWT_PUBLIC_KEYS")?,
            jwt_issuer: or("ROTA_JWT_ISSUER", "rota"),
            jwt_audience: or("ROTA_JWT_AUDIENCE", "rota-api"),
            cors_origins: crate::http::cors::parse_origins(&or("ROTA_CORS_ORIGINS", ""))?,
            mail_from: var("ROTA_MAIL_FROM")?,
            app_url: var("ROTA_APP_URL")?,
            notification_queue: var("ROTA_NOTIFICATION_QUEUE")?,
            bucket: var("ROTA_BUCKET")?,
            import_queue: std::env::var("ROTA_IMPORT_QUEUE").ok().filter(|url| !url.trim().is_empty()),
            auto_fill_queue: set("ROTA_AUTO_FILL_QUEUE"),
            totp_keys: std::env::var("ROTA_TOTP_KEYS").ok().filter(|keys| !keys.trim().is_empty()).map(Secret),
            totp_kid: or("ROTA_TOTP_KID", "totp-1"),
            stripe: crate::payments::StripeSettings::from_env().ok(),
            stripe_webhook_secrets: crate::payments::webhook_secrets_from_env().unwrap_or_default(),
            message_prices: crate::notify::MessagePrices::parse(&or("ROTA_MESSAGE_PRICES", ""))?,
            api_url: set("ROTA_API_URL").map(|url| url.trim_end_matches('/').to_owned()),
            sms_auth_token: set("ROTA_SMS_AUTH_TOKEN").map(Secret),
            whatsapp_app_secret: set("ROTA_WHATSAPP_APP_SECRET").map(Secret),
            whatsapp_verify_token: set("ROTA_WHATSAPP_VERIFY_TOKEN").map(Secret),
            dns_api: or("ROTA_DNS_API", "https://dns.google"),
            webhook_reach: match or("ROTA_WEBHOOKS_REACH", "public").as_str() {
                "public" => crate::webhooks::Reach::Public,
                "loopback" => crate::webhooks::Reach::Loopback,
                other => return Err(format!("ROTA_WEBHOOKS_REACH {other:?} is neither public nor loopback")),
            },
            webhook_retry_scale: or("ROTA_WEBHOOK_RETRY_SCALE", "1")
                .parse()
                .map_err(|_| "ROTA_WEBHOOK_RETRY_SCALE is not a number".to_owned())?,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::Config;

    /// Settings for unit tests that need a `Config` and no AWS.
    pub(crate) fn config() -> Config {
        Config {
            table: "t".into(),
            secrets_table: None,
            jwt_private_key: None,
            jwt_kid: "k1".into(),
            jwt_public_keys: r#"{"keys":[]}"#.into(),
            jwt_issuer: "rota".into(),
            jwt_audience: "rota-api".into(),
            cors_origins: Vec::new(),
            mail_from: "no-reply@rota.test".into(),
            app_url: "https://app.rota.test".into(),
            notification_queue: "https://sqs.test/1/notifications".into(),
            bucket: "rota-test".into(),
            import_queue: None,
            auto_fill_queue: None,
            totp_keys: None,
            totp_kid: "totp-1".into(),
            stripe: None,
            stripe_webhook_secrets: Vec::new(),
            message_prices: crate::notify::MessagePrices::default(),
            api_url: None,
            sms_auth_token: None,
            whatsapp_app_secret: None,
            whatsapp_verify_token: None,
            dns_api: "https://dns.google".into(),
            webhook_reach: crate::webhooks::Reach::Public,
            webhook_retry_scale: 1.0,
        }
    }
}

/// A setting that must never reach a log: `Debug` prints `[redacted]`.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// The SDK clients a function uses besides DynamoDB's, declared next to its routes
/// (`pub const CLIENTS`): its Lambda builds these at cold start and no others (each costs 0.1–0.2
/// ms to build; one used without being declared is built on the request that first needs it, and
/// `tests/tests/clients.rs` fails).
#[derive(Clone, Copy, Debug)]
pub struct Clients {
    /// SQS, to queue notifications ([`Outbox`]).
    pub outbox: bool,
    /// S3, to presign uploads and downloads ([`Files`]).
    pub files: bool,
    /// The payment provider ([`AppState::payments`]). Not built on first use when undeclared:
    /// its code is not even linked then, and `payments()` answers an internal error.
    pub payments: bool,
}

/// Everything a handler needs; cheap to clone (axum clones it per request).
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub keys: Arc<crate::auth::jwt::Keys>,
    pub store: Store,
    /// Where handlers queue notifications, after their change is committed.
    pub outbox: Outbox,
    /// Presigned uploads and downloads of the files bucket.
    pub files: Files,
    /// The keys TOTP secrets are sealed with (the auth function's; unwrapped on first use).
    pub totp: Arc<crate::auth::totp_keys::TotpKeys>,
    /// The payment provider, where the function declares it and its settings are present.
    pub payments: Option<Arc<dyn crate::payments::PaymentProvider>>,
}

impl AppState {
    /// The state from the environment with every client built now: the dev server and the tools
    /// that serve every route.
    pub async fn from_env() -> Result<Self, String> {
        Self::build::<true, true, true>(Config::from_env()?, RoundTrips::default()).await
    }

    /// What a Lambda `main` builds once per cold start: the state with the clients `OUTBOX`,
    /// `FILES` and `PAYMENTS` built now, the others only if a request needs them (payments:
    /// never). As constants, a client that is not declared is not linked into the binary unless a
    /// handler uses it.
    pub async fn for_lambda<const OUTBOX: bool, const FILES: bool, const PAYMENTS: bool>() -> Result<Self, String> {
        Self::build::<OUTBOX, FILES, PAYMENTS>(Config::from_env()?, RoundTrips::default()).await
    }

    /// As [`AppState::from_env`], with a given DynamoDB round-trip interceptor (tests pass one
    /// that records each request's count: [`RoundTrips::recording`]).
    pub async fn with_round_trips(config: Config, round_trips: RoundTrips) -> Result<Self, String> {
        Self::build::<true, true, true>(config, round_trips).await
    }

    async fn build<const OUTBOX: bool, const FILES: bool, const PAYMENTS: bool>(
        config: Config,
        round_trips: RoundTrips,
    ) -> Result<Self, String> {
        let sdk = crate::aws::sdk_config().await;
        Ok(Self {
            keys: Arc::new(crate::auth::jwt::Keys::new(&config)?),
            store: Store::from_sdk(&sdk, config.table.clone(), round_trips).with_secrets(config.secrets_table.clone()),
            outbox: Outbox::new(LazyClient::new::<OUTBOX>(&sdk), config.notification_queue.clone()),
            files: Files::new(LazyClient::new::<FILES>(&sdk), config.bucket.clone()),
            // KMS only on the first 2FA request of a cold start, never at start.
            totp: Arc::new(crate::auth::totp_keys::TotpKeys::new(&config, LazyClient::new::<false>(&sdk))?),
            payments: match &config.stripe {
                Some(settings) if PAYMENTS => Some(Arc::new(crate::payments::Stripe::new(settings.clone())?)),
                _ => None,
            },
            config: Arc::new(config),
        })
    }

    /// The payment provider, or an internal error where it is not configured (a deployment
    /// without `ROTA_STRIPE_SECRET_KEY`, or a function that does not declare it).
    pub fn payments(&self) -> Result<&dyn crate::payments::PaymentProvider, crate::Error> {
        self.payments.as_deref().ok_or_else(|| crate::Error::internal("the payment provider is not configured"))
    }
}
