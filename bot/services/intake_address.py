"""The HTTP intake's addresses: `t<team id>-<secret>` for a team, `u<user id>-<secret>` for
a person. A secret is replaced (never edited) to shut out whoever knew the old address."""

from __future__ import annotations

import secrets

from bot.settings import Settings
from storage.models import Team


def new_intake_secret() -> str:
    return secrets.token_urlsafe(24)


def intake_base(settings: Settings) -> str:
    if settings.intake_port is None:
        return "…/alerts/"
    return f"http://{settings.intake_host}:{settings.intake_port}/alerts/"


def team_address(settings: Settings, team: Team) -> str:
    return f"{intake_base(settings)}t{team.id}-{team.intake_secret}"


def user_address(settings: Settings, user_id: int, secret: str) -> str:
    return f"{intake_base(settings)}u{user_id}-{secret}"
