"""Query strings of the personal-data routes (UU PDP): a subject's report, identity views."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from .common import Instant


class SubjectReportQuery(Schema):
    format = fields.String(validate=validate.OneOf(["json", "html"]))
    lang = fields.String(validate=validate.OneOf(["id", "en"]))


class IdentityViewsQuery(Schema):
    viewer = fields.String(
        required=True, validate=validate.Regexp(r"^[A-Za-z0-9._@:-]{1,128}$", error="not an id")
    )
    since = Instant()
    until = Instant()
    cursor = fields.String(validate=validate.Length(min=1, max=200))
    limit = fields.Integer(validate=validate.Range(min=1, max=1000))
