//! The limits an attempt (a login, a sign-up, a reset request, a contact-form message) counts against, counted before the work they guard
//! (see `rota::auth::rate_limit`).

use rota::auth::rate_limit::{
    CONTACT_PER_EMAIL, CONTACT_PER_IP, Counter, LOGIN_PER_EMAIL, LOGIN_PER_EMAIL_AND_IP, LOGIN_PER_IP, MFA_PER_PERSON,
    RESET_PER_EMAIL, RESET_PER_IP, RateLimit, SIGNUP_PER_EMAIL, SIGNUP_PER_IP, SSO_START_PER_IP, client_key,
};
use rota::{AppState, Error};

/// The limits one attempt counts against, each with its subject.
pub struct Attempt {
    pub(crate) limits: Vec<(RateLimit, String)>,
}

/// The counters after an attempt, in the order of its limits.
pub struct Counted<'a> {
    attempt: &'a Attempt,
    counters: Vec<Counter>,
}

impl Attempt {
    /// A login. Outside API Gateway (the dev server) there is no trustworthy client address: the
    /// address-keyed limits then apply to the email alone.
    pub fn login(email: &str, ip: Option<&str>) -> Self {
        let address = ip.map(client_key).unwrap_or_else(|| "unknown".into());
        let mut limits =
            vec![(LOGIN_PER_EMAIL_AND_IP, format!("{email}#{address}")), (LOGIN_PER_EMAIL, email.to_owned())];
        if ip.is_some() {
            limits.push((LOGIN_PER_IP, address));
        }
        Self { limits }
    }

    /// A sign-up.
    pub fn signup(email: &str, ip: Option<&str>) -> Self {
        Self::mailing((SIGNUP_PER_EMAIL, SIGNUP_PER_IP), email, ip)
    }

    /// A message through the contact form.
    pub fn contact(email: &str, ip: Option<&str>) -> Self {
        Self::mailing((CONTACT_PER_EMAIL, CONTACT_PER_IP), email, ip)
    }

    /// A password-reset request.
    pub fn reset(email: &str, ip: Option<&str>) -> Self {
        Self::mailing((RESET_PER_EMAIL, RESET_PER_IP), email, ip)
    }

    /// Something that mails an address: limited per address and per client.
    fn mailing((per_email, per_ip): (RateLimit, RateLimit), email: &str, ip: Option<&str>) -> Self {
        let mut limits = vec![(per_email, email.to_owned())];
        limits.extend(ip.map(|ip| (per_ip, client_key(ip))));
        Self { limits }
    }

    /// A single sign-on start: limited per client address (none is known outside API Gateway).
    pub fn sso_start(ip: Option<&str>) -> Self {
        Self { limits: ip.map(|ip| (SSO_START_PER_IP, client_key(ip))).into_iter().collect() }
    }

    /// A second-factor code of a person (completing a login, turning 2FA on or off).
    pub fn mfa(tenant_id: &str, person_id: &str) -> Self {
        Self { limits: vec![(MFA_PER_PERSON, format!("{tenant_id}#{person_id}"))] }
    }

    /// Counts the attempt against every limit, in parallel (one round trip).
    pub async fn count(&self, state: &AppState, now: i64) -> Result<Counted<'_>, Error> {
        let hits = self.limits.iter().map(|(limit, subject)| state.store.rate_limit_hit(limit, subject, now));
        Ok(Counted { attempt: self, counters: futures_util::future::try_join_all(hits).await? })
    }
}

impl Counted<'_> {
    /// Seconds to wait when the attempt is over any limit.
    pub fn retry_after(&self, now: i64) -> Option<u64> {
        let limits = self.attempt.limits.iter().map(|(limit, _)| limit);
        limits.zip(&self.counters).filter_map(|(limit, counter)| limit.retry_after(*counter, now)).max()
    }

    /// Takes the attempt back (it turned out to be no guess).
    pub async fn undo(&self, state: &AppState) -> Result<(), Error> {
        let undo = self
            .attempt
            .limits
            .iter()
            .zip(&self.counters)
            .map(|((limit, subject), counter)| state.store.rate_limit_undo(limit, subject, *counter));
        futures_util::future::try_join_all(undo).await?;
        Ok(())
    }

    /// `error`, after taking the attempt back: what failed was no guess (the answer came before
    /// any check of a secret).
    pub async fn refuse(&self, state: &AppState, error: Error) -> Error {
        match self.undo(state).await {
            Ok(()) => error,
            Err(failed) => failed,
        }
    }
}
