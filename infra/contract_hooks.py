"""schemathesis hooks for the contract run (infra/contract, schemathesis.toml): how requests
are authenticated.

Every request carries the contract owner's access token, except the first few calls of each
phase to DELETE /auth/sessions/{session_id}: those sign up a fresh owner and end that owner's
just-started session with its own token. (The contract owner's sessions are no use: the run calls
POST /auth/logout-all with its token, and soon locks its email out by fuzzing logins with it.)
Without them every call would 404 and schemathesis would report missing test data.
"""

import json
import os
import urllib.request
import uuid
from collections import Counter

import schemathesis

FRESH_SESSIONS_PER_PHASE = 5
fresh_sessions = Counter()


def signup():
    body = {
        "organisation_name": "Contract",
        "name": "Sam Session",
        "email": f"contract-{uuid.uuid4().hex}@example.com",
        "password": "contract run session",
    }
    request = urllib.request.Request(
        f"{os.environ['ROTA_CONTRACT_BASE']}/auth/signup",
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        return json.load(response)["tokens"]


@schemathesis.auth(refresh_interval=None)
class ContractAuth:
    def get(self, case, context):
        phase = case.meta.phase.name.value if case.meta else None
        if (
            case.method.upper() == "DELETE"
            and case.path == "/auth/sessions/{session_id}"
            and fresh_sessions[phase] < FRESH_SESSIONS_PER_PHASE
        ):
            fresh_sessions[phase] += 1
            tokens = signup()
            case.path_parameters = {**(case.path_parameters or {}), "session_id": tokens["session_id"]}
            return tokens["access_token"]
        return os.environ["ROTA_CONTRACT_TOKEN"]

    def set(self, case, token, context):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
