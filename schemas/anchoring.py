"""Checkpoints, the key history and a complaint's inclusion proof, as the API shows them."""

from __future__ import annotations

from marshmallow import Schema, fields, validate


class CheckpointSchema(Schema):
    n = fields.Integer()
    size = fields.Integer()
    events = fields.Integer()
    time = fields.String()
    root = fields.String()
    prev = fields.String()
    key = fields.String()
    signature = fields.String()
    line = fields.String()


class SigningKeySchema(Schema):
    key = fields.String()
    public_key = fields.String()
    first_used = fields.String()
    last_used = fields.String()


class CheckpointPageSchema(Schema):
    items = fields.List(fields.Nested(CheckpointSchema))
    keys = fields.List(fields.Nested(SigningKeySchema))
    next_before = fields.Integer(allow_none=True)


class ListCheckpointsQuery(Schema):
    before = fields.Integer(validate=validate.Range(min=2, max=2**53))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class ProofSchema(Schema):
    complaint_id = fields.String()
    seq = fields.Integer()
    hash = fields.String()
    index = fields.Integer()
    path = fields.List(fields.String())
    checkpoint = fields.String()
    public_key = fields.String(allow_none=True)
    current = fields.Boolean()
