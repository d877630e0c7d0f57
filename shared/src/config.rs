//! Settings from the environment and the state every handler receives. Both are built once per
//! cold start (no network call happens here: SDK clients connect lazily on first use).

use std::sync::Arc;

use crate::store::{RoundTrips, Store};

/// Settings read from the environment. Locally they come from `infra/local.env`; in AWS from
/// template.yaml (the JWT secret through a Secrets Manager reference, never committed).
#[derive(Clone, Debug)]
pub struct Config {
    pub table: String,
    pub jwt_secret: String,
    pub jwt_kid: String,
    pub jwt_issuer: String,
    pub jwt_audience: String,
}

impl Config {
    pub fn from_env() -> Result<Self, String> {
        let var = |name: &str| std::env::var(name).map_err(|_| format!("environment variable {name} is not set"));
        let or = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_owned());
        let jwt_secret = var("ROTA_JWT_SECRET")?;
        if jwt_secret.len() < 32 {
            return Err("ROTA_JWT_SECRET must be at least 32 bytes".into());
        }
        Ok(Self {
            table: var("ROTA_TABLE")?,
            jwt_secret,
            jwt_kid: or("ROTA_JWT_KID", "rota-1"),
            jwt_issuer: or("ROTA_JWT_ISSUER", "rota"),
            jwt_audience: or("ROTA_JWT_AUDIENCE", "rota-api"),
        })
    }
}

/// Everything a handler needs; cheap to clone (axum clones it per request).
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub keys: Arc<crate::auth::jwt::Keys>,
    pub store: Store,
}

impl AppState {
    /// Builds the state from the environment: what a Lambda `main` calls once per cold start.
    pub async fn from_env() -> Result<Self, String> {
        Self::with_round_trips(Config::from_env()?, RoundTrips::default()).await
    }

    /// As [`AppState::from_env`], with a given DynamoDB round-trip counter (the tests read it).
    pub async fn with_round_trips(config: Config, round_trips: RoundTrips) -> Result<Self, String> {
        let sdk = crate::aws::sdk_config().await;
        let ddb = aws_sdk_dynamodb::config::Builder::from(&sdk).interceptor(round_trips.clone()).build();
        Ok(Self {
            keys: Arc::new(crate::auth::jwt::Keys::new(&config)),
            store: Store::new(aws_sdk_dynamodb::Client::from_conf(ddb), config.table.clone(), round_trips),
            config: Arc::new(config),
        })
    }
}
