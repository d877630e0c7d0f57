//! Auto-fill's instance: the open places of a period and the people who may take them, as the
//! solver sees them (docs/auto-fill.md). Every (place, person) pair is judged here by the conflict
//! engine against what the person already works; the pairs that pass become the solver's
//! candidates, the others are kept with their rules, which is half of "why was this left open" (the
//! solver's proposals the other half, `solver::explain`). Pure: the caller reads, this builds.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveTime};
use serde::{Deserialize, Serialize};
use solver::{Blocker, Candidate as Pair, Instance, Interval, Person as Member, Shift as Open, Weights};
use utoipa::ToSchema;

use crate::domain::conflicts::{self, Candidate, Code, Placement, Rules, ShiftStatus, Slot, Window};
use crate::domain::settings::Settings;
use crate::domain::time::{local_date, resolve, week_bounds};
use crate::store::auto_fill::{Kept, LeftOpen, PersonLoad, Proposal, Proposed, RuleCount};

/// How much each soft rule counts against the others, 0 (ignored) to 10; 1 each by default. Places
/// left open always count most.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, garde::Validate)]
#[serde(deny_unknown_fields)]
pub struct Tuning {
    /// Labour cost (rates, overtime).
    #[garde(range(max = 10))]
    #[schema(maximum = 10)]
    #[serde(default = "one")]
    pub cost: u8,
    /// Hours spread by each person's share.
    #[garde(range(max = 10))]
    #[schema(maximum = 10)]
    #[serde(default = "one")]
    pub fairness: u8,
    /// Shifts inside the windows people marked preferred.
    #[garde(range(max = 10))]
    #[schema(maximum = 10)]
    #[serde(default = "one")]
    pub preferences: u8,
}

fn one() -> u8 {
    1
}

impl Default for Tuning {
    fn default() -> Self {
        Self { cost: 1, fairness: 1, preferences: 1 }
    }
}

/// A shift with open places, in the period.
#[derive(Debug, Clone)]
pub struct Place {
    pub slot: Slot,
    /// Places still open (headcount less those assigned and not declined).
    pub open: u32,
    /// Who holds a place on it already (not declined): not candidates for another, and not among
    /// those kept off it.
    pub holders: Vec<String>,
}

/// Someone who may be given places: the conflict engine's view of them (their booked shifts are
/// what auto-fill pins), their rate, and the windows they prefer.
#[derive(Debug, Clone)]
pub struct Worker {
    pub candidate: Candidate,
    /// Pay per hour in minor units, when set.
    pub rate_minor: Option<u64>,
    /// Availability windows marked preferred (none: no preference).
    pub preferred: Vec<Window>,
}

/// The instance, with what its indexes stand for and who was ruled out of each place.
#[derive(Debug, Clone)]
pub struct Built {
    pub instance: Instance,
    /// `instance.shifts[i]` is the shift `shift_ids[i]`; likewise people.
    pub shift_ids: Vec<String>,
    pub person_ids: Vec<String>,
    /// For each shift, each person the conflict engine ruled out, with the rules (by index).
    pub ruled_out: Vec<Vec<(u32, Vec<Code>)>>,
}

/// Judges every pair of `places` and `workers` and builds the solver's instance for the period
/// starting on `from` (a local date of the organisation's).
pub fn build(
    places: &[Place],
    workers: &[Worker],
    rules: &Rules,
    settings: &Settings,
    tuning: Tuning,
    from: NaiveDate,
) -> Built {
    let origin = resolve(rules.zone, from, NaiveTime::MIN);
    // Weeks are counted from the organisation's week that holds the period's first day.
    let first_week_day = local_date(week_bounds(origin, rules.zone, rules.week_start).0, rules.zone);
    let lead = (from - first_week_day).num_days();
    let interval = |slot: &Slot| {
        let day = (local_date(slot.start, slot.zone) - from).num_days();
        Interval {
            start: (slot.start - origin).num_minutes(),
            end: (slot.end - origin).num_minutes(),
            paid_minutes: slot.paid_minutes(),
            day,
            week: (day + lead).div_euclid(7),
        }
    };

    // Booked shifts far from every place change nothing; the rest are pinned.
    let reach = i64::from(rules.max_consecutive_days) + 8;
    let (first_day, last_day) = places.iter().fold((i64::MAX, i64::MIN), |(low, high), place| {
        let day = interval(&place.slot).day;
        (low.min(day), high.max(day))
    });
    let near = |time: &Interval| first_day - reach <= time.day && time.day <= last_day + reach;

    let mut shifts: Vec<Open> = places
        .iter()
        .map(|place| Open {
            id: place.slot.id.clone(),
            time: interval(&place.slot),
            open: place.open,
            candidates: Vec::new(),
        })
        .collect();
    let mut ruled_out = vec![Vec::new(); places.len()];
    for (person, worker) in workers.iter().enumerate() {
        let candidate = &worker.candidate;
        for (index, place) in places.iter().enumerate() {
            if place.holders.contains(&candidate.person_id) {
                continue;
            }
            // The two rules that rule most people out, without the engine's sentences.
            let mut codes: Vec<Code> = Vec::new();
            if !candidate.active {
                codes.push(Code::PersonInactive);
            }
            if !candidate.position_ids.contains(&place.slot.position_id) {
                codes.push(Code::PositionNotHeld);
            }
            if codes.is_empty() {
                // One place free (the solver keeps count), as a coordinator would assign it.
                codes = conflicts::check(&place.slot, 1, 0, candidate, rules, Placement::Assign)
                    .into_iter()
                    .map(|violation| violation.code)
                    .collect();
                codes.dedup();
            }
            if codes.is_empty() {
                let preferred =
                    worker.preferred.is_empty() || conflicts::inside_a_window(&place.slot, &worker.preferred);
                shifts[index].candidates.push(Pair { person: person as u32, preferred });
            } else {
                ruled_out[index].push((person as u32, codes));
            }
        }
    }

    // A rate for everyone: theirs, else the organisation's median (so nobody looks free).
    let mut rates: Vec<i64> = workers.iter().filter_map(|worker| worker.rate_minor).map(|rate| rate as i64).collect();
    rates.sort_unstable();
    let median = rates.get(rates.len() / 2).copied().unwrap_or(0);

    let mut people: Vec<Member> = workers
        .iter()
        .map(|worker| {
            let cap_hours = worker.candidate.weekly_hours_cap.unwrap_or(rules.weekly_hours_cap);
            Member {
                id: worker.candidate.person_id.clone(),
                rate: worker.rate_minor.map_or(median, |rate| rate as i64),
                cap_minutes: i64::from(cap_hours) * 60,
                target_minutes: 0,
                pinned: worker
                    .candidate
                    .shifts
                    .iter()
                    .filter(|slot| slot.status != ShiftStatus::Cancelled)
                    .map(interval)
                    .filter(near)
                    .collect(),
            }
        })
        .collect();
    set_targets(&mut people, &shifts, first_day, last_day);

    let mut instance = Instance {
        name: format!("auto-fill from {from}"),
        rules: solver::Rules {
            min_rest_minutes: i64::from(rules.min_rest_minutes),
            max_consecutive_days: i64::from(rules.max_consecutive_days),
            daily_overtime_after_minutes: i64::from(settings.daily_overtime_after_minutes),
            weekly_overtime_after_minutes: i64::from(settings.weekly_overtime_after_minutes),
            overtime_rate_percent: i64::from(settings.overtime_rate_percent.max(100)),
        },
        weights: Weights { unfilled: 0, ..weights(tuning) },
        people,
        shifts,
    };
    instance.weights.unfilled = unfilled_weight(&instance);
    Built {
        instance,
        shift_ids: places.iter().map(|place| place.slot.id.clone()).collect(),
        person_ids: workers.iter().map(|worker| worker.candidate.person_id.clone()).collect(),
        ruled_out,
    }
}

/// The soft rules' weights at `tuning` (docs/auto-fill.md: a minute away from someone's share
/// weighs about a tenth of a minute's pay, a shift outside their preferred windows two hours' pay).
fn weights(tuning: Tuning) -> Weights {
    let defaults = solver::generate::default_weights();
    Weights {
        unfilled: defaults.unfilled,
        cost: defaults.cost * i64::from(tuning.cost),
        fairness: defaults.fairness * i64::from(tuning.fairness),
        unpreferred: defaults.unpreferred * i64::from(tuning.preferences),
    }
}

/// More than any one assignment can add to the other parts (its pay, all of it at the overtime
/// rate; its minutes away from a share; its preference), so a place is only left open when
/// filling it would leave another open.
fn unfilled_weight(instance: &Instance) -> i64 {
    let weights = &instance.weights;
    let percent = instance.rules.overtime_rate_percent;
    let most = instance
        .shifts
        .iter()
        .flat_map(|shift| {
            shift.candidates.iter().map(move |pair| {
                let paid = shift.time.paid_minutes;
                let rate = instance.people[pair.person as usize].rate;
                weights.cost * rate * percent * paid + weights.fairness * paid + weights.unpreferred
            })
        })
        .max()
        .unwrap_or(0);
    most + 1
}

/// Each person's share of the period's work (the open places and what is booked in the period), in
/// proportion to their weekly cap, less what they already have; only people who may take at least
/// one place share.
fn set_targets(people: &mut [Member], shifts: &[Open], first_day: i64, last_day: i64) {
    let mut may_take = vec![false; people.len()];
    for pair in shifts.iter().flat_map(|shift| &shift.candidates) {
        may_take[pair.person as usize] = true;
    }
    let booked = |person: &Member| -> i64 {
        person
            .pinned
            .iter()
            .filter(|time| (first_day..=last_day).contains(&time.day))
            .map(|time| time.paid_minutes)
            .sum()
    };
    let sharing: Vec<usize> = (0..people.len()).filter(|&index| may_take[index]).collect();
    let work: i64 = shifts.iter().map(|shift| i64::from(shift.open) * shift.time.paid_minutes).sum::<i64>()
        + sharing.iter().map(|&index| booked(&people[index])).sum::<i64>();
    let capacity: i64 = sharing.iter().map(|&index| people[index].cap_minutes).sum();
    for index in sharing {
        let share = if capacity == 0 { 0 } else { work * people[index].cap_minutes / capacity };
        people[index].target_minutes = (share - booked(&people[index])).max(0);
    }
}

/// How many people each rule ruled out of a place, most first (then in the rules' order).
pub fn tally(ruled_out: &[(u32, Vec<Code>)]) -> Vec<(Code, u32)> {
    let mut counts: BTreeMap<Code, u32> = BTreeMap::new();
    for code in ruled_out.iter().flat_map(|(_, codes)| codes) {
        *counts.entry(*code).or_default() += 1;
    }
    let mut counts: Vec<(Code, u32)> = counts.into_iter().collect();
    counts.sort_by_key(|(code, count)| (std::cmp::Reverse(*count), *code));
    counts
}

/// The solver's answer as the API reports it: the assignments by id, each person's minutes and pay
/// in the period before and with it, and every place left open with why — the rules the conflict
/// engine ruled people out by, and what the proposal itself put in the way of the rest.
pub fn proposal(built: &Built, assignments: &[(u32, u32)]) -> Proposal {
    let instance = &built.instance;
    let shift_id = |shift: u32| built.shift_ids[shift as usize].clone();
    let person_id = |person: u32| built.person_ids[person as usize].clone();

    let (first_day, last_day) = instance
        .shifts
        .iter()
        .fold((i64::MAX, i64::MIN), |(low, high), shift| (low.min(shift.time.day), high.max(shift.time.day)));
    let mut given: Vec<Vec<Interval>> = vec![Vec::new(); instance.people.len()];
    for &(shift, person) in assignments {
        given[person as usize].push(instance.shifts[shift as usize].time);
    }
    let people = instance
        .people
        .iter()
        .zip(&given)
        .enumerate()
        .filter_map(|(index, (person, given))| {
            let before: Vec<Interval> =
                person.pinned.iter().filter(|time| (first_day..=last_day).contains(&time.day)).copied().collect();
            let after: Vec<Interval> = before.iter().chain(given).copied().collect();
            let load = PersonLoad {
                person_id: person_id(index as u32),
                minutes_before: before.iter().map(|time| time.paid_minutes).sum(),
                minutes_after: after.iter().map(|time| time.paid_minutes).sum(),
                cost_before_minor: pay_minor(&instance.rules, person.rate, &before),
                cost_after_minor: pay_minor(&instance.rules, person.rate, &after),
                share_minutes: person.target_minutes + before.iter().map(|time| time.paid_minutes).sum::<i64>(),
            };
            (load.minutes_after > 0 || person.target_minutes > 0).then_some(load)
        })
        .collect();

    let left_open = solver::unfilled(instance, assignments)
        .into_iter()
        .map(|open| {
            let ruled_out = &built.ruled_out[open.shift as usize];
            let mut kept: Vec<Kept> = ruled_out
                .iter()
                .filter(|(_, codes)| !codes.contains(&Code::PositionNotHeld) && !codes.contains(&Code::PersonInactive))
                .map(|(person, codes)| Kept { person_id: person_id(*person), rules: codes.clone(), shift_id: None })
                .collect();
            let mut counted: Vec<(u32, Vec<Code>)> = ruled_out.clone();
            for blocked in open.blocked {
                let rules: Vec<Code> = blocked.blockers.iter().map(|blocker| code(*blocker)).collect();
                counted.push((blocked.person, rules.clone()));
                kept.push(Kept {
                    person_id: person_id(blocked.person),
                    rules,
                    shift_id: blocked.with_shift.map(shift_id),
                });
            }
            kept.sort_by(|a, b| a.person_id.cmp(&b.person_id));
            LeftOpen {
                shift_id: shift_id(open.shift),
                open: open.open,
                rules: tally(&counted).into_iter().map(|(rule, people)| RuleCount { rule, people }).collect(),
                people: kept,
            }
        })
        .collect();

    Proposal {
        assignments: assignments
            .iter()
            .map(|&(shift, person)| Proposed { shift_id: shift_id(shift), person_id: person_id(person) })
            .collect(),
        people,
        left_open,
    }
}

/// The conflict engine's code for a rule the solver's proposals break.
fn code(blocker: Blocker) -> Code {
    match blocker {
        Blocker::Overlap => Code::Overlap,
        Blocker::MinRest => Code::MinRest,
        Blocker::WeeklyHoursCap => Code::WeeklyHoursCap,
        Blocker::ConsecutiveDays => Code::ConsecutiveDays,
    }
}

/// What `shifts` pay at `rate` by the model's rule, in minor units (rounded).
fn pay_minor(rules: &solver::Rules, rate: i64, shifts: &[Interval]) -> i64 {
    let mut weeks: BTreeMap<i64, BTreeMap<i64, i64>> = BTreeMap::new();
    for time in shifts {
        *weeks.entry(time.week).or_default().entry(time.day).or_default() += time.paid_minutes;
    }
    let units: i64 = weeks.values().map(|days| rules.week_cost(rate, days.values().copied())).sum();
    (units + 3000) / 6000
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, TimeZone, Utc};
    use chrono_tz::Europe::London;

    use super::*;
    use crate::domain::conflicts::{Availability, DateRange};
    use crate::domain::settings::Weekday;

    fn at(day: u32, hour: u32) -> DateTime<Utc> {
        London.with_ymd_and_hms(2030, 4, day, hour, 0, 0).unwrap().to_utc()
    }

    fn slot(id: &str, day: u32, hour: u32, hours: i64, position: &str) -> Slot {
        Slot {
            id: id.into(),
            start: at(day, hour),
            end: at(day, hour) + chrono::TimeDelta::hours(hours),
            break_minutes: 30,
            position_id: position.into(),
            zone: London,
            status: ShiftStatus::Published,
        }
    }

    fn worker(id: &str, positions: &[&str]) -> Worker {
        Worker {
            candidate: Candidate {
                person_id: id.into(),
                active: true,
                position_ids: positions.iter().map(|p| (*p).to_owned()).collect(),
                weekly_hours_cap: None,
                availability: Availability::default(),
                time_off: Vec::new(),
                shifts: Vec::new(),
            },
            rate_minor: Some(2000),
            preferred: Vec::new(),
        }
    }

    fn rules() -> Rules {
        Rules {
            min_rest_minutes: 660,
            max_consecutive_days: 6,
            weekly_hours_cap: 48,
            week_start: Weekday::Monday,
            zone: London,
        }
    }

    #[test]
    fn pairs_the_engine_passes_become_candidates_and_the_rest_keep_their_rules() {
        // Monday 1 April 2030: a bar shift 09:00–17:00 on the 2nd (Tuesday).
        // "held" is on it already: neither a candidate nor kept off.
        let places = [Place { slot: slot("bar", 2, 9, 8, "bartender"), open: 2, holders: vec!["held".into()] }];
        let mut away = worker("away", &["bartender"]);
        away.candidate.time_off =
            vec![DateRange { from: "2030-04-02".parse().unwrap(), to: "2030-04-03".parse().unwrap() }];
        let mut tired = worker("tired", &["bartender"]);
        // A late shift ending at 02:00 on the 2nd: 7 h rest before 09:00.
        tired.candidate.shifts = vec![slot("late", 1, 18, 8, "bartender")];
        let mut choosy = worker("choosy", &["bartender"]);
        choosy.preferred = vec![Window {
            weekday: Weekday::Tuesday,
            start_local: NaiveTime::from_hms_opt(6, 0, 0).unwrap(),
            end_local: NaiveTime::from_hms_opt(12, 0, 0).unwrap(),
        }];
        choosy.rate_minor = None;
        let mut held = worker("held", &["bartender"]);
        held.candidate.shifts = vec![slot("bar", 2, 9, 8, "bartender")];
        let workers = [worker("free", &["bartender"]), worker("cook", &["cook"]), away, tired, choosy, held];
        let built =
            build(&places, &workers, &rules(), &Settings::default(), Tuning::default(), "2030-04-01".parse().unwrap());

        let shift = &built.instance.shifts[0];
        assert_eq!(shift.open, 2);
        // Tuesday 09:00 is minute 33·60 from Monday's midnight; day 1 of week 0.
        assert_eq!((shift.time.start, shift.time.day, shift.time.week, shift.time.paid_minutes), (33 * 60, 1, 0, 450));
        let candidates: Vec<(&str, bool)> = shift
            .candidates
            .iter()
            .map(|pair| (built.person_ids[pair.person as usize].as_str(), pair.preferred))
            .collect();
        // "choosy" prefers mornings only: 09:00–17:00 is outside their preferred window.
        assert_eq!(candidates, vec![("free", true), ("choosy", false)]);
        let ruled_out: Vec<(&str, Vec<Code>)> = built.ruled_out[0]
            .iter()
            .map(|(person, codes)| (built.person_ids[*person as usize].as_str(), codes.clone()))
            .collect();
        assert_eq!(
            ruled_out,
            vec![("cook", vec![Code::PositionNotHeld]), ("away", vec![Code::TimeOff]), ("tired", vec![Code::MinRest])]
        );
        assert_eq!(
            tally(&built.ruled_out[0]),
            vec![(Code::PositionNotHeld, 1), (Code::TimeOff, 1), (Code::MinRest, 1)]
        );
        // The late shift is pinned for "tired"; "choosy" is priced at the median rate.
        assert_eq!(built.instance.people[3].pinned.len(), 1);
        assert_eq!(built.instance.people[4].rate, 2000);
        // Only the two candidates share the 900 open minutes, by their caps (equal here).
        let targets: Vec<i64> = built.instance.people.iter().map(|person| person.target_minutes).collect();
        assert_eq!(targets, vec![450, 0, 0, 0, 450, 0]);
        assert_eq!(built.instance.validate(), Ok(()));
        assert!(built.instance.weights.unfilled > 2000 * 150 * 450);

        // "free" takes one place; the other is left open, and the report says why for everyone
        // who holds the position: "choosy" was not given it (nothing in the way), the others'
        // rules as the engine found them.
        let report = proposal(&built, &[(0, 0)]);
        assert_eq!(report.assignments, vec![Proposed { shift_id: "bar".into(), person_id: "free".into() }]);
        let open = &report.left_open[0];
        assert_eq!((open.shift_id.as_str(), open.open), ("bar", 1));
        let kept: Vec<(&str, &[Code])> =
            open.people.iter().map(|kept| (kept.person_id.as_str(), kept.rules.as_slice())).collect();
        assert_eq!(kept, vec![("away", &[Code::TimeOff][..]), ("choosy", &[][..]), ("tired", &[Code::MinRest][..])]);
        assert_eq!(open.rules.len(), 3);
        // 7.5 paid hours at 20.00 an hour: 150.00 for "free", nothing before.
        let free = &report.people[0];
        assert_eq!(
            (free.minutes_before, free.minutes_after, free.cost_before_minor, free.cost_after_minor),
            (0, 450, 0, 15_000)
        );
        // Those with a share, and "held" with the place they already have (unchanged).
        let loads: Vec<(&str, i64, i64)> = report
            .people
            .iter()
            .map(|load| (load.person_id.as_str(), load.minutes_before, load.minutes_after))
            .collect();
        assert_eq!(loads, vec![("free", 0, 450), ("choosy", 0, 0), ("held", 450, 450)]);
    }
}
