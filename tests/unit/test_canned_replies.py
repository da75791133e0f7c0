"""The canned replies' data file: every reply in Indonesian and English, ids unique, only the
placeholders the console fills, and a loader that refuses a file that breaks any of that."""

from __future__ import annotations

import tomllib
from datetime import timedelta

import pytest
from flask import Flask
from flask_babel import force_locale

from resolution.console import canned
from resolution.domain.policy import Period
from resolution.web import i18n, narrative

with canned.DATA.open("rb") as _file:
    RAW = tomllib.load(_file)["reply"]


def test_the_library_holds_a_dozen_replies_with_unique_ids():
    ids = [entry["id"] for entry in RAW]
    assert len(ids) >= 12
    assert len(set(ids)) == len(ids)
    assert all(canned.ID.fullmatch(i) for i in ids)
    assert [r.id for r in canned.replies()] == ids  # the loader keeps them, in order


@pytest.mark.parametrize("entry", RAW, ids=[e["id"] for e in RAW])
def test_every_reply_has_a_title_and_a_body_in_both_languages(entry):
    for part in ("title", "body"):
        assert set(entry[part]) == {"id", "en"}, part
        assert all(text.strip() for text in entry[part].values()), part
    assert entry["title"]["id"] != entry["title"]["en"]  # translated, not copied
    assert entry["body"]["id"] != entry["body"]["en"]


@pytest.mark.parametrize("entry", RAW, ids=[e["id"] for e in RAW])
def test_every_body_fills_in_as_a_message_in_either_language(entry):
    reply = canned.find(entry["id"])
    named = {lang: canned.placeholders(entry["body"][lang]) for lang in ("id", "en")}
    assert named["id"] == named["en"] <= canned.PLACEHOLDERS
    for lang in ("id", "en"):
        text = reply.text(lang, "INV-77", "72 jam" if lang == "id" else "72 hours")
        assert "{" not in text and "}" not in text
        assert 0 < len(text) <= canned.MAX_BODY + 100 < 5000  # a message's limit
        if "order" in named[lang]:
            assert "INV-77" in text
        if "review_window" in named[lang]:
            assert "72" in text


@pytest.mark.parametrize(
    "period, lang, said",
    [
        (Period(span=timedelta(hours=48)), "id", "Dalam 48 jam setelah keputusan"),
        (Period(span=timedelta(hours=48)), "en", "Within 48 hours of the decision"),
        (Period(business_days=3), "id", "Dalam 3 hari kerja setelah keputusan"),
        (Period(business_days=3), "en", "Within 3 business days of the decision"),
    ],
)
def test_the_review_window_is_said_as_the_channels_policy_gives_it(period, lang, said):
    """In words and in the page's language: plain hours, or business days (RESOLUTION_POLICY)."""
    app = Flask(__name__)
    i18n.init(app)
    with app.test_request_context(), force_locale(lang):
        assert said in canned.find("review-window").text(lang, "INV-1", narrative.period(period))


def _with(**changes) -> dict:
    entry = {
        "id": "ask",
        "title": {"id": "Minta", "en": "Ask"},
        "body": {"id": "Pesanan {order}", "en": "Order {order}"},
    }
    return {"reply": [{**entry, **changes}]}


@pytest.mark.parametrize(
    "data, why",
    [
        ({"reply": []}, r"no \[\[reply\]\]"),
        (_with(id="Ask Video"), "lowercase"),
        ({"reply": _with()["reply"] * 2}, "used twice"),
        (_with(title={"id": "Minta"}), "exactly id, en"),
        (_with(body={"id": "Pesanan", "en": "  "}), "is empty"),
        (_with(body={"id": "Pesanan {order}", "en": "Order"}), "the same of"),
        (_with(body={"id": "Toko {shop}", "en": "Shop {shop}"}), "the same of"),
        (_with(body={"id": "x" * 2000, "en": "y"}), "longer than"),
        (_with(note="?"), "exactly an id"),
    ],
)
def test_the_loader_refuses_a_broken_library(data, why):
    with pytest.raises(ValueError, match=why):
        canned.parse(data)


def test_a_stray_brace_is_refused():
    with pytest.raises(ValueError):
        canned.parse(_with(body={"id": "Pesanan {order", "en": "Order {order}"}))
