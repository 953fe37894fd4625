"""Money amounts and shares as planners write them.

Amounts: ``30000000``, ``30_000_000``, ``3.0e7``, ``"3e7"`` (a string to YAML 1.1), and the
short forms ``30M``, ``300k``, ``1.2B``, ``250万``, ``1.2亿``. Shares: ``0.05`` or ``"5%"``.

>>> parse_amount("1.2亿")
120000000.0
>>> parse_share("5%")
0.05
"""

from __future__ import annotations

import math
import re

_SUFFIXES = {
    "": 1.0,
    "k": 1e3,
    "K": 1e3,
    "m": 1e6,
    "M": 1e6,
    "b": 1e9,
    "B": 1e9,
    "万": 1e4,
    "亿": 1e8,
}
_NUMBER = r"[+-]?(?:\d[\d_,]*(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_AMOUNT_RE = re.compile(rf"^\s*({_NUMBER})\s*(k|K|m|M|b|B|万|亿)?\s*$")
_SHARE_RE = re.compile(rf"^\s*({_NUMBER})\s*(%)?\s*$")


class AmountError(ValueError):
    """A value that is not a valid amount or share; the message is for the planner."""


def _finite(value: float, raw: object) -> float:
    if not math.isfinite(value):
        raise AmountError(f"must be a finite number (got {raw!r})")
    return value


def _number(text: str) -> float:
    return float(text.replace("_", "").replace(",", ""))


def parse_amount(raw: object) -> float:
    """An amount of money (or any plain quantity) as a float; signs are checked by the caller."""
    if isinstance(raw, bool):
        raise AmountError(f"must be an amount such as 30M or 300k (got {raw!r})")
    if isinstance(raw, (int, float)):
        return _finite(float(raw), raw)
    if isinstance(raw, str):
        match = _AMOUNT_RE.match(raw)
        if match:
            number, suffix = match.groups()
            return _finite(_number(number) * _SUFFIXES[suffix or ""], raw)
    raise AmountError(f"must be an amount such as 30M, 300k, 250万 or 3e7 (got {raw!r})")


def parse_share(raw: object) -> float:
    """A share as a fraction: ``0.05`` and ``"5%"`` both give 0.05."""
    if isinstance(raw, bool):
        raise AmountError(f"must be a share such as 5% or 0.05 (got {raw!r})")
    if isinstance(raw, (int, float)):
        return _finite(float(raw), raw)
    if isinstance(raw, str):
        match = _SHARE_RE.match(raw)
        if match:
            number, percent = match.groups()
            value = _number(number)
            return _finite(value / 100.0 if percent else value, raw)
    raise AmountError(f"must be a share such as 5% or 0.05 (got {raw!r})")


def format_amount(value: float) -> str:
    """Short human form used in messages: 15000000 -> '15.0M'."""
    size = abs(value)
    for factor, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if size >= factor:
            return f"{value / factor:.1f}{suffix}"
    return f"{value:.0f}" if value == round(value) else f"{value:.2f}"
