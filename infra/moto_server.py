#!/usr/bin/env python3
"""moto's server (as `moto_server -H HOST -p PORT`), answering one request at a time.

moto is not thread-safe: TransactWriteItems deep-copies the whole table for its rollback while
other threads write to it, and fails with a 500 ("dictionary changed size during iteration")
that the SDK then retries. Parallel tests hit that, which made round-trip counts and sign-ups
flaky. The server stays threaded (each keep-alive connection has its thread); a lock lets one
request at a time into moto, which the GIL mostly did anyway.
"""

import argparse
import os
import signal
import sys
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    args = parser.parse_args()
    os.environ.setdefault("MOTO_PORT", str(args.port))  # as moto_server does: it names queue URLs
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

    app = DomainDispatcherApplication(create_backend_app)
    app.debug = True  # as moto_server: tracebacks of its own errors go to the log
    lock = threading.Lock()

    def one_at_a_time(environ, start_response):
        with lock:
            # moto's responses are small and built eagerly: read them out inside the lock.
            return list(app(environ, start_response))

    run_simple(args.host, args.port, one_at_a_time, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
