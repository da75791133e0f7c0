"""Every deadline explains itself: the API's `deadline`, and the same in words, in Indonesian
and English, on the printable record and the care console."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from resolution.domain.calendars import Calendar, WorkingHours
from resolution.domain.policy import Period, Policy, Rules
from tests.api.test_console import sign_in, text_of
from tests.support.bodies import complaint_body
from tests.support.parties import BUYER

WIB = timezone(timedelta(hours=7))
TOKOPEDIA = Rules(inactivity=Period(business_days=3), calendar=Calendar("ID"))


@pytest.fixture
def context(context):
    """The tests' service with Tokopedia counted in business days of Indonesia's calendar."""
    return replace(context, deadlines=Policy(channels={"tokopedia": TOKOPEDIA}))


@pytest.fixture
def opened(client, clock) -> str:
    clock.now = datetime(2025, 3, 28, 10, 0, tzinfo=WIB)  # the Friday before Lebaran
    return client.post("/v1/complaints", json=complaint_body(), headers=BUYER).get_json()["id"]


def test_the_complaint_shows_its_deadline_explained(client, opened):
    complaint = client.get(f"/v1/complaints/{opened}", headers=BUYER).get_json()
    assert complaint["due_at"] == "2025-04-04T03:00:00.000+00:00"
    assert complaint["deadline"] == {
        "due_at": "2025-04-04T03:00:00.000+00:00",
        "rule": "3 business days",
        "started_at": "2025-03-28T03:00:00.000+00:00",
        "skipped": [
            {"date": "2025-03-29", "name": "Day of Silence"},
            {"date": "2025-03-30", "name": "weekend"},
            {"date": "2025-03-31", "name": "Eid al-Fitr"},
            {"date": "2025-04-01", "name": "Eid al-Fitr Second Day"},
        ],
        "paused_for": "PT0S",
        "calendar": "ID",
        "working_hours": None,
    }
    assert complaint["paused"] is None


ENGLISH = (
    "3 business days from Friday 28 March 2025, 10.00 WIB; skipping 29 March (Day of "
    "Silence), 30 March (weekend), 31 March (Eid al-Fitr), 1 April (Eid al-Fitr Second Day)."
)
INDONESIAN = (
    "3 hari kerja sejak Jumat 28 Maret 2025, 10.00 WIB; tidak termasuk 29 Maret (Hari Suci "
    "Nyepi), 30 Maret (akhir pekan), 31 Maret (Hari Raya Idul Fitri), 1 April (Hari kedua dari "
    "Hari Raya Idul Fitri)."
)


@pytest.mark.parametrize(("lang", "words"), [("en", ENGLISH), ("id", INDONESIAN)])
def test_the_printable_record_says_it_in_words(client, opened, lang, words):
    page = client.get(f"/v1/complaints/{opened}/export?lang={lang}", headers=BUYER)
    assert words in text_of(page)


@pytest.mark.parametrize(("lang", "words"), [("en", ENGLISH), ("id", INDONESIAN)])
def test_the_console_says_it_in_words(client, opened, lang, words):
    sign_in(client)
    assert words in text_of(client.get(f"/console/complaints/{opened}?lang={lang}"))


def test_working_hours_and_a_pause_are_said_too(app, client, clock):
    from resolution.web import narrative

    explained = Rules(working_hours=WorkingHours.parse("06:00-21:00")).deadline(
        datetime(2025, 6, 2, 22, 0, tzinfo=WIB), Period(span=timedelta(hours=72))
    )
    explained["paused_for"] = "P2DT4H"
    with app.test_request_context("/?lang=en"):
        words = narrative.deadline(explained)
    assert words == (
        "72 hours from Monday 2 June 2025, 22.00 WIB; falling within working hours, "
        "06.00–21.00 WIB; plus 2 d 4 h the clock was paused."
    )
