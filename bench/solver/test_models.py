#!/usr/bin/env python3
"""cpsat.py against check.py and brute force, on tiny.json and on small random instances.

    "$VENV/bin/python" bench/solver/test_models.py [--random N]

Every solve is to optimality on one worker; brute force enumerates, per shift, every set of at
most `open` candidates and keeps the least objective check.py finds among the feasible ones.
"""
import argparse
import itertools
import json
import os
import random
import sys

sys.dont_write_bytecode = True  # leave no __pycache__ in the repo
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check import check  # noqa: E402
from cpsat import solve  # noqa: E402


def brute_force(inst):
    per_shift = []
    for s, shift in enumerate(inst["shifts"]):
        people = [c["person"] for c in shift["candidates"]]
        options = []
        for k in range(min(shift["open"], len(people)) + 1):
            options += [[[s, p] for p in combo] for combo in itertools.combinations(people, k)]
        per_shift.append(options)
    best, count = None, 0
    for choice in itertools.product(*per_shift):
        result = check(inst, [pair for part in choice for pair in part])
        if result["hard_violations"] == 0:
            count += 1
            if best is None or result["objective"] < best:
                best = result["objective"]
    return best, count


def verify(inst, label):
    out = solve(inst, time_ms=20000, workers=1, seed=1)
    assert out["status"] == "OPTIMAL", (label, out["status"])
    result = check(inst, out["assignments"])
    assert result["hard_violations"] == 0, (label, result["violations"])
    assert out["objective"] == result["objective"], (label, out["objective"], result)
    assert out["trace"][-1][1] == out["objective"] == out["bound"], (label, out)
    best, feasible = brute_force(inst)
    assert out["objective"] == best, (label, out["objective"], best)
    return out, feasible


def random_instance(rng, n):
    rest = rng.choice([0, 0, 60, 660])
    rules = {
        "min_rest_minutes": rest,
        "max_consecutive_days": rng.choice([1, 2, 3]),
        "daily_overtime_after_minutes": rng.choice([240, 480]),
        "weekly_overtime_after_minutes": rng.choice([300, 600, 900]),
        "overtime_rate_percent": rng.choice([50, 100, 150, 150, 200]),
    }
    weights = {"unfilled": 10**10, "cost": rng.choice([0, 1, 1]), "fairness": rng.choice([0, 20000]),
               "unpreferred": 20000000}

    def interval():
        day = rng.randrange(0, 7)
        start = day * 1440 + rng.randrange(0, 24) * 60
        length = rng.choice([0, 60, 240, 480, 600] if rest == 0 else [60, 240, 480, 600])
        return {"start": start, "end": start + length, "paid_minutes": max(0, length - rng.choice([0, 30])),
                "day": day, "week": day // 3}

    people = [{"id": f"p{i}", "rate": rng.choice([1000, 1800, 2500]), "cap_minutes": rng.choice([500, 1000, 1600]),
               "target_minutes": rng.choice([0, 300, 900, 2000]),
               "pinned": [interval() for _ in range(rng.randrange(0, 4))]} for i in range(3)]
    shifts = []
    for i in range(n):
        s = interval()
        who = rng.sample(range(3), rng.randrange(1, 4))
        s.update(id=f"s{i}", open=rng.choice([1, 1, 2]),
                 candidates=[{"person": p, "preferred": rng.random() < 0.8} for p in who])
        shifts.append(s)
    return {"name": f"random{n}", "rules": rules, "weights": weights, "people": people, "shifts": shifts}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--random", type=int, default=40, help="how many random instances (default 40)")
    args = ap.parse_args()

    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "tiny.json")) as f:
        tiny = json.load(f)
    out, feasible = verify(tiny, "tiny")
    print(f"tiny: optimum {out['objective']} over {feasible} feasible assignments, {out['assignments']}")

    # The tiny instance exercises each rule: each of these breaks exactly one.
    for bad, rule in [([[0, 0]], "rule 2"), ([[0, 1], [1, 1]], "rule 2"), ([[2, 2], [3, 2]], "rule 3"),
                      ([[3, 0]], "rule 4"), ([[4, 3]], "rule 4"), ([[0, 1], [2, 1], [3, 1]], "rule 4"),
                      ([[4, 0]], "rule 1"), ([[0, 1], [0, 2]], "rule 1")]:
        result = check(tiny, bad)
        assert result["hard_violations"] == 1 and result["violations"][0].startswith(rule), (bad, result)

    rng = random.Random(7)
    for i in range(args.random):
        inst = random_instance(rng, rng.choice([4, 5, 6]))
        out, feasible = verify(inst, f"random {i}")
    print(f"{args.random} random instances: cp-sat's optimum is brute force's")
    print("ok")


if __name__ == "__main__":
    main()
