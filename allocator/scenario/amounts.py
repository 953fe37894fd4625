"""Money amounts and shares as planners write them.

Amounts: ``30000000``, ``30_000_000``, ``30,000,000``, ``3.0e7``, ``"3e7"`` (a string to YAML 1.1),
and the short forms ``30M``, ``300k``, ``1.2B``, ``250万``, ``1.2亿``. Shares: ``0.05`` or ``"5%"``.

Text is read as an exact decimal and scaled by a power of ten before it becomes a float, so
``"2.01M"`` is the float nearest 2 010 000 (``2.01 * 1e6`` is not). Commas are thousands
separators only (``1,5M`` is an error, never 15M); underscores go between digits.

>>> parse_amount("1.2亿")
120000000.0
>>> parse_share("5%")
0.05
"""

from __future__ import annotations

import decimal
import math
import re
from decimal import Decimal

from allocator.scenario.errors import shown

# Power of ten each suffix stands for.
_SUFFIXES = {"k": 3, "K": 3, "m": 6, "M": 6, "b": 9, "B": 9, "万": 4, "亿": 8}
_DIGITS = r"\d+(?:_\d+)*"  # 30_000_000, never 30__000 or 30_
_GROUPED = r"\d{1,3}(?:,\d{3})+"  # 30,000,000 (thousands separators only)
_NUMBER = rf"[+-]?(?:(?:{_GROUPED}|{_DIGITS})(?:\.(?:{_DIGITS})?)?|\.{_DIGITS})(?:[eE][+-]?\d+)?"
_AMOUNT_RE = re.compile(rf"^\s*({_NUMBER})\s*(k|K|m|M|b|B|万|亿)?\s*$")
_SHARE_RE = re.compile(rf"^\s*({_NUMBER})\s*(%)?\s*$")
_CONTEXT = decimal.Context(prec=40, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN, traps=[])

AMOUNT_EXAMPLES = "30M, 300k, 250万 or 3e7"


class AmountError(ValueError):
    """A value that is not a valid amount or share; the message is for the planner."""


def _scaled(text: str, power: int, raw: object) -> float:
    """``text`` (a matched number) times ``10**power``, as the nearest float; finite or an error."""
    exact = Decimal(text.replace("_", "").replace(",", ""))
    value = float(exact.scaleb(power, _CONTEXT))
    return _finite(value, raw)


def _finite(value: float, raw: object) -> float:
    if not math.isfinite(value):
        raise AmountError(f"must be a finite number (got {shown(raw)})")
    return value


def _from_number(raw: int | float) -> float:
    try:
        return _finite(float(raw), raw)
    except OverflowError:  # an int with hundreds of digits
        raise AmountError(f"must be a finite number (got {shown(raw)})") from None


def parse_amount(raw: object) -> float:
    """An amount of money (or any plain quantity) as a float; signs are checked by the caller."""
    if isinstance(raw, bool):
        raise AmountError(f"must be an amount such as {AMOUNT_EXAMPLES} (got {shown(raw)})")
    if isinstance(raw, (int, float)):
        return _from_number(raw)
    if isinstance(raw, str):
        match = _AMOUNT_RE.match(raw)
        if match:
            number, suffix = match.groups()
            return _scaled(number, _SUFFIXES.get(suffix, 0), raw)
    raise AmountError(f"must be an amount such as {AMOUNT_EXAMPLES} (got {shown(raw)})")


def parse_share(raw: object) -> float:
    """A share as a fraction: ``0.05`` and ``"5%"`` both give 0.05."""
    if isinstance(raw, bool):
        raise AmountError(f"must be a share such as 5% or 0.05 (got {shown(raw)})")
    if isinstance(raw, (int, float)):
        return _from_number(raw)
    if isinstance(raw, str):
        match = _SHARE_RE.match(raw)
        if match:
            number, percent = match.groups()
            return _scaled(number, -2 if percent else 0, raw)
    raise AmountError(f"must be a share such as 5% or 0.05 (got {shown(raw)})")


def format_amount(value: float) -> str:
    """Short human form used in messages: 15000000 -> '15.0M'."""
    for factor, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(round(value / factor, 1)) >= 1:  # 999,990 is "1.0M", not "1000.0k"
            return f"{value / factor:.1f}{suffix}"
    if abs(value) < 0.005:
        return "0"
    return f"{value:.0f}" if value == round(value) else f"{value:.2f}"


def format_share(value: float) -> str:
    """A fraction as a percentage with no noise digits: 0.05 -> '5%', 0.95000001 -> '95.000001%'."""
    text = f"{value * 100:.6f}".rstrip("0").rstrip(".")
    return f"{text}%"
