"""Amounts as account managers type them («1,5к», «150 000 руб.», "$2,500", "€300"), read as
exact decimals, stored in integer minor units with an ISO code, shown through Babel.

The reading rules (README, "Amounts"), the same whatever the user's language, so a number
means one thing whoever types it:

- spaces, no-break spaces and apostrophes group thousands: «120 000», 1'500'000;
- with both '.' and ',' the last one is the decimal mark: 1,500.50 and 1.500,50;
- one kind of mark used twice or more groups thousands: 1.500.000, 1,500,000;
- a single mark followed by exactly three digits groups thousands (1.500 and 1,500 are
  1500) unless the integer part starts with 0, a multiplier follows, or the currency has
  three decimals (KWD, BHD…); any other single mark is the decimal mark (1,5 and 2.5);
- k, к, тыс (thousand) and m, м, млн, кк (million) multiply: 1,5к = 1500, 2.5m;
- a currency code, sign or word may stand before or after, with or without a space.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import cache

from babel.core import get_global
from babel.numbers import (
    format_currency,
    get_currency_precision,
    get_currency_symbol,
    get_territory_currencies,
)

MAX_MINOR = 10**15  # a quadrillion kopecks: beyond any invoice, within SQLite's integers

# Lower-case codes people type; any other ISO code counts only in capitals ("100 try" is
# not Turkish lira, "100 all" not Albanian lek).
_LOWER_CODES = ("rub", "usd", "eur", "gbp", "kzt", "byn", "uah", "cny", "chf", "aed", "gel",
                "amd", "uzs", "kgs", "azn", "jpy", "inr", "cad", "aud", "pln", "czk", "sek")

# Words and signs Babel does not give us (its own symbols are added in currency_words()).
_WORDS = {
    "RUB": ("р", "р.", "руб", "руб.", "рубль", "рубля", "рублей", "₽", "rur", "rouble",
            "roubles", "ruble", "rubles"),
    "USD": ("$", "долл", "долл.", "доллар", "доллара", "долларов", "бакс", "бакса", "баксов",
            "dollar", "dollars", "us$"),
    "EUR": ("€", "евро", "euro", "euros"),
    "GBP": ("£", "фунт", "фунта", "фунтов", "pound", "pounds"),
    "KZT": ("₸", "тенге", "tenge"),
    "UAH": ("₴", "грн", "грн.", "гривна", "гривны", "гривен"),
    "CNY": ("юань", "юаня", "юаней", "yuan", "rmb"),
    "BYN": ("бел.р", "бел.руб"),
    "TRY": ("₺", "лира", "лиры", "лир"),
    "GEL": ("₾", "лари"),
    "AZN": ("₼", "манат"),
    "INR": ("₹",),
}
# The one-character sign shown for a currency where Babel's English symbol is its code.
NARROW_SYMBOLS = {"RUB": "₽", "KZT": "₸", "UAH": "₴", "TRY": "₺", "GEL": "₾", "AZN": "₼"}

_MULTIPLIERS = {
    "k": 3, "к": 3, "тыс": 3, "тыс.": 3, "тысяча": 3, "тысячи": 3, "тысяч": 3, "thousand": 3,
    "m": 6, "м": 6, "млн": 6, "млн.": 6, "mln": 6, "million": 6, "миллион": 6, "миллиона": 6,
    "миллионов": 6, "кк": 6, "kk": 6,
}
_SPACES = " \u00a0\u202f\u2009'’"
# The number: digits with marks inside (no leading or trailing mark).
_NUMBER = re.compile(r"\d(?:[\d \u00a0\u202f\u2009'’.,]*\d)?")
_ISO = re.compile(r"^[A-Z]{3}$")


class AmountError(ValueError):
    """Not an amount we accept; the message says why: format, positive, precision,
    too_large, or currency:<CODE> for a code we do not know."""


@dataclass(frozen=True, slots=True)
class Money:
    minor: int
    currency: str

    @property
    def amount(self) -> Decimal:
        return Decimal(self.minor).scaleb(-get_currency_precision(self.currency))


@cache
def current_codes() -> frozenset[str]:
    """ISO codes legal tender somewhere today (Babel's territory data): not 'SUR' or 'XYZ'."""
    territories = get_global("territory_currencies")
    return frozenset(
        code for territory in territories
        for code in get_territory_currencies(territory, date(2025, 1, 1), tender=True)
    )


@cache
def currency_words() -> dict[str, str]:
    """Every token (case-folded) that names a currency: our words, Babel's English and
    Russian symbols where they are not ambiguous, codes."""
    words: dict[str, str] = {}
    symbols: dict[str, set[str]] = {}
    for code in current_codes():
        words[code.casefold()] = code
        for locale in ("en", "ru"):
            symbol = get_currency_symbol(code, locale).casefold()
            if symbol != code.casefold():
                symbols.setdefault(symbol, set()).add(code)
    # A sign two currencies share ('kr') names neither.
    words.update({symbol: codes.pop() for symbol, codes in symbols.items() if len(codes) == 1})
    for code, tokens in _WORDS.items():
        for token in tokens:
            words[token] = code
    return words


def currency_of(token: str) -> str | None:
    """'руб.' -> RUB, '$' -> USD, 'USD'/'usd' -> USD, 'KWD' -> KWD, 'try' -> None."""
    folded = token.strip().casefold()
    code = currency_words().get(folded)
    if code is None:
        return None
    if folded == code.casefold() and token.strip() != code and folded not in _LOWER_CODES:
        return None  # a lower-case rare code is more likely a word
    return code


def looks_like_code(token: str) -> bool:
    """Three capital Latin letters: the user meant a currency code."""
    return bool(_ISO.match(token))


def _split_affix(text: str) -> tuple[int, str | None]:
    """'к руб.' -> (3, 'RUB'); '' -> (0, None); anything else unknown raises."""
    rest = text.strip()
    exponent = 0
    if rest:
        # The longest multiplier that starts the text and ends at a word boundary.
        for word in sorted(_MULTIPLIERS, key=len, reverse=True):
            if rest.casefold().startswith(word):
                tail = rest[len(word):]
                if not tail or not tail[0].isalpha():
                    exponent = _MULTIPLIERS[word]
                    rest = tail.strip()
                    break
    if not rest:
        return exponent, None
    code = currency_of(rest)
    if code is None:
        raise AmountError(f"currency:{rest}" if looks_like_code(rest) else "format")
    return exponent, code


def _number(core: str, *, multiplied: bool, three_decimals: bool) -> Decimal:
    """The digits and marks of an amount as an exact decimal, by the rules above."""
    marks = [char for char in core if char in ".,"]
    decimal_mark: str | None = None
    if "." in marks and "," in marks:
        decimal_mark = marks[-1]
        if marks.count(decimal_mark) != 1:
            raise AmountError("format")
    elif len(marks) == 1:
        head, _sep, tail = core.partition(marks[0])
        head_digits = head.strip(_SPACES)
        groups_thousands = (
            len(tail) == 3 and tail.isdigit() and not multiplied and not three_decimals
            and not head_digits.startswith("0")
        )
        decimal_mark = None if groups_thousands else marks[0]
    integer, fraction = core, ""
    if decimal_mark is not None:
        integer, _sep, fraction = core.rpartition(decimal_mark)
        if not fraction.isdigit():
            raise AmountError("format")
    groups = re.split(r"[ \u00a0\u202f\u2009'’.,]", integer)
    if len(groups) > 1 and (
        not 1 <= len(groups[0]) <= 3 or any(len(group) != 3 for group in groups[1:])
    ):
        raise AmountError("format")
    if not all(group.isdigit() for group in groups):
        raise AmountError("format")
    try:
        return Decimal("".join(groups) + ("." + fraction if fraction else ""))
    except InvalidOperation as exc:  # pragma: no cover - digits only by now
        raise AmountError("format") from exc


def parse_money(text: str, default_currency: str) -> Money:
    """'1,5к' -> 1500.00 of the default currency; '$2,500' -> 2500.00 USD; '€300', '150000р',
    '1 500,50 руб.', 'USD 100', '2.5k'. Refuses negative, zero, '1e9', unknown codes."""
    raw = " ".join(text.split())
    found = _NUMBER.search(raw)
    if found is None:
        raise AmountError("format")
    before, core, after = raw[: found.start()], found.group(), raw[found.end():]
    if before.strip() in ("-", "−", "–"):
        raise AmountError("format")
    pre: str | None = None
    if before.strip():
        pre = currency_of(before)
        if pre is None:
            raise AmountError(
                f"currency:{before.strip()}" if looks_like_code(before.strip()) else "format"
            )
    exponent, post = _split_affix(after)
    if pre is not None and post is not None and pre != post:
        raise AmountError("format")
    currency = pre or post or default_currency
    amount = _number(
        core, multiplied=exponent > 0, three_decimals=get_currency_precision(currency) == 3
    ).scaleb(exponent)
    if amount <= 0:
        raise AmountError("positive")
    return Money(to_minor(amount, currency), currency)


def parse_amount(text: str, currency: str) -> int:
    """An amount in a known currency (a partial payment): minor units. A currency written
    in the text must be that one."""
    money = parse_money(text, currency)
    if money.currency != currency:
        raise AmountError("format")
    return money.minor


def to_minor(amount: Decimal, currency: str) -> int:
    digits = get_currency_precision(currency)
    scaled = amount.scaleb(digits)
    if scaled != scaled.to_integral_value():
        raise AmountError("precision")
    if scaled > MAX_MINOR:
        raise AmountError("too_large")
    return int(scaled)


def format_money(minor: int, currency: str, locale: str) -> str:
    """Babel's format in the user's locale with the currency's short sign: '120 000 ₽'
    (Russian, amount first), '₽120,000', '$2,000.50' (English); whole amounts without
    decimals."""
    digits = get_currency_precision(currency)
    amount = Decimal(minor).scaleb(-digits)
    pattern = "#,##0" if amount == amount.to_integral_value() else "#,##0." + "0" * digits
    language = "ru" if locale == "ru" else "en"
    # Russian puts the sign after the amount, with a narrow no-break space.
    full = f"{pattern}\u202f¤" if language == "ru" else f"¤{pattern}"
    text = str(format_currency(amount, currency, format=full, locale=language,
                               currency_digits=False))
    babel_symbol = get_currency_symbol(currency, language)
    narrow = NARROW_SYMBOLS.get(currency)
    if narrow is not None and babel_symbol != narrow:
        text = text.replace(babel_symbol, narrow)
    return text


def currency_for_zone(zone: str, on: date) -> str | None:
    """The currency of the country a timezone is in (Babel's zone and territory data):
    Europe/Moscow -> RUB, America/New_York -> USD, Europe/Berlin -> EUR, Europe/London ->
    GBP, Asia/Almaty -> KZT; UTC -> None."""
    territory = get_global("zone_territories").get(zone)
    if not territory:
        return None
    currencies = get_territory_currencies(territory, on, tender=True)
    return currencies[0] if currencies else None


def user_currency(chosen: str | None, zone: str, fallback: str, on: date) -> str:
    """The user's currency (/currency), else their timezone's country's, else the bot's
    DEFAULT_CURRENCY."""
    return chosen or currency_for_zone(zone, on) or fallback
