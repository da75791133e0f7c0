"""The README, run: every ```sh block, in order, pasted into one shell against a live server.

The server starts the way `make run` starts it (the commands `make -n run` prints: seed-demo,
then serve with the embedded database), in a temporary directory with the project's `.venv`
linked in, so `.venv/bin/resolution` and `var/` are where a user has them. The shell first
runs the `export …_TOKEN=…` lines seed-demo printed, as a user pastes them, and nothing else
is exported: the CLI finds the secret in `var/development.env`, as it does for a user.

A block is cut into steps: a comment and the commands under it. Each step must exit 0 and
pass the check written for it here, in order (a step without a check fails, and so does a
check whose step is gone): a README example that breaks, or whose comment stops being true,
fails the suite. The set-up block (`make run`, `make test`) is what this test does itself.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.servers import call, free_port

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
ADDRESS = "http://127.0.0.1:8000"


@dataclass(frozen=True)
class Step:
    comment: str
    commands: str

    @property
    def text(self) -> str:
        return f"{self.comment}\n{self.commands}"


def shell_blocks(text: str) -> list[str]:
    """The README's ```sh blocks, in order (```python and the rest are not run)."""
    return re.findall(r"^```sh\n(.*?)^```", text, re.S | re.M)


def steps(block: str) -> list[Step]:
    """A comment and the commands under it; a comment with no command under it (`# → …`,
    what the command above answers) belongs to the step above."""
    found: list[list[list[str]]] = []
    for line in block.splitlines():
        if not line.strip():
            continue
        comment = line.lstrip().startswith("#")
        if comment and (not found or found[-1][1]):
            found.append([[line], []])
        elif comment:
            found[-1][0].append(line)
        elif not found:
            found.append([[], [line]])
        else:
            found[-1][1].append(line)
    merged: list[list[list[str]]] = []
    for comments, commands in found:
        if not commands and merged:
            merged[-1][0].extend(comments)
        else:
            merged.append([comments, commands])
    return [Step("\n".join(c), "\n".join(cmds)) for c, cmds in merged]


def documents(out: str) -> list:
    """The JSON values printed one after another (curl -s prints bodies back to back)."""
    decoder, values, at = json.JSONDecoder(), [], 0
    while at < len(out):
        if out[at].isspace():
            at += 1
            continue
        value, at = decoder.raw_decode(out, at)
        values.append(value)
    return values


# ---- what each step's comment says, checked ------------------------------------------------


def _sellers_awaiting(out, cwd):
    (page,) = documents(out)
    assert page["items"], "the demo seeded complaints awaiting the seller"
    assert {c["state"] for c in page["items"]} == {"awaiting_seller"}


def _order_registered(out, cwd):
    (order,) = documents(out)
    assert order["channel"] == "tokopedia" and order["id"] == "INV-2025-0001", order
    assert order["total"] == 105000


def _opened(out, cwd):
    (complaint,) = documents(out)
    assert complaint["state"] == "awaiting_seller", complaint
    assert complaint["order"]["id"] == "INV-2025-0001"


def _counter_offer(out, cwd):
    (complaint,) = documents(out)
    assert complaint["state"] == "awaiting_buyer", complaint
    assert complaint["order"]["id"] == "INV-2025-0001", "CID is the complaint just opened"


def _accepted_and_chained(out, cwd):
    complaint, events = documents(out)
    assert (complaint["state"], complaint["outcome"]) == ("closed", "agreed"), complaint
    log = events["items"]
    assert [e["seq"] for e in log] == list(range(1, len(log) + 1))
    assert all(b["prev_hash"] == a["hash"] for a, b in zip(log, log[1:], strict=False))
    assert [e["type"] for e in log][:3] == ["open", "propose", "accept"]


def _settlement_confirmed(out, cwd):
    (settlement,) = documents(out)
    assert settlement["status"] == "confirmed", settlement
    assert (settlement["to_buyer"], settlement["to_seller"]) == (60000, 45000)
    assert settlement["reference"] == "PAY-0001"


def _care_token(out, cwd):
    assert re.fullmatch(r"[\w-]+\.[\w-]+\.[\w-]+\n", out), out


def _nothing_printed(out, cwd):
    assert out == "", "an assignment prints nothing"


def _photo_sent(out, cwd):
    (evidence,) = documents(out)
    assert (cwd / "foto.jpg").exists()
    assert (evidence["kind"], evidence["caption"]) == ("photo", "Layar retak"), evidence


def _tracking_sent(out, cwd):
    (evidence,) = documents(out)
    assert evidence["kind"] == "tracking" and evidence["tracking_number"] == "JP1234567890"


def _evidence_listed(out, cwd):
    (listing,) = documents(out)
    kinds = sorted(e["kind"] for e in listing["items"])
    assert kinds == ["photo", "tracking"], listing
    assert all("href" in e for e in listing["items"] if e["kind"] == "photo")


def _printable(out, cwd):
    page = (cwd / "complaint.html").read_text(encoding="utf-8")
    assert page.lstrip().lower().startswith("<!doctype html"), page[:200]


def _exported(out, cwd):
    wrote = re.fullmatch(r"Wrote (\S+): (\d+) events \(ndjson\), signed manifest last\.\n", out)
    assert wrote and int(wrote.group(2)) > 0, out
    lines = (cwd / wrote.group(1)).read_text(encoding="utf-8").splitlines()
    assert "manifest" in json.loads(lines[-1])


def _exported_over_http(out, cwd):
    lines = (cwd / "week.ndjson").read_text(encoding="utf-8").splitlines()
    assert len(lines) > 1 and "manifest" in json.loads(lines[-1]), lines[-1:]


def _verified(out, cwd):
    key, verdict = out.splitlines()
    assert re.fullmatch(r"[A-Za-z0-9+/=]{40,}", key), key
    assert verdict.startswith("ok"), verdict


def _anchored(out, cwd):
    assert (cwd / "proof.json").exists() and (cwd / "later.ndjson").exists()
    assert out.count("ok") >= 3, out  # verify-log, verify-proof and verify each say so


def _subscribed(out, cwd):
    (subscription,) = documents(out)
    assert subscription["secret"].startswith("whsec_"), subscription
    assert subscription["types"] == [] and subscription["channel"] is None


def _replayed(out, cwd):
    lines = out.splitlines()
    first = r"Replayed (\d+) complaints open between .+, under new-policy\.toml\."
    found = re.fullmatch(first, lines[0])
    assert found and int(found.group(1)) > 0, lines[0]
    for kind in ("auto_escalate", "auto_close", "auto_complete", "deadline_approaching"):
        row = next(line for line in lines if line.startswith(kind + " "))
        assert row.split()[1:] == ["0"] * 5, row  # nothing came due in the demo's minutes


CHECKS: list[tuple[str, Callable[[str, Path], None]]] = [
    ("The seller's complaints", _sellers_awaiting),
    ("The marketplace registers the order", _order_registered),
    ("The buyer opens a complaint", _opened),
    ("the seller counter-offers", _counter_offer),
    ("The buyer accepts it", _accepted_and_chained),
    ("the payment system confirms it", _settlement_confirmed),
    ("A token for anyone else", _care_token),
    ("An open complaint of the demo buyer's", _nothing_printed),
    ("The buyer sends a photo", _photo_sent),
    ("The seller sends the tracking number", _tracking_sent),
    ("Everyone involved lists it", _evidence_listed),
    ('/export" > complaint.html', _printable),
    ("as NDJSON, masked, chained", _exported),
    ("The same over HTTP", _exported_over_http),
    ("The service's public key", _verified),
    ("Sign a checkpoint now", _anchored),
    ("The marketplace subscribes", _subscribed),
    ("every other channel in 48 hours", _replayed),
]


# ---- the run --------------------------------------------------------------------------------


@pytest.fixture
def user_dir(tmp_path):
    """A directory laid out like a clone after `make install`: the project's .venv."""
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    return tmp_path


def make_run(cwd: Path, port: int) -> list[list[str]]:
    """What `make run` runs (its `install` taken as done), with the port chosen here."""
    printed = subprocess.run(
        ["make", "-s", "-f", str(ROOT / "Makefile"), "-n", "-o", "install", "run", f"PORT={port}"],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [shlex.split(line) for line in printed.splitlines() if line.strip()]


def test_every_readme_shell_block_works_as_pasted(user_dir):
    blocks = shell_blocks(README.read_text(encoding="utf-8"))
    setup, *examples = blocks
    assert setup.split()[0:2] == ["make", "run"], "the first block is the set-up: this test"
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("RESOLUTION_") and k not in ("MONGODB_URI", "PROMETHEUS_MULTIPROC_DIR")
    }
    seed, serve = make_run(user_dir, port)
    assert seed[1:2] == ["seed-demo"] and serve[1:2] == ["serve"], (seed, serve)
    seeded = subprocess.run(seed, cwd=user_dir, env=env, capture_output=True, text=True)
    assert seeded.returncode == 0, seeded.stderr
    exports = [
        line.strip() for line in seeded.stdout.splitlines() if line.strip().startswith("export ")
    ]
    assert len(exports) == 5, seeded.stdout
    log = (user_dir / "serve.log").open("wb")
    server = subprocess.Popen(
        serve, cwd=user_dir, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while call_ready(base):
            assert server.poll() is None, (user_dir / "serve.log").read_text()
            assert time.monotonic() < deadline, "the server did not become ready in 60 s"
            time.sleep(0.2)
        run_examples(examples, user_dir, env, exports, base)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


def call_ready(base: str) -> bool:
    """True while the server is not ready yet."""
    try:
        return call(base, "GET", "/readyz")[0] != 200
    except OSError:
        return True


def run_examples(blocks, cwd: Path, env: dict, exports: list[str], base: str) -> None:
    cut = [step for block in blocks for step in steps(block.replace(ADDRESS, base))]
    results = cwd / ".readme"
    results.mkdir()
    script = [*exports]
    for number, step in enumerate(cut):
        script.append(
            f"{{\n{step.commands}\n}} > .readme/{number}.out 2> .readme/{number}.err; "
            f"echo $? > .readme/{number}.rc"
        )
    subprocess.run(["bash", "-c", "\n".join(script)], cwd=cwd, env=env, timeout=120, check=True)
    assert len(cut) == len(CHECKS), [s.comment or s.commands for s in cut]
    for number, (step, (marker, check)) in enumerate(zip(cut, CHECKS, strict=True)):
        assert marker in step.text, f"step {number} is not the one checked for {marker!r}"
        out = (results / f"{number}.out").read_text(encoding="utf-8")
        err = (results / f"{number}.err").read_text(encoding="utf-8")
        rc = int((results / f"{number}.rc").read_text())
        assert rc == 0, f"{step.text}\n exited {rc}: {err}"
        try:
            check(out, cwd)
        except Exception as error:
            raise AssertionError(f"{step.text}\n printed:\n{out[:2000]}\n{err[:500]}") from error
