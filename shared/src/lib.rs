//! `rota`: what every Rota function shares — settings, the error type, authentication, the
//! single-table store and the HTTP plumbing. Nothing endpoint-specific lives here.

pub mod auth;
pub mod aws;
pub mod callbacks;
pub mod clock;
pub mod config;
pub mod domain;
pub mod error;
pub mod files;
pub mod http;
pub mod metrics;
pub mod notify;
pub mod outbound;
pub mod payments;
pub mod pdf;
pub mod phone;
pub mod queue;
pub mod records;
pub mod sales;
pub mod store;
pub mod telemetry;
pub mod validate;
pub mod webhooks;

pub use config::{AppState, Clients, Config, Secret};
pub use error::{Error, Result};

/// The tokio runtime every Rota Lambda runs on: one thread. An execution environment handles one
/// event at a time (its concurrent calls are I/O, which one thread drives), so worker threads
/// would only add to every cold start (≈ 0.1 ms to spawn them, ≈ 0.1 ms more to the first poll).
pub fn lambda_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread().enable_all().build()
}
