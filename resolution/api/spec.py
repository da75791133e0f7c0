"""The API describes itself: `openapi.yaml` (the contract, kept at the repository's root) as
YAML and as JSON, with an ETag, and rendered for people at `/docs`, so an integrator reads it
from the running service."""

from __future__ import annotations

import hashlib
import json
import mimetypes
from functools import cache
from importlib import resources
from pathlib import Path

import yaml
from flask import Blueprint, Response, render_template, request

from ..domain.errors import NotFound

bp = Blueprint("spec", __name__, template_folder="templates")
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


# `/docs`: Swagger UI, from the files the flask-swagger-ui package ships (nothing from a CDN:
# the page works offline), started by a script of ours, so the page's policy needs no inline
# script. Swagger UI sets inline styles and draws its icons as data: images.
SWAGGER_UI = resources.files("flask_swagger_ui") / "dist"
DOCS_ASSETS = {
    "swagger-ui.css": SWAGGER_UI,
    "swagger-ui-bundle.js": SWAGGER_UI,
    "favicon-32x32.png": SWAGGER_UI,
    "docs.js": resources.files(__package__) / "static",
}
DOCS_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; "
    "form-action 'none'"
)


@bp.get("/docs")
def docs() -> Response:
    response = Response(render_template("docs.html"), mimetype="text/html")
    response.headers["Content-Security-Policy"] = DOCS_POLICY
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.get("/docs/<name>")
def docs_asset(name: str) -> Response:
    if name not in DOCS_ASSETS:
        raise NotFound("No such file of the API's documentation page.")
    body, tag = _asset(name)
    response = Response(body, mimetype=mimetypes.guess_type(name)[0])
    response.set_etag(tag)
    response.headers["Cache-Control"] = "public, max-age=3600"
    response.headers["Content-Security-Policy"] = DOCS_POLICY
    return response.make_conditional(request)


@cache
def _asset(name: str) -> tuple[bytes, str]:
    """A file of the page, read once (about 2 MB in all), and its ETag."""
    body = (DOCS_ASSETS[name] / name).read_bytes()
    return body, hashlib.sha256(body).hexdigest()[:32]
