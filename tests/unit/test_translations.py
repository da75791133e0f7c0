"""The Indonesian catalogue covers every string people read, and its compiled form is current."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "resolution" / "web" / "translations" / "id" / "LC_MESSAGES"
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _po():
    with open(CATALOGUE / "messages.po", "rb") as f:
        return read_po(f)


def test_every_string_in_the_code_and_templates_is_translated(tmp_path):
    pot = tmp_path / "messages.pot"
    pybabel = Path(sys.executable).parent / "pybabel"
    subprocess.run(
        [str(pybabel), "extract", "-F", "babel.cfg", "-k", "_l", "-o", str(pot), "."],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with open(pot, "rb") as f:
        wanted = {m.id for m in read_po(f) if m.id}
    # A fuzzy entry (pybabel's guess from a similar string) is left out of the compiled file:
    # the page would show the English. It counts as untranslated until someone checks it.
    translated = {m.id: m.string for m in _po() if m.id and m.string and not m.fuzzy}
    assert wanted - set(translated) == set(), "run `make translations`, translate, unfuzzy"
    for source, target in translated.items():
        assert sorted(PLACEHOLDER.findall(source)) == sorted(PLACEHOLDER.findall(target)), source


def test_the_compiled_catalogue_is_the_source_compiled():
    compiled = io.BytesIO()
    write_mo(compiled, _po())
    compiled.seek(0)
    with open(CATALOGUE / "messages.mo", "rb") as f:
        shipped = {m.id: m.string for m in read_mo(f)}
    fresh = {m.id: m.string for m in read_mo(compiled)}
    assert shipped == fresh, "run `make translations` (pybabel compile)"
