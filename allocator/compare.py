"""Budget options side by side: one column per option, and per-region and per-channel differences."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from allocator.api import solve
from allocator.plan import Plan
from allocator.report.tables import period_lengths
from allocator.scenario import Scenario, ScenarioError
from allocator.scenario.errors import Problem

METRICS = ["status", "objective", "revenue", "marketing_spend", "people_cost", "reserve", "unallocated",
           "marketing_roi", "budget_shadow_price", "headcount", "temp_staff"]


def option_names(scenarios: list[Scenario], labels: list[str] | None = None) -> list[str]:
    names = list(labels) if labels else [s.scenario for s in scenarios]
    unique: list[str] = []
    for name in names:
        candidate, n = name, 1
        while candidate in unique or (candidate != name and candidate in names):
            n += 1
            candidate = f"{name} ({n})"
        unique.append(candidate)
    return unique


def check_currencies(scenarios: list[Scenario], names: list[str]) -> str:
    """The options' one currency; options in different currencies are refused, not mixed under
    one label (convert the amounts in the scenario files first)."""
    currencies = {s.currency for s in scenarios}
    if len(currencies) <= 1:
        return next(iter(currencies), "")
    listed = ", ".join(f"{name}: {s.currency or 'no currency'}" for name, s in zip(names, scenarios))
    raise ScenarioError([Problem(scenarios[0].source, None, "currency",
                                 f"options are in different currencies ({listed}); compare needs one currency, "
                                 "so convert the amounts in the scenario files first")])


def solve_options(scenarios: list[Scenario], solver: str | None = None, time_limit: float | None = None,
                  mip_gap: float | None = None) -> list[Plan]:
    return [solve(s, solver, time_limit, mip_gap) for s in scenarios]


def metrics(plan: Plan) -> dict:
    row = {key: plan.summary.get(key) for key in METRICS if key in plan.summary}
    heads = plan.headcount
    if plan.has_plan and not heads.empty:
        length = heads.period.map(period_lengths(plan.scenario))
        row["headcount"] = float((length * heads.core).sum())  # average core heads over the horizon
        row["temp_staff"] = float(heads.temp.sum())  # temp staff x periods
    else:
        row["headcount"] = row["temp_staff"] = None
    return {key: row.get(key) for key in METRICS}


def compare_table(plans: list[Plan], names: list[str]) -> pd.DataFrame:
    """Metrics (rows) by option (columns)."""
    return pd.DataFrame({name: metrics(plan) for name, plan in zip(names, plans)}).rename_axis("metric")


def breakdown(plans: list[Plan], names: list[str], by: str) -> pd.DataFrame:
    """Revenue and spend per ``by`` (region or channel) and option, with differences to the first."""
    frames = []
    for name, plan in zip(names, plans):
        if plan.has_plan:
            part = plan.allocation.groupby(by, sort=False)[["revenue", "spend"]].sum()
        else:
            part = pd.DataFrame(columns=["revenue", "spend"], dtype=float)
        frames.append(part.add_prefix(f"{name}: "))
    table = pd.concat(frames, axis=1)
    first = names[0]
    for name in names[1:]:
        for value in ("revenue", "spend"):
            table[f"{name} - {first}: {value}"] = table[f"{name}: {value}"] - table[f"{first}: {value}"]
    return table.rename_axis(by).reset_index()


def compare(scenarios: list[Scenario | str | Path], labels: list[str] | None = None, solver: str | None = None,
            time_limit: float | None = None, mip_gap: float | None = None) -> pd.DataFrame:
    """Solve each option and return the metrics table (one column per option).

    >>> compare(["scenarios/annual_plan.yaml", base.with_changes({"budget.total": "25M"})])  # doctest: +SKIP
    """
    from allocator.scenario import load_scenario

    loaded = [s if isinstance(s, Scenario) else load_scenario(s) for s in scenarios]
    names = option_names(loaded, labels)
    check_currencies(loaded, names)
    return compare_table(solve_options(loaded, solver, time_limit, mip_gap), names)
