"""``report.html``: one self-contained page (PNG images embedded) a planner can mail around.

Totals, a budget waterfall, spend by region and channel, every response curve with the chosen
spend and its marginal ROI, headcount and temp staff by period, binding constraints with their
shadow prices, and the diagnosis when there is no plan. All user text is escaped.
"""

from __future__ import annotations

import base64
import io
import math
from html import escape
from pathlib import Path

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator  # noqa: E402

from allocator.model import curves  # noqa: E402
from allocator.report import provenance, tables, words  # noqa: E402
from allocator.scenario.amounts import format_amount  # noqa: E402


def _subplots(*grid, figsize, **options):
    """A figure of its own (no pyplot, so a notebook's backend is never switched) and its axes."""
    fig = Figure(figsize=figsize)
    return fig, fig.subplots(*grid, **options)

STYLE = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}
th{background:#f3f3f3;max-width:14em;overflow-wrap:anywhere}td:first-child,th:first-child{text-align:left;overflow-wrap:normal}img{max-width:100%}
.wide{max-width:100%;overflow-x:auto}td.t{text-align:left}tr.total td{font-weight:bold;border-top:2px solid #888}
.bad{color:#a00}.warn{background:#fff6e0;border-left:4px solid #e80;padding:.3em 1em;margin:1em 0}"""
RATIO_COLUMNS = {"marginal_roi", "utilisation", "change_pct", "share_of_revenue", "gross_margin_pct", "min_roi"}


def _money_axis(ax, currency: str, axis: str = "y") -> None:
    fmt = FuncFormatter(lambda v, _: format_amount(v))
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)
    label = f"amount ({currency})" if currency else "amount"
    (ax.set_ylabel if axis == "y" else ax.set_xlabel)(label)


def _png(fig, tight: bool = True) -> str:
    """The figure as an embedded PNG. ``tight``: fixed margins in inches for one axes with labels
    (``tight_layout`` would draw the figure twice, and cost as much as the drawing itself)."""
    buffer = io.BytesIO()
    if tight:
        width, height = fig.get_size_inches()
        fig.subplots_adjust(left=min(0.4, 1.0 / width), right=1 - 0.15 / width, bottom=min(0.4, 0.5 / height),
                            top=1 - 0.35 / height)
    fig.savefig(buffer, format="png", dpi=90)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="chart" src="data:image/png;base64,{data}">'


def waterfall(summary: dict, budget: float, currency: str) -> str:
    parts = [("marketing", summary["marketing_spend"]), ("people", summary["people_cost"]),
             ("reserve", summary["reserve"]), ("unallocated", summary["unallocated"])]
    fig, ax = _subplots(figsize=(7, 3.5))
    bottom = 0.0
    for name, value in parts:
        ax.bar(name, value, bottom=bottom)
        ax.annotate(format_amount(value), (name, bottom + value / 2), ha="center", va="center")
        bottom += value
    ax.bar("budget", budget, color="#999")
    ax.set_title("Where the budget goes")
    _money_axis(ax, currency)
    return _png(fig)


def spend_by_region_channel(allocation: pd.DataFrame, currency: str) -> str:
    table = allocation.pivot_table(index="region", columns="channel", values="spend", aggfunc="sum", sort=False)
    fig, ax = _subplots(figsize=(8, 3.8))
    _stacked_bars(ax, table)
    ax.set_title("Marketing spend by region and channel")
    _money_axis(ax, currency)
    return _png(fig)


def _stacked_bars(ax, table: pd.DataFrame) -> None:
    """``table.plot.bar(stacked=True, rot=0)`` drawn directly (pandas' plotting costs as much again):
    one bar per row, one colour per column, a legend titled with the columns' name."""
    positions = np.arange(len(table.index))
    bottom = np.zeros(len(positions))
    for k, column in enumerate(table.columns):
        values = np.nan_to_num(table[column].to_numpy(dtype=float))
        ax.bar(positions, values, 0.5, bottom=bottom, label=str(column), color=f"C{k % 10}")
        bottom = bottom + values
    ax.set_xticks(positions, [str(v) for v in table.index])
    ax.set_xlim(-0.5, len(positions) - 0.5)
    if table.index.name:
        ax.set_xlabel(str(table.index.name))
    ax.legend(title=str(table.columns.name) if table.columns.name else None)


MAX_CURVES = 12  # a readable page (and seconds, not tens of seconds, on plans with hundreds of cells)


def response_curves(plan, currency: str) -> str:
    column = "effective_spend" if "effective_spend" in plan.allocation.columns else "spend"
    spend = plan.allocation.groupby(["region", "channel"], sort=False)[column].sum()  # where the curve is read
    cells = list(plan.scenario.response)
    shown_note = ""
    if len(cells) > MAX_CURVES:
        cells = sorted(cells, key=lambda c: -float(spend.get((c.region, c.channel), 0.0)))[:MAX_CURVES]
        shown_note = f" ({MAX_CURVES} cells with the most spend of {len(plan.scenario.response)})"
    roi = words.cell_roi(plan.allocation, skip_unknown=False)  # a period without a ROI makes it unknown
    panels = []
    for cell in cells:
        key = (cell.region, cell.channel)
        chosen = float(spend.get(key, 0.0))
        hi = cell.spend.max if cell.spend.max is not None else max(chosen * 2, plan.scenario.budget.total / 10)
        x = np.linspace(0, max(hi, chosen * 1.2, 1.0), 200)
        title = (f"{cell.region}/{cell.channel}: spend {format_amount(chosen)}, "
                 f"marginal ROI {roi.get(key, float('nan')):.0%}")
        panels.append((x, curves.value(cell.curve, x), chosen, title))
    return _png(_panel_grid(panels, f"Annual lift ({currency}) against annual spend; dashed: the plan{shown_note}"),
                tight=False)


def _panel_grid(panels: list, title: str, cols: int = 3):
    """Small multiples, each a curve ``(x, y)``, a dashed line at ``chosen``, a title and amount
    ticks, drawn on one full-figure axes: a grid of real axes costs a second or more to draw (each
    makes its own ticks and texts), this a tenth of that for the same picture."""
    from matplotlib.collections import LineCollection

    rows = max(1, math.ceil(len(panels) / cols))
    fig = Figure(figsize=(11, 2.6 * rows))
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_axis_off()
    ax.set_xlim(0.0, 1.0)
    ax.set_ylim(0.0, 1.0)
    left, right, bottom, top, wspace, hspace = 0.06, 0.98, 0.05, 1 - 0.35 / rows, 0.22, 0.45
    w = (right - left) / (cols + (cols - 1) * wspace)
    h = (top - bottom) / (rows + (rows - 1) * hspace)
    tick_x, tick_y = 3.5 / 72 / 11, 3.5 / 72 / (2.6 * rows)  # 3.5 points, in figure fractions
    lines, dashes, frames, ticks = [], [], [], []
    for k, (x, y, chosen, name) in enumerate(panels):
        x0 = left + (k % cols) * w * (1 + wspace)
        y0 = top - (k // cols + 1) * h - (k // cols) * h * hspace
        xs, ys = _limits(0.0, float(x.max())), _limits(float(min(y.min(), 0.0)), float(y.max()))

        def fx(v, x0=x0, xs=xs):
            return x0 + w * (np.asarray(v) - xs[0]) / (xs[1] - xs[0])

        def fy(v, y0=y0, ys=ys):
            return y0 + h * (np.asarray(v) - ys[0]) / (ys[1] - ys[0])

        lines.append(np.column_stack([fx(x), fy(y)]))
        dashes.append([(float(fx(chosen)), y0), (float(fx(chosen)), y0 + h)])
        frames.append([(x0, y0), (x0 + w, y0), (x0 + w, y0 + h), (x0, y0 + h), (x0, y0)])
        for v in _ticks(*xs):
            ticks.append([(float(fx(v)), y0), (float(fx(v)), y0 - tick_y)])
            ax.text(float(fx(v)), y0 - 1.6 * tick_y, format_amount(v), fontsize=7, ha="center", va="top")
        for v in _ticks(*ys):
            ticks.append([(x0, float(fy(v))), (x0 - tick_x, float(fy(v)))])
            ax.text(x0 - 1.6 * tick_x, float(fy(v)), format_amount(v), fontsize=7, ha="right", va="center")
        ax.text(x0 + w / 2, y0 + h + 1.5 * tick_y, name, fontsize=8, ha="center", va="bottom")
    ax.add_collection(LineCollection(frames + ticks, colors="black", linewidths=0.8))
    ax.add_collection(LineCollection(lines, colors="C0", linewidths=1.5))
    ax.add_collection(LineCollection(dashes, colors="#c33", linewidths=1.5, linestyles="--"))
    fig.suptitle(title, fontsize=9)
    return fig


def _limits(low: float, high: float) -> tuple[float, float]:
    """The data range with matplotlib's 5% margins (a flat curve gets a range of its own)."""
    if high <= low:
        low, high = low - 0.5, high + 0.5
    pad = 0.05 * (high - low)
    return low - pad, high + pad


def _ticks(low: float, high: float) -> list[float]:
    """At most about four round tick values inside ``[low, high]``, as an axis would place them."""
    return [float(v) for v in MaxNLocator(4).tick_values(low, high) if low <= v <= high]


def staffing(headcount: pd.DataFrame, periods: list[str]) -> str:
    table = headcount.groupby("period", sort=False)[["core", "temp"]].sum().reindex(periods)
    fig, ax = _subplots(figsize=(8, 3.2))
    _stacked_bars(ax, table)
    ax.set_ylabel("people")
    ax.set_title("Core sales headcount and temporary staff by period")
    return _png(fig)


def _text(value, column: str = "") -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and column in RATIO_COLUMNS:
        return f"{value:.1%}"
    if isinstance(value, float):
        return f"{value:,.4f}" if abs(value) < 10 else f"{value:,.0f}"
    return str(value)


def _table(frame: pd.DataFrame, total: bool = False) -> str:
    """An HTML table (every cell escaped) in a box that scrolls sideways instead of widening the
    page; ``total``: the last row is a totals row (bold)."""
    head = "".join(f"<th>{escape(str(c).replace('_', ' '))}</th>" for c in frame.columns)
    body = []
    for k, row in enumerate(frame.itertuples(index=False)):
        cells = "".join(f"<td{' class=t' if isinstance(v, str) else ''}>{escape(_text(v, str(c)))}</td>"
                        for c, v in zip(frame.columns, row))  # text left, numbers right
        cls = " class=total" if total and k == len(frame) - 1 else ""
        body.append(f"<tr{cls}>{cells}</tr>")
    return f"<div class=wide><table><tr>{head}</tr>{''.join(body)}</table></div>"


def _totals(plan) -> pd.DataFrame:
    s, currency = plan.summary, plan.scenario.currency
    budget = float(plan.scenario.budget.total)
    rows = []
    for key in ("objective", "exact_curve_margin", "revenue", "marketing_spend", "people_cost", "reserve", "unallocated"):
        value = words.money(s.get(key), currency)
        if key == "unallocated" and s.get(key) is not None and budget > 0:
            value += f" ({s[key] / budget:.1%} of the budget)"
        rows.append((words.label(key), value))
    roi, price = s.get("marketing_roi"), s.get("budget_shadow_price")
    rows.append(("marketing ROI", "-" if roi is None else f"{roi:.1%}"))
    rows.append((words.label("budget_shadow_price", currency), "-" if price is None else f"{price:.4f}"))
    rows.append(("optimality", words.gap_words(str(s.get("status")), s.get("mip_gap"))))
    rows.append(("solver", f"{s.get('solver')} ({(s.get('solve_seconds') or 0):.2f} s)"))
    return pd.DataFrame(rows, columns=["item", "value"])


def _notes(plan) -> list[str]:
    parts = []
    sentence = words.time_limit_sentence(plan.summary)
    if sentence:
        parts.append(f"<p class=warn>{escape(sentence)}</p>")
    note = words.unallocated_note(plan)
    if note is not None:
        items = "".join(f"<li>{escape(r)}</li>" for r in note.reasons)
        parts.append(f"<div class=warn id=unallocated><p><b>{escape(note.headline)}</b></p><ul>{items}</ul></div>")
    revision = plan.summary.get("replan")  # a re-plan: what moved and why (docs/replan.md)
    if isinstance(revision, dict) and revision.get("sentences"):
        items = "".join(f"<li>{escape(str(line))}</li>" for line in revision["sentences"])
        parts.append(f"<div id=replan><h2>Re-plan after {escape(str(revision.get('as_of', '')))}</h2><ul>{items}</ul></div>")
    return parts


def render(plan) -> str:
    s, sc = plan.summary, plan.scenario
    currency = sc.currency
    status = words.STATUS_WORDS.get(str(s["status"]), str(s["status"]))
    parts = [f"<h1>{escape(sc.scenario)}: {escape(status)}</h1>",
             f"<p>{escape(sc.description)}</p>", *_notes(plan), "<h2>Totals</h2>", _table(_totals(plan))]
    if plan.has_plan:
        periods = list(sc.periods.names)
        binding = words.binding_constraints(plan)
        parts += ["<h2>By period</h2>",
                  "<p>The reserve is held for the whole horizon, so it appears in the total only.</p>",
                  _table(tables.summary_by_period(plan), total=True),
                  "<h2>Budget</h2>", waterfall(s, sc.budget.total, currency),
                  "<h2>Plan against last year</h2>", "<h3>By region</h3>",
                  _table(tables.vs_last_year(plan, "region"), total=True), "<h3>By channel</h3>",
                  "<p>The scenario gives last year's revenue by region only.</p>",
                  _table(tables.vs_last_year(plan, "channel"), total=True),
                  "<h2>Spend</h2>", spend_by_region_channel(plan.allocation, currency),
                  "<h2>Response curves</h2>", response_curves(plan, currency)]
        if not plan.headcount.empty:
            parts += ["<h2>People</h2>", staffing(plan.headcount, periods),
                      "<h3>Hires by region</h3>", _table(tables.hires_by_region(plan), total=True)]
        from allocator.stochastic.report import html_section

        parts += html_section(plan)  # a stochastic run: the reserve curve and its figures in words
        parts += ["<h2>Binding constraints</h2>",
                  "<p>Shadow price: expected margin gained per unit the constraint is loosened; "
                  "the unit column says which unit.</p>", _table(binding)]
    if plan.diagnosis is not None:
        parts += ["<h2 class=bad>No plan: what had to give</h2>",
                  f"<p class=bad>{escape(plan.diagnosis.get('explanation', ''))}</p>"]
    parts += ["<h2>Inputs and assumptions</h2>", _table(tables.assumptions(sc))]
    if sc.response:
        parts += ["<h3>Response curves in words</h3>", _table(tables.curves_table(sc))]
    parts += ["<h3>Provenance</h3>", _table(provenance.of_plan(plan))]
    title = escape(f"allocator: {sc.scenario}")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title>"
            f"<style>{STYLE}</style></head><body>{''.join(parts)}</body></html>\n")


def write_report(plan, path: Path) -> None:
    path.write_text(render(plan), encoding="utf-8")
