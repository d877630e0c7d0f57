//! The instance the solver is given and the parts of its objective (docs/auto-fill.md).

use serde::{Deserialize, Serialize};

/// Everything the solver knows: the rules, the weights, the people and the shifts with open places.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instance {
    pub name: String,
    pub rules: Rules,
    pub weights: Weights,
    pub people: Vec<Person>,
    pub shifts: Vec<Shift>,
}

/// The organisation's thresholds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rules {
    /// Least minutes between two shifts of one person (0: only overlap is refused).
    pub min_rest_minutes: i64,
    pub max_consecutive_days: i64,
    pub daily_overtime_after_minutes: i64,
    pub weekly_overtime_after_minutes: i64,
    /// An overtime minute costs this percent of a regular one.
    pub overtime_rate_percent: i64,
}

/// What each part of the objective weighs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Weights {
    /// Per place left open: more than any one assignment adds to the other parts.
    pub unfilled: i64,
    /// Per cost unit (1/6000 of a minor unit).
    pub cost: i64,
    /// Per minute away from a person's target.
    pub fairness: i64,
    /// Per assignment outside the person's preferred windows.
    pub unpreferred: i64,
}

/// Someone who may be given places.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub id: String,
    /// Pay per hour, in minor units.
    pub rate: i64,
    /// Most paid minutes in one week.
    pub cap_minutes: i64,
    /// Paid minutes this proposal should give them (their fair share, net of what they have).
    pub target_minutes: i64,
    /// What they already work: never moved, but counted by every rule.
    #[serde(default)]
    pub pinned: Vec<Interval>,
}

/// When a shift is, in minutes from the instance's origin, and which day and week it starts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interval {
    pub start: i64,
    pub end: i64,
    pub paid_minutes: i64,
    pub day: i64,
    pub week: i64,
}

/// A shift with places to fill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shift {
    pub id: String,
    #[serde(flatten)]
    pub time: Interval,
    /// How many more people it needs.
    pub open: u32,
    /// Who may take it, each at most once.
    pub candidates: Vec<Candidate>,
}

/// A person who may take a shift.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    /// Index into `Instance::people`.
    pub person: u32,
    /// False only when the person marked preferred windows and the shift is in none of them.
    pub preferred: bool,
}

/// The objective's parts, each already weighted; they sum to the total.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parts {
    pub unfilled: i64,
    pub cost: i64,
    pub fairness: i64,
    pub unpreferred: i64,
}

impl Parts {
    pub fn total(&self) -> i64 {
        self.unfilled + self.cost + self.fairness + self.unpreferred
    }
}

impl Rules {
    /// Cost units (1/6000 of a minor unit) of one person's week at `rate`, from the paid minutes
    /// of each of its days: payroll's rule, daily overtime first, then weekly overtime on the
    /// regular minutes, so no minute is overtime twice.
    pub fn week_cost(&self, rate: i64, day_minutes: impl IntoIterator<Item = i64>) -> i64 {
        let (mut paid, mut daily_overtime, mut regular) = (0, 0, 0);
        for minutes in day_minutes {
            let over = (minutes - self.daily_overtime_after_minutes).max(0);
            paid += minutes;
            daily_overtime += over;
            regular += minutes - over;
        }
        let overtime = daily_overtime + (regular - self.weekly_overtime_after_minutes).max(0);
        rate * (100 * paid + (self.overtime_rate_percent - 100) * overtime)
    }
}

impl Instance {
    /// Every place there is to fill.
    pub fn places(&self) -> i64 {
        self.shifts.iter().map(|shift| i64::from(shift.open)).sum()
    }

    /// Why the instance cannot be solved as given, if it cannot: the first inconsistency found.
    pub fn validate(&self) -> Result<(), String> {
        let rules = &self.rules;
        if rules.min_rest_minutes < 0 || rules.max_consecutive_days < 1 || rules.overtime_rate_percent < 100 {
            return Err("rules: rest ≥ 0, days in a row ≥ 1 and overtime ≥ 100 % are needed".into());
        }
        let weights = [self.weights.unfilled, self.weights.cost, self.weights.fairness, self.weights.unpreferred];
        if weights.iter().any(|weight| *weight < 0) {
            return Err("weights: none may be negative".into());
        }
        let interval_ok =
            |time: &Interval| time.start < time.end && (0..=time.end - time.start).contains(&time.paid_minutes);
        for (index, person) in self.people.iter().enumerate() {
            if person.rate < 0 || person.cap_minutes < 0 || person.target_minutes < 0 {
                return Err(format!("people[{index}]: rate, cap and target must not be negative"));
            }
            if !person.pinned.iter().all(interval_ok) {
                return Err(format!(
                    "people[{index}].pinned: a shift must end after it starts, paid within its length"
                ));
            }
        }
        for (index, shift) in self.shifts.iter().enumerate() {
            if !interval_ok(&shift.time) {
                return Err(format!("shifts[{index}]: it must end after it starts, paid within its length"));
            }
            let mut seen = std::collections::BTreeSet::new();
            for candidate in &shift.candidates {
                if candidate.person as usize >= self.people.len() || !seen.insert(candidate.person) {
                    return Err(format!(
                        "shifts[{index}].candidates: person {} is unknown or repeated",
                        candidate.person
                    ));
                }
            }
        }
        // A day is in one week (the cost of a week is computed from its days).
        let mut week_of_day = std::collections::BTreeMap::new();
        let every =
            self.people.iter().flat_map(|person| &person.pinned).chain(self.shifts.iter().map(|shift| &shift.time));
        for time in every {
            if *week_of_day.entry(time.day).or_insert(time.week) != time.week {
                return Err(format!("day {} is given two weeks", time.day));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> Rules {
        Rules {
            min_rest_minutes: 660,
            max_consecutive_days: 6,
            daily_overtime_after_minutes: 480,
            weekly_overtime_after_minutes: 2400,
            overtime_rate_percent: 150,
        }
    }

    #[test]
    fn a_week_of_ten_hour_days_counts_each_overtime_minute_once() {
        // Seven 10-hour days: 2 h daily overtime each (14 h); 56 h regular, 16 h over 40 h.
        let cost = rules().week_cost(1, [600; 7]);
        assert_eq!(cost, 100 * 4200 + 50 * 30 * 60);
        // Five 8-hour days: no overtime at all.
        assert_eq!(rules().week_cost(2, [480; 5]), 2 * 100 * 2400);
        // One 9-hour day: 1 h daily overtime.
        assert_eq!(rules().week_cost(1, [540]), 100 * 540 + 50 * 60);
    }
}
