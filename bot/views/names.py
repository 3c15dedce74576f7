"""Replies about a client named in a command (/task Acme: …, /notes Acme, /invoice Acme …)."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram import html
from aiogram.utils.i18n import gettext as _

from bot.domain.text import NAME_LIMIT
from bot.views.render import quoted, shorten


def unresolved_client(name: str, found: Sequence[object]) -> str:
    """Why a name did not pick exactly one client: several match, or none does."""
    # Echoed twice and escaped: a long query must not push the reply past 4096 characters.
    name = shorten(name, NAME_LIMIT)
    if found:
        return _("Several clients start with {name}. Write the full name.").format(
            name=quoted(name)
        )
    return _("No client {name}. Add it: /newclient {plain}").format(
        name=quoted(name), plain=html.quote(name)
    )
