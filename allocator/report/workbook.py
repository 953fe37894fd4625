"""``plan.xlsx``: the plan as a workbook finance can open in Excel or LibreOffice.

Sheets: summary, allocation, pivot (region x channel by period), headcount, constraints, and any
extra tables of the run (decomposition). Header rows are frozen, columns sized, numbers formatted.
User text that a spreadsheet would read as a formula (``=``, ``+``, ``-``, ``@``) is stored as text.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

MONEY = "#,##0"
RATIO = "0.0%"
PRICE = "0.0000"
COUNT = "0"
FORMATS = {
    "spend": MONEY, "lift": MONEY, "revenue": MONEY, "capacity": MONEY, "slack": "#,##0.00",
    "marginal_roi": RATIO, "utilisation": RATIO, "shadow_price": PRICE,
    "core": COUNT, "hires": COUNT, "releases": COUNT, "temp": COUNT,
}
SUMMARY_FORMATS = {"marketing_roi": RATIO, "budget_shadow_price": PRICE, "mip_gap": "0.00E+00",
                   "solve_seconds": "0.00"}


def _put(ws, row: int, col: int, value, number_format: str | None = None):
    if isinstance(value, float) and not math.isfinite(value):
        value = None
    cell = ws.cell(row=row, column=col, value=value)
    if isinstance(value, str):
        cell.data_type = "s"  # never a formula, whatever the text starts with
    elif number_format and isinstance(value, (int, float)):
        cell.number_format = number_format
    return cell


def _sheet(wb: Workbook, title: str, frame: pd.DataFrame, formats: dict | None = None) -> None:
    ws = wb.create_sheet(title)
    formats = FORMATS if formats is None else formats
    for j, column in enumerate(frame.columns, start=1):
        _put(ws, 1, j, str(column)).font = Font(bold=True)
    for i, row in enumerate(frame.itertuples(index=False), start=2):
        for j, (column, value) in enumerate(zip(frame.columns, row), start=1):
            if hasattr(value, "item"):
                value = value.item()  # numpy scalar -> Python
            _put(ws, i, j, value, formats.get(str(column), MONEY if isinstance(value, float) else None))
    ws.freeze_panes = "A2"
    _widths(ws, frame)


def _widths(ws, frame: pd.DataFrame) -> None:
    for j, column in enumerate(frame.columns, start=1):
        values = [str(column)] + [f"{v:,.0f}" if isinstance(v, float) and math.isfinite(v) else str(v)
                                  for v in frame[column].head(200)]
        ws.column_dimensions[get_column_letter(j)].width = min(60, max(8, max(map(len, values)) + 2))


def pivot(allocation: pd.DataFrame, value: str, periods: list[str]) -> pd.DataFrame:
    """``value`` by region x channel (rows) and period (columns), with a total column."""
    table = allocation.pivot_table(index=["region", "channel"], columns="period", values=value,
                                   aggfunc="sum", sort=False).reindex(columns=periods)
    table["total"] = table.sum(axis=1)
    return table.reset_index()


def write_workbook(plan, path: Path) -> None:
    wb = Workbook()
    wb.remove(wb.active)
    summary = pd.DataFrame({"item": list(plan.summary), "value": list(plan.summary.values())})
    ws = wb.create_sheet("summary")
    _put(ws, 1, 1, "item").font = Font(bold=True)
    _put(ws, 1, 2, "value").font = Font(bold=True)
    for i, (key, value) in enumerate(plan.summary.items(), start=2):
        _put(ws, i, 1, key)
        _put(ws, i, 2, value, SUMMARY_FORMATS.get(key, MONEY))
    ws.freeze_panes = "A2"
    _widths(ws, summary)
    if plan.has_plan:
        periods = list(plan.scenario.periods.names)
        _sheet(wb, "allocation", plan.allocation)
        for value in ("revenue", "spend"):
            table = pivot(plan.allocation, value, periods)
            _sheet(wb, f"{value} by period", table, {c: MONEY for c in [*periods, "total"]})
        _sheet(wb, "headcount", plan.headcount)
        _sheet(wb, "constraints", plan.constraints)
    if plan.diagnosis is not None:
        gave = pd.DataFrame(plan.diagnosis.get("gave", []), columns=["constraint", "kind", "shortfall", "message"])
        _sheet(wb, "diagnosis", gave)
    for name, table in plan.extra_tables.items():
        _sheet(wb, name[:31], table)
    wb.save(path)
