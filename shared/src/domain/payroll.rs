//! Pay rules: worked minutes split into regular and overtime (daily, then weekly, a minute
//! overtime at most once), and a pay stub's money in integer minor units. Pure: the caller
//! gathers each day's worked minutes (on the organisation's calendar) and the settings.

use std::collections::BTreeMap;

use chrono::{Datelike, Days, NaiveDate};

use crate::domain::settings::{Deduction, PayPeriod, Settings, Weekday};

/// A period's minutes, split.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Hours {
    pub regular_minutes: i64,
    pub overtime_minutes: i64,
}

/// Splits worked minutes per local date into regular and overtime. Per day, minutes beyond
/// `daily_overtime_after_minutes` are overtime; per week (from `week_start`), the regular minutes
/// beyond `weekly_overtime_after_minutes` are overtime too, counted in day order. Daily overtime
/// does not count towards the week's threshold, so no minute is overtime twice.
pub fn split(days: &BTreeMap<NaiveDate, i64>, week_start: Weekday, settings: &Settings) -> Hours {
    let shares: Vec<(NaiveDate, i64)> = days.iter().map(|(&date, &minutes)| (date, minutes)).collect();
    split_each(&shares, week_start, settings).into_iter().fold(Hours::default(), |sum, hours| Hours {
        regular_minutes: sum.regular_minutes + hours.regular_minutes,
        overtime_minutes: sum.overtime_minutes + hours.overtime_minutes,
    })
}

/// Splits each share of worked minutes — `(local date, minutes)` in the order they were worked,
/// a day's shares together — as [`split`] splits their days' sums: a share's minutes beyond the
/// day's threshold (the day's earlier shares counted first) are overtime, then its regular
/// minutes beyond the week's. Added up, the shares' splits are their days' split.
pub fn split_each(shares: &[(NaiveDate, i64)], week_start: Weekday, settings: &Settings) -> Vec<Hours> {
    let daily_after = i64::from(settings.daily_overtime_after_minutes);
    let weekly_after = i64::from(settings.weekly_overtime_after_minutes);
    let (mut week, mut week_regular) = (None, 0);
    let (mut day, mut day_minutes) = (None, 0);
    shares
        .iter()
        .map(|&(date, minutes)| {
            let this_week = first_day_of_week(date, week_start);
            if week != Some(this_week) {
                (week, week_regular) = (Some(this_week), 0);
            }
            if day != Some(date) {
                (day, day_minutes) = (Some(date), 0);
            }
            let minutes = minutes.max(0);
            let daily_overtime = (day_minutes + minutes - daily_after).max(0) - (day_minutes - daily_after).max(0);
            day_minutes += minutes;
            let regular = minutes - daily_overtime;
            let weekly_overtime = (week_regular + regular - weekly_after).clamp(0, regular);
            week_regular += regular - weekly_overtime;
            Hours { regular_minutes: regular - weekly_overtime, overtime_minutes: daily_overtime + weekly_overtime }
        })
        .collect()
}

/// The first day of the week `date` is in.
pub fn first_day_of_week(date: NaiveDate, week_start: Weekday) -> NaiveDate {
    date - Days::new(u64::from(date.weekday().days_since(week_start.into())))
}

/// The days of the pay period starting on `start`, both ends included, if `start` is a first
/// day of the week.
pub fn period(start: NaiveDate, week_start: Weekday, pay_period: PayPeriod) -> Option<(NaiveDate, NaiveDate)> {
    if first_day_of_week(start, week_start) != start {
        return None;
    }
    let weeks = match pay_period {
        PayPeriod::Weekly => 1,
        PayPeriod::Biweekly => 2,
    };
    Some((start, start.checked_add_days(Days::new(7 * weeks - 1))?))
}

/// One deduction taken from a stub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deducted {
    pub name: String,
    pub amount_minor: i64,
}

/// A stub's money: minor units of the organisation's currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pay {
    pub regular_minor: i64,
    pub overtime_minor: i64,
    pub gross_minor: i64,
    pub deductions: Vec<Deducted>,
    pub net_minor: i64,
}

/// What `hours` pay at `hourly_rate_minor` per hour, overtime at `overtime_rate_percent` of it,
/// less the flat deductions (each a share of gross in basis points). Each amount is rounded half
/// up to the minor unit once; net is gross less the rounded deductions, never below zero.
pub fn pay(hours: Hours, hourly_rate_minor: i64, settings: &Settings) -> Pay {
    let regular_minor = rounded(i128::from(hours.regular_minutes) * i128::from(hourly_rate_minor), 60);
    let overtime_minor = rounded(
        i128::from(hours.overtime_minutes) * i128::from(hourly_rate_minor) * i128::from(settings.overtime_rate_percent),
        60 * 100,
    );
    let gross_minor = regular_minor + overtime_minor;
    let deductions: Vec<Deducted> = settings
        .deductions
        .iter()
        .map(|Deduction { name, basis_points }| Deducted {
            name: name.clone(),
            amount_minor: rounded(i128::from(gross_minor) * i128::from(*basis_points), 10_000),
        })
        .collect();
    let net_minor = (gross_minor - deductions.iter().map(|d| d.amount_minor).sum::<i64>()).max(0);
    Pay { regular_minor, overtime_minor, gross_minor, deductions, net_minor }
}

/// A shift as a cost estimate sees it: its paid minutes per place, the hourly rate of each
/// person holding a place, and its open places with the rate they would be filled at (`None`
/// where no rate is known).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staffing {
    pub paid_minutes: i64,
    pub assignee_rates: Vec<Option<i64>>,
    pub open_places: u32,
    pub open_rate: Option<i64>,
}

/// What a shift's places cost at straight rates, in minor units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cost {
    pub assigned_minor: i64,
    pub open_minor: i64,
    /// Places without a rate: left out of both sums.
    pub unpriced_places: u32,
}

/// Prices a shift at straight rates: overtime depends on each person's whole week, which an
/// estimate of one event does not know. Each person's amount is rounded half up once; the open
/// places are priced together.
pub fn straight_cost(staffing: &Staffing) -> Cost {
    let minutes = i128::from(staffing.paid_minutes.max(0));
    let mut cost = Cost::default();
    for rate in &staffing.assignee_rates {
        match rate {
            Some(rate) => cost.assigned_minor += rounded(minutes * i128::from(*rate), 60),
            None => cost.unpriced_places += 1,
        }
    }
    match staffing.open_rate {
        Some(rate) => cost.open_minor = rounded(minutes * i128::from(staffing.open_places) * i128::from(rate), 60),
        None => cost.unpriced_places += staffing.open_places,
    }
    cost
}

/// `numerator / denominator` rounded half up (both non-negative).
pub(crate) fn rounded(numerator: i128, denominator: i128) -> i64 {
    ((numerator * 2 + denominator) / (denominator * 2)) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    /// `minutes` worked on each of `count` days from `first`.
    fn days(first: NaiveDate, count: u64, minutes: i64) -> BTreeMap<NaiveDate, i64> {
        (0..count).map(|i| (first + Days::new(i), minutes)).collect()
    }

    #[test]
    fn a_seven_day_week_of_ten_hour_days_counts_each_overtime_minute_once() {
        // Monday 2030-07-01 on: 70 h. Daily: 2 h a day over 8 h (14 h). Weekly: the regular 8 h of
        // days 6 and 7 are beyond 40 h (16 h). Regular 40 h, overtime 30 h.
        let hours = split(&days(date(2030, 7, 1), 7, 600), Weekday::Monday, &Settings::default());
        assert_eq!(hours, Hours { regular_minutes: 40 * 60, overtime_minutes: 30 * 60 });
    }

    #[test]
    fn daily_and_weekly_thresholds_apply_on_their_own() {
        let settings = Settings::default();
        // One 9-hour day: 1 h daily overtime.
        let one = split(&days(date(2030, 7, 1), 1, 540), Weekday::Monday, &settings);
        assert_eq!(one, Hours { regular_minutes: 480, overtime_minutes: 60 });
        // Six 7-hour days: no daily overtime, 42 h in the week, 2 h weekly overtime.
        let six = split(&days(date(2030, 7, 1), 6, 420), Weekday::Monday, &settings);
        assert_eq!(six, Hours { regular_minutes: 40 * 60, overtime_minutes: 2 * 60 });
        // Exactly 8 h a day for five days: 40 h, nothing over.
        let five = split(&days(date(2030, 7, 1), 5, 480), Weekday::Monday, &settings);
        assert_eq!(five, Hours { regular_minutes: 40 * 60, overtime_minutes: 0 });
    }

    #[test]
    fn weeks_start_on_the_organisations_week_start() {
        let settings = Settings::default();
        // Six 7-hour days Thursday to Tuesday: with Monday weeks, 4 + 2 days (28 h + 14 h), no
        // weekly overtime; with Thursday weeks, all six in one week (42 h), 2 h over.
        let thursday_on = days(date(2030, 7, 4), 6, 420);
        assert_eq!(split(&thursday_on, Weekday::Monday, &settings).overtime_minutes, 0);
        assert_eq!(split(&thursday_on, Weekday::Thursday, &settings).overtime_minutes, 120);
    }

    #[test]
    fn a_biweekly_period_is_two_weeks_each_with_its_own_threshold() {
        let (first, last) = period(date(2030, 7, 1), Weekday::Monday, PayPeriod::Biweekly).unwrap();
        assert_eq!((first, last), (date(2030, 7, 1), date(2030, 7, 14)));
        // 45 h in each week: 5 h weekly overtime each, not 10 h over 80.
        let worked = days(first, 5, 540).into_iter().chain(days(date(2030, 7, 8), 5, 540)).collect();
        let hours = split(&worked, Weekday::Monday, &Settings::default());
        assert_eq!(hours, Hours { regular_minutes: 80 * 60, overtime_minutes: 10 * 60 });
        assert_eq!(period(date(2030, 7, 2), Weekday::Monday, PayPeriod::Weekly), None, "a Tuesday");
        assert_eq!(
            period(date(2030, 6, 30), Weekday::Sunday, PayPeriod::Weekly),
            Some((date(2030, 6, 30), date(2030, 7, 6)))
        );
    }

    #[test]
    fn each_share_gets_its_part_of_the_days_split_and_the_parts_add_up_to_it() {
        let settings = Settings::default();
        let monday = date(2030, 7, 1);
        // Monday: 5 h then 5 h (the second crosses 8 h: 2 h overtime); Tuesday to Friday 8 h;
        // Saturday 3 h, all beyond the week's 40 regular hours.
        let mut shares = vec![(monday, 300), (monday, 300)];
        shares.extend((1..5).map(|i| (monday + Days::new(i), 480)));
        shares.push((monday + Days::new(5), 180));
        let each = split_each(&shares, Weekday::Monday, &settings);
        assert_eq!(each[0], Hours { regular_minutes: 300, overtime_minutes: 0 });
        assert_eq!(each[1], Hours { regular_minutes: 180, overtime_minutes: 120 });
        // 480 regular on Monday + 4 × 480 = 2,400: the week's threshold reached on Friday.
        assert_eq!(each[5], Hours { regular_minutes: 480, overtime_minutes: 0 });
        assert_eq!(each[6], Hours { regular_minutes: 0, overtime_minutes: 180 });
        let mut days: BTreeMap<NaiveDate, i64> = BTreeMap::new();
        for (day, minutes) in &shares {
            *days.entry(*day).or_default() += minutes;
        }
        let whole = split(&days, Weekday::Monday, &settings);
        assert_eq!(whole.regular_minutes, each.iter().map(|h| h.regular_minutes).sum::<i64>());
        assert_eq!(whole.overtime_minutes, each.iter().map(|h| h.overtime_minutes).sum::<i64>());
        assert_eq!(whole, Hours { regular_minutes: 2_400, overtime_minutes: 300 });
    }

    #[test]
    fn a_shift_costs_each_place_at_its_rate_and_counts_the_unpriced() {
        // 7.5 paid hours: 10.01 an hour is 75.075 (75.08), 12.00 is 90.00; three open places at
        // 9.99 are 224.775 (224.78) together, not 3 × 74.93.
        let staffing = Staffing {
            paid_minutes: 450,
            assignee_rates: vec![Some(1001), Some(1200), None],
            open_places: 3,
            open_rate: Some(999),
        };
        assert_eq!(
            straight_cost(&staffing),
            Cost { assigned_minor: 7508 + 9000, open_minor: 22_478, unpriced_places: 1 }
        );
        // No default rate for the position: its open places are unpriced, not free.
        let unknown = Staffing { open_rate: None, ..staffing };
        assert_eq!(straight_cost(&unknown), Cost { assigned_minor: 16_508, open_minor: 0, unpriced_places: 4 });
        // A shift whose break is longer than it costs nothing, never less.
        let empty =
            Staffing { paid_minutes: -30, assignee_rates: vec![Some(1200)], open_places: 1, open_rate: Some(1200) };
        assert_eq!(straight_cost(&empty), Cost::default());
    }

    #[test]
    fn pay_is_integer_minor_units_rounded_once() {
        let settings = Settings {
            deductions: vec![
                Deduction { name: "Tax".into(), basis_points: 2000 },
                Deduction { name: "Pension".into(), basis_points: 333 },
            ],
            ..Settings::default()
        };
        // 40 h at 12.34 an hour and 30 h overtime at 1.5×.
        let hours = Hours { regular_minutes: 40 * 60, overtime_minutes: 30 * 60 };
        let pay = pay(hours, 1234, &settings);
        assert_eq!((pay.regular_minor, pay.overtime_minor, pay.gross_minor), (49_360, 55_530, 104_890));
        assert_eq!(pay.deductions[0].amount_minor, 20_978);
        assert_eq!(pay.deductions[1].amount_minor, 3_493); // 3492.837 rounds up
        assert_eq!(pay.net_minor, 104_890 - 20_978 - 3_493);
        // A minute at 10.01 an hour is 16.68… minor units: 17.
        let minute = super::pay(Hours { regular_minutes: 1, overtime_minutes: 0 }, 1001, &Settings::default());
        assert_eq!((minute.gross_minor, minute.net_minor), (17, 17));
    }
}
