"""DNS over HTTPS for the local stack, served by infra/fake_messaging.py on its port (infra/stack
exports ROTA_DNS_API, its address).

Speaks the JSON API of Google Public DNS (https://developers.google.com/speed/public-dns/docs/doh/json),
which Rota asks for the TXT records that prove an organisation owns an email domain:
`GET /resolve?name=_rota-challenge.harbour.example&type=TXT` answers
`{"Status": 0, "Question": [...], "Answer": [{"name": …, "type": 16, "TTL": 300, "data": "…"}]}`,
`Status` 3 (NXDOMAIN) with no `Answer` for a name without records. Like Google's, a TXT record's
`data` is its text, its character-strings joined.

For tests:
- `PUT /_fake/dns/{name}` `{"txt": ["rota-domain-verification=…"]}` publishes a name's TXT records
  (an empty list removes them). Keyed by name, so tests running at once do not meet;
- `POST /_fake/dns/{name}/fail` `{"status": 503, "times": 1}` makes the next `times` lookups of
  the name answer that HTTP status (or `"status": "servfail"`: DNS status 2, as a resolver whose
  upstream failed answers).
"""

from collections import defaultdict

from aiohttp import web

TXT = 16
records = {}  # name (lower case, no trailing dot) -> its TXT strings
failures = defaultdict(list)  # name -> injected failures, next first


def _name(raw):
    return raw.strip().rstrip(".").lower()


async def resolve(request):
    raw = request.query.get("name", "")
    name = _name(raw)
    if not name:
        return web.json_response({"error": "name is required"}, status=400)
    kind = request.query.get("type", "1").upper()
    if failures[name]:
        failure = failures[name].pop(0)
        if failure == "servfail":
            return web.json_response({"Status": 2, "Question": [{"name": f"{name}.", "type": TXT}]})
        return web.json_response({"error": "injected"}, status=failure)
    question = [{"name": f"{name}.", "type": TXT if kind in ("TXT", "16") else kind}]
    texts = records.get(name, []) if kind in ("TXT", "16") else []
    if not texts:
        return web.json_response({"Status": 3, "Question": question})
    answer = [{"name": f"{name}.", "type": TXT, "TTL": 300, "data": text} for text in texts]
    return web.json_response({"Status": 0, "Question": question, "Answer": answer})


async def publish(request):
    name = _name(request.match_info["name"])
    body = await request.json()
    records[name] = list(body.get("txt", []))
    return web.json_response({"name": name, "txt": records[name]})


async def fail(request):
    name = _name(request.match_info["name"])
    body = await request.json()
    failures[name].extend([body.get("status", 503)] * int(body.get("times", 1)))
    return web.json_response({"name": name, "failures": len(failures[name])})


def add_routes(app):
    app.router.add_get("/resolve", resolve)
    app.router.add_put("/_fake/dns/{name}", publish)
    app.router.add_post("/_fake/dns/{name}/fail", fail)
