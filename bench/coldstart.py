"""Cold-start proxy: time from exec of a Lambda `bootstrap` to its first poll of the runtime API
(GET /2018-06-01/runtime/invocation/next), against a small mock runtime API. Median of N runs.

usage: coldstart.py RUNS NAME=PATH [NAME=PATH ...]
"""

import os
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

first_poll = threading.Event()
polled_at = [0.0]


class RuntimeApi(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.endswith("/runtime/invocation/next") and not first_poll.is_set():
            polled_at[0] = time.perf_counter()
            first_poll.set()
        self.send_response(503)
        self.end_headers()

    def log_message(self, *args):
        pass


def measure(path, runs, port):
    env = dict(
        os.environ,
        AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{port}",
        AWS_LAMBDA_FUNCTION_NAME="bench",
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE="256",
        AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
        AWS_LAMBDA_LOG_STREAM_NAME="bench",
        AWS_LAMBDA_LOG_GROUP_NAME="bench",
        RUST_LOG="warn",
    )
    samples = []
    for _ in range(runs):
        first_poll.clear()
        started = time.perf_counter()
        process = subprocess.Popen([path], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not first_poll.wait(timeout=10):
            process.kill()
            raise SystemExit(f"{path} never polled the runtime API")
        samples.append((polled_at[0] - started) * 1000)
        process.kill()
        process.wait()
    return statistics.median(samples)


def main():
    runs = int(sys.argv[1])
    server = ThreadingHTTPServer(("127.0.0.1", 0), RuntimeApi)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    for spec in sys.argv[2:]:
        name, path = spec.split("=", 1)
        print(f"cold start {name}: {measure(path, runs, server.server_port):.1f} ms (exec -> first runtime-API poll, median of {runs})")


if __name__ == "__main__":
    main()
