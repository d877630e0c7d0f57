//! The conflict engine: every rule a person breaks by taking a shift. Blocking rules refuse the
//! placement outright; warnings (rest, hours, days in a row, availability) can be overridden by a
//! coordinator with `force=true`. Pure: the caller loads the person, their nearby shifts and the
//! organisation's settings, and this module only judges.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveTime, TimeDelta, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::settings::{Settings, Weekday};
use crate::domain::time::{local_date, minutes_between, resolve, week_bounds};

/// The rule a violation breaks. Declared blocking codes first, then warnings; results are ordered
/// by this declaration order (the derived `Ord`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Code {
    /// The person already works another shift at the same time.
    Overlap,
    /// The person does not hold the shift's position.
    PositionNotHeld,
    /// Every place on the shift is taken.
    HeadcountFull,
    /// The shift touches a day of the person's approved time off.
    TimeOff,
    /// The person is deactivated.
    PersonInactive,
    /// Only published shifts can be claimed.
    ShiftNotPublished,
    /// The shift is cancelled.
    ShiftCancelled,
    /// The shift is outside the person's stated availability, or on one of their blackout days.
    OutsideAvailability,
    /// The person's paid hours in the week would exceed their cap.
    WeeklyHoursCap,
    /// Too little rest between this shift and another of theirs.
    MinRest,
    /// Too many days in a row.
    ConsecutiveDays,
}

impl Code {
    /// Whether the code refuses the placement even with `force=true`.
    pub fn is_blocking(self) -> bool {
        match self {
            Code::Overlap
            | Code::PositionNotHeld
            | Code::HeadcountFull
            | Code::TimeOff
            | Code::PersonInactive
            | Code::ShiftNotPublished
            | Code::ShiftCancelled => true,
            Code::OutsideAvailability | Code::WeeklyHoursCap | Code::MinRest | Code::ConsecutiveDays => false,
        }
    }
}

/// One broken rule, as the API answers it (a 422 body lists these).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Violation {
    pub code: Code,
    pub person_id: String,
    /// The OTHER shift involved (the overlapping one, the one too close for rest), where there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shift_id: Option<String>,
    /// A sentence for people, e.g. "overlaps shift 01J… (2030-04-01 09:00–17:00 Europe/London)" or
    /// "56 h scheduled in the week of 2030-03-25, cap 48 h".
    pub detail: String,
    /// Whether it refuses the placement even with `force=true` (= `code.is_blocking()`); a
    /// warning (`false`) is overridden by `force=true`.
    pub blocking: bool,
}

/// Where a shift is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShiftStatus {
    Draft,
    Published,
    Cancelled,
}

/// A shift as the rules see it.
#[derive(Debug, Clone)]
pub struct Slot {
    pub id: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// Unpaid break inside the shift.
    pub break_minutes: u32,
    pub position_id: String,
    /// The zone of the shift's location: local days (consecutive days, availability, time off)
    /// are counted there.
    pub zone: Tz,
    pub status: ShiftStatus,
}

impl Slot {
    /// Paid minutes: real minutes between start and end, less the break, never negative. A night
    /// shift across a clock change is paid for the hours actually worked.
    pub fn paid_minutes(&self) -> i64 {
        (minutes_between(self.start, self.end) - i64::from(self.break_minutes)).max(0)
    }

    /// The first and last local dates the shift touches: a shift over midnight touches two, one
    /// ending exactly at local midnight touches only its start date.
    pub fn local_dates(&self) -> (NaiveDate, NaiveDate) {
        let first = local_date(self.start, self.zone);
        let last =
            if self.end > self.start { local_date(self.end - TimeDelta::nanoseconds(1), self.zone) } else { first };
        (first, last)
    }

    fn overlaps(&self, other: &Slot) -> bool {
        self.start < other.end && other.start < self.end
    }

    /// "2030-04-01 09:00–17:00 Europe/London", with the end date too when it is another day.
    fn describe(&self) -> String {
        let start = self.start.with_timezone(&self.zone);
        let end = self.end.with_timezone(&self.zone);
        let end_text = if end.date_naive() == start.date_naive() {
            end.format("%H:%M").to_string()
        } else {
            end.format("%Y-%m-%d %H:%M").to_string()
        };
        format!("{}–{} {}", start.format("%Y-%m-%d %H:%M"), end_text, self.zone.name())
    }
}

/// A weekly availability window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    pub weekday: Weekday,
    pub start_local: NaiveTime,
    /// When `end_local <= start_local` the window runs past midnight into the next day (equal
    /// times: a whole day from `start_local`).
    pub end_local: NaiveTime,
}

/// Local dates, both ends included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateRange {
    pub from: NaiveDate,
    /// Inclusive.
    pub to: NaiveDate,
}

impl DateRange {
    /// Whether any date of `first..=last` is in the range.
    pub fn meets(&self, first: NaiveDate, last: NaiveDate) -> bool {
        self.from <= last && first <= self.to
    }
}

/// What a person has said about when they can work. No weekly windows at all = available any
/// time of the week.
#[derive(Debug, Clone, Default)]
pub struct Availability {
    pub weekly: Vec<Window>,
    /// Days they said they cannot work; a warning, unlike approved time off.
    pub blackouts: Vec<DateRange>,
}

/// The person being placed, with everything about them the rules need.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub person_id: String,
    pub active: bool,
    pub position_ids: Vec<String>,
    /// Their own weekly cap in hours; the organisation's when None.
    pub weekly_hours_cap: Option<u32>,
    pub availability: Availability,
    /// Approved time off, local dates (inclusive) in the shift's location zone.
    pub time_off: Vec<DateRange>,
    /// Their OTHER assigned shifts near this one (the caller loads a window of at least
    /// max_consecutive_days + 1 days either side; may include cancelled ones, which the rules
    /// ignore, and may include the shift itself, which the rules ignore by id).
    pub shifts: Vec<Slot>,
}

/// The organisation's thresholds (from Settings) and calendar.
#[derive(Debug, Clone)]
pub struct Rules {
    /// Minimum minutes between two shifts of one person; 0 turns the rule off.
    pub min_rest_minutes: u32,
    pub max_consecutive_days: u32,
    /// In hours; a person's own cap replaces it.
    pub weekly_hours_cap: u32,
    pub week_start: Weekday,
    /// The organisation's zone: weeks for the hours cap are counted there.
    pub zone: Tz,
}

impl Rules {
    /// The thresholds of `settings` with the organisation's zone and first day of the week.
    pub fn from_settings(settings: &Settings, zone: Tz, week_start: Weekday) -> Self {
        Self {
            min_rest_minutes: settings.min_rest_minutes,
            max_consecutive_days: settings.max_consecutive_days,
            weekly_hours_cap: settings.weekly_hours_cap,
            week_start,
            zone,
        }
    }
}

/// Why the person is being placed: an assignment by a coordinator, or a worker claiming an open
/// shift (a claim additionally needs the shift published: [`Code::ShiftNotPublished`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    Assign,
    Claim,
}

/// Every rule `candidate` breaks by taking `shift`: blocking ones first, then warnings, each group
/// in [`Code`] order, and for one code by the start of the other shift involved.
///
/// `assigned` is how many people hold the shift now, not counting the candidate; at `headcount`
/// or more the shift is full. The candidate's cancelled shifts, and any with the shift's own id,
/// are ignored.
pub fn check(
    shift: &Slot,
    headcount: u32,
    assigned: u32,
    candidate: &Candidate,
    rules: &Rules,
    placement: Placement,
) -> Vec<Violation> {
    let person = candidate.person_id.as_str();
    let others: Vec<&Slot> = counted_shifts(shift, candidate).collect();
    // Each violation with the start of the other shift it names, for the order within one code.
    let mut found: Vec<(Violation, Option<DateTime<Utc>>)> = Vec::new();
    let mut add = |code: Code, other: Option<&Slot>, detail: String| {
        let violation = Violation {
            code,
            person_id: person.to_owned(),
            shift_id: other.map(|slot| slot.id.clone()),
            detail,
            blocking: code.is_blocking(),
        };
        found.push((violation, other.map(|slot| slot.start)));
    };

    if shift.status == ShiftStatus::Cancelled {
        add(Code::ShiftCancelled, None, format!("shift {} is cancelled", shift.id));
    }
    if placement == Placement::Claim && shift.status == ShiftStatus::Draft {
        add(Code::ShiftNotPublished, None, format!("shift {} is not published yet, so it cannot be claimed", shift.id));
    }
    if !candidate.active {
        add(Code::PersonInactive, None, format!("person {person} is inactive"));
    }
    if !candidate.position_ids.contains(&shift.position_id) {
        add(Code::PositionNotHeld, None, format!("does not hold position {}", shift.position_id));
    }
    if assigned >= headcount {
        add(Code::HeadcountFull, None, format!("{assigned} of {headcount} places are already taken"));
    }

    for &other in others.iter().filter(|other| other.overlaps(shift)) {
        add(Code::Overlap, Some(other), format!("overlaps shift {} ({})", other.id, other.describe()));
    }

    let (first_date, last_date) = shift.local_dates();
    if let Some(range) = earliest_meeting(&candidate.time_off, first_date, last_date) {
        add(Code::TimeOff, None, format!("on approved time off {}", describe_range(range)));
    }

    if let Some(detail) = outside_availability(shift, &candidate.availability) {
        add(Code::OutsideAvailability, None, detail);
    }

    let cap_hours = candidate.weekly_hours_cap.unwrap_or(rules.weekly_hours_cap);
    let week_total = week_minutes(shift, candidate, rules) + shift.paid_minutes();
    if week_total > i64::from(cap_hours) * 60 {
        let (week_start, _) = week_bounds(shift.start, rules.zone, rules.week_start);
        let detail = format!(
            "{} scheduled in the week of {}, cap {cap_hours} h",
            describe_minutes(week_total),
            local_date(week_start, rules.zone)
        );
        add(Code::WeeklyHoursCap, None, detail);
    }

    if rules.min_rest_minutes > 0 {
        for &other in others.iter().filter(|other| !other.overlaps(shift)) {
            let (rest, relation) = if other.end <= shift.start {
                (shift.start - other.end, "after")
            } else {
                (other.start - shift.end, "before")
            };
            if rest < TimeDelta::minutes(i64::from(rules.min_rest_minutes)) {
                let detail = format!(
                    "{} rest {relation} shift {} ({}), minimum {}",
                    describe_minutes(rest.num_minutes()),
                    other.id,
                    other.describe(),
                    describe_minutes(i64::from(rules.min_rest_minutes))
                );
                add(Code::MinRest, Some(other), detail);
            }
        }
    }

    let (run_first, run_last) = consecutive_run(shift, &others);
    let days = (run_last - run_first).num_days() + 1;
    if days > i64::from(rules.max_consecutive_days) {
        let detail = format!("{days} days in a row from {run_first} to {run_last}, max {}", rules.max_consecutive_days);
        add(Code::ConsecutiveDays, None, detail);
    }

    // Stable: violations of one code naming no shift keep the order they were found in.
    found.sort_by_key(|(violation, other_start)| (violation.code, *other_start));
    found.into_iter().map(|(violation, _)| violation).collect()
}

/// Paid minutes the candidate already has in the week of `shift` (the organisation's week, in its
/// zone): their other non-cancelled shifts that START in that week, without the shift itself.
/// This is what [`Code::WeeklyHoursCap`] adds the shift to.
pub fn week_minutes(shift: &Slot, candidate: &Candidate, rules: &Rules) -> i64 {
    let (week_start, week_end) = week_bounds(shift.start, rules.zone, rules.week_start);
    counted_shifts(shift, candidate)
        .filter(|other| week_start <= other.start && other.start < week_end)
        .map(Slot::paid_minutes)
        .sum()
}

/// The candidate's shifts that count against `shift`: not cancelled, and not the shift itself.
fn counted_shifts<'a>(shift: &'a Slot, candidate: &'a Candidate) -> impl Iterator<Item = &'a Slot> {
    candidate.shifts.iter().filter(move |other| other.id != shift.id && other.status != ShiftStatus::Cancelled)
}

/// The first-starting range that meets any date of `first..=last`.
fn earliest_meeting(ranges: &[DateRange], first: NaiveDate, last: NaiveDate) -> Option<&DateRange> {
    ranges.iter().filter(|range| range.meets(first, last)).min_by_key(|range| range.from)
}

/// Why `shift` is outside the person's availability, if it is: a blackout day it touches, or
/// (when they gave weekly windows) no single window holding it from start to end.
fn outside_availability(shift: &Slot, availability: &Availability) -> Option<String> {
    let (first_date, last_date) = shift.local_dates();
    if let Some(range) = earliest_meeting(&availability.blackouts, first_date, last_date) {
        return Some(format!("falls on their unavailable days {}", describe_range(range)));
    }
    if availability.weekly.is_empty() || inside_a_window(shift, &availability.weekly) {
        return None;
    }
    Some(format!("{} is outside their weekly availability", shift.describe()))
}

/// Whether one window occurrence holds the whole shift. A window lasts at most a day, so only
/// windows opening on the shift's local start date or the day before (overnight) can hold it.
pub fn inside_a_window(shift: &Slot, windows: &[Window]) -> bool {
    let start_date = local_date(shift.start, shift.zone);
    let candidate_days = [start_date.pred_opt(), Some(start_date)];
    candidate_days.into_iter().flatten().any(|day| {
        windows.iter().filter(|window| chrono::Weekday::from(window.weekday) == day.weekday()).any(|window| {
            let end_day = if window.end_local <= window.start_local { day + Days::new(1) } else { day };
            let opens = resolve(shift.zone, day, window.start_local);
            let closes = resolve(shift.zone, end_day, window.end_local);
            opens <= shift.start && shift.end <= closes
        })
    })
}

/// The run of consecutive local start dates (each shift's in its own zone) that contains the
/// shift's start date.
fn consecutive_run(shift: &Slot, others: &[&Slot]) -> (NaiveDate, NaiveDate) {
    let dates: BTreeSet<NaiveDate> = others.iter().map(|other| local_date(other.start, other.zone)).collect();
    let own = local_date(shift.start, shift.zone);
    let mut first = own;
    while let Some(previous) = first.pred_opt().filter(|date| dates.contains(date)) {
        first = previous;
    }
    let mut last = own;
    while let Some(next) = last.succ_opt().filter(|date| dates.contains(date)) {
        last = next;
    }
    (first, last)
}

/// "2030-04-01" or "2030-04-01 to 2030-04-03".
fn describe_range(range: &DateRange) -> String {
    if range.from == range.to { range.from.to_string() } else { format!("{} to {}", range.from, range.to) }
}

/// "56 h", "10 h 59 min", "45 min".
fn describe_minutes(minutes: i64) -> String {
    match (minutes / 60, minutes % 60) {
        (0, rest) => format!("{rest} min"),
        (hours, 0) => format!("{hours} h"),
        (hours, rest) => format!("{hours} h {rest} min"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use chrono_tz::{America::New_York, Europe::London};

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn at(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    /// A published cook's shift at a location in `zone`, from `start` on `day` to `end` the same
    /// day, or the next when `end <= start`.
    fn slot_in(zone: Tz, id: &str, day: NaiveDate, start: NaiveTime, end: NaiveTime) -> Slot {
        let end_day = if end <= start { day + Days::new(1) } else { day };
        Slot {
            id: id.to_owned(),
            start: resolve(zone, day, start),
            end: resolve(zone, end_day, end),
            break_minutes: 0,
            position_id: "cook".to_owned(),
            zone,
            status: ShiftStatus::Published,
        }
    }

    fn slot(id: &str, day: NaiveDate, start: NaiveTime, end: NaiveTime) -> Slot {
        slot_in(London, id, day, start, end)
    }

    fn with_status(slot: Slot, status: ShiftStatus) -> Slot {
        Slot { status, ..slot }
    }

    /// An active cook with no limits of their own and nothing else scheduled.
    fn cook() -> Candidate {
        Candidate {
            person_id: "p-ann".to_owned(),
            active: true,
            position_ids: vec!["waiter".to_owned(), "cook".to_owned()],
            weekly_hours_cap: None,
            availability: Availability::default(),
            time_off: Vec::new(),
            shifts: Vec::new(),
        }
    }

    fn cook_with(shifts: Vec<Slot>) -> Candidate {
        Candidate { shifts, ..cook() }
    }

    /// The defaults of PRODUCT.md in London, weeks from Monday.
    fn rules() -> Rules {
        Rules::from_settings(&Settings::default(), London, Weekday::Monday)
    }

    fn assign(shift: &Slot, candidate: &Candidate) -> Vec<Violation> {
        check(shift, 2, 0, candidate, &rules(), Placement::Assign)
    }

    fn codes(violations: &[Violation]) -> Vec<Code> {
        violations.iter().map(|violation| violation.code).collect()
    }

    // 2030-04-01 is a Monday, in BST.
    fn monday_nine_to_five() -> Slot {
        slot("s-new", date(2030, 4, 1), at(9, 0), at(17, 0))
    }

    #[test]
    fn a_free_qualified_active_person_breaks_no_rule() {
        assert_eq!(assign(&monday_nine_to_five(), &cook()), []);
    }

    #[test]
    fn codes_before_outside_availability_block_and_the_rest_warn() {
        let blocking = [
            Code::Overlap,
            Code::PositionNotHeld,
            Code::HeadcountFull,
            Code::TimeOff,
            Code::PersonInactive,
            Code::ShiftNotPublished,
            Code::ShiftCancelled,
        ];
        let warnings = [Code::OutsideAvailability, Code::WeeklyHoursCap, Code::MinRest, Code::ConsecutiveDays];
        assert!(blocking.iter().all(|code| code.is_blocking()));
        assert!(warnings.iter().all(|code| !code.is_blocking()));
        assert!(blocking.iter().max() < warnings.iter().min());
    }

    #[test]
    fn a_violation_serialises_as_the_api_answers_it() {
        let shift = monday_nine_to_five();
        let other = slot("s-other", date(2030, 4, 1), at(12, 0), at(20, 0));
        let violations = assign(&shift, &Candidate { active: false, ..cook_with(vec![other]) });
        let json = serde_json::to_value(&violations).unwrap();
        assert_eq!(
            json,
            serde_json::json!([
                {
                    "code": "overlap",
                    "person_id": "p-ann",
                    "shift_id": "s-other",
                    "detail": "overlaps shift s-other (2030-04-01 12:00–20:00 Europe/London)",
                    "blocking": true,
                },
                { "code": "person_inactive", "person_id": "p-ann", "detail": "person p-ann is inactive", "blocking": true },
            ])
        );
    }

    #[test]
    fn paid_minutes_are_real_time_less_the_break() {
        let shift = Slot { break_minutes: 30, ..monday_nine_to_five() };
        assert_eq!(shift.paid_minutes(), 7 * 60 + 30);
        let all_break = Slot { break_minutes: 600, ..monday_nine_to_five() };
        assert_eq!(all_break.paid_minutes(), 0);
    }

    #[test]
    fn a_night_shift_on_a_clock_change_is_paid_for_the_real_hours() {
        let spring_london = Slot { break_minutes: 30, ..slot("s", date(2030, 3, 30), at(22, 0), at(6, 0)) };
        assert_eq!(spring_london.paid_minutes(), 7 * 60 - 30);
        let autumn_london = slot("s", date(2030, 10, 26), at(22, 0), at(6, 0));
        assert_eq!(autumn_london.paid_minutes(), 9 * 60);
        let spring_new_york =
            Slot { break_minutes: 45, ..slot_in(New_York, "s", date(2030, 3, 9), at(22, 0), at(6, 0)) };
        assert_eq!(spring_new_york.paid_minutes(), 7 * 60 - 45);
        let autumn_new_york = slot_in(New_York, "s", date(2030, 11, 2), at(22, 0), at(6, 0));
        assert_eq!(autumn_new_york.paid_minutes(), 9 * 60);
        let ordinary_new_york = slot_in(New_York, "s", date(2030, 6, 1), at(22, 0), at(6, 0));
        assert_eq!(ordinary_new_york.paid_minutes(), 8 * 60);
    }

    // --- blocking: the shift itself ---

    #[test]
    fn a_cancelled_shift_can_be_neither_assigned_nor_claimed() {
        let shift = with_status(monday_nine_to_five(), ShiftStatus::Cancelled);
        for placement in [Placement::Assign, Placement::Claim] {
            let violations = check(&shift, 2, 0, &cook(), &rules(), placement);
            assert_eq!(codes(&violations), [Code::ShiftCancelled]);
            assert!(violations[0].blocking && violations[0].shift_id.is_none());
        }
    }

    #[test]
    fn a_draft_can_be_assigned_but_not_claimed() {
        let draft = with_status(monday_nine_to_five(), ShiftStatus::Draft);
        assert_eq!(check(&draft, 2, 0, &cook(), &rules(), Placement::Assign), []);
        let claimed = check(&draft, 2, 0, &cook(), &rules(), Placement::Claim);
        assert_eq!(codes(&claimed), [Code::ShiftNotPublished]);
        assert_eq!(check(&monday_nine_to_five(), 2, 0, &cook(), &rules(), Placement::Claim), []);
    }

    #[test]
    fn the_shift_is_full_when_everyone_it_needs_is_assigned() {
        let shift = monday_nine_to_five();
        assert_eq!(check(&shift, 3, 2, &cook(), &rules(), Placement::Assign), []);
        let full = check(&shift, 3, 3, &cook(), &rules(), Placement::Assign);
        assert_eq!(codes(&full), [Code::HeadcountFull]);
        assert_eq!(full[0].detail, "3 of 3 places are already taken");
        assert_eq!(codes(&check(&shift, 3, 4, &cook(), &rules(), Placement::Claim)), [Code::HeadcountFull]);
    }

    // --- blocking: the person ---

    #[test]
    fn an_inactive_person_cannot_be_placed() {
        let inactive = Candidate { active: false, ..cook() };
        assert_eq!(codes(&assign(&monday_nine_to_five(), &inactive)), [Code::PersonInactive]);
    }

    #[test]
    fn the_person_must_hold_the_shifts_position() {
        let waiter = Candidate { position_ids: vec!["waiter".to_owned()], ..cook() };
        let violations = assign(&monday_nine_to_five(), &waiter);
        assert_eq!(codes(&violations), [Code::PositionNotHeld]);
        assert_eq!(violations[0].detail, "does not hold position cook");
    }

    #[test]
    fn each_overlapping_shift_is_one_violation_naming_it() {
        let morning = slot("s-morning", date(2030, 4, 1), at(6, 0), at(10, 0));
        let afternoon = slot("s-afternoon", date(2030, 4, 1), at(16, 0), at(20, 0));
        let violations = assign(&monday_nine_to_five(), &cook_with(vec![afternoon, morning]));
        let overlaps: Vec<_> = violations.iter().filter(|v| v.code == Code::Overlap).collect();
        assert_eq!(overlaps.len(), 2);
        assert_eq!(overlaps[0].shift_id.as_deref(), Some("s-morning"));
        assert_eq!(overlaps[0].detail, "overlaps shift s-morning (2030-04-01 06:00–10:00 Europe/London)");
        assert_eq!(overlaps[1].shift_id.as_deref(), Some("s-afternoon"));
        // Overlapping shifts are not also judged for rest between them.
        assert!(!violations.iter().any(|v| v.code == Code::MinRest));
    }

    #[test]
    fn a_shift_inside_another_overlaps_it() {
        let long_day = slot("s-long", date(2030, 4, 1), at(7, 0), at(19, 0));
        assert_eq!(codes(&assign(&monday_nine_to_five(), &cook_with(vec![long_day]))), [Code::Overlap]);
    }

    #[test]
    fn a_night_shift_overlaps_the_next_mornings_shift() {
        let sunday_night = slot("s-night", date(2030, 3, 31), at(22, 0), at(6, 0));
        let early_monday = slot("s-new", date(2030, 4, 1), at(5, 0), at(13, 0));
        let violations = assign(&early_monday, &cook_with(vec![sunday_night]));
        assert_eq!(codes(&violations), [Code::Overlap]);
        assert_eq!(violations[0].detail, "overlaps shift s-night (2030-03-31 22:00–2030-04-01 06:00 Europe/London)");
    }

    #[test]
    fn back_to_back_shifts_do_not_overlap() {
        let evening = slot("s-evening", date(2030, 4, 1), at(17, 0), at(23, 0));
        let violations = assign(&monday_nine_to_five(), &cook_with(vec![evening]));
        assert!(!violations.iter().any(|v| v.code == Code::Overlap));
        // They do leave no rest between them.
        assert_eq!(codes(&violations), [Code::MinRest]);
    }

    #[test]
    fn cancelled_shifts_and_the_shift_itself_are_ignored() {
        let cancelled = with_status(slot("s-gone", date(2030, 4, 1), at(8, 0), at(12, 0)), ShiftStatus::Cancelled);
        let itself = monday_nine_to_five();
        let candidate = cook_with(vec![cancelled, itself.clone()]);
        assert_eq!(assign(&monday_nine_to_five(), &candidate), []);
        assert_eq!(week_minutes(&monday_nine_to_five(), &candidate, &rules()), 0);
    }

    #[test]
    fn draft_shifts_of_the_person_still_count() {
        let draft = with_status(slot("s-draft", date(2030, 4, 1), at(8, 0), at(12, 0)), ShiftStatus::Draft);
        assert_eq!(codes(&assign(&monday_nine_to_five(), &cook_with(vec![draft]))), [Code::Overlap]);
    }

    #[test]
    fn time_off_on_any_day_the_shift_touches_blocks_it() {
        let on_leave = |from, to| Candidate { time_off: vec![DateRange { from, to }], ..cook() };
        let shift = monday_nine_to_five();
        let violations = assign(&shift, &on_leave(date(2030, 3, 29), date(2030, 4, 2)));
        assert_eq!(codes(&violations), [Code::TimeOff]);
        assert_eq!(violations[0].detail, "on approved time off 2030-03-29 to 2030-04-02");
        assert_eq!(codes(&assign(&shift, &on_leave(date(2030, 4, 1), date(2030, 4, 1)))), [Code::TimeOff]);
        assert_eq!(assign(&shift, &on_leave(date(2030, 4, 2), date(2030, 4, 5))), []);
        assert_eq!(assign(&shift, &on_leave(date(2030, 3, 25), date(2030, 3, 31))), []);
    }

    #[test]
    fn time_off_on_only_the_second_day_of_a_night_shift_blocks_it() {
        let night = slot("s-new", date(2030, 4, 1), at(22, 0), at(6, 0));
        let tuesday_off =
            Candidate { time_off: vec![DateRange { from: date(2030, 4, 2), to: date(2030, 4, 2) }], ..cook() };
        assert_eq!(codes(&assign(&night, &tuesday_off)), [Code::TimeOff]);
        // A shift ending exactly at midnight does not touch the next day.
        let to_midnight = slot("s-new", date(2030, 4, 1), at(16, 0), at(0, 0));
        assert_eq!(to_midnight.local_dates(), (date(2030, 4, 1), date(2030, 4, 1)));
        assert_eq!(assign(&to_midnight, &tuesday_off), []);
    }

    #[test]
    fn time_off_dates_are_read_in_the_locations_zone() {
        // 20:00–23:00 in New York on Monday is 00:00–03:00 UTC on Tuesday: still Monday there.
        let evening = slot_in(New_York, "s-new", date(2030, 4, 1), at(20, 0), at(23, 0));
        assert_eq!(evening.start, utc(2030, 4, 2, 0, 0));
        let off = |day| Candidate { time_off: vec![DateRange { from: day, to: day }], ..cook() };
        assert_eq!(codes(&assign(&evening, &off(date(2030, 4, 1)))), [Code::TimeOff]);
        assert_eq!(assign(&evening, &off(date(2030, 4, 2))), []);
    }

    // --- warnings ---

    #[test]
    fn rest_exactly_at_the_minimum_is_enough() {
        // The other shift ends Sunday 22:00; 11 h later is Monday 09:00.
        let before = slot("s-before", date(2030, 3, 31), at(14, 0), at(22, 0));
        assert_eq!(assign(&monday_nine_to_five(), &cook_with(vec![before])), []);
        // Monday 17:00 + 11 h = Tuesday 04:00.
        let after = slot("s-after", date(2030, 4, 2), at(4, 0), at(8, 0));
        assert_eq!(assign(&monday_nine_to_five(), &cook_with(vec![after])), []);
    }

    #[test]
    fn rest_one_minute_short_is_a_warning_naming_the_other_shift() {
        let before = slot("s-before", date(2030, 3, 31), at(14, 0), at(22, 1));
        let violations = assign(&monday_nine_to_five(), &cook_with(vec![before]));
        assert_eq!(codes(&violations), [Code::MinRest]);
        assert_eq!(violations[0].shift_id.as_deref(), Some("s-before"));
        assert!(!violations[0].blocking);
        assert_eq!(
            violations[0].detail,
            "10 h 59 min rest after shift s-before (2030-03-31 14:00–22:01 Europe/London), minimum 11 h"
        );
        let after = slot("s-after", date(2030, 4, 2), at(3, 59), at(8, 0));
        let violations = assign(&monday_nine_to_five(), &cook_with(vec![after]));
        assert_eq!(codes(&violations), [Code::MinRest]);
        assert!(violations[0].detail.starts_with("10 h 59 min rest before shift s-after"));
    }

    #[test]
    fn rest_is_measured_in_real_time_across_a_clock_change() {
        // Saturday 2030-03-30 ends 20:00 GMT; Sunday 08:00 BST is 07:00 UTC: 11 h real, 12 h on the clock.
        let saturday = slot("s-sat", date(2030, 3, 30), at(12, 0), at(20, 0));
        let sunday_early = slot("s-new", date(2030, 3, 31), at(8, 0), at(16, 0));
        assert_eq!(assign(&sunday_early, &cook_with(vec![saturday.clone()])), []);
        let sunday_earlier = slot("s-new", date(2030, 3, 31), at(7, 59), at(16, 0));
        assert_eq!(codes(&assign(&sunday_earlier, &cook_with(vec![saturday]))), [Code::MinRest]);
    }

    #[test]
    fn no_minimum_rest_turns_the_rule_off() {
        let evening = slot("s-evening", date(2030, 4, 1), at(17, 0), at(23, 0));
        let no_rest = Rules { min_rest_minutes: 0, ..rules() };
        let violations = check(&monday_nine_to_five(), 2, 0, &cook_with(vec![evening]), &no_rest, Placement::Assign);
        assert_eq!(violations, []);
    }

    /// Five 8-hour shifts, Monday to Friday of the week of 2030-04-01: 40 h.
    fn working_week() -> Vec<Slot> {
        (1..=5).map(|day| slot(&format!("s-{day}"), date(2030, 4, day), at(9, 0), at(17, 0))).collect()
    }

    #[test]
    fn hours_over_the_weekly_cap_warn_with_the_total_and_the_cap() {
        // 40 h + 9 h on Saturday = 49 h, over the default 48 h.
        let saturday = slot("s-new", date(2030, 4, 6), at(8, 0), at(17, 0));
        let busy = cook_with(working_week());
        let violations = assign(&saturday, &busy);
        assert_eq!(codes(&violations), [Code::WeeklyHoursCap]);
        assert_eq!(violations[0].detail, "49 h scheduled in the week of 2030-04-01, cap 48 h");
        assert!(violations[0].shift_id.is_none() && !violations[0].blocking);
        let roomy = Rules { weekly_hours_cap: 50, ..rules() };
        assert_eq!(check(&saturday, 2, 0, &busy, &roomy, Placement::Assign), []);
    }

    #[test]
    fn hours_exactly_at_the_cap_are_fine() {
        let candidate = Candidate { weekly_hours_cap: Some(48), ..cook_with(working_week()) };
        // 40 h already; Sunday 8 h makes exactly 48 h.
        let sunday = slot("s-new", date(2030, 4, 7), at(9, 0), at(17, 0));
        assert_eq!(assign(&sunday, &candidate), []);
        let one_minute_more = slot("s-new", date(2030, 4, 7), at(9, 0), at(17, 1));
        let violations = assign(&one_minute_more, &candidate);
        assert_eq!(codes(&violations), [Code::WeeklyHoursCap]);
        assert_eq!(violations[0].detail, "48 h 1 min scheduled in the week of 2030-04-01, cap 48 h");
    }

    #[test]
    fn a_persons_own_cap_replaces_the_organisations() {
        // Monday and Tuesday already, 16 h; Wednesday makes 24 h.
        let part_timer = Candidate { weekly_hours_cap: Some(20), ..cook_with(working_week()[..2].to_vec()) };
        let wednesday = slot("s-new", date(2030, 4, 3), at(9, 0), at(17, 0));
        let violations = assign(&wednesday, &part_timer);
        assert_eq!(codes(&violations), [Code::WeeklyHoursCap]);
        assert_eq!(violations[0].detail, "24 h scheduled in the week of 2030-04-01, cap 20 h");
        let generous = Candidate { weekly_hours_cap: Some(60), ..cook_with(working_week()) };
        let sunday_long = slot("s-new", date(2030, 4, 7), at(6, 0), at(18, 0));
        assert_eq!(assign(&sunday_long, &generous), []);
    }

    #[test]
    fn breaks_are_not_counted_against_the_cap() {
        let with_breaks: Vec<Slot> = working_week().into_iter().map(|s| Slot { break_minutes: 60, ..s }).collect();
        let candidate = Candidate { weekly_hours_cap: Some(43), ..cook_with(with_breaks) };
        // 5 × 7 h paid = 35 h, + 8 h = 43 h.
        let sunday = slot("s-new", date(2030, 4, 7), at(9, 0), at(17, 0));
        assert_eq!(week_minutes(&sunday, &candidate, &rules()), 35 * 60);
        assert_eq!(assign(&sunday, &candidate), []);
    }

    #[test]
    fn a_sunday_evening_shift_counts_to_different_weeks_by_week_start() {
        // Monday–Friday of the week of 2030-04-01 (40 h), and Monday 2030-04-08 (8 h).
        let mut shifts = working_week();
        shifts.push(slot("s-next-monday", date(2030, 4, 8), at(9, 0), at(17, 0)));
        let candidate = Candidate { weekly_hours_cap: Some(43), ..cook_with(shifts) };
        // 4 h, ending 11 h before the next Monday's shift.
        let sunday_evening = slot("s-new", date(2030, 4, 7), at(18, 0), at(22, 0));
        let monday_weeks = rules();
        let sunday_weeks = Rules { week_start: Weekday::Sunday, ..rules() };
        assert_eq!(week_minutes(&sunday_evening, &candidate, &monday_weeks), 40 * 60);
        assert_eq!(week_minutes(&sunday_evening, &candidate, &sunday_weeks), 8 * 60);
        let over = check(&sunday_evening, 2, 0, &candidate, &monday_weeks, Placement::Assign);
        assert_eq!(codes(&over), [Code::WeeklyHoursCap]);
        assert_eq!(check(&sunday_evening, 2, 0, &candidate, &sunday_weeks, Placement::Assign), []);
    }

    #[test]
    fn a_shift_counts_to_the_week_it_starts_in() {
        // Sunday night into Monday counts wholly to the week it starts in.
        let sunday_night = slot("s-night", date(2030, 4, 7), at(22, 0), at(6, 0));
        let next_monday_evening = slot("s-new", date(2030, 4, 8), at(18, 0), at(22, 0));
        assert_eq!(week_minutes(&next_monday_evening, &cook_with(vec![sunday_night.clone()]), &rules()), 0);
        let sunday_morning = slot("s-new", date(2030, 4, 7), at(8, 0), at(11, 0));
        assert_eq!(week_minutes(&sunday_morning, &cook_with(vec![sunday_night]), &rules()), 8 * 60);
    }

    #[test]
    fn weeks_are_counted_in_the_organisations_zone() {
        // A New York location of a London organisation: Sunday 20:00 EDT is Monday 01:00 BST.
        let sunday_evening_ny = slot_in(New_York, "s-ny", date(2030, 4, 7), at(20, 0), at(23, 0));
        let next_monday = slot("s-new", date(2030, 4, 8), at(9, 0), at(17, 0));
        assert_eq!(week_minutes(&next_monday, &cook_with(vec![sunday_evening_ny.clone()]), &rules()), 180);
        let new_york_org = Rules { zone: New_York, ..rules() };
        assert_eq!(week_minutes(&next_monday, &cook_with(vec![sunday_evening_ny]), &new_york_org), 0);
    }

    #[test]
    fn the_spring_night_counts_seven_paid_hours_toward_the_cap() {
        let night = Slot { break_minutes: 30, ..slot("s-night", date(2030, 3, 30), at(22, 0), at(6, 0)) };
        let saturday_day = slot("s-new", date(2030, 3, 30), at(6, 0), at(12, 0));
        let candidate = cook_with(vec![night]);
        assert_eq!(week_minutes(&saturday_day, &candidate, &rules()), 6 * 60 + 30);
    }

    /// Shifts 09:00–17:00 on each of `days` days of April 2030.
    fn days_worked(days: impl IntoIterator<Item = u32>) -> Vec<Slot> {
        days.into_iter().map(|day| slot(&format!("s-{day}"), date(2030, 4, day), at(9, 0), at(17, 0))).collect()
    }

    #[test]
    fn consecutive_days_up_to_the_maximum_are_fine() {
        // Five days before and the new shift make six in a row, the default maximum.
        let candidate = Candidate { weekly_hours_cap: Some(168), ..cook_with(days_worked(1..=5)) };
        let sixth = slot("s-new", date(2030, 4, 6), at(9, 0), at(17, 0));
        assert_eq!(assign(&sixth, &candidate), []);
    }

    #[test]
    fn one_day_more_than_the_maximum_warns_once() {
        // Three before, three after: the new shift joins them into seven.
        let candidate = Candidate { weekly_hours_cap: Some(168), ..cook_with(days_worked([1, 2, 3, 5, 6, 7])) };
        let middle = slot("s-new", date(2030, 4, 4), at(9, 0), at(17, 0));
        let violations = assign(&middle, &candidate);
        assert_eq!(codes(&violations), [Code::ConsecutiveDays]);
        assert_eq!(violations[0].detail, "7 days in a row from 2030-04-01 to 2030-04-07, max 6");
        assert!(!violations[0].blocking);
    }

    #[test]
    fn only_the_run_containing_the_shift_counts() {
        // Seven days in a row already (1–7), but the new shift on the 9th starts a new run.
        let candidate = Candidate { weekly_hours_cap: Some(168), ..cook_with(days_worked(1..=7)) };
        let after_a_day_off = slot("s-new", date(2030, 4, 9), at(9, 0), at(17, 0));
        assert_eq!(assign(&after_a_day_off, &candidate), []);
    }

    #[test]
    fn two_shifts_on_one_day_are_one_day() {
        let mut shifts = days_worked(1..=5);
        shifts.push(slot("s-5-evening", date(2030, 4, 5), at(18, 0), at(20, 0)));
        let candidate = Candidate { weekly_hours_cap: Some(168), ..cook_with(shifts) };
        let rest_rules = Rules { min_rest_minutes: 0, ..rules() };
        let sixth = slot("s-new", date(2030, 4, 6), at(9, 0), at(17, 0));
        assert_eq!(check(&sixth, 2, 0, &candidate, &rest_rules, Placement::Assign), []);
    }

    #[test]
    fn days_in_a_row_are_local_start_dates_in_each_shifts_zone() {
        // A night shift counts on the date it starts only; a New York evening counts on its New
        // York date even though it starts on the next UTC date.
        let mut shifts = days_worked(1..=3);
        shifts.push(slot_in(New_York, "s-ny", date(2030, 4, 4), at(20, 0), at(23, 0)));
        shifts.push(slot("s-night", date(2030, 4, 5), at(22, 0), at(6, 0)));
        let candidate = Candidate { weekly_hours_cap: Some(168), ..cook_with(shifts) };
        let rules = Rules { max_consecutive_days: 5, min_rest_minutes: 0, ..rules() };
        let saturday = slot("s-new", date(2030, 4, 6), at(18, 0), at(22, 0));
        let violations = check(&saturday, 2, 0, &candidate, &rules, Placement::Assign);
        assert_eq!(codes(&violations), [Code::ConsecutiveDays]);
        assert_eq!(violations[0].detail, "6 days in a row from 2030-04-01 to 2030-04-06, max 5");
    }

    fn available(weekly: Vec<Window>, blackouts: Vec<DateRange>) -> Candidate {
        Candidate { availability: Availability { weekly, blackouts }, ..cook() }
    }

    fn window(weekday: Weekday, start: NaiveTime, end: NaiveTime) -> Window {
        Window { weekday, start_local: start, end_local: end }
    }

    #[test]
    fn no_weekly_windows_means_available_any_time() {
        let night = slot("s-new", date(2030, 4, 6), at(23, 0), at(7, 0));
        assert_eq!(assign(&night, &available(Vec::new(), Vec::new())), []);
    }

    #[test]
    fn a_shift_must_fit_inside_one_window() {
        let weekdays = available(vec![window(Weekday::Monday, at(8, 0), at(18, 0))], Vec::new());
        assert_eq!(assign(&monday_nine_to_five(), &weekdays), []);
        let late = slot("s-new", date(2030, 4, 1), at(12, 0), at(20, 0));
        let violations = assign(&late, &weekdays);
        assert_eq!(codes(&violations), [Code::OutsideAvailability]);
        assert_eq!(violations[0].detail, "2030-04-01 12:00–20:00 Europe/London is outside their weekly availability");
        let tuesday = slot("s-new", date(2030, 4, 2), at(9, 0), at(17, 0));
        assert_eq!(codes(&assign(&tuesday, &weekdays)), [Code::OutsideAvailability]);
        // Two windows that together cover it are not one window.
        let split = available(
            vec![window(Weekday::Monday, at(8, 0), at(13, 0)), window(Weekday::Monday, at(13, 0), at(18, 0))],
            Vec::new(),
        );
        assert_eq!(codes(&assign(&monday_nine_to_five(), &split)), [Code::OutsideAvailability]);
    }

    #[test]
    fn an_overnight_window_holds_shifts_on_either_side_of_midnight() {
        // Friday 20:00 to Saturday 04:00.
        let friday_nights = available(vec![window(Weekday::Friday, at(20, 0), at(4, 0))], Vec::new());
        let across_midnight = slot("s-new", date(2030, 4, 5), at(22, 0), at(3, 0));
        assert_eq!(assign(&across_midnight, &friday_nights), []);
        let after_midnight = slot("s-new", date(2030, 4, 6), at(0, 30), at(4, 0));
        assert_eq!(assign(&after_midnight, &friday_nights), []);
        let too_late = slot("s-new", date(2030, 4, 6), at(1, 0), at(5, 0));
        assert_eq!(codes(&assign(&too_late, &friday_nights)), [Code::OutsideAvailability]);
        let saturday_night = slot("s-new", date(2030, 4, 6), at(22, 0), at(3, 0));
        assert_eq!(codes(&assign(&saturday_night, &friday_nights)), [Code::OutsideAvailability]);
    }

    #[test]
    fn windows_are_read_in_the_locations_zone_on_a_clock_change() {
        // Saturday 22:00 to Sunday 06:00 in London on the spring-forward night: the window and
        // the shift both last seven real hours.
        let saturday_nights = available(vec![window(Weekday::Saturday, at(22, 0), at(6, 0))], Vec::new());
        let spring_night = slot("s-new", date(2030, 3, 30), at(22, 0), at(6, 0));
        assert_eq!(assign(&spring_night, &saturday_nights), []);
        // Windows are local: 09:00–17:00 on a New York Monday is 13:00–21:00 UTC.
        let new_york_days = available(vec![window(Weekday::Monday, at(9, 0), at(17, 0))], Vec::new());
        let new_york_shift = slot_in(New_York, "s-new", date(2030, 4, 1), at(9, 0), at(17, 0));
        assert_eq!(assign(&new_york_shift, &new_york_days), []);
    }

    #[test]
    fn a_blackout_day_the_shift_touches_warns_even_inside_a_window() {
        let blackout = DateRange { from: date(2030, 4, 2), to: date(2030, 4, 2) };
        let noon_to_noon: Vec<Window> = [
            Weekday::Monday,
            Weekday::Tuesday,
            Weekday::Wednesday,
            Weekday::Thursday,
            Weekday::Friday,
            Weekday::Saturday,
            Weekday::Sunday,
        ]
        .into_iter()
        .map(|day| window(day, at(12, 0), at(12, 0)))
        .collect();
        // Monday 20:00 to Tuesday 02:00 is inside Monday's window but touches the Tuesday blackout.
        let night = slot("s-new", date(2030, 4, 1), at(20, 0), at(2, 0));
        assert_eq!(assign(&night, &available(noon_to_noon.clone(), Vec::new())), []);
        let violations = assign(&night, &available(noon_to_noon.clone(), vec![blackout.clone()]));
        assert_eq!(codes(&violations), [Code::OutsideAvailability]);
        assert_eq!(violations[0].detail, "falls on their unavailable days 2030-04-02");
        let wednesday_noon = slot("s-new", date(2030, 4, 3), at(12, 0), at(20, 0));
        assert_eq!(assign(&wednesday_noon, &available(noon_to_noon, vec![blackout.clone()])), []);
        // Outside every window and on a blackout day: still one warning.
        let only_mondays = available(vec![window(Weekday::Monday, at(9, 0), at(10, 0))], vec![blackout]);
        assert_eq!(codes(&assign(&night, &only_mondays)), [Code::OutsideAvailability]);
    }

    #[test]
    fn blocking_violations_come_first_then_warnings_each_in_code_order() {
        let shift = with_status(slot("s-new", date(2030, 4, 4), at(9, 0), at(17, 0)), ShiftStatus::Draft);
        let mut shifts = days_worked([1, 2, 3, 5, 6, 7]);
        // Two overlaps listed latest first, and two shifts too close for rest, the later first.
        shifts.push(slot("s-late", date(2030, 4, 4), at(16, 0), at(18, 0)));
        shifts.push(slot("s-early", date(2030, 4, 4), at(8, 0), at(10, 0)));
        shifts.push(slot("s-close", date(2030, 4, 4), at(20, 0), at(22, 0)));
        shifts.push(slot("s-dawn", date(2030, 4, 4), at(5, 0), at(7, 0)));
        let candidate = Candidate {
            active: false,
            position_ids: Vec::new(),
            weekly_hours_cap: Some(10),
            availability: Availability {
                weekly: vec![window(Weekday::Sunday, at(9, 0), at(17, 0))],
                blackouts: Vec::new(),
            },
            time_off: vec![DateRange { from: date(2030, 4, 4), to: date(2030, 4, 4) }],
            ..cook_with(shifts)
        };
        let violations = check(&shift, 1, 1, &candidate, &rules(), Placement::Claim);
        assert_eq!(
            codes(&violations),
            [
                Code::Overlap,
                Code::Overlap,
                Code::PositionNotHeld,
                Code::HeadcountFull,
                Code::TimeOff,
                Code::PersonInactive,
                Code::ShiftNotPublished,
                Code::OutsideAvailability,
                Code::WeeklyHoursCap,
                Code::MinRest,
                Code::MinRest,
                Code::ConsecutiveDays,
            ]
        );
        let named: Vec<_> = violations.iter().map(|v| v.shift_id.as_deref()).collect();
        assert_eq!(named[..2], [Some("s-early"), Some("s-late")]);
        assert_eq!(named[9..11], [Some("s-dawn"), Some("s-close")]);
        assert!(violations.iter().all(|v| v.blocking == v.code.is_blocking()));
    }

    #[test]
    fn week_minutes_sum_only_the_shifts_starting_in_that_week() {
        let mut shifts = working_week();
        shifts.push(slot("s-last-week", date(2030, 3, 31), at(9, 0), at(17, 0)));
        shifts.push(slot("s-next-week", date(2030, 4, 8), at(9, 0), at(17, 0)));
        shifts.push(with_status(slot("s-gone", date(2030, 4, 3), at(18, 0), at(22, 0)), ShiftStatus::Cancelled));
        assert_eq!(week_minutes(&monday_nine_to_five(), &cook_with(shifts), &rules()), 40 * 60);
    }
}
