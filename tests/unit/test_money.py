"""Amounts as account managers type them: text and the user's language -> minor units and
currency, or refused (with the reason the user is told)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.money import (
    MAX_MINOR,
    AmountError,
    Money,
    currency_for_zone,
    format_money,
    parse_amount,
    parse_money,
    user_currency,
)

# The user's own currency when none is written: a Russian user's RUB, an English user's USD
# (what /currency or their timezone would give them).
DEFAULT = {"ru": "RUB", "en": "USD"}

# (text, user's language) -> (minor units, currency) or the reason it is refused.
AMOUNTS: list[tuple[str, str, tuple[int, str] | str]] = [
    # Multipliers: thousands and millions, Russian and English, glued or apart.
    ("1,5к", "ru", (150_000, "RUB")),
    ("150к", "ru", (15_000_000, "RUB")),
    ("150 к", "ru", (15_000_000, "RUB")),
    ("2.5k", "en", (250_000, "USD")),
    ("2,5K", "en", (250_000, "USD")),
    ("150 тыс", "ru", (15_000_000, "RUB")),
    ("1,5 тыс. руб.", "en", (150_000, "RUB")),
    ("2 млн", "ru", (200_000_000, "RUB")),
    ("1.2m", "en", (120_000_000, "USD")),
    ("3,5кк", "ru", (350_000_000, "RUB")),
    ("1.500к", "ru", (150_000, "RUB")),  # with a multiplier the mark is a decimal one
    # Currency before or after, sign, code or word, glued or apart.
    ("150000р", "ru", (15_000_000, "RUB")),
    ("150 000 руб.", "en", (15_000_000, "RUB")),
    ("5000 рублей", "en", (500_000, "RUB")),
    ("₽300", "en", (30_000, "RUB")),
    ("€300", "ru", (30_000, "EUR")),
    ("300 €", "ru", (30_000, "EUR")),
    ("300 евро", "ru", (30_000, "EUR")),
    ("$2,500", "ru", (250_000, "USD")),
    ("2500$", "ru", (250_000, "USD")),
    ("100 долларов", "ru", (10_000, "USD")),
    ("USD 100", "ru", (10_000, "USD")),
    ("100 usd", "ru", (10_000, "USD")),
    ("£1,200.50", "ru", (120_050, "GBP")),
    ("50 000 ₸", "ru", (5_000_000, "KZT")),
    ("50000 KZT", "en", (5_000_000, "KZT")),
    ("1000 тенге", "ru", (100_000, "KZT")),
    ("2k EUR", "en", (200_000, "EUR")),
    ("¥1000", "en", (1000, "JPY")),  # no minor units in yen
    # Thousands and decimals: one rule in both languages.
    ("1.500", "ru", (150_000, "RUB")),
    ("1.500", "en", (150_000, "USD")),
    ("2,500", "en", (250_000, "USD")),
    ("1,500", "ru", (150_000, "RUB")),
    ("1,5", "ru", (150, "RUB")),
    ("2.5", "en", (250, "USD")),
    ("1500,50", "ru", (150_050, "RUB")),
    ("1 500,50", "ru", (150_050, "RUB")),
    ("1\u00a0500", "ru", (150_000, "RUB")),
    ("1\u202f500\u202f000", "ru", (150_000_000, "RUB")),
    ("1'500'000", "en", (150_000_000, "USD")),
    ("1.500.000", "ru", (150_000_000, "RUB")),
    ("1,500,000.75", "en", (150_000_075, "USD")),
    ("1.500.000,75", "ru", (150_000_075, "RUB")),
    ("0,500", "ru", (50, "RUB")),  # a leading zero: a decimal mark
    ("1.500 KWD", "en", (1_500, "KWD")),  # three decimals: 1.500 dinar
    ("120 000", "ru", (12_000_000, "RUB")),
    # Refused, with the reason.
    ("0", "ru", "positive"),
    ("0,00 ₽", "ru", "positive"),
    ("-100", "ru", "format"),
    ("−100", "en", "format"),
    ("1e9", "en", "format"),
    ("10.5555", "ru", "precision"),
    ("1,5 ¥", "en", "precision"),
    ("100 XYZ", "en", "currency:XYZ"),
    ("ABC 100", "ru", "currency:ABC"),
    ("100 try", "en", "format"),  # a rare code in lower case is a word, not Turkish lira
    ("$100 €", "en", "format"),  # two currencies
    ("1,5кг", "ru", "format"),
    ("1.5.0", "en", "format"),
    ("1,50,000", "en", "format"),  # groups of three only
    ("12 34", "ru", "format"),
    ("сто рублей", "ru", "format"),
    ("1000000000000000000", "ru", "too_large"),
    ("", "ru", "format"),
]


@pytest.mark.parametrize(("text", "locale", "expected"), AMOUNTS)
def test_amount_table(text: str, locale: str, expected: tuple[int, str] | str) -> None:
    if isinstance(expected, str):
        with pytest.raises(AmountError) as refused:
            parse_money(text, DEFAULT[locale])
        assert str(refused.value) == expected
    else:
        money = parse_money(text, DEFAULT[locale])
        assert (money.minor, money.currency) == expected


def test_the_table_is_big_enough() -> None:
    assert len(AMOUNTS) >= 30


def test_partial_payment_takes_the_invoice_currency() -> None:
    assert parse_amount("50 000", "RUB") == 5_000_000
    assert parse_amount("50к ₽", "RUB") == 5_000_000
    with pytest.raises(AmountError):
        parse_amount("$500", "RUB")


@pytest.mark.parametrize(
    ("minor", "currency", "locale", "shown"),
    [
        (12_000_000, "RUB", "en", "₽120,000"),
        (12_000_000, "RUB", "ru", "120\u00a0000\u202f₽"),
        (150_050, "USD", "en", "$1,500.50"),
        (150_050, "USD", "ru", "1\u00a0500,50\u202f$"),
        (5_000_000, "KZT", "en", "₸50,000"),
        (30_000, "EUR", "ru", "300\u202f€"),
        (1_500, "KWD", "en", "KWD1.500"),
    ],
)
def test_format_money(minor: int, currency: str, locale: str, shown: str) -> None:
    assert format_money(minor, currency, locale) == shown


@pytest.mark.parametrize(
    ("zone", "currency"),
    [
        ("Europe/Moscow", "RUB"),
        ("Asia/Novosibirsk", "RUB"),
        ("America/New_York", "USD"),
        ("America/Los_Angeles", "USD"),
        ("Europe/Berlin", "EUR"),
        ("Europe/Paris", "EUR"),
        ("Europe/London", "GBP"),
        ("Asia/Almaty", "KZT"),
        ("Europe/Minsk", "BYN"),
        ("UTC", None),
    ],
)
def test_currency_follows_the_timezone(zone: str, currency: str | None) -> None:
    assert currency_for_zone(zone, date(2026, 12, 1)) == currency


def test_a_chosen_currency_wins_and_the_setting_is_the_last_resort() -> None:
    today = date(2026, 12, 1)
    assert user_currency("EUR", "America/New_York", "RUB", today) == "EUR"
    assert user_currency(None, "America/New_York", "RUB", today) == "USD"
    assert user_currency(None, "UTC", "RUB", today) == "RUB"


COMMON = ["RUB", "USD", "EUR", "GBP", "KZT", "UAH", "CNY", "JPY", "KWD", "CHF", "TRY", "INR"]


@given(
    minor=st.integers(min_value=1, max_value=MAX_MINOR),
    currency=st.sampled_from(COMMON),
    locale=st.sampled_from(["ru", "en"]),
)
def test_what_the_bot_shows_reads_back_the_same(minor: int, currency: str, locale: str) -> None:
    """An amount copied from a reply and pasted back means the same money."""
    shown = format_money(minor, currency, locale)
    assert parse_money(shown, "RUB") == Money(minor, currency)


@given(st.text(max_size=40))
def test_any_text_is_an_amount_or_a_clear_refusal(text: str) -> None:
    reason = None
    try:
        money = parse_money(text, "RUB")
    except AmountError as refused:
        reason = str(refused).split(":")[0]
    if reason is None:
        assert 0 < money.minor <= MAX_MINOR
    else:
        assert reason in {"format", "positive", "precision", "too_large", "currency"}
