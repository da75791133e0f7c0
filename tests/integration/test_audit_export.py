"""Audit exports from the command line, on a generated event log in the real database.

The round trip of the issue: `resolution export` a generated log, `resolution verify` it (ok);
change one byte of one stored event, export again, and verify names that event. Then the
"done when": an auditor's one command gives a file that verifies, and an edited line is named.

The log is made the fast way: sealed, hash-chained events built with the domain's own
`Event.sealed` and inserted in bulk with pymongo (no transactions, no projections). On the
shared 2-core machine this was written on, 100,000 events took 65 to 100 s to generate, 26 to
50 s to export and 8 to 19 s to verify: 2.5 minutes for one export and verification, about
five for the test's three. So the round trip here uses ROUND_TRIP_EVENTS = 10,000 (about 20 s
with its three exports), and `benchmarks/export_memory.py` measures 10,000 against 100,000.
"""

from __future__ import annotations

import csv
import json
import os
import pty
import re
import stat
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from resolution.cli import main
from resolution.service import signing
from resolution.store import database
from resolution.store.documents import EventDocument
from tests.support.audit_log import START, generate_log, nik_of
from tests.support.parties import SECRET

ROOT = Path(__file__).resolve().parents[2]
ROUND_TRIP_EVENTS = 10_000
SIGNING_KEY = signing.generate()  # RESOLUTION_SIGNING_KEY of the commands under test
LONE_16_DIGITS = re.compile(r"(?<![0-9A-Za-z])\d{16}(?![0-9A-Za-z])")


# --- the commands -----------------------------------------------------------------------------


@pytest.fixture
def env(mongodb_uri, db_name, tmp_path) -> dict[str, str]:
    return {
        "MONGODB_URI": mongodb_uri,
        "RESOLUTION_DB_NAME": db_name,
        "RESOLUTION_JWT_SECRET": SECRET,
        "RESOLUTION_SIGNING_KEY": SIGNING_KEY,
        "RESOLUTION_DATA_DIR": str(tmp_path / "data"),
    }


@pytest.fixture
def resolution(env, mongodb_uri, db_name):
    """Runs `resolution …` in this process, as an auditor would run it in a shell."""

    def run(*args: str, **extra_env: str):
        try:
            return CliRunner().invoke(main, list(args), env={**env, **extra_env})
        finally:
            database.connect(mongodb_uri, db_name)  # the command disconnects the shared client

    return run


@pytest.fixture
def public_key(resolution) -> str:
    result = resolution("keys")
    assert result.exit_code == 0, result.output
    return result.output.strip()


def stored(complaint_id: str, seq: int) -> dict:
    return EventDocument._get_collection().find_one({"complaint_id": complaint_id, "seq": seq})


def set_data(complaint_id: str, seq: int, field: str, value) -> None:
    """Writes one field of a stored event behind the service's back, as an intruder would."""
    # The collection is looked up each time: a command under test reconnects the client.
    found = EventDocument._get_collection().update_one(
        {"complaint_id": complaint_id, "seq": seq}, {"$set": {f"data.{field}": value}}
    )
    assert found.matched_count == 1


def flip_one_character(text: str) -> str:
    """The same text with one byte changed (the last character's code point, plus one)."""
    return text[:-1] + chr(ord(text[-1]) + 1)


# --- the round trip ------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_generated_log_exports_verifies_and_names_the_one_event_changed_in_the_database(
    resolution, public_key, tmp_path
):
    ids = generate_log(ROUND_TRIP_EVENTS)
    out = tmp_path / "all.ndjson"
    exported = resolution("export", "--out", str(out))
    assert exported.exit_code == 0, exported.output
    assert f"{ROUND_TRIP_EVENTS} events" in exported.output
    checked = resolution("verify", str(out), "--public-key", public_key)
    assert checked.exit_code == 0, checked.output
    assert checked.output.startswith(f"ok: {ROUND_TRIP_EVENTS} events")
    raw = out.read_text()
    assert nik_of(0) not in raw and nik_of(len(ids) - 1) not in raw
    # The identity documents' file names (`ktp-<NIK>.png`). Not "ktp-" alone: a field's
    # random salt (base64url, `-` included) spells it now and then.
    assert not LONE_16_DIGITS.search(raw) and not re.search(r"ktp-\d{16}", raw)

    # One byte of one event in the middle, in a field the export masks (a message with a NIK)
    # and in one it shows as is (the refund amount of a proposal).
    victim = ids[len(ids) // 2]
    for seq, field in ((2, "body"), (4, "solution")):
        original = stored(victim, seq)["data"][field]
        if field == "body":
            changed = flip_one_character(original)
        else:
            changed = {**original, "amount": original["amount"] + 1}  # int32 0x7530 -> 0x7531
        set_data(victim, seq, field, changed)
        again = tmp_path / f"tampered-{seq}.ndjson"
        assert resolution("export", "--out", str(again)).exit_code == 0
        broken = resolution("verify", str(again), "--public-key", public_key)
        assert broken.exit_code == 1
        assert f"complaint {victim} seq {seq}" in broken.output, broken.output
        assert "the event does not match its hash" in broken.output
        set_data(victim, seq, field, original)  # as it was: the next change is alone


def test_an_event_removed_from_the_database_is_named_by_its_successor(
    resolution, public_key, tmp_path
):
    first, second, third = generate_log(30)
    EventDocument._get_collection().delete_one({"complaint_id": second, "seq": 4})
    out = tmp_path / "gap.ndjson"
    assert resolution("export", "--out", str(out)).exit_code == 0
    result = resolution("verify", str(out), "--public-key", public_key)
    assert result.exit_code == 1
    assert f"complaint {second} seq 5" in result.output, result.output
    assert "one is missing" in result.output

    # The first event of a chain gone: in an export from the beginning, its successor says so.
    EventDocument._get_collection().delete_many({"complaint_id": second})
    EventDocument._get_collection().delete_one({"complaint_id": third, "seq": 1})
    assert resolution("export", "--out", str(out)).exit_code == 0
    result = resolution("verify", str(out), "--public-key", public_key)
    assert f"complaint {third} seq 2" in result.output, result.output
    assert "earlier events are missing" in result.output
    # From a later instant the export starts in the middle of chains: that is no fault.
    since = (START + timedelta(minutes=1)).isoformat()
    assert resolution("export", "--since", since, "--out", str(out)).exit_code == 0
    assert resolution("verify", str(out), "--public-key", public_key).exit_code == 0


# --- what an auditor does ---------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["ndjson", "csv"])
def test_an_auditor_exports_verifies_edits_one_line_and_verify_names_that_line(
    resolution, public_key, tmp_path, fmt
):
    generate_log(200)
    out = tmp_path / f"june.{fmt}"
    since, until = "2025-06-01T00:00:00+07:00", "2025-07-01T00:00:00+07:00"
    exported = resolution(
        "export", "--since", since, "--until", until, "--format", fmt, "--out", str(out)
    )
    assert exported.exit_code == 0, exported.output
    assert "Exporting" not in exported.output  # no progress bar when not on a terminal
    assert not out.with_name(out.name + ".partial").exists()
    ok = resolution("verify", str(out), "--public-key", public_key)
    assert ok.exit_code == 0 and ok.output.startswith("ok: 200 events"), ok.output

    lines = out.read_text(encoding="utf-8").splitlines(keepends=True)
    number = 117  # a line in the middle, as an editor numbers it
    line = lines[number - 1]
    if fmt == "csv":
        complaint_id, seq, _, _, at = next(csv.reader([line]))[:5]
    else:
        record = json.loads(line)
        complaint_id, seq, at = record["complaint_id"], record["seq"], record["at"]
    edited = line.replace(at, at.replace(".000+", ".001+"), 1)  # one millisecond later
    assert edited != lines[number - 1]
    lines[number - 1] = edited
    out.write_text("".join(lines), encoding="utf-8")
    broken = resolution("verify", str(out), "--public-key", public_key)
    assert broken.exit_code == 1
    assert f"line {number}, complaint {complaint_id} seq {seq}" in broken.output, broken.output


@pytest.mark.slow
def test_the_progress_bar_shows_on_a_terminal_and_not_in_a_pipe(env, tmp_path):
    generate_log(30)
    command = [sys.executable, "-m", "resolution", "export", "--out", str(tmp_path / "e.ndjson")]
    environ = {**os.environ, **env}
    master, terminal = pty.openpty()
    with subprocess.Popen(command, env=environ, cwd=ROOT, stderr=terminal) as child:
        os.close(terminal)
        shown = b""
        while True:
            try:
                chunk = os.read(master, 4096)  # EIO once the child has exited and all is read
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
    os.close(master)
    assert child.returncode == 0
    assert b"Exporting" in shown and b"100%" in shown, shown

    piped = subprocess.run(command, env=environ, cwd=ROOT, capture_output=True, timeout=120)
    assert piped.returncode == 0, piped.stderr
    assert b"Exporting" not in piped.stderr + piped.stdout
    assert b"30 events" in piped.stdout


def test_the_key_resolution_keys_prints_verifies_and_another_is_refused(
    resolution, public_key, tmp_path
):
    generate_log(20)
    out = tmp_path / "e.ndjson"
    assert resolution("export", "--out", str(out)).exit_code == 0
    assert public_key == signing.public_key(signing.load(SIGNING_KEY, tmp_path))
    assert resolution("verify", str(out), "--public-key", public_key).exit_code == 0

    other = resolution("keys", "--generate").output.strip()
    other_public = resolution("keys", RESOLUTION_SIGNING_KEY=other).output.strip()
    assert other_public != public_key
    refused = resolution("verify", str(out), "--public-key", other_public)
    assert refused.exit_code == 1
    assert "signature is not valid for that key" in refused.output
    assert "line 21" in refused.output  # the manifest, after 20 events
    assert resolution("verify", str(out), "--public-key", "not base64!").exit_code == 1

    # An export signed with the other key verifies with the other key only.
    signed_elsewhere = tmp_path / "other.ndjson"
    made = resolution("export", "--out", str(signed_elsewhere), RESOLUTION_SIGNING_KEY=other)
    assert made.exit_code == 0
    assert resolution("verify", str(signed_elsewhere), "--public-key", other_public).exit_code == 0
    assert resolution("verify", str(signed_elsewhere), "--public-key", public_key).exit_code == 1


def test_without_a_configured_key_a_development_key_is_kept_in_the_data_dir(resolution, tmp_path):
    data_dir = tmp_path / "dev"
    first = resolution("keys", "--data-dir", str(data_dir), RESOLUTION_SIGNING_KEY="")
    again = resolution("keys", "--data-dir", str(data_dir), RESOLUTION_SIGNING_KEY="")
    assert first.exit_code == 0 and first.output == again.output
    key_file = data_dir / signing.DEV_KEY_FILE
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert first.output.strip() == signing.public_key(signing.load(None, data_dir))

    generate_log(10)
    out = tmp_path / "dev.ndjson"
    made = resolution(
        "export", "--out", str(out), "--data-dir", str(data_dir), RESOLUTION_SIGNING_KEY=""
    )
    assert made.exit_code == 0, made.output
    checked = resolution("verify", str(out), "--public-key", first.output.strip())
    assert checked.exit_code == 0, checked.output


def test_a_malformed_signing_key_is_a_configuration_error(resolution, tmp_path):
    result = resolution("keys", RESOLUTION_SIGNING_KEY="not-a-key")
    assert result.exit_code != 0
    assert "RESOLUTION_SIGNING_KEY" in str(result.exception or result.output)


def test_export_refuses_until_before_since_and_leaves_no_file(resolution, tmp_path):
    out = tmp_path / "never.ndjson"
    result = resolution(
        "export", "--since", "2025-06-02T00:00:00Z", "--until", "2025-06-01T00:00:00Z",
        "--out", str(out),
    )  # fmt: skip
    assert result.exit_code == 1
    assert "`until` must be later than `since`" in result.output
    assert not out.exists() and not out.with_name(out.name + ".partial").exists()
    naive = resolution("export", "--since", "2025-06-01T00:00:00", "--out", str(out))
    assert naive.exit_code == 2 and "time zone" in naive.output


def test_export_filters_by_type_and_complaint_and_the_file_still_verifies(
    resolution, public_key, tmp_path
):
    ids = generate_log(50)
    out = tmp_path / "messages.csv"
    made = resolution(
        "export", "--type", "message", "--type", "decide", "--format", "csv", "--out", str(out)
    )
    assert made.exit_code == 0 and "15 events" in made.output, made.output
    with out.open(newline="", encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    assert {row["type"] for row in rows} == {"message", "decide", "manifest"}
    assert json.loads(rows[-1]["data"])["filters"] == {"types": ["message", "decide"]}
    assert resolution("verify", str(out), "--public-key", public_key).exit_code == 0

    one = tmp_path / "one.ndjson"
    assert resolution("export", "--complaint-id", ids[3], "--out", str(one)).exit_code == 0
    records = [json.loads(line) for line in one.read_text().splitlines()]
    assert [r.get("seq") for r in records[:-1]] == list(range(1, 11))
    assert resolution("verify", str(one), "--public-key", public_key).exit_code == 0


def test_verify_reads_a_file_an_editor_saved_with_a_byte_order_mark(
    resolution, public_key, tmp_path
):
    generate_log(10)
    out = tmp_path / "e.ndjson"
    assert resolution("export", "--out", str(out)).exit_code == 0
    out.write_bytes(b"\xef\xbb\xbf" + out.read_bytes())
    assert resolution("verify", str(out), "--public-key", public_key).exit_code == 0
