"""Canned replies: the messages care sends often, kept in `canned_replies.toml`.

A data file, not code or the translation catalogue: the care team's leads edit the wording
(both languages side by side) without touching a template, and a reply's two languages are
one entry. The console offers them in the page's language; the chosen text goes into the
message form, where the agent edits it before sending it as any other message.
"""

from __future__ import annotations

import re
import string
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

DATA = Path(__file__).with_name("canned_replies.toml")
LANGUAGES = ("id", "en")
# What a body may name, filled from the case when it is inserted (`Reply.text`).
PLACEHOLDERS = frozenset({"order", "review_window"})
ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
# A message's body is at most 5000 characters (schemas.complaints.MessageSchema); a canned
# reply leaves the agent most of it.
MAX_BODY = 1500


@dataclass(frozen=True, slots=True)
class Reply:
    """One canned reply: its id, and its title and body in each language."""

    id: str
    title: dict[str, str]
    body: dict[str, str]

    def text(self, lang: str, order_id: str, review_window: str) -> str:
        """The body in `lang`, its placeholders filled from the case (`review_window` in
        words, in `lang`: "72 jam", "3 business days", as the case's channel gives it)."""
        return self.body[lang].format_map({"order": order_id, "review_window": review_window})


def placeholders(text: str) -> set[str]:
    """The `{names}` a text uses (a stray brace raises ValueError)."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def parse(data: dict[str, Any]) -> tuple[Reply, ...]:
    """The replies of a parsed data file; ValueError names the first thing wrong with it."""
    listed = data.get("reply")
    if not isinstance(listed, list) or not listed:
        raise ValueError("no [[reply]] entries")
    replies: list[Reply] = []
    for number, entry in enumerate(listed, start=1):
        rid = entry.get("id")
        where = f"reply {number} ({rid!r})"
        if not isinstance(rid, str) or not ID.fullmatch(rid):
            raise ValueError(f"{where}: an id is lowercase letters, digits and hyphens")
        if rid in {r.id for r in replies}:
            raise ValueError(f"{where}: the id is used twice")
        if set(entry) != {"id", "title", "body"}:
            raise ValueError(f"{where}: has exactly an id, a title and a body")
        for part in ("title", "body"):
            texts = entry[part]
            if not isinstance(texts, dict) or set(texts) != set(LANGUAGES):
                raise ValueError(f"{where}: its {part} is in exactly {', '.join(LANGUAGES)}")
            for lang, text in texts.items():
                if not isinstance(text, str) or not text.strip():
                    raise ValueError(f"{where}: its {part} in {lang} is empty")
        named = [placeholders(entry["body"][lang]) for lang in LANGUAGES]
        if any(n != named[0] for n in named) or not named[0] <= PLACEHOLDERS:
            raise ValueError(f"{where}: names {named}: the same of {sorted(PLACEHOLDERS)} in each")
        if any(len(entry["body"][lang]) > MAX_BODY for lang in LANGUAGES):
            raise ValueError(f"{where}: a body is longer than {MAX_BODY} characters")
        replies.append(Reply(rid, dict(entry["title"]), dict(entry["body"])))
    return tuple(replies)


@cache
def replies() -> tuple[Reply, ...]:
    """The canned replies, read once (a broken file fails the first page that offers them)."""
    with DATA.open("rb") as file:
        return parse(tomllib.load(file))


def find(reply_id: str | None) -> Reply | None:
    return next((r for r in replies() if r.id == reply_id), None)
