"""The comparison folder: ``compare.csv``, per-region and per-channel differences, workbook, page."""

from __future__ import annotations

from html import escape
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter
from openpyxl import Workbook

from allocator.compare import breakdown, compare_table
from allocator.output import write_csv, write_folder
from allocator.report.html import STYLE, _png, _table
from allocator.report.workbook import _sheet
from allocator.scenario.amounts import format_amount


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
        wb.remove(wb.active)
        _sheet(wb, "compare", table, {})
        _sheet(wb, "regions", regions, {})
        _sheet(wb, "channels", channels, {})
        wb.save(folder / "compare.xlsx")
        (folder / "compare.html").write_text(_page(table, regions, channels, names, currency), encoding="utf-8")

    return write_folder(out_dir, "compare", fill)


def _page(table, regions, channels, names, currency) -> str:
    metrics = table.set_index("metric")
    fig, ax = _subplots(figsize=(8, 3.8))
    parts = ["marketing_spend", "people_cost", "reserve", "unallocated"]
    bottom = pd.Series(0.0, index=names)
    for part in parts:
        values = pd.to_numeric(metrics.loc[part, names], errors="coerce").fillna(0.0)
        ax.bar(names, values, bottom=bottom, label=part.replace("_", " "))
        bottom += values
    ax.plot(names, pd.to_numeric(metrics.loc["objective", names], errors="coerce"), "ko-", label="expected margin")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: format_amount(v)))
    ax.set_ylabel(f"amount ({currency})" if currency else "amount")
    ax.legend(fontsize=8)
    ax.set_title("Budget use and expected margin by option")
    chart = _png(fig)
    body = ["<h1>Budget options compared</h1>", chart, "<h2>Totals</h2>", _table(table),
            "<h2>By region</h2>", _table(regions), "<h2>By channel</h2>", _table(channels)]
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{escape('allocator: compare')}</title>"
            f"<style>{STYLE}</style></head><body>{''.join(body)}</body></html>\n")
