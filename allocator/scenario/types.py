"""Value types shared by every section of a scenario (and the decomposition section).

A leaf module: it imports nothing of ``allocator`` but amounts and errors, so that any schema
(``schema.py``, ``allocator/decompose/config.py``) can build on it without import loops.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from allocator.scenario.amounts import AmountError, format_share, parse_amount, parse_share
from allocator.scenario.errors import shown


def fail(message: str, at: tuple[object, ...] = ()) -> PydanticCustomError:
    """A planner-facing error; ``at`` locates it below the validated value (e.g. ``(2, "id")``)."""
    return PydanticCustomError("allocator", message, {"at": at} if at else None)


def amount_validator(minimum: float | None, strict: bool):
    def check(raw: object) -> float:
        try:
            value = parse_amount(raw)
        except AmountError as exc:
            raise fail(str(exc)) from None
        if minimum is not None and (value <= minimum if strict else value < minimum):
            op = ">" if strict else ">="
            raise fail(f"must be {op} {minimum:g} (got {shown(raw)})")
        return value

    return BeforeValidator(check)


def share_validator(low: float, high: float | None, low_open: bool = False):
    def check(raw: object) -> float:
        try:
            value = parse_share(raw)
        except AmountError as exc:
            raise fail(str(exc)) from None
        too_low = value <= low if low_open else value < low
        if too_low or (high is not None and value > high):
            raise fail(f"must be {_share_bounds(low, high, low_open)} (got {shown(raw)})")
        return value

    return BeforeValidator(check)


def _share_bounds(low: float, high: float | None, low_open: bool) -> str:
    if high is None:
        return f"{'>' if low_open else '>='} {format_share(low)}"
    if low_open:
        return f"> {format_share(low)} and <= {format_share(high)}"
    return f"between {format_share(low)} and {format_share(high)}"


def control_characters(text: str, allowed: str = "") -> str:
    """The control characters in ``text`` (``\\x01``...) as a message shows them, or ``""``."""
    bad = sorted({c for c in text if unicodedata.category(c) == "Cc" and c not in allowed})
    return ", ".join(repr(c) for c in bad)


def name_value(raw: object) -> object:
    """Ids and names are text; a whole number (``2027``) is taken as its digits."""
    if isinstance(raw, str):
        bad = control_characters(raw)
        if bad:  # a spreadsheet cannot store them, and no planner means them
            raise fail(f"cannot contain control characters ({bad}; got {shown(raw)})")
        return raw
    if isinstance(raw, int) and not isinstance(raw, bool):
        return str(raw)
    if raw is None:
        raise fail("must be a name (got nothing)")
    hint = "; put it in quotes if it is meant as text" if isinstance(raw, (bool, float)) else ""
    raise fail(f"must be a name (got {shown(raw)}){hint}")


def _text(raw: object) -> object:
    if isinstance(raw, str):
        bad = control_characters(raw, allowed="\t\n\r")
        if bad:
            raise fail(f"cannot contain control characters ({bad}; got {shown(raw)})")
    return str(raw) if isinstance(raw, (int, float)) and not isinstance(raw, bool) else raw


Amount = Annotated[float, amount_validator(0.0, strict=False)]
PositiveAmount = Annotated[float, amount_validator(0.0, strict=True)]
Share = Annotated[float, share_validator(0.0, 1.0)]
PositiveShare = Annotated[float, share_validator(0.0, 1.0, low_open=True)]
Growth = Annotated[float, share_validator(-1.0, None)]
Roi = Annotated[float, share_validator(-1.0, None)]
PositiveNumber = Annotated[float, amount_validator(0.0, strict=True)]
class FrozenDict(dict):
    """A mapping inside a frozen scenario: reads like a dict, refuses every change."""

    def _refuse(self, *args, **kwargs):
        raise TypeError("a scenario cannot change; make a changed copy with with_changes()")

    __setitem__ = __delitem__ = __ior__ = clear = pop = popitem = setdefault = update = _refuse

    def __reduce__(self):  # copy and pickle without going through __setitem__
        return (FrozenDict, (dict(self),))


for _dumper in (yaml.SafeDumper, yaml.Dumper, getattr(yaml, "CSafeDumper", None), getattr(yaml, "CDumper", None)):
    if _dumper is not None:  # YAML writes it as the plain mapping it is
        _dumper.add_representer(FrozenDict, yaml.representer.SafeRepresenter.represent_dict)


Name = Annotated[str, BeforeValidator(name_value), Field(min_length=1)]
Text = Annotated[str, BeforeValidator(_text)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
