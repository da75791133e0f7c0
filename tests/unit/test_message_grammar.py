"""Every message template says "an auditor", never "a auditor": articles agree with the sound
that follows, and no template puts a bare article before a placeholder (a role, a state, a
kind): `domain.commands.a()` chooses it from the word itself."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [*(ROOT / "resolution").rglob("*.py"), *(ROOT / "schemas").rglob("*.py")]
TEMPLATES = [*(ROOT / "resolution").rglob("*.html")]
CATALOGUES = [*(ROOT / "resolution").rglob("*.po")]

# "a" before a vowel letter that sounds like a consonant ("a user", "a one-time"), and "an"
# before a consonant letter that sounds like a vowel (initialisms: "an HTTP", "an NDJSON").
A_BEFORE_VOWEL_LETTER = re.compile(
    r"(?<![`\w])([Aa]) (?!u[nst]?[aeiou]|uni|one\b|one-|U[A-Z])([aeiouAEIOU]\w*)"
)
AN_BEFORE_CONSONANT = re.compile(
    r"(?<![`\w])([Aa]n) (?![A-Z]{2,}|[FHLMNRSX]\b|[Hh]ttp|hour|honest)"
    r"([b-df-hj-np-tv-zB-DF-HJ-NP-TV-Z]\w*)"
)
GETTEXT = re.compile(r'_\(\s*"((?:[^"\\]|\\.)*)"')  # a template's `_("…")`
ARTICLE_BEFORE_PLACEHOLDER = re.compile(r"(?<![`\w])([Aa]n?) (\{|%\(|\{\{)")


def templates() -> list[tuple[str, str]]:
    """(where, text) of every string in the code (f-strings with `{}` for each value), every
    template's text and every English message of the catalogues."""
    found = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.JoinedStr):
                parts = [v.value if isinstance(v, ast.Constant) else "{}" for v in node.values]
                text = "".join(str(p) for p in parts)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                text = node.value
            else:
                continue
            found.append((f"{path.relative_to(ROOT)}:{node.lineno}", text))
    for path in TEMPLATES:  # what people read: the strings given to gettext
        said = GETTEXT.findall(path.read_text(encoding="utf-8"))
        found.extend((str(path.relative_to(ROOT)), text) for text in said)
    for path in CATALOGUES:
        ids = re.findall(r'^msgid "(.*)"', path.read_text(encoding="utf-8"), re.M)
        found.extend((str(path.relative_to(ROOT)), text) for text in ids)
    return found


def test_articles_agree_with_the_word_that_follows():
    wrong = [
        f"{where}: {match.group(0)!r}"
        for where, text in templates()
        for pattern in (A_BEFORE_VOWEL_LETTER, AN_BEFORE_CONSONANT, ARTICLE_BEFORE_PLACEHOLDER)
        for match in pattern.finditer(text)
    ]
    assert wrong == []


def test_the_checks_catch_what_they_are_for():
    assert A_BEFORE_VOWEL_LETTER.search("A auditor cannot add messages")
    assert AN_BEFORE_CONSONANT.search("an seller")
    assert ARTICLE_BEFORE_PLACEHOLDER.search("A {} cannot add messages")
    for fine in ("an auditor", "a user", "an HTTP request", "a URL", "a one-time key"):
        assert not any(
            p.search(fine)
            for p in (A_BEFORE_VOWEL_LETTER, AN_BEFORE_CONSONANT, ARTICLE_BEFORE_PLACEHOLDER)
        ), fine
