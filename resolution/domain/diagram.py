"""The lifecycle as a Mermaid state diagram, rendered from the machine class itself.

`python -m resolution.domain.diagram > docs/lifecycle.mmd` (or `make diagram`); a test fails
when the checked-in file and the machine disagree.
"""

from __future__ import annotations

from .lifecycle import Lifecycle


def mermaid() -> str:
    """The Mermaid source of the lifecycle diagram."""
    return f"{Lifecycle:mermaid}".rstrip() + "\n"


if __name__ == "__main__":
    print(mermaid(), end="")
