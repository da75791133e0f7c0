"""Languages for pages people read (the console, printable exports): Indonesian first, English.

Strings are written in English in the code and translated by Flask-Babel catalogues in
`resolution/translations/` (`make translations` extracts and compiles them; a test checks the
compiled catalogue matches its source). Times are shown in Asia/Jakarta (WIB).
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, request
from flask_babel import Babel

LANGUAGES = ("id", "en")
DEFAULT_LANGUAGE = "id"
TIMEZONE = "Asia/Jakarta"
TRANSLATIONS = Path(__file__).parent / "translations"
# Where a page's chosen language is remembered between requests.
LANGUAGE_COOKIE = "resolution_lang"


def chosen_language() -> str:
    """`?lang=` first, then the remembered choice, then the browser's, then Indonesian."""
    asked = request.args.get("lang") or request.cookies.get(LANGUAGE_COOKIE)
    if asked in LANGUAGES:
        return asked
    return request.accept_languages.best_match(LANGUAGES) or DEFAULT_LANGUAGE


def init(app: Flask) -> None:
    app.config.update(
        BABEL_DEFAULT_LOCALE=DEFAULT_LANGUAGE,
        BABEL_DEFAULT_TIMEZONE=TIMEZONE,
        BABEL_TRANSLATION_DIRECTORIES=str(TRANSLATIONS),
    )
    Babel(app, locale_selector=chosen_language)
