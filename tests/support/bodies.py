"""What requests carry: an order, a complaint's opening body, a small real PNG."""

from __future__ import annotations

import io


def order(order_id: str = "INV-1001", **overrides) -> dict:
    """An order as the marketplace has it (`orders.registration` registers it). It carries no
    payment time unless a test gives one: its complaint window then runs from when it was
    registered, so a test opens on it at any clock, the test's or the real one."""
    return {
        "id": order_id,
        "shop_id": "shop-1",
        "channel": "tokopedia",
        "total": 105000,
        "items": [
            {"sku": "KAOS-M", "name": "Kaos polos M", "qty": 2, "price": 45000},
            {"sku": "TOPI", "name": "Topi", "qty": 1, "price": 15000},
        ],
        **overrides,
    }


def complaint_body(order_id: str = "INV-1001", **overrides) -> dict:
    return {
        "order": order(order_id),
        "reason": "damaged",
        "description": "Kaosnya robek di jahitan.",
        "requested_solution": {"kind": "refund", "amount": 45000},
        **overrides,
    }


def png(color: str = "black", side: int = 4) -> bytes:
    """A small, real PNG: the service reads a file's type from its bytes."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (side, side), color).save(out, "PNG")
    return out.getvalue()


def png_file(color: str = "black", side: int = 4) -> io.BytesIO:
    """`png` as an open file, at its start: the `file` part of a multipart upload."""
    return io.BytesIO(png(color, side))
