//! The referee: recomputes, from the instance alone, every hard rule a set of assignments breaks
//! and what it scores. Deliberately plain (pairs compared one by one, weeks summed afresh) and
//! sharing nothing with the solver's incremental bookkeeping but the pay rule itself.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::instance::{Instance, Interval, Parts};

/// What a set of assignments breaks and scores.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// One sentence per broken rule; empty when the assignments are feasible.
    pub violations: Vec<String>,
    pub parts: Parts,
    pub objective: i64,
    pub unfilled_places: i64,
}

/// Judges `assignments` (`(shift, person)` index pairs) against `instance`.
pub fn check(instance: &Instance, assignments: &[(u32, u32)]) -> Report {
    let rules = &instance.rules;
    let weights = &instance.weights;
    let mut violations = Vec::new();

    // Rule 1: candidates only, once each, no more than the shift's open places.
    let mut taken: BTreeSet<(u32, u32)> = BTreeSet::new();
    let mut per_shift: BTreeMap<u32, i64> = BTreeMap::new();
    let mut unpreferred = 0;
    let mut mine: Vec<Vec<(Interval, bool)>> =
        instance.people.iter().map(|person| person.pinned.iter().map(|time| (*time, false)).collect()).collect();
    for &(shift_index, person) in assignments {
        let Some(shift) = instance.shifts.get(shift_index as usize) else {
            violations.push(format!("shift {shift_index} does not exist"));
            continue;
        };
        let Some(candidate) = shift.candidates.iter().find(|candidate| candidate.person == person) else {
            violations.push(format!("person {person} is not a candidate of shift {}", shift.id));
            continue;
        };
        if !taken.insert((shift_index, person)) {
            violations.push(format!("person {person} is given shift {} twice", shift.id));
            continue;
        }
        *per_shift.entry(shift_index).or_default() += 1;
        unpreferred += i64::from(!candidate.preferred);
        mine[person as usize].push((shift.time, true));
    }
    let mut unfilled = 0;
    for (index, shift) in instance.shifts.iter().enumerate() {
        let given = per_shift.get(&(index as u32)).copied().unwrap_or(0);
        if given > i64::from(shift.open) {
            violations.push(format!("shift {} gets {given} people for {} open places", shift.id, shift.open));
        }
        unfilled += (i64::from(shift.open) - given).max(0);
    }

    let (mut cost, mut fairness) = (0, 0);
    for (person, shifts) in instance.people.iter().zip(&mine) {
        // Rule 2: overlap and rest, between pairs with at least one assigned shift.
        let rest = rules.min_rest_minutes;
        for (i, (a, a_assigned)) in shifts.iter().enumerate() {
            for (b, b_assigned) in &shifts[i + 1..] {
                if (*a_assigned || *b_assigned) && a.start < b.end + rest && b.start < a.end + rest {
                    violations.push(format!(
                        "{}: shifts at {}–{} and {}–{} overlap or leave less than {rest} min rest",
                        person.id, a.start, a.end, b.start, b.end
                    ));
                }
            }
        }

        // Rule 3: the weekly cap, in weeks holding an assigned shift.
        let mut weeks: BTreeMap<i64, (i64, bool)> = BTreeMap::new();
        for (time, assigned) in shifts {
            let week = weeks.entry(time.week).or_default();
            week.0 += time.paid_minutes;
            week.1 |= *assigned;
        }
        for (week, (minutes, assigned)) in &weeks {
            if *assigned && *minutes > person.cap_minutes {
                violations.push(format!("{}: {minutes} min in week {week}, cap {}", person.id, person.cap_minutes));
            }
        }

        // Rule 4: no run of days worked longer than allowed holding a day worked by an assignment.
        let worked: BTreeSet<i64> = shifts.iter().map(|(time, _)| time.day).collect();
        let assigned_days: BTreeSet<i64> =
            shifts.iter().filter(|(_, assigned)| *assigned).map(|(time, _)| time.day).collect();
        let mut runs: Vec<(i64, i64)> = Vec::new();
        for &day in &worked {
            match runs.last_mut() {
                Some((_, last)) if *last + 1 == day => *last = day,
                _ => runs.push((day, day)),
            }
        }
        for (first, last) in runs {
            if last - first + 1 > rules.max_consecutive_days && assigned_days.range(first..=last).next().is_some() {
                violations.push(format!("{}: {} days in a row from day {first}", person.id, last - first + 1));
            }
        }

        // Cost: what the assignments add to the pay of the person's weeks.
        let week_cost = |with_assigned: bool| -> i64 {
            let mut days: BTreeMap<i64, BTreeMap<i64, i64>> = BTreeMap::new();
            for (time, _) in shifts.iter().filter(|(_, assigned)| with_assigned || !assigned) {
                *days.entry(time.week).or_default().entry(time.day).or_default() += time.paid_minutes;
            }
            days.values().map(|week| rules.week_cost(person.rate, week.values().copied())).sum()
        };
        cost += week_cost(true) - week_cost(false);

        let given: i64 = shifts.iter().filter(|(_, assigned)| *assigned).map(|(time, _)| time.paid_minutes).sum();
        fairness += (given - person.target_minutes).abs();
    }

    let parts = Parts {
        unfilled: weights.unfilled * unfilled,
        cost: weights.cost * cost,
        fairness: weights.fairness * fairness,
        unpreferred: weights.unpreferred * unpreferred,
    };
    Report { violations, objective: parts.total(), parts, unfilled_places: unfilled }
}
