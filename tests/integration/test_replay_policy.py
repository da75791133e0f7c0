"""`resolution replay-policy`: what a new deadline policy would have done to a period's
complaints, checked against a history built through the real service and counted by hand;
and it writes nothing.

The history runs under today's plain rules (72 hours a turn, reminded 24 hours before), the
sweeper passing a minute after each deadline. The new policy gives Tokopedia 3 business days
of Indonesia's calendar and every other channel 48 hours.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner

from resolution import service
from resolution.cli import main
from resolution.domain.actors import Actor, Role
from resolution.domain.calendars import Calendar
from resolution.domain.policy import Period, Policy, Rules
from resolution.service import evidence as evidence_service
from resolution.service.policy_replay import replay_policy
from resolution.service.sweeper import sweep
from resolution.store import database
from tests.support.bodies import complaint_body, order
from tests.support.orders import open_registered
from tests.support.snapshots import assert_unchanged, stored

WIB = timezone(timedelta(hours=7))
BUYER = Actor(Role.BUYER, "buyer-1")
SELLER = Actor(Role.SELLER, "seller-1", "shop-1")
CARE = Actor(Role.CARE, "agent-1")
NEW_POLICY = """\
[default]
inactivity_period = "48h"
[channels.tokopedia]
inactivity_period = "3 business days"
calendar = "ID"
"""
SINCE, UNTIL = datetime(2025, 3, 24, tzinfo=WIB), datetime(2025, 5, 1, tzinfo=WIB)
NOW = datetime(2025, 4, 28, 12, 0, tzinfo=WIB)  # Monday: the replay's "now"
DECISION = {
    "solution": {"kind": "refund", "amount": 45000},
    "reason_code": "damaged",
    "rationale": "Foto menunjukkan kaos robek.",
}


def at(*moment: int) -> datetime:
    return datetime(*moment, tzinfo=WIB)


def _open(context, clock, moment, order_id, channel):
    clock.now = moment
    body = complaint_body(order_id, order=order(order_id, channel=channel))
    return open_registered(context, BUYER, body).complaint.id


def _do(context, clock, moment, actor, complaint_id, action, request=None):
    clock.now = moment
    return service.act(context, actor, complaint_id, action, request or {}).complaint


def _sweep(context, moment, expected):
    assert sweep(context, moment + timedelta(minutes=1)) == expected


@pytest.fixture
def history(context, clock) -> dict[str, str]:
    """The hand-counted fixture, built in time order. Times in WIB."""
    ids = {}
    # F: open and closed in early March, before the period: not replayed at all.
    ids["F"] = _open(context, clock, at(2025, 3, 3, 10), "INV-F", "tiktok_shop")
    offer = {"solution": {"kind": "refund", "amount": 30000}}
    _do(context, clock, at(2025, 3, 3, 12), SELLER, ids["F"], "propose", offer)
    _do(context, clock, at(2025, 3, 3, 13), BUYER, ids["F"], "accept")
    # A (Tokopedia), opened the Thursday before Lebaran; the seller stays silent.
    ids["A"] = _open(context, clock, at(2025, 3, 27, 10), "INV-A", "tokopedia")
    _sweep(context, at(2025, 3, 29, 10), {"deadline_approaching": 1})  # 72 h less 24 h
    _sweep(context, at(2025, 3, 30, 10), {"auto_escalate": 1})  # 72 h: a Sunday
    _do(context, clock, at(2025, 3, 31, 8), CARE, ids["A"], "assign")
    _do(context, clock, at(2025, 3, 31, 12), CARE, ids["A"], "decide", DECISION)
    # B (TikTok Shop), the seller silent.
    ids["B"] = _open(context, clock, at(2025, 4, 7, 10), "INV-B", "tiktok_shop")
    _sweep(context, at(2025, 4, 9, 10), {"deadline_approaching": 1, "settlement_requested": 1})
    _sweep(context, at(2025, 4, 10, 10), {"auto_escalate": 1})
    _do(context, clock, at(2025, 4, 10, 11), CARE, ids["B"], "assign")
    _do(context, clock, at(2025, 4, 10, 15), CARE, ids["B"], "decide", DECISION)
    # C (TikTok Shop): the seller is reminded, answers at 58 h, the buyer accepts.
    ids["C"] = _open(context, clock, at(2025, 4, 14, 10), "INV-C", "tiktok_shop")
    _sweep(context, at(2025, 4, 16, 10), {"deadline_approaching": 1, "settlement_requested": 1})
    _do(context, clock, at(2025, 4, 16, 20), SELLER, ids["C"], "propose", offer)
    _do(context, clock, at(2025, 4, 17, 9), BUYER, ids["C"], "accept")
    # G (Tokopedia): answered and agreed within hours; the clock never acts, either way.
    ids["G"] = _open(context, clock, at(2025, 4, 22, 9), "INV-G", "tokopedia")
    _do(context, clock, at(2025, 4, 22, 11), SELLER, ids["G"], "propose", offer)
    _do(context, clock, at(2025, 4, 22, 12), BUYER, ids["G"], "accept")
    # E (Tokopedia), opened Thursday, the seller silent over the weekend.
    ids["E"] = _open(context, clock, at(2025, 4, 24, 10), "INV-E", "tokopedia")
    _sweep(context, at(2025, 4, 26, 10), {"deadline_approaching": 1})
    _sweep(context, at(2025, 4, 27, 10), {"auto_escalate": 1})
    clock.now = NOW
    return ids


def _policy_file(tmp_path, text=NEW_POLICY):
    path = tmp_path / "new.toml"
    path.write_text(text)
    return path


# What the new policy does, counted by hand (WIB):
# A  3 business days from Thu 27 Mar 10:00 skip Nyepi (Sat 29), Sunday and Idul Fitri (Mon 31
#    Mar, Tue 1 Apr): Fri 28, Wed 2, Thu 3 April, 10:00. Escalated 4 days later than Sun 30
#    Mar 10:00; reminded a day before, Wed 2 Apr 10:00, 4 days later than Sat 29 Mar 10:00.
#    Care's assignment and decision come 4 days later too (they followed the escalation).
# B  48 h from Mon 7 Apr 10:00: escalated Wed 9 Apr 10:00, a day earlier than Thu 10 Apr;
#    reminded Tue 8 Apr 10:00 (halfway: 24 h before is also 24 h after), a day earlier.
#    Care takes the case when it did (Thu 10 Apr 11:00): it waited a day in the queue.
# C  48 h from Mon 14 Apr 10:00: reminded Tue 15 Apr 10:00 (a day earlier than Wed 16 Apr
#    10:00) and escalated Wed 16 Apr 10:00, which did not happen: the seller's proposal at
#    20:00 and the buyer's acceptance would then have been refused (the case was with care).
# E  3 business days from Thu 24 Apr 10:00: Fri 25, Mon 28, Tue 29 Apr 10:00, after "now"
#    (Mon 28 Apr 12:00): the escalation of Sun 27 Apr would not have come yet. Reminded Mon
#    28 Apr 10:00 (24 h before; halfway, Sat 26 Apr 22:00, is sooner), 2 days later.
# G  nothing either way. F closed before the period began: not replayed.
EXPECTED = {
    "auto_escalate": {"earlier": 1, "later": 1, "same": 0, "not_at_all": 1, "new": 1},
    "auto_close": dict.fromkeys(("earlier", "later", "same", "not_at_all", "new"), 0),
    "auto_complete": dict.fromkeys(("earlier", "later", "same", "not_at_all", "new"), 0),
    "deadline_approaching": {"earlier": 2, "later": 2, "same": 0, "not_at_all": 0, "new": 0},
}
DAY = 86400


def _changes(report, ids):
    names = {v: k for k, v in ids.items()}
    return sorted(
        (names[c["complaint_id"]], c["kind"], c["verdict"], c["difference_seconds"])
        for c in report["changes"]
    )


def test_the_new_policy_replayed_over_the_hand_counted_history(history, context, tmp_path):
    policy = _read(tmp_path)
    report = replay_policy(context, policy, SINCE, UNTIL).as_data()
    assert report["complaints"] == 5  # A, B, C, E, G
    assert report["counts"] == EXPECTED
    assert _changes(report, history) == [
        ("A", "auto_escalate", "later", 4 * DAY),
        ("A", "deadline_approaching", "later", 4 * DAY),
        ("B", "auto_escalate", "earlier", -DAY),
        ("B", "deadline_approaching", "earlier", -DAY),
        ("C", "auto_escalate", "new", None),
        ("C", "deadline_approaching", "earlier", -DAY),
        ("E", "auto_escalate", "not_at_all", None),
        ("E", "deadline_approaching", "later", 2 * DAY),
    ]
    by_kind = {(c["complaint_id"], c["kind"]): c for c in report["changes"]}
    assert by_kind[history["A"], "auto_escalate"]["would_be"] == "2025-04-03T03:00:00.000+00:00"
    assert by_kind[history["C"], "auto_escalate"]["would_be"] == "2025-04-16T03:00:00.000+00:00"
    left_out = [(s["complaint_id"], s["type"], s["by"]) for s in report["not_replayed"]]
    assert left_out == [(history["C"], "propose", "seller"), (history["C"], "accept", "buyer")]
    assert "awaiting care" in report["not_replayed"][0]["why"]


def test_the_policy_in_force_replays_history_as_it_happened(history, context, tmp_path):
    """The replay's own check: under the rules the history was made with, every move and
    reminder comes at the same time, and every event replays."""
    same = _read(tmp_path, '[default]\ninactivity_period = "72h"\n')
    report = replay_policy(context, same, SINCE, UNTIL)
    counts = report.counts()
    assert counts["auto_escalate"] == {**EXPECTED["auto_close"], "same": 3}  # A, B, E
    assert counts["deadline_approaching"] == {**EXPECTED["auto_close"], "same": 4}  # A, B, C, E
    assert report.changes == [] and report.skipped == []


# The new policy of NEW_POLICY, built in code.
LEBARAN = Policy(
    Rules(inactivity=Period(span=timedelta(hours=48))),
    {"tokopedia": Rules(inactivity=Period(business_days=3), calendar=Calendar("ID"))},
)


def test_the_period_and_now_choose_what_is_replayed(history, context, clock):
    policy = LEBARAN
    # From Sunday 27 April: only E was open (G closed on the 22nd).
    only_e = replay_policy(context, policy, at(2025, 4, 27), UNTIL)
    assert [c.complaint_id for c in only_e.complaints] == [history["E"]]
    # A week later, E's new deadline (Tue 29 Apr 10:00) has passed: escalated 2 days later.
    clock.now = at(2025, 5, 5)
    (e,) = replay_policy(context, policy, at(2025, 4, 27), UNTIL).complaints
    verdicts = {c.kind: (c.verdict, c.difference) for c in e.changes}
    assert verdicts["auto_escalate"] == ("later", timedelta(days=2))


def _read(tmp_path, text=NEW_POLICY) -> Policy:
    from resolution.config import read_policy
    from resolution.domain.deadlines import Deadlines
    from resolution.domain.orders import Windows

    return read_policy(_policy_file(tmp_path, text), Deadlines(), Windows())


@pytest.fixture
def cli_env(monkeypatch, config):
    monkeypatch.setenv("MONGODB_URI", config.mongodb_uri)
    monkeypatch.setenv("RESOLUTION_DB_NAME", config.db_name)
    monkeypatch.delenv("RESOLUTION_POLICY", raising=False)


def test_the_command_prints_the_counts_and_writes_nothing(history, tmp_path, cli_env, config):
    before = stored()
    args = ["replay-policy", "--policy", str(_policy_file(tmp_path))]
    args += ["--since", SINCE.isoformat(), "--until", UNTIL.isoformat(), "--now", NOW.isoformat()]
    try:
        result = CliRunner().invoke(main, args, catch_exceptions=False)
        as_json = CliRunner().invoke(main, [*args, "--json"], catch_exceptions=False)
    finally:
        database.connect(config.mongodb_uri, config.db_name)  # the command disconnects it
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("Replayed 5 complaints open between 2025-03-24 00:00 and ")
    escalations = next(line for line in lines if line.startswith("auto_escalate"))
    assert escalations.split()[1:] == ["1", "1", "0", "1", "1"]
    reminders = next(line for line in lines if line.startswith("deadline_approaching"))
    assert reminders.split()[1:] == ["2", "2", "0", "0", "0"]
    a, c, e = history["A"], history["C"], history["E"]
    assert f"  {a}  auto_escalate (seller): 2025-03-30 10:00 -> 2025-04-03 10:00, 4d later" in lines
    assert f"  {c}  auto_escalate (seller): new, 2025-04-16 10:00" in lines
    assert (
        f"  {e}  auto_escalate (seller): was 2025-04-27 10:00, would not have come by "
        "2025-04-28 12:00" in lines
    )
    assert any(
        line.startswith(f"  {c}  seq 3 propose by seller at 2025-04-16 20:00: ") for line in lines
    )
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.output)["counts"] == EXPECTED
    assert_unchanged(before)


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ('[default]\ninactivity_period = "-3h"\n', "line 2: default.inactivity_period"),
        ('[default]\n\n[channels.tokopedia]\ncalender = "ID"\n', "line 4: channels.tokopedia"),
        ('[channels.tokopedia]\nworking_hours = "21:00-06:00"\n', "line 2: channels.tokopedia"),
        ("[default\n", "not TOML"),
    ],
)
def test_a_bad_policy_file_is_a_usage_error_naming_its_line(tmp_path, cli_env, text, named):
    path = _policy_file(tmp_path, text)
    result = CliRunner().invoke(
        main, ["replay-policy", "--policy", str(path), "--since", SINCE.isoformat()]
    )
    assert result.exit_code == 2, result.output
    assert "Invalid value for --policy" in result.output
    assert f"{path}" in result.output and named in result.output
    assert "Traceback" not in result.output


def test_an_empty_period_is_a_usage_error(tmp_path, cli_env):
    args = ["replay-policy", "--policy", str(_policy_file(tmp_path))]
    result = CliRunner().invoke(
        main, [*args, "--since", UNTIL.isoformat(), "--until", "2025-01-01T00:00:00+07:00"]
    )
    assert result.exit_code == 2, result.output
    assert "until" in result.output


# --- A longer story: a paused clock, evidence asked for and reviewed, a return never sent ----


@pytest.fixture
def long_story(context, clock) -> str:
    """TikTok Shop, under today's plain 72 hours (times in WIB, June 2025):

    Mon 2 Jun 10:00 opened; 12:00 care pauses the seller's clock until Wed 4 Jun 12:00 (the
    courier investigates); the sweeper resumes it then: the seller's deadline, Thu 5 Jun 10:00,
    is now Sat 7 Jun 10:00 (reminded Fri 6 Jun 10:00). Escalated Sat 7 Jun 10:00; care takes
    it at 11:00, asks the seller for the tracking number at 11:30 (due Mon 9 Jun 11:30), the
    seller sends it Sun 8 Jun 09:00, care reviews it at 09:30 and decides a return at 10:00:
    the buyer's turn until Wed 11 Jun 10:00 (reminded Tue 10 Jun 10:00), closed by the clock.
    """
    complaint_id = _open(context, clock, at(2025, 6, 2, 10), "INV-L", "tiktok_shop")
    pause = {"reason": "Investigasi kurir.", "until": at(2025, 6, 4, 12)}
    _do(context, clock, at(2025, 6, 2, 12), CARE, complaint_id, "pause_clock", pause)
    _sweep(context, at(2025, 6, 4, 12), {"resume_clock": 1})
    _sweep(context, at(2025, 6, 6, 10), {"deadline_approaching": 1})
    _sweep(context, at(2025, 6, 7, 10), {"auto_escalate": 1})
    _do(context, clock, at(2025, 6, 7, 11), CARE, complaint_id, "assign")
    ask = {"party": "seller", "what": "Nomor resi pengiriman.", "due_at": at(2025, 6, 9, 11, 30)}
    asked = _do(context, clock, at(2025, 6, 7, 11, 30), CARE, complaint_id, "request_evidence", ask)
    clock.now = at(2025, 6, 8, 9)
    tracking = {"kind": "tracking", "courier": "jne", "tracking_number": "JNE123456"}
    tracking["answers"] = asked.evidence_request["id"]
    sent = evidence_service.add_evidence(context, SELLER, complaint_id, tracking).events[0]
    evidence_id = sent.data["evidence_id"]
    clock.now = at(2025, 6, 8, 9, 30)
    evidence_service.review_evidence(context, CARE, complaint_id, evidence_id, "Resi valid.")
    decision = {
        **DECISION,
        "solution": {"kind": "return_refund", "amount": 45000},
        "evidence_considered": [evidence_id],
    }
    _do(context, clock, at(2025, 6, 8, 10), CARE, complaint_id, "decide", decision)
    _sweep(context, at(2025, 6, 10, 10), {"deadline_approaching": 1})
    _sweep(context, at(2025, 6, 11, 10), {"auto_close": 1})
    clock.now = at(2025, 6, 16, 12)
    return complaint_id


def _verdicts(context, text, tmp_path):
    report = replay_policy(context, _read(tmp_path, text), at(2025, 6, 1), at(2025, 6, 30))
    (replayed,) = report.complaints
    return [(c.kind, c.party, c.verdict, c.difference) for c in replayed.changes], replayed


def test_the_longer_story_replays_as_it_happened(long_story, context, tmp_path):
    changes, replayed = _verdicts(context, '[default]\ninactivity_period = "72h"\n', tmp_path)
    assert changes == [
        ("deadline_approaching", "seller", "same", timedelta(0)),
        ("auto_escalate", "seller", "same", timedelta(0)),
        ("deadline_approaching", "buyer", "same", timedelta(0)),
        ("auto_close", "buyer", "same", timedelta(0)),
    ]
    assert replayed.skipped == ()


def test_a_shorter_turn_moves_everything_sooner(long_story, context, tmp_path):
    # 48 h: the seller's deadline Wed 4 Jun 10:00, paused 48 h: Fri 6 Jun 10:00, a day
    # sooner. Reminded Thu 5 Jun 11:00, 23 h sooner: the resumption (Wed 4 Jun 12:00) left 46 h,
    # and a reminder never comes in the first half of the time left. Care acts when it did;
    # the decision's return is due Tue 10 Jun 10:00 (reminded Mon 9 Jun 10:00), a day sooner.
    changes, replayed = _verdicts(context, '[default]\ninactivity_period = "48h"\n', tmp_path)
    day = timedelta(days=1)
    assert changes == [
        ("deadline_approaching", "seller", "earlier", -timedelta(hours=23)),
        ("auto_escalate", "seller", "earlier", -day),
        ("deadline_approaching", "buyer", "earlier", -day),
        ("auto_close", "buyer", "earlier", -day),
    ]
    assert replayed.skipped == ()


def test_a_later_escalation_delays_what_followed_it(long_story, context, tmp_path):
    # 96 h: the seller's deadline Fri 6 Jun 10:00, paused 48 h: Sun 8 Jun 10:00, a day later
    # (reminded Sat 7 Jun 10:00). Care's work follows the escalation a day later too, its
    # evidence request due a day later; the decision, Mon 9 Jun 10:00, gives the buyer 96 h:
    # Fri 13 Jun 10:00, two days after the recorded Wed 11 Jun (reminded Thu 12 Jun 10:00).
    changes, replayed = _verdicts(context, '[default]\ninactivity_period = "96h"\n', tmp_path)
    day = timedelta(days=1)
    assert changes == [
        ("deadline_approaching", "seller", "later", day),
        ("auto_escalate", "seller", "later", day),
        ("deadline_approaching", "buyer", "later", 2 * day),
        ("auto_close", "buyer", "later", 2 * day),
    ]
    assert replayed.skipped == ()
