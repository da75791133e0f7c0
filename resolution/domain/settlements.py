"""The settlement of a closed complaint: how the order's held money is split, and the steps
of paying it (`docs/lifecycle.md`, "Money").

Every complaint that closes gets exactly one settlement, recorded in the closing event itself:
`to_buyer + to_seller` is what the order still held. The payment system is asked to move it
(`settlement_requested`), then confirms it with its own reference or fails it with a reason;
care may retry a failed one. A settlement that follows a care decision is `held` until the
review window closes unused, so a review never has to claw money back.

An order's money is one ledger across its complaints: the marketplace registers what it holds
for the order (`held_amount`) and this service subtracts what its own settlements moved, so
no complaint can pay out what an earlier one already did (`Ledger`).

Pure: no clock, no I/O. Money is an `int` number of rupiah.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .events import iso
from .solutions import WITH_AMOUNT

HELD, REQUESTED, CONFIRMED, FAILED = "held", "requested", "confirmed", "failed"
NOTHING_TO_MOVE = "nothing_to_move"
STATUSES = (HELD, REQUESTED, CONFIRMED, FAILED, NOTHING_TO_MOVE)
# The steps of a settlement after the closing that created it: events on the complaint.
REQUESTED_EVENT = "settlement_requested"
CONFIRMED_EVENT = "settlement_confirmed"
FAILED_EVENT = "settlement_failed"
RETRIED_EVENT = "settlement_retried"
EVENTS = (REQUESTED_EVENT, CONFIRMED_EVENT, FAILED_EVENT, RETRIED_EVENT)
# Outcomes that pay the buyer the amount of a refund solution; every other closing (a
# withdrawal, a return never shipped, an exchange or send-remaining carried out, a release to
# the seller) releases everything to the seller.
_PAYS_BUYER = ("agreed", "decided", "fulfilled")


@dataclass(frozen=True, slots=True)
class Ledger:
    """What earlier complaints on the same order settled: paid to the buyer, and moved in all
    (to the buyer and to the seller). Fixed while a complaint is open: an order has one
    complaint not closed at a time, and a closed complaint's amounts never change."""

    to_buyer: int = 0
    moved: int = 0

    @classmethod
    def of(cls, settled: Iterable[Mapping[str, Any]]) -> Ledger:
        to_buyer = moved = 0
        for settlement in settled:
            to_buyer += int(settlement["to_buyer"])
            moved += int(settlement["to_buyer"]) + int(settlement["to_seller"])
        return cls(to_buyer, moved)

    def as_data(self) -> dict[str, int]:
        return {"to_buyer": self.to_buyer, "moved": self.moved}

    def still_held(self, order: Mapping[str, Any]) -> int:
        """What the order holds that no settlement of this service has moved yet."""
        return max(0, int(order.get("held_amount") or 0) - self.moved)


NOTHING_SETTLED = Ledger()


def ledger_of(data: Mapping[str, Any] | None) -> Ledger:
    return Ledger(**data) if data else Ledger()


def split(outcome: str, solution: Mapping[str, Any] | None, held: int) -> tuple[int, int]:
    """(to the buyer, to the seller) of `held` rupiah for a complaint closed so.

    A refund (agreed, decided, or a return-and-refund whose return was confirmed) pays the
    buyer its amount and the seller the rest; anything else releases everything to the
    seller. The buyer never gets more than is held, whatever was agreed.
    """
    to_buyer = 0
    if solution is not None and solution.get("kind") in WITH_AMOUNT and outcome in _PAYS_BUYER:
        to_buyer = min(int(solution.get("amount") or 0), held)
    return to_buyer, held - to_buyer


def terms(
    settlement_id: str,
    outcome: str,
    solution: Mapping[str, Any] | None,
    held: int,
) -> dict[str, Any]:
    """The settlement a closing event records: its id, what was held and the split."""
    to_buyer, to_seller = split(outcome, solution, held)
    return {"id": settlement_id, "held": held, "to_buyer": to_buyer, "to_seller": to_seller}


def created(recorded: Mapping[str, Any], at: datetime, release_at: datetime) -> dict[str, Any]:
    """The settlement as the complaint shows it once the closing event (at `at`) is recorded:
    held until `release_at` (the end of the review window after a care decision, else at
    once), or nothing to move."""
    nothing = recorded["held"] == 0
    return {
        **recorded,
        "status": NOTHING_TO_MOVE if nothing else HELD,
        "release_at": None if nothing else iso(release_at),
        "reference": None,
        "attempts": [],
        "created_at": iso(at),
        "updated_at": iso(at),
    }


def stepped(
    settlement: Mapping[str, Any], kind: str, data: Mapping[str, Any], at: datetime
) -> dict[str, Any]:
    """The settlement after one of its steps (an event of `EVENTS`), recorded at `at`."""
    attempts = [dict(a) for a in settlement["attempts"]]
    changed: dict[str, Any] = {"updated_at": iso(at)}
    if kind in (REQUESTED_EVENT, RETRIED_EVENT):
        attempt = {"number": data["attempt"], "requested_at": iso(at)}
        changed.update(status=REQUESTED, attempts=[*attempts, attempt])
    elif kind == CONFIRMED_EVENT:
        attempts[-1].update(result=CONFIRMED, answered_at=iso(at), reference=data["reference"])
        changed.update(status=CONFIRMED, reference=data["reference"], attempts=attempts)
    elif kind == FAILED_EVENT:
        attempts[-1].update(result=FAILED, answered_at=iso(at), reason=data["reason"])
        changed.update(status=FAILED, attempts=attempts)
    return {**settlement, **changed}


def due(settlement: Mapping[str, Any] | None, now: datetime) -> bool:
    """A held settlement whose time has come: the payment system is to be asked now."""
    return (
        settlement is not None
        and settlement["status"] == HELD
        and datetime.fromisoformat(settlement["release_at"]) <= now
    )


def unmoved(settlement: Mapping[str, Any] | None) -> bool:
    """No money of this settlement has been asked for: a review may still replace it."""
    return settlement is None or settlement["status"] in (HELD, NOTHING_TO_MOVE)
