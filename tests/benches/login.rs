//! `make bench`: login time split into password hashing (argon2id) and everything else (mostly
//! the DynamoDB round trips), medians of 20 logins against the local stack. Reported, not asserted.

use std::time::{Duration, Instant};

use api_tests::{PASSWORD, spawn_app};
use rota::auth::password;

const RUNS: usize = 20;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() {
    let app = spawn_app().await;
    // Without 2FA: the login that starts a session (with 2FA on, the password step starts none).
    let owner = app.signup_without_2fa().await;
    let stored = password::hash(PASSWORD.into()).await.unwrap();

    let mut argon2 = Vec::new();
    let mut login = Vec::new();
    for _ in 0..RUNS {
        let started = Instant::now();
        assert!(password::verify(PASSWORD.into(), Some(stored.clone())).await.unwrap());
        argon2.push(started.elapsed());

        let started = Instant::now();
        assert!(app.login(&owner.email, PASSWORD).await.status().is_success());
        login.push(started.elapsed());
    }
    let (argon2, login) = (median(argon2), median(login));
    println!(
        "login (median of {RUNS}, local moto): total {}, argon2id verify {}, store + rest {}",
        ms(login),
        ms(argon2),
        ms(login.saturating_sub(argon2))
    );
}
