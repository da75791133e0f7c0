"""What a data subject may be told (report: JSON and a printable page in both languages), and
every identity document one agent opened between two instants."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest

from tests.support.bodies import png
from tests.support.evidence import download
from tests.support.http import act, assert_problem, open_complaint, uploaded
from tests.support.parties import AUDITOR, BUYER, CARE, CARE_2, SELLER, auth

REPORT = "/v1/data-subjects/{}/report"
VIEWS = "/v1/audit/identity-views"


@pytest.fixture
def case(client, clock):
    """buyer-1's closed complaint: a description, a message, a KTP read by two agents (one
    of them a range), a photo."""
    cid = open_complaint(client, description="Kaos robek di jahitan.")
    assert (
        client.post(
            f"/v1/complaints/{cid}/messages", json={"body": "Halo?"}, headers=BUYER
        ).status_code
        == 201
    )
    ktp = uploaded(client, cid, BUYER, "identity_document", png(), "ktp.png", caption="KTP saya")
    photo = uploaded(client, cid, BUYER, "photo", png(), "foto.png")
    clock.advance(minutes=1)
    assert download(client, cid, ktp["id"], CARE).status_code == 200
    clock.advance(minutes=1)
    assert download(client, cid, ktp["id"], CARE_2, Range="bytes=0-9").status_code == 206
    clock.advance(minutes=1)
    act(client, cid, "withdraw", BUYER)
    return cid, ktp, photo


def test_the_report_names_every_field_file_and_view(client, clock, case):
    cid, ktp, photo = case
    response = client.get(REPORT.format("buyer:buyer-1"), headers=AUDITOR)
    assert response.status_code == 200 and response.mimetype == "application/json"
    report = response.get_json()
    assert report["subject_id"] == "buyer:buyer-1"
    (complaint,) = report["complaints"]
    assert complaint["id"] == cid and complaint["state"] == "closed" and complaint["closed_at"]
    held = {(f["type"], f["field"]): f["value"] for f in complaint["fields"]}
    assert held[("open", "description")] == "Kaos robek di jahitan."
    assert held[("message", "body")] == "Halo?"
    assert held[("evidence_added", "caption")] == "KTP saya"
    files = {f["evidence_id"]: f for f in report["files"]}
    assert set(files) == {ktp["id"], photo["id"]}
    closed = complaint["closed_at"]
    assert files[ktp["id"]]["state"] == "kept"
    assert files[ktp["id"]]["retained_until"] > closed  # 30 days after the closing
    assert files[photo["id"]]["retained_until"] > files[ktp["id"]]["retained_until"]
    views = [(v["viewer"]["id"], v["bytes"]) for v in report["views"]]
    assert views == [("agent-1", ktp["file"]["size"]), ("agent-2", 10)]


def test_the_report_prints_in_both_languages(client, clock, case):
    for lang, heading in (("id", "Data pribadi"), ("en", "Personal data held about")):
        page = client.get(
            REPORT.format("buyer:buyer-1"),
            query_string={"format": "html", "lang": lang},
            headers=CARE,
        )
        assert page.status_code == 200 and page.mimetype == "text/html"
        text = page.get_data(as_text=True)
        assert heading in text and "Kaos robek di jahitan." in text and "agent-2" in text
        assert page.headers["Content-Security-Policy"].startswith("default-src 'none'")
    browser = client.get(REPORT.format("buyer:buyer-1"), headers={**CARE, "Accept": "text/html"})
    assert browser.mimetype == "text/html"


@pytest.mark.parametrize(
    "who", [BUYER, SELLER, auth("integration", "market-1", channels=("tokopedia",))]
)
def test_reports_and_views_are_for_care_and_auditors(client, clock, case, who):
    assert_problem(client.get(REPORT.format("buyer:buyer-1"), headers=who), 403)
    assert_problem(client.get(VIEWS, query_string={"viewer": "agent-1"}, headers=who), 403)


def test_an_unknown_subject_is_404_and_a_malformed_one_422(client, clock, case):
    assert_problem(client.get(REPORT.format("buyer:nobody"), headers=CARE), 404)
    assert_problem(client.get(REPORT.format("nobody"), headers=CARE), 422)


def test_identity_views_of_one_agent_between_two_instants(client, clock, case):
    cid, ktp, _ = case
    start = clock.now - timedelta(hours=1)

    def views(**params):
        response = client.get(VIEWS, query_string=params, headers=AUDITOR)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    got = views(viewer="agent-1", since=start.isoformat())
    assert [(v["complaint_id"], v["evidence_id"], v["bytes"]) for v in got["items"]] == [
        (cid, ktp["id"], ktp["file"]["size"])
    ]
    assert got["next_cursor"] is None
    assert views(viewer="agent-2")["items"][0]["bytes"] == 10
    read_at = got["items"][0]["at"]
    assert views(viewer="agent-1", until=read_at)["items"] == []  # until is exclusive
    assert views(viewer="agent-1", since=read_at)["items"] == got["items"]
    assert views(viewer="agent-9")["items"] == []
    # Pages: one read a page, then none.
    for _ in range(2):
        clock.advance(minutes=11)
        assert download(client, cid, ktp["id"], CARE).status_code == 200
    first = views(viewer="agent-1", limit=2)
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = views(viewer="agent-1", limit=2, cursor=first["next_cursor"])
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    assert_problem(client.get(VIEWS, headers=AUDITOR), 422)  # viewer is required
    # A cursor of another viewer's pages, an edited one, or none at all: 400 `bad-cursor`.
    cursor = first["next_cursor"]
    at, cid_, seq, _ = base64.urlsafe_b64decode(cursor).decode().split("|")
    earlier = f"{at}|{cid_}|{int(seq) - 1}|{_}"  # another position, the check kept
    edited = base64.urlsafe_b64encode(earlier.encode()).decode()
    for viewer, bad in (("agent-2", cursor), ("agent-1", edited), ("a", "x")):
        answer = client.get(VIEWS, query_string={"viewer": viewer, "cursor": bad}, headers=AUDITOR)
        assert_problem(answer, 400)
        assert answer.get_json()["type"] == "/problems/bad-cursor"
