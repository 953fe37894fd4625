"""``plan.xlsx``: the plan as a workbook finance can open, filter, total and print.

Every sheet is one table: a row of plain-word column labels (with the currency) over a row of
the machine names the CSV files use, an autofilter on the machine-name row, frozen headers,
amounts in the currency's number format, a bold totals row below the filtered range (values,
not formulas, so every viewer shows them), and print setup: landscape, one page wide, the two
header rows repeated on every page. Sheets: summary, by period, plan against last year (region,
channel), allocation, revenue and spend by period, headcount, hires by region, constraints (with
the unit of every shadow price), inputs, curves, provenance, and any extra tables of the run.
User text that a spreadsheet would read as a formula (``=``, ``+``, ``-``, ``@``) is stored as text.
See docs/reports.md. Written by :mod:`allocator.report.xlsx` (each style once, no object per cell
beyond its value and format), read back by openpyxl, Excel and LibreOffice.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
from openpyxl.utils import get_column_letter

from allocator.report import provenance, tables, words
from allocator.report.xlsx import Alignment, Font, Workbook

RATIO = "0.0%"
PRICE = "0.0000"
COUNT = "#,##0"
PLAIN = "#,##0.00"
MONEY_COLUMNS = {
    "spend", "effective_spend", "lift", "revenue", "capacity", "slack", "target", "quota", "value_target", "base_revenue",
    "spend_min", "spend_max", "plan_revenue", "last_year_revenue", "change", "gross_margin", "marketing_spend",
    "people_cost", "expected_margin", "reserve", "shortfall", "total", "objective", "exact_curve_margin",
    "unallocated", "budget", "marketing", "people", "target_to_date", "actual", "gap", "needed_per_day",
}
RATIO_COLUMNS = {"marginal_roi", "utilisation", "change_pct", "share_of_revenue", "marketing_roi", "achievement",
                 "min_roi", "share", "gross_margin_pct"}
PRICE_COLUMNS = {"shadow_price", "budget_shadow_price"}
COUNT_COLUMNS = {"core", "hires", "releases", "temp", "heads_now", "heads_at_end", "temp_staff_periods", "leads",
                 "deals", "headcount", "temp_staff"}
SUMMARY_FORMATS = {"marketing_roi": RATIO, "budget_shadow_price": PRICE, "mip_gap": "0.00E+00", "solve_seconds": "0.00"}
LABELS = {  # machine name -> label ("{c}" becomes the currency)
    "region": "Region", "channel": "Channel", "period": "Period", "spend": "Marketing spend ({c})",
    "effective_spend": "Effective spend, with carryover ({c})", "lift": "Lift from marketing ({c})", "revenue": "Revenue target ({c})", "marginal_roi": "Marginal ROI",
    "core": "Core heads", "hires": "Hires", "releases": "Releases", "temp": "Temp staff",
    "capacity": "Sales capacity ({c})", "utilisation": "Capacity used", "name": "Constraint", "kind": "Kind",
    "what": "What it is", "binding": "Binding", "slack": "Slack", "shadow_price": "Shadow price",
    "unit": "Shadow price unit", "gross_margin": "Gross margin ({c})", "marketing_spend": "Marketing spend ({c})",
    "people_cost": "People cost ({c})", "expected_margin": "Expected margin ({c})", "reserve": "Reserve ({c})",
    "plan_revenue": "Planned revenue ({c})", "last_year_revenue": "Last year's revenue ({c})",
    "change": "Change ({c})", "change_pct": "Change (%)", "share_of_revenue": "Share of revenue",
    "heads_now": "Reps now", "heads_at_end": "Reps at the end", "temp_staff_periods": "Temp staff x periods",
    "section": "Section", "item": "Item", "value": "Value", "key": "Key", "in_words": "In words",
    "curve": "Curve", "base_revenue": "Base revenue ({c})", "spend_min": "Minimum spend ({c})",
    "spend_max": "Spend cap ({c})", "min_roi": "ROI floor", "gross_margin_pct": "Gross margin (%)", "total": "Total ({c})", "constraint": "Constraint",
    "shortfall": "Shortfall", "message": "Message",
}


def money_format(currency: str) -> str:
    """``#,##0 "CNY"``: the amount with its currency, as Excel and LibreOffice show it."""
    text = currency.replace('"', "").replace("\\", "").strip()
    return f'#,##0 "{text}"' if text else "#,##0"


def column_format(column: str, value, money: str) -> str | None:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return None
    if column in PRICE_COLUMNS:
        return PRICE
    if column in RATIO_COLUMNS:
        return RATIO
    if column in COUNT_COLUMNS:
        return COUNT
    if column in MONEY_COLUMNS:
        return money
    return PLAIN if isinstance(value, float) else COUNT


HEADER_FONT, MACHINE_FONT, TOTAL_FONT = Font(bold=True), Font(italic=True, color="00666666"), Font(bold=True)
HEADER_ALIGNMENT = Alignment(wrap_text=True, vertical="top")
NOTE_FONTS = {True: Font(bold=True, color="00AA0000"), False: Font(color="00AA0000")}


def _plain(value):
    """A value as the workbook stores it: Python scalars, ``None`` for NaN and infinities."""
    if hasattr(value, "item"):
        value = value.item()  # numpy scalar -> Python
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _put(ws, row: int, col: int, value, number_format: str | None = None):
    value = _plain(value)
    cell = ws.cell(row=row, column=col, value=value)  # text is stored as text, never as a formula
    if number_format and not isinstance(value, str) and isinstance(value, (int, float)):
        cell.number_format = number_format
    return cell


def _put_column(ws, col: int, first_row: int, values: list, column: str, fixed: str | None, money: str) -> None:
    """``values`` down column ``col`` from ``first_row``, each with its number format (found once per
    value type: ``column_format`` depends on the column and the value's type only)."""
    by_type: dict[type, str | None] = {}
    values = [_plain(v) for v in values]
    formats = []
    for value in values:
        kind = type(value)
        fmt = by_type.get(kind, "?")
        if fmt == "?":
            fmt = by_type[kind] = None if kind is str or not isinstance(value, (int, float)) else \
                (fixed or column_format(column, value, money))
        formats.append(fmt)
    ws.put_column(col, first_row, values, formats)


def print_setup(ws, header_rows: int = 2) -> None:
    """Landscape, A4, one page wide (as many pages tall as needed), gridlines, header rows on every page."""
    ws.print_setup = True
    ws.print_title_rows = f"1:{header_rows}"


def sheet(wb: Workbook, title: str, frame: pd.DataFrame, currency: str = "", total: str | list[str] | None = None,
          formats: dict | None = None):
    """One table on its own sheet (see the module docstring). ``total``: ``"last"`` when the
    frame's last row is already a totals row, or the columns a totals row adds up."""
    ws = wb.create_sheet(title[:31])
    money = money_format(currency)
    formats = formats or {}
    columns = [str(c) for c in frame.columns]
    for j, column in enumerate(columns, start=1):
        head = _put(ws, 1, j, LABELS.get(column, column.replace("_", " ")).format(c=currency or "amount"))
        head.font = HEADER_FONT
        head.alignment = HEADER_ALIGNMENT
        _put(ws, 2, j, column).font = MACHINE_FONT
    body = frame
    totals = None
    if total == "last" and len(frame):
        body, totals = frame.iloc[:-1], frame.iloc[-1].tolist()
    elif isinstance(total, list) and len(frame):
        totals = ["total" if j == 0 else (float(frame[c].sum()) if c in total else None)
                  for j, c in enumerate(frame.columns)]
    for j, column in enumerate(columns, start=1):
        _put_column(ws, j, 3, body.iloc[:, j - 1].tolist(), column, formats.get(column), money)
    last = 2 + len(body)
    ws.auto_filter.ref = f"A2:{get_column_letter(max(1, len(columns)))}{max(last, 2)}"
    if totals is not None:
        for j, (column, value) in enumerate(zip(columns, totals), start=1):
            _put(ws, last + 1, j, value, formats.get(column) or column_format(column, value, money)).font = TOTAL_FONT
    ws.freeze_panes = "A3"
    print_setup(ws)
    _widths(ws, frame, currency)
    return ws


def _widths(ws, frame: pd.DataFrame, currency: str) -> None:
    for j, column in enumerate(frame.columns, start=1):
        values = [str(column)] + [f"{v:,.0f} {currency}" if isinstance(v, float) and math.isfinite(v) else str(v)
                                  for v in frame[column].head(200)]
        label = LABELS.get(str(column), str(column))
        width = max(max(map(len, values)), min(len(label), 24)) + 2
        ws.column_dimensions[get_column_letter(j)].width = min(60, max(8, width))


def pivot(allocation: pd.DataFrame, value: str, periods: list[str]) -> pd.DataFrame:
    """``value`` by region x channel (rows) and period (columns), with a total column."""
    table = allocation.pivot_table(index=["region", "channel"], columns="period", values=value,
                                   aggfunc="sum", sort=False).reindex(columns=periods)
    table["total"] = table.sum(axis=1)
    return table.reset_index()


def summary_frame(plan) -> tuple[pd.DataFrame, dict]:
    """The summary as (item in words, value, in words, key) and each row's number format."""
    s, currency = plan.summary, plan.scenario.currency
    budget = float(plan.scenario.budget.total)
    rows, formats = [], {}
    for key, value in s.items():
        note = ""
        if key == "status":
            note = words.STATUS_WORDS.get(str(value), str(value))
        elif key == "mip_gap":
            note = words.gap_words(str(s.get("status")), value)
        elif key == "unallocated" and value is not None and budget > 0:
            note = f"{value / budget:.1%} of the budget"
        elif key == "budget_shadow_price" and value is not None:
            note = f"one more {currency or 'unit'} of budget adds {value:.4f} of margin"
        rows.append((words.label(key, currency), value, note, key))
        formats[len(rows) - 1] = SUMMARY_FORMATS.get(key, money_format(currency))
    return pd.DataFrame(rows, columns=["item", "value", "in_words", "key"]), formats


def summary_sheet(wb: Workbook, plan) -> None:
    frame, formats = summary_frame(plan)
    ws = sheet(wb, "summary", frame, plan.scenario.currency)
    for i, fmt in formats.items():
        cell = ws.cell(row=3 + i, column=2)
        if isinstance(cell.value, (int, float)):
            cell.number_format = fmt
    notes = []
    time_note = words.time_limit_sentence(plan.summary)
    if time_note:
        notes.append(time_note)
    note = words.unallocated_note(plan)
    if note is not None:
        notes += note.lines()
        notes.append("The binding constraints are on the constraints sheet (binding = TRUE).")
    row = 3 + len(frame) + 1
    for text in notes:
        _put(ws, row, 1, text).font = NOTE_FONTS[text == notes[0]]
        row += 1


def constraints_frame(plan) -> pd.DataFrame:
    c = plan.constraints.copy()
    currency, quantities = plan.scenario.currency, words.policy_quantities(plan.scenario)
    c["what"] = c.kind.map(words.kind_words)
    c["unit"] = [words.price_unit(k, currency, n, quantities) for k, n in zip(c.kind, c.name)]
    return c


def write_workbook(plan, path: Path) -> None:
    sc, currency = plan.scenario, plan.scenario.currency
    wb = Workbook()
    summary_sheet(wb, plan)
    if plan.has_plan:
        periods = list(sc.periods.names)
        sheet(wb, "by period", tables.summary_by_period(plan), currency, total="last")
        sheet(wb, "vs last year (region)", tables.vs_last_year(plan, "region"), currency, total="last")
        sheet(wb, "vs last year (channel)", tables.vs_last_year(plan, "channel"), currency, total="last")
        sheet(wb, "allocation", plan.allocation, currency, total=["spend", "lift", "revenue"])
        money = money_format(currency)
        for value in ("revenue", "spend"):
            table = pivot(plan.allocation, value, periods)
            sheet(wb, f"{value} by period", table, currency, total=[*periods, "total"],
                  formats={c: money for c in [*periods, "total"]})
        if not plan.headcount.empty:
            sheet(wb, "headcount", plan.headcount, currency, total=["hires", "releases", "temp", "capacity"])
            sheet(wb, "hires by region", tables.hires_by_region(plan), currency, total="last")
        sheet(wb, "constraints", constraints_frame(plan), currency)
    if plan.diagnosis is not None:
        gave = pd.DataFrame(plan.diagnosis.get("gave", []), columns=["constraint", "kind", "shortfall", "message"])
        sheet(wb, "diagnosis", gave, currency)
    sheet(wb, "inputs", tables.assumptions(sc), currency)
    if sc.response:
        sheet(wb, "curves", tables.curves_table(sc), currency)
    sheet(wb, "provenance", provenance.of_plan(plan), currency)
    for name, table in plan.extra_tables.items():
        if name != provenance.NAME:
            sheet(wb, name[:31], table, currency)
    wb.save(path)
