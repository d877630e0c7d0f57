//! `rota`: what every Rota function shares — settings, the error type, authentication, the
//! single-table store and the HTTP plumbing. Nothing endpoint-specific lives here.

pub mod auth;
pub mod aws;
pub mod clock;
pub mod config;
pub mod domain;
pub mod error;
pub mod files;
pub mod http;
pub mod notify;
pub mod records;
pub mod store;
pub mod telemetry;
pub mod validate;

pub use config::{AppState, Config, Secret};
pub use error::{Error, Result};
