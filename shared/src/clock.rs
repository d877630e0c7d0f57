//! The current instant, in the two forms the store keeps: epoch seconds (TTL, token times) and
//! an ISO 8601 UTC string (`Z`) for everything a client reads.

use chrono::{DateTime, SecondsFormat, Utc};

#[derive(Debug, Clone)]
pub struct Now {
    pub epoch: i64,
    pub iso: String,
}

impl Now {
    pub fn get() -> Self {
        let now = Utc::now();
        Self { epoch: now.timestamp(), iso: iso(now) }
    }
}

pub fn iso(instant: DateTime<Utc>) -> String {
    instant.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// An instant to the second, `YYYY-MM-DDTHH:MM:SSZ`: the form shift times are stored and sorted
/// in (one width, so text order is time order).
pub fn instant(instant: DateTime<Utc>) -> String {
    instant.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// An epoch-seconds instant as [`instant`] writes it; none when out of range.
pub fn instant_from_epoch(epoch: i64) -> Option<String> {
    DateTime::from_timestamp(epoch, 0).map(instant)
}

/// An epoch-seconds instant as ISO 8601 UTC.
pub fn iso_from_epoch(epoch: i64) -> String {
    DateTime::from_timestamp(epoch, 0).map(iso).unwrap_or_default()
}
