"""The SMS and WhatsApp providers for the local stack: `python infra/fake_messaging.py PORT`.

One small HTTP server (aiohttp, which the stack has for localstripe) speaking the two documented
APIs the notifier calls, on 127.0.0.1 only:

- Twilio's Messages resource: `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, a form body
  (`To`, `From`, `Body`, optional `StatusCallback`), HTTP basic auth with the account SID and auth
  token; answers 201 with the message (`sid` `SM…`, `status: queued`), or Twilio's error JSON
  (`code`, `message`, `status`). https://www.twilio.com/docs/messaging/api/message-resource
- WhatsApp Cloud API: `POST /{version}/{phone_number_id}/messages`, a JSON body (`messaging_product:
  whatsapp`, `to`, `type: template` with `template {name, language {code}, components}`, or
  `type: text`), bearer token; answers 200 with `messages: [{id: wamid…}]`, or Meta's error JSON
  (`error {message, type, code}`). https://developers.facebook.com/docs/whatsapp/cloud-api

Credentials are the ones infra/stack exports (ROTA_SMS_ACCOUNT_SID / ROTA_SMS_AUTH_TOKEN,
ROTA_WHATSAPP_PHONE_NUMBER_ID / ROTA_WHATSAPP_TOKEN); anything else is 401, as the providers do.

For tests, like the mailbox:
- `GET /_fake/messages?to=+447911123456` lists what was accepted for a number, oldest first
  (`channel`, `to`, `body`, `template`, `id`);
- `POST /_fake/fail` `{"to": "+447911123456", "channel": "sms", "status": 429, "retry_after": 2,
  "times": 1}` makes the next `times` sends to that number fail that way (`status` 429 or 5xx, or
  `"timeout"`: the answer never comes). Keyed by number, so tests running at once do not meet;
- `POST /_fake/report` `{"to": "+447911123456", "status": "delivered", "error_code": 30003,
  "forge": false, "callback": "http://…/webhooks/whatsapp"}` reports the number's last message
  as the provider would: an SMS's to the `StatusCallback` it was sent with (a form signed with
  `X-Twilio-Signature`), a WhatsApp message's to `callback` (Meta's webhook JSON signed with
  `X-Hub-Signature-256` by ROTA_WHATSAPP_APP_SECRET); `forge` signs with another key. Answers what
  the callback answered (`status`, `body`).

It also answers DNS-over-HTTPS lookups (Google's JSON API), for proving single sign-on domains
(see infra/fake_dns.py), and receives outgoing webhooks as an organisation's integration would,
verifying them with the Standard Webhooks reference library (see infra/fake_webhooks.py).
"""

import asyncio
import base64
import hashlib
import hmac
import json
import time
import os
import sys
import uuid
from collections import defaultdict

from aiohttp import ClientSession, web

import fake_dns
import fake_webhooks

ACCOUNT_SID = os.environ.get("ROTA_SMS_ACCOUNT_SID", "ACfake")
AUTH_TOKEN = os.environ.get("ROTA_SMS_AUTH_TOKEN", "fake-token")
PHONE_NUMBER_ID = os.environ.get("ROTA_WHATSAPP_PHONE_NUMBER_ID", "100000000000001")
WHATSAPP_TOKEN = os.environ.get("ROTA_WHATSAPP_TOKEN", "fake-whatsapp-token")
APP_SECRET = os.environ.get("ROTA_WHATSAPP_APP_SECRET", "fake-app-secret")

messages = defaultdict(list)  # number (E.164) -> accepted messages, oldest first
failures = defaultdict(list)  # (channel, number) -> injected failures, next first


async def injected(channel, number):
    """The failure injected for the next send on `channel` to `number`, if any, as an answer."""
    queue = failures[(channel, number)]
    if not queue:
        return None
    failure = queue[0]
    failure["times"] -= 1
    if failure["times"] <= 0:
        queue.pop(0)
    if failure["status"] == "timeout":
        await asyncio.sleep(3600)
    status = int(failure["status"])
    headers = {"Retry-After": str(failure["retry_after"])} if failure.get("retry_after") is not None else {}
    if channel == "sms":
        body = {"code": 20429 if status == 429 else 20500, "message": "Too Many Requests" if status == 429 else "Internal Server Error",
                "more_info": "https://www.twilio.com/docs/errors", "status": status}
    else:
        body = {"error": {"message": "(#130429) Rate limit hit" if status == 429 else "An unknown error occurred",
                          "type": "OAuthException", "code": 130429 if status == 429 else 1, "fbtrace_id": uuid.uuid4().hex}}
    return web.json_response(body, status=status, headers=headers)


async def twilio_message(request):
    expected = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    if request.match_info["sid"] != ACCOUNT_SID or request.headers.get("Authorization") != expected:
        return web.json_response({"code": 20003, "message": "Authenticate", "status": 401}, status=401)
    form = await request.post()
    to, body = form.get("To", ""), form.get("Body", "")
    if not to.startswith("+") or not body or not (form.get("From") or form.get("MessagingServiceSid")):
        return web.json_response({"code": 21604, "message": "A 'To' phone number, 'From' and 'Body' are required.", "status": 400}, status=400)
    if (failure := await injected("sms", to)) is not None:
        return failure
    sid = "SM" + uuid.uuid4().hex
    messages[to].append({"channel": "sms", "id": sid, "to": to, "body": body, "status_callback": form.get("StatusCallback")})
    return web.json_response({"sid": sid, "account_sid": ACCOUNT_SID, "to": to, "from": form.get("From"), "body": body,
                              "status": "queued", "num_segments": str(1 + len(body) // 160)}, status=201)


async def whatsapp_message(request):
    if request.match_info["phone_number_id"] != PHONE_NUMBER_ID or request.headers.get("Authorization") != f"Bearer {WHATSAPP_TOKEN}":
        return web.json_response({"error": {"message": "Invalid OAuth access token.", "type": "OAuthException", "code": 190}}, status=401)
    try:
        payload = await request.json()
    except json.JSONDecodeError:
        return web.json_response({"error": {"message": "Invalid JSON", "type": "OAuthException", "code": 100}}, status=400)
    digits = str(payload.get("to", ""))
    if payload.get("messaging_product") != "whatsapp" or not digits.isdigit() or payload.get("type") not in ("template", "text"):
        return web.json_response({"error": {"message": "(#100) Invalid parameter", "type": "OAuthException", "code": 100}}, status=400)
    to = "+" + digits
    if (failure := await injected("whatsapp", to)) is not None:
        return failure
    message_id = "wamid." + uuid.uuid4().hex
    template = payload.get("template") if payload["type"] == "template" else None
    texts = [parameter.get("text", "") for component in (template or {}).get("components", []) for parameter in component.get("parameters", [])]
    body = "\n".join(texts) if template else payload.get("text", {}).get("body", "")
    messages[to].append({"channel": "whatsapp", "id": message_id, "to": to, "body": body,
                         "template": template and template.get("name")})
    return web.json_response({"messaging_product": "whatsapp", "contacts": [{"input": digits, "wa_id": digits}],
                              "messages": [{"id": message_id}]})


async def list_messages(request):
    return web.json_response(messages.get(request.query.get("to", ""), []))


async def fail(request):
    failure = await request.json()
    failure.setdefault("times", 1)
    failures[(failure["channel"], failure["to"])].append(failure)
    return web.json_response({"queued": len(failures[(failure["channel"], failure["to"])])})


def twilio_signature(token, url, params):
    """Twilio's: base64 HMAC-SHA1 of the URL and each parameter's name and value, sorted by name."""
    signed = url + "".join(name + value for name, value in sorted(params.items()))
    return base64.b64encode(hmac.new(token.encode(), signed.encode(), hashlib.sha1).digest()).decode()


async def report(request):
    wanted = await request.json()
    sent = messages.get(wanted["to"], [])
    if not sent:
        return web.json_response({"error": "nothing was sent to that number"}, status=404)
    message = sent[-1]
    key = "forged-key" if wanted.get("forge") else None
    async with ClientSession() as session:
        if message["channel"] == "sms":
            form = {"MessageSid": message["id"], "MessageStatus": wanted["status"], "AccountSid": ACCOUNT_SID,
                    "To": message["to"], "From": "+15005550006", "ApiVersion": "2010-04-01"}
            if wanted.get("error_code") is not None:
                form["ErrorCode"] = str(wanted["error_code"])
            url = message["status_callback"]
            headers = {"X-Twilio-Signature": twilio_signature(key or AUTH_TOKEN, url, form)}
            async with session.post(url, data=form, headers=headers) as answer:
                return web.json_response({"status": answer.status, "body": await answer.text()})
        status = {"id": message["id"], "status": wanted["status"], "timestamp": str(int(time.time())),
                  "recipient_id": message["to"].lstrip("+")}
        if wanted.get("error_code") is not None:
            status["errors"] = [{"code": wanted["error_code"], "title": "Message undeliverable"}]
        body = json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "WABA_ID", "changes": [
            {"field": "messages", "value": {"messaging_product": "whatsapp",
                                            "metadata": {"phone_number_id": PHONE_NUMBER_ID}, "statuses": [status]}}]}]}).encode()
        signature = "sha256=" + hmac.new((key or APP_SECRET).encode(), body, hashlib.sha256).hexdigest()
        headers = {"X-Hub-Signature-256": signature, "Content-Type": "application/json"}
        async with session.post(wanted["callback"], data=body, headers=headers) as answer:
            return web.json_response({"status": answer.status, "body": await answer.text()})


app = web.Application()
app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", twilio_message)
app.router.add_post("/{version}/{phone_number_id}/messages", whatsapp_message)
app.router.add_get("/_fake/messages", list_messages)
app.router.add_post("/_fake/fail", fail)
app.router.add_post("/_fake/report", report)
fake_dns.add_routes(app)
fake_webhooks.add_routes(app)

if __name__ == "__main__":
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)
