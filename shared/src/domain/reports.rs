//! The hours report: per group (a person, position, location, event or unit) and in total,
//! scheduled against worked minutes, regular and overtime, lateness, no-shows and cost. Pure: the
//! handler reads the places and records and names each one's group.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::payroll::{Hours, pay, split_each};
use super::settings::{Settings, Weekday};

/// What the report's rows are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    Person,
    Position,
    Location,
    Event,
    /// The person's unit (as they are now).
    Unit,
}

impl GroupBy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Person => "person",
            Self::Position => "position",
            Self::Location => "location",
            Self::Event => "event",
            Self::Unit => "unit",
        }
    }
}

/// A place that counts as scheduled on a published shift starting in the range.
#[derive(Debug, Clone, Copy)]
pub struct Place<'a> {
    /// Its group's id; `None`: no event, no unit.
    pub group: Option<&'a str>,
    /// The shift's length less its unpaid break.
    pub paid_minutes: i64,
}

/// An attendance record as the report reads it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Worked<'a> {
    pub person_id: &'a str,
    pub group: Option<&'a str>,
    /// The day its minutes count on: its check-in's, on the organisation's calendar.
    pub day: Option<NaiveDate>,
    /// Its shift starts in the range. Records of the week before the range are given too, only
    /// so that the week's overtime counts from its first day.
    pub in_range: bool,
    pub checked_in: bool,
    /// Checked in after the grace period.
    pub late: bool,
    pub absent: bool,
    pub worked_minutes: i64,
    /// The person's own hourly rate, else the position's default.
    pub rate_minor: Option<i64>,
}

/// A group's figures (or the total's).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HoursFigures {
    /// Places that count as scheduled (accepted, or offered unless offers need an answer) on
    /// published shifts starting in the range.
    pub scheduled_places: i64,
    /// Those places × their shifts' paid minutes.
    pub scheduled_minutes: i64,
    /// Attendance records of shifts starting in the range (checked in, or closed absent).
    pub records: i64,
    pub checked_in: i64,
    pub worked_minutes: i64,
    /// Worked minutes split as pay splits them (daily, then weekly thresholds, the week counted
    /// from its first day even when the range starts later).
    pub regular_minutes: i64,
    pub overtime_minutes: i64,
    /// Check-ins after the grace period.
    pub late: i64,
    /// Records closed with nobody checked in.
    pub absent: i64,
    /// `late` ÷ `checked_in` (0 without check-ins), to 4 decimals.
    pub late_rate: f64,
    /// `absent` ÷ `records` (0 without records), to 4 decimals.
    pub no_show_rate: f64,
    /// What the worked minutes cost, for those who see costs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub costs: Option<HoursCosts>,
}

/// Worked minutes priced, in minor units of the organisation's currency.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HoursCosts {
    /// Regular minutes at the person's own rate (else the position's default), overtime at the
    /// organisation's overtime rate of it; each record's amount rounded once.
    pub cost_minor: i64,
    /// Worked minutes no rate prices (left out of `cost_minor`).
    pub unpriced_minutes: i64,
}

impl HoursFigures {
    fn add(&mut self, other: &Self) {
        self.scheduled_places += other.scheduled_places;
        self.scheduled_minutes += other.scheduled_minutes;
        self.records += other.records;
        self.checked_in += other.checked_in;
        self.worked_minutes += other.worked_minutes;
        self.regular_minutes += other.regular_minutes;
        self.overtime_minutes += other.overtime_minutes;
        self.late += other.late;
        self.absent += other.absent;
        let (costs, more) = (self.costs.get_or_insert_with(HoursCosts::default), other.costs.unwrap_or_default());
        costs.cost_minor += more.cost_minor;
        costs.unpriced_minutes += more.unpriced_minutes;
    }

    fn count(&mut self, record: &Worked, hours: Hours, settings: &Settings) {
        self.records += 1;
        self.checked_in += i64::from(record.checked_in);
        self.late += i64::from(record.checked_in && record.late);
        self.absent += i64::from(record.absent);
        self.worked_minutes += record.worked_minutes;
        self.regular_minutes += hours.regular_minutes;
        self.overtime_minutes += hours.overtime_minutes;
        let costs = self.costs.get_or_insert_with(HoursCosts::default);
        match record.rate_minor {
            Some(rate) => costs.cost_minor += pay(hours, rate, settings).gross_minor,
            None => costs.unpriced_minutes += record.worked_minutes,
        }
    }

    fn settle(mut self) -> Self {
        let share = |part: i64, whole: i64| match whole {
            0 => 0.0,
            whole => (part as f64 / whole as f64 * 10_000.0).round() / 10_000.0,
        };
        self.costs.get_or_insert_with(HoursCosts::default);
        self.late_rate = share(self.late, self.checked_in);
        self.no_show_rate = share(self.absent, self.records);
        self
    }
}

/// The figures of each group (by id; `None` the group of what has none) and their total, which
/// is their sum. A record's minutes split into regular and overtime with its person's other
/// records of the week in the order worked, so each group gets the overtime its own records made.
pub fn report<'a>(
    places: &[Place<'a>],
    worked: &[Worked<'a>],
    week_start: Weekday,
    settings: &Settings,
) -> (BTreeMap<Option<&'a str>, HoursFigures>, HoursFigures) {
    let mut groups: BTreeMap<Option<&'a str>, HoursFigures> = BTreeMap::new();
    for place in places {
        let figures = groups.entry(place.group).or_default();
        figures.scheduled_places += 1;
        figures.scheduled_minutes += place.paid_minutes;
    }
    for (record, hours) in worked.iter().zip(split_per_record(worked, week_start, settings)) {
        if record.in_range {
            groups.entry(record.group).or_default().count(record, hours, settings);
        }
    }
    let mut total = HoursFigures::default();
    for figures in groups.values() {
        total.add(figures);
    }
    (groups.into_iter().map(|(group, figures)| (group, figures.settle())).collect(), total.settle())
}

/// Each record's regular and overtime minutes: its person's records in the order worked (by day,
/// then as given), split as pay splits them. A record without a check-in day is regular time.
fn split_per_record(worked: &[Worked], week_start: Weekday, settings: &Settings) -> Vec<Hours> {
    let mut split = vec![Hours::default(); worked.len()];
    let mut by_person: BTreeMap<&str, Vec<(NaiveDate, usize)>> = BTreeMap::new();
    for (index, record) in worked.iter().enumerate() {
        match record.day {
            Some(day) => by_person.entry(record.person_id).or_default().push((day, index)),
            None => split[index].regular_minutes = record.worked_minutes.max(0),
        }
    }
    for mut days in by_person.into_values() {
        days.sort();
        let shares: Vec<(NaiveDate, i64)> =
            days.iter().map(|&(day, index)| (day, worked[index].worked_minutes)).collect();
        for ((_, index), hours) in days.into_iter().zip(split_each(&shares, week_start, settings)) {
            split[index] = hours;
        }
    }
    split
}

#[cfg(test)]
mod tests {
    use chrono::Days;

    use super::*;

    const MONDAY: NaiveDate = NaiveDate::from_ymd_opt(2030, 7, 1).unwrap();

    fn day(offset: u64) -> Option<NaiveDate> {
        Some(MONDAY + Days::new(offset))
    }

    fn shift<'a>(person_id: &'a str, group: &'a str, offset: u64, minutes: i64) -> Worked<'a> {
        Worked {
            person_id,
            group: Some(group),
            day: day(offset),
            in_range: true,
            checked_in: true,
            worked_minutes: minutes,
            rate_minor: Some(1_200),
            ..Worked::default()
        }
    }

    #[test]
    fn groups_add_up_to_the_total_and_overtime_counts_from_the_weeks_first_day() {
        let settings = Settings::default();
        // Ann worked 8 h Monday to Thursday before the range; on Friday (in it) 8 h, of which the
        // week's threshold leaves 8 h regular, then 2 h on Saturday, all overtime.
        let mut worked: Vec<Worked> =
            (0..4).map(|offset| Worked { in_range: false, ..shift("ann", "bar", offset, 480) }).collect();
        worked.push(shift("ann", "bar", 4, 480));
        worked.push(Worked { late: true, ..shift("ann", "door", 5, 120) });
        // Bob: a 9-hour Friday (1 h daily overtime) and an absence; Cy has no rate.
        worked.push(shift("bob", "door", 4, 540));
        worked.push(Worked { checked_in: false, absent: true, day: None, ..shift("bob", "door", 5, 0) });
        worked.push(Worked { rate_minor: None, ..shift("cy", "bar", 4, 300) });
        let places = [Place { group: Some("bar"), paid_minutes: 480 }, Place { group: None, paid_minutes: 240 }];

        let (groups, total) = report(&places, &worked, Weekday::Monday, &settings);

        let bar = &groups[&Some("bar")];
        assert_eq!((bar.scheduled_places, bar.scheduled_minutes), (1, 480));
        assert_eq!((bar.records, bar.checked_in, bar.worked_minutes), (2, 2, 780));
        assert_eq!((bar.regular_minutes, bar.overtime_minutes), (780, 0));
        // 8 h at 12.00; Cy's 5 h unpriced.
        assert_eq!(bar.costs, Some(HoursCosts { cost_minor: 9_600, unpriced_minutes: 300 }));
        let door = &groups[&Some("door")];
        assert_eq!((door.records, door.checked_in, door.late, door.absent), (3, 2, 1, 1));
        assert_eq!((door.regular_minutes, door.overtime_minutes), (480, 180));
        // Bob 8 h + 1 h at 150 %, Ann 2 h at 150 %: 9,600 + 1,800 + 3,600.
        assert_eq!(door.costs, Some(HoursCosts { cost_minor: 15_000, unpriced_minutes: 0 }));
        assert_eq!((door.late_rate, door.no_show_rate), (0.5, 0.3333));
        let none = &groups[&None];
        assert_eq!((none.scheduled_places, none.records, none.late_rate), (1, 0, 0.0));

        assert_eq!((total.scheduled_places, total.scheduled_minutes), (2, 720));
        assert_eq!((total.records, total.worked_minutes), (5, 1_440));
        assert_eq!(total.regular_minutes + total.overtime_minutes, total.worked_minutes);
        assert_eq!(total.costs, Some(HoursCosts { cost_minor: 24_600, unpriced_minutes: 300 }));
        assert_eq!((total.late_rate, total.no_show_rate), (0.25, 0.2));
    }
}
