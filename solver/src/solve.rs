//! The search: most-constrained-first construction, then late acceptance hill climbing (Burke &
//! Bykov 2017) over five moves — fill an open place, hand a place to another candidate, swap two
//! people's places, take a place by giving up what is in its way (what is given up going on to
//! others, in an ejection chain of depth two), and drop a place — each scored incrementally: a
//! person's timeline is sorted, their days and weeks keep running totals, and a move touches a few
//! people's weeks. The state never breaks a hard rule: a move that would is not made. Candidates
//! their pinned shifts alone stop are left out of the search from the start.

use std::ops::Range;

use serde::Serialize;

use crate::instance::{Instance, Interval, Parts, Person};
use crate::rng::Rng;

/// How long to search, and what to tell the caller on the way. The caller owns the clock.
pub struct Limits<'a> {
    pub seed: u64,
    /// Moves of local search at most: with the same seed, the same budget gives the same answer
    /// on any machine.
    pub max_moves: u64,
    /// Asked every 1,024 moves; `true` ends the search there (a wall-clock limit).
    pub stop: &'a mut dyn FnMut() -> bool,
    /// Told every new best: (moves made so far, objective).
    pub on_best: &'a mut dyn FnMut(u64, i64),
}

/// The best assignments found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Solution {
    /// `(shift, person)` index pairs, ordered.
    pub assignments: Vec<(u32, u32)>,
    pub parts: Parts,
    pub objective: i64,
    /// Local search moves tried.
    pub moves: u64,
}

/// Late acceptance's memory: a move is taken when it is no worse than the current score or than
/// the score this many moves ago. Shorter than it was (4,000) now that take-overs make most
/// moves: on XL, 2,000 reaches the same places filled ten times sooner and costs less at 10 s.
const HISTORY: usize = 2_000;
const NONE: u32 = u32::MAX;

/// Solves `instance` (which must pass [`Instance::validate`]) within `limits`.
pub fn solve(instance: &Instance, limits: Limits<'_>) -> Solution {
    let model = Model::new(instance);
    let mut state = State::new(&model);
    let mut rng = Rng::new(limits.seed);
    state.construct(&model);

    let mut current = state.parts.total();
    let mut best = current;
    let mut best_pairs = state.assigned.clone();
    (limits.on_best)(0, best);
    let mut history = vec![current; HISTORY];
    let mut moves = 0;
    while moves < limits.max_moves {
        if moves % 1024 == 0 && (limits.stop)() {
            break;
        }
        state.undo.clear();
        // Mostly take-overs: on XL they both fill places and move hours to where they cost least.
        let made = match rng.below(100) {
            0..5 => state.fill(&model, &mut rng),
            5..20 => state.hand_over(&model, &mut rng),
            20..30 => state.swap(&model, &mut rng),
            30..98 => state.take_over(&model, &mut rng),
            _ => state.drop_one(&model, &mut rng),
        };
        if made {
            let after = state.parts.total();
            let slot = (moves % HISTORY as u64) as usize;
            if after <= current || after <= history[slot] {
                current = after;
                if current < best {
                    best = current;
                    best_pairs.clone_from(&state.assigned);
                    (limits.on_best)(moves, best);
                }
            } else {
                state.roll_back(&model);
            }
            history[slot] = current;
        }
        moves += 1;
    }

    let mut assignments: Vec<(u32, u32)> =
        best_pairs.iter().map(|&pair| (model.pair_shift[pair as usize], model.pair_person[pair as usize])).collect();
    assignments.sort_unstable();
    let parts = crate::check::check(instance, &assignments).parts;
    debug_assert_eq!(parts.total(), best, "the incremental score drifted from the checker's");
    Solution { assignments, objective: parts.total(), parts, moves }
}

/// The instance indexed for the search: candidate pairs numbered, days and weeks made dense.
struct Model<'a> {
    instance: &'a Instance,
    pair_shift: Vec<u32>,
    pair_person: Vec<u32>,
    pair_preferred: Vec<bool>,
    /// Shift `s`'s pairs are `shift_pairs[s]`, ordered by person.
    shift_pairs: Vec<Range<u32>>,
    /// Dense day index = day − `first_day`; likewise weeks.
    first_day: i64,
    days: usize,
    first_week: i64,
    /// Each dense week's dense days.
    week_days: Vec<Vec<usize>>,
    /// Per person, the longest shift they have or may get: how far back a clash can start.
    longest: Vec<i64>,
}

impl<'a> Model<'a> {
    fn new(instance: &'a Instance) -> Self {
        let (mut pair_shift, mut pair_person, mut pair_preferred) = (Vec::new(), Vec::new(), Vec::new());
        let mut shift_pairs = Vec::with_capacity(instance.shifts.len());
        let mut longest: Vec<i64> = instance
            .people
            .iter()
            .map(|person| person.pinned.iter().map(|time| time.end - time.start).max().unwrap_or(0))
            .collect();
        for (index, shift) in instance.shifts.iter().enumerate() {
            let first = pair_shift.len() as u32;
            let mut candidates = shift.candidates.clone();
            candidates.sort_by_key(|candidate| candidate.person);
            // A candidate whose pinned shifts alone stop them never takes the shift (pinned shifts
            // never move and every rule only tightens with more shifts): most of XL's candidates
            // are, and leaving them out spares every move that would pick them.
            candidates
                .retain(|candidate| !pinned_stop(instance, &instance.people[candidate.person as usize], &shift.time));
            for candidate in candidates {
                pair_shift.push(index as u32);
                pair_person.push(candidate.person);
                pair_preferred.push(candidate.preferred);
                let length = &mut longest[candidate.person as usize];
                *length = (*length).max(shift.time.end - shift.time.start);
            }
            shift_pairs.push(first..pair_shift.len() as u32);
        }

        let every = || {
            instance
                .people
                .iter()
                .flat_map(|person| &person.pinned)
                .chain(instance.shifts.iter().map(|shift| &shift.time))
        };
        let first_day = every().map(|time| time.day).min().unwrap_or(0);
        let last_day = every().map(|time| time.day).max().unwrap_or(0);
        let first_week = every().map(|time| time.week).min().unwrap_or(0);
        let last_week = every().map(|time| time.week).max().unwrap_or(0);
        let mut week_days = vec![Vec::new(); (last_week - first_week + 1) as usize];
        for time in every() {
            let days = &mut week_days[(time.week - first_week) as usize];
            let day = (time.day - first_day) as usize;
            if !days.contains(&day) {
                days.push(day);
            }
        }
        Model {
            instance,
            pair_shift,
            pair_person,
            pair_preferred,
            shift_pairs,
            first_day,
            days: (last_day - first_day + 1) as usize,
            first_week,
            week_days,
            longest,
        }
    }

    fn shift_of(&self, pair: u32) -> usize {
        self.pair_shift[pair as usize] as usize
    }

    fn person_of(&self, pair: u32) -> usize {
        self.pair_person[pair as usize] as usize
    }

    /// The pair of `person` on `shift`, if they are a candidate.
    fn pair(&self, shift: usize, person: u32) -> Option<u32> {
        let range = self.shift_pairs[shift].clone();
        let people = &self.pair_person[range.start as usize..range.end as usize];
        people.binary_search(&person).ok().map(|offset| range.start + offset as u32)
    }
}

/// Whether `person`'s pinned shifts alone keep them from a shift at `time`: it clashes with one
/// (rule 2), their pinned hours leave its week no room (rule 3), or their pinned days make its day
/// one too many in a row (rule 4).
fn pinned_stop(instance: &Instance, person: &Person, time: &Interval) -> bool {
    let rules = &instance.rules;
    let rest = rules.min_rest_minutes;
    let pinned = &person.pinned;
    let clash = pinned.iter().any(|other| time.start < other.end + rest && other.start < time.end + rest);
    let week: i64 = pinned.iter().filter(|other| other.week == time.week).map(|other| other.paid_minutes).sum();
    let worked = |day: i64| pinned.iter().any(|other| other.day == day);
    let limit = rules.max_consecutive_days;
    let before = (1..=limit).take_while(|back| worked(time.day - back)).count() as i64;
    let after = (1..=limit).take_while(|ahead| worked(time.day + ahead)).count() as i64;
    clash || week + time.paid_minutes > person.cap_minutes || before + 1 + after > limit
}

/// Most shifts one move gives up for one place: those too close in time (two or three at most
/// with shifts of a day or less), one for the week's hours and one for the days in a row.
const ROOM: usize = 8;

/// The shifts a person gives up to make room, without allocating.
#[derive(Debug, Default)]
struct GivenUp {
    pairs: [u32; ROOM],
    len: usize,
}

impl GivenUp {
    /// Notes one more; false when full.
    fn push(&mut self, pair: u32) -> bool {
        if self.len == ROOM {
            return false;
        }
        self.pairs[self.len] = pair;
        self.len += 1;
        true
    }

    fn pairs(&self) -> &[u32] {
        &self.pairs[..self.len]
    }
}

/// One of a person's shifts on their timeline: pinned (`pair == NONE`) or assigned.
#[derive(Debug, Clone, Copy)]
struct Entry {
    start: i64,
    end: i64,
    pair: u32,
}

/// A person's running totals.
#[derive(Debug, Clone)]
struct Load {
    /// Sorted by start.
    timeline: Vec<Entry>,
    day_minutes: Vec<i64>,
    day_shifts: Vec<u16>,
    week_minutes: Vec<i64>,
    week_cost: Vec<i64>,
    /// Paid minutes of their assigned shifts.
    given: i64,
}

#[derive(Debug, Clone, Copy)]
enum Step {
    Assigned(u32),
    Unassigned(u32),
}

/// The search's state: always within the hard rules.
struct State {
    loads: Vec<Load>,
    /// People on each shift.
    taken: Vec<u32>,
    /// Assigned pairs, and where each pair is in that list (`NONE`: not assigned).
    assigned: Vec<u32>,
    at: Vec<u32>,
    /// Shifts with a place open and a candidate, and where each is in that list.
    open: Vec<u32>,
    open_at: Vec<u32>,
    parts: Parts,
    /// What the current move did, to take it back.
    undo: Vec<Step>,
}

impl State {
    fn new(model: &Model<'_>) -> Self {
        let instance = model.instance;
        let rules = &instance.rules;
        let weeks = model.week_days.len();
        let mut loads: Vec<Load> = instance
            .people
            .iter()
            .map(|person| {
                let mut load = Load {
                    timeline: Vec::with_capacity(person.pinned.len() + 8),
                    day_minutes: vec![0; model.days],
                    day_shifts: vec![0; model.days],
                    week_minutes: vec![0; weeks],
                    week_cost: vec![0; weeks],
                    given: 0,
                };
                for time in &person.pinned {
                    load.timeline.push(Entry { start: time.start, end: time.end, pair: NONE });
                    load.day_minutes[(time.day - model.first_day) as usize] += time.paid_minutes;
                    load.day_shifts[(time.day - model.first_day) as usize] += 1;
                    load.week_minutes[(time.week - model.first_week) as usize] += time.paid_minutes;
                }
                load.timeline.sort_by_key(|entry| (entry.start, entry.end));
                for (week, days) in model.week_days.iter().enumerate() {
                    load.week_cost[week] = rules.week_cost(person.rate, days.iter().map(|&day| load.day_minutes[day]));
                }
                load
            })
            .collect();
        loads.shrink_to_fit();
        // A shift no one may take is never open to a move (it still counts as unfilled).
        let open: Vec<u32> = (0..instance.shifts.len() as u32)
            .filter(|&s| instance.shifts[s as usize].open > 0 && !model.shift_pairs[s as usize].is_empty())
            .collect();
        let mut open_at = vec![NONE; instance.shifts.len()];
        for (position, &shift) in open.iter().enumerate() {
            open_at[shift as usize] = position as u32;
        }
        // Nothing assigned yet: every place open, everyone their whole target away.
        let parts = Parts {
            unfilled: instance.weights.unfilled * instance.places(),
            fairness: instance.weights.fairness
                * instance.people.iter().map(|person| person.target_minutes).sum::<i64>(),
            ..Parts::default()
        };
        State {
            loads,
            taken: vec![0; instance.shifts.len()],
            assigned: Vec::new(),
            at: vec![NONE; model.pair_shift.len()],
            open,
            open_at,
            parts,
            undo: Vec::new(),
        }
    }

    /// Whether the pair's person can take its shift now without breaking a hard rule.
    fn fits(&self, model: &Model<'_>, pair: u32) -> bool {
        let shift_index = model.shift_of(pair);
        let shift = &model.instance.shifts[shift_index];
        if self.at[pair as usize] != NONE || self.taken[shift_index] >= shift.open {
            return false;
        }
        let person = model.person_of(pair);
        let load = &self.loads[person];
        let rules = &model.instance.rules;
        let time = &shift.time;
        let rest = rules.min_rest_minutes;

        // The week's hours first: the cheapest to look at, and what stops most candidates.
        let week = (time.week - model.first_week) as usize;
        if load.week_minutes[week] + time.paid_minutes > model.instance.people[person].cap_minutes {
            return false;
        }

        // Overlap and rest: anything starting from here to the end plus rest clashes; before it,
        // only what ends within rest of the start, and nothing starting more than the person's
        // longest shift plus rest earlier can.
        let here = load.timeline.partition_point(|entry| entry.start < time.start);
        if load.timeline[here..].first().is_some_and(|next| next.start < time.end + rest) {
            return false;
        }
        for entry in load.timeline[..here].iter().rev() {
            if entry.start + model.longest[person] + rest <= time.start {
                break;
            }
            if time.start < entry.end + rest {
                return false;
            }
        }

        // The run of days worked through the shift's day, with it.
        let day = (time.day - model.first_day) as usize;
        let limit = rules.max_consecutive_days as usize;
        let worked = |day: usize| load.day_shifts[day] > 0;
        let before = (1..=limit).take_while(|&back| day >= back && worked(day - back)).count();
        let after = (1..=limit).take_while(|&ahead| day + ahead < model.days && worked(day + ahead)).count();
        before + 1 + after <= limit
    }

    /// What the score changes by if the pair's person gains (`sign` 1) or loses (-1) its shift.
    fn change(&self, model: &Model<'_>, pair: u32, sign: i64) -> Parts {
        let instance = model.instance;
        let weights = &instance.weights;
        let person_index = model.person_of(pair);
        let person = &instance.people[person_index];
        let load = &self.loads[person_index];
        let time = &instance.shifts[model.shift_of(pair)].time;
        let paid = sign * time.paid_minutes;
        let week = (time.week - model.first_week) as usize;
        let day = (time.day - model.first_day) as usize;
        let cost = instance.rules.week_cost(
            person.rate,
            model.week_days[week].iter().map(|&d| load.day_minutes[d] + if d == day { paid } else { 0 }),
        ) - load.week_cost[week];
        let fairness = (load.given + paid - person.target_minutes).abs() - (load.given - person.target_minutes).abs();
        Parts {
            unfilled: -sign * weights.unfilled,
            cost: weights.cost * cost,
            fairness: weights.fairness * fairness,
            unpreferred: if model.pair_preferred[pair as usize] { 0 } else { sign * weights.unpreferred },
        }
    }

    /// Gives the pair's person its shift (which must fit).
    fn assign(&mut self, model: &Model<'_>, pair: u32) {
        let change = self.change(model, pair, 1);
        self.add(change);
        let shift_index = model.shift_of(pair);
        let shift = &model.instance.shifts[shift_index];
        let time = &shift.time;
        let load = &mut self.loads[model.person_of(pair)];
        let here = load.timeline.partition_point(|entry| (entry.start, entry.end) < (time.start, time.end));
        load.timeline.insert(here, Entry { start: time.start, end: time.end, pair });
        self.book(model, pair, 1);

        self.taken[shift_index] += 1;
        if self.taken[shift_index] == shift.open {
            let position = self.open_at[shift_index] as usize;
            self.open.swap_remove(position);
            if let Some(&moved) = self.open.get(position) {
                self.open_at[moved as usize] = position as u32;
            }
            self.open_at[shift_index] = NONE;
        }
        self.at[pair as usize] = self.assigned.len() as u32;
        self.assigned.push(pair);
        self.undo.push(Step::Assigned(pair));
    }

    /// Takes the pair's shift from its person (who must have it).
    fn unassign(&mut self, model: &Model<'_>, pair: u32) {
        let change = self.change(model, pair, -1);
        self.add(change);
        let shift_index = model.shift_of(pair);
        let load = &mut self.loads[model.person_of(pair)];
        let here =
            load.timeline.iter().position(|entry| entry.pair == pair).expect("an assigned pair is on its timeline");
        load.timeline.remove(here);
        self.book(model, pair, -1);

        if self.taken[shift_index] == model.instance.shifts[shift_index].open {
            self.open_at[shift_index] = self.open.len() as u32;
            self.open.push(shift_index as u32);
        }
        self.taken[shift_index] -= 1;
        let position = self.at[pair as usize] as usize;
        self.assigned.swap_remove(position);
        if let Some(&moved) = self.assigned.get(position) {
            self.at[moved as usize] = position as u32;
        }
        self.at[pair as usize] = NONE;
        self.undo.push(Step::Unassigned(pair));
    }

    /// Adds or removes the pair's shift in its person's day, week and given totals.
    fn book(&mut self, model: &Model<'_>, pair: u32, sign: i64) {
        let instance = model.instance;
        let person = model.person_of(pair);
        let time = &instance.shifts[model.shift_of(pair)].time;
        let load = &mut self.loads[person];
        let (day, week) = ((time.day - model.first_day) as usize, (time.week - model.first_week) as usize);
        load.day_minutes[day] += sign * time.paid_minutes;
        load.day_shifts[day] = (i64::from(load.day_shifts[day]) + sign) as u16;
        load.week_minutes[week] += sign * time.paid_minutes;
        load.given += sign * time.paid_minutes;
        load.week_cost[week] = instance
            .rules
            .week_cost(instance.people[person].rate, model.week_days[week].iter().map(|&d| load.day_minutes[d]));
    }

    fn add(&mut self, change: Parts) {
        self.parts.unfilled += change.unfilled;
        self.parts.cost += change.cost;
        self.parts.fairness += change.fairness;
        self.parts.unpreferred += change.unpreferred;
    }

    /// Takes back every step of the current move.
    fn roll_back(&mut self, model: &Model<'_>) {
        self.roll_back_to(model, 0);
    }

    /// Takes back the current move's steps after the first `mark`, latest first.
    fn roll_back_to(&mut self, model: &Model<'_>, mark: usize) {
        while self.undo.len() > mark {
            // Each step taken back notes its inverse: that is not part of the move.
            match self.undo.pop() {
                Some(Step::Assigned(pair)) => self.unassign(model, pair),
                Some(Step::Unassigned(pair)) => self.assign(model, pair),
                None => break,
            }
            self.undo.pop();
        }
    }

    /// The candidate of `shift` who fits and adds least, if any does.
    fn best_fit(&self, model: &Model<'_>, shift: usize) -> Option<u32> {
        model.shift_pairs[shift]
            .clone()
            .filter(|&pair| self.fits(model, pair))
            .min_by_key(|&pair| self.change(model, pair, 1).total())
    }

    /// Most constrained first: shifts with the fewest candidates per open place, each place to
    /// the candidate who fits and adds least.
    fn construct(&mut self, model: &Model<'_>) {
        let shifts = &model.instance.shifts;
        let mut order: Vec<usize> = (0..shifts.len()).filter(|&s| shifts[s].open > 0).collect();
        order.sort_by_key(|&s| (shifts[s].candidates.len() * 1024 / shifts[s].open as usize, shifts[s].time.start));
        for shift in order {
            for _ in 0..shifts[shift].open {
                match self.best_fit(model, shift) {
                    Some(pair) => self.assign(model, pair),
                    None => break,
                }
            }
        }
        self.undo.clear();
    }

    fn random_assigned(&self, rng: &mut Rng) -> Option<u32> {
        (!self.assigned.is_empty()).then(|| self.assigned[rng.below(self.assigned.len())])
    }

    /// A random candidate pair of `shift`, if it has any.
    fn random_pair(model: &Model<'_>, shift: usize, rng: &mut Rng) -> Option<u32> {
        let range = model.shift_pairs[shift].clone();
        (!range.is_empty()).then(|| range.start + rng.below(range.len()) as u32)
    }

    /// An open place goes to the candidate who fits and adds least.
    fn fill(&mut self, model: &Model<'_>, rng: &mut Rng) -> bool {
        if self.open.is_empty() {
            return false;
        }
        let shift = self.open[rng.below(self.open.len())] as usize;
        let Some(pair) = self.best_fit(model, shift) else { return false };
        self.assign(model, pair);
        true
    }

    /// A place goes from its person to another candidate of the shift.
    fn hand_over(&mut self, model: &Model<'_>, rng: &mut Rng) -> bool {
        let Some(from) = self.random_assigned(rng) else { return false };
        let Some(to) = Self::random_pair(model, model.shift_of(from), rng) else { return false };
        if self.at[to as usize] != NONE {
            return false;
        }
        self.unassign(model, from);
        if !self.take(model, to, rng) {
            self.roll_back(model);
            return false;
        }
        true
    }

    /// Two people trade places: each takes the other's shift.
    fn swap(&mut self, model: &Model<'_>, rng: &mut Rng) -> bool {
        let Some(first) = self.random_assigned(rng) else { return false };
        let (first_shift, first_person) = (model.shift_of(first), model.pair_person[first as usize]);
        let Some(other) = Self::random_pair(model, first_shift, rng) else { return false };
        let other_person = model.person_of(other);
        // One of the other person's assigned shifts that the first person may take.
        let theirs = || self.loads[other_person].timeline.iter().map(|entry| entry.pair).filter(|&p| p != NONE);
        let count = theirs().count();
        if count == 0 || other_person == first_person as usize {
            return false;
        }
        let Some(second) = theirs().nth(rng.below(count)) else { return false };
        let second_shift = model.shift_of(second);
        let Some(first_to_second) = model.pair(second_shift, first_person) else { return false };
        if second_shift == first_shift || self.at[first_to_second as usize] != NONE || self.at[other as usize] != NONE {
            return false;
        }
        self.unassign(model, first);
        self.unassign(model, second);
        for pair in [other, first_to_second] {
            if !self.fits(model, pair) {
                self.roll_back(model);
                return false;
            }
            self.assign(model, pair);
        }
        true
    }

    /// A candidate of an open place takes it, giving up what stops them (see `make_room`); each
    /// shift given up then goes to whoever fits best or, when no one does, is passed on: one of
    /// its candidates makes room for it in turn (an ejection chain of depth two).
    fn take_over(&mut self, model: &Model<'_>, rng: &mut Rng) -> bool {
        if self.open.is_empty() {
            return false;
        }
        let shift = self.open[rng.below(self.open.len())] as usize;
        let Some(pair) = Self::random_pair(model, shift, rng) else { return false };
        if self.at[pair as usize] != NONE {
            return false;
        }
        if !self.take(model, pair, rng) {
            self.roll_back(model);
            return false;
        }
        true
    }

    /// The pair's person makes room for its shift (see `make_room`) and takes it; each shift they
    /// give up goes to whoever fits best or, when no one does, is passed on (`pass_on`). False
    /// when they cannot (the caller rolls back).
    fn take(&mut self, model: &Model<'_>, pair: u32, rng: &mut Rng) -> bool {
        let mut given_up = GivenUp::default();
        if !self.make_room(model, pair, rng, &mut given_up) {
            return false;
        }
        self.assign(model, pair);
        for &given in given_up.pairs() {
            match self.best_fit(model, model.shift_of(given)) {
                Some(replacement) => self.assign(model, replacement),
                None => self.pass_on(model, given, rng),
            }
        }
        true
    }

    /// The place `given` was given up: a random other candidate makes room for it and takes it,
    /// what they give up going to whoever fits best. Nothing changes if they cannot.
    fn pass_on(&mut self, model: &Model<'_>, given: u32, rng: &mut Rng) {
        let Some(pair) = Self::random_pair(model, model.shift_of(given), rng) else { return };
        if pair == given || self.at[pair as usize] != NONE {
            return;
        }
        let mark = self.undo.len();
        let mut given_up = GivenUp::default();
        if !self.make_room(model, pair, rng, &mut given_up) {
            self.roll_back_to(model, mark);
            return;
        }
        self.assign(model, pair);
        for &again in given_up.pairs() {
            if let Some(replacement) = self.best_fit(model, model.shift_of(again)) {
                self.assign(model, replacement);
            }
        }
    }

    /// Gives up the pair's person's assigned shifts that stop them taking its shift: those too
    /// close in time, then, if the week's hours still stop them, one shift of that week, then,
    /// if the days in a row still do, one shift of that run of days. True when the pair fits
    /// after (what was given up is in `given_up`; the caller rolls back when false).
    fn make_room(&mut self, model: &Model<'_>, pair: u32, rng: &mut Rng, given_up: &mut GivenUp) -> bool {
        let person = model.person_of(pair);
        let time = model.instance.shifts[model.shift_of(pair)].time;
        let rest = model.instance.rules.min_rest_minutes;

        // In time: nothing starting more than their longest shift plus rest before it can clash.
        let load = &self.loads[person];
        let from = load.timeline.partition_point(|entry| entry.start + model.longest[person] + rest <= time.start);
        for entry in &load.timeline[from..] {
            if entry.start >= time.end + rest {
                break;
            }
            if time.start < entry.end + rest && !given_up.push(entry.pair) {
                return false;
            }
        }
        for &given in given_up.pairs() {
            // Pinned shifts in the way were ruled out with the pair (`pinned_stop`).
            debug_assert_ne!(given, NONE);
            self.unassign(model, given);
        }

        let week = (time.week - model.first_week) as usize;
        if self.loads[person].week_minutes[week] + time.paid_minutes > model.instance.people[person].cap_minutes {
            let in_week = |entry: &Entry| {
                entry.pair != NONE && model.instance.shifts[model.shift_of(entry.pair)].time.week == time.week
            };
            if !self.give_up_one(model, person, in_week, rng, given_up) {
                return false;
            }
        }

        let day = (time.day - model.first_day) as usize;
        let limit = model.instance.rules.max_consecutive_days as usize;
        let load = &self.loads[person];
        let worked = |day: usize| load.day_shifts[day] > 0;
        let before = (1..=limit).take_while(|&back| day >= back && worked(day - back)).count();
        let after = (1..=limit).take_while(|&ahead| day + ahead < model.days && worked(day + ahead)).count();
        if before + 1 + after > limit {
            let run = (time.day - before as i64)..=(time.day + after as i64);
            let in_run = |entry: &Entry| {
                entry.pair != NONE && run.contains(&model.instance.shifts[model.shift_of(entry.pair)].time.day)
            };
            if !self.give_up_one(model, person, in_run, rng, given_up) {
                return false;
            }
        }
        self.fits(model, pair)
    }

    /// Gives up one of `person`'s shifts chosen at random among those `which` holds. False when
    /// there is none (or no room to note it).
    fn give_up_one(
        &mut self,
        model: &Model<'_>,
        person: usize,
        which: impl Fn(&Entry) -> bool,
        rng: &mut Rng,
        given_up: &mut GivenUp,
    ) -> bool {
        let timeline = &self.loads[person].timeline;
        let count = timeline.iter().filter(|entry| which(entry)).count();
        if count == 0 {
            return false;
        }
        let chosen = timeline.iter().filter(|entry| which(entry)).nth(rng.below(count)).map(|entry| entry.pair);
        let Some(pair) = chosen else { return false };
        if !given_up.push(pair) {
            return false;
        }
        self.unassign(model, pair);
        true
    }

    /// A place is left open again (accepted only when late acceptance allows it: it makes room).
    fn drop_one(&mut self, model: &Model<'_>, rng: &mut Rng) -> bool {
        let Some(pair) = self.random_assigned(rng) else { return false };
        self.unassign(model, pair);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::{SMALL, generate};

    /// After every move the running score is the checker's, and the state breaks no rule.
    #[test]
    fn the_running_score_is_the_checkers_after_every_move() {
        let instance = generate(SMALL, 3);
        let model = Model::new(&instance);
        let mut state = State::new(&model);
        let mut rng = Rng::new(7);
        state.construct(&model);
        let mut made_of_kind = [0; 5];
        for step in 0..20_000 {
            state.undo.clear();
            let kind = rng.below(5);
            let made = match kind {
                0 => state.fill(&model, &mut rng),
                1 => state.hand_over(&model, &mut rng),
                2 => state.swap(&model, &mut rng),
                3 => state.take_over(&model, &mut rng),
                _ => state.drop_one(&model, &mut rng),
            };
            made_of_kind[kind] += usize::from(made);
            if made && rng.chance(50) {
                state.roll_back(&model);
            }
            let pairs: Vec<(u32, u32)> = state
                .assigned
                .iter()
                .map(|&pair| (model.pair_shift[pair as usize], model.pair_person[pair as usize]))
                .collect();
            let report = crate::check::check(&instance, &pairs);
            assert_eq!(report.violations, Vec::<String>::new(), "step {step}, move {kind}");
            assert_eq!(report.parts, state.parts, "step {step}, move {kind}");
        }
        assert!(made_of_kind.iter().all(|&made| made > 100), "moves made of each kind: {made_of_kind:?}");
    }
}
