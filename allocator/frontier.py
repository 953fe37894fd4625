"""The budget frontier: the best plan over a range of total budgets, and what one more unit buys.

A frontier is a sweep over ``budget.total`` (``allocator.sensitivity.sweep``, in this process):
one model built at the largest budget and re-solved warm at every point, or rebuilt at each.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from allocator.output import write_csv, write_folder
from allocator.scenario import Scenario
from allocator.scenario.amounts import format_amount

COLUMNS = ["budget", "status", "objective", "revenue", "marketing", "people", "reserve",
           "unallocated", "budget_shadow_price", "extra_budget_pays"]
PAYS = 1e-6  # a shadow price above this: one more unit of budget still adds margin


def frontier(scenario: Scenario, budgets: list[float], solver: str = "highs", warm: bool = True,
             time_limit: float | None = None, mip_gap: float | None = None, progress=None) -> pd.DataFrame:
    """One row per budget. ``warm`` re-solves one built model (HiGHS); otherwise each point is
    rebuilt from the scenario (any solver)."""
    from allocator.sensitivity.sweep import sweep

    table = sweep(scenario, {"budget.total": [float(b) for b in budgets]}, engine="serial", solver=solver,
                  time_limit=time_limit, mip_gap=mip_gap, warm=warm, explain=False,
                  progress=(lambda done, total: progress() if done else None) if progress is not None else None)
    rows = []
    for budget, s in zip(budgets, table.to_dict("records")):
        price = _number(s.get("budget_shadow_price"))
        rows.append((budget, s["status"], _number(s.get("objective")), _number(s.get("revenue")),
                     _number(s.get("marketing_spend")), _number(s.get("people_cost")), _number(s.get("reserve")),
                     _number(s.get("unallocated")), price, None if price is None else bool(price > PAYS)))
    return pd.DataFrame(rows, columns=COLUMNS)


def _number(value) -> float | None:
    return None if value is None or value != value else float(value)


def plot_frontier(table: pd.DataFrame, currency: str, path: Path) -> None:
    fig = Figure(figsize=(8, 4.5))
    ax = fig.subplots()
    ok = table[table.objective.notna()]
    ax.plot(ok.budget, ok.objective, marker="o", label="expected margin")
    bad = table[table.objective.isna()]
    if len(bad):
        low = ok.objective.min() if len(ok) else 0.0
        ax.scatter(bad.budget, [low] * len(bad), marker="x", color="#c00", label="no plan (infeasible)")
    saturated = ok[ok.extra_budget_pays == False]  # noqa: E712
    if len(saturated):
        first = saturated.budget.min()
        ax.axvline(first, color="#888", linestyle="--")
        ax.annotate(" one more unit of budget\n adds no margin from here", (first, ok.objective.min()), fontsize=8)
    money = FuncFormatter(lambda v, _: format_amount(v))
    ax.xaxis.set_major_formatter(money)
    ax.yaxis.set_major_formatter(money)
    ax.set_xlabel(f"total budget ({currency})" if currency else "total budget")
    ax.set_ylabel(f"expected margin ({currency})" if currency else "expected margin")
    twin = ax.twinx()
    twin.plot(ok.budget, ok.budget_shadow_price, color="#e80", marker=".", label="margin per extra unit of budget")
    twin.set_ylabel("margin per extra unit of budget")
    lines = ax.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
    labels = ax.get_legend_handles_labels()[1] + twin.get_legend_handles_labels()[1]
    ax.legend(lines, labels, loc="lower right", fontsize=8)
    ax.set_title("Budget frontier")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def write_frontier(table: pd.DataFrame, scenario: Scenario, out_dir: Path) -> Path:
    def fill(folder: Path) -> None:
        write_csv(table, folder / "frontier.csv")
        plot_frontier(table, scenario.currency, folder / "frontier.png")

    return write_folder(out_dir, f"{scenario.scenario}-frontier", fill)
