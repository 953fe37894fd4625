"""The budget frontier: the best plan over a range of total budgets, and what one more unit buys."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from allocator.api import solve  # noqa: E402
from allocator.output import write_csv, write_folder  # noqa: E402
from allocator.scenario import Scenario  # noqa: E402
from allocator.scenario.amounts import format_amount  # noqa: E402
from allocator.warm import WarmModel  # noqa: E402

COLUMNS = ["budget", "status", "objective", "revenue", "marketing", "people", "reserve",
           "unallocated", "budget_shadow_price", "extra_budget_pays"]
PAYS = 1e-6  # a shadow price above this: one more unit of budget still adds margin


def frontier(scenario: Scenario, budgets: list[float], solver: str = "highs", warm: bool = True,
             time_limit: float | None = None, mip_gap: float | None = None, progress=None) -> pd.DataFrame:
    """One row per budget. ``warm`` re-solves one built model (HiGHS); otherwise each point is
    rebuilt from the scenario (any solver)."""
    rows = []
    model = WarmModel(scenario, ceiling=max(budgets)) if warm and solver == "highs" else None
    for budget in budgets:
        if model is not None:
            plan = model.solve(budget, time_limit, mip_gap)
        else:
            plan = solve(scenario.with_changes({"budget.total": budget}), solver, time_limit, mip_gap)
        s = plan.summary
        price = s.get("budget_shadow_price")
        rows.append((budget, s["status"], s.get("objective"), s.get("revenue"), s.get("marketing_spend"),
                     s.get("people_cost"), s.get("reserve"), s.get("unallocated"), price,
                     None if price is None else bool(price > PAYS)))
        if progress is not None:
            progress()
    return pd.DataFrame(rows, columns=COLUMNS)


def plot_frontier(table: pd.DataFrame, currency: str, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(8, 4.5))
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
    plt.close(fig)


def write_frontier(table: pd.DataFrame, scenario: Scenario, out_dir: Path) -> Path:
    def fill(folder: Path) -> None:
        write_csv(table, folder / "frontier.csv")
        plot_frontier(table, scenario.currency, folder / "frontier.png")

    return write_folder(out_dir, f"{scenario.scenario}-frontier", fill)
