"""Pictures of a risk report: a histogram of margins and a fan chart of cumulative revenue.

Built on ``matplotlib.figure.Figure`` directly (no pyplot, no backend switch), so drawing them
never changes the plotting state of a notebook or of another command.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from allocator.scenario.amounts import format_amount

COLOURS = {"p5": "#c0392b", "p50": "#2c3e50", "p95": "#27ae60", "cvar_5": "#8e44ad", "plan": "#e67e22"}


def _money(value: float, _pos=None) -> str:
    return format_amount(round(value, -3)) if abs(value) >= 1e4 else f"{value:g}"


def histogram(report) -> Figure:
    """Distribution of realised margin with its mean, P5, P50, P95, CVaR 5% and the plan's figure."""
    margins = report.samples.margin.to_numpy()
    stats = report.summary.loc["margin"]
    fig = Figure(figsize=(8, 4.5), layout="constrained")
    ax = fig.subplots()
    ax.hist(margins, bins=min(60, max(10, len(margins) // 50)), color="#95a5a6", edgecolor="white")
    lines = [("cvar_5", "CVaR 5%"), ("p5", "P5"), ("p50", "P50"), ("p95", "P95")]
    for key, label in lines:
        ax.axvline(stats[key], color=COLOURS[key], linestyle="--", label=f"{label} {_money(stats[key])}")
    deterministic = report.info["deterministic_margin"]
    ax.axvline(deterministic, color=COLOURS["plan"], label=f"curves as planned {_money(deterministic)}")
    ax.xaxis.set_major_formatter(FuncFormatter(_money))
    ax.set_xlabel("realised margin")
    ax.set_ylabel("samples")
    ax.set_title(f"Margin of the fixed plan over {report.info['samples']:,} samples")
    ax.legend(fontsize="small")
    return fig


def fan(report) -> Figure:
    """Cumulative company revenue by period: the plan's targets and the sampled P5-P95 bands."""
    p = report.periods
    x = np.arange(len(p))
    fig = Figure(figsize=(8, 4.5), layout="constrained")
    ax = fig.subplots()
    ax.fill_between(x, p.p5, p.p95, color="#3498db", alpha=0.2, label="P5-P95")
    ax.fill_between(x, p.p25, p.p75, color="#3498db", alpha=0.4, label="P25-P75")
    ax.plot(x, p.p50, color=COLOURS["p50"], label="median")
    ax.plot(x, p.plan, color=COLOURS["plan"], linestyle="--", marker="o", label="plan targets")
    floors = report.regions.floor.dropna()
    if len(floors):
        ax.axhline(floors.sum(), color="#c0392b", linestyle=":", label="sum of growth floors")
    ax.set_xticks(x, [str(v) for v in p.period])
    ax.yaxis.set_major_formatter(FuncFormatter(_money))
    ax.set_ylabel("cumulative revenue")
    ax.set_title("Revenue through the year")
    ax.legend(fontsize="small", loc="upper left")
    return fig
