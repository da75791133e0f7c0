"""The webhook deliverer: fans committed events out to subscriptions and sends them, signed.

`resolution deliver` runs one pass (or `--loop`); any number may run beside each other (see
`service.webhooks` for how they share the queue). A delivery is a POST of JSON
`{id, type, complaint_id, seq, at, data, complaint}` (`service.views.webhook_payload`) with the
headers
`Resolution-Delivery` (the delivery id: the same on every retry, receivers de-duplicate on it),
`Resolution-Event` and `Resolution-Signature` (`t=<unix seconds>,v1=<hex HMAC-SHA256 of
"<t>.<body>">`, one `v1` per valid secret).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

import httpx

from ..domain import webhooks as rules
from ..domain.errors import Invalid
from ..service import webhooks
from ..service.unit_of_work import Context
from ..store.errors import StoreError

log = logging.getLogger("resolution.deliverer")
TIMEOUT = httpx.Timeout(10.0, connect=5.0)


@dataclass
class PassResult:
    fanned_out: int = 0
    delivered: int = 0
    failed: int = 0
    dead: int = 0

    @property
    def busy(self) -> bool:
        return bool(self.fanned_out or self.delivered or self.failed or self.dead)


def send(client: httpx.Client, ctx: Context, delivery: Mapping) -> tuple[int | None, str | None]:
    """POSTs one delivery; (status code, error) of the attempt."""
    sub = webhooks.subscription_by_id(delivery["subscription_id"])
    if sub is None:
        return None, "the subscription was deleted"
    try:
        webhooks.check_reachable(sub["url"], ctx.webhooks_allow_private)
    except Invalid as refused:  # the host now resolves to a private address: not sent
        return None, str(refused)[:300]
    body = json.dumps(
        {"id": delivery["_id"], **delivery["payload"]}, ensure_ascii=False, separators=(",", ":")
    ).encode()
    now = ctx.clock()
    timestamp = int(now.timestamp())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "resolution-webhooks/1",
        rules.DELIVERY_HEADER: delivery["_id"],
        rules.EVENT_HEADER: delivery["type"],
        rules.SIGNATURE_HEADER: rules.signature_header(
            webhooks.signing_secrets(sub, now), timestamp, body
        ),
    }
    try:
        response = client.post(sub["url"], content=body, headers=headers)
    except httpx.HTTPError as error:
        return None, f"{type(error).__name__}: {error}"[:300]
    return response.status_code, None if response.is_success else f"HTTP {response.status_code}"


def deliver_pass(
    ctx: Context, client: httpx.Client, batch: int = 100, lease: timedelta = webhooks.LEASE
) -> PassResult:
    """Fans out what was committed, then sends every delivery that may go now."""
    result = PassResult(fanned_out=webhooks.fan_out(ctx))
    while claimed := webhooks.claim_due(ctx, batch, lease):
        for delivery in claimed:
            status_code, error = send(client, ctx, delivery)
            outcome = webhooks.record_attempt(ctx, delivery, status_code, error)
            if outcome == rules.DELIVERED:
                result.delivered += 1
            elif outcome == rules.DEAD:
                result.dead += 1
            else:
                result.failed += 1
            if error:
                log.info("delivery %s failed: %s", delivery["_id"], error)
        if result.failed and not result.delivered:
            break  # only failures: wait for their retry times instead of spinning
    return result


def run(
    ctx: Context,
    *,
    loop: bool = False,
    interval: float = 1.0,
    lease: timedelta = webhooks.LEASE,
) -> PassResult:
    """One pass, or passes every `interval` seconds (at once again while there is work)."""
    total = PassResult()
    with httpx.Client(timeout=TIMEOUT, follow_redirects=False) as client:
        while True:
            try:
                result = deliver_pass(ctx, client, lease=lease)
            except StoreError as error:
                if not loop:
                    raise
                # The database is down or restarting: a looping deliverer waits it out
                # (leases make a pass cut short safe to run again), it does not die.
                log.warning("deliverer: database error, trying again: %s", error)
                time.sleep(interval)
                continue
            for name in ("fanned_out", "delivered", "failed", "dead"):
                setattr(total, name, getattr(total, name) + getattr(result, name))
            if not loop:
                return total
            if not result.busy:
                time.sleep(interval)
