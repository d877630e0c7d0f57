//! The weekly-hours check: how many minutes each person has in a week — worked (settled
//! attendance records) plus still scheduled (places on shifts not yet ended and not yet
//! settled) — against their cap, and who is near (90 %) or over it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// From this share of the cap (in percent) a person is near it.
pub const NEAR_PERCENT: i64 = 90;

/// A place a person holds on a shift of the week that counts as scheduled.
#[derive(Debug, Clone)]
pub struct Place {
    pub person_id: String,
    pub shift_id: String,
    pub end: DateTime<Utc>,
    /// The shift's paid minutes (its length less the unpaid break).
    pub paid_minutes: i64,
}

/// An attendance record of a shift of the week.
#[derive(Debug, Clone)]
pub struct Record {
    pub person_id: String,
    pub shift_id: String,
    pub worked_minutes: i64,
    /// Its worked minutes are final: checked out, closed by the scheduled job, or corrected.
    pub settled: bool,
}

/// One person's minutes in the week.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Load {
    pub worked_minutes: i64,
    pub scheduled_minutes: i64,
}

impl Load {
    pub fn total(&self) -> i64 {
        self.worked_minutes + self.scheduled_minutes
    }
}

/// Each person's load at `now`: settled records count what was worked; a place whose record is
/// not settled counts its paid minutes while its shift has not ended (someone checked in and
/// still on site is still scheduled), and nothing once it has ended unsettled.
pub fn week_loads(places: &[Place], records: &[Record], now: DateTime<Utc>) -> BTreeMap<String, Load> {
    let mut loads: BTreeMap<String, Load> = BTreeMap::new();
    for record in records.iter().filter(|record| record.settled) {
        loads.entry(record.person_id.clone()).or_default().worked_minutes += record.worked_minutes;
    }
    for place in places {
        let settled = records
            .iter()
            .any(|record| record.settled && record.person_id == place.person_id && record.shift_id == place.shift_id);
        if !settled && place.end > now {
            loads.entry(place.person_id.clone()).or_default().scheduled_minutes += place.paid_minutes;
        }
    }
    loads
}

/// How close to their cap a person is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// At least 90 % of the cap, not beyond it.
    Near,
    /// Beyond the cap.
    Over,
}

/// Where `total_minutes` stands against a cap of `cap_hours`: none below 90 %.
pub fn level(total_minutes: i64, cap_hours: u32) -> Option<Level> {
    let cap_minutes = i64::from(cap_hours) * 60;
    if total_minutes > cap_minutes {
        Some(Level::Over)
    } else if total_minutes * 100 >= cap_minutes * NEAR_PERCENT {
        Some(Level::Near)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn place(person: &str, shift: &str, end: &str, paid_minutes: i64) -> Place {
        Place { person_id: person.into(), shift_id: shift.into(), end: at(end), paid_minutes }
    }

    fn record(person: &str, shift: &str, worked_minutes: i64, settled: bool) -> Record {
        Record { person_id: person.into(), shift_id: shift.into(), worked_minutes, settled }
    }

    #[test]
    fn worked_minutes_count_once_settled_and_scheduled_ones_until_the_shift_ends() {
        let now = at("2030-07-03T12:00:00Z");
        let places = [
            // Worked and checked out on Monday: its record counts, not the plan.
            place("ann", "mon", "2030-07-01T17:00:00Z", 450),
            // On site now, checked in, not out: still scheduled.
            place("ann", "wed", "2030-07-03T17:00:00Z", 450),
            // Later in the week.
            place("ann", "fri", "2030-07-05T17:00:00Z", 450),
            // Tuesday's, never settled and over: nothing.
            place("bob", "tue", "2030-07-02T17:00:00Z", 450),
        ];
        let records = [record("ann", "mon", 465, true), record("ann", "wed", 0, false), record("bob", "tue", 0, false)];
        let loads = week_loads(&places, &records, now);
        assert_eq!(loads["ann"], Load { worked_minutes: 465, scheduled_minutes: 900 });
        assert_eq!(loads["ann"].total(), 1365);
        assert!(!loads.contains_key("bob"));
    }

    #[test]
    fn a_record_without_a_place_still_counts_what_was_worked() {
        let loads = week_loads(&[], &[record("cy", "mon", 120, true)], at("2030-07-03T12:00:00Z"));
        assert_eq!(loads["cy"], Load { worked_minutes: 120, scheduled_minutes: 0 });
    }

    #[test]
    fn near_is_from_ninety_percent_and_over_is_beyond_the_cap() {
        assert_eq!(level(40 * 60 - 1, 40), Some(Level::Near));
        assert_eq!(level(36 * 60, 40), Some(Level::Near));
        assert_eq!(level(36 * 60 - 1, 40), None);
        assert_eq!(level(40 * 60, 40), Some(Level::Near));
        assert_eq!(level(40 * 60 + 1, 40), Some(Level::Over));
        assert_eq!(level(0, 1), None);
    }
}
