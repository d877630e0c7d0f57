"""moto's server, with DynamoDB's write atomicity and a cheap mailbox: `python infra/local_aws.py PORT`.

DynamoDB applies each request to an item atomically: two concurrent `ADD hits :one` both count,
and of two conditional writes racing for one item exactly one wins. moto's threaded server does
not (it reads, changes and stores an item without a lock), so a parallel burst can lose updates
and tests of Rota's counters and uniqueness rules would prove nothing. Here DynamoDB requests
are applied one at a time; S3, SQS and SES requests stay concurrent.

`GET /rota/mail?to=ADDRESS` answers the messages SES sent to ADDRESS, oldest first, as
`[{"subject": …, "body": …}]`: what the tests and the contract run read like an inbox. (moto's own
`/moto-api/data.json` has them too, but serialises every stored item of every service per call,
which takes seconds once a test run has written a few thousand.)
"""

import json
import sys
import threading
from urllib.parse import parse_qs

from moto.core import DEFAULT_ACCOUNT_ID
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from moto.ses.models import ses_backends
from werkzeug.serving import run_simple

moto = DomainDispatcherApplication(create_backend_app)
dynamodb = threading.Lock()


def mailbox(environ, start_response):
    to = parse_qs(environ.get("QUERY_STRING", "")).get("to", [""])[0]
    messages = [
        {"subject": message.subject, "body": message.body}
        for backend in list(ses_backends[DEFAULT_ACCOUNT_ID].values())
        for message in backend.sent_messages
        if to in message.destinations.get("ToAddresses", [])
    ]
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(messages).encode()]


def app(environ, start_response):
    if environ.get("PATH_INFO") == "/rota/mail":
        return mailbox(environ, start_response)
    if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
        with dynamodb:
            # Produce the whole response inside the lock: WSGI bodies can be lazy.
            return list(moto(environ, start_response))
    return moto(environ, start_response)


if __name__ == "__main__":
    run_simple("127.0.0.1", int(sys.argv[1]), app, threaded=True, request_handler=MotoRequestHandler)
