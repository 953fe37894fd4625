"""The comparison folder: ``compare.csv``, per-region and per-channel differences, workbook, page."""

from __future__ import annotations

import textwrap
from html import escape
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from allocator.compare import breakdown, compare_table
from allocator.output import write_csv, write_folder
from allocator.report import words
from allocator.report.html import STYLE, _png, _table
from allocator.report.workbook import PRICE, RATIO, money_format, sheet
from allocator.report.xlsx import Workbook
from allocator.scenario.amounts import format_amount

METRIC_FORMATS = {"marketing_roi": RATIO, "budget_shadow_price": PRICE, "headcount": "#,##0.0", "temp_staff": "#,##0.0"}


def _subplots(*grid, figsize, **options):
    """A figure of its own (no pyplot, so a notebook's backend is never switched) and its axes."""
    fig = Figure(figsize=figsize)
    return fig, fig.subplots(*grid, **options)


def write_comparison(plans, names: list[str], out_dir: Path, currency: str = "") -> Path:
    table = compare_table(plans, names).reset_index()
    regions = breakdown(plans, names, "region")
    channels = breakdown(plans, names, "channel")

    def fill(folder: Path) -> None:
        write_csv(table, folder / "compare.csv")
        write_csv(regions, folder / "compare_regions.csv")
        write_csv(channels, folder / "compare_channels.csv")
        wb = Workbook()
        money = money_format(currency)
        ws = sheet(wb, "compare", table, currency)
        for i, metric in enumerate(table.metric, start=3):  # one format per row: each row is one metric
            fmt = METRIC_FORMATS.get(metric, money)
            for j in range(2, len(names) + 2):
                if isinstance(ws.cell(row=i, column=j).value, (int, float)):
                    ws.cell(row=i, column=j).number_format = fmt
        sheet(wb, "regions", regions, currency, formats={c: money for c in regions.columns[1:]})
        sheet(wb, "channels", channels, currency, formats={c: money for c in channels.columns[1:]})
        wb.save(folder / "compare.xlsx")
        (folder / "compare.html").write_text(_page(table, regions, channels, names, currency), encoding="utf-8")

    return write_folder(out_dir, "compare", fill)


def _metric_text(metric: str, value) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "-"
    if isinstance(value, str):
        return value
    if metric == "marketing_roi":
        return f"{value:.1%}"
    if metric == "budget_shadow_price":
        return f"{value:.4f}"
    if metric in ("headcount", "temp_staff"):
        return f"{value:,.1f}"
    return f"{round(value):,}"  # whole amounts; -0.00001 reads 0, not -0


def _by_measure(frame: pd.DataFrame, names: list[str], measure: str) -> pd.DataFrame:
    """One measure of a breakdown: a column per option, then each option's change from the first
    (fewer, narrower columns than the CSV's all-in-one table)."""
    key = frame.columns[0]
    table = pd.DataFrame({key: frame[key]})
    for name in names:
        table[name] = [_metric_text(measure, v) for v in frame[f"{name}: {measure}"]]
    for name in names[1:]:
        table[f"change: {name}"] = [_metric_text(measure, v) for v in frame[f"{name} - {names[0]}: {measure}"]]
    return table


def _wrapped(name: str, width: int = 16) -> str:
    return "\n".join(textwrap.wrap(name, width, break_long_words=True, break_on_hyphens=False)) or name


def _page(table, regions, channels, names, currency) -> str:
    """The comparison page: the chart fits 1280 px (long option names wrapped, turned when many),
    tables scroll sideways inside the page instead of widening it."""
    metrics = table.set_index("metric")
    fig, ax = _subplots(figsize=(min(13.0, max(8.0, 1.3 * len(names))), 4.6))
    x = list(range(len(names)))
    parts = ["marketing_spend", "people_cost", "reserve", "unallocated"]
    bottom = pd.Series(0.0, index=names)
    for part in parts:
        values = pd.to_numeric(metrics.loc[part, names], errors="coerce").fillna(0.0)
        ax.bar(x, values.to_numpy(), bottom=bottom.to_numpy(), label=words.label(part))
        bottom += values
    ax.plot(x, pd.to_numeric(metrics.loc["objective", names], errors="coerce").to_numpy(), "ko-",
            label="expected margin")
    ax.set_xticks(x, [_wrapped(n) for n in names], fontsize=8, rotation=30 if len(names) > 5 else 0,
                  ha="right" if len(names) > 5 else "center")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: format_amount(v)))
    ax.set_ylabel(f"amount ({currency})" if currency else "amount")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    ax.set_title("Budget use and expected margin by option")
    chart = _png(fig)
    shown = table.copy()
    for name in names:  # one format per row: each row is one metric
        shown[name] = [_metric_text(m, v) for m, v in zip(table.metric, table[name])]
    shown["metric"] = [words.label(m, currency) for m in table.metric]
    body = ["<h1>Budget options compared</h1>", chart, "<h2>Totals</h2>", _table(shown)]
    for title, frame in (("By region", regions), ("By channel", channels)):
        for measure in ("revenue", "spend"):
            body += [f"<h2>{title}: {measure}</h2>", _table(_by_measure(frame, names, measure))]
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{escape('allocator: compare')}</title>"
            f"<style>{STYLE}</style></head><body>{''.join(body)}</body></html>\n")
