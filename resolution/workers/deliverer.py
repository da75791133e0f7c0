"""The webhook deliverer: fans committed events out to subscriptions and sends them, signed.

`resolution deliver` runs one pass (or `--loop`); any number may run beside each other (see
`service.webhooks` for how they share the queue). A delivery is a POST of JSON
`{id, type, complaint_id, seq, at, data, complaint}` (`service.views.webhook_payload`) with the
headers
`Resolution-Delivery` (the delivery id: the same on every retry, receivers de-duplicate on it),
`Resolution-Event` and `Resolution-Signature` (`t=<unix seconds>,v1=<hex HMAC-SHA256 of
"<t>.<body>">`, one `v1` per valid secret). Each goes out through `service.egress`: one lookup,
nothing sent to an address that is not public, the connection made to the address checked,
10 s for the whole attempt and the first 4 KB of the answer kept.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from ..domain import webhooks as rules
from ..service import webhooks
from ..service.egress import Answer, Egress
from ..service.unit_of_work import Context
from ..store.errors import StoreError

log = logging.getLogger("resolution.deliverer")


@dataclass
class PassResult:
    fanned_out: int = 0
    delivered: int = 0
    failed: int = 0
    dead: int = 0

    @property
    def busy(self) -> bool:
        return bool(self.fanned_out or self.delivered or self.failed or self.dead)


def egress_for(ctx: Context, proxy: str | None = None) -> Egress:
    """The way out for this context's deliveries (its resolver, private targets or not)."""
    return Egress(
        allow_private=ctx.webhooks_allow_private, resolve=ctx.webhooks_resolver, proxy=proxy
    )


def send(egress: Egress, ctx: Context, delivery: Mapping) -> Answer:
    """POSTs one delivery: how the attempt went."""
    sub = webhooks.subscription_by_id(delivery["subscription_id"])
    if sub is None:
        return Answer(error="the subscription was deleted")
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
        return egress.post(sub["url"], body, headers.items())
    except Exception as error:  # one integrator's odd URL or answer must not stop the others
        log.exception("delivery %s: unexpected failure", delivery["_id"])
        return Answer(error=f"{type(error).__name__}: {error}"[:300])


def deliver_pass(
    ctx: Context,
    egress: Egress | None = None,
    batch: int = 100,
    lease: timedelta = webhooks.LEASE,
) -> PassResult:
    """Fans out what was committed, then sends every delivery that may go now."""
    egress = egress or egress_for(ctx)
    result = PassResult(fanned_out=webhooks.fan_out(ctx))
    while claimed := webhooks.claim_due(ctx, batch, lease):
        for delivery in claimed:
            answer = send(egress, ctx, delivery)
            outcome = webhooks.record_attempt(
                ctx, delivery, answer.status_code, answer.error, answer.body
            )
            if outcome == rules.DELIVERED:
                result.delivered += 1
            elif outcome == rules.DEAD:
                result.dead += 1
            else:
                result.failed += 1
            if answer.error:
                log.info("delivery %s failed: %s", delivery["_id"], answer.error)
        if result.failed and not result.delivered:
            break  # only failures: wait for their retry times instead of spinning
    return result


def run(
    ctx: Context,
    *,
    loop: bool = False,
    interval: float = 1.0,
    lease: timedelta = webhooks.LEASE,
    proxy: str | None = None,
    egress: Egress | None = None,
) -> PassResult:
    """One pass, or passes every `interval` seconds (at once again while there is work).

    Deliveries go out through `egress` (a test's), or one made for `ctx`, through `proxy`
    (`RESOLUTION_WEBHOOK_PROXY`) when given.
    """
    total = PassResult()
    egress = egress or egress_for(ctx, proxy)
    while True:
        try:
            result = deliver_pass(ctx, egress, lease=lease)
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
