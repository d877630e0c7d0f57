"""schemathesis hooks for the contract run (infra/contract, schemathesis.toml).

Sets the scene when schemathesis loads it: signs up the owner the run acts as (sign-up, the link
from the email in the local SES, verification), and makes sure the account of the document's
login example exists, so that example logs in as documented.

Every request then carries the owner's access token. Two operations need things only an email
or a fresh login gives, so the first few calls of each phase get them from pools made before the
run (without them every call would 404 and schemathesis would report missing test data):
- DELETE /auth/sessions/{session_id} signs up a fresh owner and ends that owner's just-started
  session with its own token. (The run's own owner is no use: the run calls POST
  /auth/logout-all with its token, and soon locks its email out by fuzzing logins with it.)
- POST /auth/verify-email gets the token of a sign-up just started.
"""

import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import Counter

import schemathesis

BASE = os.environ["ROTA_CONTRACT_BASE"]
SUPPLIED_PER_PHASE = 5


def post(path, body):
    request = urllib.request.Request(
        f"{BASE}{path}", data=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def link_token(email):
    """The token of the newest sign-up link mailed to `email`, read from the local SES."""
    query = urllib.parse.urlencode({"to": email})
    with urllib.request.urlopen(f"{os.environ['AWS_ENDPOINT_URL']}/rota/mail?{query}") as response:
        bodies = [message["body"] for message in json.load(response)]
    return re.search(r"/verify-email\?token=(\S+)", bodies[-1]).group(1)


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


with urllib.request.urlopen(f"{BASE}/openapi.json") as response:
    signup(json.load(response)["components"]["schemas"]["SignupRequest"]["example"])
OWNER_TOKEN = fresh_owner()["access_token"]
# Made before the run, so no hook does network work while schemathesis generates data.
PHASES = ("examples", "coverage", "fuzzing", "stateful")
pools = {
    "DELETE /auth/sessions/{session_id}": [fresh_owner() for _ in range(SUPPLIED_PER_PHASE * len(PHASES))],
    "POST /auth/verify-email": [start_signup(new_signup()) for _ in range(SUPPLIED_PER_PHASE * len(PHASES))],
}
supplied = Counter()


def supply(case, operation):
    """A prepared value for this call, if it is one of the first few of its phase for `operation`."""
    phase = case.meta.phase.name.value if case.meta else None
    if f"{case.method.upper()} {case.path}" != operation or supplied[operation, phase] >= SUPPLIED_PER_PHASE:
        return None
    supplied[operation, phase] += 1
    return pools[operation].pop() if pools[operation] else None


@schemathesis.auth(refresh_interval=None)
class ContractAuth:
    def get(self, case, context):
        if tokens := supply(case, "DELETE /auth/sessions/{session_id}"):
            case.path_parameters = {**(case.path_parameters or {}), "session_id": tokens["session_id"]}
            return tokens["access_token"]
        if isinstance(case.body, dict) and (token := supply(case, "POST /auth/verify-email")):
            case.body = {**case.body, "token": token}
        return OWNER_TOKEN

    def set(self, case, token, context):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
