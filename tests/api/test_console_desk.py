"""The console's desk tools through the Flask test client, on a real database: canned
replies in the message form, and an agent's own cases."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import timedelta
from html import unescape

import pytest
from flask_babel import force_locale

from resolution.console.diagram import ACTIONS, labelled_dot, lifecycle_svg, svg_path
from resolution.domain.lifecycle import Lifecycle
from resolution.web import narrative
from tests.api.test_console import (
    complaint,
    csrf_of,
    escalated,
    post_form,
    sign_in,
    text_of,
    version_of,
)
from tests.support.http import act
from tests.support.parties import BUYER, CARE, CARE_2


def _options(html: str) -> dict[str, tuple[str, str]]:
    """The canned replies offered: id -> (title, the text it inserts)."""
    select = re.search(r'<select[^>]*name="canned".*?</select>', html, re.S).group(0)
    found = re.findall(r'<option data-body="([^"]*)"[^>]*value="([^"]+)"[^>]*>([^<]*)<', select)
    return {value: (unescape(title), unescape(body)) for body, value, title in found}


def _textarea(html: str, name: str) -> str:
    found = re.search(rf'<textarea[^>]*name="{name}"[^>]*>(.*?)</textarea>', html, re.S)
    return unescape(found.group(1)).lstrip("\r\n")


def test_the_message_form_offers_the_canned_replies_in_the_pages_language(client):
    cid = escalated(client, "INV-2001")
    sign_in(client)
    post_form(client, cid, "assign", "form-assign", {})
    indonesian = _options(client.get(f"/console/complaints/{cid}?lang=id").get_data(as_text=True))
    title, body = indonesian["ask-unboxing-video"]
    assert title == "Minta video unboxing (pembeli)"
    assert body.startswith("Mohon kirimkan video unboxing paket pesanan INV-2001")
    assert "72 jam" in indonesian["review-window"][1]  # the configured review window
    english = _options(client.get(f"/console/complaints/{cid}?lang=en").get_data(as_text=True))
    assert english["ask-unboxing-video"][0] == "Ask for an unboxing video (buyer)"
    assert "order INV-2001" in english["ask-unboxing-video"][1]
    assert list(english) == list(indonesian) and len(english) >= 12


def test_inserting_a_canned_reply_keeps_what_was_typed_and_sends_nothing(client):
    cid = escalated(client, "INV-2002")
    sign_in(client)
    post_form(client, cid, "assign", "form-assign", {})
    before = complaint(client, cid)["version"]
    drafted = post_form(
        client,
        cid,
        "message/draft",
        "form-message",
        {"to": "buyer", "canned": "ask-unboxing-video", "body": "Halo Kak,"},
    )
    assert drafted.status_code == 200
    html = drafted.get_data(as_text=True)
    text = _textarea(html, "body")
    assert text.startswith("Halo Kak,\n\nMohon kirimkan video unboxing paket pesanan INV-2002")
    assert re.search(r'<option selected value="buyer">', html)  # the chosen party stays
    assert re.search(r"<textarea[^>]*autofocus", html)  # the cursor goes to the text
    assert complaint(client, cid)["version"] == before  # nothing was sent

    # The agent edits it and sends it through the message form, as any message.
    edited = text.replace("Mohon kirimkan", "Boleh kirimkan")
    fields = {
        "csrf_token": csrf_of(drafted),
        "version": version_of(html, "form-message"),
        "to": "buyer",
        "body": edited,
    }
    sent = client.post(f"/console/complaints/{cid}/message", data=fields)
    assert sent.status_code == 302
    page = text_of(client.get(f"/console/complaints/{cid}"))
    assert "Boleh kirimkan video unboxing" in page and "hanya kepada pembeli" in page


def test_an_unknown_canned_reply_is_a_readable_refusal_and_nothing_is_sent(client):
    cid = escalated(client, "INV-2003")
    sign_in(client)
    before = complaint(client, cid)["version"]
    refused = post_form(
        client, cid, "message/draft", "form-message", {"canned": "nope", "body": "Halo"}
    )
    assert refused.status_code == 422
    assert "Pilih balasan siap pakai dari daftar." in text_of(refused)
    assert _textarea(refused.get_data(as_text=True), "body") == "Halo"
    assert complaint(client, cid)["version"] == before


def test_inserting_a_canned_reply_needs_the_forms_csrf_token(client):
    cid = escalated(client, "INV-2004")
    sign_in(client)
    refused = client.post(
        f"/console/complaints/{cid}/message/draft", data={"canned": "acknowledge", "body": ""}
    )
    assert refused.status_code == 400


def test_the_note_form_has_fields_of_its_own_and_its_note_reaches_care_only(client):
    cid = escalated(client, "INV-2005")
    sign_in(client)
    page = client.get(f"/console/complaints/{cid}")
    html = page.get_data(as_text=True)
    fields = re.findall(r"<(?:textarea|select|input)\b[^>]*>", html)
    ids = [re.search(r'\bid="([^"]+)"', f).group(1) for f in fields if 'type="hidden"' not in f]
    assert len(ids) == len(set(ids)), f"fields share an id, a label names the wrong one: {ids}"
    note = re.search(r'<form[^>]*id="form-note".*?</form>', html, re.S).group(0)
    assert '<label for="note-body">' in note
    version = re.search(r'name="note-version" type="hidden" value="(\d+)"', note).group(1)
    fields = {"csrf_token": csrf_of(page), "note-version": version}
    fields["note-body"] = "Pembeli sudah dua kali komplain di toko ini."
    added = client.post(f"/console/complaints/{cid}/note", data=fields)
    assert added.status_code == 302
    assert "Pembeli sudah dua kali komplain" in text_of(client.get(f"/console/complaints/{cid}"))
    seen = client.get(f"/v1/complaints/{cid}/events", headers=BUYER).get_data(as_text=True)
    assert "dua kali komplain" not in seen


# --- my cases ---------------------------------------------------------------------------------


def _rows(html: str) -> list[tuple[str, str]]:
    """(complaint id, the row's text) of the "my cases" table, in order."""
    rows = re.findall(r'<tr class="([^"]*)" data-complaint="([^"]+)">(.*?)</tr>', html, re.S)
    return [
        (cid, classes + " " + re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", row))))
        for classes, cid, row in rows
    ]


def test_my_cases_lists_the_agents_cases_in_mediation_the_nearest_care_deadline_first(
    client, clock
):
    start = clock.now
    a = escalated(client, "INV-M1")
    clock.advance(hours=1)
    b, c, d, e = (escalated(client, f"INV-M{n}") for n in (2, 3, 4, 5))
    clock.advance(hours=1)
    act(client, b, "assign", CARE)  # first reply due at +25 h, decision at +26 h
    clock.advance(hours=1)
    act(client, a, "assign", CARE)  # first reply at +24 h, decision at +27 h ...
    reply = client.post(f"/v1/complaints/{a}/messages", json={"body": "Kami cek."}, headers=CARE)
    assert reply.status_code == 201  # ... replied: the decision's +27 h is what runs
    clock.advance(hours=1)
    act(client, c, "assign", CARE)  # decision at +28 h; the evidence request is a reply
    due = (start + timedelta(hours=52)).isoformat()
    act(client, c, "request_evidence", CARE, {"party": "buyer", "what": "Foto.", "due_at": due})
    act(client, d, "assign", CARE_2)  # a colleague's
    act(client, e, "assign", CARE)
    act(client, e, "release", CARE, {"reason": "Cuti."})  # back in the queue: nobody's
    sign_in(client)

    page = client.get("/console/mine?lang=en")
    assert page.status_code == 200
    rows = _rows(page.get_data(as_text=True))
    assert [cid for cid, _ in rows] == [b, a, c]
    texts = dict(rows)
    assert "replied" in texts[a] and "replied" not in texts[b]
    assert "21 h left" in texts[b] and "22 h left" in texts[b]  # reply at +25 h, decide +26 h
    assert "the buyer: 7 Jun 2025 14.00 WIB 2 d left" in texts[c]  # the evidence's due time
    assert " you " in texts[b] and " the buyer replied " in texts[c]  # whose turn

    clock.advance(hours=22)  # +26 h: b's first reply is an hour late
    rows = _rows(client.get("/console/mine?lang=en").get_data(as_text=True))
    assert rows[0][0] == b and rows[0][1].startswith("overdue ")
    assert "Overdue by 1 h" in rows[0][1]
    assert not rows[1][1].startswith("overdue ")


def test_my_cases_is_in_the_console_navigation_in_both_languages(client):
    sign_in(client)
    queue = client.get("/console/?lang=id").get_data(as_text=True)
    link = re.search(r'<a href="/console/mine" id="nav-mine"\s*>([^<]+)</a>', queue)
    assert link and link.group(1) == "Kasus saya"
    mine = client.get("/console/mine?lang=en")
    html = mine.get_data(as_text=True)
    assert re.search(r'id="nav-mine" aria-current="page">My cases<', html)
    assert "No case is assigned to you." in text_of(mine)
    assert "Tidak ada kasus" in text_of(client.get("/console/mine?lang=id"))


def test_only_a_care_agent_has_cases_of_its_own():
    from resolution.domain.actors import Actor, Role
    from resolution.domain.errors import Forbidden
    from resolution.service import Context, queue

    with pytest.raises(Forbidden):
        queue.my_cases(Context(), Actor(Role.AUDITOR, "auditor-1"))


# --- the lifecycle picture --------------------------------------------------------------------

SVG_NS = "{http://www.w3.org/2000/svg}"


def _svg_labels(lang: str) -> dict[str, str]:
    """Each state's and arrow's label in the checked-in picture, its lines joined by spaces."""
    root = ET.parse(svg_path(lang)).getroot()
    return {
        g.get("id"): " ".join(t.text or "" for t in g.iter(f"{SVG_NS}text"))
        for g in root.iter(f"{SVG_NS}g")
        if (g.get("id") or "").startswith(("state-", "edge-"))
    }


def _dot_labels(dot: str) -> dict[str, str]:
    found = re.findall(r'\[id="([^"]+)", label="((?:[^"\\]|\\.)*)"\]', dot)
    return {i: label.replace("\\n", " ").replace('\\"', '"') for i, label in found}


@pytest.mark.parametrize("lang", ["id", "en"])
def test_the_lifecycle_picture_is_labelled_in_each_language_from_the_catalogue(app, lang):
    with app.test_request_context(), force_locale(lang):
        expected = _dot_labels(labelled_dot())
    assert _svg_labels(lang) == expected, "run `make diagram` after `make translations`"
    with app.test_request_context(), force_locale(lang):
        assert expected["state-in_mediation"] == str(narrative.STATES["in_mediation"])
    if lang == "id":
        assert expected["state-closed"] == "Ditutup"
        assert expected["edge-awaiting_care-in_mediation"] == "ambil kasus"


def test_every_event_of_the_machine_has_a_label_on_the_picture():
    events = {e.id for s in Lifecycle.states for t in s.transitions for e in t.events}
    assert events == set(ACTIONS), "label each event in resolution/console/diagram.py ACTIONS"


@pytest.mark.parametrize("lang", ["id", "en"])
def test_the_pictures_labels_are_drawn_as_large_as_the_pages_text(lang):
    """One SVG unit to a CSS pixel (the page gives the SVG its viewBox's size), and every
    label at least the body's 15 px."""
    html = str(lifecycle_svg("in_mediation", "x", lang))
    width, height = re.search(r'<svg [^>]*width="(\d+)" height="(\d+)"', html).groups()
    box = re.search(r'viewBox="0\.00 0\.00 ([\d.]+) ([\d.]+)"', html).groups()
    assert (int(width), int(height)) == tuple(round(float(n)) for n in box)
    sizes = {float(s) for s in re.findall(r'font-size="([\d.]+)"', html)}
    assert sizes and min(sizes) >= 15


def test_the_case_page_draws_the_picture_in_its_language(client):
    cid = escalated(client, "INV-2010")
    sign_in(client)
    indonesian = client.get(f"/console/complaints/{cid}?lang=id").get_data(as_text=True)
    assert ">Menunggu tim care<" in indonesian and ">ambil kasus<" in indonesian
    english = client.get(f"/console/complaints/{cid}?lang=en").get_data(as_text=True)
    assert ">Waiting for the care team<" in english and ">take the case<" in english
    assert re.search(r'id="state(?:-|&#45;)awaiting_care" class="node state current"', english)


def test_the_language_links_of_a_page_answering_a_form_lead_to_its_case(client):
    cid = escalated(client, "INV-2011")
    sign_in(client)
    drafted = post_form(
        client, cid, "message/draft", "form-message", {"canned": "acknowledge", "body": ""}
    )
    link = re.search(r'<a href="([^"]+)" lang="en"', drafted.get_data(as_text=True)).group(1)
    assert unescape(link) == f"/console/complaints/{cid}?lang=en"
    assert client.get(unescape(link)).status_code == 200


def test_a_refused_sign_in_links_to_the_sign_in_page_in_the_other_language(client):
    page = client.get("/console/login")
    refused = client.post("/console/login", data={"csrf_token": csrf_of(page), "token": ""})
    assert refused.status_code == 422
    link = re.search(r'<a href="([^"]+)" lang="en"', refused.get_data(as_text=True)).group(1)
    assert unescape(link) == "/console/login?lang=en"
