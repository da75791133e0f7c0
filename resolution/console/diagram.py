"""The lifecycle picture with the complaint's state marked, as inline SVG, in the page's language.

Why this way: the picture is laid out by Graphviz from the machine itself, once per language
(`make diagram` runs `python -m resolution.console.diagram <lang> | dot -Tsvg`), and checked in
as `static/lifecycle-<lang>.svg`, with an id on every state and transition. Each language is
laid out on its own: Indonesian labels are longer, and a box drawn around the English one
would not hold them. A page marks the current state and the ways out of it by adding CSS
classes to that SVG. The server needs no Graphviz, nothing is fetched (the console works
offline), and tests check that each SVG still names every state and transition of the machine
and carries the catalogue's labels. (A vendored Mermaid, the README's renderer, is 5.5 MB of
JavaScript for one picture.)

Readable on a phone: the labels are as large as the page's text (15 px; the SVG is drawn one
user unit to a CSS pixel, in a box that scrolls), and the console's script scrolls that box so
that the current state is in the middle of it.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from ..domain.diagram import dot
from ..web import narrative
from ..web.i18n import DEFAULT_LANGUAGE, LANGUAGES

STATIC = Path(__file__).parent / "static"
# The labels of the machine's events on the picture's arrows (the machine's own names are
# English): every event has one, a test checks it.
ACTIONS = {
    "open": _l("open"),
    "propose": _l("propose a solution"),
    "accept": _l("accept"),
    "appeal": _l("appeal"),
    "escalate": _l("escalate to care"),
    "auto_escalate": _l("escalated: deadline passed"),
    "assign": _l("take the case"),
    "reassign": _l("hand over"),
    "release": _l("release to the queue"),
    "request_evidence": _l("request evidence"),
    "decide": _l("decide"),
    "withdraw": _l("withdraw"),
    "ship_return": _l("ship the return"),
    "confirm_return": _l("confirm the return"),
    "ship_items": _l("ship the goods"),
    "confirm_received": _l("confirm receipt"),
    "auto_close": _l("closed: deadline passed"),
    "auto_complete": _l("completed: deadline passed"),
    "request_review": _l("request a review"),
    "pause_clock": _l("pause the clock"),
    "resume_clock": _l("resume the clock"),
}
# The states' labels: as the case page names them (`narrative.STATES`), and the first one.
NEW = _l("New")


def svg_path(lang: str) -> Path:
    return STATIC / f"lifecycle-{lang if lang in LANGUAGES else DEFAULT_LANGUAGE}.svg"


def labelled_dot() -> str:
    """The lifecycle's DOT with its labels in the current locale (a request's, or forced)."""
    states = {"new": str(NEW)} | {k: str(v) for k, v in narrative.STATES.items()}
    return dot(states=states, actions={k: str(v) for k, v in ACTIONS.items()})


@cache
def _svg(lang: str) -> str:
    text = svg_path(lang).read_text(encoding="utf-8")
    text = text[text.index("<svg") :]  # no XML prolog or doctype inside HTML
    # One user unit to a CSS pixel (Graphviz sizes it in points): the labels' font size is
    # then the page's.
    found = re.search(r'viewBox="0\.00 0\.00 ([\d.]+) ([\d.]+)"', text)
    if found is None:
        raise ValueError(f"{svg_path(lang)}: no viewBox from Graphviz")
    width, height = (round(float(n)) for n in found.groups())
    return re.sub(
        r'<svg width="[^"]*" height="[^"]*"',
        f'<svg role="img" width="{width}" height="{height}"',
        text,
        count=1,
    )


def lifecycle_svg(state: str, title: str, lang: str) -> Markup:
    """The lifecycle SVG in `lang`, the `state` node marked `current` and its outgoing edges
    `next`."""
    svg = _svg(lang).replace("<svg ", f'<svg aria-label="{Markup.escape(title)}" ', 1)
    hyphen = r"(?:-|&#45;)"
    svg = re.sub(
        rf'(id="state{hyphen}{re.escape(state)}" class="node state)"',
        r'\1 current"',
        svg,
    )
    svg = re.sub(
        rf'(id="edge{hyphen}{re.escape(state)}{hyphen}[a-z_]+" class="edge transition)"',
        r'\1 next"',
        svg,
    )
    return Markup(svg)


def main(lang: str) -> None:
    """Prints the DOT in `lang` (`make diagram` pipes it into Graphviz)."""
    from flask import Flask
    from flask_babel import force_locale

    from ..web import i18n

    app = Flask(__name__)
    i18n.init(app)
    with app.app_context(), force_locale(lang):
        print(labelled_dot(), end="")


if __name__ == "__main__":
    import sys

    main(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_LANGUAGE)
