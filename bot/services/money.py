"""Amounts: parsed as exact decimals, stored in minor units, shown the way people write them."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from babel.numbers import format_currency, format_decimal, get_currency_precision

MAX_MINOR = 10**15  # a quadrillion kopecks: beyond any invoice, within SQLite's integers

# Symbols and words people type for a currency, to ISO codes.
CURRENCY_WORDS = {
    "rub": "RUB", "руб": "RUB", "руб.": "RUB", "р": "RUB", "р.": "RUB", "₽": "RUB",
    "рублей": "RUB", "рубля": "RUB", "рубль": "RUB",
    "usd": "USD", "$": "USD", "долл": "USD", "долларов": "USD", "dollars": "USD",
    "eur": "EUR", "€": "EUR", "евро": "EUR", "euro": "EUR", "euros": "EUR",
    "kzt": "KZT", "₸": "KZT", "тенге": "KZT",
    "byn": "BYN", "uah": "UAH", "₴": "UAH", "gbp": "GBP", "£": "GBP", "cny": "CNY",
    "¥": "CNY", "юаней": "CNY", "aed": "AED", "try": "TRY", "₺": "TRY", "gel": "GEL",
    "amd": "AMD", "uzs": "UZS", "kgs": "KGS",
}
SYMBOLS = {"RUB": "₽", "USD": "$", "EUR": "€", "KZT": "₸", "UAH": "₴", "GBP": "£", "TRY": "₺"}

# 120000, 120 000, 120,000.50 or 120 000,50: digits with group separators and two decimals.
_AMOUNT = re.compile(r"^\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?:[.,]\d{1,2})?$|^\d+(?:[.,]\d{1,2})?$")
_GROUPED_COMMA = re.compile(r"^\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?$")


class AmountError(ValueError):
    """Not an amount we accept; the message key says why."""


def parse_amount(text: str) -> Decimal:
    """'120 000', '120000,50', '1,500.00' -> Decimal; negative, zero, 1e9, '1,5к' are refused."""
    raw = text.strip()
    if _GROUPED_COMMA.match(raw):
        raw = raw.replace(",", "")
    elif not _AMOUNT.match(raw):
        raise AmountError("format")
    normalized = raw.replace(" ", "").replace("\u00a0", "").replace("\u202f", "")
    try:
        amount = Decimal(normalized.replace(",", "."))
    except InvalidOperation as exc:
        raise AmountError("format") from exc
    if amount <= 0:
        raise AmountError("positive")
    return amount


def to_minor(amount: Decimal, currency: str) -> int:
    digits = get_currency_precision(currency)
    scaled = amount * (Decimal(10) ** digits)
    if scaled != scaled.to_integral_value():
        raise AmountError("precision")
    minor = int(scaled)
    if minor > MAX_MINOR:
        raise AmountError("too_large")
    return minor


def format_money(minor: int, currency: str, locale: str) -> str:
    """'120 000 ₽' (Russian: amount first, narrow space), '$2,000.50' (English)."""
    digits = get_currency_precision(currency)
    amount = Decimal(minor) / (Decimal(10) ** digits)
    pattern = "#,##0" if amount == amount.to_integral_value() else "#,##0.00"
    symbol = SYMBOLS.get(currency, currency)
    if locale == "ru":
        number = format_decimal(amount, format=pattern, locale="ru")
        return f"{number}\u202f{symbol}"
    text = format_currency(
        amount, currency, format=f"¤{pattern}", locale="en", currency_digits=False
    )
    return str(text).replace(currency, symbol) if symbol != currency else str(text)
