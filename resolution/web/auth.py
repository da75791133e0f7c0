"""Bearer tokens: HS256 JWTs whose claims say who the caller is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt

from ..config import TokenPolicy
from ..domain.actors import Actor, Role
from ..domain.errors import DomainError
from ..domain.identifiers import CHANNEL

PERSON_ROLES = (Role.BUYER, Role.SELLER, Role.CARE, Role.AUDITOR)
TOKEN_ROLES = (*PERSON_ROLES, Role.INTEGRATION)


class Unauthorized(DomainError):
    """No token, or one that is expired, forged or incomplete: the caller is nobody we know."""


# The one list of accepted algorithms, never read from the token itself (RFC 8725 3.1): a
# token claiming `none`, another HMAC, or RS256 (the key-confusion attack) is refused.
ALGORITHMS = ("HS256",)
# Header fields that point at a key: the service has one key and ignores no such pointer.
_KEY_HEADERS = frozenset({"kid", "jku", "jwk", "x5u", "x5c", "x5t", "x5t#S256"})


def issue_token(
    policy: TokenPolicy | str,
    role: str,
    sub: str,
    shop_id: str | None = None,
    ttl: timedelta = timedelta(days=1),
    channels: tuple[str, ...] = (),
) -> str:
    """A signed token for `role`/`sub` (sellers also name their shop, integrations the
    channels they act for), valid for `ttl`."""
    policy = policy if isinstance(policy, TokenPolicy) else TokenPolicy(policy)
    claims: dict = {"sub": sub, "role": role, "exp": datetime.now(UTC) + ttl}
    if shop_id:
        claims["shop_id"] = shop_id
    if channels:
        claims["channels"] = sorted(set(channels))
    if policy.issuer:
        claims["iss"] = policy.issuer
    if policy.audience:
        claims["aud"] = policy.audience
    return jwt.encode(claims, policy.secret, algorithm=ALGORITHMS[0])


def actor_from_header(header: str | None, policy: TokenPolicy | str) -> Actor:
    """The caller named by an `Authorization: Bearer …` header, or `Unauthorized`."""
    policy = policy if isinstance(policy, TokenPolicy) else TokenPolicy(policy)
    scheme, _, token = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Send `Authorization: Bearer <token>`.")
    required = ["exp", "sub", "role"]
    required += ["iss"] if policy.issuer else []
    required += ["aud"] if policy.audience else []
    try:
        claims = jwt.decode(
            token.strip(),
            policy.secret,
            algorithms=list(ALGORITHMS),
            issuer=policy.issuer,
            audience=policy.audience,
            leeway=policy.leeway,
            options={"require": required},
        )
    except jwt.ExpiredSignatureError as error:
        raise Unauthorized("The token has expired.") from error
    except jwt.ImmatureSignatureError as error:
        raise Unauthorized("The token is not valid yet (`nbf` or `iat`).") from error
    except jwt.PyJWTError as error:
        raise Unauthorized(f"The token is not valid: {_in_words(error)}") from error
    times = [claims[name] for name in ("exp", "nbf", "iat") if name in claims]
    if any(isinstance(t, bool) or not isinstance(t, int | float) for t in times):
        raise Unauthorized("The token is not valid: `exp`, `nbf` and `iat` must be numbers.")
    if _KEY_HEADERS & set(jwt.get_unverified_header(token.strip())):
        # A token naming a key (or where to fetch one) asks us to trust it: we never do.
        raise Unauthorized("The token is not valid: it names a key (`kid`, `jku` …); ours do not.")
    sub, role, shop_id = claims.get("sub"), claims.get("role"), claims.get("shop_id")
    if not isinstance(sub, str) or not 0 < len(sub) <= 128:
        raise Unauthorized("The token's `sub` must be a non-empty string.")
    if role not in TOKEN_ROLES:
        raise Unauthorized(f"The token's role must be one of {', '.join(TOKEN_ROLES)}.")
    if role == Role.SELLER and (not isinstance(shop_id, str) or not shop_id):
        raise Unauthorized("A seller's token must name its `shop_id`.")
    channels = claims.get("channels", [])
    if role == Role.INTEGRATION and not _channel_list(channels):
        raise Unauthorized("An integration token's `channels` must be a list of channel names.")
    return Actor(
        Role(role),
        sub,
        shop_id if role == Role.SELLER else None,
        frozenset(channels) if role == Role.INTEGRATION else frozenset(),
    )


def _channel_list(value: object) -> bool:
    return isinstance(value, list) and all(
        isinstance(c, str) and CHANNEL.fullmatch(c) for c in value
    )


def _in_words(error: jwt.PyJWTError) -> str:
    """What is wrong with a token, in words (never a decoder's internals)."""
    if isinstance(error, jwt.MissingRequiredClaimError):
        return f"it has no `{error.claim}` claim."
    if isinstance(error, jwt.InvalidIssuerError):
        return "it was issued by someone else (`iss`)."
    if isinstance(error, jwt.InvalidAudienceError):
        return "it is meant for another service (`aud`)."
    if isinstance(error, jwt.InvalidAlgorithmError):
        return f"it must be signed with {', '.join(ALGORITHMS)}."
    if isinstance(error, jwt.InvalidSignatureError):
        return "its signature does not match."
    if isinstance(error, jwt.DecodeError):
        return "it is not a signed JWT (three base64url parts: header, claims, signature)."
    return "its claims are malformed (`exp`, `nbf` and `iat` are numbers)."
