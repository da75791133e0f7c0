"""Demo data for a newcomer: a few complaints in different states, made through the service.

Seeding is idempotent: an order that already has a demo complaint is skipped.
"""

from __future__ import annotations

import io
from datetime import timedelta

from PIL import Image

from ..domain.actors import Actor, Role
from ..domain.errors import NotFound
from . import complaints as service
from . import evidence, orders, settlements
from .unit_of_work import Context

PARTIES = {
    "buyer": ("buyer", "buyer-demo", None),
    "seller": ("seller", "seller-demo", "shop-demo"),
    "care": ("care", "agent-demo", None),
    "auditor": ("auditor", "auditor-demo", None),
    "integration": ("integration", "market-demo", None),
}
# The channels of the demo's orders: the demo's marketplace registers them (and its token,
# printed by `make run`, may register and read more).
CHANNELS = ("tokopedia", "tiktok_shop")
MARKETPLACE = Actor(Role.INTEGRATION, "market-demo", channels=frozenset(CHANNELS))
BUYER = Actor(Role.BUYER, "buyer-demo")
SELLER = Actor(Role.SELLER, "seller-demo", "shop-demo")
CARE = Actor(Role.CARE, "agent-demo")

REFUND = {"kind": "refund", "amount": 52500}
# Each demo: order id, reason, description, requested solution, then the steps after opening.
DEMOS = [
    ("DEMO-1001", "damaged", "Layar retak saat diterima.", REFUND, []),
    (
        "DEMO-1002",
        "not_as_described",
        "Warna berbeda dari foto produk.",
        REFUND,
        [(SELLER, "propose", {"solution": {"kind": "refund", "amount": 20000}})],
    ),
    (
        "DEMO-1003",
        "not_received",
        "Paket belum sampai, resi tidak bergerak.",
        REFUND,
        [(SELLER, "appeal", {"reason": "Resi menunjukkan paket sudah diterima."})],
    ),
    (
        "DEMO-1004",
        "incomplete",
        "Hanya satu dari dua barang yang dikirim.",
        {"kind": "send_remaining", "items": [{"sku": "CASE-01", "qty": 1}]},
        [
            (SELLER, "propose", {"solution": {"kind": "refund", "amount": 10000}}),
            (BUYER, "escalate", {"reason": "Saya ingin barangnya, bukan uang."}),
        ],
    ),
    (
        "DEMO-1005",
        "counterfeit",
        "Barang palsu, tidak ada hologram resmi.",
        {"kind": "return_refund", "amount": 105000},
        [
            (SELLER, "appeal", {"reason": "Barang asli, ada sertifikat distributor."}),
            (BUYER, "escalate", {"reason": "Mohon dicek oleh Tokopedia Care."}),
            (CARE, "assign", {}),
        ],
    ),
    (
        "DEMO-1006",
        "wrong_item",
        "Ukuran yang dikirim salah.",
        {"kind": "exchange", "items": [{"sku": "PHONE-01", "qty": 1}]},
        [(SELLER, "accept", {})],
    ),
    (
        "DEMO-1007",
        "damaged",
        "Kemasan penyok, barang lecet.",
        REFUND,
        [
            (SELLER, "propose", {"solution": {"kind": "refund", "amount": 30000}}),
            (BUYER, "accept", {}),
        ],
    ),
    (
        "DEMO-1008",
        "not_as_described",
        "Bahan tidak sesuai deskripsi.",
        REFUND,
        [(SELLER, "accept", {})],
    ),
]
# Demo settlements the marketplace's payment system could not pay: the console's queue of
# failed settlements has one to retry (seed 004: payouts wait on the seller's verified identity).
FAILED = {"DEMO-1008": "Rekening penjual belum terverifikasi (KTP belum dicocokkan)."}


def _channel(order_id: str) -> str:
    return CHANNELS[0] if order_id[-1] in "1357" else CHANNELS[1]


def _registered(ctx: Context, order_id: str) -> None:
    """The demo order, registered by the demo's marketplace as any order is (once: a second
    seeding leaves it as it is)."""
    channel = _channel(order_id)
    try:
        orders.get_order(ctx, MARKETPLACE, channel, order_id)
        return
    except NotFound:
        pass
    paid_at = ctx.clock() - timedelta(days=5)
    payment = {"method": "ewallet" if order_id[-1] in "24" else "transfer", "status": "paid"}
    body = {
        "buyer_id": BUYER.id,
        "shop_id": SELLER.shop_id,
        "total": 105000,
        "items": [
            {"sku": "PHONE-01", "name": "Ponsel Android 6.5 inci", "qty": 1, "price": 95000},
            {"sku": "CASE-01", "name": "Casing ponsel", "qty": 1, "price": 10000},
        ],
        "payment": {**payment, "paid_at": paid_at},
        "shipment": {
            "courier": "J&T",
            "tracking_number": f"JP{order_id[-4:]}0001",
            "shipped_at": paid_at + timedelta(days=1),
            "delivered_at": paid_at + timedelta(days=2),
        },
        "invoice_url": f"https://{channel.replace('_', '')}.example/invoice/{order_id}",
        "held_amount": 105000,
    }
    orders.register(ctx, MARKETPLACE, channel, order_id, body)


def seed(ctx: Context) -> int:
    """Creates the demo complaints that do not exist yet; returns how many it created."""
    seen: set[str] = set()
    cursor = None
    while True:
        page, cursor = service.list_complaints(ctx, BUYER, limit=100, cursor=cursor)
        seen.update(c.order["id"] for c in page)
        if cursor is None:
            break
    created = 0
    for order_id, reason, description, solution, steps in DEMOS:
        if order_id in seen:
            continue
        _registered(ctx, order_id)
        request = {
            "order": {"channel": _channel(order_id), "id": order_id},
            "reason": reason,
            "description": description,
            "requested_solution": solution,
        }
        complaint = service.open_complaint(ctx, BUYER, request).complaint
        for actor, action, body in steps:
            complaint = service.act(ctx, actor, complaint.id, action, body).complaint
        if order_id in FAILED:
            settlements.fail(ctx, MARKETPLACE, complaint.settlement["id"], FAILED[order_id])
        if order_id in EVIDENCE:
            _add_evidence(ctx, complaint.id)
        created += 1
    return created


# The demo case in mediation carries evidence of each sort, so care has something to look at.
EVIDENCE = {"DEMO-1005"}


def _add_evidence(ctx: Context, complaint_id: str) -> None:
    photo = io.BytesIO()
    Image.new("RGB", (320, 240), (180, 40, 40)).save(photo, "JPEG")
    ktp = io.BytesIO()
    Image.new("RGB", (320, 200), (40, 90, 180)).save(ktp, "PNG")
    for image, kind, caption, name in (
        (photo, "photo", "Tidak ada hologram resmi di kemasan.", "kemasan.jpg"),
        (ktp, "identity_document", "KTP pembeli", "ktp.png"),
    ):
        image.seek(0)
        request = {"kind": kind, "caption": caption}
        evidence.add_evidence(ctx, BUYER, complaint_id, request, image, name)
    tracking = {"kind": "tracking", "courier": "J&T", "tracking_number": "JP1234567890"}
    evidence.add_evidence(ctx, SELLER, complaint_id, tracking)
