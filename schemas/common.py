"""Field types shared by the request and response schemas."""

from __future__ import annotations

import math
from datetime import UTC

from marshmallow import ValidationError, fields, validate

from resolution.domain.events import iso
from resolution.domain.identifiers import CHANNEL, EXTERNAL_ID, OBJECT_ID

# The same formats as the service checks in paths (resolution/domain/identifiers.py).
OBJECT_ID_PATTERN = rf"^{OBJECT_ID.pattern}\Z"
CHANNEL_PATTERN = rf"^{CHANNEL.pattern}\Z"
EXTERNAL_ID_PATTERN = rf"^{EXTERNAL_ID.pattern}\Z"

MAX_RUPIAH = 10**13  # ten trillion rupiah: above any single order


class JsonInteger(fields.Integer):
    """A JSON number that is an integer, as JSON Schema's `integer` says: `352` and `352.0`
    alike (one number in JSON), loaded as an `int`; never `352.5`, `"352"` or `true`.

    Every range it is used with ends below 2**53, where a float holds each integer exactly.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(strict=True, **kwargs)

    def _validated(self, value):
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            value = int(value)
        return super()._validated(value)


def money(**kwargs) -> fields.Integer:
    """Whole rupiah, more than zero; an integer in JSON (`352.0` is 352), never a fraction or
    a string; an `int` from here on, so no float comes near money."""
    return JsonInteger(validate=validate.Range(min=1, max=MAX_RUPIAH), **kwargs)


def text(max_length: int, *, min_length: int = 1, **kwargs) -> fields.String:
    return fields.String(validate=validate.Length(min=min_length, max=max_length), **kwargs)


def identifier(**kwargs) -> fields.String:
    """An id from another system (order, shop, sku): printable, no spaces, at most 64 chars."""
    return fields.String(
        validate=validate.Regexp(EXTERNAL_ID_PATTERN, error="not a valid id"),
        **kwargs,
    )


class JsonBoolean(fields.Boolean):
    """`true` or `false` in JSON, never "true", 1 or "yes" (marshmallow's Boolean takes those)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class Instant(fields.AwareDateTime):
    """A timezone-aware time in (years 1970 to 2200, kept in UTC), ISO 8601 with ms out."""

    def _deserialize(self, value, attr, data, **kwargs):
        moment = super()._deserialize(value, attr, data, **kwargs)
        try:
            moment = moment.astimezone(UTC)
        except OverflowError as error:
            raise ValidationError("Not a representable instant.") from error
        if not 1970 <= moment.year <= 2200:
            raise ValidationError("Must be between the years 1970 and 2200.")
        return moment

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else iso(value)
