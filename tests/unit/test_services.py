"""Pure services: kinds, timezones, the one-line task grammar, text cleaning, splitting."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.kinds import detect_kind
from bot.domain.task_input import split_client_prefix
from bot.domain.text import clean_line
from bot.domain.timezones import resolve_timezone
from bot.views.render import MESSAGE_LIMIT, split_message
from storage.models import TaskKind


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("позвонить Ивану", TaskKind.CALL),
        ("созвон по бюджету", TaskKind.CALL),
        ("звонок клиенту", TaskKind.CALL),
        ("call John", TaskKind.CALL),
        ("отправить отчёт", TaskKind.REPORT),
        ("отчет за ноябрь", TaskKind.REPORT),
        ("send the monthly report", TaskKind.REPORT),
        ("выставить счёт", TaskKind.INVOICE),
        ("позвонить насчёт счета", TaskKind.CALL),  # a call first: reminded 15 min ahead
        ("call John re contract", TaskKind.CALL),
        ("meet Anna about the invoice", TaskKind.MEETING),
        ("счёт за ноябрь: позвонить бухгалтеру", TaskKind.INVOICE),
        ("отчёт: созвон в пятницу", TaskKind.REPORT),
        ("send invoice", TaskKind.INVOICE),
        ("подписать акт", TaskKind.DOCUMENT),
        ("договор на поддержку", TaskKind.DOCUMENT),
        ("доп. соглашение", TaskKind.DOCUMENT),
        ("sign the contract", TaskKind.DOCUMENT),
        ("send the act", TaskKind.DOCUMENT),
        ("встреча в офисе", TaskKind.MEETING),
        ("meeting with CEO", TaskKind.MEETING),
        ("актуализировать семантику", TaskKind.OTHER),
        ("take action", TaskKind.OTHER),
        ("купить цветы", TaskKind.OTHER),
    ],
)
def test_detect_kind(text: str, kind: TaskKind) -> None:
    assert detect_kind(text) is kind


@pytest.mark.parametrize(
    ("query", "zone"),
    [
        ("Москва", "Europe/Moscow"),
        ("мск", "Europe/Moscow"),
        ("Екатеринбург", "Asia/Yekaterinburg"),
        ("europe/berlin", "Europe/Berlin"),
        ("Europe/Moscow", "Europe/Moscow"),
        ("new york", "America/New_York"),
        ("Tokyo", "Asia/Tokyo"),
        ("UTC+3", "Etc/GMT-3"),
        ("+5", "Etc/GMT-5"),
        ("UTC-4", "Etc/GMT+4"),
        ("utc", "UTC"),
        ("Atlantis", None),
        ("UTC+20", None),
        ("../../etc/passwd", None),
        ("", None),
    ],
)
def test_resolve_timezone(query: str, zone: str | None) -> None:
    assert resolve_timezone(query) == zone


@pytest.mark.parametrize(
    ("line", "client", "rest"),
    [
        ("Acme: позвонить завтра в 10", "Acme", "позвонить завтра в 10"),
        ("Acme Labs:send report", "Acme Labs", "send report"),
        ("позвонить в 10:00", None, "позвонить в 10:00"),
        ("call at 10:30 tomorrow", None, "call at 10:30 tomorrow"),
        ("  : nothing", None, ": nothing"),
        ("no client here", None, "no client here"),
    ],
)
def test_split_client_prefix(line: str, client: str | None, rest: str) -> None:
    assert split_client_prefix(line) == (client, rest)


def test_clean_line_removes_invisible_characters() -> None:
    assert clean_line("A\u200bcme\u202e \x07Co\n  Ltd") == "Acme Co Ltd"
    # Emoji sequences with joiners survive.
    assert clean_line("👩\u200d💻 Team") == "👩\u200d💻 Team"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(min_size=0, max_size=5000).map(lambda s: s.replace("\n", " ")),
                max_size=30))
def test_split_message_keeps_everything_within_the_limit(lines: list[str]) -> None:
    parts = split_message(lines)
    assert all(len(part) <= MESSAGE_LIMIT for part in parts)
    joined = "".join(part.replace("\n", "").replace(" ", "") for part in parts)
    assert joined == "".join(line.replace(" ", "") for line in lines)


def test_split_message_breaks_only_between_short_lines() -> None:
    lines = [f"line {index:04} " + "x" * 80 for index in range(200)]
    parts = split_message(lines)
    assert len(parts) > 1
    assert [line for part in parts for line in part.split("\n")] == lines
