"""The audit export, a party's printable record and webhook management answer as openapi.yaml
says, on the wire: their successes (NDJSON, CSV, HTML, subscriptions, deliveries) and refusals.
"""

from __future__ import annotations

import json

from tests.support.bodies import complaint_body, png
from tests.support.parties import AUDITOR, BUYER, CARE, OTHER_SELLER, SELLER, auth
from tests.support.spec import AUDIT, CASE_EXPORT, validator
from tests.support.wire import open_complaint, upload


def test_the_audit_export_answers_as_the_spec_says(wire, spec):
    cid = open_complaint(wire, complaint_body()).get_json()["id"]
    upload(wire, cid, BUYER, "identity_document", png(), caption="NIK 3171234567890001")
    assert wire("get", AUDIT).status_code == 401
    assert wire("get", AUDIT, headers=BUYER).status_code == 403
    assert wire("get", AUDIT, query={"since": "2025-01-01"}, headers=CARE).status_code == 422

    exported = wire("get", AUDIT, query={"complaint_id": cid}, headers=AUDITOR)
    assert exported.status_code == 200 and exported.mimetype == "application/x-ndjson"
    *records, last = [json.loads(line) for line in exported.get_data(as_text=True).splitlines()]
    record_schema = validator(spec, "/components/schemas/AuditRecord")
    for record in records:
        assert not list(record_schema.iter_errors(record)), record
    assert [r["type"] for r in records] == ["open", "evidence_added"]
    assert "3171234567890001" not in json.dumps(records)
    assert not list(validator(spec, "/components/schemas/AuditManifest").iter_errors(last))
    assert last["manifest"]["count"] == 2 and last["manifest"]["filters"] == {"complaint_id": cid}

    as_csv = wire("get", AUDIT, headers={**CARE, "Accept": "text/csv"})
    assert as_csv.status_code == 200 and as_csv.mimetype == "text/csv"
    assert as_csv.headers["Content-Disposition"].endswith('"resolution-events.csv"')


def test_the_printable_record_answers_as_the_spec_says(wire):
    cid = open_complaint(wire, complaint_body()).get_json()["id"]
    for query, language in (({}, "id"), ({"lang": "en"}, "en")):
        page = wire("get", CASE_EXPORT, id=cid, query=query, headers=SELLER)
        assert page.status_code == 200 and page.mimetype == "text/html"
        assert page.headers["Content-Language"] == language
    assert wire("get", CASE_EXPORT, id=cid).status_code == 401
    assert wire("get", CASE_EXPORT, id=cid, headers=OTHER_SELLER).status_code == 404


def test_webhooks_answer_as_the_spec_says(wire, context):
    from dataclasses import replace

    from resolution.workers import deliverer

    market = auth("integration", "market-1")
    context = replace(context, webhooks_allow_private=True)
    wire.client.application.extensions["resolution.context"] = context
    url = "http://127.0.0.1:9/hooks"  # nothing listens: every attempt fails
    assert wire("post", "/v1/webhooks", json={"url": url}, headers=BUYER).status_code == 403
    assert (
        wire("post", "/v1/webhooks", json={"url": "ftp://x.y/"}, headers=market).status_code == 422
    )
    created = wire("post", "/v1/webhooks", json={"url": url, "types": ["open"]}, headers=market)
    assert created.status_code == 201, created.get_json()
    wid = created.get_json()["id"]
    assert wire("get", "/v1/webhooks", headers=market).status_code == 200
    assert wire("get", "/v1/webhooks/{id}", id=wid, headers=market).status_code == 200
    rotated = wire("post", "/v1/webhooks/{id}/rotate-secret", id=wid, headers=market)
    assert rotated.status_code == 200
    open_complaint(wire, complaint_body())
    deliverer.run(context)
    listing = wire("get", "/v1/webhooks/{id}/deliveries", id=wid, headers=market)
    (delivery,) = listing.get_json()["items"]
    assert delivery["status"] == "pending" and delivery["last_error"]
    again = wire(
        "post",
        "/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver",
        id=wid,
        delivery_id=delivery["id"],
        headers=market,
    )
    assert again.status_code == 202
    assert wire("delete", "/v1/webhooks/{id}", id=wid, headers=market).status_code == 204
    assert wire("get", "/v1/webhooks/{id}", id=wid, headers=market).status_code == 404
