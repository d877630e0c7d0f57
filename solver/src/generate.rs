//! Seeded instances shaped like a real organisation's month: locations open early, late and some
//! at night; six positions from common to rare (a supervisor costs more than a steward); full- and
//! part-time people with caps, rates and a home location or two; weekly availability, preferred
//! windows, time off; and some places already taken (pinned), a few of them just before the period.
//! The benchmark's SMALL, LARGE (Timefold's quickstart shapes) and XL come from here, as do the
//! property tests' random instances.

use crate::instance::{Candidate, Instance, Interval, Person, Rules, Shift, Weights};
use crate::rng::Rng;

/// How big an organisation and period to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    pub name: &'static str,
    pub people: usize,
    pub days: i64,
    pub locations: usize,
    /// Demand as a percent of what the people want to work (their targets).
    pub demand_percent: i64,
}

pub const SMALL: Shape = Shape { name: "small", people: 15, days: 14, locations: 3, demand_percent: 85 };
pub const LARGE: Shape = Shape { name: "large", people: 50, days: 28, locations: 7, demand_percent: 85 };
pub const XL: Shape = Shape { name: "xl", people: 500, days: 28, locations: 20, demand_percent: 85 };

impl Shape {
    pub fn named(name: &str) -> Option<Shape> {
        [SMALL, LARGE, XL].into_iter().find(|shape| shape.name == name)
    }
}

/// The organisation defaults auto-fill starts from (docs/auto-fill.md).
pub fn default_rules() -> Rules {
    Rules {
        min_rest_minutes: 11 * 60,
        max_consecutive_days: 6,
        daily_overtime_after_minutes: 8 * 60,
        weekly_overtime_after_minutes: 40 * 60,
        overtime_rate_percent: 150,
    }
}

/// Weights: a place left open outweighs anything one assignment adds (at most ≈ 5·10⁸ here); a
/// minute away from a person's target weighs about a tenth of a minute's pay; an assignment
/// outside someone's preferred windows about two hours of pay.
pub fn default_weights() -> Weights {
    Weights { unfilled: 10_000_000_000, cost: 1, fairness: 20_000, unpreferred: 20_000_000 }
}

/// Base pay per hour of each position, in minor units; position 0 is the most common.
const POSITION_RATES: [i64; 6] = [1400, 1500, 1600, 1800, 2200, 2600];

/// Start hour, length in hours, and whether it is a night shift.
const TEMPLATES: [(i64, i64, bool); 5] = [(6, 8, false), (14, 8, false), (9, 8, false), (22, 8, true), (10, 4, false)];

/// What a person is like beyond their id.
struct Profile {
    locations: Vec<usize>,
    positions: Vec<usize>,
    weekly_target: i64,
    /// Works no nights / no weekends / only before 15:00.
    no_nights: bool,
    no_weekends: bool,
    mornings_only: bool,
    /// Prefers early shifts (its other shifts are not preferred).
    prefers_early: bool,
    time_off: Option<(i64, i64)>,
}

pub fn generate(shape: Shape, seed: u64) -> Instance {
    let mut rng = Rng::new(seed ^ 0x5EED_0FA7_0F11);
    let rules = default_rules();

    // Each location offers the two common positions and two more, and a third open at night.
    let offers: Vec<(Vec<usize>, bool)> = (0..shape.locations)
        .map(|_| {
            let mut positions = vec![0, 1];
            while positions.len() < 4 {
                let position = 2 + rng.below(4);
                if !positions.contains(&position) {
                    positions.push(position);
                }
            }
            (positions, rng.chance(33))
        })
        .collect();

    let profiles: Vec<Profile> = (0..shape.people)
        .map(|index| {
            let home = index % shape.locations;
            let mut locations = vec![home];
            for (step, percent) in [(1, 60), (shape.locations - 1, 30)] {
                let next = (home + step) % shape.locations;
                if rng.chance(percent) && !locations.contains(&next) {
                    locations.push(next);
                }
            }
            let mut positions = vec![rng.below(4)];
            for (position, percent) in [(rng.below(4), 80), (rng.below(4), 40), (4, 30), (5, 20)] {
                if rng.chance(percent) && !positions.contains(&position) {
                    positions.push(position);
                }
            }
            let full_time = rng.chance(70);
            let time_off = rng.chance(15).then(|| {
                let first = rng.between(0, shape.days - 1);
                (first, first + rng.between(2, 6))
            });
            Profile {
                locations,
                positions,
                weekly_target: if full_time { 38 * 60 } else { 20 * 60 },
                no_nights: rng.chance(15),
                no_weekends: rng.chance(10),
                mornings_only: rng.chance(5),
                prefers_early: rng.chance(25),
                time_off,
            }
        })
        .collect();
    let mut people: Vec<Person> = profiles
        .iter()
        .enumerate()
        .map(|(index, profile)| {
            let top = profile.positions.iter().map(|&position| POSITION_RATES[position]).max().unwrap_or(1400);
            let full_time = profile.weekly_target > 30 * 60;
            Person {
                id: format!("p{index}"),
                rate: top + rng.between(-1, 6) * 50,
                cap_minutes: if full_time { 48 * 60 } else { [24, 30][rng.below(2)] * 60 },
                target_minutes: 0,
                pinned: Vec::new(),
            }
        })
        .collect();

    // Every shift a location could run, then places dealt out until demand is met.
    let mut slots: Vec<(usize, i64, usize, usize)> = Vec::new();
    for (location, (positions, nights)) in offers.iter().enumerate() {
        for day in 0..shape.days {
            for (template, &(_, _, night)) in TEMPLATES.iter().enumerate() {
                if night && !nights {
                    continue;
                }
                for &position in positions {
                    slots.push((location, day, template, position));
                }
            }
        }
    }
    let wanted: i64 = profiles.iter().map(|profile| profile.weekly_target).sum::<i64>() * shape.days / 7;
    let mut headcount = vec![0u32; slots.len()];
    let mut demand = 0;
    while demand * 100 < wanted * shape.demand_percent {
        let slot = rng.below(slots.len());
        let (_, _, template, position) = slots[slot];
        // Common positions and full-day shifts are needed more often.
        let likely = [100, 100, 45, 45, 20, 20][position] * if TEMPLATES[template].1 == 4 { 1 } else { 2 };
        if headcount[slot] < 3 && rng.below(200) < likely {
            headcount[slot] += 1;
            demand += paid(TEMPLATES[template].1);
        }
    }

    let may_take = |profile: &Profile, location: usize, day: i64, template: usize, position: usize| {
        let (start_hour, _, night) = TEMPLATES[template];
        profile.locations.contains(&location)
            && profile.positions.contains(&position)
            && !(profile.no_nights && night)
            && !(profile.no_weekends && day.rem_euclid(7) >= 5)
            && !(profile.mornings_only && start_hour >= 12)
            && !profile.time_off.is_some_and(|(first, last)| (first..=last).contains(&day))
    };

    let mut shifts = Vec::new();
    for (slot, &(location, day, template, position)) in slots.iter().enumerate() {
        if headcount[slot] == 0 {
            continue;
        }
        let (start_hour, hours, _) = TEMPLATES[template];
        let time = interval(day, start_hour, hours);
        let mut candidates: Vec<Candidate> = (0..shape.people)
            .filter(|&person| may_take(&profiles[person], location, day, template, position))
            .map(|person| Candidate {
                person: person as u32,
                preferred: !profiles[person].prefers_early || start_hour < 12,
            })
            .collect();
        let mut open = headcount[slot];
        let mut pinned_people = Vec::new();
        // About one place in eight is already taken, by a candidate whose other pinned shifts
        // leave room (what a coordinator would have done by hand).
        for candidate in &candidates {
            if open == 0 || !rng.chance(12) {
                continue;
            }
            let pinned = &mut people[candidate.person as usize].pinned;
            let clear = pinned.iter().all(|other: &Interval| {
                other.end + rules.min_rest_minutes <= time.start || time.end + rules.min_rest_minutes <= other.start
            });
            let week: i64 = pinned.iter().filter(|other| other.week == time.week).map(|other| other.paid_minutes).sum();
            if clear && week + time.paid_minutes <= 40 * 60 {
                pinned.push(time);
                pinned_people.push(candidate.person);
                open -= 1;
            }
        }
        candidates.retain(|candidate| !pinned_people.contains(&candidate.person));
        if open > 0 {
            shifts.push(Shift {
                id: format!("s{}-{location}-{day}-{template}-{position}", shifts.len()),
                time,
                open,
                candidates,
            });
        }
    }
    // Some worked the days just before the period: rest and days in a row reach into it.
    for (person, profile) in people.iter_mut().zip(&profiles) {
        if rng.chance(30) && !profile.no_nights {
            person.pinned.push(interval(-rng.between(1, 2), 14, 8));
        }
    }

    // Targets: each person's share of the open minutes, in proportion to the hours they want,
    // less what they already have in the period.
    let open_minutes: i64 = shifts.iter().map(|shift| i64::from(shift.open) * shift.time.paid_minutes).sum();
    let pinned_in_period = |person: &Person| -> i64 {
        person.pinned.iter().filter(|time| time.day >= 0).map(|time| time.paid_minutes).sum()
    };
    let total_pinned: i64 = people.iter().map(pinned_in_period).sum();
    let desired: i64 = profiles.iter().map(|profile| profile.weekly_target).sum();
    for (person, profile) in people.iter_mut().zip(&profiles) {
        let share = (open_minutes + total_pinned) * profile.weekly_target / desired.max(1);
        person.target_minutes = (share - pinned_in_period(person)).max(0);
    }

    Instance { name: shape.name.to_owned(), rules, weights: default_weights(), people, shifts }
}

/// Paid minutes of a shift `hours` long: a 30-minute unpaid break from six hours on.
fn paid(hours: i64) -> i64 {
    hours * 60 - if hours >= 6 { 30 } else { 0 }
}

/// A shift starting at `start_hour` on `day`, `hours` long (weeks start on day 0).
fn interval(day: i64, start_hour: i64, hours: i64) -> Interval {
    let start = day * 1440 + start_hour * 60;
    Interval { start, end: start + hours * 60, paid_minutes: paid(hours), day, week: day.div_euclid(7) }
}
