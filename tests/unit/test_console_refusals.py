"""The console says the domain's refusals again in the reader's language: every sentence the
lifecycle refuses with is listed (a new one without a translation fails here)."""

from __future__ import annotations

from flask import Flask
from flask_babel import Babel, force_locale

from resolution.console import refusals
from resolution.domain.commands import REFUSALS
from resolution.web.i18n import TRANSLATIONS


def test_every_lifecycle_refusal_has_its_translation():
    assert set(REFUSALS.values()) == set(refusals.REASONS)


def test_field_errors_read_in_indonesian():
    app = Flask(__name__)
    Babel(app, default_translation_directories=str(TRANSLATIONS))
    with app.test_request_context(), force_locale("id"):
        said = refusals.fields(
            {
                "solution": {"amount": ["at most 5000"]},
                "rationale": ["Missing data for required field."],
            }
        )
        assert "at most" not in said and "Missing" not in said, said
        assert "5000" in said
        why = refusals.reason(f"Cannot decide now: {REFUSALS['evidence_settled']}.")
        assert "evidence" not in why, why
