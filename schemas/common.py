"""Field types shared by the request and response schemas."""

from __future__ import annotations

from marshmallow import fields, validate

from resolution.domain.events import iso

MAX_RUPIAH = 10**13  # ten trillion rupiah: above any single order


def money(**kwargs) -> fields.Integer:
    """Whole rupiah, more than zero; an integer in JSON, never a float or a string."""
    return fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_RUPIAH), **kwargs)


def text(max_length: int, *, min_length: int = 1, **kwargs) -> fields.String:
    return fields.String(validate=validate.Length(min=min_length, max=max_length), **kwargs)


def identifier(**kwargs) -> fields.String:
    """An id from another system (order, shop, sku): printable, no spaces, at most 64 chars."""
    return fields.String(
        validate=validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,63}$", error="not a valid id"),
        **kwargs,
    )


class Instant(fields.AwareDateTime):
    """A timezone-aware time in, UTC ISO 8601 with milliseconds out."""

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else iso(value)
