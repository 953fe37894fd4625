"""The frontier's presentation: ``frontier.csv``, ``frontier.png`` and the terminal table.

Two rules (docs/reports.md): a change in margin smaller than the solve tolerance (the relative MIP
gap times the margin) is not shown as an effect, and "margin per extra unit of budget" is the
budget's shadow price at each point (from the solver's duals, in every point's summary), never
a difference of two tolerance-noisy margins.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from allocator.output import write_csv, write_folder
from allocator.scenario.amounts import format_amount  # noqa: E402
from allocator.sensitivity.plots import money_axis  # noqa: E402

PAYS = 1e-6  # a shadow price above this: one more unit of budget still adds margin


def tolerance(objective: pd.Series, mip_gap: float) -> pd.Series:
    """How far each point's margin may be from its optimum: the relative MIP gap times the margin."""
    return pd.to_numeric(objective, errors="coerce").abs() * max(float(mip_gap or 0.0), 0.0)


def changes(table: pd.DataFrame, mip_gap: float) -> pd.Series:
    """The margin's change from the previous point, 0 where it is within the two points' tolerance."""
    objective = pd.to_numeric(table.objective, errors="coerce")
    diff = objective.diff()
    tol = tolerance(objective, mip_gap)
    noise = diff.abs() <= tol + tol.shift()
    return diff.where(~noise, 0.0)


def with_changes(table: pd.DataFrame, mip_gap: float) -> pd.DataFrame:
    """``frontier.csv``: the table plus ``margin_change`` (tolerance noise set to 0) and ``tolerance``."""
    return table.assign(margin_change=changes(table, mip_gap), tolerance=tolerance(table.objective, mip_gap))


def plot_frontier(table: pd.DataFrame, currency: str, path: Path | None = None, mip_gap: float = 0.0):
    """Margin and the budget's shadow price against the budget; returns the figure when ``path``
    is None (else writes and closes it)."""
    fig = Figure(figsize=(10, 4.8))  # no pyplot: a notebook's backend is never switched
    ax = fig.subplots()
    ok = table[table.objective.notna()]
    ax.plot(ok.budget, ok.objective, marker="o", label="expected margin")
    tol = tolerance(ok.objective, mip_gap)
    if (tol > 0).any():
        ax.fill_between(ok.budget, ok.objective - tol, ok.objective + tol, color="#1f77b4", alpha=0.15,
                        label="solve tolerance (changes inside it are not effects)")
        span = float(ok.objective.max() - ok.objective.min())
        if span < 10 * float(tol.max()):  # do not magnify solver noise into a slope
            middle = float(ok.objective.mean())
            ax.set_ylim(middle - 5 * float(tol.max()), middle + 5 * float(tol.max()))
    bad = table[table.objective.isna()]
    if len(bad):  # on the axis' bottom edge, whatever the margins are
        ax.scatter(bad.budget, [0.02] * len(bad), marker="x", color="#c00", transform=ax.get_xaxis_transform(),
                   clip_on=False, label="no plan (infeasible)")
    saturated = ok[ok.budget_shadow_price.notna() & (ok.budget_shadow_price <= PAYS)]
    if len(saturated):
        first = saturated.budget.min()
        ax.axvline(first, color="#888", linestyle="--")
        ax.annotate("extra budget stops paying", (first, 0.97), xycoords=ax.get_xaxis_transform(),
                    xytext=(4, 0), textcoords="offset points", va="top", fontsize=8,
                    bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "#888"})
    money_axis(ax.xaxis)
    money_axis(ax.yaxis)
    ax.set_xlabel(f"total budget ({currency})" if currency else "total budget")
    ax.set_ylabel(f"expected margin ({currency})" if currency else "expected margin")
    twin = ax.twinx()
    unit = currency or "unit"
    twin.plot(ok.budget, ok.budget_shadow_price, color="#e80", marker=".",
              label=f"margin per extra 1 {unit} of budget (shadow price)")
    twin.set_ylabel(f"margin per extra 1 {unit}\nof budget (shadow price)")
    handles = ax.get_legend_handles_labels()
    twin_handles = twin.get_legend_handles_labels()
    fig.legend(handles[0] + twin_handles[0], handles[1] + twin_handles[1], loc="lower center", ncol=2,
               fontsize=8, frameon=False)  # below the axes: it covers neither the curve nor the label
    ax.set_title("Budget frontier")
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    if path is None:
        return fig
    fig.savefig(path, dpi=100)
    return None


def write_frontier(table: pd.DataFrame, scenario, out_dir: Path, mip_gap: float | None = None) -> Path:
    gap = scenario.solver.mip_gap if mip_gap is None else mip_gap
    shown = with_changes(table, gap)

    def fill(folder: Path) -> None:
        write_csv(shown, folder / "frontier.csv")
        plot_frontier(shown, scenario.currency, folder / "frontier.png", gap)

    return write_folder(out_dir, f"{scenario.scenario}-frontier", fill)


def rows(table: pd.DataFrame, mip_gap: float) -> list[tuple[str, str, str, str, str]]:
    """The terminal table: budget, status, margin, change (``≈ 0`` within tolerance), shadow price."""
    change = changes(table, mip_gap)
    out = []
    for row, delta in zip(table.itertuples(), change):
        margin = "-" if row.objective is None or not np.isfinite(row.objective) else format_amount(row.objective)
        if delta != delta:
            moved = "-"
        elif delta == 0:
            moved = "≈ 0"
        else:
            moved = f"{'+' if delta > 0 else '-'}{format_amount(abs(delta))}"
        price = row.budget_shadow_price
        out.append((format_amount(row.budget), str(row.status), margin, moved,
                    "-" if price is None or price != price else f"{price:.3f}"))
    return out
