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
    """The caller: `id` is the token's `sub`; a seller also carries the shop it acts for."""

    role: Role
    id: str
    shop_id: str | None = None

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
