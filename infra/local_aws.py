"""moto's server, with DynamoDB's write atomicity: `python infra/local_aws.py PORT`.

DynamoDB applies each request to an item atomically: two concurrent `ADD hits :one` both count,
and of two conditional writes racing for one item exactly one wins. moto's threaded server does
not (it reads, changes and stores an item without a lock), so a parallel burst can lose updates
and tests of Rota's counters and uniqueness rules would prove nothing. Here DynamoDB requests
are applied one at a time; S3, SQS and SES requests stay concurrent.
"""

import sys
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple

moto = DomainDispatcherApplication(create_backend_app)
dynamodb = threading.Lock()


def app(environ, start_response):
    if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
        with dynamodb:
            # Produce the whole response inside the lock: WSGI bodies can be lazy.
            return list(moto(environ, start_response))
    return moto(environ, start_response)


if __name__ == "__main__":
    run_simple("127.0.0.1", int(sys.argv[1]), app, threaded=True, request_handler=MotoRequestHandler)
