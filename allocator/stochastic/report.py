"""A stochastic plan in words and pictures: the terminal's sentences, the reserve-curve figure and
the report's section (``report.html`` shows it when the run has a ``reserve_curve`` table)."""

from __future__ import annotations

from html import escape

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from allocator.report.words import money
from allocator.scenario.amounts import format_amount


def sentences(summary: dict, currency: str = "", budget: float | None = None) -> list[str]:
    """What a stochastic run found, in plain words (the figures stay in summary.json)."""
    if not summary.get("stochastic"):
        return []
    share = f" ({summary['reserve'] / budget:.1%} of the budget)" if budget else ""
    lines = [
        f"Stochastic plan over {summary['samples']} sampled years, checkpoint {summary['checkpoint']}: "
        f"hold back a reserve of {money(summary['reserve'], currency)}{share} and spend it after "
        f"{summary['checkpoint']} where each year's curves turn out best"
        f"{_premium(summary)}.",
        f"Expected margin {money(summary['expected_margin'], currency)}; in the worst 5% of years about "
        f"{money(summary['p5_margin'], currency)} (P5), worst {summary['cvar_level']:.0%} on average "
        f"{money(summary['cvar_margin'], currency)} (CVaR).",
    ]
    if summary.get("vss") is not None:
        err = summary.get("vss_stderr")
        pm = f" +/- {money(err, currency)}" if err is not None else ""
        lines.append(
            f"Against the deterministic plan (reserve {money(summary['deterministic_reserve'], currency)}), both "
            f"spending their reserve the same way on {summary['vss_draws']} fresh draws, this plan earns "
            f"{money(summary['vss'], currency)}{pm} more margin on average (value of the stochastic solution).")
    gap = summary.get("mip_gap")
    if gap is not None:
        lines.append(f"Whole headcount by rounding the relaxed plan: within {gap:.2%} of the best possible "
                     "on these samples.")
    return lines


def _premium(summary: dict) -> str:
    p = summary.get("recourse_premium")
    return f" (buying late costs {p:.0%} more)" if p else ""


def reserve_figure(curve: pd.DataFrame, currency: str = "") -> Figure:
    """Expected and P5 margin against the reserve held back (the optimum marked)."""
    fig = Figure(figsize=(7, 3.6))
    ax = fig.subplots()
    ok = curve.dropna(subset=["expected_margin"])
    x = ok.reserve_share * 100
    ax.plot(x, ok.expected_margin, marker="o", label="expected margin")
    ax.plot(x, ok.p5_margin, marker="s", label="P5 margin (1 year in 20 is worse)")
    best = ok[ok.optimum.astype(bool)]
    if len(best):
        ax.axvline(float(best.reserve_share.iloc[0]) * 100, color="#888", linestyle="--", label="optimal reserve")
    ax.set_xlabel("reserve held back (% of budget)")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: format_amount(v)))
    ax.set_ylabel(f"margin ({currency})" if currency else "margin")
    ax.set_title("Margin against the reserve")
    ax.legend(loc="best", fontsize="small")
    fig.tight_layout()
    return fig


def html_section(plan) -> list[str]:
    """The report's reserve-sizing section, or nothing for a deterministic run."""
    from allocator.report.html import _png, _table

    curve = plan.extra_tables.get("reserve_curve")
    if curve is None or not plan.summary.get("stochastic"):
        return []
    currency, budget = plan.scenario.currency, plan.scenario.budget.total
    text = "".join(f"<p>{escape(line)}</p>" for line in sentences(plan.summary, currency, budget))
    return ["<h2>Reserve sizing</h2>", text, _png(reserve_figure(curve, currency), tight=False), _table(curve)]
