"""The care console through the Flask test client, on a real database: sign-in, refusals,
CSRF, the queue, a case page, every action, a stale page, languages and times."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from html import unescape

import pytest

from benchmarks import _data
from resolution.console.diagram import svg_path
from resolution.domain.lifecycle import Lifecycle
from resolution.store.documents import ComplaintDocument
from resolution.web.i18n import LANGUAGES
from tests.support.bodies import complaint_body, order, png
from tests.support.http import act, uploaded
from tests.support.orders import registration
from tests.support.parties import BUYER, CARE, MARKETPLACE, SELLER, token

PHOTO = png("red", 8)  # what parties upload here
CSRF = re.compile(r'name="(?:[\w-]*-)?csrf_token" type="hidden" value="([^"]+)"')


def csrf_of(response) -> str:
    return CSRF.search(response.get_data(as_text=True)).group(1)


def version_of(html: str, form_id: str) -> str:
    form = re.search(rf'<form[^>]*id="{form_id}".*?</form>', html, re.S).group(0)
    return re.search(r'name="version" type="hidden" value="(\d+)"', form).group(1)


def sign_in(client, sub: str = "agent-1", role: str = "care"):
    page = client.get("/console/login")
    return client.post(
        "/console/login", data={"csrf_token": csrf_of(page), "token": token(role, sub)}
    )


def text_of(response) -> str:
    html = response.get_data(as_text=True)
    html = re.sub(r"<(script|style|svg)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def escalated(client, order_id: str = "INV-1001", **overrides) -> str:
    """A complaint the seller answered and the buyer took to the care team."""
    body = complaint_body(order_id, **overrides)
    cid = client.post("/v1/complaints", json=body, headers=BUYER).get_json()["id"]
    act(client, cid, "propose", SELLER, {"solution": {"kind": "refund", "amount": 20000}})
    act(client, cid, "escalate", BUYER, {"reason": "Penjual tidak mau mengganti."})
    return cid


def complaint(client, cid) -> dict:
    return client.get(f"/v1/complaints/{cid}", headers=CARE).get_json()


def post_form(client, cid, path, form_id, fields, lang=None):
    """Submits a form of the case page as a browser would: its CSRF token and version."""
    page = client.get(f"/console/complaints/{cid}")
    html = page.get_data(as_text=True)
    data = {"csrf_token": csrf_of(page), "version": version_of(html, form_id), **fields}
    return client.post(f"/console/complaints/{cid}/{path}", data=data)


# --- signing in ------------------------------------------------------------------------------


def test_the_sign_in_page_is_indonesian_unless_the_agent_switches(client):
    page = client.get("/console/login")
    assert page.status_code == 200
    assert "Masuk ke konsol care" in text_of(page)
    english = client.get("/console/login?lang=en")
    assert "Sign in to the care console" in text_of(english)
    assert "resolution_lang=en" in english.headers["Set-Cookie"]
    # The choice is remembered by the cookie.
    assert "Sign in to the care console" in text_of(client.get("/console/login"))


def test_a_care_token_signs_in_with_an_httponly_lax_session_cookie(client):
    signed = sign_in(client)
    assert signed.status_code == 302 and signed.headers["Location"].endswith("/console/")
    cookie = signed.headers["Set-Cookie"]
    assert cookie.startswith("resolution_console=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/console" in cookie
    assert "Secure" not in cookie  # plain http in development; https sets it
    queue = client.get("/console/")
    assert queue.status_code == 200 and "agent-1" in text_of(queue)
    assert "default-src 'self'" in queue.headers["Content-Security-Policy"]
    assert queue.headers["Cache-Control"] == "private, no-store"


def test_over_https_the_session_cookie_is_secure(client):
    page = client.get("/console/login", base_url="https://care.example")
    signed = client.post(
        "/console/login",
        data={"csrf_token": csrf_of(page), "token": token("care", "agent-1")},
        base_url="https://care.example",
        headers={"Referer": "https://care.example/console/login"},
    )
    assert signed.status_code == 302
    assert "Secure" in signed.headers["Set-Cookie"]


def test_the_session_never_holds_the_token(client):
    signed = sign_in(client)
    assert token("care", "agent-1").split(".")[1] not in signed.headers["Set-Cookie"]


@pytest.mark.parametrize("role", ["buyer", "seller", "auditor"])
def test_a_token_of_another_role_is_refused_with_a_clear_page(client, role):
    page = client.get("/console/login?lang=en")
    refused = client.post(
        "/console/login",
        data={"csrf_token": csrf_of(page), "token": token(role, "someone", "shop-1")},
    )
    assert refused.status_code == 403
    assert "This console is for the care team" in text_of(refused)
    kinds = {"buyer": "a buyer's token", "seller": "a seller's token"}
    assert kinds.get(role, "an auditor's token") in text_of(refused)
    assert client.get("/console/").status_code == 302  # still not signed in


def test_a_forged_or_expired_token_is_refused_on_the_form(client):
    page = client.get("/console/login?lang=en")
    forged = token("care", "agent-1")[:-4] + "AAAA"
    refused = client.post("/console/login", data={"csrf_token": csrf_of(page), "token": forged})
    assert refused.status_code == 401
    assert "This token cannot be used" in text_of(refused)


def test_pages_need_a_signed_in_agent(client):
    cid = escalated(client)
    for path in ("/console/", f"/console/complaints/{cid}"):
        response = client.get(path)
        assert response.status_code == 302
        assert "/console/login?next=" in response.headers["Location"]
    # A bearer token is not a console sign-in.
    assert client.get("/console/", headers=CARE).status_code == 302


def test_sign_in_returns_to_the_page_asked_for_and_never_to_another_site(client):
    cid = escalated(client)
    page = client.get("/console/login")
    back = client.post(
        f"/console/login?next=/console/complaints/{cid}",
        data={"csrf_token": csrf_of(page), "token": token("care", "agent-1")},
    )
    assert back.headers["Location"].endswith(f"/console/complaints/{cid}")
    for target in ("https://evil.example/", "//evil.example/console/", "/console//evil.example"):
        page = client.get("/console/login")
        away = client.post(
            f"/console/login?next={target}",
            data={"csrf_token": csrf_of(page), "token": token("care", "agent-1")},
        )
        assert away.headers["Location"].endswith("/console/"), target


def test_sign_out_ends_the_session(client):
    sign_in(client)
    queue = client.get("/console/")
    out = client.post("/console/logout", data={"csrf_token": csrf_of(queue)})
    assert out.status_code == 302
    assert client.get("/console/").status_code == 302


# --- CSRF ------------------------------------------------------------------------------------


def test_a_form_without_its_csrf_token_changes_nothing(client):
    cid = escalated(client)
    sign_in(client)
    version = complaint(client, cid)["version"]
    refused = client.post(
        f"/console/complaints/{cid}/assign?lang=en", data={"version": str(version)}
    )
    assert refused.status_code == 400
    assert "no valid security token" in text_of(refused)
    assert complaint(client, cid)["state"] == "awaiting_care"
    forged = client.post(
        f"/console/complaints/{cid}/assign", data={"version": str(version), "csrf_token": "x"}
    )
    assert forged.status_code == 400
    assert complaint(client, cid)["version"] == version


def test_sign_in_itself_needs_the_csrf_token(client):
    response = client.post("/console/login", data={"token": token("care", "agent-1")})
    assert response.status_code == 400
    assert client.get("/console/").status_code == 302


def test_the_api_takes_no_csrf_token(client):
    # Bearer tokens are not sent by browsers on their own: the API stays as it was.
    cid = escalated(client)
    act(client, cid, "assign", CARE)


# --- the queue -------------------------------------------------------------------------------


def test_the_queue_lists_escalated_complaints_oldest_first_with_the_overdue_ones_marked(
    client, clock
):
    first = escalated(client, "INV-1")
    clock.advance(hours=20)
    second = escalated(client, "INV-2", reason="wrong_item")
    client.post("/v1/complaints", json=complaint_body("INV-3"), headers=BUYER)  # not escalated
    clock.advance(hours=5)
    sign_in(client)
    queue = client.get("/console/?lang=en")
    html = queue.get_data(as_text=True)
    rows = re.findall(r'<tr class="([^"]*)" data-complaint="(\w+)"', html)
    assert [cid for _, cid in rows] == [first, second]
    assert [cls for cls, _ in rows] == ["overdue", ""]
    text = text_of(queue)
    assert "Overdue by 1 h" in text  # 25 hours after escalation, SLA 24 h
    assert "25 h" in text and "5 h" in text  # time waiting
    assert "INV-3" not in text
    only_wrong = text_of(client.get("/console/?reason=wrong_item&lang=en"))
    assert "INV-2" in only_wrong and "INV-1 " not in only_wrong
    overdue = text_of(client.get("/console/?overdue=1&lang=en"))
    assert "INV-1" in overdue and "INV-2" not in overdue


def test_the_queue_filters_by_state_channel_and_assignee(client, clock):
    mine = escalated(client, "INV-1")
    clock.advance(seconds=1)  # the queue is oldest escalation first (ids are random)
    other = escalated(client, "INV-2")
    clock.advance(seconds=1)
    body = complaint_body("INV-3")
    body["order"]["channel"] = "tiktok_shop"
    shop = client.post("/v1/complaints", json=body, headers=BUYER).get_json()["id"]
    act(client, shop, "propose", SELLER, {"solution": {"kind": "refund", "amount": 20000}})
    act(client, shop, "escalate", SELLER, {"reason": "Pembeli tidak menjawab."})
    act(client, mine, "assign", CARE)
    act(client, other, "assign", {"Authorization": f"Bearer {token('care', 'agent-2')}"})
    sign_in(client)

    def listed(query: str) -> list[str]:
        html = client.get(f"/console/?{query}").get_data(as_text=True)
        return re.findall(r'data-complaint="(\w+)"', html)

    assert listed("mine=1") == [mine]
    assert listed("state=awaiting_care") == [shop]
    assert listed("state=in_mediation") == [mine, other]
    assert listed("channel=tiktok_shop") == [shop]
    assert listed("state=closed") == [mine, other, shop]  # not a queue state: ignored
    assert 'value="tiktok_shop"' in client.get("/console/").get_data(as_text=True)


def test_the_queue_is_paginated(client, clock):
    made = []
    for number in range(23):
        made.append(escalated(client, f"INV-{number:02}"))
        clock.advance(minutes=1)
    sign_in(client)
    first = client.get("/console/?lang=en")
    assert re.findall(r'data-complaint="(\w+)"', first.get_data(as_text=True)) == made[:20]
    assert "page 1 of 2" in text_of(first)
    second = client.get("/console/?page=2").get_data(as_text=True)
    assert re.findall(r'data-complaint="(\w+)"', second) == made[20:]
    beyond = client.get("/console/?page=99").get_data(as_text=True)
    assert re.findall(r'data-complaint="(\w+)"', beyond) == made[20:]


# --- the case page ---------------------------------------------------------------------------


def test_the_case_page_tells_the_whole_case_in_plain_words(client):
    cid = escalated(client, description="Kaos robek. NIK saya 3171234567890001.")
    uploaded(client, cid, BUYER, "photo", PHOTO, "photo.png", caption="Foto kerusakan")
    client.post(f"/v1/complaints/{cid}/messages", json={"body": "Mohon dibantu."}, headers=BUYER)
    sign_in(client)
    page = client.get(f"/console/complaints/{cid}?lang=en")
    assert page.status_code == 200
    text = text_of(page)
    html = page.get_data(as_text=True)
    assert "INV-1001" in text and "tokopedia" in text and "buyer-1" in text and "shop-1" in text
    assert "Kaos polos M" in text and "Rp 105.000" in text
    assert "Waiting for the care team" in text
    assert "the care team, until" in text and "WIB" in text
    assert "a refund of Rp 20.000, proposed by the seller" in text
    # The timeline: one line per event, in plain words.
    assert [int(s) for s in re.findall(r'id="event-(\d+)"', html)] == list(range(1, 6))
    assert "The buyer (buyer-1) opened the complaint (Item damaged)" in text
    assert "The buyer (buyer-1) asked the care team for help." in text
    assert "Mohon dibantu." in text  # the thread
    assert "3171234567890001" not in html and "0001" in text  # a NIK shows its last digits
    # Evidence: a thumbnail of the photo, served by the console.
    evidence_id = client.get(f"/v1/complaints/{cid}/evidence", headers=CARE).get_json()["items"]
    src = f"/console/complaints/{cid}/evidence/{evidence_id[0]['id']}/file"
    assert f'<img class="thumb" src="{src}"' in html
    assert client.get(src).status_code == 200
    # The lifecycle diagram marks the current state and the ways out of it.
    assert re.search(r'id="state(?:-|&#45;)awaiting_care" class="node state current"', html)
    assert re.search(
        r'id="edge(?:-|&#45;)awaiting_care(?:-|&#45;)in_mediation" class="[^"]*next"', html
    )
    # Only what the machine allows care now: assign, and a message.
    assert 'id="form-assign"' in html and 'id="form-message"' in html
    assert 'id="form-decide"' not in html and 'id="form-request-evidence"' not in html


def test_the_case_page_shows_the_orders_payment_shipment_and_its_changes(client):
    cid = escalated(client)
    shipped = registration(order("INV-1001"), "buyer-1")
    shipped["payment"] = {"method": "cod", "status": "cod_collected"}
    shipped["shipment"] = {"courier": "J&T", "tracking_number": "JP777", "delivered_at": None}
    shipped["held_amount"] = 90000
    assert client.put("/v1/orders/tokopedia/INV-1001", json=shipped, headers=MARKETPLACE)
    sign_in(client)
    text = text_of(client.get(f"/console/complaints/{cid}?lang=en"))
    assert "cash on delivery, paid on delivery" in text
    assert "J&T JP777" in text and "Rp 90.000" in text
    assert "Changes to the order" in text
    assert "The marketplace (market-1) updated the order: payment now cash on delivery" in text


def test_an_unknown_complaint_is_a_readable_404(client):
    sign_in(client)
    for cid in ("0" * 24, "not-an-id"):
        missing = client.get(f"/console/complaints/{cid}?lang=en")
        assert missing.status_code == 404 and missing.mimetype == "text/html"
        assert "Not found" in text_of(missing)


def test_times_are_shown_in_wib(client, clock):
    cid = escalated(client)
    sign_in(client)
    local = clock.now + timedelta(hours=7)
    assert f"{local:%H}.{local:%M} WIB" in text_of(client.get(f"/console/complaints/{cid}"))


# --- actions ---------------------------------------------------------------------------------


def test_care_takes_a_case_from_assignment_to_decision_through_the_forms(client):
    cid = escalated(client)
    sign_in(client)
    assigned = post_form(client, cid, "assign", "form-assign", {})
    assert assigned.status_code == 302
    assert complaint(client, cid)["assigned_to"] == "agent-1"
    page = client.get(f"/console/complaints/{cid}?lang=en")
    assert "Komplain ini sekarang Anda tangani." in text_of(page)  # said in the POST's language
    html = page.get_data(as_text=True)
    assert 'id="form-assign"' not in html and 'id="form-request-evidence"' in html

    asked = post_form(
        client,
        cid,
        "request-evidence",
        "form-request-evidence",
        {"party": "buyer", "what": "Video unboxing, tolong.", "due": "2025-06-07T10:00"},
    )
    assert asked.status_code == 302
    request = complaint(client, cid)["evidence_request"]
    assert request["party"] == "buyer" and request["what"] == "Video unboxing, tolong."
    assert request["due_at"].startswith("2025-06-07T03:00")  # 10.00 WIB
    waiting = client.get(f"/console/complaints/{cid}?lang=en")
    assert 'id="form-decide"' not in waiting.get_data(as_text=True)
    assert "Deciding waits for the evidence you requested" in text_of(waiting)

    sent = uploaded(
        client,
        cid,
        BUYER,
        "photo",
        PHOTO,
        "photo.png",
        caption="Video unboxing",
        answers=request["id"],
    )
    arrived = text_of(client.get(f"/console/complaints/{cid}?lang=en"))
    assert "Video unboxing" in arrived and "Answered" in arrived
    page = client.get(f"/console/complaints/{cid}")
    fields = {
        "csrf_token": csrf_of(page),
        f"review-{sent['id']}-version": "",
        f"review-{sent['id']}-note": "Terlihat retak sejak diterima.",
    }
    html = page.get_data(as_text=True)
    fields[f"review-{sent['id']}-version"] = re.search(
        rf'name="review-{sent["id"]}-version" type="hidden" value="(\d+)"', html
    ).group(1)
    reviewed = client.post(f"/console/complaints/{cid}/evidence/{sent['id']}/review", data=fields)
    assert reviewed.status_code == 302
    items = client.get(f"/v1/complaints/{cid}/evidence", headers=CARE).get_json()["items"]
    assert items[0]["reviewed"]["note"] == "Terlihat retak sejak diterima."

    messaged = post_form(client, cid, "message", "form-message", {"body": "Kami putuskan besok."})
    assert messaged.status_code == 302
    decided = post_form(
        client,
        cid,
        "decide",
        "form-decide",
        {
            "kind": "refund",
            "amount": "45000",
            "reason_code": "damaged",
            "rationale": "Video menunjukkan kerusakan.",
            "considered": sent["id"],
        },
    )
    assert decided.status_code == 302
    closed = complaint(client, cid)
    assert (closed["state"], closed["outcome"]) == ("closed", "decided")
    assert closed["resolution"]["solution"] == {"kind": "refund", "amount": 45000}
    assert closed["resolution"]["reason_code"] == "damaged"
    assert [item["id"] for item in closed["resolution"]["evidence_considered"]] == [sent["id"]]
    final = client.get(f"/console/complaints/{cid}?lang=en")
    text = text_of(final)
    assert "The decision is recorded." in text  # the agent switched to English above
    assert "The care team (agent-1) decided: a refund of Rp 45.000." in text
    assert "The complaint is closed: the care team decided." in text
    assert "The item arrived damaged" in text  # the reason code's label
    assert "held until the review window closes" in text  # the settlement waits for it
    assert "Kami putuskan besok." in text
    assert 'id="form-decide"' not in final.get_data(as_text=True)


def test_a_decision_for_an_exchange_takes_the_items_chosen(client):
    cid = escalated(client)
    act(client, cid, "assign", CARE)
    sign_in(client)
    decided = post_form(
        client,
        cid,
        "decide",
        "form-decide",
        {
            "kind": "exchange",
            "amount": "999",
            "qty-0": "1",
            "qty-1": "",
            "reason_code": "wrong_item",
            "rationale": "Tukar.",
        },
    )
    assert decided.status_code == 302
    closed = complaint(client, cid)
    assert closed["state"] == "awaiting_return"
    assert closed["resolution"]["solution"] == {
        "kind": "exchange",
        "items": [{"sku": "KAOS-M", "qty": 1}],
    }


def test_an_amount_over_the_order_total_is_a_readable_refusal(client):
    cid = escalated(client)
    act(client, cid, "assign", CARE)
    sign_in(client)
    refused = post_form(
        client,
        cid,
        "decide",
        "form-decide",
        {
            "kind": "refund",
            "amount": "999999",
            "reason_code": "damaged",
            "rationale": "Terlalu banyak.",
        },
    )
    assert refused.status_code == 422
    text = text_of(refused)
    # In Indonesian throughout: the field by its label on the form, the rule in words.
    assert "paling banyak total pesanan (105000)" in text, text
    assert "Jumlah" in text and "at most" not in text
    assert "Terlalu banyak." in refused.get_data(as_text=True)  # what was typed is kept
    assert complaint(client, cid)["state"] == "in_mediation"


def test_a_missing_rationale_is_shown_on_the_form(client):
    cid = escalated(client)
    act(client, cid, "assign", CARE)
    sign_in(client)
    refused = post_form(client, cid, "decide", "form-decide", {"kind": "refund", "amount": "1000"})
    assert refused.status_code == 422
    assert 'aria-invalid="true"' in refused.get_data(as_text=True)
    assert complaint(client, cid)["state"] == "in_mediation"


def test_a_stale_page_is_refused_with_a_clear_message_and_the_typed_text_kept(client):
    cid = escalated(client)
    act(client, cid, "assign", CARE)
    sign_in(client)
    page = client.get(f"/console/complaints/{cid}")
    html = page.get_data(as_text=True)
    seen = version_of(html, "form-decide")
    # Someone else acts while the agent reads: the buyer writes.
    client.post(f"/v1/complaints/{cid}/messages", json={"body": "Ada kabar?"}, headers=BUYER)
    data = {
        "csrf_token": csrf_of(page),
        "version": seen,
        "kind": "refund",
        "amount": "45000",
        "reason_code": "other",
        "rationale": "Keputusan saya.",
    }
    stale = client.post(f"/console/complaints/{cid}/decide?lang=en", data=data)
    assert stale.status_code == 409
    text = text_of(stale)
    assert "Someone acted on this complaint after you opened it." in text
    assert "Ada kabar?" in text  # the page shows what changed
    html = stale.get_data(as_text=True)
    assert "Keputusan saya." in html
    assert version_of(html, "form-decide") == str(int(seen) + 1)
    assert complaint(client, cid)["state"] == "in_mediation"  # never a silent overwrite
    # Sent again from the fresh page, it goes through.
    data["version"] = version_of(html, "form-decide")
    assert client.post(f"/console/complaints/{cid}/decide", data=data).status_code == 302
    assert complaint(client, cid)["state"] == "closed"


def test_an_action_the_machine_no_longer_allows_is_explained(client):
    cid = escalated(client)
    sign_in(client)
    page = client.get(f"/console/complaints/{cid}")
    act(client, cid, "assign", {"Authorization": f"Bearer {token('care', 'agent-2')}"})
    version = complaint(client, cid)["version"]
    taken = client.post(
        f"/console/complaints/{cid}/assign?lang=en",
        data={"csrf_token": csrf_of(page), "version": str(version)},
    )
    assert taken.status_code == 409
    assert "Not possible now" in text_of(taken)
    assert "agent-2 owns this case" in text_of(taken)
    assert complaint(client, cid)["assigned_to"] == "agent-2"


def test_identity_documents_open_on_their_own_page_and_every_view_is_recorded(client):
    cid = escalated(client)
    ktp = uploaded(
        client,
        cid,
        BUYER,
        "identity_document",
        PHOTO,
        "identity_document.png",
        caption="KTP pembeli",
    )
    photo = uploaded(client, cid, BUYER, "photo", PHOTO, "photo.png", caption="Foto kerusakan")
    sign_in(client)
    page = client.get(f"/console/complaints/{cid}")
    html = page.get_data(as_text=True)
    file_of = f"/console/complaints/{cid}/evidence/{ktp['id']}/file"
    assert f'src="{file_of}"' not in html  # no thumbnail loads it unasked
    assert f'href="/console/complaints/{cid}/evidence/{ktp["id"]}"' in html
    viewer = client.get(f"/console/complaints/{cid}/evidence/{ktp['id']}?lang=en")
    assert f'src="{file_of}"' in viewer.get_data(as_text=True)
    assert "Opening this file is recorded" in text_of(viewer)
    before = complaint(client, cid)["version"]
    assert client.get(file_of).status_code == 200
    assert client.get(f"/console/complaints/{cid}/evidence/{photo['id']}/file").status_code == 200
    events = client.get(f"/v1/complaints/{cid}/events", headers=CARE).get_json()["items"]
    viewed = [e for e in events if e["type"] == "evidence_viewed"]
    assert len(viewed) == 1 and viewed[0]["actor"] == {"role": "care", "id": "agent-1"}
    assert viewed[0]["data"]["evidence_id"] == ktp["id"]
    assert complaint(client, cid)["version"] == before + 1
    assert "opened an identity document" in text_of(
        client.get(f"/console/complaints/{cid}?lang=en")
    )


def test_the_console_speaks_indonesian_by_default(client):
    cid = escalated(client)
    sign_in(client)
    text = text_of(client.get(f"/console/complaints/{cid}"))
    assert "Menunggu tim care" in text and "Ambil kasus ini" in text
    assert "Antrean" in text_of(client.get("/console/"))


# --- the diagram -----------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_console_diagram_shows_every_state_and_transition_of_the_machine(lang):
    root = ET.parse(svg_path(lang)).getroot()
    ids = {g.get("id") for g in root.iter("{http://www.w3.org/2000/svg}g")}
    for state in Lifecycle.states:
        assert f"state-{state.id}" in ids, "run `make diagram`"
    for state in Lifecycle.states:
        for transition in state.transitions:
            edge = f"edge-{transition.source.id}-{transition.target.id}"
            assert edge in ids, f"{edge}: run `make diagram`"
    edges = {i for i in ids if i and i.startswith("edge-")}
    machine = {f"edge-{t.source.id}-{t.target.id}" for s in Lifecycle.states for t in s.transitions}
    assert edges == machine, "run `make diagram`"


def test_an_agent_hands_a_case_over_and_a_colleague_releases_it(client, clock):
    cid = escalated(client)
    act(client, cid, "assign", CARE)
    sign_in(client)
    handed = post_form(client, cid, "reassign", "form-reassign", {"agent_id": "agent-2"})
    assert handed.status_code == 302
    assert complaint(client, cid)["assigned_to"] == "agent-2"
    page = text_of(client.get(f"/console/complaints/{cid}?lang=en"))
    assert "handed the complaint to the care team (agent-2)" in page
    assert 'id="form-release"' not in page  # no longer this agent's to release

    other = client.application.test_client()
    sign_in(other, "agent-2")
    released = post_form(other, cid, "release", "form-release", {"reason": "Cuti besok."})
    assert released.status_code == 302
    after = complaint(client, cid)
    assert (after["state"], after["assigned_to"]) == ("awaiting_care", None)
    # Released again (the form is gone, a browser may still send it): refused, nothing changes.
    page = other.get(f"/console/complaints/{cid}")
    again = {"csrf_token": csrf_of(page), "version": str(after["version"]), "reason": "Lagi."}
    refused = other.post(f"/console/complaints/{cid}/release", data=again)
    assert refused.status_code == 409
    assert complaint(client, cid)["version"] == after["version"]


def test_an_overdue_case_is_taken_over_from_its_absent_agent(client, clock):
    cid = escalated(client)
    act(client, cid, "assign", CARE)
    other = client.application.test_client()
    sign_in(other, "agent-2")
    page = other.get(f"/console/complaints/{cid}?lang=en").get_data(as_text=True)
    assert 'id="form-assign"' not in page  # not overdue: the case is agent-1's
    clock.advance(hours=25)
    page = text_of(other.get(f"/console/complaints/{cid}?lang=en"))
    assert "Take over this overdue case" in page
    taken = post_form(other, cid, "assign", "form-assign", {})
    assert taken.status_code == 302
    assert complaint(client, cid)["assigned_to"] == "agent-2"
    timeline = text_of(other.get(f"/console/complaints/{cid}?lang=en"))
    assert "took over the complaint from agent-1, past its care deadline" in timeline


def test_two_agents_taking_the_next_case_at_once_get_two_different_cases(app, clock):
    client = app.test_client()
    first = escalated(client, "INV-N1")
    clock.advance(minutes=5)
    second = escalated(client, "INV-N2")
    agents = []
    for sub in ("agent-1", "agent-2"):
        browser = app.test_client()
        sign_in(browser, sub)
        page = browser.get("/console/?lang=en")
        assert "Take the next case" in text_of(page)
        agents.append((browser, csrf_of(page)))

    def take(agent):
        browser, csrf = agent
        return browser.post("/console/next", data={"csrf_token": csrf})

    with ThreadPoolExecutor(2) as pool:
        taken = list(pool.map(take, agents))
    assert [r.status_code for r in taken] == [302, 302]
    cases = {r.headers["Location"].rsplit("/", 1)[-1] for r in taken}
    assert cases == {first, second}  # the most urgent first, each to one agent
    owners = {complaint(client, cid)["assigned_to"] for cid in cases}
    assert owners == {"agent-1", "agent-2"}
    # Nothing left: the next press says so.
    browser, csrf = agents[0]
    empty = browser.post("/console/next", data={"csrf_token": csrf})
    assert empty.status_code == 302 and empty.headers["Location"].endswith("/console/")


def test_a_queue_past_a_thousand_shows_1000_plus_and_fifty_pages(client):
    """The console counts the queue to 1,000 and no further (listings.COUNT_CAP)."""
    queued = [n for n in range(22) if _data.state_of(n) == "awaiting_care"]
    docs = [_data.complaint(queued[k % len(queued)] + 22 * k) for k in range(1003)]
    ComplaintDocument._get_collection().insert_many(docs)
    sign_in(client)
    text = text_of(client.get("/console/?lang=en"))
    assert "1000+ complaints" in text and "page 1 of 50" in text
    assert "page 50 of 50" in text_of(client.get("/console/?lang=en&page=77"))
