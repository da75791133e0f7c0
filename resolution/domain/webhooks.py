"""Webhooks: which subscription wants which event, how a delivery is signed, when to retry.

Pure rules, no I/O: the service keeps subscriptions and deliveries in MongoDB, the deliverer
sends them. The signature scheme is the one the README shows receivers how to check.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import random
import re
import secrets
from collections.abc import Iterable, Mapping
from datetime import timedelta
from urllib.parse import urlsplit

from .errors import Invalid

# What became of a delivery: still to be sent (or retried), taken by the receiver, given up.
PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"
STATUSES = (PENDING, DELIVERED, DEAD)

# How long deliveries are retried before they are dead-lettered.
RETRY_FOR = timedelta(days=3)
# The first retry waits about this long; each next one up to twice as long, at most MAX_WAIT.
FIRST_WAIT = timedelta(seconds=10)
MAX_WAIT = timedelta(hours=6)
# How long a rotated-out secret still signs deliveries, so receivers can switch without a gap.
ROTATION_GRACE = timedelta(hours=24)
SIGNATURE_HEADER = "Resolution-Signature"
DELIVERY_HEADER = "Resolution-Delivery"
EVENT_HEADER = "Resolution-Event"


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """HMAC-SHA256 of `"<timestamp>." + body` under the subscription's secret, in hex."""
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(secrets_in_use: Iterable[str], timestamp: int, body: bytes) -> str:
    """`t=<unix seconds>,v1=<hex>[,v1=<hex>]`: a `v1` per valid secret (two while rotating)."""
    parts = [f"t={timestamp}"]
    parts += [f"v1={signature(secret, timestamp, body)}" for secret in secrets_in_use]
    return ",".join(parts)


def wants(subscription: Mapping, event_type: str, channel: str) -> bool:
    """Does this subscription ask for this event (its types, or all; its channel, or all)?"""
    types = subscription.get("types") or ()
    if types and event_type not in types:
        return False
    return subscription.get("channel") in (None, channel)


def next_wait(attempts: int, rng: random.Random | None = None) -> timedelta:
    """How long to wait after the `attempts`-th failure: exponential, capped, full jitter.

    Full jitter (a uniform draw up to the exponential bound) spreads retries of many
    deliveries to one recovering receiver instead of sending them all at once.
    """
    bound = min(MAX_WAIT, FIRST_WAIT * (2 ** min(attempts - 1, 30)))
    draw = (rng or random).uniform(0.5, 1.0)  # at least half the bound: retries keep spacing out
    return bound * draw


def check_target(url: str) -> tuple[str, int]:
    """The host and port of a webhook URL, if it is one we may send to (http or https).

    A host whose last label is a number must be a dotted quad as written everywhere
    (`93.184.216.34`): `2130706433`, `0177.1`, `0x7f.1` and `127.1` are all 127.0.0.1 to the
    C resolver but something else, or nothing, to other parsers, and such a disagreement is
    how address checks are got round (the WHATWG URL standard's "ends in a number" rule).
    """
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as error:
        raise Invalid("The URL is not valid.", {"url": [str(error)]}) from error
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid("Webhooks go to http:// or https:// URLs.", {"url": ["http(s) only"]})
    if parts.username or parts.password:
        raise Invalid("Put no credentials in the URL.", {"url": ["no user:password@"]})
    if parts.fragment:
        raise Invalid("A webhook URL has no #fragment.", {"url": ["no fragment"]})
    host = parts.hostname
    if _ends_in_a_number(host) and not _dotted_quad(host):
        raise Invalid(
            "Write an IPv4 address as four decimal numbers (a.b.c.d).",
            {"url": [f"{host} is not a host name nor a dotted-quad address"]},
        )
    return host, port


_NUMBER = re.compile(r"[0-9]+|0[xX][0-9a-fA-F]*")


def _ends_in_a_number(host: str) -> bool:
    return bool(_NUMBER.fullmatch(host.rstrip(".").rpartition(".")[2]))


def _dotted_quad(host: str) -> bool:
    try:
        ipaddress.IPv4Address(host)  # four decimal numbers, no leading zeros, no trailing dot
    except ValueError:
        return False
    return True


# IPv6 addresses that carry an IPv4 address (RFC 6052 NAT64, RFC 3056 6to4): judged by it.
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def private_address(address: str) -> bool:
    """Loopback, private, link-local, multicast, reserved, unspecified …: anything not on the
    internet, also when written inside an IPv6 address (IPv4-mapped, NAT64, 6to4)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return private_address(str(embedded))
    return (
        not ip.is_global
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_private
    )
