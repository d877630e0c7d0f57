#!/usr/bin/env python3
"""Auto-fill's model (docs/auto-fill.md) for OR-Tools CP-SAT: the benchmark's reference solver.

    cpsat.py INSTANCE.json --time-ms N [--workers K] [--seed S] > SOLUTION.json

Writes the doc's solution JSON with "solver": "cp-sat" and also "status" (OPTIMAL, FEASIBLE,
INFEASIBLE, UNKNOWN), "model_ms" (building the model, before the solver's clock starts) and
"bound" (the best objective bound). The time limit is the solver's alone. Every number stays an
integer: the trace's values are the solver's integer objective plus Python's integer constant.

The model: a bool x per (shift, person) candidate pair the pinned shifts leave possible.
  1. Σ_p x[s, p] ≤ open[s]; unfilled = Σ open − Σ x.
  2. Per person, intervals [start, end + rest): an at-most-one per maximal clique (found by a
     sweep over the sorted intervals); a pair conflicting with a pinned shift is no variable.
  3. Per person and week: Σ paid·x + pinned minutes ≤ cap (pairs that cannot fit are dropped).
  4. Per person, a window of K + 1 consecutive days all possibly worked: its days that are not
     pinned are not all worked (so no K + 1 worked days in a row hold an assigned day); a pair on a
     day whose run of pinned days (counting the day itself) already exceeds K is dropped.
  Cost, fairness and unpreferred as in the doc (see add_cost and add_fairness).
"""
import argparse
import bisect
import heapq
import json
import os
import sys
import time
from collections import defaultdict

from ortools.sat.python import cp_model


class Model:
    """The CP-SAT model of one instance, with what is needed to read a solution back."""

    def __init__(self, inst):
        self.inst = inst
        self.model = cp_model.CpModel()
        rules, weights = inst["rules"], inst["weights"]
        self.rest = rules["min_rest_minutes"]
        self.k = rules["max_consecutive_days"]
        self.daily = rules["daily_overtime_after_minutes"]
        self.weekly = rules["weekly_overtime_after_minutes"]
        self.percent = rules["overtime_rate_percent"]
        self.wu, self.wc = weights["unfilled"], weights["cost"]
        self.wf, self.wp = weights["fairness"], weights["unpreferred"]
        self.people = inst["people"]
        self.shifts = inst["shifts"]
        # The objective: coefficient per CP-SAT variable (by index into self.vars) + a constant.
        self.coef = defaultdict(int)
        self.const = 0
        self.vars = []  # every variable of the objective or of a pair, by index
        self.pairs = []  # (shift, person, var index) of each x

    def new_bool(self, name):
        self.vars.append(self.model.new_bool_var(name))
        return len(self.vars) - 1

    def new_int(self, lo, hi, name):
        self.vars.append(self.model.new_int_var(lo, hi, name))
        return len(self.vars) - 1

    def lin(self, terms):
        """[(coef, var index)] → a CP-SAT linear expression."""
        return cp_model.LinearExpr.weighted_sum([self.vars[v] for _, v in terms], [c for c, _ in terms])

    def build(self):
        n_people = len(self.people)
        pinned = [p.get("pinned", []) for p in self.people]
        for s in self.shifts + [iv for ps in pinned for iv in ps]:
            if s["end"] < s["start"]:
                raise ValueError(f"an interval ends before it starts: {s}")

        # What the pinned shifts fix, per person.
        pin_ivs = []  # sorted (start, end + rest) and the prefix maximum of the ends
        pin_week = []  # week → paid minutes
        pin_day = []  # (week, day) → paid minutes
        pin_days = []  # set of days worked
        for ps in pinned:
            ivs = sorted((iv["start"], iv["end"] + self.rest) for iv in ps)
            ends, top = [], None
            for _, e in ivs:
                top = e if top is None else max(top, e)
                ends.append(top)
            pin_ivs.append(([s for s, _ in ivs], ends))
            week, day = defaultdict(int), defaultdict(int)
            for iv in ps:
                week[iv["week"]] += iv["paid_minutes"]
                day[(iv["week"], iv["day"])] += iv["paid_minutes"]
            pin_week.append(week)
            pin_day.append(day)
            pin_days.append({iv["day"] for iv in ps})

        def pinned_conflict(p, a, b):
            # A pinned (s, e) conflicts with [a, b) when s < b and a < e: among the pinned
            # starting before b, does the latest end pass a?
            starts, ends = pin_ivs[p]
            i = bisect.bisect_left(starts, b)
            return i > 0 and ends[i - 1] > a

        def pinned_run(p, d):
            # The run of consecutive pinned days through day d, counting d itself.
            days, n = pin_days[p], 1
            e = d - 1
            while e in days:
                n, e = n + 1, e - 1
            e = d + 1
            while e in days:
                n, e = n + 1, e + 1
            return n

        # Rule 1 (and what pinned shifts alone rule out): one x per possible pair.
        by_person = [[] for _ in range(n_people)]  # (shift index, var index)
        unpreferred = []
        total_open = 0
        for si, s in enumerate(self.shifts):
            total_open += s["open"]
            xs, seen = [], set()
            a, b, paid = s["start"], s["end"] + self.rest, s["paid_minutes"]
            for c in s["candidates"]:
                p = c["person"]
                if p in seen:
                    continue
                seen.add(p)
                if pinned_conflict(p, a, b):
                    continue  # rule 2 against a pinned shift
                if pin_week[p][s["week"]] + paid > self.people[p]["cap_minutes"]:
                    continue  # rule 3 whatever else is assigned
                if pinned_run(p, s["day"]) > self.k:
                    continue  # rule 4 whatever else is assigned
                v = self.new_bool(f"x_{si}_{p}")
                self.pairs.append((si, p, v))
                xs.append(v)
                by_person[p].append((si, v))
                if not c["preferred"]:
                    unpreferred.append(v)
            if len(xs) > s["open"]:
                self.model.add(self.lin([(1, v) for v in xs]) <= s["open"])

        # The objective's simple parts.
        self.const += self.wu * total_open
        for _, _, v in self.pairs:
            self.coef[v] -= self.wu
        for v in unpreferred:
            self.coef[v] += self.wp

        for p in range(n_people):
            xs = by_person[p]
            self.add_overlap(xs)
            self.add_cap(p, xs, pin_week[p])
            self.add_days(xs, pin_days[p])
            self.add_cost(p, xs, pin_day[p])
            self.add_fairness(p, xs)

        terms = [(c, v) for v, c in self.coef.items() if c != 0]
        self.objective = self.lin(terms)
        self.model.minimize(self.objective)

    def add_overlap(self, xs):
        """Rule 2 between assigned shifts: [start, end + rest) intervals form an interval graph, so
        an at-most-one per maximal clique (the intervals holding some start point) is exact."""
        ivs, points = [], []
        for si, v in xs:
            s = self.shifts[si]
            a, b = s["start"], s["end"] + self.rest
            (ivs if a < b else points).append((a, b, v))
        ivs.sort()
        active, i = [], 0  # heap of (end, var) of the intervals holding the sweep point
        while i < len(ivs):
            t = ivs[i][0]
            while active and active[0][0] <= t:
                heapq.heappop(active)
            while i < len(ivs) and ivs[i][0] == t:
                heapq.heappush(active, (ivs[i][1], ivs[i][2]))
                i += 1
            # The clique is maximal unless the next start comes before any of it ends.
            if len(active) > 1 and (i == len(ivs) or ivs[i][0] >= active[0][0]):
                self.model.add_at_most_one([self.vars[v] for _, v in active])
        # An empty interval (start == end with no rest) conflicts, by the doc's inequalities, with
        # any interval holding its point strictly inside: rare, so pairwise.
        for t, _, v in points:
            for a, b, w in ivs:
                if a < t < b:
                    self.model.add_bool_or([self.vars[v].Not(), self.vars[w].Not()])

    def add_cap(self, p, xs, pin_week):
        """Rule 3: in each week, pinned + assigned paid minutes ≤ cap (needed only if the pairs
        left in the week can exceed it; a pair alone too long was dropped already)."""
        weeks = defaultdict(list)
        for si, v in xs:
            s = self.shifts[si]
            weeks[s["week"]].append((s["paid_minutes"], v))
        cap = self.people[p]["cap_minutes"]
        for w, terms in weeks.items():
            room = cap - pin_week[w]
            if sum(c for c, _ in terms) > room:
                self.model.add(self.lin(terms) <= room)

    def add_days(self, xs, pin_days):
        """Rule 4. A run of more than K worked days holding an assigned day exists iff some window
        of K + 1 consecutive days is all worked and holds an assigned day. Pairs on a day whose
        pinned run (counting the day) exceeds K are dropped, so each window left to check holds
        at least two days not pinned, all with pairs; all worked would make them assigned days,
        so: Σ worked over them ≤ their count − 1. Windows of pinned days only are no concern."""
        by_day = defaultdict(list)
        for si, v in xs:
            s = self.shifts[si]
            by_day[s["day"]].append((s["start"], s["end"] + self.rest, v))
        worked = {}  # day not pinned → [(1, var)] whose sum is 1 iff that day is worked
        for d, ivs in by_day.items():
            if d in pin_days:
                continue
            if len(ivs) == 1 or max(a for a, _, _ in ivs) < min(b for _, b, _ in ivs):
                # One pair, or pairs that all conflict (rule 2 lets one through): the sum.
                worked[d] = [(1, v) for _, _, v in ivs]
            else:
                w = self.new_bool(f"worked_{d}")
                for _, _, v in ivs:
                    self.model.add_implication(self.vars[v], self.vars[w])
                worked[d] = [(1, w)]
        # Maximal runs of days that could all be worked; only windows inside them matter.
        k, done = self.k, set()
        possible = sorted(set(worked) | pin_days)
        runs, first = [], 0
        for i in range(1, len(possible) + 1):
            if i == len(possible) or possible[i] != possible[i - 1] + 1:
                runs.append((possible[first], possible[i - 1]))
                first = i
        for lo, hi in runs:
            for start in range(lo, hi - k + 1):  # the windows [start, start + k]
                free = tuple(e for e in range(start, start + k + 1) if e in worked)
                if free and free not in done:
                    done.add(free)
                    # len(free) >= 2 here: a day alone among pinned ones was dropped as a pair.
                    self.model.add(self.lin([t for e in free for t in worked[e]]) <= len(free) - 1)

    def add_cost(self, p, xs, pin_day):
        """The cost part: per week with pairs, rate × (100 Σ m_d + (pct − 100) × overtime), less
        the pinned shifts' own cost (a constant). With a = weights.cost × rate × (pct − 100) > 0,
        o_d ≥ m_d − D, o_d ≥ 0 and wk ≥ Σ(m_d − o_d) − W, wk ≥ 0 are exact at the optimum of the
        assignment: the total Σ o_d + max(0, Σ(m_d − o_d) − W) never falls when an o_d rises (+1
        now, at most −1 in the weekly part), so the least is at o_d = max(0, m_d − D), the doc's
        daily overtime, and then wk is the doc's weekly one. A solution the solver reports may
        still carry slack: the final objective is recomputed from the assignment (evaluate).
        With a < 0 the maxima are stated as equalities; with a = 0 overtime is not modelled."""
        rate = self.people[p]["rate"]
        D, W = self.daily, self.weekly
        weeks = defaultdict(lambda: defaultdict(list))  # week → day → [(paid, var)]
        for si, v in xs:
            s = self.shifts[si]
            weeks[s["week"]][s["day"]].append((s["paid_minutes"], v))
            self.coef[v] += self.wc * rate * 100 * s["paid_minutes"]
        a = self.wc * rate * (self.percent - 100)
        if a == 0:
            return
        exact = a < 0
        for w, days in weeks.items():
            for (pw, d), m in pin_day.items():
                if pw == w:
                    days.setdefault(d, [])
            pin = {d: pin_day.get((w, d), 0) for d in days}
            pin_ot = sum(max(0, pin[d] - D) for d in days)
            pin_ot += max(0, sum(min(pin[d], D) for d in days) - W)
            self.const -= a * pin_ot
            if sum(min(pin[d], D) for d in days) >= W:
                # Regular minutes past W whatever is assigned: overtime = Σ m_d − W.
                for terms in days.values():
                    for paid, v in terms:
                        self.coef[v] += a * paid
                self.const += a * (sum(pin.values()) - W)
                continue
            regular = []  # (coef, var) terms of Σ min(m_d, D), plus a constant
            regular_const, regular_max = 0, 0
            for d, terms in days.items():
                top = pin[d] + sum(c for c, _ in terms)
                if pin[d] >= D:  # o_d = m_d − D, min(m_d, D) = D
                    for paid, v in terms:
                        self.coef[v] += a * paid
                    self.const += a * (pin[d] - D)
                    regular_const += D
                    regular_max += D
                elif top <= D:  # o_d = 0, min(m_d, D) = m_d
                    regular += terms
                    regular_const += pin[d]
                    regular_max += top
                else:
                    o = self.new_int(0, top - D, f"daily_ot_{p}_{d}")
                    m_minus_d = self.lin(terms) + (pin[d] - D)
                    if exact:
                        self.model.add_max_equality(self.vars[o], [0, m_minus_d])
                    else:
                        self.model.add(self.vars[o] >= m_minus_d)
                    self.coef[o] += a
                    regular += terms + [(-1, o)]
                    regular_const += pin[d]
                    regular_max += D
            if regular_max <= W:
                continue  # no weekly overtime possible
            wk = self.new_int(0, regular_max - W, f"weekly_ot_{p}_{w}")
            past_w = self.lin(regular) + (regular_const - W)
            if exact:
                self.model.add_max_equality(self.vars[wk], [0, past_w])
            else:
                self.model.add(self.vars[wk] >= past_w)
            self.coef[wk] += a

    def add_fairness(self, p, xs):
        """weights.fairness × |assigned paid minutes − target|: dev ≥ ±(A − T), exact at the
        optimum when the weight is positive (equality when negative)."""
        t = self.people[p]["target_minutes"]
        terms = [(self.shifts[si]["paid_minutes"], v) for si, v in xs]
        top = sum(c for c, _ in terms)
        if self.wf == 0:
            return
        if t <= 0 or t >= top:  # the sign of A − T is known
            sign = 1 if t <= 0 else -1
            for c, v in terms:
                self.coef[v] += self.wf * sign * c
            self.const += self.wf * sign * -t
            return
        dev = self.new_int(0, max(t, top - t), f"dev_{p}")
        diff = self.lin(terms) - t
        if self.wf < 0:
            self.model.add_abs_equality(self.vars[dev], diff)
        else:
            self.model.add(self.vars[dev] >= diff)
            self.model.add(self.vars[dev] >= -diff)
        self.coef[dev] += self.wf

    def evaluate(self, assignments):
        """The doc's objective of an assignment, recomputed (no slack variables)."""
        D, W = self.daily, self.weekly
        mins = defaultdict(lambda: defaultdict(lambda: defaultdict(lambda: [0, 0])))
        for p, person in enumerate(self.people):
            for iv in person.get("pinned", []):
                mins[p][iv["week"]][iv["day"]][0] += iv["paid_minutes"]
        given, weeks = defaultdict(int), defaultdict(set)
        unpreferred = 0
        pref = {}
        for si, s in enumerate(self.shifts):
            for c in s["candidates"]:
                pref.setdefault((si, c["person"]), c["preferred"])
        for si, p in assignments:
            s = self.shifts[si]
            mins[p][s["week"]][s["day"]][1] += s["paid_minutes"]
            given[p] += s["paid_minutes"]
            weeks[p].add(s["week"])
            unpreferred += 0 if pref[(si, p)] else 1

        def week_cost(rate, ms):
            ot = sum(max(0, m - D) for m in ms) + max(0, sum(min(m, D) for m in ms) - W)
            return rate * (100 * sum(ms) + (self.percent - 100) * ot)

        cost = 0
        for p, ws in weeks.items():
            rate = self.people[p]["rate"]
            for w in ws:
                days = mins[p][w].values()
                cost += week_cost(rate, [a + b for a, b in days]) - week_cost(rate, [a for a, _ in days])
        fair = sum(abs(given[p] - person["target_minutes"]) for p, person in enumerate(self.people))
        unfilled = sum(s["open"] for s in self.shifts) - len(assignments)
        return self.wu * unfilled + self.wc * cost + self.wf * fair + self.wp * unpreferred


class Trace(cp_model.CpSolverSolutionCallback):
    def __init__(self, objective, const):
        super().__init__()
        self.objective, self.const = objective, const
        self.trace = []

    def on_solution_callback(self):
        ms = round(self.wall_time * 1000)
        value = self.value(self.objective) + self.const
        if not self.trace or value < self.trace[-1][1]:
            self.trace.append([ms, value])


def solve(inst, time_ms, workers=None, seed=1):
    t0 = time.monotonic()
    m = Model(inst)
    m.build()
    model_ms = round((time.monotonic() - t0) * 1000)

    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_ms / 1000
    solver.parameters.num_workers = workers or os.cpu_count() or 1
    solver.parameters.random_seed = seed
    trace = Trace(m.objective, m.const)
    status = solver.solve(m.model, trace)
    name = solver.status_name(status)

    out = {"solver": "cp-sat", "status": name, "model_ms": model_ms}
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        assignments = sorted([si, p] for si, p, v in m.pairs if solver.boolean_value(m.vars[v]))
        believed = solver.value(m.objective) + m.const
        objective = m.evaluate(assignments)
        if objective > believed:
            raise AssertionError(f"the model under-counts: {objective} > {believed}")
        if not trace.trace:  # solved before any callback (e.g. in presolve)
            trace.trace.append([round(solver.wall_time * 1000), believed])
        if objective < trace.trace[-1][1]:  # the solver's last solution carried slack
            trace.trace.append([trace.trace[-1][0], objective])
        out.update(assignments=assignments, objective=objective, first_feasible_ms=trace.trace[0][0], trace=trace.trace)
        out["bound"] = objective if status == cp_model.OPTIMAL else round(solver.best_objective_bound) + m.const
    else:
        out.update(assignments=[], objective=None, first_feasible_ms=None, trace=[])
        out["bound"] = None if status == cp_model.INFEASIBLE else round(solver.best_objective_bound) + m.const
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("instance")
    ap.add_argument("--time-ms", type=int, required=True)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    with open(args.instance) as f:
        inst = json.load(f)
    out = solve(inst, args.time_ms, args.workers, args.seed)
    json.dump(out, sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
