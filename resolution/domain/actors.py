"""Who acts on a complaint: a role and an id, as the token says."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    BUYER = "buyer"
    SELLER = "seller"
    CARE = "care"
    AUDITOR = "auditor"
    SYSTEM = "system"
    # A marketplace's back end (not a person): manages its webhook subscriptions, nothing else.
    INTEGRATION = "integration"


# The care team and its auditors: they see every complaint, the care team's own clock, and
# what parties keep from each other (identity documents).
STAFF = frozenset({Role.CARE, Role.AUDITOR})


@dataclass(frozen=True, slots=True)
class Actor:
    """The caller: `id` is the token's `sub`; a seller also carries the shop it acts for, and
    an integration the channels it acts for."""

    role: Role
    id: str
    shop_id: str | None = None
    # An integration (a marketplace's back end) acts for these channels only.
    channels: frozenset[str] = frozenset()

    def acts_for(self, channel: str) -> bool:
        """An integration allowed for `channel` (its token names it)."""
        return self.role is Role.INTEGRATION and channel in self.channels

    @property
    def is_staff(self) -> bool:
        """Care or an auditor (`STAFF`)."""
        return self.role in STAFF

    def as_data(self) -> dict:
        """The actor as it is recorded in an event."""
        data = {"role": str(self.role), "id": self.id}
        if self.shop_id is not None:
            data["shop_id"] = self.shop_id
        return data


SYSTEM = Actor(Role.SYSTEM, "resolution")
