"""What counts as an email or a phone number on a client card (and in an imported file)."""

from __future__ import annotations

import re

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Digits with the usual separators, extensions ("доб. 123", "ext 5") and several numbers.
_PHONE = re.compile(r"^[\d\s()+.,;/#-]*(?:(?:доб|ext|x)\.?\s*\d+[\s,;]*)?[\d\s()+.,;/#-]*$",
                    re.IGNORECASE)
MIN_PHONE_DIGITS = 5


def is_email(value: str) -> bool:
    return _EMAIL.match(value) is not None


def is_phone(value: str) -> bool:
    return _PHONE.match(value) is not None and sum(ch.isdigit() for ch in value) >= (
        MIN_PHONE_DIGITS
    )


# The contact's Telegram account on a card: @username (5-32 characters) or a numeric id.
_TELEGRAM = re.compile(r"^(@?[A-Za-z][A-Za-z0-9_]{4,31}|\d{5,15})$")


def is_telegram(value: str) -> bool:
    return _TELEGRAM.match(value) is not None
