"""The lifecycle as a Mermaid state diagram, rendered from the machine class itself.

`python -m resolution.domain.diagram > docs/lifecycle.mmd` (or `make diagram`); a test fails
when the checked-in file and the machine disagree.
"""

from __future__ import annotations

import re
import textwrap
from collections import defaultdict
from collections.abc import Mapping

from .lifecycle import Lifecycle


def _merged_guards() -> dict[tuple[str, str, str], str]:
    """Guards of edges the machine splits in two (one per role), as one `a or b` label.

    The machine spells "either party" as two transitions (its guards must be plain names);
    the renderer draws one edge per (source, target, event) and keeps only the first.
    """
    groups: dict[tuple[str, str, str], list[list[str]]] = defaultdict(list)
    for state in Lifecycle.states:
        for transition in state.transitions:
            for event in transition.events:
                key = (transition.source.id, transition.target.id, event.name)
                groups[key].append([str(c) for c in transition.cond])
    merged = {}
    for key, guards in groups.items():
        if len(guards) < 2:
            continue
        roles = [g[0] for g in guards]
        rest = guards[0][1:]
        merged[key] = ", ".join([" or ".join(roles), *rest])
    return merged


def mermaid() -> str:
    """The Mermaid source of the lifecycle diagram."""
    text = f"{Lifecycle:mermaid}".rstrip() + "\n"
    for (source, target, event), label in _merged_guards().items():
        text = re.sub(
            rf"^(\s*{source} --> {target} : {re.escape(event)} )\[[^\]\n]*\]$",
            lambda m, label=label: f"{m.group(1)}[{label}]",
            text,
            flags=re.M,
        )
    return text


def dot(
    states: Mapping[str, str] | None = None,
    actions: Mapping[str, str] | None = None,
    fontsize: int = 15,
) -> str:
    """The lifecycle as Graphviz DOT, for the console's picture (`make diagram` renders it).

    One edge per (source, target), labelled with its actions; every node and edge carries an
    SVG `id` (`state-<state>`, `edge-<source>-<target>`) so a page can mark the current state
    in the rendered SVG without running Graphviz again. `states` and `actions` label them in a
    reader's language (the machine's own names otherwise); a label is wrapped to a few words a
    line. `fontsize` is in the SVG's user units, which the console draws one to a CSS pixel.
    """
    states, actions = states or {}, actions or {}
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for state in Lifecycle.states:
        for transition in state.transitions:
            for event in transition.events:
                names = edges[(transition.source.id, transition.target.id)]
                label = actions.get(event.id, event.name)
                if label not in names:
                    names.append(label)
    lines = [
        "digraph lifecycle {",
        '  graph [rankdir=TB, nodesep=0.2, ranksep=0.4, fontname="Helvetica",'
        ' bgcolor="transparent"];',
        '  node [shape=box, style="rounded,filled", fillcolor="#ffffff", color="#5b6675",'
        f' fontname="Helvetica", fontsize={fontsize}, margin="0.15,0.08", class="state"];',
        f'  edge [fontname="Helvetica", fontsize={fontsize}, color="#8a94a3",'
        ' fontcolor="#3d4754", class="transition"];',
    ]
    for state in Lifecycle.states:
        label = _wrapped(states.get(state.id, state.name), 18)
        lines.append(f'  {state.id} [id="state-{state.id}", label="{label}"];')
    for (source, target), names in edges.items():
        label = "\\n".join(_wrapped(name, 18) for name in names)
        lines.append(f'  {source} -> {target} [id="edge-{source}-{target}", label="{label}"];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def _wrapped(text: str, width: int) -> str:
    """`text` as a DOT label of lines of about `width` characters, quotes escaped."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return "\\n".join(textwrap.wrap(escaped, width)) or escaped


if __name__ == "__main__":
    import sys

    print(dot() if sys.argv[1:] == ["--dot"] else mermaid(), end="")
