"""From fitted cells to a response-model file (``models/NAME.yaml``), written whole or not at all.

Units (``docs/fitting.md``): a history period is one of ``P`` equal periods of the plan's
horizon. A per-period fit ``revenue = b + g(x)`` becomes the horizon's ``base = P * b`` and curve
``f(X) = P * g(X / P)``: for hill, exp and log that multiplies the lift parameter and the spend
scale by ``P`` (the shape stays), for points both coordinates.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

from allocator.scenario.amounts import format_amount
from allocator.scenario.errors import Problem, ScenarioError
from allocator.scenario.schema import ResponseCell

SIGNIFICANT = 6
_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "y", "n"}


@dataclass(frozen=True)
class ModelCell:
    """One cell of the file: the entry (amounts for the horizon) and the comment lines above it."""

    region: str
    channel: str
    base: float
    curve: dict[str, object]
    notes: tuple[str, ...]
    carryover: dict[str, float] | None = None  # {decay, max_lag}, fitted with --carryover


def horizon_curve(kind: str, params: dict[str, float], periods: float) -> dict[str, object]:
    """A per-period curve's parameters as the horizon's curve (``f(X) = P g(X / P)``)."""
    out: dict[str, object] = {"type": kind}
    for name, v in params.items():
        out[name] = v if name == "shape" else v * periods
    return out


def horizon_points(spend, response, periods: float) -> dict[str, object]:
    pts = [[float(x) * periods, float(y) * periods] for x, y in zip(spend, response)]
    return {"type": "points", "points": pts}


def number(v: float) -> str:
    """A plain decimal with ``SIGNIFICANT`` significant digits (no exponent: YAML 1.1 reads 1e6 as text)."""
    if v == 0 or not math.isfinite(v):
        return "0"
    digits = SIGNIFICANT - 1 - math.floor(math.log10(abs(v)))
    rounded = round(v, digits)
    text = f"{rounded:.{max(digits, 0)}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def name(text: str) -> str:
    """An id as YAML: plain when safe, else a double-quoted (JSON) string."""
    if _PLAIN.fullmatch(text) and text.lower() not in _YAML_WORDS:
        return text
    return json.dumps(text, ensure_ascii=False)


def _value(v: object) -> str:
    if isinstance(v, str):
        return name(v)
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    return number(float(v))


def _comment(text: str) -> str:
    return "# " + " ".join(text.split())


def model_text(cells: list[ModelCell], header: list[str], description: str) -> str:
    """The file's text: header comments, ``description``, then each cell with its fit notes.

    Every cell is checked against the response-cell schema, so a file that would not load is a
    bug caught here, not the planner's problem later.
    """
    lines = [_comment(h) for h in header]
    lines.append(f"description: {json.dumps(description, ensure_ascii=False)}")
    lines.append("response:")
    for cell in cells:
        entry = {"region": cell.region, "channel": cell.channel, "base": cell.base, "curve": cell.curve}
        if cell.carryover is not None:
            entry["carryover"] = cell.carryover
        ResponseCell.model_validate(entry)
        lines += ["  " + _comment(n) for n in cell.notes]
        curve = ", ".join(f"{k}: {_value(v)}" for k, v in cell.curve.items())
        carry = ""
        if cell.carryover is not None:
            carry = (f", carryover: {{decay: {number(cell.carryover['decay'])}, "
                     f"max_lag: {int(cell.carryover['max_lag'])}}}")
        lines.append(f"  - {{region: {name(cell.region)}, channel: {name(cell.channel)}, "
                     f"base: {number(cell.base)}, curve: {{{curve}}}{carry}}}")
    return "\n".join(lines) + "\n"


def check_target(out: Path, force: bool) -> None:
    """Fail before any work if ``out`` exists (without ``force``) or its folder does not."""
    if out.exists() and not force:
        raise ScenarioError([Problem(str(out), None, "--out", "already exists; pass --force to replace it")])
    if not out.parent.is_dir():
        raise ScenarioError([Problem(str(out), None, "--out", f"folder {out.parent} does not exist")])


def write_model(text: str, out: Path, force: bool) -> None:
    """Write ``text`` to ``out`` atomically: a sibling temporary file, then a rename (``force``) or a
    hard link that fails if ``out`` appeared meanwhile, so an existing file is never replaced."""
    check_target(out, force)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.partial")
    try:
        tmp.write_text(text, encoding="utf-8")
        if force:
            os.replace(tmp, out)
            return
        try:
            os.link(tmp, out)
        except FileExistsError:
            raise ScenarioError([Problem(str(out), None, "--out", "already exists; pass --force to replace it")]) from None
        except OSError:  # a file system without hard links: exclusive create, then the same bytes
            with open(out, "x", encoding="utf-8") as f:
                try:
                    f.write(text)
                except BaseException:
                    out.unlink(missing_ok=True)
                    raise
    finally:
        tmp.unlink(missing_ok=True)


def spend_range(lo: float, hi: float) -> str:
    return f"{format_amount(lo)}..{format_amount(hi)}"
