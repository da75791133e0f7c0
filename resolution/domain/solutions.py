"""Solutions the parties and care can propose, and the rules that bind them to the order.

Money is an `int` number of rupiah everywhere: IDR has no minor unit in practice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from .errors import Invalid


class Kind(StrEnum):
    REFUND = "refund"
    RETURN_REFUND = "return_refund"
    EXCHANGE = "exchange"
    SEND_REMAINING = "send_remaining"
    RELEASE_TO_SELLER = "release_to_seller"


WITH_AMOUNT = frozenset({Kind.REFUND, Kind.RETURN_REFUND})
WITH_ITEMS = frozenset({Kind.EXCHANGE, Kind.SEND_REMAINING})
CARE_ONLY = frozenset({Kind.RELEASE_TO_SELLER})


@dataclass(frozen=True, slots=True)
class Solution:
    """What should happen to settle the complaint."""

    kind: Kind
    amount: int | None = None
    items: tuple[tuple[str, int], ...] = field(default=())

    @classmethod
    def from_data(cls, data: Mapping) -> Solution:
        """Reads a solution as stored in an event or sent by a client (already schema-checked)."""
        items = tuple((i["sku"], int(i["qty"])) for i in data.get("items") or ())
        return cls(Kind(data["kind"]), data.get("amount"), items)

    def as_data(self) -> dict:
        """The solution as it is recorded in events and shown by the API."""
        data: dict = {"kind": str(self.kind)}
        if self.amount is not None:
            data["amount"] = self.amount
        if self.items:
            data["items"] = [{"sku": sku, "qty": qty} for sku, qty in self.items]
        return data

    @property
    def needs_return(self) -> bool:
        """The buyer sends the item back before anything else happens."""
        return self.kind in (Kind.RETURN_REFUND, Kind.EXCHANGE)

    @property
    def needs_shipment(self) -> bool:
        """The seller sends goods right away (an exchange ships only after its return)."""
        return self.kind is Kind.SEND_REMAINING

    @property
    def settles_at_once(self) -> bool:
        """Agreeing on it closes the complaint: money moves, nothing is shipped."""
        return self.kind in (Kind.REFUND, Kind.RELEASE_TO_SELLER)


def check_solution(solution: Solution, order: Mapping, *, by_care: bool) -> None:
    """Raises `Invalid` unless the solution fits the order and the one proposing it."""
    errors: dict[str, list[str]] = {}

    def fail(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    if solution.kind in CARE_ONLY and not by_care:
        fail("kind", f"only the care team can decide {solution.kind}")
    if solution.kind in WITH_AMOUNT:
        total = int(order["total"])
        if solution.amount is None:
            fail("amount", f"{solution.kind} needs an amount in rupiah")
        elif not 0 < solution.amount <= total:
            fail("amount", f"must be more than 0 and at most the order total ({total})")
    elif solution.amount is not None:
        fail("amount", f"{solution.kind} takes no amount")
    if solution.items and solution.kind not in WITH_ITEMS:
        fail("items", f"{solution.kind} takes no items")
    ordered = {item["sku"]: int(item["qty"]) for item in order.get("items", ())}
    seen: set[str] = set()
    for sku, qty in solution.items:
        if sku in seen:
            fail("items", f"{sku} is listed twice")
        seen.add(sku)
        if sku not in ordered:
            fail("items", f"{sku} is not in the order")
        elif not 0 < qty <= ordered[sku]:
            fail("items", f"{sku}: qty must be between 1 and {ordered[sku]}")
    if errors:
        first = next(iter(errors.values()))[0]
        raise Invalid(
            f"The solution does not fit the order: {first}",
            {f"solution.{k}": v for k, v in errors.items()},
        )
