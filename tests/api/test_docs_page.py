"""`/docs` renders the contract for people, from files the service serves itself (offline)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit


def test_docs_serves_swagger_ui_with_every_asset_from_the_service(client):
    page = client.get("/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets), assets
    for asset in assets:
        parts = urlsplit(asset)
        assert not parts.scheme and not parts.netloc, f"{asset} is not the service's own"
        answer = client.get(asset)
        assert answer.status_code == 200, asset
        assert answer.content_length or answer.get_data(), asset
    spec = re.search(r'data-spec="([^"]+)"', html).group(1)
    assert client.get(spec).get_json()["openapi"].startswith("3.1")


def test_docs_page_runs_no_inline_script_and_loads_only_from_itself(client):
    policy = client.get("/docs").headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";") if " " in d.strip())
    assert directives["script-src"] == "'self'"
    assert directives["connect-src"] == "'self'"
    assert directives["default-src"] == "'none'"
    assert "frame-ancestors 'none'" in policy
    html = client.get("/docs").get_data(as_text=True)
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "no inline script"


def test_an_unknown_docs_file_is_a_problem(client):
    answer = client.get("/docs/..%2Fspec.py")
    assert answer.status_code == 404 and answer.mimetype == "application/problem+json"
    assert client.get("/docs/index.html").status_code == 404
