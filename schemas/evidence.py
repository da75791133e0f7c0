"""Schemas of evidence: the upload form, the tracking JSON, reviews, and how evidence is shown."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from resolution.domain.evidence import CONTENT_TYPES

from .common import JsonBoolean, JsonInteger, text
from .complaints import ShipmentSchema


class EvidenceFormSchema(Schema):
    """The fields beside the file in a `multipart/form-data` upload."""

    kind = fields.String(required=True, validate=validate.OneOf(list(CONTENT_TYPES)))
    caption = text(500)
    care_only = fields.Boolean(load_default=False)
    answers = fields.Integer(strict=False, validate=validate.Range(min=1, max=10**9))


class TrackingEvidenceSchema(ShipmentSchema):
    """A courier's tracking number as evidence, sent as JSON (no file)."""

    kind = fields.String(
        required=True,
        validate=validate.Equal(
            "tracking", error="JSON is for kind tracking; upload files as multipart/form-data"
        ),
    )
    caption = text(500)
    care_only = JsonBoolean(load_default=False)
    answers = JsonInteger(validate=validate.Range(min=1, max=10**9))


class ReviewSchema(Schema):
    note = text(2000, required=True)


class EvidenceFileSchema(Schema):
    content_type = fields.String()
    size = fields.Integer()
    sha256 = fields.String()
    filename = fields.String()


class ReviewShownSchema(Schema):
    by = fields.String()
    at = fields.String()
    note = fields.String()


class EvidenceSchema(Schema):
    """An evidence entry; for a party that may not open it, only the bare mention."""

    id = fields.String()
    kind = fields.String()
    by = fields.Dict()
    at = fields.String()
    care_only = fields.Boolean()
    restricted = fields.Boolean()
    caption = fields.String()
    file = fields.Nested(EvidenceFileSchema)
    courier = fields.String()
    tracking_number = fields.String()
    reviewed = fields.Nested(ReviewShownSchema, allow_none=True)
    erased_at = fields.String()
    purged_at = fields.String()
    href = fields.String()
