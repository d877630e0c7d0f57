//! Fixed-window rate limits, counted in DynamoDB so every Lambda instance shares them.

/// `limit` events per `window_secs`.
#[derive(Debug, Clone, Copy)]
pub struct RateLimit {
    pub name: &'static str,
    pub limit: u32,
    pub window_secs: i64,
}

/// Failed logins per email: 5 per 15 minutes.
pub const LOGIN_FAILURES_PER_EMAIL: RateLimit = RateLimit { name: "login-email", limit: 5, window_secs: 15 * 60 };

impl RateLimit {
    /// The window `now` falls in: part of the counter's key, so old windows are never read.
    pub fn window(&self, now: i64) -> i64 {
        now.div_euclid(self.window_secs)
    }

    /// When the window holding `now` ends (the counter's TTL).
    pub fn window_end(&self, now: i64) -> i64 {
        (self.window(now) + 1) * self.window_secs
    }

    /// `Some(seconds to wait)` once `count` events have used up the window.
    pub fn retry_after(&self, count: u32, now: i64) -> Option<u64> {
        (count >= self.limit).then(|| (self.window_end(now) - now).max(1) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_from_the_limit_until_the_window_ends() {
        let limit = LOGIN_FAILURES_PER_EMAIL;
        let now = 900 * 1000 + 60;
        assert_eq!(limit.retry_after(4, now), None);
        assert_eq!(limit.retry_after(5, now), Some(840));
        assert_eq!(limit.window(now), 1000);
        assert_eq!(limit.window(now + 840), 1001);
    }
}
