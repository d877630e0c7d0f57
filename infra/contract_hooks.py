"""schemathesis hooks for the contract run (infra/contract, schemathesis.toml).

Sets the scene when schemathesis loads it: signs up the owner the run acts as (sign-up, the link
from the email in the local SES, verification) and turns two-factor authentication on for it, as
every owner must for anything beyond their own profile (setup, enable with a code, refresh for
a token that passed 2FA), and makes sure the account of the document's login example exists
(without 2FA), so that example logs in as documented.

Every request then carries the owner's access token. Some operations need things only an email,
a fresh login or an authenticator app gives, so the first few calls of each phase get them from
pools made before the run (without them every call would be refused and schemathesis would
report missing test data or missing authentication):
- DELETE /auth/sessions/{session_id} signs up a fresh owner and ends that owner's just-started
  session with its own token. (The run's own owner is no use: the run soon locks its email out
  by fuzzing logins with it.)
- POST /auth/logout and /auth/logout-all end a session of an owner kept for them (a password
  login each time), never the run's owner's, whose token every other call carries.
- POST /auth/verify-email gets the token of a sign-up just started.
- POST /auth/2fa/setup, /auth/2fa/enable and /auth/2fa/disable get a fresh owner in the state
  the operation acts on (2FA off; a secret set up; 2FA on) and that owner's own code, made when
  the call is about to go (codes live 30 seconds; the run's own owner locks its codes out soon,
  as with logins).
- POST /auth/login/mfa gets the login token of a password login just made and the owner's code.
- Scheduling operations on one record get records of the owner's organisation in the state the
  operation acts on (a published shift with a free place, an assignment, a pending time off, a
  swap offered to the owner).
- Closing a pay period gets a Monday of a period long over (when the body is meant to be valid);
  reopening gets periods closed before the run; a stub's read gets a crew member's stub.
- Checking in and out get crew members of their own (the owner cannot be on every shift on now),
  each on a shift at the hall that started a minute ago: not checked in yet, checked in, or
  checked in with a vague position (waiting for review) for the review decision.
"""

import base64
import datetime
import hashlib
import hmac
import json
import os
import re
import struct
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import Counter

import boto3
import schemathesis

BASE = os.environ["ROTA_CONTRACT_BASE"]
SUPPLIED_PER_PHASE = 5


def post(path, body, token=None, method="POST", base=BASE):
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{base}{path}", data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def card():
    """A card as Stripe.js hands it to a frontend: a payment method made at the local provider."""
    form = {"type": "card", "card[number]": "4242424242424242", "card[exp_month]": "12", "card[exp_year]": "2030", "card[cvc]": "123"}
    headers = {"authorization": f"Bearer {os.environ['ROTA_STRIPE_SECRET_KEY']}"}
    url = f"{os.environ['ROTA_STRIPE_API']}/v1/payment_methods"
    request = urllib.request.Request(url, data=urllib.parse.urlencode(form).encode(), headers=headers, method="POST")
    with urllib.request.urlopen(request) as response:
        return json.load(response)["id"]


def totp(secret, at=None):
    """The RFC 6238 code (HMAC-SHA1, 30 s, 6 digits) of a base32 secret for the step of `at` (or a step number)."""
    step = int(time.time()) // 30 if at is None else at
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


def next_code(secret, used_step):
    """A code the server takes now: of the current step, or of the next one while the current one is used."""
    return totp(secret, max(int(time.time()) // 30, used_step + 1))


assert totp("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", 59 // 30) == "287082", "RFC 6238's first SHA1 vector"


def link_token(email, path="/verify-email"):
    """The token of the newest `{path}` link mailed to `email`. Mail goes through the notifier
    queue, which the dev server drains as it arrives: ask again until it is there (bounded)."""
    query = urllib.parse.urlencode({"to": email})
    for _ in range(100):
        with urllib.request.urlopen(f"{os.environ['AWS_ENDPOINT_URL']}/rota/mail?{query}") as response:
            bodies = [message["body"] for message in json.load(response)]
        found = [re.search(re.escape(path) + r"\?token=([A-Za-z0-9_.-]+)", body) for body in bodies]
        found = [match.group(1) for match in found if match]
        if found:
            return found[-1]
        time.sleep(0.05)
    raise RuntimeError(f"no sign-up link reached {email}")


def start_signup(body):
    """Signs up; the token of the emailed link."""
    status, _ = post("/auth/signup", body)
    assert status == 202, f"sign-up answered {status}"
    return link_token(body["email"].lower())


def signup(body):
    """Signs up and follows the emailed link: the new owner's tokens (None if the email is taken)."""
    status, created = post("/auth/verify-email", {"token": start_signup(body)})
    return created["tokens"] if status == 201 else None


def new_signup():
    return {
        "organisation_name": "Contract",
        "name": "Casey Contract",
        "email": f"contract-{uuid.uuid4().hex}@example.com",
        "password": "contract run owner",
    }


def fresh_owner():
    return signup(new_signup())


def set_up(tokens):
    """POST /auth/2fa/setup for an owner: the secret waiting for its first code."""
    status, setup = post("/auth/2fa/setup", None, tokens["access_token"])
    assert status == 200, f"2FA setup answered {status}"
    return setup["secret"]


def owner_with_2fa():
    """A fresh owner with 2FA on, logged in (the refresh after enabling passed 2FA too)."""
    body = new_signup()
    tokens = signup(body)
    secret = set_up(tokens)
    step = int(time.time()) // 30
    status, _ = post("/auth/2fa/enable", {"code": totp(secret, step)}, tokens["access_token"])
    assert status == 200, f"2FA enable answered {status}"
    status, tokens = post("/auth/refresh", {"refresh_token": tokens["refresh_token"]})
    assert status == 200, f"refresh answered {status}"
    return {"body": body, "tokens": tokens, "secret": secret, "used_step": step}


def waiting_login():
    """A fresh owner with 2FA on whose password login waits for the code: its login token."""
    owner = owner_with_2fa()
    status, waiting = post("/auth/login", {"email": owner["body"]["email"], "password": owner["body"]["password"]})
    assert status == 200 and waiting.get("mfa_required"), f"login answered {status}: {waiting}"
    return {**owner, "mfa_token": waiting["mfa_token"]}


def fresh_invitation_allowance():
    """Forgets the owner's organisation's invitations this hour (its rate-limit counter, straight
    in the local table, as the cargo tests do for check-ins): the run invites far more than a
    real organisation's 100 an hour, and the limit has its own test (tests/invitations.rs)."""
    counter = {"pk": {"S": f"RL#invite-tenant#{OWNER_TENANT}"}, "sk": {"S": "RL"}}
    DYNAMODB.delete_item(TableName=os.environ["ROTA_TABLE"], Key=counter)


def invited_person(**fields):
    """A person the contract owner invited just now (with `fields`): their id and the token of
    their link."""
    fresh_invitation_allowance()
    email = f"invited-{uuid.uuid4().hex}@example.com"
    status, person = post("/people", {"email": email, "name": "Ivy Invited", "role": "staff", **fields}, owner_token())
    assert status == 201, f"inviting answered {status}: {person}"
    return {"id": person["id"], "token": link_token(email, "/accept-invitation")}


def reset_token():
    """A fresh owner who asked for a password reset: the token of the emailed link."""
    body = new_signup()
    signup(body)
    status, _ = post("/auth/forgot-password", {"email": body["email"]})
    assert status == 202, f"forgot-password answered {status}"
    return link_token(body["email"], "/reset-password")


def claims(access_token):
    """What an access token says: `tenant_id`, `sub` (the person)."""
    return json.loads(base64.urlsafe_b64decode(access_token.split(".")[1] + "=="))


def someone(tokens):
    """The organisation and person of a signed-in owner, as a platform admin names them."""
    said = claims(tokens["access_token"])
    return said["tenant_id"], said["sub"]


def new_tenant_id():
    """A fresh organisation's id."""
    status, created = post("/auth/verify-email", {"token": start_signup(new_signup())})
    assert status == 201, f"verify-email answered {status}"
    return created["tenant"]["id"]


def platform_admin_token():
    """The platform admin the ops command invited (infra/contract), with 2FA on."""
    token = os.environ["ROTA_CONTRACT_PLATFORM_LINK"].split("token=")[1]
    body = {"token": token, "password": "contract platform admin", "token_delivery": "body"}
    status, accepted = post("/auth/invitations/accept", body)
    assert status == 201, f"accepting the platform admin's invitation answered {status}: {accepted}"
    tokens = accepted["tokens"]
    secret = set_up(tokens)
    status, _ = post("/auth/2fa/enable", {"code": totp(secret, int(time.time()) // 30)}, tokens["access_token"])
    assert status == 200, f"2FA enable answered {status}"
    status, tokens = post("/auth/refresh", {"refresh_token": tokens["refresh_token"]})
    assert status == 200, f"refresh answered {status}"
    return tokens["access_token"]


def pending_setup():
    """A fresh owner without 2FA, with a secret set up and waiting for its first code."""
    tokens = fresh_owner()
    return {"tokens": tokens, "secret": set_up(tokens), "used_step": -1}


with urllib.request.urlopen(f"{BASE}/openapi.json") as response:
    signup(json.load(response)["components"]["schemas"]["SignupRequest"]["example"])
OWNER = {**owner_with_2fa(), "at": time.time()}
OWNER_LOCK = threading.Lock()


# The owner whose sessions the logouts end.
LEAVER = new_signup()
signup(LEAVER)


def leaving_session():
    """A new session of the owner kept for logging out: its access token."""
    status, tokens = post("/auth/login", {"email": LEAVER["email"], "password": LEAVER["password"]})
    assert status == 200 and "access_token" in tokens, f"the leaver's login answered {status}"
    return tokens["access_token"]


def owner_token(owner=None):
    """An owner's access token (the run's owner's by default), refreshed before its 15 minutes
    run out: a run on a busy machine outlasts them."""
    owner = owner or OWNER
    with OWNER_LOCK:
        if time.time() - owner["at"] > 10 * 60:
            status, tokens = post("/auth/refresh", {"refresh_token": owner["tokens"]["refresh_token"]})
            if status != 200:
                # An operation of the run ended the owner's sessions: log in again, with a code.
                tokens = log_in_again(owner)
            if tokens:
                owner.update(tokens=tokens, at=time.time())
        return owner["tokens"]["access_token"]


def log_in_again(owner):
    """A new token pair for an owner with 2FA on (password, then a code), or None."""
    body = owner["body"]
    status, waiting = post("/auth/login", {"email": body["email"], "password": body["password"]})
    if status != 200 or not waiting.get("mfa_token"):
        return None
    step = max(int(time.time()) // 30, owner["used_step"] + 1)
    status, tokens = post("/auth/login/mfa", {"mfa_token": waiting["mfa_token"], "code": totp(owner["secret"], step)})
    if status != 200:
        return None
    owner["used_step"] = step
    return tokens


OWNER_TENANT = claims(owner_token())["tenant_id"]
DYNAMODB = boto3.client("dynamodb", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
PLATFORM_TOKEN = platform_admin_token()
# The run's people are invited by mail and offered shifts by mail, more than a trial's credits
# pay for: a link that never comes would stop the run.
status, _ = post(f"/admin/tenants/{OWNER_TENANT}/credits", {"amount": 100000}, PLATFORM_TOKEN)
assert status == 200, f"granting the run's credits answered {status}"


def created_id(path, body):
    status, created = post(path, body, owner_token())
    assert status == 201, f"POST {path} answered {status}: {created}"
    return created["id"]


# Records of the owner's organisation that valid bodies naming a unit or positions get.
ORG_UNIT = created_id("/units", {"name": "Contract unit"})
ORG_POSITION = created_id("/positions", {"name": "Contract position"})
ORG_LOCATION = created_id(
    "/locations", {"name": "Contract hall", "lat": 51.5, "lng": -0.12, "radius_m": 100, "time_zone": "Europe/London"}
)
ORG_EVENT = created_id("/events", {"title": "Contract fair", "starts_on": "2031-01-01", "ends_on": "2031-12-31"})
# The owner holds the position too, so they can claim places (POST /shifts/{shift_id}/claim).
with urllib.request.urlopen(urllib.request.Request(f"{BASE}/me", headers={"authorization": f"Bearer {owner_token()}"})) as response:
    OWNER_ID = json.load(response)["id"]
_hold = urllib.request.Request(
    f"{BASE}/people/{OWNER_ID}",
    data=json.dumps({"position_ids": [ORG_POSITION]}).encode(),
    headers={"content-type": "application/json", "authorization": f"Bearer {owner_token()}"},
    method="PATCH",
)
with urllib.request.urlopen(_hold) as response:
    assert response.status == 200, f"giving the owner the position answered {response.status}"
# Another owner sets their availability: the run's own owner claims places and takes swaps, which
# generated availability would rule out (`outside_availability`).
AVAILABILITY_TOKEN = fresh_owner()["access_token"]

# SCIM: the run's organisation's token, and a person its identity provider provisioned, whom the
# user operations act on. Making and removing a token is done by an owner of another organisation,
# so the run's token stays valid.
SCIM_TOKEN = post("/tenant/scim/token", None, owner_token())[1]["token"]
SCIM_EMAIL = f"scim-{uuid.uuid4().hex}@example.com"
SCIM_USER = post("/scim/v2/Users", {"userName": SCIM_EMAIL}, SCIM_TOKEN)[1]["id"]
SCIM_OWNER = {**owner_with_2fa(), "at": time.time()}
# A permission set of the organisation's, which changes to sets act on.
PERMISSION_SET = created_id("/permission-sets", {"name": "Contract clerk", "permissions": ["payroll.read"]})
# Records the hooks give valid bodies: kept from deletion (see ContractAuth.get).
KEPT = {ORG_UNIT, ORG_POSITION, ORG_LOCATION, ORG_EVENT}
shifts_made = Counter()


def crew():
    """A staff member of the organisation who holds its position: their id."""
    fresh_invitation_allowance()
    body = {"email": f"crew-{uuid.uuid4().hex}@example.com", "name": "Casey Crew", "role": "staff",
            "position_ids": [ORG_POSITION]}
    return created_id("/people", body)


def published_shift():
    """A published shift with places for two, two days after the last one made (2031 on): one
    person can claim every one of them without working days in a row or a long week."""
    shifts_made["day"] += 2
    start = datetime.datetime(2031, 1, 1, 9, tzinfo=datetime.timezone.utc) + datetime.timedelta(days=shifts_made["day"])
    body = {"location_id": ORG_LOCATION, "position_id": ORG_POSITION, "headcount": 2,
            "start": start.isoformat(), "end": (start + datetime.timedelta(hours=8)).isoformat()}
    shift_id = created_id("/shifts", body)
    status, _ = post(f"/shifts/{shift_id}/publish", None, owner_token())
    assert status == 200, f"publishing answered {status}"
    return shift_id


def assignment():
    """A staff member assigned to a shift of their own: the assignment's id."""
    status, assigned = post(f"/shifts/{published_shift()}/assignments", {"person_ids": [crew()]}, owner_token())
    assert status == 201, f"assigning answered {status}: {assigned}"
    return assigned["assignments"][0]["id"]


def time_off():
    """The owner's own time off (in 2032, clear of every shift), waiting for a decision: its id."""
    return created_id("/requests", {"kind": "time_off", "from": "2032-03-01", "to": "2032-03-02"})


def swap_to_owner():
    """A swap of a crew member's assignment the owner arranged and offered to the owner (who is
    free that day): its id."""
    return created_id("/requests", {"kind": "swap", "assignment_id": assignment(), "to_person_id": OWNER_ID})


def calendar_token():
    """The secret of a fresh owner's calendar feed (the run's own owner revokes theirs now and then)."""
    token = fresh_owner()["access_token"]
    with urllib.request.urlopen(
        urllib.request.Request(f"{BASE}/me/calendar-url", headers={"authorization": f"Bearer {token}"})
    ) as response:
        return json.load(response)["url"].split("/calendar/")[1]


def on_shift_now(checked_in=False, accuracy_m=10.0):
    """A crew member logged in (their invitation accepted) and placed on a shift at the hall
    that started a minute ago, their acceptance recorded by the owner; checked in already when
    asked (with `accuracy_m`: one coarser than the geofence sends the record to review). Their
    token, the shift and the attendance record's id."""
    person = invited_person(position_ids=[ORG_POSITION])
    status, accepted = post("/auth/invitations/accept", {"token": person["token"], "password": "contract crew pass",
                                                          "token_delivery": "body"})
    assert status == 201, f"accepting the crew invitation answered {status}: {accepted}"
    now = datetime.datetime.now(datetime.timezone.utc)
    body = {"location_id": ORG_LOCATION, "position_id": ORG_POSITION, "headcount": 1,
            "start": (now - datetime.timedelta(minutes=1)).isoformat(), "end": (now + datetime.timedelta(hours=4)).isoformat()}
    shift_id = created_id("/shifts", body)
    assert post(f"/shifts/{shift_id}/publish", None, owner_token())[0] == 200
    status, assigned = post(f"/shifts/{shift_id}/assignments", {"person_ids": [person["id"]], "force": True}, owner_token())
    assert status == 201, f"assigning answered {status}: {assigned}"
    attendance_id = assigned["assignments"][0]["id"]
    assert post(f"/assignments/{attendance_id}/status", {"status": "accepted"}, owner_token())[0] == 200
    token = accepted["tokens"]["access_token"]
    if checked_in:
        status, checked = post("/attendance/check-in", at_hall(shift_id, accuracy_m), token)
        assert status == 201, f"checking in answered {status}: {checked}"
    return {"token": token, "shift_id": shift_id, "attendance_id": attendance_id}


def at_hall(shift_id, accuracy_m=10.0):
    """A check-in or check-out at the organisation's hall."""
    return {"shift_id": shift_id, "lat": 51.5, "lng": -0.12, "accuracy_m": accuracy_m}


def past_mondays(first):
    """Mondays from `first` (a Monday) on, one per call: pay periods nobody closed yet."""
    monday = datetime.date.fromisoformat(first)
    while True:
        yield monday.isoformat()
        monday += datetime.timedelta(days=7)


# Periods valid close requests get (weekly, from 2011), and periods closed before the run (2000s):
# dates are accepted in the years 2000 to 2100.
OPEN_PERIODS = past_mondays("2011-01-03")
CLOSED_PERIODS = past_mondays("2000-01-03")


def closed_period():
    """A pay period of the owner's organisation closed just now: its first day."""
    start = next(CLOSED_PERIODS)
    status, closed = post(f"/pay-periods/{start}/close", None, owner_token())
    assert status == 201, f"closing {start} answered {status}: {closed}"
    return start


def stored_invoice():
    """An invoice of the owner's organisation, stored as the nightly invoice job stores one (no
    operation makes one on demand), outside the year's numbering."""
    invoice_id = f"RT-CONTRACT-{uuid.uuid4().hex[:12]}"
    text = lambda value: {"S": value}
    number = lambda value: {"N": str(value)}
    line = {"M": {"description": text("Contract plan"), "payment_id": text("in_contract"), "amount_minor": number(1200)}}
    party = lambda name: {"M": {"name": text(name), "address_lines": {"L": [text("1 Contract Street")]},
                                "postcode": text("EC1A 1AA"), "city": text("London"), "country": text("GB")}}
    DYNAMODB.put_item(TableName=os.environ["ROTA_TABLE"], Item={
        "pk": text(f"T#{OWNER_TENANT}"), "sk": text(f"INVOICE#{invoice_id}"), "id": text(invoice_id),
        "tenant_id": text(OWNER_TENANT), "seller": party("Rota"), "buyer": party("Contract organisation"),
        "period_start": text("2027-01-01T00:00:00Z"), "period_end": text("2027-02-01T00:00:00Z"),
        "issued_at": text("2027-02-01T02:00:00Z"), "currency": text("EUR"), "lines": {"L": [line]},
        "tax_rate_bp": number(2000), "net_minor": number(1000), "tax_minor": number(200), "total_minor": number(1200),
    })
    return invoice_id


def pay_stub():
    """A crew member's pay stub: a morning of 2010 worked and its week closed (a week no other
    closing takes)."""
    crew_member = invited_person(position_ids=[ORG_POSITION])
    body = {"location_id": ORG_LOCATION, "position_id": ORG_POSITION, "headcount": 1,
            "start": "2010-01-05T08:00:00+00:00", "end": "2010-01-05T12:00:00+00:00"}
    shift_id = created_id("/shifts", body)
    assert post(f"/shifts/{shift_id}/publish", None, owner_token())[0] == 200
    status, assigned = post(f"/shifts/{shift_id}/assignments", {"person_ids": [crew_member["id"]], "force": True}, owner_token())
    assert status == 201, f"assigning answered {status}: {assigned}"
    record = assigned["assignments"][0]["id"]
    assert post(f"/assignments/{record}/status", {"status": "accepted"}, owner_token())[0] == 200
    worked = {"check_in_at": body["start"], "check_out_at": body["end"], "reason": "Timesheet"}
    assert post(f"/attendance/{record}/override", worked, owner_token())[0] == 200
    status, closed = post("/pay-periods/2010-01-04/close", None, owner_token())
    assert status == 201, f"closing 2010-01-04 answered {status}: {closed}"
    return closed["stubs"][0]["id"]


def acceptable(path, body):
    """A schema-valid scheduling body made acceptable across fields, which no schema states: the
    organisation's own location, position and event, an end after the start (8 h on), a week's
    range of dates, an event that ends on or after its first day, time off of three days, a
    change without a (stale) version."""
    body = {**body}
    for field, value in (("location_id", ORG_LOCATION), ("position_id", ORG_POSITION), ("event_id", ORG_EVENT), ("supervisor_id", OWNER_ID)):
        if body.get(field):
            body[field] = value
    try:
        if path == "/shifts":
            start = datetime.datetime.fromisoformat(body["start"])
            body["end"] = (start + datetime.timedelta(hours=8)).isoformat()
            body["break_minutes"] = min(body.get("break_minutes", 0), 60)
        elif path == "/shifts/recurring":
            first = datetime.date.fromisoformat(body["from"])
            body["to"] = (first + datetime.timedelta(days=6)).isoformat()
            body["break_minutes"] = 0
            if body["start_local"] == body["end_local"]:
                body["end_local"] = "06:00" if body["start_local"] != "06:00" else "07:00"
        elif path == "/events":
            body["ends_on"] = body["starts_on"]
        elif path == "/auto-fill":
            # A day of the organisation's, its own records, and a short search (the contract
            # server's worker solves every job the run asks for).
            body["to"] = body["from"]
            body["time_limit_ms"] = 100
            for field, value in (("location_ids", ORG_LOCATION), ("position_ids", ORG_POSITION)):
                if body.get(field):
                    body[field] = [value]
        elif path == "/attendance/exports":
            first = datetime.date.fromisoformat(body["from"])
            body["to"] = (first + datetime.timedelta(days=6)).isoformat()
            if body.get("person_id"):
                body["person_id"] = OWNER_ID
        elif path == "/requests" and body.get("kind") == "time_off":
            first = datetime.date.fromisoformat(body["from"])
            body["to"] = (first + datetime.timedelta(days=2)).isoformat()
        elif path in ("/shifts/{shift_id}", "/events/{event_id}"):
            # A change of one end alone may cross the stored other end: change both or neither.
            first, last = ("start", "end") if path.startswith("/shifts") else ("starts_on", "ends_on")
            if first in body and last in body:
                if path.startswith("/shifts"):
                    start = datetime.datetime.fromisoformat(body["start"])
                    body["end"] = (start + datetime.timedelta(hours=8)).isoformat()
                else:
                    body["ends_on"] = body["starts_on"]
            else:
                body.pop(first, None)
                body.pop(last, None)
            if "break_minutes" in body:
                body["break_minutes"] = min(body["break_minutes"], 60)
            # A generated `version` is all but always stale (409 says only that); new times are
            # judged again for the people on the shift, whose warnings `force` lets pass.
            body.pop("version", None)
            if path.startswith("/shifts"):
                body["force"] = True
    except (KeyError, TypeError, ValueError, OverflowError):
        pass  # a body this cannot read is left as generated
    return body

# The platform admin's operations on one organisation, each supplied real ones.
ON_A_TENANT = ("suspend", "activate", "credits")
# The operations on one request that a pending time off of the owner's suits.
DECIDING = (("GET", ""), ("POST", "/approve"), ("POST", "/reject"), ("POST", "/cancel"))
# Made before the run, so no hook does network work while schemathesis generates data.
PHASES = ("examples", "coverage", "fuzzing", "stateful")
SUPPLIED = SUPPLIED_PER_PHASE * len(PHASES)
# A default plan with a trial: the owners signed up from here on have a subscription to cancel.
TRIAL_PLAN = {"name": "Contract trial", "price_minor": 0, "currency": "EUR", "interval": "month", "trial_days": 30, "default": True}
status, trial_plan = post("/admin/plans", TRIAL_PLAN, PLATFORM_TOKEN)
assert status == 201, f"making the default plan answered {status}"
# Two credit packs: one bought, one changed (perhaps retired) by the run.
PACK = {"name": "Contract pack", "credits": 100, "price_minor": 500, "currency": "EUR"}
(status, pack), (changed_status, changed_pack) = post("/admin/credit-packs", PACK, PLATFORM_TOKEN), post("/admin/credit-packs", PACK, PLATFORM_TOKEN)
assert status == changed_status == 201, f"making the credit packs answered {status}, {changed_status}"
def auto_fill_job():
    """An auto-fill job of a week of the owner's, which the contract server's worker solves."""
    body = {"from": "2031-02-03", "to": "2031-02-09", "time_limit_ms": 100}
    status, job = post("/auto-fill", body, owner_token())
    assert status == 202, f"POST /auto-fill answered {status}: {job}"
    return job["job_id"]


pools = {
    # Jobs read, and applied (each once; a second apply, or one before the job is done, is 409).
    "GET /auto-fill/{job_id}": [auto_fill_job()] * SUPPLIED,
    "POST /auto-fill/{job_id}/apply": [auto_fill_job() for _ in range(SUPPLIED)],
    # Free, so the run's owner subscribes to it without a card.
    "POST /billing/subscription": [trial_plan["id"]] * SUPPLIED,
    # A pack on sale, paid with a good card.
    "POST /billing/credits": [(pack["id"], card()) for _ in range(SUPPLIED)],
    "PATCH /admin/credit-packs/{pack_id}": [changed_pack["id"]] * SUPPLIED,
    "DELETE /billing/subscription": [owner_with_2fa() for _ in range(SUPPLIED)],
    "DELETE /auth/sessions/{session_id}": [fresh_owner() for _ in range(SUPPLIED)],
    "POST /auth/verify-email": [start_signup(new_signup()) for _ in range(SUPPLIED)],
    "POST /auth/2fa/setup": [fresh_owner() for _ in range(SUPPLIED)],
    "POST /auth/2fa/enable": [pending_setup() for _ in range(SUPPLIED)],
    "POST /auth/2fa/disable": [owner_with_2fa() for _ in range(SUPPLIED)],
    "POST /auth/login/mfa": [waiting_login() for _ in range(SUPPLIED)],
    "POST /auth/invitations/accept": [invited_person()["token"] for _ in range(SUPPLIED)],
    "POST /auth/reset-password": [reset_token() for _ in range(SUPPLIED)],
    "DELETE /people/{person_id}": [invited_person()["id"] for _ in range(SUPPLIED)],
    "POST /people/{person_id}/invite": [invited_person()["id"] for _ in range(SUPPLIED)],
    "POST /people/{person_id}/feedback": [invited_person()["id"] for _ in range(SUPPLIED)],
    "GET /people/{person_id}/feedback": [invited_person()["id"] for _ in range(SUPPLIED)],
    "POST /people/{person_id}/photo": [invited_person()["id"] for _ in range(SUPPLIED)],
    "POST /shifts/{shift_id}/assignments": [(published_shift(), crew()) for _ in range(SUPPLIED)],
    "DELETE /assignments/{assignment_id}": [assignment() for _ in range(SUPPLIED)],
    "POST /assignments/{assignment_id}/reassign": [(assignment(), crew()) for _ in range(SUPPLIED)],
    "GET /calendar/{token}": [calendar_token() for _ in range(SUPPLIED)],
    "POST /shifts/{shift_id}/claim": [published_shift() for _ in range(SUPPLIED)],
    **{f"{operation} /requests/{{request_id}}{action}": [time_off() for _ in range(SUPPLIED)] for operation, action in DECIDING},
    "POST /requests/{request_id}/accept": [swap_to_owner() for _ in range(SUPPLIED)],
    **{f"POST /admin/tenants/{{tenant_id}}/{action}": [new_tenant_id() for _ in range(SUPPLIED)] for action in ON_A_TENANT},
    "PUT /admin/tenants/{tenant_id}/tax-rate": [new_tenant_id() for _ in range(SUPPLIED)],
    # People of fresh organisations: the run ends their sessions and resets their 2FA.
    "DELETE /admin/tenants/{tenant_id}/people/{person_id}/sessions": [someone(fresh_owner()) for _ in range(SUPPLIED)],
    "POST /admin/tenants/{tenant_id}/people/{person_id}/reset-2fa": [someone(owner_with_2fa()["tokens"]) for _ in range(SUPPLIED)],
    "POST /admin/platform/face-reviews/{tenant_id}/{attendance_id}": [on_shift_now(checked_in=True, accuracy_m=5000.0) for _ in range(SUPPLIED)],
    "POST /attendance/check-in": [on_shift_now() for _ in range(SUPPLIED)],
    "POST /attendance/check-out": [on_shift_now(checked_in=True) for _ in range(SUPPLIED)],
    "POST /admin/verify-face/{attendance_id}": [on_shift_now(checked_in=True, accuracy_m=5000.0) for _ in range(SUPPLIED)],
    "POST /pay-periods/{start}/reopen": [closed_period() for _ in range(SUPPLIED)],
    "GET /pay-stubs/{stub_id}": [pay_stub()] * SUPPLIED,
    "GET /billing/invoices/{invoice_id}": [stored_invoice()] * SUPPLIED,
    "GET /billing/invoices/{invoice_id}/pdf": [stored_invoice()] * SUPPLIED,
}
# Records that are only read (or corrected) are shared between the operations.
pools["POST /attendance/photo-url"] = list(pools["POST /attendance/check-in"])
pools["GET /attendance/{attendance_id}"] = list(pools["POST /attendance/check-out"])
pools["POST /attendance/{attendance_id}/override"] = list(pools["POST /attendance/check-out"])
pools["GET /pay-stubs/{stub_id}/pdf"] = list(pools["GET /pay-stubs/{stub_id}"])
pools["GET /admin/tenants/{tenant_id}/people/{person_id}/sessions"] = list(pools["DELETE /admin/tenants/{tenant_id}/people/{person_id}/sessions"])
# The organisation's event (its shifts are the ones the run makes): a real estimate to check.
pools["GET /events/{event_id}/cost-estimate"] = [ORG_EVENT] * SUPPLIED
pools["GET /events/{event_id}/dashboard"] = [ORG_EVENT] * SUPPLIED
# The organisation's location, where the run's check-ins put people on site.
pools["GET /locations/{location_id}/on-site"] = [ORG_LOCATION] * SUPPLIED
# Support tickets of the owner's: one the organisation side reads and answers, one the platform
# side reads, answers and moves on (perhaps closing it: then replies are refused, 409).
ORG_TICKET = created_id("/support/tickets", {"subject": "Contract question", "body": "Where is the rota?"})
PLATFORM_TICKET = created_id("/support/tickets", {"subject": "Contract platform", "body": "Over to you"})
ORG_TICKET_OPERATIONS = ("GET /support/tickets/{ticket_id}", "POST /support/tickets/{ticket_id}/messages")
PLATFORM_TICKET_OPERATIONS = tuple(
    f"{method} /admin/tenants/{{tenant_id}}/support/tickets/{{ticket_id}}{action}"
    for method, action in (("GET", ""), ("PATCH", ""), ("POST", "/messages"))
)
for operation in ORG_TICKET_OPERATIONS:
    pools[operation] = [ORG_TICKET] * SUPPLIED
for operation in PLATFORM_TICKET_OPERATIONS:
    pools[operation] = [PLATFORM_TICKET] * SUPPLIED

# The operator's CRM: a lead and a deal the run reads, logs on and changes (the deal perhaps to won
# or lost), and won deals to convert, each once (to the owner's organisation: then 409).
def crm_deal(won=False):
    body = {"title": "Contract deal", "contact_name": "Casey", "contact_email": f"deal-{uuid.uuid4().hex}@example.com",
            "organisation": "Contract", "value_minor": 1000, "currency": "EUR"}
    status, deal = post("/admin/crm/deals", body, PLATFORM_TOKEN)
    assert status == 201, f"opening a deal answered {status}: {deal}"
    if won:
        status, _ = post(f"/admin/crm/deals/{deal['id']}", {"stage": "won"}, PLATFORM_TOKEN, method="PATCH")
        assert status == 200, f"winning a deal answered {status}"
    return deal["id"]


status, crm_lead = post("/admin/crm/leads", {"name": "Contract lead", "email": f"lead-{uuid.uuid4().hex}@example.com"}, PLATFORM_TOKEN)
assert status == 201, f"entering a lead answered {status}"
CRM_LEAD, CRM_DEAL = crm_lead["id"], crm_deal()
# A platform admin's help with a person's account.
PERSON_OPERATIONS = tuple(
    f"{method} /admin/tenants/{{tenant_id}}/people/{{person_id}}{action}"
    for method, action in (("GET", "/sessions"), ("DELETE", "/sessions"), ("POST", "/reset-2fa"))
)
CRM_LEAD_OPERATIONS = tuple(f"{method} /admin/crm/leads/{{lead_id}}{action}" for method, action in (("GET", ""), ("PATCH", ""), ("POST", "/activities")))
CRM_DEAL_OPERATIONS = tuple(f"{method} /admin/crm/deals/{{deal_id}}{action}" for method, action in (("GET", ""), ("PATCH", ""), ("POST", "/activities")))
for operation in CRM_LEAD_OPERATIONS:
    pools[operation] = [CRM_LEAD] * SUPPLIED
for operation in CRM_DEAL_OPERATIONS:
    pools[operation] = [CRM_DEAL] * SUPPLIED
pools["POST /admin/crm/deals/{deal_id}/convert"] = [crm_deal(won=True) for _ in range(SUPPLIED)]

# Webhook endpoints of the owner's at the local receiver: one the run reads, changes (perhaps
# disabling it: then pings are 409), pings and rotates; fresh ones for the deletes.
def receiver_url():
    return f"{os.environ['ROTA_SMS_API']}/hooks/contract-{uuid.uuid4().hex}"


def webhook_endpoint():
    return created_id("/webhooks/endpoints", {"url": receiver_url()})


WEBHOOK_ENDPOINT = webhook_endpoint()
WEBHOOK_OPERATIONS = tuple(
    f"{method} /webhooks/endpoints/{{endpoint_id}}{action}"
    for method, action in (("GET", ""), ("PATCH", ""), ("POST", "/rotate-secret"), ("POST", "/ping"), ("GET", "/deliveries"))
)
for operation in WEBHOOK_OPERATIONS:
    pools[operation] = [WEBHOOK_ENDPOINT] * SUPPLIED
# An organisation has at most 10 endpoints: the shared one and six to delete leave the run room.
pools["DELETE /webhooks/endpoints/{endpoint_id}"] = [webhook_endpoint() for _ in range(6)]

supplied = Counter()


# Operations whose supplied values go into the body: only bodies meant to be valid get them, so a
# body meant to be refused is not made acceptable by a supplied code.
POSITIVE_ONLY = {
    "POST /auth/2fa/enable",
    "POST /auth/2fa/disable",
    "POST /auth/login/mfa",
    "POST /auth/invitations/accept",
    "POST /auth/reset-password",
}


def supply(case, operation):
    """A prepared value for this call, if it is one of the first few of its phase for `operation`."""
    phase = case.meta.phase.name.value if case.meta else None
    if f"{case.method.upper()} {case.path}" != operation or supplied[operation, phase] >= SUPPLIED_PER_PHASE:
        return None
    if operation in POSITIVE_ONLY and not (case.meta and case.meta.generation.mode.is_positive):
        return None
    supplied[operation, phase] += 1
    return pools[operation].pop() if pools[operation] else None


def with_code(case, owner, **fields):
    """The case's body with the owner's code (made now) and `fields`."""
    case.body = {**case.body, **fields, "code": next_code(owner["secret"], owner["used_step"])}


def uploaded_import():
    """A new people import with its file uploaded, ready to start (each start uses one up)."""
    file = b"name,email\nKim Contract,kim-" + uuid.uuid4().hex.encode() + b"@example.com\n"
    body = {"kind": "people", "format": "csv", "filename": "contract.csv", "content_length": len(file)}
    status, created = post("/imports", body, owner_token())
    assert status == 201, f"POST /imports answered {status}"
    headers = {name: value for name, value in created["headers"].items() if name != "host"}
    upload = urllib.request.Request(created["upload_url"], data=file, headers=headers, method="PUT")
    with urllib.request.urlopen(upload) as response:
        assert response.status == 200, f"the upload answered {response.status}"
    return created["import_id"]


def provable_domain():
    """A fresh domain the run's owner's provider names, its TXT record published in the local
    stack's DNS (infra/fake_dns.py): proving it succeeds."""
    domain = f"contract-{uuid.uuid4().hex[:12]}.example"
    provider = {"kind": "google", "issuer": "https://accounts.google.com",
                "client_id": "contract.apps.googleusercontent.com", "allowed_domains": [domain]}
    status, settings = post("/tenant/sso", {"providers": [provider]}, owner_token(), method="PUT")
    if status == 200:
        record = {"txt": [settings["domain_verification"]]}
        post(f"/_fake/dns/_rota-challenge.{domain}", record, method="PUT", base=os.environ["ROTA_DNS_API"])
    return domain


def scim_case(case, positive):
    """A SCIM call as the organisation's identity provider makes it: with its token, on the
    person it provisioned, with a valid body where one is meant to be valid."""
    if positive and "user_id" in (case.path_parameters or {}):
        case.path_parameters = {**case.path_parameters, "user_id": SCIM_USER}
    if positive and isinstance(case.body, dict) and case.method.upper() in ("POST", "PUT"):
        # An address of its own for a new person; the provisioned person's own (it cannot change).
        email = f"scim-{uuid.uuid4().hex}@example.com" if case.method.upper() == "POST" else SCIM_EMAIL
        case.body = {**case.body, "userName": email}
        case.body.pop("emails", None)
    if positive and case.method.upper() == "GET" and isinstance(case.query, dict) and "filter" in case.query:
        case.query = {**case.query, "filter": f'userName eq "{SCIM_EMAIL}"'}
    return SCIM_TOKEN


@schemathesis.auth(refresh_interval=None)
class ContractAuth:
    def get(self, case, context):
        positive = case.meta and case.meta.generation.mode.is_positive
        if case.path.startswith("/scim/"):
            return scim_case(case, positive)
        if case.path == "/tenant/scim/token":
            return owner_token(SCIM_OWNER)
        if case.method.upper() == "POST" and case.path in ("/auth/logout", "/auth/logout-all"):
            return leaving_session()
        if positive and case.method.upper() == "POST" and case.path == "/imports/{import_id}/start":
            case.path_parameters = {**(case.path_parameters or {}), "import_id": uploaded_import()}
        if tokens := supply(case, "DELETE /auth/sessions/{session_id}"):
            case.path_parameters = {**(case.path_parameters or {}), "session_id": tokens["session_id"]}
            return tokens["access_token"]
        if tokens := supply(case, "POST /auth/2fa/setup"):
            return tokens["access_token"]
        if owner := supply(case, "DELETE /billing/subscription"):
            return owner["tokens"]["access_token"]
        if positive and (plan_id := supply(case, "POST /billing/subscription")):
            case.body = {"plan_id": plan_id}
        if positive and (purchase := supply(case, "POST /billing/credits")):
            pack_id, payment_method_id = purchase
            case.body = {"pack_id": pack_id, "payment_method_id": payment_method_id}
        if positive and case.method.upper() == "PATCH" and case.path == "/permission-sets/{set_id}":
            case.path_parameters = {**(case.path_parameters or {}), "set_id": PERMISSION_SET}
            if isinstance(case.body, dict):
                # A generated `version` is all but always stale (409 says only that).
                case.body.pop("version", None)
        if positive and case.method.upper() == "POST" and case.path == "/tenant/sso/domains/{domain}/verify":
            case.path_parameters = {**(case.path_parameters or {}), "domain": provable_domain()}
        if case.method.upper() == "POST" and case.path in ("/people", "/people/{person_id}/invite"):
            fresh_invitation_allowance()
        for operation in (
            "DELETE /people/{person_id}",
            "POST /people/{person_id}/invite",
            "POST /people/{person_id}/feedback",
            "GET /people/{person_id}/feedback",
            "POST /people/{person_id}/photo",
        ):
            if person_id := supply(case, operation):
                case.path_parameters = {**(case.path_parameters or {}), "person_id": person_id}
                if positive and case.query:
                    # A real person's list with a made-up cursor is refused for the cursor alone.
                    case.query = {name: value for name, value in case.query.items() if name != "cursor"}
        if case.method.upper() == "DELETE" and set((case.path_parameters or {}).values()) & KEPT:
            # The records valid bodies are given stay in use: deleting one is tried on an id
            # that names nothing (404) instead.
            case.path_parameters = {name: f"{value}X" if value in KEPT else value for name, value in case.path_parameters.items()}
        if supplied_shift := supply(case, "POST /shifts/{shift_id}/assignments"):
            shift_id, person_id = supplied_shift
            case.path_parameters = {**(case.path_parameters or {}), "shift_id": shift_id}
            if positive and isinstance(case.body, dict):
                case.body = {**case.body, "person_ids": [person_id]}
        if shift_id := supply(case, "POST /shifts/{shift_id}/claim"):
            case.path_parameters = {**(case.path_parameters or {}), "shift_id": shift_id}
        for operation in [f"{method} /requests/{{request_id}}{action}" for method, action in DECIDING] + [
            "POST /requests/{request_id}/accept"
        ]:
            if request_id := supply(case, operation):
                case.path_parameters = {**(case.path_parameters or {}), "request_id": request_id}
        if token := supply(case, "GET /calendar/{token}"):
            case.path_parameters = {**(case.path_parameters or {}), "token": token}
        if assignment_id := supply(case, "DELETE /assignments/{assignment_id}"):
            case.path_parameters = {**(case.path_parameters or {}), "assignment_id": assignment_id}
        if place := supply(case, "POST /assignments/{assignment_id}/reassign"):
            # A real place, moved to a crew member free to take it.
            assignment_id, person_id = place
            case.path_parameters = {**(case.path_parameters or {}), "assignment_id": assignment_id}
            if positive and isinstance(case.body, dict):
                case.body = {**case.body, "person_id": person_id}
        scheduling = ("/shifts", "/shifts/recurring", "/events", "/shifts/{shift_id}", "/events/{event_id}", "/requests", "/auto-fill")
        if positive and case.method.upper() in ("POST", "PATCH") and case.path in scheduling:
            if isinstance(case.body, dict):
                case.body = acceptable(case.path, case.body)
        if positive and case.method.upper() in ("POST", "PATCH") and case.path.startswith("/people") and isinstance(case.body, dict):
            # Ids of records that exist in the owner's organisation, where a body names some.
            if case.body.get("unit_id"):
                case.body = {**case.body, "unit_id": ORG_UNIT}
            if case.body.get("position_ids"):
                case.body = {**case.body, "position_ids": [ORG_POSITION]}
            if case.body.get("permission_set_id"):
                case.body = {**case.body, "permission_set_id": PERMISSION_SET}
        phones = ("/people", "/people/{person_id}", "/me", "/auth/otp/request", "/auth/otp/verify")
        if positive and case.path in phones and isinstance(case.body, dict) and isinstance(case.body.get("phone"), str):
            # A number that exists (libphonenumber's ranges per country, which no pattern states).
            case.body = {**case.body, "phone": "+44 7911 123456"}
        if positive and case.method.upper() == "POST" and case.path in ("/broadcasts", "/auto-fill"):
            # A new broadcast (or auto-fill) gets a new key, as a client makes one per request it
            # means (the generated keys repeat, and a key sent again with another body is refused,
            # 422).
            case.headers = {**(case.headers or {}), "Idempotency-Key": uuid.uuid4().hex}
        if case.path == "/availability/me":
            return AVAILABILITY_TOKEN
        for operation in ("POST /attendance/check-in", "POST /attendance/check-out", "POST /attendance/photo-url"):
            if crew_member := supply(case, operation):
                if positive and operation != "POST /attendance/photo-url":
                    # On site, without a photo (a generated key names no upload).
                    case.body = at_hall(crew_member["shift_id"])
                elif isinstance(case.body, dict):
                    case.body = {**case.body, "shift_id": crew_member["shift_id"]}
                return crew_member["token"]
        for operation in ("GET /attendance/{attendance_id}", "POST /attendance/{attendance_id}/override",
                          "POST /admin/verify-face/{attendance_id}"):
            if record := supply(case, operation):
                case.path_parameters = {**(case.path_parameters or {}), "attendance_id": record["attendance_id"]}
        if start := supply(case, "POST /pay-periods/{start}/reopen"):
            case.path_parameters = {**(case.path_parameters or {}), "start": start}
        if positive and case.method.upper() == "POST" and case.path == "/pay-periods/{start}/close":
            # A week start (the organisation's weeks start on Monday) of a period long over.
            case.path_parameters = {**(case.path_parameters or {}), "start": next(OPEN_PERIODS)}
        for operation in ("GET /auto-fill/{job_id}", "POST /auto-fill/{job_id}/apply"):
            if job_id := supply(case, operation):
                case.path_parameters = {**(case.path_parameters or {}), "job_id": job_id}
        for operation in ("GET /pay-stubs/{stub_id}", "GET /pay-stubs/{stub_id}/pdf"):
            if stub_id := supply(case, operation):
                case.path_parameters = {**(case.path_parameters or {}), "stub_id": stub_id}
        for operation in ("GET /billing/invoices/{invoice_id}", "GET /billing/invoices/{invoice_id}/pdf"):
            if invoice_id := supply(case, operation):
                case.path_parameters = {**(case.path_parameters or {}), "invoice_id": invoice_id}
        for operation in ("GET /events/{event_id}/cost-estimate", "GET /events/{event_id}/dashboard"):
            if event_id := supply(case, operation):
                case.path_parameters = {**(case.path_parameters or {}), "event_id": event_id}
        for operation in ORG_TICKET_OPERATIONS:
            if ticket_id := supply(case, operation):
                case.path_parameters = {**(case.path_parameters or {}), "ticket_id": ticket_id}
        for operation in (*WEBHOOK_OPERATIONS, "DELETE /webhooks/endpoints/{endpoint_id}"):
            if endpoint_id := supply(case, operation):
                case.path_parameters = {**(case.path_parameters or {}), "endpoint_id": endpoint_id}
        if positive and case.path.startswith("/webhooks/endpoints") and isinstance(case.body, dict):
            # Only the local receiver's loopback address is deliverable here (422 naming `url`
            # otherwise); a generated `version` is all but always stale.
            if "url" in case.body or (case.method.upper() == "POST" and case.path == "/webhooks/endpoints"):
                case.body["url"] = receiver_url()
            case.body.pop("version", None)
        if positive and case.path.startswith("/support/tickets") and isinstance(case.body, dict):
            # A generated file key is no upload of the caller's (422 naming `attachments`).
            case.body.pop("attachments", None)
        if location_id := supply(case, "GET /locations/{location_id}/on-site"):
            case.path_parameters = {**(case.path_parameters or {}), "location_id": location_id}
        if positive and case.method.upper() == "POST" and case.path in ("/events/{event_id}/quote", "/events/{event_id}/unlock"):
            # The owner's plan does not charge per event: its real event is quoted or unlocked
            # as often as asked, each time the same 409, changing nothing.
            case.path_parameters = {**(case.path_parameters or {}), "event_id": ORG_EVENT}
        if positive and case.path in ("/me/hours", "/reports/hours") and isinstance(case.query, dict):
            try:
                first = datetime.date.fromisoformat(case.query["from"])
                case.query = {**case.query, "to": (first + datetime.timedelta(days=6)).isoformat()}
            except (KeyError, TypeError, ValueError, OverflowError):
                pass
        if positive and case.method.upper() == "POST" and case.path == "/attendance/exports" and isinstance(case.body, dict):
            case.body = acceptable(case.path, case.body)
        if case.path.startswith(("/admin/tenants", "/admin/stats", "/admin/plans", "/admin/credit-packs", "/admin/revenue", "/admin/support", "/admin/crm", "/admin/platform")):
            for operation in CRM_LEAD_OPERATIONS:
                if lead_id := supply(case, operation):
                    case.path_parameters = {**(case.path_parameters or {}), "lead_id": lead_id}
            for operation in CRM_DEAL_OPERATIONS:
                if deal_id := supply(case, operation):
                    case.path_parameters = {**(case.path_parameters or {}), "deal_id": deal_id}
            if deal_id := supply(case, "POST /admin/crm/deals/{deal_id}/convert"):
                case.path_parameters = {**(case.path_parameters or {}), "deal_id": deal_id}
                if positive and isinstance(case.body, dict):
                    case.body = {**case.body, "organisation_id": OWNER_TENANT}
            if positive and case.path.startswith("/admin/crm/") and isinstance(case.body, dict):
                # A generated `version` is all but always stale (409 says only that).
                case.body.pop("version", None)
            if pack_id := supply(case, "PATCH /admin/credit-packs/{pack_id}"):
                case.path_parameters = {**(case.path_parameters or {}), "pack_id": pack_id}
                if positive and isinstance(case.body, dict):
                    # A generated `version` is all but always stale (409 says only that).
                    case.body.pop("version", None)
            for operation in PLATFORM_TICKET_OPERATIONS:
                if ticket_id := supply(case, operation):
                    case.path_parameters = {**(case.path_parameters or {}), "tenant_id": OWNER_TENANT, "ticket_id": ticket_id}
                    if positive and isinstance(case.body, dict):
                        # A generated `version` is all but always stale, an `assignee_id` no admin.
                        case.body.pop("version", None)
                        case.body.pop("assignee_id", None)
            on_a_tenant = [f"POST /admin/tenants/{{tenant_id}}/{action}" for action in ON_A_TENANT]
            for operation in [*on_a_tenant, "PUT /admin/tenants/{tenant_id}/tax-rate"]:
                if tenant_id := supply(case, operation):
                    case.path_parameters = {**(case.path_parameters or {}), "tenant_id": tenant_id}
            if positive and case.method.upper() == "GET" and case.path == "/admin/tenants/{tenant_id}":
                case.path_parameters = {**(case.path_parameters or {}), "tenant_id": OWNER_TENANT}
            for operation in PERSON_OPERATIONS:
                if person := supply(case, operation):
                    tenant_id, person_id = person
                    case.path_parameters = {**(case.path_parameters or {}), "tenant_id": tenant_id, "person_id": person_id}
            if record := supply(case, "POST /admin/platform/face-reviews/{tenant_id}/{attendance_id}"):
                case.path_parameters = {**(case.path_parameters or {}), "tenant_id": OWNER_TENANT, "attendance_id": record["attendance_id"]}
            return PLATFORM_TOKEN
        if isinstance(case.body, dict):
            if token := supply(case, "POST /auth/verify-email"):
                case.body = {**case.body, "token": token}
            elif token := supply(case, "POST /auth/invitations/accept"):
                case.body = {**case.body, "token": token}
            elif token := supply(case, "POST /auth/reset-password"):
                case.body = {**case.body, "token": token}
            elif owner := supply(case, "POST /auth/2fa/enable"):
                with_code(case, owner)
                return owner["tokens"]["access_token"]
            elif owner := supply(case, "POST /auth/2fa/disable"):
                with_code(case, owner)
                return owner["tokens"]["access_token"]
            elif owner := supply(case, "POST /auth/login/mfa"):
                with_code(case, owner, mfa_token=owner["mfa_token"])
        return owner_token()

    def set(self, case, token, context):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
