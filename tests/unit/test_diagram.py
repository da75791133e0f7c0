"""The lifecycle picture in the docs is the machine's own rendering, kept current."""

from pathlib import Path

from resolution.domain.diagram import mermaid

ROOT = Path(__file__).resolve().parents[2]


def test_checked_in_diagram_matches_the_machine():
    assert (ROOT / "docs" / "lifecycle.mmd").read_text() == mermaid(), "run `make diagram`"


def test_readme_shows_the_current_diagram():
    assert f"```mermaid\n{mermaid()}```" in (ROOT / "README.md").read_text(), (
        "paste docs/lifecycle.mmd into the README's mermaid block"
    )
