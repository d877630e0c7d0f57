//! Attendance rules: where a check-in is (distance to the shift's location and its geofence),
//! when it may happen (the check-in window), what status a shift's attendance has, how many
//! minutes it is worth, and how risky a check-in looks. Pure: the caller passes every instant —
//! the moment of the request included — and the organisation's settings.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::settings::{GeofenceMode, Settings};

/// The Earth's mean radius (IUGG), in metres: what the haversine distance is measured on.
const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// A point on the Earth, in degrees (WGS84).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub lat: f64,
    pub lng: f64,
}

/// Great-circle distance in metres between two points, by the haversine formula.
pub fn distance_m(a: Point, b: Point) -> f64 {
    let (lat_a, lat_b) = (a.lat.to_radians(), b.lat.to_radians());
    let half_dlat = (b.lat - a.lat).to_radians() / 2.0;
    let half_dlng = (b.lng - a.lng).to_radians() / 2.0;
    let h = half_dlat.sin().powi(2) + lat_a.cos() * lat_b.cos() * half_dlng.sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

/// Where a check-in was made, as the geofence judges it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Located {
    /// Metres from the location, rounded to the metre.
    pub distance_m: u32,
    pub radius_m: u32,
    /// Within the radius (the edge included).
    pub inside: bool,
    /// The device's own accuracy is coarser than the radius: the position proves little.
    pub imprecise: bool,
}

/// Judges a device's position (`accuracy_m`: its stated accuracy radius) against a location's
/// geofence of `radius_m` around `site`.
pub fn locate(site: Point, radius_m: u32, device: Point, accuracy_m: f64) -> Located {
    let distance_m = distance_m(site, device).round().min(f64::from(u32::MAX)) as u32;
    Located { distance_m, radius_m, inside: distance_m <= radius_m, imprecise: accuracy_m > f64::from(radius_m) }
}

/// What the organisation does with a check-in outside the geofence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeofenceVerdict {
    Accepted,
    /// Accepted, but marked for review (outside in `flag` mode, or an imprecise position).
    Flagged,
    /// Refused: `outside_geofence`.
    Refused,
}

pub fn geofence_verdict(located: &Located, mode: GeofenceMode) -> GeofenceVerdict {
    match (located.inside, mode) {
        (false, GeofenceMode::Reject) => GeofenceVerdict::Refused,
        (false, GeofenceMode::Flag) => GeofenceVerdict::Flagged,
        (true, _) if located.imprecise => GeofenceVerdict::Flagged,
        (true, _) => GeofenceVerdict::Accepted,
    }
}

/// When checking in and out of a shift is possible: both edges included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
}

impl Window {
    /// Opens `check_in_opens_minutes_before` the start, closes `check_in_closes_minutes_after`
    /// the end: real instants, so a night across a clock change keeps its real length.
    pub fn of(start: DateTime<Utc>, end: DateTime<Utc>, settings: &Settings) -> Self {
        Self {
            opens_at: start - TimeDelta::minutes(i64::from(settings.check_in_opens_minutes_before)),
            closes_at: end + TimeDelta::minutes(i64::from(settings.check_in_closes_minutes_after)),
        }
    }

    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        self.opens_at <= at && at <= self.closes_at
    }
}

/// How far back the scheduled job looks for check-in windows to close: a run missed for up to this
/// long (an outage, a queue's retries) is made good by the next.
pub const CLOSING_LOOKBACK: TimeDelta = TimeDelta::days(3);

/// Which check-in windows a run of the scheduled job closes at `now`: those closing in
/// `(since, now]`, where `since` is where the last run got to (none, or older than
/// [`CLOSING_LOOKBACK`]: the lookback). Returns that `since` and the earliest shift start to read
/// (up to `now`): a window closes at most a day (the longest shift) and the settings' closing
/// minutes after its shift starts.
pub fn closing_range(
    last_run: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    settings: &Settings,
) -> (DateTime<Utc>, DateTime<Utc>) {
    let since = last_run.filter(|at| *at > now - CLOSING_LOOKBACK).unwrap_or(now - CLOSING_LOOKBACK);
    let longest = TimeDelta::minutes(crate::domain::time::MAX_SHIFT_MINUTES)
        + TimeDelta::minutes(i64::from(settings.check_in_closes_minutes_after));
    (since, since - longest)
}

/// A shift's attendance as a status. A record can be late and leave early; the status names the
/// more serious (`absent` > `incomplete` > `late` > `early_exit` > `on_time`), and
/// [`Verdict`] keeps both minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    OnTime,
    EarlyExit,
    Late,
    /// Checked in, never out, and the window has closed (the scheduled job closes it at the
    /// window's end and flags it for review).
    Incomplete,
    /// No check-in by the time the window closed.
    Absent,
}

impl Status {
    /// As the API and exports spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::OnTime => "on_time",
            Status::EarlyExit => "early_exit",
            Status::Late => "late",
            Status::Incomplete => "incomplete",
            Status::Absent => "absent",
        }
    }
}

/// What a shift's check-in and check-out come to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    /// `None` while it is too early to say (no check-in yet and the window still open).
    pub status: Option<Status>,
    /// Minutes after the start, when late.
    pub late_minutes: i64,
    /// Minutes before the end, when left early.
    pub early_minutes: i64,
}

/// The status of a shift from `start` to `end` with the given check-in and check-out, at `now`.
///
/// Late: checked in more than `late_grace_minutes` after the start (exactly at start + grace is
/// still on time). Early exit: checked out more than `early_exit_grace_minutes` before the end
/// (exactly at end − grace is not early). Absent and incomplete once the window has closed.
pub fn verdict(
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    check_in: Option<DateTime<Utc>>,
    check_out: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    settings: &Settings,
) -> Verdict {
    let closed = now > Window::of(start, end, settings).closes_at;
    let Some(check_in) = check_in else {
        let status = closed.then_some(Status::Absent);
        return Verdict { status, late_minutes: 0, early_minutes: 0 };
    };
    let late = check_in > start + TimeDelta::minutes(i64::from(settings.late_grace_minutes));
    let late_minutes = if late { (check_in - start).num_minutes() } else { 0 };
    let (early, early_minutes) = match check_out {
        Some(out) if out < end - TimeDelta::minutes(i64::from(settings.early_exit_grace_minutes)) => {
            (true, (end - out).num_minutes())
        }
        _ => (false, 0),
    };
    let status = match (check_out, late, early) {
        (None, _, _) if closed => Status::Incomplete,
        (_, true, _) => Status::Late,
        (_, false, true) => Status::EarlyExit,
        _ => Status::OnTime,
    };
    Verdict { status: Some(status), late_minutes, early_minutes }
}

/// How far a correction may move a time beyond the shift's check-in window (either side), and
/// how many minutes beyond the shift's length a record may count: a shift that ran long is
/// paid, a check-in moved days back is not. Times beyond the window need an owner's
/// confirmation; a longer day needs the shift itself changed.
pub const CORRECTION_MARGIN: TimeDelta = TimeDelta::hours(2);

/// The earliest and latest times a correction may set without an owner's confirmation.
pub fn correction_bounds(start: DateTime<Utc>, end: DateTime<Utc>, settings: &Settings) -> Window {
    let window = Window::of(start, end, settings);
    Window { opens_at: window.opens_at - CORRECTION_MARGIN, closes_at: window.closes_at + CORRECTION_MARGIN }
}

/// Minutes worked: from check-in to check-out less the unpaid break, never negative, and never
/// more than the shift's length (`shift`: its start and end) plus [`CORRECTION_MARGIN`].
pub fn worked_minutes(
    check_in: DateTime<Utc>,
    check_out: DateTime<Utc>,
    break_minutes: u32,
    shift: (DateTime<Utc>, DateTime<Utc>),
) -> i64 {
    let most = (shift.1 - shift.0 + CORRECTION_MARGIN).num_minutes();
    ((check_out - check_in).num_minutes() - i64::from(break_minutes)).clamp(0, most.max(0))
}

/// At or above this risk score a check-in goes to the review queue.
pub const REVIEW_AT: u8 = 50;

/// How doubtful a check-in is, 0 (nothing to doubt) to 100: outside the geofence (accepted in
/// `flag` mode) 50, a position coarser than the radius 30, a required photo missing 40, no photo
/// at all 10.
pub fn risk_score(located: &Located, photo: bool, photo_required: bool) -> u8 {
    let mut score = 0;
    if !located.inside {
        score += 50;
    }
    if located.imprecise {
        score += 30;
    }
    score += match (photo, photo_required) {
        (false, true) => 40,
        (false, false) => 10,
        (true, _) => 0,
    };
    score.min(100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_closes_from_where_the_last_got_to_but_never_looks_back_further_than_the_lookback() {
        let at = |text: &str| text.parse::<DateTime<Utc>>().unwrap();
        let settings = Settings::default(); // windows close 60 minutes after the end
        let now = at("2030-07-04T12:00:00Z");
        let (since, from) = closing_range(Some(at("2030-07-04T11:00:00Z")), now, &settings);
        assert_eq!(since, at("2030-07-04T11:00:00Z"));
        // A 24-hour shift from 10:00 the day before closes at 11:00 today: the earliest to read.
        assert_eq!(from, at("2030-07-03T10:00:00Z"));
        let (since, _) = closing_range(None, now, &settings);
        assert_eq!(since, at("2030-07-01T12:00:00Z"));
        let (since, _) = closing_range(Some(at("2030-06-01T00:00:00Z")), now, &settings);
        assert_eq!(since, at("2030-07-01T12:00:00Z"), "a month without runs: three days back only");
    }

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    /// A point `metres` due north of `from` (a degree of latitude is the same length everywhere).
    fn north(from: Point, metres: f64) -> Point {
        Point { lat: from.lat + (metres / EARTH_RADIUS_M).to_degrees(), lng: from.lng }
    }

    const HALL: Point = Point { lat: 53.8008, lng: -1.5491 };

    #[test]
    fn haversine_agrees_with_known_distances() {
        // London (Trafalgar Square) to Paris (Notre-Dame): about 343.5 km.
        let london = Point { lat: 51.5080, lng: -0.1281 };
        let paris = Point { lat: 48.8530, lng: 2.3499 };
        assert!((343_000.0..=344_500.0).contains(&distance_m(london, paris)), "{}", distance_m(london, paris));
        assert_eq!(distance_m(HALL, HALL), 0.0);
        // Across the antimeridian it is the short way round.
        let west = Point { lat: 0.0, lng: 179.999 };
        let east = Point { lat: 0.0, lng: -179.999 };
        assert!((200.0..=250.0).contains(&distance_m(west, east)));
    }

    #[test]
    fn the_geofence_edge_is_inside_and_a_metre_beyond_is_not() {
        let inside = locate(HALL, 150, north(HALL, 149.0), 10.0);
        assert_eq!((inside.distance_m, inside.inside), (149, true));
        assert!(locate(HALL, 150, north(HALL, 150.0), 10.0).inside);
        let outside = locate(HALL, 150, north(HALL, 151.0), 10.0);
        assert_eq!((outside.distance_m, outside.inside), (151, false));
        assert_eq!(geofence_verdict(&outside, GeofenceMode::Reject), GeofenceVerdict::Refused);
        assert_eq!(geofence_verdict(&outside, GeofenceMode::Flag), GeofenceVerdict::Flagged);
        assert_eq!(geofence_verdict(&inside, GeofenceMode::Reject), GeofenceVerdict::Accepted);
    }

    #[test]
    fn a_position_coarser_than_the_radius_is_flagged_not_trusted() {
        let vague = locate(HALL, 150, HALL, 151.0);
        assert!(vague.inside && vague.imprecise);
        assert_eq!(geofence_verdict(&vague, GeofenceMode::Reject), GeofenceVerdict::Flagged);
        assert!(!locate(HALL, 150, HALL, 150.0).imprecise);
    }

    #[test]
    fn the_window_opens_and_closes_on_its_edges() {
        let settings = Settings::default();
        let window = Window::of(at("2030-07-04T08:00:00Z"), at("2030-07-04T16:00:00Z"), &settings);
        assert!(!window.contains(at("2030-07-04T06:59:00Z")));
        assert!(window.contains(at("2030-07-04T07:00:00Z")));
        assert!(window.contains(at("2030-07-04T17:00:00Z")));
        assert!(!window.contains(at("2030-07-04T17:01:00Z")));
    }

    #[test]
    fn late_starts_one_minute_past_the_grace() {
        let settings = Settings::default(); // 5 minutes
        let (start, end) = (at("2030-07-04T08:00:00Z"), at("2030-07-04T16:00:00Z"));
        let now = at("2030-07-04T09:00:00Z");
        let status = |check_in: &str| verdict(start, end, Some(at(check_in)), None, now, &settings);
        assert_eq!(status("2030-07-04T08:04:00Z").status, Some(Status::OnTime));
        assert_eq!(status("2030-07-04T08:05:00Z").status, Some(Status::OnTime), "the grace's edge is on time");
        let late = status("2030-07-04T08:06:00Z");
        assert_eq!((late.status, late.late_minutes), (Some(Status::Late), 6));
        assert_eq!(status("2030-07-04T07:30:00Z").status, Some(Status::OnTime));
    }

    #[test]
    fn early_exit_starts_one_minute_before_the_grace() {
        let settings = Settings::default();
        let (start, end) = (at("2030-07-04T08:00:00Z"), at("2030-07-04T16:00:00Z"));
        let now = at("2030-07-04T16:30:00Z");
        let status = |out: &str| verdict(start, end, Some(at("2030-07-04T07:55:00Z")), Some(at(out)), now, &settings);
        assert_eq!(status("2030-07-04T15:55:00Z").status, Some(Status::OnTime), "the grace's edge");
        let early = status("2030-07-04T15:54:00Z");
        assert_eq!((early.status, early.early_minutes), (Some(Status::EarlyExit), 6));
        // Late and early: the status is the more serious, both minutes are kept.
        let both =
            verdict(start, end, Some(at("2030-07-04T08:30:00Z")), Some(at("2030-07-04T15:00:00Z")), now, &settings);
        assert_eq!((both.status, both.late_minutes, both.early_minutes), (Some(Status::Late), 30, 60));
    }

    #[test]
    fn absent_and_incomplete_only_once_the_window_has_closed() {
        let settings = Settings::default();
        let (start, end) = (at("2030-07-04T08:00:00Z"), at("2030-07-04T16:00:00Z"));
        let open = at("2030-07-04T17:00:00Z");
        let closed = at("2030-07-04T17:01:00Z");
        assert_eq!(verdict(start, end, None, None, open, &settings).status, None);
        assert_eq!(verdict(start, end, None, None, closed, &settings).status, Some(Status::Absent));
        let checked_in = Some(at("2030-07-04T08:00:00Z"));
        assert_eq!(verdict(start, end, checked_in, None, open, &settings).status, Some(Status::OnTime));
        assert_eq!(verdict(start, end, checked_in, None, closed, &settings).status, Some(Status::Incomplete));
    }

    #[test]
    fn a_night_across_the_autumn_change_is_worked_for_its_real_nine_hours() {
        // 22:00–06:00 in London on 26–27 October 2030: the clocks go back, 9 real hours.
        let settings = Settings::default();
        let (start, end) = (at("2030-10-26T21:00:00Z"), at("2030-10-27T06:00:00Z"));
        let (check_in, check_out) = (at("2030-10-26T21:03:00Z"), at("2030-10-27T06:00:00Z"));
        let now = at("2030-10-27T06:10:00Z");
        assert_eq!(verdict(start, end, Some(check_in), Some(check_out), now, &settings).status, Some(Status::OnTime));
        assert_eq!(worked_minutes(check_in, check_out, 30, (start, end)), 9 * 60 - 3 - 30);
    }

    #[test]
    fn worked_minutes_are_never_negative() {
        let (check_in, check_out) = (at("2030-07-04T08:00:00Z"), at("2030-07-04T08:20:00Z"));
        let shift = (check_in, at("2030-07-04T16:00:00Z"));
        assert_eq!(worked_minutes(check_in, check_out, 30, shift), 0);
        assert_eq!(worked_minutes(check_out, check_in, 0, shift), 0);
        assert_eq!(worked_minutes(check_in, check_out, 0, shift), 20);
    }

    #[test]
    fn worked_minutes_stop_at_the_shifts_length_and_the_margin() {
        let shift = (at("2030-07-04T08:00:00Z"), at("2030-07-04T16:00:00Z"));
        let most = 8 * 60 + CORRECTION_MARGIN.num_minutes();
        let worked = |check_in, check_out| worked_minutes(at(check_in), at(check_out), 0, shift);
        assert_eq!(worked("2030-07-04T07:00:00Z", "2030-07-04T16:59:00Z"), most - 1);
        assert_eq!(worked("2030-07-04T07:00:00Z", "2030-07-04T17:00:00Z"), most);
        assert_eq!(worked("2030-07-04T07:00:00Z", "2030-07-04T17:01:00Z"), most);
        assert_eq!(worked("2030-06-08T08:00:00Z", "2030-07-04T16:00:00Z"), most, "moved weeks back");
    }

    #[test]
    fn corrections_reach_the_margin_beyond_the_window_both_ways() {
        let settings = Settings::default();
        let (start, end) = (at("2030-07-04T08:00:00Z"), at("2030-07-04T16:00:00Z"));
        let bounds = correction_bounds(start, end, &settings);
        let window = Window::of(start, end, &settings);
        assert_eq!(bounds.opens_at, window.opens_at - CORRECTION_MARGIN);
        assert_eq!(bounds.closes_at, window.closes_at + CORRECTION_MARGIN);
        assert!(bounds.contains(bounds.opens_at) && bounds.contains(bounds.closes_at));
        assert!(!bounds.contains(bounds.opens_at - TimeDelta::seconds(1)));
        assert!(!bounds.contains(bounds.closes_at + TimeDelta::seconds(1)));
    }

    #[test]
    fn risk_adds_up_what_is_doubtful() {
        let good = locate(HALL, 150, HALL, 10.0);
        assert_eq!(risk_score(&good, true, true), 0);
        assert_eq!(risk_score(&good, false, false), 10);
        assert_eq!(risk_score(&good, false, true), 40);
        let outside = locate(HALL, 150, north(HALL, 400.0), 10.0);
        assert_eq!(risk_score(&outside, true, false), 50);
        let worst = locate(HALL, 150, north(HALL, 400.0), 500.0);
        assert_eq!(risk_score(&worst, false, true), 100);
        assert!(risk_score(&outside, true, false) >= REVIEW_AT && risk_score(&good, false, true) < REVIEW_AT);
    }
}
