"""Personal data in the care console: a legal hold set and lifted on the case page (a reason
required), and a data subject's erasure with its receipt, or the open and held complaints
that stop it, in words; through the same service functions as the API."""

from __future__ import annotations

import re

from resolution.store import eventstore
from tests.api.test_console import csrf_of, escalated, sign_in, text_of
from tests.support.http import act, open_complaint
from tests.support.parties import BUYER, CARE

DESCRIPTION = "Kaos robek, alamat saya Jl. Melati 7 Bandung."


def hold_form(client, cid: str, form_id: str, reason: str, lang: str | None = None):
    """Submits the case page's legal-hold form (set or lift) as a browser would."""
    page = client.get(f"/console/complaints/{cid}" + (f"?lang={lang}" if lang else ""))
    html = page.get_data(as_text=True)
    form = re.search(rf'<form[^>]*id="{form_id}".*?</form>', html, re.S).group(0)
    action = re.search(r'action="([^"]+)"', form).group(1)
    version = re.search(r'name="hold-version" type="hidden" value="(\d+)"', form).group(1)
    data = {"hold-csrf_token": csrf_of(page), "hold-version": version, "hold-reason": reason}
    return client.post(action, data=data)


def test_care_holds_a_case_and_lifts_the_hold_with_a_reason(client):
    cid = escalated(client)
    sign_in(client)
    page = text_of(client.get(f"/console/complaints/{cid}"))
    assert "Tahan untuk keperluan hukum" in page and "Cabut penahanan hukum" not in page

    missing = hold_form(client, cid, "form-legal-hold", "")
    assert missing.status_code == 422 and eventstore.load(cid).legal_hold is None

    held = hold_form(client, cid, "form-legal-hold", "Sengketa di pengadilan.")
    assert held.status_code == 302
    hold = eventstore.load(cid).legal_hold
    assert hold["reason"] == "Sengketa di pengadilan." and hold["by"] == "agent-1"
    event = eventstore.events_of(cid)[-1]
    assert event.type == "legal_hold_set" and event.actor == {"role": "care", "id": "agent-1"}
    shown = text_of(client.get(f"/console/complaints/{cid}"))
    assert "Ditahan sejak" in shown and "Sengketa di pengadilan." in shown
    assert "Cabut penahanan hukum" in shown

    lifted = hold_form(client, cid, "form-lift-legal-hold", "Perkara selesai.", lang="en")
    assert lifted.status_code == 302 and eventstore.load(cid).legal_hold is None
    assert eventstore.events_of(cid)[-1].type == "legal_hold_lifted"
    assert "The legal hold is lifted." in text_of(client.get(f"/console/complaints/{cid}"))


def test_a_hold_set_meanwhile_is_refused_in_words_and_nothing_changes(client):
    cid = escalated(client)
    sign_in(client)
    page = client.get(f"/console/complaints/{cid}")
    html = page.get_data(as_text=True)
    version = re.search(r'name="hold-version" type="hidden" value="(\d+)"', html).group(1)
    data = {"hold-csrf_token": csrf_of(page), "hold-version": version, "hold-reason": "Satu."}
    # Another agent held it through the API first: this page is stale.
    assert client.post(f"/v1/complaints/{cid}/legal-hold", json={"reason": "Dua."}, headers=CARE)
    stale = client.post(f"/console/complaints/{cid}/legal-hold", data=data)
    assert stale.status_code == 409
    assert "Ada pihak lain yang bertindak atas komplain ini" in text_of(stale)
    assert eventstore.load(cid).legal_hold["reason"] == "Dua."
    # Held already, at the current version: the refusal says why.
    data["hold-version"] = str(eventstore.load(cid).version)
    again = client.post(f"/console/complaints/{cid}/legal-hold", data=data)
    assert again.status_code == 409
    assert "Komplain ini sudah dalam penahanan hukum." in text_of(again)


def erase(client, role: str, subject: str, reason: str = "Permintaan pembeli lewat email.", **kw):
    page = client.get(
        "/console/data-subjects" + (f"?lang={kw.pop('lang')}" if "lang" in kw else "")
    )
    data = {"csrf_token": csrf_of(page), "role": role, "subject": subject, "reason": reason}
    data |= {"confirm": "y"} | kw
    return client.post("/console/data-subjects/erasure", data={k: v for k, v in data.items() if v})


def closed_case(client, order_id: str = "INV-1001") -> str:
    cid = open_complaint(client, order_id, description=DESCRIPTION)
    act(client, cid, "withdraw", BUYER)
    return cid


def test_care_erases_a_buyer_and_reads_the_receipt(client):
    cid = closed_case(client)
    sign_in(client)
    assert "Hapus data seseorang atas permintaannya" in text_of(
        client.get("/console/data-subjects")
    )

    done = erase(client, "buyer", "buyer-1")
    assert done.status_code == 201
    shown = text_of(done)
    assert "Tanda terima penghapusan" in shown and "buyer:buyer-1" in shown and cid in shown
    assert "#1 description" in shown
    assert DESCRIPTION not in shown
    described = client.get(f"/v1/complaints/{cid}", headers=CARE).get_json()["description"]
    assert described == "[erased]"
    case_page = client.get(f"/console/complaints/{cid}").get_data(as_text=True)
    assert DESCRIPTION not in case_page and "[erased]" in case_page
    log = eventstore.events_of(cid)
    assert log[-1].type == "erasure" and log[-1].actor["id"] == "agent-1"
    receipt = re.search(r"<code>([0-9a-f]{24})</code>", done.get_data(as_text=True)).group(1)
    assert log[-1].data["receipt_id"] == receipt

    # Asked again: nothing left, the first receipt (in English too).
    again = erase(client, "buyer", "buyer-1", lang="en")
    assert again.status_code == 200
    assert "Nothing was left to erase: this is the receipt of the earlier erasure." in text_of(
        again
    )
    assert receipt in again.get_data(as_text=True)
    assert [e.type for e in eventstore.events_of(cid)].count("erasure") == 1


def test_open_and_held_complaints_are_listed_and_nothing_is_erased(client):
    held = closed_case(client, "INV-1001")
    assert client.post(f"/v1/complaints/{held}/legal-hold", json={"reason": "x"}, headers=CARE)
    still_open = open_complaint(client, "INV-1002", description=DESCRIPTION)
    sign_in(client)
    refused = erase(client, "buyer", "buyer-1")
    assert refused.status_code == 409
    shown = text_of(refused)
    assert "Tidak ada yang dihapus." in shown
    assert "Komplain buyer:buyer-1 yang masih terbuka atau dalam penahanan hukum: 2." in shown
    html = refused.get_data(as_text=True)
    assert f'href="/console/complaints/{held}"' in html
    assert f'href="/console/complaints/{still_open}"' in html
    assert "dalam penahanan hukum" in shown and "Menunggu penjual" in shown
    for cid in (held, still_open):
        assert eventstore.load(cid).description == DESCRIPTION
        assert "erasure" not in [e.type for e in eventstore.events_of(cid)]


def test_an_unknown_person_a_bad_id_and_a_missing_confirmation_erase_nothing(client):
    cid = closed_case(client)
    sign_in(client)
    unknown = erase(client, "seller", "nobody-here")
    assert unknown.status_code == 404
    assert "Tidak ada orang dengan id seller:nobody-here" in text_of(unknown)
    bad = erase(client, "buyer", "buyer 1; drop")
    assert bad.status_code == 422 and "Tidak tercatat" in text_of(bad)
    unconfirmed = erase(client, "buyer", "buyer-1", confirm="")
    assert unconfirmed.status_code == 422
    no_reason = erase(client, "buyer", "buyer-1", reason="")
    assert no_reason.status_code == 422
    assert eventstore.load(cid).description == DESCRIPTION


def test_only_a_signed_in_agent_reaches_the_erasure_form(client):
    assert client.get("/console/data-subjects").status_code == 302
    assert client.post("/console/data-subjects/erasure", data={}).status_code in (302, 400)
