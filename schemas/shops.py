"""Schemas of a shop's figures: the window asked for."""

from __future__ import annotations

from marshmallow import Schema

from .common import Instant


class ShopFiguresQuery(Schema):
    since = Instant()
    until = Instant()
