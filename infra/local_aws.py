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

A Query reads one partition in DynamoDB, but moto's scans every item of the table (base table and
index alike), so the cost of each Query grew with everything a test run had written before it.
Here a Query is given only its partition's items: the base table's from moto's own per-partition
store, an index's from a map of its partitions kept up to date by every write (built on first use).
moto still applies the key condition, filters, order and paging to them as before.
Of those, moto sorts and walks every one (comparing, sizing, deep-copying) however few it returns,
so a page of a partition of thousands took a quarter of a second, every other DynamoDB request
waiting behind it. Here the partition's items are first cut, in plain string comparisons, to the
ones moto can return: those the key condition admits, after the start key, at most `Limit` + 1 of
them (the extra one tells moto to answer a LastEvaluatedKey); moto then does the rest as before.

`GET /rota/mail?to=ADDRESS` answers the messages SES sent to ADDRESS, oldest first, as
`[{"subject": …, "body": …}]`: what the tests and the contract run read like an inbox. (moto's own
`/moto-api/data.json` has them too, but serialises every stored item of every service per call,
which takes seconds once a test run has written a few thousand.)
"""

import copy
import inspect
import json
import sys
import threading
from collections import defaultdict
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


def partitions(table):
    """The table's global secondary indexes as {index: {hash value: {item key: item}}}."""
    index = table.__dict__.get("_rota_partitions")
    if index is None:
        index = table._rota_partitions = {gsi.name: defaultdict(dict) for gsi in table.global_indexes}
        table._rota_placed = {}
        for item in table.all_items():
            place(table, (item.hash_key, item.range_key), item)
    return index


def index_hash_attribute(gsi):
    hashes = [key["AttributeName"] for key in gsi.schema if key["KeyType"] == "HASH"]
    return hashes[0] if len(hashes) == 1 else None


def place(table, key, item):
    placed = []
    for gsi in table.global_indexes:
        value = item.attrs.get(index_hash_attribute(gsi))
        if value is not None:
            table._rota_partitions[gsi.name][value][key] = item
            placed.append((gsi.name, value))
    table._rota_placed[key] = placed


def replace(table, key):
    """Files the item at `key` (as it now is, or gone) under its index partitions."""
    if "_rota_partitions" not in table.__dict__:
        return  # built from the whole table on its first Query
    for name, value in table._rota_placed.pop(key, []):
        partition = table._rota_partitions[name][value]
        partition.pop(key, None)
        if not partition:
            del table._rota_partitions[name][value]
    item = table.get_item(*key) if key[0] in table.items else None
    if item is not None:
        place(table, key, item)


def written(self, table_name, key_attributes):
    table = self.tables.get(table_name)
    if table is None:
        return
    try:
        key = (
            dynamodb_models.DynamoType(key_attributes[table.hash_key_attr]),
            dynamodb_models.DynamoType(key_attributes[table.range_key_attr]) if table.range_key_attr else None,
        )
    except KeyError:
        return  # a malformed key: moto refused the write
    replace(table, key)


def refiling(moto_write):
    """A backend write (PutItem, UpdateItem, DeleteItem; transactions and batches call these) that
    refiles the item it touched, whether it succeeded or not."""

    def write(self, table_name, key_or_item, *args, **kwargs):
        try:
            return moto_write(self, table_name, key_or_item, *args, **kwargs)
        finally:
            written(self, table_name, key_or_item)

    return write


for name in ("put_item", "update_item", "delete_item"):
    setattr(dynamodb_models.DynamoDBBackend, name, refiling(getattr(dynamodb_models.DynamoDBBackend, name)))

moto_query = Table.query
moto_query_parameters = inspect.signature(moto_query)


def query(self, *args, **kwargs):
    """moto's Query, over the items of the one partition it reads."""
    arguments = moto_query_parameters.bind(self, *args, **kwargs).arguments
    hash_key, index_name = arguments["hash_key"], arguments.get("index_name")
    if index_name is None:
        stored = self.items.get(hash_key)
        candidates = [] if stored is None else (list(stored.values()) if self.range_key_attr else [stored])
    else:
        gsi = next((gsi for gsi in self.global_indexes if gsi.name == index_name), None)
        attribute = gsi and index_hash_attribute(gsi)
        if attribute is None:  # a local index, or a multi-attribute key: moto's own way
            return moto_query(self, *args, **kwargs)
        value = dict(arguments.get("hash_key_conditions") or []).get(attribute, hash_key)
        candidates = list(partitions(self)[index_name].get(value, {}).values())
    candidates = within(self, candidates, arguments, gsi if index_name else None)
    # Requests to DynamoDB are applied one at a time (the lock), so no other request sees this.
    self.all_items = lambda: candidates
    try:
        return moto_query(self, *args, **kwargs)
    finally:
        del self.all_items


Table.query = query

# A key condition on the sort key, as plain string comparisons, by moto's names for them.
COMPARISONS = {
    "=": lambda value, bounds: value == bounds[0],
    "<": lambda value, bounds: value < bounds[0],
    "<=": lambda value, bounds: value <= bounds[0],
    ">": lambda value, bounds: value > bounds[0],
    ">=": lambda value, bounds: value >= bounds[0],
    "BEGINS_WITH": lambda value, bounds: value.startswith(bounds[0]),
    "BETWEEN": lambda value, bounds: bounds[0] <= value <= bounds[1],
}


class NotPlain(Exception):
    """A query this cut does not understand (a number or binary key, a multi-attribute key)."""


def strings(values):
    if any(value is None or value.type != "S" for value in values):
        raise NotPlain
    return tuple(value.value for value in values)


def within(table, candidates, arguments, gsi):
    """The candidates moto can return (see above): in the key condition, after the start key, at
    most Limit + 1; all of them, untouched, for a query of another shape."""
    try:
        if len(arguments.get("range_key_conditions") or []) > 1 or arguments.get("filter_kwargs"):
            raise NotPlain
        if gsi is None:
            order = [table.range_key_attr]
        else:
            ranges = [key["AttributeName"] for key in gsi.schema if key["KeyType"] == "RANGE"]
            if len(ranges) != 1:
                raise NotPlain
            # An item without the index's sort key is not in the index.
            candidates = [item for item in candidates if ranges[0] in item.attrs]
            order = [ranges[0], table.hash_key_attr, table.range_key_attr]
        order = [attribute for attribute in order if attribute]
        keyed = [(strings([item.attrs.get(attribute) for attribute in order]), item) for item in candidates]
        forward = arguments.get("scan_index_forward", True) is not False
        keyed.sort(key=lambda pair: pair[0], reverse=not forward)
        start = arguments.get("exclusive_start_key")
        if start:
            after = tuple(start[attribute]["S"] for attribute in order)
            keyed = [(key, item) for key, item in keyed if (key > after if forward else key < after)]
        comparison = arguments.get("range_comparison")
        test, bounds = COMPARISONS[comparison] if comparison else None, strings(arguments.get("range_objs") or [])
        limit = arguments.get("limit")
        returned = []
        for key, item in keyed:
            if len(returned) == limit:
                # Any item after a full page, in the condition or not, has moto answer a
                # LastEvaluatedKey (so does DynamoDB: it stops at Limit without looking further).
                returned.append(item)
                break
            if test is None or test(key[0], bounds):
                returned.append(item)
        return returned
    except (NotPlain, KeyError, TypeError):
        return candidates


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
