"""A webhook receiver for the local stack, served by infra/fake_messaging.py on its port: what an
organisation's integration would run, checking each delivery with the Standard Webhooks
reference library (the `standardwebhooks` package), never with Rota's own code.

- `POST /hooks/{name}` takes a delivery: it is kept (headers and body) and answered 204, or with
  an injected failure;
- `POST /_fake/webhooks/{name}/fail` `{"status": 500, "times": 1}` makes the next `times`
  deliveries to `name` answer `status` (`410` tells Rota the endpoint is gone);
- `GET /_fake/webhooks/{name}?secret=whsec_…` lists the deliveries `name` took, oldest first, as
  `[{"id", "timestamp", "payload", "verified", "error"}]`: `verified` is the reference library's
  verdict on the signature with that secret (over the exact body, within its 5-minute tolerance).

Keyed by name, so tests running at once do not meet.
"""

import json
from collections import defaultdict

from aiohttp import web
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

received = defaultdict(list)  # name -> [(headers, body)], oldest first
failures = defaultdict(list)  # name -> injected statuses, next first


async def take(request):
    name = request.match_info["name"]
    body = await request.read()
    headers = {key.lower(): value for key, value in request.headers.items()}
    received[name].append((headers, body))
    if failures[name]:
        return web.json_response({"error": "injected"}, status=failures[name].pop(0))
    return web.Response(status=204)


async def fail(request):
    name = request.match_info["name"]
    body = await request.json()
    failures[name].extend([int(body["status"])] * int(body.get("times", 1)))
    return web.json_response({"name": name, "pending": failures[name]})


async def deliveries(request):
    name = request.match_info["name"]
    secret = request.query.get("secret", "")
    listed = []
    for headers, body in received[name]:
        verified, error = False, None
        try:
            Webhook(secret).verify(body, headers)
            verified = True
        except (WebhookVerificationError, ValueError) as refused:
            error = str(refused)
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        listed.append({
            "id": headers.get("webhook-id"),
            "timestamp": headers.get("webhook-timestamp"),
            "payload": payload,
            "verified": verified,
            "error": error,
        })
    return web.json_response(listed)


def add_routes(app):
    app.router.add_post("/hooks/{name}", take)
    app.router.add_post("/_fake/webhooks/{name}/fail", fail)
    app.router.add_get("/_fake/webhooks/{name}", deliveries)
