//! Rate limits, counted in DynamoDB so every Lambda instance shares them. A window opens at the
//! first event and lasts `window_secs`; `limit` events inside it lock the subject out until it
//! ends. (Windows aligned to the clock would let a burst straddle a boundary.)

/// `limit` events per `window_secs`.
#[derive(Debug, Clone, Copy)]
pub struct RateLimit {
    pub name: &'static str,
    pub limit: u32,
    pub window_secs: i64,
}

/// Failed logins per email: 5 per 15 minutes.
pub const LOGIN_FAILURES_PER_EMAIL: RateLimit = RateLimit { name: "login-email", limit: 5, window_secs: 15 * 60 };

/// Failed logins per client IP: 20 per 15 minutes.
pub const LOGIN_FAILURES_PER_IP: RateLimit = RateLimit { name: "login-ip", limit: 20, window_secs: 15 * 60 };

/// A stored counter: events so far in the window that ends at `expires_at` (epoch seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counter {
    pub hits: u32,
    pub expires_at: i64,
}

/// How to record the next event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hit {
    /// Add one to the live window.
    Increment,
    /// No live window: start one, ending at this instant.
    Start { expires_at: i64 },
}

impl RateLimit {
    /// `Some(seconds to wait)` when the live window is used up. A counter past its expiry is
    /// dead even if TTL has not deleted it yet.
    pub fn retry_after(&self, counter: Option<Counter>, now: i64) -> Option<u64> {
        let counter = counter.filter(|c| c.expires_at > now)?;
        (counter.hits >= self.limit).then(|| (counter.expires_at - now).max(1) as u64)
    }

    pub fn hit(&self, counter: Option<Counter>, now: i64) -> Hit {
        match counter {
            Some(counter) if counter.expires_at > now => Hit::Increment,
            _ => Hit::Start { expires_at: now + self.window_secs },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: RateLimit = LOGIN_FAILURES_PER_EMAIL;

    #[test]
    fn blocks_from_the_limit_until_the_window_ends() {
        let now = 10_000;
        assert_eq!(LIMIT.retry_after(None, now), None);
        assert_eq!(LIMIT.retry_after(Some(Counter { hits: 4, expires_at: now + 600 }), now), None);
        assert_eq!(LIMIT.retry_after(Some(Counter { hits: 5, expires_at: now + 600 }), now), Some(600));
        assert_eq!(LIMIT.retry_after(Some(Counter { hits: 9, expires_at: now }), now), None, "expired window");
    }

    #[test]
    fn the_first_event_opens_a_window() {
        let now = 10_000;
        assert_eq!(LIMIT.hit(None, now), Hit::Start { expires_at: now + 900 });
        assert_eq!(LIMIT.hit(Some(Counter { hits: 2, expires_at: now + 1 }), now), Hit::Increment);
        assert_eq!(
            LIMIT.hit(Some(Counter { hits: 5, expires_at: now - 1 }), now),
            Hit::Start { expires_at: now + 900 }
        );
    }
}
