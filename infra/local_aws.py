"""moto's server, with DynamoDB's write atomicity and a cheap mailbox: `python infra/local_aws.py PORT`.

DynamoDB applies each request to an item atomically: two concurrent `ADD hits :one` both count,
and of two conditional writes racing for one item exactly one wins. moto's threaded server does
not (it reads, changes and stores an item without a lock), so a parallel burst can lose updates
and tests of Rota's counters and uniqueness rules would prove nothing. Here DynamoDB requests
are applied one at a time; S3, SQS and SES requests stay concurrent.

A transaction (`TransactWriteItems`) backs up, rolls back and is applied as in moto, but moto
backs up by deep-copying every table it touches, once per item of the transaction: with a few
thousand items stored (a test run) that took seconds per login, with every other DynamoDB request
waiting behind the lock. Here only the items the transaction writes are backed up and restored.

`GET /rota/mail?to=ADDRESS` answers the messages SES sent to ADDRESS, oldest first, as
`[{"subject": …, "body": …}]`: what the tests and the contract run read like an inbox. (moto's own
`/moto-api/data.json` has them too, but serialises every stored item of every service per call,
which takes seconds once a test run has written a few thousand.)
"""

import copy
import json
import sys
import threading
from urllib.parse import parse_qs

import moto.dynamodb.models as dynamodb_models
from moto.core import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models.table import Table
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from moto.ses.models import ses_backends
from werkzeug.serving import run_simple

moto = DomainDispatcherApplication(create_backend_app)
dynamodb = threading.Lock()


class TablesNotCopied:
    """`copy` as moto's DynamoDB backend sees it during a transaction: tables are not deep-copied."""

    def __getattr__(self, name):
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value, memo=None):
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)


moto_transact_write_items = dynamodb_models.DynamoDBBackend.transact_write_items


def transact_write_items(self, transact_items):
    """moto's transaction, backing up the items it writes instead of whole tables (see above)."""
    backup = []
    for entry in transact_items:
        for op in entry.values():
            name = op.get("TableName")
            if name not in self.tables:
                continue
            table = self.tables[name]
            if "Key" in op:
                key = op["Key"]
            else:
                names = [table.hash_key_attr] + ([table.range_key_attr] if table.range_key_attr else [])
                key = {attr: op["Item"][attr] for attr in names if attr in op.get("Item", {})}
            try:
                current = self.get_item(name, key)
            except Exception:  # moto's own call below reports a malformed key
                continue
            backup.append((name, key, None if current is None else copy.deepcopy(current.to_json()["Attributes"])))
    # Requests to DynamoDB are applied one at a time (the lock), so swapping the module's `copy`
    # for the length of one call affects no other request.
    dynamodb_models.copy = TablesNotCopied()
    try:
        return moto_transact_write_items(self, transact_items)
    except Exception:
        for name, key, attributes in reversed(backup):
            if attributes is None:
                self.delete_item(name, key)
            else:
                self.put_item(name, attributes)
        raise
    finally:
        dynamodb_models.copy = copy


dynamodb_models.DynamoDBBackend.transact_write_items = transact_write_items


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
