#!/usr/bin/env python3
"""The solver bench's report: every answer judged by check.py, the table in
docs/solver-figures.md, README's summary between its solver markers, and objective-over-time plots.

    report.py OUT_DIR "1000 10000" "small large xl"
"""
import json
import os
import platform
import subprocess
import sys

from check import check

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SOLVERS = [("rota", "Rota"), ("cp-sat", "CP-SAT")]


def load(path):
    with open(path) as f:
        return json.load(f)


def main():
    out, limits, names = sys.argv[1], [int(ms) for ms in sys.argv[2].split()], sys.argv[3].split()
    rows = []
    for name in names:
        instance = load(os.path.join(out, f"{name}.json"))
        size = (f"{len(instance['people'])} people, {len(instance['shifts'])} shifts, "
                f"{sum(s['open'] for s in instance['shifts'])} places, "
                f"{sum(len(s['candidates']) for s in instance['shifts'])} candidate pairs")
        for ms in limits:
            for key, label in SOLVERS:
                answer = load(os.path.join(out, f"{name}-{ms}-{key}.json"))
                judged = check(instance, [tuple(pair) for pair in answer["assignments"]])
                found = answer.get("objective") is not None
                if found and answer["objective"] != judged["objective"]:
                    sys.exit(f"{name} {ms} ms {label}: says {answer['objective']}, the checker {judged['objective']}")
                rows.append({
                    "instance": name, "size": size, "ms": ms, "solver": label, "found": found,
                    "hard": judged["hard_violations"] if found else None,
                    "objective": judged["objective"] if found else None,
                    "unfilled": judged["unfilled_places"] if found else None,
                    "first_ms": answer.get("first_feasible_ms"),
                    "status": answer.get("status", ""),
                })

    def cell(row):
        if not row["found"]:
            return f"| {row['instance']} | {row['ms'] / 1000:g} s | {row['solver']} | no solution in time | | | |"
        first = "" if row["first_ms"] is None else f"{row['first_ms']} ms"
        status = f" ({row['status'].lower()})" if row["status"] else ""
        return (f"| {row['instance']} | {row['ms'] / 1000:g} s | {row['solver']}{status} | {row['hard']} | "
                f"{row['objective'] / 1e9:,.3f} | {row['unfilled']} | {first} |")

    header = ("| instance | limit | solver | hard violations | objective (×10⁹) | places left open | first feasible |\n"
              "|---|---|---|---|---|---|---|")
    table = "\n".join([header] + [cell(row) for row in rows])
    cpu = platform.processor() or platform.machine()
    sizes = "\n".join(f"- **{name}**: {next(r['size'] for r in rows if r['instance'] == name)}" for name in names)
    with open(os.path.join(ROOT, "docs", "solver-figures.md"), "w") as f:
        f.write("# Auto-fill against OR-Tools CP-SAT: the latest `make bench-solver`\n\n"
                f"Written by bench/solver/report.py; {os.cpu_count()} cores ({cpu}). Instances (seed 1):\n\n"
                f"{sizes}\n\n{table}\n")

    for name in [n for n in names if n != "small"]:
        series = []
        for key, label in SOLVERS:
            answer = load(os.path.join(out, f"{name}-{max(limits)}-{key}.json"))
            answer["label"] = f"{label}, {max(limits) / 1000:g} s"
            path = os.path.join(out, f"{name}-plot-{key}.json")
            with open(path, "w") as f:
                json.dump(answer, f)
            series.append(path)
        subprocess.run([sys.executable, os.path.join(HERE, "plot.py"), os.path.join(ROOT, "docs", f"solver-{name}.svg"),
                        *series], check=True)

    summary = "\n".join([
        "<!-- solver:begin -->",
        table,
        "",
        " ".join(f"![objective over time, {name}](docs/solver-{name}.svg)" for name in names if name != "small"),
        "<!-- solver:end -->",
    ])
    readme = os.path.join(ROOT, "README.md")
    with open(readme) as f:
        text = f.read()
    begin, end = text.index("<!-- solver:begin -->"), text.index("<!-- solver:end -->") + len("<!-- solver:end -->")
    with open(readme, "w") as f:
        f.write(text[:begin] + summary + text[end:])
    print(table)


if __name__ == "__main__":
    main()
