//! Quiet hours: a person's nightly window (in their zone, or their organisation's) when nothing but
//! urgent messages reaches them. Pure: the caller gives the instant.

use chrono::{DateTime, Days, NaiveTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::time::resolve;

/// The wall-clock times `HH:MM` (24 h) of a person's quiet hours: from `start` to `end`, crossing
/// midnight when `end` is earlier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, garde::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "start": "22:00", "end": "07:00", "time_zone": "Europe/London" }))]
pub struct QuietHours {
    #[garde(pattern(r"^([01][0-9]|2[0-3]):[0-5][0-9]$"))]
    #[schema(pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9]$", example = "22:00")]
    pub start: String,
    #[garde(pattern(r"^([01][0-9]|2[0-3]):[0-5][0-9]$"))]
    #[schema(pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9]$", example = "07:00")]
    pub end: String,
    /// IANA time zone the times are in; the organisation's when absent.
    #[garde(inner(custom(crate::domain::settings::time_zone)))]
    #[schema(value_type = Option<crate::domain::settings::TimeZone>, example = "Europe/London")]
    pub time_zone: Option<String>,
}

impl QuietHours {
    /// When the quiet hours that `now` falls in end, in the person's zone (`zone` when they name
    /// none); none when `now` is outside them (or start and end are the same time: no quiet).
    pub fn until(&self, now: DateTime<Utc>, zone: Tz) -> Option<DateTime<Utc>> {
        let zone = self.time_zone.as_deref().and_then(|name| name.parse().ok()).unwrap_or(zone);
        let time = |text: &str| NaiveTime::parse_from_str(text, "%H:%M").ok();
        let (start, end) = (time(&self.start)?, time(&self.end)?);
        let local = now.with_timezone(&zone);
        let (today, at) = (local.date_naive(), local.time());
        let end_day = if start < end {
            (start <= at && at < end).then_some(today)?
        } else if start > end {
            if at >= start {
                today.checked_add_days(Days::new(1))?
            } else if at < end {
                today
            } else {
                return None;
            }
        } else {
            return None;
        };
        Some(resolve(zone, end_day, end))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    fn quiet(start: &str, end: &str) -> QuietHours {
        QuietHours { start: start.into(), end: end.into(), time_zone: None }
    }

    #[test]
    fn a_night_across_midnight_ends_the_next_morning_in_the_persons_zone() {
        let london: Tz = "Europe/London".parse().unwrap();
        let night = quiet("22:00", "07:00");
        // 23:30 BST on 1 July is 22:30 UTC: quiet until 07:00 BST, 06:00 UTC, the next day.
        assert_eq!(night.until(at("2030-07-01T22:30:00Z"), london), Some(at("2030-07-02T06:00:00Z")));
        // 05:00 BST: quiet until 07:00 the same day.
        assert_eq!(night.until(at("2030-07-02T04:00:00Z"), london), Some(at("2030-07-02T06:00:00Z")));
        // Both ends: 22:00 is quiet, 07:00 is not.
        assert_eq!(night.until(at("2030-07-01T21:00:00Z"), london), Some(at("2030-07-02T06:00:00Z")));
        assert_eq!(night.until(at("2030-07-02T06:00:00Z"), london), None);
        assert_eq!(night.until(at("2030-07-01T20:59:00Z"), london), None);
        // The person's own zone wins over the organisation's.
        let tokyo = QuietHours { time_zone: Some("Asia/Tokyo".into()), ..night.clone() };
        assert_eq!(tokyo.until(at("2030-07-01T14:00:00Z"), london), Some(at("2030-07-01T22:00:00Z")));
    }

    #[test]
    fn a_window_within_a_day_and_an_empty_one() {
        let utc: Tz = "UTC".parse().unwrap();
        let lunch = quiet("12:00", "13:30");
        assert_eq!(lunch.until(at("2030-07-01T12:15:00Z"), utc), Some(at("2030-07-01T13:30:00Z")));
        assert_eq!(lunch.until(at("2030-07-01T13:30:00Z"), utc), None);
        assert_eq!(lunch.until(at("2030-07-01T11:59:00Z"), utc), None);
        assert_eq!(quiet("07:00", "07:00").until(at("2030-07-01T07:00:00Z"), utc), None);
    }

    #[test]
    fn the_night_the_clocks_go_forward_ends_at_the_real_morning() {
        let london: Tz = "Europe/London".parse().unwrap();
        // 30–31 March 2030: 01:00 GMT becomes 02:00 BST. Quiet from 00:30 to 01:30, a time that
        // does not exist, ends at 02:30 BST (01:30 UTC), as every local time resolves here.
        let short = quiet("00:30", "01:30");
        assert_eq!(short.until(at("2030-03-31T00:45:00Z"), london), Some(at("2030-03-31T01:30:00Z")));
        // 22:00–07:00 that night: ends at 07:00 BST, 06:00 UTC.
        assert_eq!(quiet("22:00", "07:00").until(at("2030-03-30T23:00:00Z"), london), Some(at("2030-03-31T06:00:00Z")));
    }
}
