"""The lifecycle picture with the complaint's state marked, as inline SVG.

Why this way: the picture is laid out once by Graphviz from the machine itself (`make diagram`
runs `python -m resolution.domain.diagram --dot | dot -Tsvg`) and checked in as
`static/lifecycle.svg`, with an id on every state and transition. A page marks the current
state and the ways out of it by adding CSS classes to that SVG. Nothing runs in the browser
and nothing is fetched (the console works offline), the server needs no Graphviz, and a test
checks that the SVG still names every state and transition of the machine. (A vendored
Mermaid, the README's renderer, is 5.5 MB of JavaScript for one picture.)
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from markupsafe import Markup

SVG = Path(__file__).parent / "static" / "lifecycle.svg"


@cache
def _svg() -> str:
    text = SVG.read_text(encoding="utf-8")
    text = text[text.index("<svg") :]  # no XML prolog or doctype inside HTML
    # Sized by the page (CSS), not in points.
    return re.sub(r'<svg width="[^"]*" height="[^"]*"', '<svg role="img"', text, count=1)


def lifecycle_svg(state: str, title: str) -> Markup:
    """The lifecycle SVG, the `state` node marked `current` and its outgoing edges `next`."""
    svg = _svg().replace("<svg ", f'<svg aria-label="{Markup.escape(title)}" ', 1)
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
