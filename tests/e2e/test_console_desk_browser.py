"""A care desk in a real browser (Debian's Chromium through Playwright, against `resolution
serve`): canned replies, hand-over, notes, private messages and an agent's own cases, in both
languages, one flow by keyboard alone. No page may log an error in the browser's console.

The server runs with a short care SLA (`RESOLUTION_CARE_SLA`), so a case's 24 hours to decide
pass within a test and a colleague can take it over.
"""

from __future__ import annotations

import json
import time

import pytest

from tests.e2e import test_console_browser as console
from tests.e2e.test_console_browser import (
    BUYER,
    SELLER,
    SHOTS,
    escalated,
    serving,
    sign_in,
    state_of,
)
from tests.support.parties import token
from tests.support.servers import call

pytestmark = pytest.mark.slow
# The console browser tests' own fixtures: Chromium, and a page that fails on console errors.
browser, page = console.browser, console.page
CARE_SLA_SECONDS = 20


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    yield from serving(tmp_path_factory, RESOLUTION_CARE_SLA=f"{CARE_SLA_SECONDS}s")


def signed_in(page, base: str, agent: str, lang: str = "id") -> None:
    """The agent signs in with a care token of its own, the console in `lang`."""
    sign_in(page, f"{base}/console/login#token={token('care', agent)}")
    if lang != "id":
        page.goto(f"{base}/console/?lang={lang}")


def events_read_by(base: str, cid: str, bearer: str) -> str:
    """The complaint's events as a party reads them (the API's), as text."""
    status, listed = call(base, "GET", f"/v1/complaints/{cid}/events", bearer)
    assert status == 200, listed
    return json.dumps(listed, ensure_ascii=False)


def test_a_canned_reply_is_inserted_where_the_agent_types_edited_and_sent(page, base):
    cid = escalated(base, "INV-D-1")
    signed_in(page, base, "agent-canned")
    page.goto(f"{base}/console/complaints/{cid}")
    page.get_by_role("button", name="Ambil kasus ini").click()
    page.get_by_text("Kirim pesan ke para pihak", exact=True).click()
    form = page.locator("#form-message")
    body = form.get_by_label("Pesan", exact=True)
    body.fill("Halo Kak,")
    form.get_by_label("Balasan siap pakai").select_option("ask-unboxing-video")
    url = page.url
    form.get_by_role("button", name="Sisipkan balasan").click()
    text = body.input_value()
    assert text.startswith("Halo Kak,\n\nMohon kirimkan video unboxing paket pesanan INV-D-1")
    assert page.url == url  # inserted in the page: no round trip, nothing sent
    assert page.evaluate("document.activeElement.name") == "body"
    assert state_of(base, cid)["care_reply_due_at"] is not None  # nothing sent yet

    page.keyboard.type(" Terima kasih.")  # the cursor is after the inserted text
    form.get_by_label("Kepada").select_option("buyer")
    form.get_by_role("button", name="Kirim", exact=True).click()
    assert page.get_by_role("status").filter(has_text="Pesan Anda sudah masuk").is_visible()
    sent = page.locator("#thread li").last.inner_text()
    assert "hanya kepada pembeli" in sent and "di komplain ini. Terima kasih." in sent
    assert "video unboxing" in events_read_by(base, cid, BUYER)
    assert "video unboxing" not in events_read_by(base, cid, SELLER)


def wait_until_overdue(base: str, cid: str) -> None:
    """The case's care deadline passes (the server's SLA is a few seconds)."""
    deadline = time.monotonic() + CARE_SLA_SECONDS * 3
    while not state_of(base, cid).get("care_overdue"):
        assert time.monotonic() < deadline, state_of(base, cid)
        time.sleep(1)


PICTURE = """figure => {
  const svg = figure.querySelector("svg");
  const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
  const sizes = [...svg.querySelectorAll("text")].map(
    t => parseFloat(getComputedStyle(t).fontSize) * scale);
  const current = figure.querySelector(".state.current");
  const box = current.getBoundingClientRect(), frame = figure.getBoundingClientRect();
  return {
    smallest: Math.min(...sizes),
    body: parseFloat(getComputedStyle(document.body).fontSize),
    label: current.textContent.replace(/\\s+/g, " ").trim(),
    dx: box.left + box.width / 2 - (frame.left + figure.clientLeft + figure.clientWidth / 2),
    dy: box.top + box.height / 2 - (frame.top + figure.clientTop + figure.clientHeight / 2),
    fits: figure.clientWidth <= window.innerWidth,
  };
}"""


def test_the_lifecycle_picture_on_a_phone_is_readable_in_each_language_and_centred(page, base):
    cid = escalated(base, "INV-D-2")
    taken = call(base, "POST", f"/v1/complaints/{cid}/actions/assign", token("care", "agent-p"))
    assert taken[0] == 200, taken
    signed_in(page, base, "agent-p")
    page.set_viewport_size({"width": 390, "height": 844})
    for lang, label in (("id", "Dalam mediasi tim care"), ("en", "In mediation by the care team")):
        page.goto(f"{base}/console/complaints/{cid}?lang={lang}")
        figure = page.locator("figure.lifecycle")
        seen = figure.evaluate(PICTURE)
        assert seen["label"].endswith(label), seen  # its <title> is the state's id
        assert seen["smallest"] >= seen["body"] == 15, seen
        assert abs(seen["dx"]) <= 2 and abs(seen["dy"]) <= 2, seen  # in the middle of its box
        assert seen["fits"], seen
        assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
        figure.scroll_into_view_if_needed()
        figure.screenshot(path=SHOTS / f"console-lifecycle-phone-{lang}.png")
