"""Tokens under a configured issuer, audience and clock skew (RFC 8725): all refusals 401.

(Apart from tests/api/hostile_input/: its shared database must outlive these tests'
per-test databases.)
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from tests.support.parties import signed

_BUYER_CLAIMS = {"sub": "buyer-1", "role": "buyer"}
OTHER_SECRET = "another-secret-of-at-least-32-bytes-long"


@pytest.fixture
def strict_client(config, context):
    from dataclasses import replace as with_

    from resolution.web.app import create_app

    strict = with_(config, jwt_issuer="https://id.market.example", jwt_audience="resolution")
    return create_app(strict, context=context).test_client()


def _claims(**changes) -> dict:
    base = {
        **_BUYER_CLAIMS,
        "iss": "https://id.market.example",
        "aud": "resolution",
        "exp": datetime.now(UTC) + timedelta(hours=1),
    }
    return {k: v for k, v in {**base, **changes}.items() if v is not None}


def _rs256_token() -> str:
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(_claims(), key, algorithm="RS256")


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("wrong-issuer", lambda: signed(_claims(iss="https://evil.example"))),
        ("no-issuer", lambda: signed(_claims(iss=None))),
        ("wrong-audience", lambda: signed(_claims(aud="another-service"))),
        ("no-audience", lambda: signed(_claims(aud=None))),
        ("not-yet-valid", lambda: signed(_claims(nbf=datetime.now(UTC) + timedelta(minutes=5)))),
        (
            "expired-past-skew",
            lambda: signed(_claims(exp=datetime.now(UTC) - timedelta(minutes=2))),
        ),
        ("rs256", _rs256_token),
        ("alg-none", lambda: signed(_claims(), None, "none")),
        ("other-secret", lambda: signed(_claims(), OTHER_SECRET)),
    ],
)
def test_a_configured_issuer_and_audience_are_required(strict_client, name, make):
    response = strict_client.get("/v1/complaints", headers={"Authorization": f"Bearer {make()}"})
    assert response.status_code == 401, name
    assert response.mimetype == "application/problem+json"


def test_a_small_clock_skew_is_tolerated(strict_client):
    for claims in (
        _claims(),
        _claims(exp=datetime.now(UTC) - timedelta(seconds=10)),  # our clock a little ahead
        _claims(nbf=datetime.now(UTC) + timedelta(seconds=10)),  # theirs a little ahead
    ):
        response = strict_client.get(
            "/v1/complaints", headers={"Authorization": f"Bearer {signed(claims)}"}
        )
        assert response.status_code == 200, response.get_json()


def test_the_token_command_issues_what_the_service_accepts(config):
    from dataclasses import replace as with_

    from resolution.web.auth import actor_from_header, issue_token

    strict = with_(config, jwt_issuer="https://id.market.example", jwt_audience="resolution")
    token = issue_token(strict.tokens, "care", "agent-1")
    assert actor_from_header(f"Bearer {token}", strict.tokens).id == "agent-1"
    assert jwt.decode(token, options={"verify_signature": False})["aud"] == "resolution"


@pytest.mark.parametrize(
    ("bearer", "said"),
    [
        ("garbage", "not a signed JWT"),
        ("a.b.c", "not a signed JWT"),
    ],
)
def test_a_bad_token_is_told_in_words(client, bearer, said):
    refused = client.get("/v1/complaints", headers={"Authorization": f"Bearer {bearer}"})
    detail = refused.get_json()["detail"]
    assert refused.status_code == 401 and said in detail
    assert "utf-8" not in detail and "codec" not in detail and "Invalid header" not in detail


def test_times_are_numbers_and_no_key_is_named(client):
    from tests.support.parties import SECRET, signed

    later = int(time.time()) + 3600
    as_text = signed({"sub": "b", "role": "buyer", "exp": str(later)})
    refused = client.get("/v1/complaints", headers={"Authorization": f"Bearer {as_text}"})
    assert refused.status_code == 401, refused.get_json()
    for header in ({"kid": "key-1"}, {"jku": "https://evil.example/keys"}):
        token = jwt.encode(
            {"sub": "b", "role": "buyer", "exp": later}, SECRET, algorithm="HS256", headers=header
        )
        named = client.get("/v1/complaints", headers={"Authorization": f"Bearer {token}"})
        assert named.status_code == 401 and "names a key" in named.get_json()["detail"]
