//! Rate limits, counted in DynamoDB so every Lambda instance shares them. A window opens at the
//! first event and lasts `window_secs`; past `limit` events inside it, the subject is refused
//! until it ends. (Windows aligned to the clock would let a burst straddle a boundary.)
//!
//! Every event is counted *before* the work it guards, with one conditional write that returns
//! the new count, and the decision is made on that count: a parallel burst gets exactly `limit`
//! through, never more (no read-check-write).

use std::net::IpAddr;

/// `limit` events per `window_secs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub name: &'static str,
    pub limit: u32,
    pub window_secs: i64,
}

/// Login attempts per email from one client address: 5 per 15 minutes. The tight limit, keyed by
/// address too, so failures from elsewhere cannot lock the owner of the email out.
pub const LOGIN_PER_EMAIL_AND_IP: RateLimit = RateLimit { name: "login-email-ip", limit: 5, window_secs: 15 * 60 };

/// Login attempts per email from anywhere: 50 per 15 minutes (a distributed guess).
pub const LOGIN_PER_EMAIL: RateLimit = RateLimit { name: "login-email", limit: 50, window_secs: 15 * 60 };

/// Login attempts per client address, whatever the email: 20 per 15 minutes.
pub const LOGIN_PER_IP: RateLimit = RateLimit { name: "login-ip", limit: 20, window_secs: 15 * 60 };

/// Sign-ups per email: 3 an hour (each sends that address a message).
pub const SIGNUP_PER_EMAIL: RateLimit = RateLimit { name: "signup-email", limit: 3, window_secs: 3600 };

/// Sign-ups per client address: 10 an hour.
pub const SIGNUP_PER_IP: RateLimit = RateLimit { name: "signup-ip", limit: 10, window_secs: 3600 };

/// Contact-form messages per email: 3 an hour (each is a lead for the operator to read).
pub const CONTACT_PER_EMAIL: RateLimit = RateLimit { name: "contact-email", limit: 3, window_secs: 3600 };

/// Contact-form messages per client address: 10 an hour.
pub const CONTACT_PER_IP: RateLimit = RateLimit { name: "contact-ip", limit: 10, window_secs: 3600 };

/// Password-reset requests per email: 3 an hour (each sends that address a message).
pub const RESET_PER_EMAIL: RateLimit = RateLimit { name: "reset-email", limit: 3, window_secs: 3600 };

/// Password-reset requests per client address: 10 an hour.
pub const RESET_PER_IP: RateLimit = RateLimit { name: "reset-ip", limit: 10, window_secs: 3600 };
/// Second-factor codes (TOTP or recovery) per person: 5 per 15 minutes, whichever token, session
/// or endpoint they come through (completing a login, turning 2FA on or off). Six digits are a
/// million guesses; this keeps a stolen password at 5 of them per window.
pub const MFA_PER_PERSON: RateLimit = RateLimit { name: "mfa-person", limit: 5, window_secs: 15 * 60 };

/// Single sign-on starts per client address: 30 per 15 minutes (each stores a sign-in under way).
pub const SSO_START_PER_IP: RateLimit = RateLimit { name: "sso-start-ip", limit: 30, window_secs: 15 * 60 };

/// Sign-in codes asked for per phone: 3 per 15 minutes (each is an SMS or WhatsApp message, and
/// each new code brings 5 more guesses).
pub const OTP_REQUEST_PER_PHONE: RateLimit = RateLimit { name: "otp-request-phone", limit: 3, window_secs: 15 * 60 };

/// Sign-in codes asked for per client address: 10 per 15 minutes.
pub const OTP_REQUEST_PER_IP: RateLimit = RateLimit { name: "otp-request-ip", limit: 10, window_secs: 15 * 60 };

/// Sign-in codes tried per client address, whatever the phone: 20 per 15 minutes (a code itself
/// takes 5 tries).
pub const OTP_VERIFY_PER_IP: RateLimit = RateLimit { name: "otp-verify-ip", limit: 20, window_secs: 15 * 60 };

/// Invitations (new and re-sent) per organisation: 100 an hour. Each mails an address the
/// organisation names; bulk onboarding goes through imports.
pub const INVITES_PER_TENANT: RateLimit = RateLimit { name: "invite-tenant", limit: 100, window_secs: 3600 };

/// Check-ins and check-outs per person: 10 a minute. A phone retrying in a loop is stopped;
/// a person on site never gets near it.
pub const CHECKS_PER_PERSON: RateLimit = RateLimit { name: "check-person", limit: 10, window_secs: 60 };

/// Whom [`CHECKS_PER_PERSON`] counts: one person of one organisation.
pub fn check_subject(tenant_id: &str, person_id: &str) -> String {
    format!("{tenant_id}/{person_id}")
}

/// A counter after an event: events so far in the window that ends at `expires_at` (epoch s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counter {
    pub hits: u32,
    pub expires_at: i64,
}

impl RateLimit {
    /// `Some(seconds to wait)` when the event that brought the counter here is over the limit.
    pub fn retry_after(&self, counter: Counter, now: i64) -> Option<u64> {
        (counter.hits > self.limit).then(|| (counter.expires_at - now).max(1) as u64)
    }
}

/// The key a client address is limited under: an IPv4 address as it is, an IPv6 address by its
/// /64 (one subscriber usually holds a whole /64, so single addresses would be free to rotate).
pub fn client_key(ip: &str) -> String {
    match ip.trim().parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        // Not an address (API Gateway always gives one): limit it as the text it is.
        Err(_) => ip.trim().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_event_after_the_limit_waits_for_the_window_to_end() {
        let now = 10_000;
        let limit = LOGIN_PER_EMAIL_AND_IP;
        assert_eq!(limit.retry_after(Counter { hits: 1, expires_at: now + 900 }, now), None);
        assert_eq!(limit.retry_after(Counter { hits: 5, expires_at: now + 600 }, now), None);
        assert_eq!(limit.retry_after(Counter { hits: 6, expires_at: now + 600 }, now), Some(600));
        assert_eq!(limit.retry_after(Counter { hits: 60, expires_at: now }, now), Some(1), "never 0");
    }

    #[test]
    fn ipv6_clients_are_limited_by_their_64() {
        assert_eq!(client_key("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(client_key("2001:db8:1:2:bbbb:cccc:dddd:eeee"), "2001:db8:1:2::/64");
        assert_ne!(client_key("2001:db8:1:3::1"), client_key("2001:db8:1:2::1"));
        assert_eq!(client_key("203.0.113.7"), "203.0.113.7");
        assert_eq!(client_key("::ffff:203.0.113.7"), "203.0.113.7");
    }
}
