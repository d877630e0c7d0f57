//! Why places are left open: for a solution, every shift still short of people and, for each of
//! its candidates not on it, the hard rules (docs/auto-fill.md, rules 2–4) that taking it would
//! break given everything else assigned and pinned. Plain, like the checker: each candidate's
//! shifts compared one by one, weeks and days summed afresh.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::instance::{Instance, Interval};

/// A hard rule that stops a candidate taking an open place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Blocker {
    /// Another of their shifts intersects this one (`[start, end)`).
    Overlap,
    /// Another of their shifts does not intersect it but leaves less than the rest (rule 2).
    MinRest,
    /// The week's paid minutes would pass their cap (rule 3).
    WeeklyHoursCap,
    /// The shift's day would be in a run of too many days worked (rule 4).
    ConsecutiveDays,
}

/// A shift left with places open, and why each candidate not on it could not take one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unfilled {
    pub shift: u32,
    /// Places still open.
    pub open: u32,
    /// Its candidates not assigned to it, ordered by person.
    pub blocked: Vec<Blocked>,
}

/// One candidate of an open place and what stops them taking it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Blocked {
    pub person: u32,
    /// Sorted and deduped; empty when nothing stops them (the solution is then not locally
    /// optimal: they could have taken the place).
    pub blockers: Vec<Blocker>,
    /// For overlap or rest, the assigned shift in the way (one that overlaps if any does, then
    /// the lowest index).
    pub with_shift: Option<u32>,
    /// For overlap or rest, whether a pinned shift is in the way.
    pub with_pinned: bool,
}

/// Every shift of `instance` left with open places by `assignments` (`(shift, person)` index
/// pairs, as [`crate::check`] takes them), in shift order, with why each of its other candidates
/// could not take one. Pairs naming no shift or person are ignored.
pub fn unfilled(instance: &Instance, assignments: &[(u32, u32)]) -> Vec<Unfilled> {
    // Each person's shifts: pinned (`None`) and assigned (`Some(shift index)`).
    let mut mine: Vec<Vec<(Interval, Option<u32>)>> =
        instance.people.iter().map(|person| person.pinned.iter().map(|time| (*time, None)).collect()).collect();
    let mut given = vec![0u32; instance.shifts.len()];
    let mut taken: BTreeSet<(u32, u32)> = BTreeSet::new();
    for &(shift, person) in assignments {
        let (Some(time), Some(theirs)) =
            (instance.shifts.get(shift as usize).map(|shift| shift.time), mine.get_mut(person as usize))
        else {
            continue;
        };
        if taken.insert((shift, person)) {
            given[shift as usize] += 1;
            theirs.push((time, Some(shift)));
        }
    }

    let mut unfilled = Vec::new();
    for (index, shift) in instance.shifts.iter().enumerate() {
        let index = index as u32;
        let open = shift.open.saturating_sub(given[index as usize]);
        if open == 0 {
            continue;
        }
        let mut people: Vec<u32> = shift
            .candidates
            .iter()
            .map(|candidate| candidate.person)
            .filter(|&person| (person as usize) < mine.len() && !taken.contains(&(index, person)))
            .collect();
        people.sort_unstable();
        people.dedup();
        let blocked =
            people.into_iter().map(|person| blocked(instance, person, &shift.time, &mine[person as usize])).collect();
        unfilled.push(Unfilled { shift: index, open, blocked });
    }
    unfilled
}

/// What `person`, working `theirs`, would break by taking a shift at `time`.
fn blocked(instance: &Instance, person: u32, time: &Interval, theirs: &[(Interval, Option<u32>)]) -> Blocked {
    let rules = &instance.rules;
    let rest = rules.min_rest_minutes;
    let mut blockers = Vec::new();
    let mut with_pinned = false;
    // (whether it is only rest, shift index): the least is the one reported.
    let mut in_the_way: Option<(bool, u32)> = None;

    // Rule 2: overlap, else too little rest, against each of their shifts.
    for (other, assigned) in theirs {
        let overlap = time.start < other.end && other.start < time.end;
        let too_close = time.start < other.end + rest && other.start < time.end + rest;
        if !too_close {
            continue;
        }
        blockers.push(if overlap { Blocker::Overlap } else { Blocker::MinRest });
        match assigned {
            Some(shift) => {
                let this = (!overlap, *shift);
                in_the_way = Some(in_the_way.map_or(this, |least| least.min(this)));
            }
            None => with_pinned = true,
        }
    }

    // Rule 3: the week's paid minutes with this shift.
    let week: i64 =
        theirs.iter().filter(|(other, _)| other.week == time.week).map(|(other, _)| other.paid_minutes).sum();
    if week + time.paid_minutes > instance.people[person as usize].cap_minutes {
        blockers.push(Blocker::WeeklyHoursCap);
    }

    // Rule 4: the run of days worked through this shift's day, with it.
    let worked: BTreeSet<i64> = theirs.iter().map(|(other, _)| other.day).chain([time.day]).collect();
    let before = (1..).take_while(|back| worked.contains(&(time.day - back))).count() as i64;
    let after = (1..).take_while(|ahead| worked.contains(&(time.day + ahead))).count() as i64;
    if before + 1 + after > rules.max_consecutive_days {
        blockers.push(Blocker::ConsecutiveDays);
    }

    blockers.sort_unstable();
    blockers.dedup();
    Blocked { person, blockers, with_shift: in_the_way.map(|(_, shift)| shift), with_pinned }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::{default_rules, default_weights};
    use crate::instance::{Candidate, Person, Shift};

    const HOUR: i64 = 60;
    const DAY: i64 = 24 * HOUR;

    /// An 8-hour shift (7.5 paid) starting at `hour` on `day`.
    fn at(day: i64, hour: i64) -> Interval {
        let start = day * DAY + hour * HOUR;
        Interval { start, end: start + 8 * HOUR, paid_minutes: 450, day, week: day.div_euclid(7) }
    }

    fn person(cap_hours: i64, pinned: Vec<Interval>) -> Person {
        Person { id: "p".into(), rate: 1500, cap_minutes: cap_hours * HOUR, target_minutes: 0, pinned }
    }

    fn shift(time: Interval, open: u32, people: &[u32]) -> Shift {
        let candidates = people.iter().map(|&person| Candidate { person, preferred: true }).collect();
        Shift { id: format!("s{}", time.start), time, open, candidates }
    }

    /// Shift 0 (day 2, 06:00) is the open one; person 0 is its candidate.
    fn instance(person_0: Person, others: Vec<Shift>) -> Instance {
        let mut shifts = vec![shift(at(2, 6), 1, &[0])];
        shifts.extend(others);
        Instance {
            name: "hand-made".into(),
            rules: default_rules(),
            weights: default_weights(),
            people: vec![person_0],
            shifts,
        }
    }

    /// Why person 0 cannot take shift 0.
    fn only(instance: &Instance, assignments: &[(u32, u32)]) -> Blocked {
        let unfilled = unfilled(instance, assignments);
        assert_eq!((unfilled[0].shift, unfilled[0].open), (0, 1), "{unfilled:?}");
        assert_eq!(unfilled[0].blocked.len(), 1);
        unfilled[0].blocked[0].clone()
    }

    #[test]
    fn an_assigned_shift_at_the_same_time_is_an_overlap() {
        let instance = instance(person(48, vec![]), vec![shift(at(2, 10), 1, &[0])]);
        let blocked = only(&instance, &[(1, 0)]);
        assert_eq!(blocked.blockers, vec![Blocker::Overlap]);
        assert_eq!((blocked.with_shift, blocked.with_pinned), (Some(1), false));
    }

    #[test]
    fn a_shift_ending_within_the_rest_is_min_rest() {
        // Day 1 22:00–06:00 ends just as the open shift starts: no overlap, no rest.
        let night = Interval { end: at(1, 22).start + 8 * HOUR, ..at(1, 22) };
        let instance = instance(person(48, vec![]), vec![shift(night, 1, &[0])]);
        let blocked = only(&instance, &[(1, 0)]);
        assert_eq!(blocked.blockers, vec![Blocker::MinRest]);
        assert_eq!((blocked.with_shift, blocked.with_pinned), (Some(1), false));
    }

    #[test]
    fn a_pinned_shift_in_the_way_is_reported_as_pinned() {
        let instance = instance(person(48, vec![at(2, 14)]), vec![]);
        let blocked = only(&instance, &[]);
        assert_eq!(blocked.blockers, vec![Blocker::MinRest]);
        assert_eq!((blocked.with_shift, blocked.with_pinned), (None, true));
    }

    #[test]
    fn an_overlap_is_reported_before_a_shift_only_too_close() {
        // Shift 1 is only too close (day 1 14:00–22:00), shift 2 overlaps (day 2 10:00).
        let instance = instance(person(48, vec![]), vec![shift(at(1, 14), 1, &[0]), shift(at(2, 10), 1, &[0])]);
        let blocked = only(&instance, &[(1, 0), (2, 0)]);
        assert_eq!(blocked.blockers, vec![Blocker::Overlap, Blocker::MinRest]);
        assert_eq!(blocked.with_shift, Some(2));
    }

    #[test]
    fn a_full_week_is_the_weekly_cap() {
        // 20 h cap: two 7.5-hour shifts of the week leave no room for a third.
        let instance = instance(person(20, vec![at(0, 6)]), vec![shift(at(4, 6), 1, &[0])]);
        let blocked = only(&instance, &[(1, 0)]);
        assert_eq!(blocked.blockers, vec![Blocker::WeeklyHoursCap]);
        assert_eq!((blocked.with_shift, blocked.with_pinned), (None, false));
        // Without the assignment it fits.
        assert_eq!(only(&instance, &[]).blockers, vec![]);
    }

    #[test]
    fn a_seventh_day_in_a_row_is_consecutive_days() {
        // Days −1, 0, 1 pinned and 3, 4, 5 assigned: day 2 would make seven in a row.
        let pinned = vec![at(-1, 6), at(0, 6), at(1, 6)];
        let others = vec![shift(at(3, 6), 1, &[0]), shift(at(4, 6), 1, &[0]), shift(at(5, 6), 1, &[0])];
        let instance = instance(person(100, pinned), others);
        let blocked = only(&instance, &[(1, 0), (2, 0), (3, 0)]);
        assert_eq!(blocked.blockers, vec![Blocker::ConsecutiveDays]);
        // Six days in a row with it are allowed.
        assert_eq!(only(&instance, &[(1, 0), (2, 0)]).blockers, vec![]);
    }

    #[test]
    fn filled_shifts_and_the_people_on_a_shift_are_left_out() {
        let mut instance = instance(person(48, vec![]), vec![shift(at(5, 6), 1, &[0])]);
        instance.people.push(person(48, vec![]));
        instance.shifts[0] = shift(at(2, 6), 2, &[1, 0]);
        let unfilled = unfilled(&instance, &[(0, 1), (1, 0)]);
        // Shift 1 is full; shift 0 has one place open and only person 0 not on it, who fits.
        assert_eq!(
            unfilled,
            vec![Unfilled {
                shift: 0,
                open: 1,
                blocked: vec![Blocked { person: 0, blockers: vec![], with_shift: None, with_pinned: false }],
            }]
        );
    }
}
