"""Cold-start proxy: time from exec of a Lambda `bootstrap` to its first poll of the runtime API
(GET /2018-06-01/runtime/invocation/next), against a small mock runtime API. Each binary runs
once to warm the page cache, then RUNS times, interleaved with the others so that machine noise
hits all of them alike; reports the median, quartiles and minimum.

usage: coldstart.py RUNS NAME=PATH [NAME=PATH ...]
       coldstart.py --split RUNS PATH   (PATH: bench/split; before/after split of its start-up)
"""

import os
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def now_ns():
    # CLOCK_MONOTONIC: the clock bench/split's marks use.
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)


first_poll = threading.Event()
polled_at = [0]


class RuntimeApi(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.endswith("/runtime/invocation/next") and not first_poll.is_set():
            polled_at[0] = now_ns()
            first_poll.set()
        self.send_response(503)
        self.end_headers()

    def log_message(self, *args):
        pass


def env_for(port, extra):
    return dict(
        os.environ,
        AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{port}",
        AWS_LAMBDA_FUNCTION_NAME="bench",
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE="256",
        AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
        AWS_LAMBDA_LOG_STREAM_NAME="bench",
        AWS_LAMBDA_LOG_GROUP_NAME="bench",
        RUST_LOG="warn",
        TABLE_NAME="bench",  # the peer's get-product panics without it
        **extra,
    )


def run_once(path, env):
    """One cold start: (exec -> first poll in ms, {step: ms after exec} from bench-mark lines)."""
    first_poll.clear()
    started = now_ns()
    process = subprocess.Popen([path], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if not first_poll.wait(timeout=10):
        process.kill()
        raise SystemExit(f"{path} never polled the runtime API")
    process.kill()
    _, stderr = process.communicate()
    marks = {}
    for line in stderr.splitlines():
        if line.startswith("bench-mark "):
            _, step, at = line.split()
            marks[step] = (int(at) - started) / 1e6
    return (polled_at[0] - started) / 1e6, marks


def spread(samples):
    # The minimum is the run least disturbed by other work on the machine.
    q1, median, q3 = statistics.quantiles(samples, n=4)
    return f"median {median:5.2f} ms  quartiles {q1:5.2f}–{q3:5.2f}  min {min(samples):5.2f}"


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), RuntimeApi)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_port
    if sys.argv[1] == "--split":
        runs, path = int(sys.argv[2]), sys.argv[3]
        variants = {"before": {"BENCH_SDK": "native"}, "after": {}}
        runs_of = {name: [] for name in variants}
        for round_ in range(runs + 1):
            for name, extra in variants.items():
                result = run_once(path, env_for(port, extra))
                if round_:
                    runs_of[name].append(result)
        steps = list(runs_of["after"][0][1]) + ["first poll"]

        def durations(total, marks):
            at = [marks[step] for step in steps[:-1]] + [total]
            return [b - a for a, b in zip([0.0] + at, at)]

        medians = {
            name: [statistics.median(column) for column in zip(*(durations(*run) for run in results))]
            for name, results in runs_of.items()
        }
        print(f"auth start-up by step, ms (median of {runs}; 'main' = exec until main() runs)")
        print(f"{'step':<12} {'before':>8} {'after':>8}")
        for i, step in enumerate(steps):
            print(f"{step:<12} {medians['before'][i]:8.2f} {medians['after'][i]:8.2f}")
        totals = {name: statistics.median(total for total, _ in results) for name, results in runs_of.items()}
        print(f"{'total':<12} {totals['before']:8.2f} {totals['after']:8.2f}")
        return
    runs = int(sys.argv[1])
    binaries = [spec.split("=", 1) for spec in sys.argv[2:]]
    samples = {name: [] for name, _ in binaries}
    for round_ in range(runs + 1):
        for name, path in binaries:
            total, _ = run_once(path, env_for(port, {}))
            if round_:
                samples[name].append(total)
    for name, _ in binaries:
        print(f"cold start {name:<8} {spread(samples[name])}  exec -> first runtime-API poll, {runs} runs")


if __name__ == "__main__":
    main()
