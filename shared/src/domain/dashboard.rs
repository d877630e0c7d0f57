//! An event's dashboard: what each of its shifts' tallies adds up to, per day and in total.
//! A shift's tally is kept where things change (see `store::dashboard`): the shift's own writes
//! set its places, placements and removals count its filled places, and every attendance write
//! adds the difference its record makes ([`Presence`] after less before). Pure.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::payroll::rounded;

/// What one attendance record counts for on its shift's tally (and, added up, the tally's
/// attendance counters, named as its item's attributes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Presence {
    /// Checked in, not out, and the window still open.
    pub on_site: i64,
    pub checked_out: i64,
    /// Checked in after the grace period.
    pub late: i64,
    pub absent: i64,
    pub awaiting_review: i64,
    pub worked_minutes: i64,
    /// Worked minutes at the person's own rate, in minor units.
    pub cost_minor: i64,
    /// Worked minutes of people without a rate of their own (priced at the position's default
    /// when the figures are added up).
    pub unpriced_minutes: i64,
}

/// The facts of a record that [`Presence`] reads.
#[derive(Debug, Clone, Copy, Default)]
pub struct Record {
    pub checked_in: bool,
    pub checked_out: bool,
    pub window_closed: bool,
    pub absent: bool,
    pub late_minutes: i64,
    pub awaiting_review: bool,
    pub worked_minutes: i64,
    pub rate_minor: Option<u64>,
}

impl Presence {
    /// The counter names, as the tally item's attributes spell them.
    pub const FIELDS: [&'static str; 8] = [
        "on_site",
        "checked_out",
        "late",
        "absent",
        "awaiting_review",
        "worked_minutes",
        "cost_minor",
        "unpriced_minutes",
    ];

    pub fn of(record: &Record) -> Self {
        let flag = |on: bool| i64::from(on);
        let (cost_minor, unpriced_minutes) = match record.rate_minor {
            Some(rate) => (rounded(i128::from(record.worked_minutes) * i128::from(rate), 60), 0),
            None => (0, record.worked_minutes),
        };
        Self {
            on_site: flag(record.checked_in && !record.checked_out && !record.window_closed && !record.absent),
            checked_out: flag(record.checked_out),
            late: flag(record.checked_in && record.late_minutes > 0),
            absent: flag(record.absent),
            awaiting_review: flag(record.awaiting_review),
            worked_minutes: record.worked_minutes,
            cost_minor,
            unpriced_minutes,
        }
    }

    /// Each counter with its value, in [`Self::FIELDS`]' order.
    pub fn values(&self) -> [i64; 8] {
        [
            self.on_site,
            self.checked_out,
            self.late,
            self.absent,
            self.awaiting_review,
            self.worked_minutes,
            self.cost_minor,
            self.unpriced_minutes,
        ]
    }

    /// What changes from `before` to `self`, counter by counter.
    pub fn less(&self, before: &Self) -> [i64; 8] {
        let (after, before) = (self.values(), before.values());
        std::array::from_fn(|i| after[i] - before[i])
    }
}

/// One shift's tally as stored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ShiftTally {
    pub shift_id: String,
    /// The day the shift starts on its location's calendar (`YYYY-MM-DD`).
    pub date: String,
    /// Its headcount; 0 once cancelled.
    pub places: i64,
    /// Places held (offered or accepted).
    pub filled: i64,
    pub cancelled: bool,
    /// Each place's paid minutes: the shift's length less its unpaid break.
    pub paid_minutes: i64,
    /// The position's default hourly rate when the shift was made, for the estimate.
    pub rate_minor: Option<u64>,
    /// The import that added the shift, while it may not have committed.
    pub import_id: Option<String>,
    /// Its attendance records' presences, added up.
    #[serde(flatten)]
    pub presence: Presence,
}

/// A day's figures (or the whole event's).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DayFigures {
    /// `YYYY-MM-DD`; absent on the total.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// Shifts that are not cancelled.
    pub shifts: u32,
    /// Places over those shifts (their headcounts), how many are held (offered or accepted) and
    /// how many nobody holds.
    pub places: i64,
    pub filled: i64,
    pub open: i64,
    /// `filled / places`, 0–1 to four places (0 without places).
    pub fill_rate: f64,
    /// Checked in and not out while the check-in window is open.
    pub on_site: i64,
    pub checked_out: i64,
    /// Checked in after the grace period.
    pub late: i64,
    /// No check-in by the time the window closed.
    pub absent: i64,
    /// Check-ins waiting in the review queue.
    pub awaiting_review: i64,
    /// Places × paid minutes: what the schedule plans.
    pub scheduled_minutes: i64,
    pub worked_minutes: i64,
    /// What it costs, for those who see pay.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub costs: Option<DayCosts>,
}

/// A day's cost so far against its estimate, in minor units of the organisation's currency.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DayCosts {
    /// Worked minutes at each person's own hourly rate, else the position's default.
    pub cost_minor: i64,
    /// Worked minutes no rate prices (left out of `cost_minor`).
    pub unpriced_minutes: i64,
    /// The places at their position's default rate when the shift was made.
    pub estimate_minor: i64,
    /// Places without a default rate (left out of `estimate_minor`).
    pub unpriced_places: i64,
}

impl DayFigures {
    fn add(&mut self, tally: &ShiftTally) {
        let costs = self.costs.get_or_insert_with(DayCosts::default);
        if !tally.cancelled {
            self.shifts += 1;
            self.places += tally.places;
            self.filled += tally.filled;
            self.scheduled_minutes += tally.places * tally.paid_minutes;
            match tally.rate_minor {
                Some(rate) => {
                    costs.estimate_minor +=
                        rounded(i128::from(tally.places * tally.paid_minutes) * i128::from(rate), 60)
                }
                None => costs.unpriced_places += tally.places,
            }
        }
        // People may have worked a shift before it was cancelled: what they did still counts.
        // Minutes of people without a rate of their own are priced at the position's default.
        let presence = &tally.presence;
        let (cost_minor, unpriced_minutes) = match tally.rate_minor {
            Some(rate) => {
                (presence.cost_minor + rounded(i128::from(presence.unpriced_minutes) * i128::from(rate), 60), 0)
            }
            None => (presence.cost_minor, presence.unpriced_minutes),
        };
        self.on_site += presence.on_site;
        self.checked_out += presence.checked_out;
        self.late += presence.late;
        self.absent += presence.absent;
        self.awaiting_review += presence.awaiting_review;
        self.worked_minutes += presence.worked_minutes;
        costs.cost_minor += cost_minor;
        costs.unpriced_minutes += unpriced_minutes;
    }

    fn settle(mut self) -> Self {
        self.costs.get_or_insert_with(DayCosts::default);
        self.open = (self.places - self.filled).max(0);
        self.fill_rate = match self.places {
            0 => 0.0,
            places => (self.filled as f64 / places as f64 * 10_000.0).round() / 10_000.0,
        };
        self
    }
}

/// The tallies' figures per day (in date order; a day of only cancelled shifts nobody worked is
/// no day) and in total.
pub fn figures(tallies: &[ShiftTally]) -> (Vec<DayFigures>, DayFigures) {
    let mut days: BTreeMap<&str, DayFigures> = BTreeMap::new();
    let mut total = DayFigures::default();
    for tally in tallies {
        let day = days
            .entry(tally.date.as_str())
            .or_insert_with(|| DayFigures { date: Some(tally.date.clone()), ..DayFigures::default() });
        day.add(tally);
        total.add(tally);
    }
    let worked = |day: &DayFigures| {
        [day.on_site, day.checked_out, day.late, day.absent, day.awaiting_review, day.worked_minutes]
            .iter()
            .any(|count| *count != 0)
    };
    let days = days.into_values().filter(|day| day.shifts > 0 || worked(day)).map(DayFigures::settle).collect();
    (days, total.settle())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checked_in(late_minutes: i64) -> Record {
        Record { checked_in: true, late_minutes, rate_minor: Some(1_500), ..Record::default() }
    }

    #[test]
    fn a_check_in_puts_someone_on_site_and_a_check_out_takes_them_off() {
        let arrived = Presence::of(&checked_in(0));
        assert_eq!((arrived.on_site, arrived.checked_out, arrived.late), (1, 0, 0));
        let left = Presence::of(&Record { checked_out: true, worked_minutes: 90, ..checked_in(0) });
        assert_eq!(left.less(&arrived), [-1, 1, 0, 0, 0, 90, 2_250, 0]);
    }

    #[test]
    fn late_absent_review_and_the_closed_window() {
        assert_eq!(Presence::of(&checked_in(7)).late, 1);
        let absent = Presence::of(&Record { absent: true, window_closed: true, ..Record::default() });
        assert_eq!((absent.absent, absent.on_site, absent.late), (1, 0, 0));
        let never_left = Presence::of(&Record { window_closed: true, awaiting_review: true, ..checked_in(0) });
        assert_eq!((never_left.on_site, never_left.awaiting_review), (0, 1));
    }

    #[test]
    fn minutes_without_a_rate_are_unpriced_and_cost_rounds_half_up() {
        let unpriced = Presence::of(&Record { worked_minutes: 61, rate_minor: None, ..checked_in(0) });
        assert_eq!((unpriced.cost_minor, unpriced.unpriced_minutes), (0, 61));
        // 1 minute at 30 per hour is 0.5: rounds to 1.
        let half = Presence::of(&Record { worked_minutes: 1, rate_minor: Some(30), ..checked_in(0) });
        assert_eq!(half.cost_minor, 1);
    }

    fn tally(shift: &str, date: &str, places: i64, filled: i64) -> ShiftTally {
        ShiftTally {
            shift_id: shift.into(),
            date: date.into(),
            places,
            filled,
            paid_minutes: 480,
            rate_minor: Some(1_200),
            ..ShiftTally::default()
        }
    }

    #[test]
    fn days_and_the_total_add_up_and_cancelled_places_leave_the_plan() {
        let cancelled = ShiftTally {
            cancelled: true,
            presence: Presence { worked_minutes: 30, ..Presence::default() },
            ..tally("c", "2030-05-01", 4, 2)
        };
        let unpriced = ShiftTally { rate_minor: None, ..tally("d", "2030-05-02", 2, 0) };
        let tallies = [tally("a", "2030-05-01", 3, 2), tally("b", "2030-05-02", 5, 5), cancelled, unpriced];
        let (days, total) = figures(&tallies);
        assert_eq!(days.len(), 2);
        let only_cancelled = ShiftTally { cancelled: true, ..tally("e", "2030-05-03", 2, 0) };
        assert_eq!(figures(&[only_cancelled]).0, []);
        let first = &days[0];
        assert_eq!(first.date.as_deref(), Some("2030-05-01"));
        assert_eq!((first.shifts, first.places, first.filled, first.open), (1, 3, 2, 1));
        assert_eq!(first.fill_rate, 0.6667);
        assert_eq!((first.worked_minutes, first.scheduled_minutes), (30, 1_440));
        assert_eq!(first.costs.as_ref().map(|costs| costs.estimate_minor), Some(28_800));
        let second = &days[1];
        let costs = second.costs.clone().unwrap_or_default();
        assert_eq!((second.places, second.filled, costs.unpriced_places, costs.estimate_minor), (7, 5, 2, 48_000));
        assert_eq!((total.shifts, total.places, total.filled, total.open), (3, 10, 7, 3));
        assert_eq!(total.fill_rate, 0.7);
        assert_eq!(total.date, None);
        let estimate = |day: &DayFigures| day.costs.as_ref().map_or(0, |costs| costs.estimate_minor);
        assert_eq!(estimate(&total), estimate(first) + estimate(second));
    }

    #[test]
    fn minutes_without_a_rate_of_their_own_are_priced_at_the_positions_default() {
        let worked = ShiftTally {
            presence: Presence { cost_minor: 2_000, unpriced_minutes: 90, ..Presence::default() },
            ..tally("a", "2030-05-01", 2, 2)
        };
        let (_, total) = figures(std::slice::from_ref(&worked));
        let costs = total.costs.unwrap_or_default();
        assert_eq!((costs.cost_minor, costs.unpriced_minutes), (2_000 + 1_800, 0));
        let (_, total) = figures(&[ShiftTally { rate_minor: None, ..worked }]);
        let costs = total.costs.unwrap_or_default();
        assert_eq!((costs.cost_minor, costs.unpriced_minutes), (2_000, 90));
    }

    #[test]
    fn no_places_is_a_fill_rate_of_nought() {
        let (days, total) = figures(&[]);
        assert!(days.is_empty());
        assert_eq!((total.places, total.fill_rate), (0, 0.0));
    }
}
