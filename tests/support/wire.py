"""The API called through `Wire`: every response is checked against the operation's declared
response in openapi.yaml (status, content type, body schema, headers); and the calls the
openapi tests make through it (the counterparts of tests/support/http.py's)."""

from __future__ import annotations

import io
import json
from typing import Any

from tests.support.http import PROBLEM
from tests.support.parties import AUDITOR, BUYER
from tests.support.spec import (
    EVIDENCE,
    EVIDENCE_FILE,
    EVIDENCE_REVIEW,
    NOT_JSON,
    action_path,
    deref,
    escape,
    validator,
)


class Wire:
    """Calls the app and checks each response against the operation's declared response."""

    def __init__(self, client, spec: dict) -> None:
        self.client, self.spec = client, spec
        self.seen: set[tuple[str, str, int]] = set()

    def __call__(
        self,
        method: str,
        template: str,
        *,
        id: str | None = None,
        evidence_id: str | None = None,
        delivery_id: str | None = None,
        query: dict | None = None,
        headers: dict | None = None,
        **kwargs,
    ):
        url = template.replace("{id}", id) if id is not None else template
        url = url.replace("{evidence_id}", evidence_id) if evidence_id is not None else url
        url = url.replace("{delivery_id}", delivery_id) if delivery_id is not None else url
        response = self.client.open(
            url, method=method.upper(), query_string=query, headers=headers or {}, **kwargs
        )
        self.check(method, template, response)
        self.seen.add((template, method, response.status_code))
        return response

    def check(self, method: str, template: str, response) -> None:
        status = str(response.status_code)
        op = self.spec["paths"][template][method]
        binary = (template, method, status) in NOT_JSON
        body_text = "" if binary else response.get_data(as_text=True)
        assert status in op["responses"], (
            f"{method.upper()} {template} answered {status}, not declared: {body_text}"
        )
        pointer = f"/paths/{escape(template)}/{method}/responses/{status}"
        pointer, declared = deref(self.spec, op["responses"][status], pointer)
        if response.status_code >= 400:
            assert response.mimetype == PROBLEM, (status, response.content_type)
        if "content" not in declared:  # 304: no body at all
            assert response.get_data() == b"", (method, template, status)
        elif binary:  # a file, an export: checked by its headers below
            assert response.mimetype in declared["content"], (status, response.content_type)
        else:
            assert response.mimetype in declared["content"], (status, response.content_type)
            body = json.loads(body_text)
            schema_at = f"{pointer}/content/{escape(response.mimetype)}/schema"
            errors = sorted(validator(self.spec, schema_at).iter_errors(body), key=str)
            assert not errors, f"{method.upper()} {template} {status}: " + "; ".join(
                f"{list(e.absolute_path)}: {e.message}" for e in errors
            )
        declared_headers = {}
        for name, raw in declared.get("headers", {}).items():
            header_at, header = deref(self.spec, raw, f"{pointer}/headers/{escape(name)}")
            declared_headers[name.lower()] = header
            if header.get("required"):
                assert name in response.headers, (method, template, status, name)
            if name in response.headers:
                value = response.headers[name]
                problems = list(validator(self.spec, f"{header_at}/schema").iter_errors(value))
                assert not problems, (name, value, problems)
        for name in (
            "ETag",
            "Location",
            "Idempotent-Replayed",
            "WWW-Authenticate",
            "Content-Range",
            "Accept-Ranges",
            "Cache-Control",
        ):
            if name in response.headers:
                assert name.lower() in declared_headers, (method, template, status, name)


def act(wire: Wire, cid: str, action: str, who: dict, body: Any = None, **kwargs):
    if body is not None:
        kwargs["json"] = body
    return wire("post", action_path(action), id=cid, headers=who, **kwargs)


def post_message(wire: Wire, cid: str, who: dict, text: str):
    return wire("post", "/v1/complaints/{id}/messages", id=cid, json={"body": text}, headers=who)


def open_complaint(wire: Wire, body: dict, who: dict = BUYER):
    return wire("post", "/v1/complaints", json=body, headers=who)


def upload(wire: Wire, cid: str, who: dict, kind: str, content: bytes, **form):
    """A file uploaded as the API expects it: multipart, the bytes in the part `file`."""
    data = {"kind": kind, **form, "file": (io.BytesIO(content), "a.png")}
    return wire(
        "post", EVIDENCE, id=cid, headers=who, data=data, content_type="multipart/form-data"
    )


def tracking(wire: Wire, cid: str, who: dict, **extra):
    body = {"kind": "tracking", "courier": "J&T", "tracking_number": "JP1234567890", **extra}
    return wire("post", EVIDENCE, id=cid, json=body, headers=who)


def download(wire: Wire, cid: str, eid: str, who: dict, **headers):
    return wire("get", EVIDENCE_FILE, id=cid, evidence_id=eid, headers={**who, **headers})


def review_evidence(wire: Wire, cid: str, eid: str, who: dict, body: Any = None, **kwargs):
    if body is not None:
        kwargs["json"] = body
    return wire("post", EVIDENCE_REVIEW, id=cid, evidence_id=eid, headers=who, **kwargs)


def viewed(wire: Wire, cid: str) -> list[dict]:
    events = wire("get", "/v1/complaints/{id}/events", id=cid, headers=AUDITOR).get_json()
    return [e for e in events["items"] if e["type"] == "evidence_viewed"]
