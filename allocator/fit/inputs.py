"""Reading the inputs of ``allocator fit``: a spend/revenue history, or a marketing-mix export.

The layout is told by the header (``docs/fitting.md``):

- history: exactly ``region, channel, period, spend, revenue``, one row per cell and period;
- marketing-mix response curves: exactly ``region, channel, spend, response``, points per cell.

Every problem is reported with its file, line and column, all at once.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from allocator.decompose.csvio import MAX_BYTES, Column, amount, duplicates, read_table, text
from allocator.scenario.errors import Problem, ScenarioError
from allocator.scenario.yaml_io import read_user_text

HISTORY_COLUMNS = ("region", "channel", "period", "spend", "revenue")
MMM_COLUMNS = ("region", "channel", "spend", "response")


class FitInputError(ScenarioError):
    """A history or marketing-mix file that cannot be read; exit status 2 like every input error."""


class CellsRefused(FitInputError):
    """Some cells cannot be fitted, and a partial model was not asked for: nothing is written."""

    hint = "Nothing written; --partial writes the cells that fit (and lists the others in the file)."


@dataclass(frozen=True)
class CellHistory:
    """One cell's history in period order: spend and revenue per period."""

    region: str
    channel: str
    line: int  # the cell's first row in the file
    periods: tuple[str, ...]
    spend: np.ndarray
    revenue: np.ndarray

    @property
    def label(self) -> str:
        return f"{self.region}/{self.channel}"


@dataclass(frozen=True)
class CellPoints:
    """One cell's exported response curve: ``response`` (incremental revenue) at ``spend``."""

    region: str
    channel: str
    line: int
    spend: np.ndarray
    response: np.ndarray

    @property
    def label(self) -> str:
        return f"{self.region}/{self.channel}"


def layout_of(path: Path, display: str | None = None) -> str:
    """``"history"`` or ``"mmm"``, from the file's header; anything else is an input error."""
    file = display or str(path)
    first = read_user_text(path, file, encoding="utf-8-sig", kind="UTF-8 CSV", max_bytes=MAX_BYTES)
    try:
        header = next(csv.reader(first.splitlines()[:1]), [])
    except csv.Error as exc:
        raise FitInputError([Problem(file, 1, "", f"cannot read CSV: {exc}")]) from None
    names = {h.strip() for h in header}
    if names == set(HISTORY_COLUMNS):
        return "history"
    if names == set(MMM_COLUMNS):
        return "mmm"
    message = (f"columns must be exactly {', '.join(HISTORY_COLUMNS)} (a history) or "
               f"{', '.join(MMM_COLUMNS)} (response curves from a marketing-mix model); got "
               f"{', '.join(h.strip() for h in header) or 'no header'}")
    raise FitInputError([Problem(file, 1, "", message)])


def read_history(path: Path, display: str | None = None) -> list[CellHistory]:
    """The cells of a history file, each in period order (dates sorted, other labels as first seen)."""
    columns = [Column("region", text), Column("channel", text), Column("period", text),
               Column("spend", amount), Column("revenue", amount)]
    table = read_table(path, columns, display, keep_going=True)
    problems = list(table.problems)
    rows = [r for r in table.rows if all(r[c] is not None for c in HISTORY_COLUMNS)]
    problems += duplicates(table, ("region", "channel", "period"), "period for this cell")
    if not rows and not problems:
        problems.append(Problem(table.file, 2, "", "no history rows"))
    if problems:
        raise FitInputError(problems)
    order = _period_order([r["period"] for r in rows])
    cells: dict[tuple[str, str], list] = {}
    for r in rows:
        cells.setdefault((r["region"], r["channel"]), []).append(r)
    out = []
    for (region, channel), items in cells.items():
        items.sort(key=lambda r: order[r["period"]])
        out.append(CellHistory(region, channel, items[0].line, tuple(r["period"] for r in items),
                               np.array([r["spend"] for r in items], dtype=float),
                               np.array([r["revenue"] for r in items], dtype=float)))
    return out


def _period_order(labels: list[str]) -> dict[str, int]:
    """Rank of each period label: by date when every label is an ISO date, else as first seen."""
    unique = list(dict.fromkeys(labels))
    try:
        dates = {p: dt.date.fromisoformat(p) for p in unique}
    except ValueError:
        return {p: i for i, p in enumerate(unique)}
    return {p: i for i, p in enumerate(sorted(unique, key=dates.__getitem__))}


def read_points(path: Path, display: str | None = None) -> list[CellPoints]:
    """The cells of a marketing-mix export, each sorted by spend; spend unique, response not falling."""
    columns = [Column("region", text), Column("channel", text), Column("spend", amount),
               Column("response", amount)]
    table = read_table(path, columns, display, keep_going=True)
    problems = list(table.problems)
    rows = [r for r in table.rows if all(r[c] is not None for c in MMM_COLUMNS)]
    problems += duplicates(table, ("region", "channel", "spend"), "spend for this cell")
    if not rows and not problems:
        problems.append(Problem(table.file, 2, "", "no response points"))
    cells: dict[tuple[str, str], list] = {}
    for r in rows:
        cells.setdefault((r["region"], r["channel"]), []).append(r)
    out = []
    for (region, channel), items in cells.items():
        items.sort(key=lambda r: r["spend"])
        label = f"{region}/{channel}"
        if len(items) < 2:
            problems.append(Problem(table.file, items[0].line, label, "needs at least 2 response points"))
        for before, after in zip(items, items[1:]):
            if after["response"] < before["response"]:
                problems.append(Problem(table.file, after.line, "response",
                                        f"{label}: response falls as spend grows ({after['response']:g} at spend "
                                        f"{after['spend']:g}, {before['response']:g} at {before['spend']:g} on line "
                                        f"{before.line}); a response curve must not fall"))
        out.append(CellPoints(region, channel, items[0].line, np.array([r["spend"] for r in items], dtype=float),
                              np.array([r["response"] for r in items], dtype=float)))
    if problems:
        raise FitInputError(problems)
    return out
