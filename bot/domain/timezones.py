"""Turn what a user types (an IANA name, a city, an offset) into an IANA timezone name."""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

# Cities people type in Russian, and a few English spellings not equal to the IANA city.
_CITY_ALIASES = {
    "москва": "Europe/Moscow",
    "мск": "Europe/Moscow",
    "moscow": "Europe/Moscow",
    "санкт-петербург": "Europe/Moscow",
    "петербург": "Europe/Moscow",
    "питер": "Europe/Moscow",
    "спб": "Europe/Moscow",
    "st petersburg": "Europe/Moscow",
    "saint petersburg": "Europe/Moscow",
    "казань": "Europe/Moscow",
    "нижний новгород": "Europe/Moscow",
    "ростов-на-дону": "Europe/Moscow",
    "краснодар": "Europe/Moscow",
    "воронеж": "Europe/Moscow",
    "калининград": "Europe/Kaliningrad",
    "самара": "Europe/Samara",
    "ижевск": "Europe/Samara",
    "волгоград": "Europe/Volgograd",
    "саратов": "Europe/Saratov",
    "екатеринбург": "Asia/Yekaterinburg",
    "екб": "Asia/Yekaterinburg",
    "пермь": "Asia/Yekaterinburg",
    "челябинск": "Asia/Yekaterinburg",
    "тюмень": "Asia/Yekaterinburg",
    "уфа": "Asia/Yekaterinburg",
    "омск": "Asia/Omsk",
    "новосибирск": "Asia/Novosibirsk",
    "нск": "Asia/Novosibirsk",
    "томск": "Asia/Tomsk",
    "барнаул": "Asia/Barnaul",
    "красноярск": "Asia/Krasnoyarsk",
    "иркутск": "Asia/Irkutsk",
    "чита": "Asia/Chita",
    "якутск": "Asia/Yakutsk",
    "владивосток": "Asia/Vladivostok",
    "хабаровск": "Asia/Vladivostok",
    "магадан": "Asia/Magadan",
    "петропавловск-камчатский": "Asia/Kamchatka",
    "минск": "Europe/Minsk",
    "киев": "Europe/Kyiv",
    "київ": "Europe/Kyiv",
    "kiev": "Europe/Kyiv",
    "kyiv": "Europe/Kyiv",
    "алматы": "Asia/Almaty",
    "астана": "Asia/Almaty",
    "ташкент": "Asia/Tashkent",
    "бишкек": "Asia/Bishkek",
    "тбилиси": "Asia/Tbilisi",
    "ереван": "Asia/Yerevan",
    "баку": "Asia/Baku",
    "рига": "Europe/Riga",
    "вильнюс": "Europe/Vilnius",
    "таллин": "Europe/Tallinn",
    "кишинев": "Europe/Chisinau",
    "стамбул": "Europe/Istanbul",
    "дубай": "Asia/Dubai",
    "лондон": "Europe/London",
    "берлин": "Europe/Berlin",
    "париж": "Europe/Paris",
    "мадрид": "Europe/Madrid",
    "рим": "Europe/Rome",
    "варшава": "Europe/Warsaw",
    "прага": "Europe/Prague",
    "белград": "Europe/Belgrade",
    "лиссабон": "Europe/Lisbon",
    "нью-йорк": "America/New_York",
    "new york": "America/New_York",
    "nyc": "America/New_York",
    "лос-анджелес": "America/Los_Angeles",
    "los angeles": "America/Los_Angeles",
    "san francisco": "America/Los_Angeles",
    "сан-франциско": "America/Los_Angeles",
    "бангкок": "Asia/Bangkok",
    "бали": "Asia/Makassar",
    "тель-авив": "Asia/Jerusalem",
    "tel aviv": "Asia/Jerusalem",
    "utc": "UTC",
    "gmt": "UTC",
}

_OFFSET = re.compile(r"^(?:utc|gmt|мск)?\s*([+-])\s*(\d{1,2})(?::?00)?$")


@cache
def _by_city() -> dict[str, str]:
    """'new_york', 'new york' and 'new-york' -> America/New_York, from the tz database."""
    table: dict[str, str] = {}
    for name in sorted(available_timezones()):
        if "/" not in name or name.startswith(("Etc/", "SystemV/", "US/")):
            continue
        city = name.rsplit("/", 1)[1].casefold()
        for spelling in (city, city.replace("_", " "), city.replace("_", "-")):
            table.setdefault(spelling, name)
    return table


def resolve_timezone(query: str) -> str | None:
    """An IANA name for what the user typed, or None if we cannot tell."""
    text = " ".join(query.strip().split())
    if not text or len(text) > 64:
        return None
    lowered = text.casefold().replace("ё", "е")
    if lowered in _CITY_ALIASES:
        return _CITY_ALIASES[lowered]
    offset = _OFFSET.match(lowered)
    if offset:
        return _offset_zone(offset.group(1), int(offset.group(2)),
                            from_moscow=lowered.startswith("мск"))
    if "/" in text:
        return _iana_name(text, lowered)
    return _by_city().get(lowered)


def _offset_zone(sign: str, hours: int, *, from_moscow: bool) -> str | None:
    """The Etc zone of a whole-hour offset from UTC (or from Moscow, UTC+3: 'мск+2'), 'UTC'
    for none; None beyond 14 hours."""
    if hours > 14:
        return None
    if from_moscow:
        hours = hours + 3 if sign == "+" else 3 - hours
        sign = "+" if hours >= 0 else "-"
        hours = abs(hours)
    if hours == 0:
        return "UTC"
    # POSIX-style Etc zones have the sign inverted: UTC+3 is Etc/GMT-3.
    return f"Etc/GMT{'-' if sign == '+' else '+'}{hours}"


def _iana_name(text: str, lowered: str) -> str | None:
    """The IANA zone a name with a '/' spells, as typed, capitalised, or in any case."""
    for candidate in (text, "/".join(part.capitalize() for part in text.split("/"))):
        try:
            ZoneInfo(candidate)
        except (ZoneInfoNotFoundError, ValueError):
            continue
        return candidate
    lowered_map = {name.casefold(): name for name in available_timezones()}
    return lowered_map.get(lowered)


def zone_label(zone: str, now: datetime) -> str:
    """'Europe/Berlin (UTC+01:00, now 23:10)': the offset people know, and a clock to check."""
    local = now.astimezone(ZoneInfo(zone))
    offset = local.strftime("%z")
    return f"{zone} (UTC{offset[:3]}:{offset[3:]}, {local:%H:%M})"


def user_zone(stored: str | None, default: ZoneInfo) -> ZoneInfo:
    """The zone a user chose, or the default when none (or an unknown one) is stored."""
    if stored:
        try:
            return ZoneInfo(stored)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return default
