"""The API describes itself: `openapi.yaml` (the contract, kept at the repository's root) as
YAML and as JSON, with an ETag, so an integrator reads it from the running service."""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path

import yaml
from flask import Blueprint, Response, request

from ..domain.errors import NotFound

bp = Blueprint("spec", __name__)
SPEC = Path(__file__).resolve().parents[2] / "openapi.yaml"


@cache
def _spec() -> tuple[bytes, bytes, str]:
    """The file's bytes, the same as JSON, and their ETag (the file's SHA-256)."""
    if not SPEC.is_file():
        raise NotFound("This installation has no openapi.yaml beside the package.")
    raw = SPEC.read_bytes()
    as_json = json.dumps(yaml.safe_load(raw), ensure_ascii=False, indent=2).encode()
    return raw, as_json, hashlib.sha256(raw).hexdigest()[:32]


def _send(body: bytes, mimetype: str, tag: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.set_etag(tag)
    response.headers["Cache-Control"] = "public, max-age=300"
    return response.make_conditional(request)


@bp.get("/openapi.yaml")
def openapi_yaml() -> Response:
    raw, _, tag = _spec()
    return _send(raw, "application/yaml", tag)


@bp.get("/openapi.json")
def openapi_json() -> Response:
    _, as_json, tag = _spec()
    return _send(as_json, "application/json", f"{tag}-json")
