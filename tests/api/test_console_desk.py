"""The console's desk tools through the Flask test client, on a real database: canned
replies in the message form, and an agent's own cases."""

from __future__ import annotations

import re
from html import unescape

from tests.api.test_console import (
    complaint,
    csrf_of,
    escalated,
    post_form,
    sign_in,
    text_of,
    version_of,
)
from tests.support.parties import BUYER


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
