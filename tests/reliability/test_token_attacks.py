"""RFC 8725's attacks on bearer tokens, against every operation of the spec that needs one.

The service is configured as production would be: an issuer, an audience and 30 s of leeway.
Every forged, stale, incomplete or confused token gets 401 problem+json from every operation,
and nothing is stored. The operations come from openapi.yaml, so a new one is attacked too.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from resolution.web.auth import ALGORITHMS
from tests.support.bodies import complaint_body
from tests.support.parties import SECRET
from tests.support.snapshots import assert_unchanged, stored

ROOT = Path(__file__).resolve().parents[2]
ISSUER, AUDIENCE = "https://id.market.example", "resolution"
OTHER_SECRET = "another-secret-of-at-least-32-bytes-long"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PUBLIC_PEM = RSA_KEY.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
)


def claims(**changes) -> dict:
    base = {
        "sub": "buyer-1",
        "role": "buyer",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "exp": datetime.now(UTC) + timedelta(hours=1),
    }
    return {k: v for k, v in {**base, **changes}.items() if v is not None}


def signed(body: dict, key=SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(body, key, algorithm=algorithm)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_made(header: dict, body: dict, key: bytes | None) -> str:
    """A token built by hand, as an attacker would (PyJWT refuses to sign some of these)."""
    payload = {k: int(v.timestamp()) if isinstance(v, datetime) else v for k, v in body.items()}
    head = _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(payload).encode())
    signature = b"" if key is None else hmac.new(key, head.encode(), hashlib.sha256).digest()
    return head + "." + _b64(signature)


def _now(**delta) -> datetime:
    return datetime.now(UTC) + timedelta(**delta)


ATTACKS = {
    "alg-none": lambda: hand_made({"alg": "none", "typ": "JWT"}, claims(), None),
    "alg-None": lambda: hand_made({"alg": "None", "typ": "JWT"}, claims(), None),
    "other-key": lambda: signed(claims(), OTHER_SECRET),
    # HS256 keyed with the RSA public key a verifier of RS256 would hold (CVE-2015-9235).
    "hs256-rs256-confusion": lambda: hand_made({"alg": "HS256"}, claims(), PUBLIC_PEM),
    "rs256": lambda: signed(claims(), RSA_KEY, "RS256"),
    "hs512": lambda: signed(claims(), SECRET * 2, "HS512"),
    "expired": lambda: signed(claims(exp=_now(minutes=-2))),
    "not-yet-valid": lambda: signed(claims(nbf=_now(minutes=5))),
    "issued-in-the-future": lambda: signed(claims(iat=_now(minutes=5))),
    "missing-exp": lambda: signed(claims(exp=None)),
    "missing-sub": lambda: signed(claims(sub=None)),
    "missing-role": lambda: signed(claims(role=None)),
    "missing-iss": lambda: signed(claims(iss=None)),
    "missing-aud": lambda: signed(claims(aud=None)),
    "wrong-iss": lambda: signed(claims(iss="https://evil.example")),
    "wrong-aud": lambda: signed(claims(aud="another-service")),
    "unknown-role": lambda: signed(claims(role="admin")),
    "seller-without-shop": lambda: signed(claims(role="seller", sub="seller-1")),
    "kid-injection": lambda: hand_made({"alg": "HS256", "kid": "../../dev/null"}, claims(), b""),
    "jku-header": lambda: hand_made(
        {"alg": "HS256", "jku": "https://evil.example/jwks"}, claims(), OTHER_SECRET.encode()
    ),
    "truncated-signature": lambda: signed(claims())[:-4],
}


def operations() -> list[tuple[str, str]]:
    spec = yaml.safe_load((ROOT / "openapi.yaml").read_text())
    found = []
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete") and operation.get(
                "security", spec.get("security")
            ):
                found.append((method.upper(), path))
    return found


@pytest.fixture
def config(config):
    return dataclasses.replace(config, jwt_issuer=ISSUER, jwt_audience=AUDIENCE)


def test_the_algorithm_list_is_pinned_to_one():
    assert ALGORITHMS == ("HS256",)


def test_every_forged_or_stale_token_is_401_everywhere(client, figures):
    good = {"Authorization": "Bearer " + signed(claims())}
    opened = client.post("/v1/complaints", json=complaint_body(), headers=good)
    assert opened.status_code == 201, opened.get_json()
    cid = opened.get_json()["id"]
    values = {"id": cid, "evidence_id": "0" * 24, "delivery_id": "0" * 24}
    values |= {"channel": "tokopedia", "order_id": "INV-1001", "shop_id": "shop-1"}
    values |= {"request_id": "7", "subject_id": "buyer:buyer-1"}
    before, cases, accepted = stored(), 0, []
    for name, make in ATTACKS.items():
        headers = {"Authorization": f"Bearer {make()}"}
        for method, path in operations():
            url = path.format(**values)
            response = client.open(url, method=method, json={}, headers=headers)
            cases += 1
            if response.status_code != 401 or response.mimetype != "application/problem+json":
                accepted.append((name, method, path, response.status_code))
    figures.add("tokens", "cases", cases)
    figures.add("tokens", "accepted", len(accepted))
    assert accepted == []
    assert_unchanged(before)
    assert client.get(f"/v1/complaints/{cid}", headers=good).status_code == 200
