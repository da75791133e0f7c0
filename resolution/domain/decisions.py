"""Why a complaint closed as it did: the one catalogue of reason codes, with the labels both
parties read, and the rules for the evidence a care decision says it considered.

A care decision names a code, a written rationale and the evidence it weighed; the service's
own closings (the buyer never shipped the return, never answered after a shipment) name a code
and a rationale of their own. PayPal's and Stripe's dispute outcomes are coded the same way:
a code a program can count, words a person can read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .errors import Invalid

# code: (English, Indonesian). The order is the one forms and documents list them in.
REASON_CODES: dict[str, tuple[str, str]] = {
    "item_not_received": ("The item was not received", "Barang tidak diterima"),
    "damaged": ("The item arrived damaged", "Barang diterima dalam keadaan rusak"),
    "wrong_item": ("The wrong item was sent", "Barang yang dikirim salah"),
    "incomplete": ("Items were missing from the order", "Barang yang diterima tidak lengkap"),
    "not_as_described": (
        "The item is not as described",
        "Barang tidak sesuai deskripsi",
    ),
    "counterfeit": ("The item is counterfeit", "Barang palsu"),
    "return_not_received": (
        "The seller did not receive the return",
        "Barang retur tidak diterima penjual",
    ),
    "seller_unresponsive": ("The seller did not respond", "Penjual tidak merespons"),
    "buyer_unresponsive": ("The buyer did not respond", "Pembeli tidak merespons"),
    "insufficient_evidence": (
        "The evidence was not sufficient",
        "Bukti tidak mencukupi",
    ),
    "buyer_changed_mind": ("The buyer changed their mind", "Pembeli berubah pikiran"),
    "other": ("Another reason, given in the rationale", "Alasan lain, lihat pertimbangan"),
}
LANGUAGES = ("en", "id")

# The service's own closings: the code and the rationale they record.
AUTOMATIC: dict[str, tuple[str, str]] = {
    "auto_close": (
        "buyer_unresponsive",
        "Closed by the service: the buyer did not ship the return within the time given, so "
        "the held money goes to the seller.",
    ),
    "auto_complete": (
        "buyer_unresponsive",
        "Closed by the service: the buyer neither confirmed nor disputed the shipment within "
        "the time given, so it is taken as received.",
    ),
}


def label(code: str) -> dict[str, str]:
    """The code's label in each language both parties may read it in."""
    return dict(zip(LANGUAGES, REASON_CODES[code], strict=True))


def check_considered(considered: Sequence[str], evidence: Sequence[Mapping]) -> list[str]:
    """The evidence a decision says it considered, checked against the complaint's own:
    every id one of its pieces, each once, and at least one when there is any (`Invalid`)."""
    known = {item["id"] for item in evidence}
    errors: list[str] = []
    unknown = [eid for eid in considered if eid not in known]
    if unknown:
        errors += [f"no evidence {eid} on this complaint" for eid in unknown]
    if len(set(considered)) != len(considered):
        errors.append("each piece of evidence once")
    if known and not considered:
        errors.append("name at least one piece of the evidence the decision weighed")
    if errors:
        raise Invalid(
            "A decision names the evidence it considered, from this complaint's own.",
            {"evidence_considered": errors},
        )
    return list(considered)
