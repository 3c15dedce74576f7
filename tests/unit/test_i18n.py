"""Every message in the code has a Russian translation, and the compiled catalog is current."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
LOCALES = ROOT / "bot" / "locales"
PLACEHOLDER = re.compile(r"\{\w+\}")


def extracted_ids(tmp_path: Path) -> set[str]:
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", str(ROOT / "babel.cfg"),
         "-k", "_", "-k", "mark", "--no-location", "-o", str(pot), "bot", "handlers"],
        cwd=ROOT, check=True, capture_output=True,
    )
    with pot.open("rb") as handle:
        return {str(message.id) for message in read_po(handle) if message.id}


def test_every_message_is_translated_to_russian(tmp_path: Path) -> None:
    with (LOCALES / "ru" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle)
    translated = {
        str(message.id): str(message.string)
        for message in catalog
        if message.id and message.string and not message.fuzzy
    }
    missing = extracted_ids(tmp_path) - translated.keys()
    assert not missing, f"untranslated: {sorted(missing)}"
    for source, target in translated.items():
        assert sorted(PLACEHOLDER.findall(source)) == sorted(PLACEHOLDER.findall(target)), source


def test_compiled_catalog_matches_the_po_file() -> None:
    with (LOCALES / "ru" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        source = {str(m.id): str(m.string) for m in read_po(handle) if m.id and not m.fuzzy}
    with (LOCALES / "ru" / "LC_MESSAGES" / "messages.mo").open("rb") as handle:
        compiled = {str(m.id): str(m.string) for m in read_mo(handle) if m.id}
    assert compiled == {key: value for key, value in source.items() if value}, (
        "run: pybabel compile -d bot/locales -D messages"
    )
