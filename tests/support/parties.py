"""Who calls: the tests' JWT secret and signing key, tokens, and the usual callers' headers."""

from __future__ import annotations

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from resolution.web.auth import issue_token

SECRET = "test-secret-of-at-least-32-bytes-long"
SIGNING_KEY = Ed25519PrivateKey.generate()  # a throw-away key: tests sign their exports


def token(role: str, sub: str, shop_id: str | None = None, channels: tuple[str, ...] = ()) -> str:
    return issue_token(SECRET, role, sub, shop_id, channels=channels)


def auth(
    role: str, sub: str, shop_id: str | None = None, channels: tuple[str, ...] = ()
) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(role, sub, shop_id, channels)}"}


BUYER = auth("buyer", "buyer-1")
OTHER_BUYER = auth("buyer", "buyer-2")
SELLER = auth("seller", "seller-1", "shop-1")
OTHER_SELLER = auth("seller", "seller-9", "shop-9")
CARE = auth("care", "agent-1")
CARE_2 = auth("care", "agent-2")
AUDITOR = auth("auditor", "auditor-1")
# The marketplace's back end, for the channel the tests' orders are on (and a stranger's).
MARKETPLACE = auth("integration", "market-1", channels=("tokopedia",))
OTHER_MARKETPLACE = auth("integration", "market-2", channels=("tiktok_shop",))


def signed(claims: dict, key: str | None = SECRET, algorithm: str = "HS256") -> str:
    """A JWT of exactly these claims (no defaults added): for tokens the service must refuse."""
    return jwt.encode(claims, key, algorithm=algorithm)


# Who a client is, by name: a process client rebuilds the token from the name.
PEOPLE = {
    "buyer": ("buyer", "buyer-1", None),
    **{f"seller{i}": ("seller", f"seller-admin-{i}", "shop-1") for i in range(16)},
    **{f"care{i}": ("care", f"agent-{i}", None) for i in range(16)},
}


def headers_of(who: str) -> dict[str, str]:
    role, sub, shop = PEOPLE[who]
    return {"Authorization": f"Bearer {token(role, sub, shop)}"}
