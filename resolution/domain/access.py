"""Who may see which complaint: object-level visibility, decided in one place."""

from __future__ import annotations

from .actors import Actor, Role
from .projection import Complaint


def can_see(actor: Actor, complaint: Complaint) -> bool:
    """A buyer sees the complaints it opened, a seller those of its shop, the marketplace
    (an integration) those of its channels, care and auditors all."""
    if actor.role is Role.BUYER:
        return complaint.buyer_id == actor.id
    if actor.role is Role.SELLER:
        return actor.shop_id is not None and complaint.shop_id == actor.shop_id
    if actor.role is Role.INTEGRATION:
        return complaint.channel is not None and actor.acts_for(complaint.channel)
    return actor.is_staff or actor.role is Role.SYSTEM


def visibility_filter(actor: Actor) -> dict[str, str | tuple[str, ...]]:
    """The same rule as `can_see`, as the fields a listing query must match: a value, or a
    tuple of the values one of which it must be."""
    if actor.role is Role.BUYER:
        return {"buyer_id": actor.id}
    if actor.role is Role.SELLER:
        return {"shop_id": actor.shop_id or "\0no-shop"}
    if actor.role is Role.INTEGRATION:
        return {"channel": tuple(sorted(actor.channels))}
    return {}
