#!/usr/bin/env python3
"""The referee: recomputes a solution's hard-rule violations and objective from the instance alone
(docs/auto-fill.md), sharing no code with any solver. Plain loops, clarity over speed.

    check.py INSTANCE.json SOLUTION.json

prints {"hard_violations", "violations" (the first 20, in words), "objective", "parts" (the
weighted unfilled, cost, fairness and unpreferred, summing to objective), "unfilled_places",
"assigned"}. As a module: check(instance, assignments) -> the same dict.

Counting: rule 1 once per assignment naming no candidate (or out of range, or repeated) and once
per shift given more than `open`; rule 2 once per conflicting pair; rule 3 once per (person,
week); rule 4 once per (person, run). Out-of-range pairs are left out of everything else; a
repeated pair counts once; a pair naming no candidate still counts for rules 2-4 and the
objective (as preferred).
"""
import json
import sys


def check(instance, assignments):
    rules = instance["rules"]
    weights = instance["weights"]
    people = instance["people"]
    shifts = instance["shifts"]
    rest = rules["min_rest_minutes"]
    max_days = rules["max_consecutive_days"]
    daily = rules["daily_overtime_after_minutes"]
    weekly = rules["weekly_overtime_after_minutes"]
    percent = rules["overtime_rate_percent"]

    violations = []

    # Rule 1.
    kept = []  # distinct in-range (shift, person) pairs
    seen = set()
    for pair in assignments:
        s, p = pair[0], pair[1]
        if not (0 <= s < len(shifts)) or not (0 <= p < len(people)):
            violations.append(f"rule 1: assignment {[s, p]} is out of range")
            continue
        if (s, p) in seen:
            violations.append(f"rule 1: shift {shifts[s]['id']} given to {people[p]['id']} twice")
            continue
        seen.add((s, p))
        kept.append((s, p))
        if not any(c["person"] == p for c in shifts[s]["candidates"]):
            violations.append(f"rule 1: {people[p]['id']} is no candidate for shift {shifts[s]['id']}")
    count = [0] * len(shifts)
    for s, _ in kept:
        count[s] += 1
    for s, shift in enumerate(shifts):
        if count[s] > shift["open"]:
            violations.append(f"rule 1: shift {shift['id']} given {count[s]} people, open {shift['open']}")

    # Each person's shifts: (start, end, paid, day, week, assigned?).
    mine = [[] for _ in people]
    for p, person in enumerate(people):
        for iv in person.get("pinned", []):
            mine[p].append((iv["start"], iv["end"], iv["paid_minutes"], iv["day"], iv["week"], False))
    for s, p in kept:
        sh = shifts[s]
        mine[p].append((sh["start"], sh["end"], sh["paid_minutes"], sh["day"], sh["week"], True))

    for p, person in enumerate(people):
        name = person["id"]
        shs = mine[p]

        # Rule 2: every pair with at least one assigned.
        for i in range(len(shs)):
            for j in range(i + 1, len(shs)):
                a, b = shs[i], shs[j]
                if not (a[5] or b[5]):
                    continue
                if a[0] < b[1] + rest and b[0] < a[1] + rest:
                    violations.append(f"rule 2: {name}'s shifts at {a[0]}-{a[1]} and {b[0]}-{b[1]} conflict (rest {rest})")

        # Rule 3: each week holding an assigned shift.
        weeks = sorted({sh[4] for sh in shs if sh[5]})
        for w in weeks:
            total = sum(sh[2] for sh in shs if sh[4] == w)
            if total > person["cap_minutes"]:
                violations.append(f"rule 3: {name} works {total} paid minutes in week {w}, cap {person['cap_minutes']}")

        # Rule 4: each maximal run of worked days holding an assigned day.
        worked = sorted({sh[3] for sh in shs})
        assigned_days = {sh[3] for sh in shs if sh[5]}
        run = []
        for d in worked + [None]:
            if run and (d is None or d != run[-1] + 1):
                if len(run) > max_days and any(x in assigned_days for x in run):
                    violations.append(f"rule 4: {name} works {len(run)} days in a row ({run[0]}..{run[-1]}), max {max_days}")
                run = []
            if d is not None:
                run.append(d)

    # The objective.
    def labour(rate, shs):
        """Cost units of a list of (paid, day, week): per week, daily overtime first, then weekly
        on the regular minutes."""
        by_week = {}
        for paid, day, week in shs:
            by_week.setdefault(week, {})
            by_week[week][day] = by_week[week].get(day, 0) + paid
        total = 0
        for days in by_week.values():
            minutes = list(days.values())
            overtime = sum(max(0, m - daily) for m in minutes)
            overtime += max(0, sum(min(m, daily) for m in minutes) - weekly)
            total += rate * (100 * sum(minutes) + (percent - 100) * overtime)
        return total

    cost = 0
    fairness = 0
    for p, person in enumerate(people):
        both = [(sh[2], sh[3], sh[4]) for sh in mine[p]]
        pinned_only = [(sh[2], sh[3], sh[4]) for sh in mine[p] if not sh[5]]
        cost += labour(person["rate"], both) - labour(person["rate"], pinned_only)
        given = sum(sh[2] for sh in mine[p] if sh[5])
        fairness += abs(given - person["target_minutes"])

    unpreferred = 0
    for s, p in kept:
        for c in shifts[s]["candidates"]:
            if c["person"] == p and not c["preferred"]:
                unpreferred += 1
                break

    unfilled_places = sum(sh["open"] for sh in shifts) - len(kept)
    parts = {
        "unfilled": weights["unfilled"] * unfilled_places,
        "cost": weights["cost"] * cost,
        "fairness": weights["fairness"] * fairness,
        "unpreferred": weights["unpreferred"] * unpreferred,
    }
    return {
        "hard_violations": len(violations),
        "violations": violations[:20],
        "objective": sum(parts.values()),
        "parts": parts,
        "unfilled_places": unfilled_places,
        "assigned": len(kept),
    }


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: check.py INSTANCE.json SOLUTION.json")
    with open(sys.argv[1]) as f:
        instance = json.load(f)
    with open(sys.argv[2]) as f:
        solution = json.load(f)
    print(json.dumps(check(instance, solution["assignments"])))


if __name__ == "__main__":
    main()
