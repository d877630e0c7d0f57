//! Wall-clock times and real instants. Shifts are planned in local time at a location ("22:00 to
//! 06:00 in Europe/London") but stored, compared and paid as UTC instants; every conversion goes
//! through here so that daylight-saving nights have one defined answer everywhere.

use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveDateTime, NaiveTime, SecondsFormat, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

use crate::domain::settings::Weekday;

/// The longest shift, in minutes.
pub const MAX_SHIFT_MINUTES: i64 = 24 * 60;

/// A local wall-clock time resolved to an instant in `zone`.
///
/// Every local time has exactly one answer:
/// - a time that exists once is that instant;
/// - a time in a spring-forward gap (the clocks skip it) is moved later by the length of the gap,
///   like java.time's `ZonedDateTime.of`: Europe/London 2030-03-31 01:30 becomes 02:30 BST,
///   01:30 UTC;
/// - an ambiguous time in an autumn overlap (it happens twice) is the earlier instant, the first
///   occurrence, still on the summer offset: Europe/London 2030-10-27 01:30 is 00:30 UTC.
pub fn resolve(zone: Tz, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let local = date.and_time(time);
    match zone.from_local_datetime(&local) {
        chrono::LocalResult::Single(instant) => instant.to_utc(),
        chrono::LocalResult::Ambiguous(first, second) => first.to_utc().min(second.to_utc()),
        // In a gap, read the wall-clock time with the offset in force before the gap: the instant
        // lands after the transition, as far past it as the local time is past the gap's start.
        chrono::LocalResult::None => {
            let before = offset_before_gap(zone, local);
            (local - before).and_utc()
        }
    }
}

/// The UTC offset in force just before the gap that swallows `local`. The transition lies within
/// the largest UTC offset (under a day) of the naive instant, and no zone changes its offset twice
/// in one day, so a day earlier is still on the old offset.
fn offset_before_gap(zone: Tz, local: NaiveDateTime) -> TimeDelta {
    let day_before = (local - TimeDelta::days(1)).and_utc();
    let offset = zone.offset_from_utc_datetime(&day_before.naive_utc());
    TimeDelta::seconds(i64::from(chrono::Offset::fix(&offset).local_minus_utc()))
}

/// One occurrence of a weekly pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Occurrence {
    /// The local date it starts on.
    pub date: NaiveDate,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// Why a weekly pattern cannot be expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpandError {
    /// `to` is before `from`.
    EmptyRange,
    /// The pattern would give more than `max` occurrences.
    TooMany { max: usize },
    /// The start and end times are equal, so it is neither a day shift nor an overnight one.
    ZeroLength,
}

impl std::fmt::Display for ExpandError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::EmptyRange => f.write_str("the range ends before it starts"),
            Self::TooMany { max } => write!(f, "the pattern gives more than {max} occurrences"),
            Self::ZeroLength => f.write_str("the start and end times are equal"),
        }
    }
}

impl std::error::Error for ExpandError {}

/// Every date from `from` to `to` inclusive whose weekday is in `weekdays`, in date order.
///
/// Each occurrence starts at `resolve(zone, date, start_local)` and ends at `end_local` on the same
/// date, or on the next date when `end_local <= start_local` (overnight). Lengths are real time: a
/// 22:00–06:00 shift on the night the clocks go forward lasts 7 h, on the night they go back 9 h.
/// A weekday listed twice counts once. The occurrences are counted before any is built, so a huge
/// range fails with [`ExpandError::TooMany`] instead of allocating.
///
/// # Panics
/// Only when an overnight occurrence would end after `NaiveDate::MAX` (year 262143).
pub fn expand_weekly(
    zone: Tz,
    weekdays: &[Weekday],
    start_local: NaiveTime,
    end_local: NaiveTime,
    from: NaiveDate,
    to: NaiveDate,
    max: usize,
) -> Result<Vec<Occurrence>, ExpandError> {
    if to < from {
        return Err(ExpandError::EmptyRange);
    }
    if start_local == end_local {
        return Err(ExpandError::ZeroLength);
    }
    let mut wanted = [false; 7];
    for &weekday in weekdays {
        wanted[chrono::Weekday::from(weekday).num_days_from_monday() as usize] = true;
    }
    let count = count_matching_days(&wanted, from, to);
    if count > max as u64 {
        return Err(ExpandError::TooMany { max });
    }
    let overnight = end_local <= start_local;
    let occurrences = from
        .iter_days()
        .take_while(|date| *date <= to)
        .filter(|date| wanted[date.weekday().num_days_from_monday() as usize])
        .map(|date| {
            let end_date = if overnight { date + Days::new(1) } else { date };
            Occurrence { date, start: resolve(zone, date, start_local), end: resolve(zone, end_date, end_local) }
        })
        .collect();
    Ok(occurrences)
}

/// How many dates in `from..=to` fall on a wanted weekday (indexed from Monday), without walking
/// the range: whole weeks contribute every wanted weekday, the remainder is walked.
fn count_matching_days(wanted: &[bool; 7], from: NaiveDate, to: NaiveDate) -> u64 {
    let days = (to - from).num_days() as u64 + 1;
    let per_week = wanted.iter().filter(|w| **w).count() as u64;
    let first = u64::from(from.weekday().num_days_from_monday());
    let remainder = (0..days % 7).filter(|offset| wanted[((first + offset) % 7) as usize]).count() as u64;
    days / 7 * per_week + remainder
}

/// The instant as RFC 3339 with `zone`'s offset at that instant, to the second:
/// "2030-03-30T22:00:00+00:00", "2030-04-01T06:00:00+01:00".
pub fn local_rfc3339(instant: DateTime<Utc>, zone: Tz) -> String {
    instant.with_timezone(&zone).to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// The local calendar date of an instant in `zone`.
pub fn local_date(instant: DateTime<Utc>, zone: Tz) -> NaiveDate {
    instant.with_timezone(&zone).date_naive()
}

/// The week containing `instant` in `zone`, weeks starting on `week_start` at local midnight, as
/// `[start, end)` in UTC. A week with a clock change is 167 or 169 hours long. A midnight that does
/// not exist resolves like [`resolve`] does.
///
/// # Panics
/// Only for an instant in the last week chrono can represent (year 262143).
pub fn week_bounds(instant: DateTime<Utc>, zone: Tz, week_start: Weekday) -> (DateTime<Utc>, DateTime<Utc>) {
    let date = local_date(instant, zone);
    let days_into_week = date.weekday().days_since(week_start.into());
    let first_day = date - Days::new(u64::from(days_into_week));
    let start = resolve(zone, first_day, NaiveTime::MIN);
    let end = resolve(zone, first_day + Days::new(7), NaiveTime::MIN);
    (start, end)
}

/// Real minutes from `start` to `end`, whole minutes only, never negative.
pub fn minutes_between(start: DateTime<Utc>, end: DateTime<Utc>) -> i64 {
    (end - start).num_minutes().max(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::{America::New_York, Asia::Tokyo, Europe::London, Pacific::Auckland};

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn at(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    /// The local dates on which `zone` changes its UTC offset in `year`, found hour by hour from
    /// the tz database itself, so the tests' DST dates are checked, not assumed.
    fn clock_changes(zone: Tz, year: i32) -> Vec<NaiveDate> {
        let offset = |instant: DateTime<Utc>| chrono::Offset::fix(&zone.offset_from_utc_datetime(&instant.naive_utc()));
        let mut instant = utc(year, 1, 1, 0, 0);
        let mut changes = Vec::new();
        while instant.year() == year {
            let next = instant + TimeDelta::hours(1);
            if offset(instant) != offset(next) {
                changes.push(local_date(instant, zone));
            }
            instant = next;
        }
        changes
    }

    #[test]
    fn weekdays_read_in_full_or_abbreviated_and_write_in_full() {
        let short: Vec<Weekday> = serde_json::from_str(r#"["mon","tue","wed","thu","fri","sat","sun"]"#).unwrap();
        let long: Vec<Weekday> =
            serde_json::from_str(r#"["monday","tuesday","wednesday","thursday","friday","saturday","sunday"]"#)
                .unwrap();
        assert_eq!(short, long);
        assert_eq!(serde_json::to_string(&Weekday::Wednesday).unwrap(), r#""wednesday""#);
        assert!(serde_json::from_str::<Weekday>(r#""Mon""#).is_err());
    }

    #[test]
    fn weekdays_convert_to_and_from_chrono() {
        for (index, weekday) in [
            Weekday::Monday,
            Weekday::Tuesday,
            Weekday::Wednesday,
            Weekday::Thursday,
            Weekday::Friday,
            Weekday::Saturday,
            Weekday::Sunday,
        ]
        .into_iter()
        .enumerate()
        {
            let chrono_weekday = chrono::Weekday::from(weekday);
            assert_eq!(chrono_weekday.num_days_from_monday() as usize, index);
            assert_eq!(Weekday::from(chrono_weekday), weekday);
        }
    }

    #[test]
    fn the_2030_clock_changes_are_where_the_tests_expect_them() {
        assert_eq!(clock_changes(London, 2030), [date(2030, 3, 31), date(2030, 10, 27)]);
        assert_eq!(clock_changes(New_York, 2030), [date(2030, 3, 10), date(2030, 11, 3)]);
    }

    #[test]
    fn an_ordinary_local_time_is_its_one_instant() {
        assert_eq!(resolve(London, date(2030, 1, 15), at(9, 0)), utc(2030, 1, 15, 9, 0));
        assert_eq!(resolve(London, date(2030, 7, 15), at(9, 0)), utc(2030, 7, 15, 8, 0));
        assert_eq!(resolve(New_York, date(2030, 7, 15), at(9, 0)), utc(2030, 7, 15, 13, 0));
    }

    #[test]
    fn a_time_in_the_spring_gap_moves_later_by_the_gap() {
        // London skips 01:00–02:00: 01:30 is read as 02:30 BST.
        assert_eq!(resolve(London, date(2030, 3, 31), at(1, 30)), utc(2030, 3, 31, 1, 30));
        assert_eq!(local_rfc3339(resolve(London, date(2030, 3, 31), at(1, 30)), London), "2030-03-31T02:30:00+01:00");
        // The gap's first minute is the transition itself.
        assert_eq!(resolve(London, date(2030, 3, 31), at(1, 0)), utc(2030, 3, 31, 1, 0));
        // New York skips 02:00–03:00: 02:15 is read as 03:15 EDT.
        assert_eq!(resolve(New_York, date(2030, 3, 10), at(2, 15)), utc(2030, 3, 10, 7, 15));
        assert_eq!(
            local_rfc3339(resolve(New_York, date(2030, 3, 10), at(2, 15)), New_York),
            "2030-03-10T03:15:00-04:00"
        );
    }

    #[test]
    fn a_time_in_the_autumn_overlap_is_its_first_occurrence() {
        // London repeats 01:00–02:00; the first 01:30 is still BST.
        assert_eq!(resolve(London, date(2030, 10, 27), at(1, 30)), utc(2030, 10, 27, 0, 30));
        // New York repeats 01:00–02:00; the first 01:30 is still EDT.
        assert_eq!(resolve(New_York, date(2030, 11, 3), at(1, 30)), utc(2030, 11, 3, 5, 30));
        // Just after the overlap there is one answer again.
        assert_eq!(resolve(New_York, date(2030, 11, 3), at(2, 0)), utc(2030, 11, 3, 7, 0));
    }

    #[test]
    fn an_overnight_shift_lasts_seven_nine_or_eight_real_hours() {
        let night = |zone: Tz, from: NaiveDate| {
            let weekday = Weekday::from(from.weekday());
            let occurrence = expand_weekly(zone, &[weekday], at(22, 0), at(6, 0), from, from, 1).unwrap().remove(0);
            minutes_between(occurrence.start, occurrence.end)
        };
        assert_eq!(night(London, date(2030, 3, 30)), 7 * 60);
        assert_eq!(night(London, date(2030, 10, 26)), 9 * 60);
        assert_eq!(night(London, date(2030, 6, 1)), 8 * 60);
        assert_eq!(night(New_York, date(2030, 3, 9)), 7 * 60);
        assert_eq!(night(New_York, date(2030, 11, 2)), 9 * 60);
        assert_eq!(night(New_York, date(2030, 6, 1)), 8 * 60);
    }

    #[test]
    fn the_spring_night_shift_reads_in_local_offsets() {
        let occurrences =
            expand_weekly(London, &[Weekday::Saturday], at(22, 0), at(6, 0), date(2030, 3, 30), date(2030, 3, 30), 1)
                .unwrap();
        assert_eq!(occurrences.len(), 1);
        assert_eq!(occurrences[0].date, date(2030, 3, 30));
        assert_eq!(local_rfc3339(occurrences[0].start, London), "2030-03-30T22:00:00+00:00");
        assert_eq!(local_rfc3339(occurrences[0].end, London), "2030-03-31T06:00:00+01:00");
    }

    #[test]
    fn expanding_gives_the_chosen_weekdays_in_date_order() {
        // 2030-04-01 is a Monday; two weeks of Mondays and Fridays, the Monday listed twice.
        let weekdays = [Weekday::Friday, Weekday::Monday, Weekday::Monday];
        let occurrences =
            expand_weekly(London, &weekdays, at(9, 0), at(17, 0), date(2030, 4, 1), date(2030, 4, 14), 100).unwrap();
        let dates: Vec<_> = occurrences.iter().map(|o| o.date).collect();
        assert_eq!(dates, [date(2030, 4, 1), date(2030, 4, 5), date(2030, 4, 8), date(2030, 4, 12)]);
        assert_eq!(occurrences[0].start, utc(2030, 4, 1, 8, 0));
        assert_eq!(occurrences[0].end, utc(2030, 4, 1, 16, 0));
    }

    #[test]
    fn the_range_includes_both_ends() {
        let weekdays = [Weekday::Monday, Weekday::Sunday];
        let occurrences =
            expand_weekly(London, &weekdays, at(9, 0), at(17, 0), date(2030, 4, 1), date(2030, 4, 7), 2).unwrap();
        let dates: Vec<_> = occurrences.iter().map(|o| o.date).collect();
        assert_eq!(dates, [date(2030, 4, 1), date(2030, 4, 7)]);
    }

    #[test]
    fn a_one_day_range_gives_that_day_or_nothing() {
        let monday = date(2030, 4, 1);
        let on_monday = expand_weekly(London, &[Weekday::Monday], at(9, 0), at(17, 0), monday, monday, 1).unwrap();
        assert_eq!(on_monday.len(), 1);
        let on_tuesday = expand_weekly(London, &[Weekday::Tuesday], at(9, 0), at(17, 0), monday, monday, 1).unwrap();
        assert!(on_tuesday.is_empty());
        let on_no_day = expand_weekly(London, &[], at(9, 0), at(17, 0), monday, monday, 0).unwrap();
        assert!(on_no_day.is_empty());
    }

    #[test]
    fn a_range_ending_before_it_starts_is_an_error() {
        let result =
            expand_weekly(London, &[Weekday::Monday], at(9, 0), at(17, 0), date(2030, 4, 2), date(2030, 4, 1), 9);
        assert_eq!(result, Err(ExpandError::EmptyRange));
    }

    #[test]
    fn equal_start_and_end_times_are_an_error() {
        let result =
            expand_weekly(London, &[Weekday::Monday], at(9, 0), at(9, 0), date(2030, 4, 1), date(2030, 4, 7), 9);
        assert_eq!(result, Err(ExpandError::ZeroLength));
    }

    #[test]
    fn more_occurrences_than_allowed_is_an_error_even_for_a_huge_range() {
        let every_day = [
            Weekday::Monday,
            Weekday::Tuesday,
            Weekday::Wednesday,
            Weekday::Thursday,
            Weekday::Friday,
            Weekday::Saturday,
            Weekday::Sunday,
        ];
        // Exactly at the limit is fine: 14 days, every day.
        let fortnight = expand_weekly(London, &every_day, at(9, 0), at(17, 0), date(2030, 4, 1), date(2030, 4, 14), 14);
        assert_eq!(fortnight.map(|o| o.len()), Ok(14));
        let too_many = expand_weekly(London, &every_day, at(9, 0), at(17, 0), date(2030, 4, 1), date(2030, 4, 15), 14);
        assert_eq!(too_many, Err(ExpandError::TooMany { max: 14 }));
        // Counted, not built: the whole calendar range chrono knows.
        let huge = expand_weekly(London, &[Weekday::Monday], at(9, 0), at(17, 0), NaiveDate::MIN, NaiveDate::MAX, 1000);
        assert_eq!(huge, Err(ExpandError::TooMany { max: 1000 }));
    }

    #[test]
    fn counting_agrees_with_walking_for_every_start_weekday_and_length() {
        for first in 0..7 {
            let from = date(2030, 4, 1) + Days::new(first);
            for length in 0..30 {
                let to = from + Days::new(length);
                for mask in 0u8..128 {
                    let wanted: [bool; 7] = std::array::from_fn(|i| mask & (1 << i) != 0);
                    let walked = from
                        .iter_days()
                        .take_while(|d| *d <= to)
                        .filter(|d| wanted[d.weekday().num_days_from_monday() as usize])
                        .count() as u64;
                    assert_eq!(count_matching_days(&wanted, from, to), walked);
                }
            }
        }
    }

    #[test]
    fn rfc3339_carries_the_local_offset_to_the_second() {
        assert_eq!(local_rfc3339(utc(2030, 3, 30, 22, 0), London), "2030-03-30T22:00:00+00:00");
        assert_eq!(local_rfc3339(utc(2030, 4, 1, 5, 0), London), "2030-04-01T06:00:00+01:00");
        assert_eq!(local_rfc3339(utc(2030, 1, 1, 12, 0), New_York), "2030-01-01T07:00:00-05:00");
        let with_millis = utc(2030, 1, 1, 12, 0) + TimeDelta::milliseconds(750);
        assert_eq!(local_rfc3339(with_millis, chrono_tz::UTC), "2030-01-01T12:00:00+00:00");
    }

    #[test]
    fn the_local_date_can_differ_from_the_utc_date() {
        assert_eq!(local_date(utc(2030, 4, 1, 23, 30), London), date(2030, 4, 2));
        assert_eq!(local_date(utc(2030, 4, 1, 2, 0), New_York), date(2030, 3, 31));
        assert_eq!(local_date(utc(2030, 4, 1, 15, 0), Tokyo), date(2030, 4, 2));
    }

    #[test]
    fn a_week_runs_from_local_midnight_on_its_first_day() {
        // Wednesday 2030-04-03 noon in London; BST, so midnight is 23:00 UTC the day before.
        let wednesday = utc(2030, 4, 3, 11, 0);
        assert_eq!(week_bounds(wednesday, London, Weekday::Monday), (utc(2030, 3, 31, 23, 0), utc(2030, 4, 7, 23, 0)));
        // The Sunday week opens on 31 March, the day the clocks change at 01:00: midnight is still GMT.
        assert_eq!(week_bounds(wednesday, London, Weekday::Sunday), (utc(2030, 3, 31, 0, 0), utc(2030, 4, 6, 23, 0)));
        assert_eq!(
            week_bounds(wednesday, London, Weekday::Wednesday),
            (utc(2030, 4, 2, 23, 0), utc(2030, 4, 9, 23, 0))
        );
    }

    #[test]
    fn an_instant_exactly_at_the_boundary_opens_the_next_week() {
        let monday_midnight = resolve(London, date(2030, 4, 8), NaiveTime::MIN);
        let (start, end) = week_bounds(monday_midnight, London, Weekday::Monday);
        assert_eq!(start, monday_midnight);
        assert_eq!(end - start, TimeDelta::days(7));
        let just_before = monday_midnight - TimeDelta::seconds(1);
        assert_eq!(week_bounds(just_before, London, Weekday::Monday).1, monday_midnight);
    }

    #[test]
    fn sunday_evening_belongs_to_different_weeks_by_week_start() {
        let sunday_evening = resolve(London, date(2030, 4, 7), at(20, 0));
        let (monday_start, _) = week_bounds(sunday_evening, London, Weekday::Monday);
        let (sunday_start, _) = week_bounds(sunday_evening, London, Weekday::Sunday);
        assert_eq!(local_date(monday_start, London), date(2030, 4, 1));
        assert_eq!(local_date(sunday_start, London), date(2030, 4, 7));
    }

    #[test]
    fn a_week_with_a_clock_change_is_an_hour_shorter_or_longer() {
        let hours = |instant, zone| {
            let (start, end) = week_bounds(instant, zone, Weekday::Monday);
            (end - start).num_hours()
        };
        assert_eq!(hours(utc(2030, 3, 28, 12, 0), London), 167);
        assert_eq!(hours(utc(2030, 10, 24, 12, 0), London), 169);
        assert_eq!(hours(utc(2030, 3, 6, 12, 0), New_York), 167);
        assert_eq!(hours(utc(2030, 10, 30, 12, 0), New_York), 169);
        assert_eq!(hours(utc(2030, 6, 5, 12, 0), New_York), 168);
    }

    #[test]
    fn a_week_far_from_utc_follows_the_local_date() {
        // Monday 2030-06-03 07:00 in Auckland (NZST, +12) is still Sunday 19:00 UTC.
        let auckland_monday_morning = utc(2030, 6, 2, 19, 0);
        assert_eq!(local_date(auckland_monday_morning, Auckland), date(2030, 6, 3));
        let (start, end) = week_bounds(auckland_monday_morning, Auckland, Weekday::Monday);
        assert_eq!(local_rfc3339(start, Auckland), "2030-06-03T00:00:00+12:00");
        assert_eq!(start, utc(2030, 6, 2, 12, 0));
        assert_eq!(end, utc(2030, 6, 9, 12, 0));
        // Sunday evening in Auckland is Sunday morning UTC, and still this week.
        assert_eq!(week_bounds(utc(2030, 6, 9, 10, 0), Auckland, Weekday::Monday), (start, end));
        // Tokyo (+9, no DST): Sunday 2030-04-07 23:30 local is 14:30 UTC, still the week of 1 April.
        let (start, end) = week_bounds(utc(2030, 4, 7, 14, 30), Tokyo, Weekday::Monday);
        assert_eq!((start, end), (utc(2030, 3, 31, 15, 0), utc(2030, 4, 7, 15, 0)));
    }

    #[test]
    fn every_instant_of_a_year_lies_in_its_week_starting_on_the_week_start() {
        let zones = [London, New_York, Auckland, Tokyo, chrono_tz::America::Santiago, chrono_tz::Asia::Beirut];
        for zone in zones {
            for week_start in [Weekday::Monday, Weekday::Sunday] {
                let mut instant = utc(2030, 1, 1, 0, 0);
                while instant.year() == 2030 {
                    let (start, end) = week_bounds(instant, zone, week_start);
                    assert!(start <= instant && instant < end, "{zone} {instant}");
                    assert_eq!(local_date(start, zone).weekday(), chrono::Weekday::from(week_start));
                    assert!((167..=169).contains(&(end - start).num_hours()), "{zone} {instant}");
                    instant += TimeDelta::minutes(30);
                }
            }
        }
    }

    #[test]
    fn minutes_between_is_real_time_and_never_negative() {
        assert_eq!(minutes_between(utc(2030, 4, 1, 9, 0), utc(2030, 4, 1, 17, 30)), 510);
        assert_eq!(minutes_between(utc(2030, 4, 1, 17, 0), utc(2030, 4, 1, 9, 0)), 0);
        assert_eq!(minutes_between(utc(2030, 4, 1, 9, 0), utc(2030, 4, 1, 9, 0)), 0);
    }
}
