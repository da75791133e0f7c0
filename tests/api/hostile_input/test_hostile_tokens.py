"""Missing and bad tokens: every way a bearer token can be absent, malformed, forged, expired or
carry wrong claims is a 401 that changes nothing stored; the same requests with a good token
succeed (the shared database and the checks: conftest.py).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.support.bodies import complaint_body
from tests.support.hostile import NO_BODY, REFUND, Case, assert_clear_problem, counter, send_case
from tests.support.parties import SECRET, signed
from tests.support.snapshots import assert_unchanged, stored

_IN_AN_HOUR = datetime.now(UTC) + timedelta(hours=1)
_AGO = datetime.now(UTC) - timedelta(minutes=5)
_BUYER_CLAIMS = {"sub": "buyer-1", "role": "buyer", "exp": _IN_AN_HOUR}
_SELLER_CLAIMS = {"sub": "seller-1", "role": "seller", "shop_id": "shop-1", "exp": _IN_AN_HOUR}
OTHER_SECRET = "another-secret-of-at-least-32-bytes-long"


def _without(claims: dict, name: str) -> dict:
    return {k: v for k, v in claims.items() if k != name}


TOKENS = {
    "none": None,
    "empty-header": "",
    "bearer-only": "Bearer",
    "bearer-blank": "Bearer    ",
    "garbage": "Bearer garbage",
    "three-garbage-parts": "Bearer a.b.c",
    "basic-scheme": "Basic YnV5ZXItMTpzZWNyZXQ=",
    "token-scheme": f"Token {signed(_BUYER_CLAIMS)}",
    "no-scheme": signed(_BUYER_CLAIMS),
    "expired": f"Bearer {signed({**_BUYER_CLAIMS, 'exp': _AGO})}",
    "other-secret": f"Bearer {signed(_BUYER_CLAIMS, OTHER_SECRET)}",
    "alg-none": f"Bearer {signed(_BUYER_CLAIMS, None, 'none')}",
    "alg-hs512": f"Bearer {signed(_BUYER_CLAIMS, SECRET * 2, 'HS512')}",
    "tampered-role": "Bearer "
    + ".".join(
        (
            signed(_BUYER_CLAIMS).split(".")[0],
            signed({**_BUYER_CLAIMS, "role": "care"}).split(".")[1],
            signed(_BUYER_CLAIMS).split(".")[2],
        )
    ),
    "missing-exp": f"Bearer {signed(_without(_BUYER_CLAIMS, 'exp'))}",
    "missing-sub": f"Bearer {signed(_without(_BUYER_CLAIMS, 'sub'))}",
    "empty-sub": f"Bearer {signed({**_BUYER_CLAIMS, 'sub': ''})}",
    "long-sub": f"Bearer {signed({**_BUYER_CLAIMS, 'sub': 'b' * 129})}",
    "int-sub": f"Bearer {signed({**_BUYER_CLAIMS, 'sub': 7})}",
    "missing-role": f"Bearer {signed(_without(_BUYER_CLAIMS, 'role'))}",
    "unknown-role": f"Bearer {signed({**_BUYER_CLAIMS, 'role': 'admin'})}",
    "system-role": f"Bearer {signed({**_BUYER_CLAIMS, 'role': 'system'})}",
    "upper-role": f"Bearer {signed({**_BUYER_CLAIMS, 'role': 'BUYER'})}",
    "list-role": f"Bearer {signed({**_BUYER_CLAIMS, 'role': ['care']})}",
    "seller-without-shop": f"Bearer {signed(_without(_SELLER_CLAIMS, 'shop_id'))}",
    "seller-empty-shop": f"Bearer {signed({**_SELLER_CLAIMS, 'shop_id': ''})}",
    "seller-shop-object": f"Bearer {signed({**_SELLER_CLAIMS, 'shop_id': {'$ne': None}})}",
}

TOKEN_ENDPOINTS = {
    "open": ("POST", "/v1/complaints", complaint_body("INV-2002")),
    "propose": ("POST", "/v1/complaints/{cid}/actions/propose", counter(REFUND)),
}
OTHER_ENDPOINTS = {
    "list": ("GET", "/v1/complaints", NO_BODY),
    "get": ("GET", "/v1/complaints/{cid}", NO_BODY),
    "events": ("GET", "/v1/complaints/{cid}/events", NO_BODY),
    "message": ("POST", "/v1/complaints/{cid}/messages", {"body": "hi"}),
    "withdraw": ("POST", "/v1/complaints/{cid}/actions/withdraw", {}),
}
TOKEN_CASES = [
    *(
        pytest.param(endpoint, header, id=f"{endpoint}-{name}")
        for endpoint in TOKEN_ENDPOINTS
        for name, header in TOKENS.items()
    ),
    *(
        pytest.param(endpoint, TOKENS[name], id=f"{endpoint}-{name}")
        for endpoint in OTHER_ENDPOINTS
        for name in ("none", "expired", "other-secret", "alg-none", "seller-without-shop")
    ),
]


@pytest.mark.parametrize(("endpoint", "header"), TOKEN_CASES)
def test_missing_or_bad_token_is_401_and_changes_nothing(client, cid, endpoint, header):
    method, path, body = {**TOKEN_ENDPOINTS, **OTHER_ENDPOINTS}[endpoint]
    headers = {} if header is None else {"Authorization": header}
    case = Case(method, path, 401, body, headers=headers)
    before = stored()
    assert_clear_problem(send_case(client, case, cid), 401)
    assert_unchanged(before)


def test_the_same_requests_with_a_good_token_succeed(client, cid):
    """The token cases fail for their token alone: with a valid one, each request works."""
    good = {"Authorization": f"Bearer {signed(_BUYER_CLAIMS)}"}
    seller = {"Authorization": f"Bearer {signed(_SELLER_CLAIMS)}"}
    assert client.get("/v1/complaints", headers=good).status_code == 200
    assert client.get(f"/v1/complaints/{cid}", headers=good).status_code == 200
    assert client.get(f"/v1/complaints/{cid}/events", headers=good).status_code == 200
    assert (
        client.post("/v1/complaints", json=complaint_body("INV-2002"), headers=good).status_code
        == 201
    )
    response = client.post(
        f"/v1/complaints/{cid}/actions/propose", json=counter(REFUND), headers=seller
    )
    assert response.status_code == 200, response.get_data(as_text=True)
