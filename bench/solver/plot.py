#!/usr/bin/env python3
"""Objective over time, one step line per solution file, as a hand-written SVG.

    plot.py OUT.svg SOLUTION.json...

x: seconds since the solver started, log scale (a trace at 0 ms is drawn at 1 ms). y: the
objective, log scale when every value is positive and they span more than a factor of 20,
linear otherwise (the axis title says which). Each line is labelled by the file's "label", else
its "solver".
"""
import json
import math
import sys
from html import escape

W, H, LEFT, RIGHT, TOP, BOTTOM = 820, 480, 90, 180, 30, 50
COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]


def fmt(v):
    return f"{v:.3g}".replace("e+0", "e").replace("e+", "e").replace("e-0", "e-")


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: plot.py OUT.svg SOLUTION.json...")
    series = []
    for path in sys.argv[2:]:
        with open(path) as f:
            sol = json.load(f)
        points = [(max(ms, 1) / 1000, obj) for ms, obj in sol.get("trace") or []]
        series.append((sol.get("label") or sol.get("solver", path), points))

    xs = [x for _, pts in series for x, _ in pts] or [0.001, 1]  # nothing found: empty axes
    ys = [y for _, pts in series for _, y in pts] or [0, 1]
    x_lo, x_hi = math.floor(math.log10(min(xs))), math.ceil(math.log10(max(xs)))
    x_hi = max(x_hi, x_lo + 1)
    log_y = min(ys) > 0 and max(ys) / min(ys) > 20
    if log_y:
        y_lo, y_hi = math.floor(math.log10(min(ys))), math.ceil(math.log10(max(ys)))
        y_hi = max(y_hi, y_lo + 1)
        y_ticks = [10.0**e for e in range(y_lo, y_hi + 1)]
    else:
        span = (max(ys) - min(ys)) or abs(max(ys)) or 1
        step = 10.0 ** math.floor(math.log10(span / 5))
        step *= next(m for m in (1, 2, 5, 10) if span / (step * m) <= 6)  # round steps, ≤ 6 of them
        y_lo, y_hi = math.floor(min(ys) / step) * step, math.ceil(max(ys) / step) * step
        y_hi = max(y_hi, y_lo + step)
        y_ticks = [y_lo + i * step for i in range(round((y_hi - y_lo) / step) + 1)]

    pw, ph = W - LEFT - RIGHT, H - TOP - BOTTOM

    def px(x):
        return LEFT + pw * (math.log10(x) - x_lo) / (x_hi - x_lo)

    def py(y):
        t = (math.log10(y) - y_lo) / (y_hi - y_lo) if log_y else (y - y_lo) / (y_hi - y_lo)
        return TOP + ph * (1 - t)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
           f'<rect width="{W}" height="{H}" fill="white"/>',
           f'<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" stroke="#333"/>']
    for e in range(x_lo, x_hi + 1):
        x = px(10.0**e)
        out.append(f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{TOP + ph}" stroke="#ddd"/>')
        out.append(f'<text x="{x:.1f}" y="{TOP + ph + 16}" text-anchor="middle">{fmt(10.0**e)}</text>')
    for v in y_ticks:
        y = py(v)
        out.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + pw}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{fmt(v)}</text>')
    out.append(f'<text x="{LEFT + pw / 2}" y="{H - 12}" text-anchor="middle">seconds since the solver started (log scale)</text>')
    out.append(f'<text transform="translate(16 {TOP + ph / 2}) rotate(-90)" text-anchor="middle">'
               f'objective ({"log" if log_y else "linear"} scale)</text>')

    for i, (label, pts) in enumerate(series):
        colour = COLOURS[i % len(COLOURS)]
        path = []  # a step line: the best objective holds until the next one
        for j, (x, y) in enumerate(pts):
            if j:
                path.append(f"{px(x):.1f},{py(pts[j - 1][1]):.1f}")
            path.append(f"{px(x):.1f},{py(y):.1f}")
        if path:
            out.append(f'<polyline points="{" ".join(path)}" fill="none" stroke="{colour}" stroke-width="2"/>')
        if pts:
            out.append(f'<circle cx="{px(pts[-1][0]):.1f}" cy="{py(pts[-1][1]):.1f}" r="3" fill="{colour}"/>')
        ky = TOP + 10 + 20 * i
        out.append(f'<line x1="{LEFT + pw + 15}" y1="{ky}" x2="{LEFT + pw + 40}" y2="{ky}" stroke="{colour}" stroke-width="2"/>')
        label = f"{label} (no solution)" if not pts else label
        out.append(f'<text x="{LEFT + pw + 46}" y="{ky + 4}">{escape(str(label))}</text>')
    out.append("</svg>")
    with open(sys.argv[1], "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
