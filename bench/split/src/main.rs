//! The auth Lambda's `main` (`rota::lambda_runtime()` running
//! `auth::run_lambda()`) unrolled, with a CLOCK_MONOTONIC mark on
//! stderr after each step (`bench-mark STEP NANOS`) so that `bench/coldstart.py --split` can place
//! every step between exec and the first runtime-API poll.
//! `BENCH_SDK=native` builds the SDK config the way it was before `rota::aws`
//! (`aws_config::load_from_env()`, platform trust store), for the before/after comparison.

use std::sync::Arc;

use rota::aws::LazyClient;
use rota::store::{RoundTrips, Store};

fn mark(step: &str) {
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `now` is a valid, writable timespec; CLOCK_MONOTONIC always exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    eprintln!("bench-mark {step} {}", now.tv_sec * 1_000_000_000 + now.tv_nsec);
}

fn main() -> Result<(), lambda_http::Error> {
    mark("main");
    let runtime = rota::lambda_runtime()?;
    mark("tokio");
    runtime.block_on(async {
        rota::telemetry::init();
        mark("tracing");
        let config = rota::Config::from_env()?;
        mark("config");
        let sdk = match std::env::var("BENCH_SDK").as_deref() {
            Ok("native") => aws_config::load_from_env().await,
            _ => rota::aws::sdk_config().await,
        };
        mark("aws_config");
        let store = Store::from_sdk(&sdk, config.table.clone(), RoundTrips::default())
            .with_secrets(config.secrets_table.clone());
        mark("dynamodb");
        let keys = Arc::new(rota::auth::jwt::Keys::new(&config)?);
        mark("jwt");
        let outbox = rota::notify::Outbox::new(
            LazyClient::new::<{ auth::CLIENTS.outbox }>(&sdk),
            config.notification_queue.clone(),
        );
        mark("sqs");
        let files = rota::files::Files::new(LazyClient::new::<{ auth::CLIENTS.files }>(&sdk), config.bucket.clone());
        mark("s3");
        // Parsed only: the data keys are unwrapped by the first 2FA request.
        let totp = Arc::new(rota::auth::totp_keys::TotpKeys::new(&config, LazyClient::new::<false>(&sdk))?);
        mark("totp");
        let state = rota::AppState { store, keys, outbox, files, totp, payments: None, config: Arc::new(config) };
        let routes = auth::lambda_router();
        mark("routes");
        let router = rota::http::serve(routes, state);
        mark("router");
        lambda_http::run(router).await
    })
}
