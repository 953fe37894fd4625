"""CSV inputs read row by row, so that every bad value is reported with its file, line and column.

Line 1 is the header; a problem in the first data row is on line 2. Unknown columns are errors
(a misspelt ``chanel`` column must not be silently ignored); blank lines are skipped; a UTF-8
byte-order mark (as Excel writes) is accepted.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from allocator.decompose.config import parse_date
from allocator.decompose.errors import DecompositionError
from allocator.scenario.amounts import AmountError, parse_amount, parse_share
from allocator.scenario.checks import did_you_mean
from allocator.scenario.errors import Problem, ScenarioError
from allocator.scenario.types import control_characters
from allocator.scenario.yaml_io import NotRegularFile, read_bounded, read_user_text

MAX_BYTES = 50_000_000

Parser = Callable[[str], object]


@dataclass(frozen=True)
class Column:
    name: str
    parse: Parser
    required: bool = True  # the column must be in the header
    blank_ok: bool = False  # a cell may be empty (read as None)


@dataclass(frozen=True)
class Row:
    line: int
    values: dict[str, object]

    def __getitem__(self, key: str) -> object:
        return self.values.get(key)


@dataclass(frozen=True)
class Table:
    file: str
    columns: tuple[str, ...]  # as found in the header
    rows: tuple[Row, ...]
    problems: tuple[Problem, ...] = ()  # with keep_going: bad cells (read as None) and bad rows

    def has(self, column: str) -> bool:
        return column in self.columns


def text(raw: str) -> str:
    """A name (product, rep, region...): any text but control characters, which a workbook cannot hold."""
    bad = control_characters(raw, allowed="\t")
    if bad:
        raise ValueError(f"cannot contain control characters ({bad}; got {raw!r})")
    return raw


def _amount(raw: str, strict: bool) -> float:
    try:
        value = parse_amount(raw)
    except AmountError as exc:
        raise ValueError(str(exc)) from None
    if value < 0 or (strict and value == 0):
        raise ValueError(f"must be {'>' if strict else '>='} 0 (got {raw!r})")
    return value


def amount(raw: str) -> float:
    """A non-negative amount (``1200``, ``1.2k``, ``3万``)."""
    return _amount(raw, strict=False)


def positive_amount(raw: str) -> float:
    """An amount above zero."""
    return _amount(raw, strict=True)


def share(raw: str) -> float:
    try:
        value = parse_share(raw)
    except AmountError as exc:
        raise ValueError(str(exc)) from None
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"must be between 0% and 100% (got {raw!r})")
    return value


def positive_share(raw: str) -> float:
    value = share(raw)
    if value <= 0:
        raise ValueError(f"must be > 0% and <= 100% (got {raw!r})")
    return value


def date(raw: str) -> dt.date:
    return parse_date(raw)


def month(raw: str) -> str:
    """``2026-07`` (or a date in that month) as ``2026-07``."""
    text_ = raw.strip()
    try:
        day = dt.date.fromisoformat(text_ + "-01" if len(text_) == 7 else text_)
    except ValueError:
        raise ValueError(f"must be a month like 2026-07 (got {raw!r})") from None
    return f"{day.year:04d}-{day.month:02d}"


def read_table(path: Path, columns: list[Column], display: str | None = None, keep_going: bool = False) -> Table:
    """Read and parse a CSV; raise :class:`DecompositionError` with every problem found.

    With ``keep_going``, problems in cells and rows are returned in ``Table.problems`` instead
    (bad cells read as ``None``), so that the caller can add its own checks and report all at once.
    """
    file = display or str(path)
    text_ = _read_text(path, file)
    reader = csv.reader(text_.splitlines(keepends=True))
    try:
        header = next(reader)
    except StopIteration:
        raise DecompositionError([Problem(file, 1, "", "file is empty; it needs a header row")]) from None
    except csv.Error as exc:
        raise DecompositionError([Problem(file, 1, "", f"cannot read CSV: {exc}")]) from None
    header = [h.strip() for h in header]
    problems = _header_problems(header, columns, file)
    if problems:
        raise DecompositionError(problems)
    by_name = {c.name: c for c in columns}
    rows: list[Row] = []
    try:
        for cells in reader:
            line = reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(header):
                problems.append(Problem(file, line, "", f"has {len(cells)} fields but the header has {len(header)}"))
                continue
            values: dict[str, object] = {}
            for name, raw in zip(header, cells):
                values[name] = _cell(by_name[name], raw.strip(), file, line, problems)
            rows.append(Row(line, values))
    except csv.Error as exc:
        problems.append(Problem(file, reader.line_num, "", f"cannot read CSV: {exc}"))
    if problems and not keep_going:
        raise DecompositionError(problems)
    return Table(file, tuple(header), tuple(rows), tuple(problems))


RUN_TABLE_BYTES = 2_000_000_000  # a table of a run folder (written by us; large plans have large tables)


def read_frame(path: Path, **options) -> pd.DataFrame:
    """A table of a run folder as a DataFrame, read through :func:`read_bounded` (a FIFO or a device
    put in its place is refused, not waited on); problems name the file."""
    try:
        data = read_bounded(Path(path), RUN_TABLE_BYTES)
    except OSError as exc:
        message = f"is {exc.strerror}, not a regular file" if isinstance(exc, NotRegularFile) else \
            f"cannot read file: {exc.strerror or exc}"
        raise DecompositionError([Problem(str(path), None, "", message)]) from None
    return pd.read_csv(io.BytesIO(data), **options)


def _read_text(path: Path, file: str) -> str:
    try:
        return read_user_text(path, file, encoding="utf-8-sig", kind="UTF-8 CSV", max_bytes=MAX_BYTES)
    except ScenarioError as exc:
        raise DecompositionError(exc.problems) from None


def _header_problems(header: list[str], columns: list[Column], file: str) -> list[Problem]:
    known = [c.name for c in columns]
    problems = []
    seen: set[str] = set()
    for name in header:
        if name in seen:
            problems.append(Problem(file, 1, name, "column appears more than once"))
        seen.add(name)
        if name not in known:
            hint = did_you_mean(name, known) or f" (columns: {', '.join(known)})"
            problems.append(Problem(file, 1, name, f"unknown column{hint}"))
    missing = [c.name for c in columns if c.required and c.name not in header]
    if missing:
        problems.append(Problem(file, 1, "", f"missing column(s): {', '.join(missing)}"))
    return problems


def _cell(column: Column, raw: str, file: str, line: int, problems: list[Problem]) -> object:
    if raw == "":
        if not column.blank_ok:
            problems.append(Problem(file, line, column.name, "is empty"))
        return None
    try:
        value = column.parse(raw)
    except ValueError as exc:
        problems.append(Problem(file, line, column.name, str(exc)))
        return None
    if isinstance(value, float) and not math.isfinite(value):
        problems.append(Problem(file, line, column.name, f"must be a finite number (got {raw!r})"))
        return None
    return value


def duplicates(table: Table, key: tuple[str, ...], what: str) -> list[Problem]:
    """A problem for each row whose ``key`` columns repeat an earlier row's."""
    first: dict[tuple, int] = {}
    problems = []
    for row in table.rows:
        k = tuple(row[c] for c in key)
        if k in first:
            shown = ", ".join(f"{c} {v}" for c, v in zip(key, k) if v is not None)
            problems.append(Problem(table.file, row.line, "", f"duplicate {what} ({shown}; first on line {first[k]})"))
        else:
            first[k] = row.line
    return problems
