//! When a message no channel took is tried again, and when it moves on to the person's next
//! channel. Pure: the receive count (SQS's `ApproximateReceiveCount`), the failure and a jitter
//! in `[0, 1)` are given.
//!
//! A throttled or unavailable provider is usually back soon, and the person chose it first: the
//! first [`SAME_CHANNEL_RECEIVES`] receives wait for it (with exponential backoff, and never
//! sooner than its `Retry-After`); from then on the message goes on to the next channel at once.
//! A provider that refused the message (a bad number, say) is passed over at once.

use crate::channel::SendError;

/// Receives that wait for the preferred channel before falling back.
pub const SAME_CHANNEL_RECEIVES: u32 = 2;
/// The first wait; it doubles with each receive.
const BASE_SECS: u64 = 10;
/// The longest backoff (a provider's own `Retry-After` may ask for longer, up to SQS's 12 h).
const MAX_BACKOFF_SECS: u64 = 15 * 60;
const MAX_VISIBILITY_SECS: u64 = 12 * 60 * 60;

/// Whether the `receive_count`th receive moves on to the next channel after `failure`.
pub fn falls_back(receive_count: u32, failure: &SendError) -> bool {
    matches!(failure, SendError::Refused(_)) || receive_count > SAME_CHANNEL_RECEIVES
}

/// How long the message stays invisible before its next receive, after the `receive_count`th
/// failed: `BASE_SECS × 2^(n−1)` up to 15 minutes, plus up to 20 % of jitter (so a burst of
/// throttled messages does not come back at once), and at least the provider's `Retry-After`.
pub fn delay_secs(receive_count: u32, failure: &SendError, jitter: f64) -> u64 {
    let doublings = receive_count.saturating_sub(1).min(16);
    let backoff = (BASE_SECS << doublings).min(MAX_BACKOFF_SECS);
    let jittered = backoff + (backoff as f64 * 0.2 * jitter.clamp(0.0, 1.0)) as u64;
    let asked = match failure {
        SendError::Throttled { retry_after_secs: Some(secs) } => *secs,
        _ => 0,
    };
    jittered.max(asked).min(MAX_VISIBILITY_SECS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttled(secs: Option<u64>) -> SendError {
        SendError::Throttled { retry_after_secs: secs }
    }

    #[test]
    fn the_preferred_channel_is_waited_for_twice_unless_it_refused() {
        let down = SendError::Unavailable("HTTP 503".into());
        assert!(!falls_back(1, &down) && !falls_back(2, &throttled(None)));
        assert!(falls_back(3, &down) && falls_back(5, &throttled(Some(1))));
        assert!(falls_back(1, &SendError::Refused("HTTP 400".into())));
    }

    #[test]
    fn the_wait_doubles_up_to_fifteen_minutes_with_jitter_and_honours_retry_after() {
        let down = SendError::Unavailable("HTTP 500".into());
        assert_eq!([1, 2, 3, 4].map(|n| delay_secs(n, &down, 0.0)), [10, 20, 40, 80]);
        assert_eq!(delay_secs(20, &down, 0.0), 900);
        assert_eq!(delay_secs(1, &down, 0.999), 11, "up to a fifth more");
        assert_eq!(delay_secs(1, &throttled(Some(30)), 0.0), 30);
        assert_eq!(delay_secs(3, &throttled(Some(5)), 0.0), 40, "the backoff when it is longer");
        assert_eq!(delay_secs(1, &throttled(Some(100_000)), 0.0), 43_200, "SQS's longest");
    }
}
