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


def text_of(value: object) -> str:
    """A message id or string as one comparable text; plural forms joined by a bar."""
    if isinstance(value, list | tuple):
        return " | ".join(str(form) for form in value)
    return str(value)


def forms_of(value: object) -> list[str]:
    return [str(form) for form in value] if isinstance(value, list | tuple) else [str(value)]


def extracted_ids(tmp_path: Path) -> set[str]:
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", str(ROOT / "babel.cfg"),
         "-k", "_", "-k", "mark", "--no-location", "-o", str(pot), "bot", "handlers"],
        cwd=ROOT, check=True, capture_output=True,
    )
    with pot.open("rb") as handle:
        return {text_of(message.id) for message in read_po(handle) if message.id}


def test_every_message_is_translated_to_russian(tmp_path: Path) -> None:
    with (LOCALES / "ru" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle)
    translated = {
        text_of(message.id): message
        for message in catalog
        if message.id and all(forms_of(message.string)) and not message.fuzzy
    }
    missing = extracted_ids(tmp_path) - translated.keys()
    assert not missing, f"untranslated: {sorted(missing)}"
    for source, message in translated.items():
        expected = sorted(PLACEHOLDER.findall(forms_of(message.id)[0]))
        forms = forms_of(message.string)
        if isinstance(message.id, list | tuple):
            assert len(forms) == catalog.num_plurals, source  # one, few, many in Russian
        for form in forms:
            assert sorted(PLACEHOLDER.findall(form)) == expected, source


def test_compiled_catalog_matches_the_po_file() -> None:
    with (LOCALES / "ru" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        source = {
            text_of(m.id): text_of(m.string) for m in read_po(handle) if m.id and not m.fuzzy
        }
    with (LOCALES / "ru" / "LC_MESSAGES" / "messages.mo").open("rb") as handle:
        compiled = {text_of(m.id): text_of(m.string) for m in read_mo(handle) if m.id}
    assert compiled == {key: value for key, value in source.items() if value}, (
        "run: pybabel compile -d bot/locales -D messages"
    )


def test_counts_in_alert_messages_agree_in_russian() -> None:
    from aiogram.utils.i18n import ngettext

    from bot.i18n import create_i18n

    i18n = create_i18n("ru")
    reported = ("🔁 Reported {count} time, last at {time}",
                "🔁 Reported {count} times, last at {time}")
    repeats = ("Nobody acknowledged {alert} after {count} repeat. Paged: {people}.",
               "Nobody acknowledged {alert} after {count} repeats. Paged: {people}.")
    with i18n.context(), i18n.use_locale("ru"):
        said = {
            n: (ngettext(*reported, n).format(count=n, time="10:00"),
                ngettext(*repeats, n).format(count=n, alert="A1", people="Анна"))
            for n in (1, 2, 5, 21)
        }
    assert said[2][0] == "🔁 Пришла 2 раза, последний — в 10:00"
    assert said[5][0] == "🔁 Пришла 5 раз, последний — в 10:00"
    assert said[1][1] == "Никто не принял A1 после 1 повтора. Оповещены: Анна."
    assert said[5][1] == "Никто не принял A1 после 5 повторов. Оповещены: Анна."
    assert said[21][1] == "Никто не принял A1 после 21 повтора. Оповещены: Анна."
