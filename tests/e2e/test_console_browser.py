"""The care console in a real browser: headless Chromium (Debian's) driven by Playwright,
against `resolution serve` as a real process with its embedded database.

A care agent signs in with the development link, finds an escalated complaint in the queue,
takes it, asks the buyer for evidence, sees it arrive, reviews it and decides; the refusals
(a buyer's token, a form without its CSRF token, a stale page) read clearly. No page may log
an error in the browser's console. Screenshots go to var/screenshots/ (docs/ holds the best).
"""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from resolution.service import signing
from tests.support.bodies import complaint_body
from tests.support.parties import SECRET, token
from tests.support.servers import call, free_port

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = ROOT / "var" / "screenshots"
# As the machine's notes advise: no GPU, no calls home, nothing to set up on a first run.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
BUYER, SELLER = token("buyer", "buyer-1"), token("seller", "seller-1", "shop-1")


class Base(str):
    """The server's address, knowing where its database lives."""

    data_dir: Path


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """`resolution serve` on a free port, for the whole module."""
    yield from serving(tmp_path_factory)


def serving(tmp_path_factory, **settings: str):
    """`resolution serve` on a free port with its own database (`settings`: more of its
    environment), yielding its address, stopped after."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "MONGODB_URI"}
    env["RESOLUTION_JWT_SECRET"] = SECRET
    # A key of its own: two workers creating the development key at once can race.
    env["RESOLUTION_SIGNING_KEY"] = signing.generate()
    env.update(settings)
    data_dir = tmp_path_factory.mktemp("console") / "db"
    log = (data_dir.parent / "serve.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "resolution", "serve", "--port", str(port), "--workers", "2"]
        + ["--data-dir", str(data_dir)],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = Base(f"http://127.0.0.1:{port}")
    url.data_dir = data_dir
    deadline = time.monotonic() + 60
    while True:
        try:
            if call(url, "GET", "/readyz")[0] == 200:
                break
        except OSError:
            pass
        assert process.poll() is None, "the server stopped while starting"
        assert time.monotonic() < deadline, "the server did not become ready in 60 s"
        time.sleep(0.2)
    yield url
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    log.close()


@pytest.fixture(scope="module")
def demo(base) -> dict[str, str]:
    """`resolution seed-demo` against the running server: its complaints, tokens and the
    console sign-in link it prints, as a newcomer gets them from `make run`."""
    env = {k: v for k, v in os.environ.items() if k != "MONGODB_URI"}
    env["RESOLUTION_JWT_SECRET"] = SECRET
    data_dir = base.data_dir
    seeded = subprocess.run(
        [sys.executable, "-m", "resolution", "seed-demo", "--data-dir", str(data_dir)]
        + ["--console-url", f"{base}/console"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert seeded.returncode == 0, seeded.stderr
    link = re.search(rf"^\s*({re.escape(base)}/console/login#token=\S+)$", seeded.stdout, re.M)
    assert link, seeded.stdout
    buyer = re.search(r"BUYER_TOKEN=(\S+)", seeded.stdout).group(1)
    care = re.search(r"CARE_TOKEN=(\S+)", seeded.stdout).group(1)
    return {"link": link.group(1), "buyer": buyer, "care": care}


@pytest.fixture(scope="module")
def browser():
    # Never a silent skip: `make test` installs Debian's chromium (.ci/ensure-chromium).
    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing: `apt-get install chromium` (make test does it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    """A fresh browser profile (no cookies) whose console must stay free of errors."""
    # An Indonesian agent's browser (the console follows Accept-Language, then Indonesian).
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="id-ID")
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.refusals = []  # statuses a test provokes on purpose: Chromium notes them as errors
    yield page
    context.close()
    noted = [f"status of {status}" for status in page.refusals]
    unexpected = [e for e in errors if not any(n in e for n in noted)]
    assert unexpected == [], unexpected
    assert len(errors) == len(page.refusals), errors


def escalated(base: str, order_id: str) -> str:
    status, opened = call(base, "POST", "/v1/complaints", BUYER, complaint_body(order_id))
    assert status == 201, opened
    cid = opened["id"]
    offer = {"solution": {"kind": "refund", "amount": 20000}}
    assert call(base, "POST", f"/v1/complaints/{cid}/actions/propose", SELLER, offer)[0] == 200
    why = {"reason": "Penjual menolak mengganti."}
    assert call(base, "POST", f"/v1/complaints/{cid}/actions/escalate", BUYER, why)[0] == 200
    return cid


def state_of(base: str, cid: str) -> dict:
    return call(base, "GET", f"/v1/complaints/{cid}", token("care", "reader"))[1]


def sign_in(page, link: str) -> None:
    """Opens a sign-in link: the token after `#` is filled in and sent by the page."""
    page.goto(link)
    page.wait_for_url("**/console/")


def upload_photo(page, base: str, buyer: str, cid: str, answers: int) -> None:
    """The buyer sends a photo through the API, answering care's request."""
    image = io.BytesIO()
    Image.new("RGB", (320, 240), (200, 60, 40)).save(image, "JPEG")
    response = page.request.post(
        f"{base}/v1/complaints/{cid}/evidence",
        headers={"Authorization": f"Bearer {buyer}"},
        multipart={
            "kind": "photo",
            "caption": "Layar retak, foto dari dekat",
            "answers": str(answers),
            "file": {"name": "retak.jpg", "mimeType": "image/jpeg", "buffer": image.getvalue()},
        },
    )
    assert response.status == 201, response.text()


def test_an_agent_takes_an_escalated_demo_complaint_to_a_decision(page, base, demo):
    sign_in(page, demo["link"])  # the link `resolution seed-demo` printed
    rows = page.locator("tr[data-complaint]")
    assert rows.count() == 2  # DEMO-1004 escalated, DEMO-1005 in mediation
    row = rows.filter(has_text="DEMO-1004")
    assert "Menunggu tim care" in row.inner_text() and "belum ada" in row.inner_text()
    cid = row.get_attribute("data-complaint")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / "console-queue.png", full_page=True)

    row.get_by_role("link", name="DEMO-1004").click()
    page.get_by_role("button", name="Ambil kasus ini").click()
    assert page.get_by_role("status").filter(has_text="sekarang Anda tangani").is_visible()
    assert state_of(base, cid)["assigned_to"] == "agent-demo"

    page.get_by_text("Minta bukti", exact=True).click()
    form = page.locator("#form-request-evidence")
    form.get_by_label("Dari").select_option("buyer")
    form.get_by_label("Yang dibutuhkan").fill("Foto paket yang diterima, dari dekat.")
    form.get_by_role("button", name="Kirim permintaan").click()
    request = state_of(base, cid)["evidence_request"]
    assert request["party"] == "buyer"
    assert page.locator("#evidence-request").get_by_text("Belum dijawab").is_visible()
    assert page.locator("#decide-blocked").is_visible()  # no decision before the evidence

    upload_photo(page, base, demo["buyer"], cid, request["id"])
    page.reload()
    assert page.locator("#evidence-request").get_by_text("Dijawab").is_visible()
    thumb = page.locator("img.thumb")
    assert loaded_width(page, thumb) == 320
    item = page.locator("ul.evidence > li").filter(has=thumb)
    item.get_by_label("Temuan Anda").fill("Hanya satu barang di dalam paket.")
    item.get_by_role("button", name="Tandai sudah diperiksa").click()
    assert page.get_by_text("Diperiksa oleh agent-demo").is_visible()

    page.get_by_text("Putuskan", exact=True).click()
    decide = page.locator("#form-decide")
    decide.get_by_label("Solusi").select_option("send_remaining")
    assert decide.get_by_label("Jumlah (rupiah)").is_hidden()  # that takes items, not money
    decide.get_by_label("Solusi").select_option("refund")
    decide.get_by_label("Jumlah (rupiah)").fill("10000")
    decide.get_by_label("Kode alasan (labelnya dibaca para pihak)").select_option("incomplete")
    decide.get_by_label("Alasan (dibaca para pihak)").fill(
        "Casing tidak dikirim: dana dikembalikan."
    )
    for considered in decide.locator('#considered input[type="checkbox"]').all():
        considered.check()  # the evidence weighed: all of it
    decide.get_by_role("button", name="Catat keputusan").click()

    assert page.locator("strong.current-state").get_attribute("data-state") == "closed"
    decision = page.locator('#timeline li[data-type="decide"]')
    assert "memutuskan" in decision.inner_text() and "Rp 10.000" in decision.inner_text()
    assert page.locator('g.state.current:has(title:text-is("closed"))').count() == 1
    closed = state_of(base, cid)
    assert (closed["state"], closed["outcome"]) == ("closed", "decided")
    assert closed["resolution"]["reason_code"] == "incomplete"
    outcome = page.locator("#resolution")
    assert "Barang yang diterima tidak lengkap" in outcome.inner_text()  # the code's label
    assert page.locator("#settlement").get_attribute("data-status") == "held"


def loaded_width(page, image) -> int:
    """The image's width once the browser has loaded it (under load, a while after it shows)."""
    image.wait_for()
    handle = image.element_handle()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=handle)
    return handle.evaluate("img => img.naturalWidth")


def test_a_case_with_every_kind_of_evidence(page, base, demo):
    sign_in(page, demo["link"])
    page.get_by_role("link", name="DEMO-1005").click()
    evidence = page.locator("#evidence")
    assert loaded_width(page, evidence.locator("img.thumb")) == 320  # the photo
    assert evidence.get_by_text("JP1234567890").is_visible()  # the tracking number
    # The KTP is not loaded with the page: it opens on its own page, and that is recorded.
    ktp = evidence.get_by_role("link", name=re.compile("data pribadi"))
    assert page.locator('img[src$="/file"]').count() == 1
    page.get_by_text("Putuskan", exact=True).click()
    page.screenshot(path=SHOTS / "console-case.png", full_page=True)
    ktp.click()
    document = page.locator("img.document")
    assert loaded_width(page, document) == 320
    page.get_by_role("link", name=re.compile("Kembali ke komplain")).click()
    viewed = page.locator('#timeline li[data-type="evidence_viewed"]')
    assert "agent-demo" in viewed.last.inner_text()


def test_refusals_read_clearly(page, base, demo):
    page.refusals = [403, 400, 409]
    cid = escalated(base, "INV-B-3")
    # A buyer's token does not open the console.
    sign_in_link = demo["link"].replace(demo["care"], demo["buyer"])
    page.goto(sign_in_link)
    refused = page.get_by_role("heading", name="Konsol ini khusus untuk tim care")
    refused.wait_for()
    page.goto(f"{base}/console/")
    assert "/console/login" in page.url

    sign_in(page, demo["link"])
    page.goto(f"{base}/console/complaints/{cid}")
    # A form that lost its CSRF token changes nothing.
    page.locator('#form-assign input[name="csrf_token"]').evaluate("input => input.remove()")
    page.get_by_role("button", name="Ambil kasus ini").click()
    assert page.get_by_text("tidak membawa token keamanan yang sah").is_visible()
    assert state_of(base, cid)["state"] == "awaiting_care"

    # A stale page: the buyer writes while the agent reads; the agent's click is not applied.
    page.goto(f"{base}/console/complaints/{cid}")
    body = {"body": "Ada kabar?"}
    assert call(base, "POST", f"/v1/complaints/{cid}/messages", BUYER, body)[0] == 201
    page.get_by_role("button", name="Ambil kasus ini").click()
    assert page.locator("#stale").is_visible()
    assert page.locator("#thread").get_by_text("Ada kabar?").is_visible()
    assert state_of(base, cid)["assigned_to"] is None
    page.get_by_role("button", name="Ambil kasus ini").click()  # from the fresh page: it goes
    assert state_of(base, cid)["assigned_to"] == "agent-demo"


def test_english_keyboard_and_a_phone_screen(page, base, demo):
    cid = escalated(base, "INV-B-4")
    sign_in(page, demo["link"])
    page.get_by_role("link", name="English").click()
    assert page.get_by_role("heading", name="Care queue").is_visible()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to the content"
    page.keyboard.press("Enter")
    # The queue's links are reachable by keyboard alone.
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.getAttribute('href') || ''").endswith(cid):
            break
    else:
        pytest.fail("the complaint's link was not reached with Tab")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/console/complaints/{cid}")
    assert page.get_by_role("button", name="Assign to me").is_visible()
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, "the page scrolls sideways on a phone"
    assert page.get_by_role("button", name="Assign to me").is_visible()
    page.goto(f"{base}/console/")
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0


def test_a_failed_settlement_is_found_in_its_queue_and_retried(page, base, demo):
    status, opened = call(base, "POST", "/v1/complaints", BUYER, complaint_body("INV-B-6"))
    assert status == 201, opened
    cid = opened["id"]
    accepted = call(base, "POST", f"/v1/complaints/{cid}/actions/accept", SELLER, {})
    assert accepted[0] == 200
    sid = accepted[1]["settlement"]["id"]
    payments = token("integration", "payments", channels=("tokopedia",))
    why = {"reason": "Rekening pembeli ditutup."}
    assert call(base, "POST", f"/v1/settlements/{sid}/fail", payments, why)[0] == 200

    sign_in(page, demo["link"])
    page.get_by_role("link", name="Pembayaran dana yang gagal").click()
    row = page.locator(f'tr[data-settlement="{sid}"]')
    assert "Rekening pembeli ditutup." in row.inner_text()
    assert "Rp 45.000 untuk pembeli" in row.inner_text()
    page.screenshot(path=SHOTS / "console-failed-settlements.png", full_page=True)
    row.get_by_role("button", name="Coba lagi").click()
    assert page.get_by_role("status").filter(has_text="sudah diminta lagi").is_visible()
    assert page.locator(f'tr[data-settlement="{sid}"]').count() == 0
    settlement = state_of(base, cid)["settlement"]
    assert settlement["status"] == "requested" and len(settlement["attempts"]) == 2

    # The case page tells the settlement's history.
    page.goto(f"{base}/console/complaints/{cid}")
    attempts = page.locator("#settlement ol.attempts > li")
    assert attempts.count() == 2
    assert "Rekening pembeli ditutup." in attempts.first.inner_text()


def test_every_console_page_passes_axe_in_both_languages(page, browser, base, demo):
    """axe-core's WCAG 2.1 AA rules (the copy axe-playwright-python ships), on every page an
    agent works in, in Indonesian and English: no serious or critical violation."""
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    options = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
    found = []

    def check(what: str, on=page) -> None:
        result = axe.run(on, options=options)
        for violation in result.response["violations"]:
            if violation["impact"] in ("serious", "critical"):
                found.append(f"{what}: {violation['id']} ({len(violation['nodes'])} nodes)")

    stranger = browser.new_context(locale="id-ID")
    signing_in = stranger.new_page()
    signing_in.goto(f"{base}/console/login")
    check("sign-in", signing_in)
    stranger.close()
    sign_in(page, demo["link"])
    case = page.locator("tr[data-complaint]").first.get_attribute("data-complaint")
    for lang in ("id", "en"):
        page.goto(f"{base}/console/?lang={lang}")
        check(f"queue ({lang})")
        page.goto(f"{base}/console/?settlement=failed&lang={lang}")
        check(f"failed settlements ({lang})")
        page.goto(f"{base}/console/mine?lang={lang}")
        assert page.locator("tr[data-complaint]").count() >= 1  # DEMO-1005 is agent-demo's
        check(f"my cases ({lang})")
        page.goto(f"{base}/console/complaints/{case}?lang={lang}")
        for summary in page.locator("details.action > summary").all():
            summary.click()  # every form open, as an agent working the case has them
        check(f"case ({lang})")
    assert found == [], found


def test_the_api_docs_render_offline_from_the_service_alone(page, base):
    """/docs in a real browser: Swagger UI draws the contract's operations, every request
    goes to the service itself, and its Content-Security-Policy blocks nothing it needs (a
    blocked script or style would be a console error, failing the `page` fixture)."""
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    page.goto(f"{base}/docs")
    page.wait_for_selector(".opblock-summary-path", timeout=30_000)
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert any("/v1/complaints" in p for p in paths), paths
    assert asked and all(url.startswith(base) or url.startswith("data:") for url in asked), [
        url for url in asked if not url.startswith(base)
    ]
