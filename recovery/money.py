"""Money as officers type it and as committee papers print it.

Parsing accepts ``£1.2m``, ``£0.601m``, ``129k``, ``£1,120,000``, ``£224,537``, ranges such as
``50k-600k`` or ``£50k – £600k`` and ``TBC``. Everything becomes ``Decimal`` pounds; floats are
never involved. Anything ambiguous is refused with a message an officer can act on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum

PENNY = Decimal("0.01")
MAX_AMOUNT = Decimal("1000000000")  # £1bn: no children's services savings line is larger.

_MULTIPLIERS = {"": Decimal(1), "k": Decimal(1_000), "m": Decimal(1_000_000)}
_NUMBER = re.compile(
    r"""^(?P<int>\d{1,3}(?:,\d{3})+|\d+)?   # whole pounds, optionally grouped in thousands
        (?:\.(?P<frac>\d+))?                # decimal part
        (?P<suffix>k|m|bn)?$                # thousands, millions
    """,
    re.VERBOSE | re.IGNORECASE,
)
_RANGE_SPLIT = re.compile(r"\s*(?:-|–|—|\bto\b)\s*", re.IGNORECASE)
TBC_WORDS = {"tbc", "tbd", "to be confirmed"}


class MoneyError(ValueError):
    """A money figure that cannot be read; the message is written for the officer."""


class AmountKind(StrEnum):
    POINT = "point"
    RANGE = "range"
    TBC = "tbc"


@dataclass(frozen=True)
class Amount:
    """A planned figure: a point, a low-high range, or to be confirmed."""

    kind: AmountKind
    low: Decimal | None = None
    high: Decimal | None = None

    @classmethod
    def point(cls, value: Decimal) -> Amount:
        return cls(AmountKind.POINT, value, value)

    @classmethod
    def range(cls, low: Decimal, high: Decimal) -> Amount:
        if low > high:
            raise MoneyError(
                f"the low figure {format_money(low)} is above the high figure {format_money(high)}"
            )
        if low == high:
            return cls.point(low)
        return cls(AmountKind.RANGE, low, high)

    @classmethod
    def tbc(cls) -> Amount:
        return cls(AmountKind.TBC)

    def __str__(self) -> str:
        return format_amount(self)


_GBP = re.compile(r"^\s*gbp\b|\bgbp\s*$", re.IGNORECASE)  # "GBP 1,200" or "1,200 GBP"
_MINUS_AFTER_POUND = re.compile(r"^£\s*[-−]")  # "£-100" is -£100


NIL_WORDS = {"nil", "£nil"}  # as papers print a figure of nothing: £0, a known figure
# Spaces a figure may carry: no-break, narrow no-break (French-style 181 000), thin.
_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " ", "\u2009": " "})
# A dash or minus sign before a figure is a minus: Word turns "-21,560" into "–21,560" as
# it is typed; papers print "−" (U+2212).
_DASH_MINUS = re.compile(r"^[–—−](?=\s*£?\s*\d)")
# A ledger's minus after the figure: "1,234-".
_TRAILING_MINUS = re.compile(r"^(£?\s*\d[\d,]*(?:\.\d+)?)\s*-$")
_UNIT_WORDS = (
    (re.compile(r"\s*(?:millions?|mn|mill?)\.?$", re.IGNORECASE), "m"),  # £1.2 million, £1.2mn
    (re.compile(r"\s*thousands?\.?$", re.IGNORECASE), "k"),  # £500 thousand
)


def _clean(text: str) -> str:
    """The text of a figure: no-break spaces as spaces, "GBP" before or after it removed,
    a minus written after the pound sign, after the figure or as a dash put before it,
    "£(1,234)" as "(£1,234)", a unit in words as its letter, and "nil" as 0."""
    text = _GBP.sub("", str(text).translate(_SPACES)).strip()
    if text.lower() in NIL_WORDS:
        return "0"
    text = _DASH_MINUS.sub("-", text)
    text = _TRAILING_MINUS.sub(r"-\1", text)
    if text.startswith("£(") and text.endswith(")"):
        text = "(£" + text[2:]
    for words, letter in _UNIT_WORDS:
        if re.search(r"\d", text):
            text = words.sub(letter, text)
    return "-£" + _MINUS_AFTER_POUND.sub("", text) if _MINUS_AFTER_POUND.match(text) else text


_SPACE_THOUSANDS = re.compile(r"(?<=\d) (?=\d{3}(?!\d))")
_SPACE_IN_FIGURE = re.compile(r"\d\s+\d")


def _parse_single(text: str, *, suffix_hint: str = "") -> tuple[Decimal, str]:
    raw = text
    text = text.strip()
    if text.startswith("£"):
        text = text[1:].strip()
    # Spaces between groups of three figures separate thousands (1 200 000); any other
    # space inside a figure is a slip (12 34), not a figure to guess.
    text = _SPACE_THOUSANDS.sub("", text)
    if _SPACE_IN_FIGURE.search(text):
        raise MoneyError(
            f"{raw.strip()!r} has a space inside its figure; write it like £1,234 or £1,200,000"
        )
    text = text.replace(" ", "")
    if not text:
        raise MoneyError(f"{raw.strip() or 'an empty value'!r} has no figure in it")
    match = _NUMBER.match(text)
    if not match or (match.group("int") is None and match.group("frac") is None):
        raise MoneyError(
            f"{raw.strip()!r} is not an amount of money; write it like £1,120,000, 129k or £1.2m"
        )
    suffix = (match.group("suffix") or "").lower()
    if suffix == "bn":
        raise MoneyError(f"{raw.strip()!r} is in billions; no savings line is that large")
    frac = match.group("frac")
    if frac is not None and len(frac) == 3 and not (suffix or suffix_hint):
        # "£20.520": a typing slip for £20,520, or £20.52? Refuse to guess; the advice is the
        # figure's own two readings ("£1,000.500": £1,000,500 or £1,000.50).
        whole = int((match.group("int") or "0").replace(",", ""))
        raise MoneyError(
            f"{raw.strip()!r} is ambiguous: three figures after the point could be pence or a "
            f"mistyped thousands separator; write £{whole * 1000 + int(frac):,} or "
            f"£{whole:,}.{frac[:2]}"
        )
    digits = (match.group("int") or "0").replace(",", "")
    if len(digits.lstrip("0")) > 12:
        raise MoneyError(f"{raw.strip()!r} is not plausible (over £1bn)")
    number = Decimal(digits + "." + (frac or "0"))
    effective = suffix or suffix_hint
    value = number * _MULTIPLIERS[effective]
    try:
        exact = value.quantize(PENNY)
    except InvalidOperation as exc:
        raise MoneyError(f"{raw.strip()!r} has too many decimal places") from exc
    if value != exact:
        raise MoneyError(f"{raw.strip()!r} has fractions of a penny")
    return exact, suffix


def parse_money(text, *, allow_negative: bool = False) -> Decimal:
    """Parse one amount of money (no range, no TBC) into pounds."""
    if isinstance(text, Decimal):
        value = text
    elif isinstance(text, int) and not isinstance(text, bool):
        value = Decimal(text)
    elif isinstance(text, float):
        # Spreadsheet cells arrive as floats; go through their shortest repr, never binary.
        value = Decimal(repr(text))
    else:
        cleaned = _clean(text or "")
        negative = False
        if cleaned.startswith("(") and cleaned.endswith(")"):
            negative, cleaned = True, cleaned[1:-1]
        elif cleaned.startswith("-"):
            negative, cleaned = True, cleaned[1:]
        elif cleaned.lower() in TBC_WORDS:
            raise MoneyError("TBC is not allowed here: give an amount")
        if _RANGE_SPLIT.search(cleaned.lstrip("£")):
            raise MoneyError(f"{cleaned!r} is a range; give a single amount here")
        value, _ = _parse_single(cleaned)
        if negative:
            value = -value
    try:
        # Half a penny up, as a spreadsheet shows it (£1,234,567.885 is £1,234,567.89).
        value = value.quantize(PENNY, rounding=ROUND_HALF_UP)
    except InvalidOperation as exc:
        raise MoneyError(f"{text!r} is not a usable amount") from exc
    if not value.is_finite():
        raise MoneyError(f"{text!r} is not a usable amount")
    if value < 0 and not allow_negative:
        raise MoneyError(f"{format_money(value)} is negative; savings and budgets are positive")
    if abs(value) >= MAX_AMOUNT:
        raise MoneyError(f"{format_money(value)} is not plausible (over £1bn)")
    return value


def parse_amount(text) -> Amount:
    """Parse a planned saving: a point, a range (``50k-600k``) or ``TBC``."""
    if isinstance(text, Amount):
        return text
    if isinstance(text, (Decimal, int, float)) and not isinstance(text, bool):
        return Amount.point(parse_money(text))
    cleaned = _clean(text or "")
    if not cleaned:
        raise MoneyError("no amount given; write an amount, a range such as 50k-600k, or TBC")
    if cleaned.lower() in TBC_WORDS:
        return Amount.tbc()
    if cleaned.startswith("-") or cleaned.startswith("("):
        raise MoneyError(f"{cleaned!r} is negative; a planned saving is a positive amount")
    parts = _RANGE_SPLIT.split(cleaned)
    if len(parts) == 1:
        return Amount.point(parse_money(cleaned))
    if len(parts) != 2 or not all(p.strip() for p in parts):
        raise MoneyError(f"{cleaned!r} is not a range; write it like 50k-600k")
    try:
        high, high_suffix = _parse_single(parts[1])
        # "50-600k": the low side borrows the high side's unit, as people write it; unless
        # it is already in pounds ("£500,000-600k", "95000-1.2m"), which borrowing would
        # overshoot.
        low, _ = _parse_single(parts[0], suffix_hint=high_suffix)
    except MoneyError as exc:  # "up to £100k": say the whole of what was typed
        raise MoneyError(f"{cleaned!r} is not a range of two amounts ({exc})") from None
    if high_suffix and low > high:
        plain, own_suffix = _parse_single(parts[0])
        low = low if own_suffix else plain
    for value in (low, high):
        if value >= MAX_AMOUNT:
            raise MoneyError(f"{format_money(value)} is not plausible (over £1bn)")
    return Amount.range(low, high)


NOT_REPORTED = "not reported"


def to_decimal(value) -> Decimal:
    """Money from the database or a sum that may be None."""
    if value is None:
        return Decimal("0.00")
    return Decimal(value).quantize(PENNY)


def format_money(value, *, pence: bool | None = None) -> str:
    """``£1,578,000``; pence shown only when there are some (or when asked)."""
    if value is None:
        return "—"
    exact = Decimal(value)
    value = exact.quantize(PENNY, rounding=ROUND_HALF_UP)
    show_pence = pence if pence is not None else value != value.to_integral_value()
    if not show_pence:  # rounded once, from the figure itself (£2.495 is £2, not £2.50 then £3)
        value = exact.quantize(Decimal(1), rounding=ROUND_HALF_UP)
    # The sign of the figure as shown: 50p short in whole pounds is £1 short, 40p is £0.
    sign = "-" if value < 0 else ""
    value = abs(value)
    body = f"{value:,.2f}" if show_pence else f"{value:,.0f}"
    return f"{sign}£{body}"


def format_range(low, high, fmt=None) -> str:
    """A figure and the top of its range as pages write them (``fmt``, ``format_money`` by
    default): ``£50,000 – £600,000``, or the one figure when the two agree; "not reported"
    when the figure is not known."""
    fmt = fmt or format_money
    if low is None:
        return NOT_REPORTED
    if high is None or high == low:
        return fmt(low)
    return f"{fmt(low)} – {fmt(high)}"


MINUS = "\u2212"  # a true minus sign, which a line never breaks away from its figure


def format_money_k(value, *, exact: bool = False) -> str:
    """Thousands of pounds as committee papers print them, no pence: ``£1,578k``,
    ``−£933k``; under £1k to one decimal place (``£0.5k``). ``exact``: to as many places as
    the figure has (an axis that steps by £2.5k)."""
    if value is None:
        return NOT_REPORTED
    value = Decimal(value)
    thousands = abs(value) / 1_000
    if exact:
        shown = thousands.normalize()
        body = f"{shown:,f}"
    elif thousands and thousands < 1:
        shown = thousands.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
        body = f"{shown}"
    else:
        shown = thousands.quantize(Decimal(1), rounding=ROUND_HALF_UP)
        body = f"{shown:,f}"
    sign = MINUS if value < 0 and shown else ""  # never "−£0.0k"
    return f"{sign}£{body}k"


def format_money_axis(ticks) -> list[str]:
    """A chart axis's labels in one unit: ``£0, £250k, £500k`` or ``£0.5m, £1m`` (never
    £750k beside £1.0m)."""
    top = max((abs(t) for t in ticks), default=0)
    scale, unit = (
        (1_000_000, "m") if top >= 1_000_000 else (1_000, "k") if top >= 1_000 else (1, "")
    )
    out = []
    for t in ticks:
        value = (Decimal(str(t)) / scale).quantize(Decimal("0.001")).normalize()
        sign = "-" if value < 0 else ""
        out.append("£0" if not value else f"{sign}£{abs(value):,f}{unit}")
    return out


def format_money_short(value) -> str:
    """``£1.58m``, ``£789k``, ``£950``: for tiles and chart labels."""
    if value is None:
        return "—"
    value = Decimal(value)
    sign = "-" if value < 0 else ""
    value = abs(value)
    thousands = (value / 1_000).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    if thousands >= 1_000:  # £999,999 is £1.00m, not £1000k
        body = f"{(value / 1_000_000).quantize(PENNY, rounding=ROUND_HALF_UP)}m"
    elif value.quantize(Decimal(1), rounding=ROUND_HALF_UP) >= 1_000:
        body = f"{thousands.normalize():f}k" if thousands % 1 else f"{thousands:.0f}k"
    else:
        body = f"{value.quantize(Decimal(1), rounding=ROUND_HALF_UP)}"
    return f"{sign if body != '0' else ''}£{body}"  # never "-£0"


def format_amount(amount: Amount, *, short: bool = False) -> str:
    fmt = format_money_short if short else format_money
    if amount.kind == AmountKind.TBC:
        return "TBC"
    if amount.kind == AmountKind.RANGE:
        return f"{fmt(amount.low)} – {fmt(amount.high)}"
    return fmt(amount.low)
