#!/usr/bin/env python3
"""Print the JWKS (ROTA_JWT_PUBLIC_KEYS / the JwtPublicKeys parameter) of Ed25519 keys.

usage: infra/jwks.py KID=KEY.pem [KID=KEY.pem ...]

Each KEY.pem is an Ed25519 private key (`openssl genpkey -algorithm ed25519`) or its public key
(`openssl pkey -pubout`); only the public part is printed. List every key a valid token may be
signed with: the current one, and during a rotation the next (or the previous) one too.
Needs only python3 and openssl. Output is one line of compact JSON, without spaces.
"""

import base64
import json
import subprocess
import sys

# An Ed25519 SubjectPublicKeyInfo in DER is this 12-byte header followed by the 32-byte key.
SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")


def public_key(path):
    with open(path, "rb") as pem:
        is_public = b"PUBLIC KEY" in pem.read()
    command = ["openssl", "pkey", "-in", path, "-pubout", "-outform", "DER"]
    if is_public:
        command.insert(2, "-pubin")
    der = subprocess.run(command, check=True, capture_output=True).stdout
    if len(der) != 44 or not der.startswith(SPKI_PREFIX):
        raise SystemExit(f"{path} is not an Ed25519 key")
    return base64.urlsafe_b64encode(der[12:]).rstrip(b"=").decode()


def main(args):
    if not args or any("=" not in arg for arg in args):
        raise SystemExit(__doc__.strip())
    keys = []
    for arg in args:
        kid, path = arg.split("=", 1)
        keys.append({"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": kid, "x": public_key(path)})
    if len({key["kid"] for key in keys}) != len(keys):
        raise SystemExit("each kid may appear once")
    print(json.dumps({"keys": keys}, separators=(",", ":")))


if __name__ == "__main__":
    main(sys.argv[1:])
