"""``tornado``: move each uncertain input by +-delta alone and rank the inputs by the swing in margin.

The default inputs are the ones a planner is least sure of: each response cell's curve (its lift
ceiling and its saturation scale), the channels' gross margins, and the sales force's capacity and
cost per rep and temp staffer. Any override path with a numeric value can be given instead.

>>> table = tornado(load_scenario("scenarios/quarter_12_weeks.yaml"), delta=0.2)   # doctest: +SKIP
>>> table[["label", "objective_low", "objective_high", "swing"]].head()
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from allocator.scenario import Scenario, ScenarioError, load_scenario
from allocator.scenario.errors import Problem
from allocator.sensitivity.engines import Progress, run_points
from allocator.sensitivity.grid import get_value
from allocator.sensitivity.worker import Job

COLUMNS = ["param", "label", "base_value", "low_value", "high_value", "objective_low", "objective_high",
           "swing", "status_low", "status_high", "no_plan"]
_CURVE_PARAMS = {  # curve type -> (field, words), the parameters a marketing-mix fit is least sure of
    "hill": (("max_lift", "max lift"), ("half_saturation", "half-saturation")),
    "exp": (("max_lift", "max lift"), ("scale", "scale")),
    "log": (("scale_lift", "lift scale"), ("scale", "scale")),
    "linear": (("roas", "ROAS"), ("cap", "cap")),
}


def default_params(scenario: Scenario) -> dict[str, str]:
    """Override path -> label of every default tornado input of ``scenario``."""
    params: dict[str, str] = {}
    for cell in scenario.response:
        name = f"{cell.region}/{cell.channel}"
        for field, words in _CURVE_PARAMS.get(cell.curve.type, ()):
            if getattr(cell.curve, field, None) is not None:
                params[f"response[{name}].curve.{field}"] = f"{name} {words}"
        if cell.gross_margin is not None:
            params[f"response[{name}].gross_margin"] = f"{name} gross margin"
    for channel in scenario.channels:
        params[f"channels[{channel.id}].gross_margin"] = f"{channel.id} gross margin"
    sf = scenario.sales_force
    if sf is not None:
        params["sales_force.revenue_capacity"] = "revenue per rep"
        params["sales_force.cost_per_head"] = "cost per rep"
        if sf.temp_staff is not None:
            params["sales_force.temp_staff.revenue_capacity"] = "revenue per temp staffer"
            params["sales_force.temp_staff.cost_per_head"] = "cost per temp staffer"
    return params


def tornado(
    scenario: Scenario | str | Path,
    params: Sequence[str] | dict[str, str] | None = None,
    delta: float = 0.2,
    engine: str = "local",
    workers: int | None = None,
    scheduler=None,
    solver: str | None = None,
    time_limit: float | None = None,
    mip_gap: float | None = None,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """One row per input, sorted by ``swing = |objective_high - objective_low|`` (largest first).

    Each input is set to ``(1 - delta)`` and ``(1 + delta)`` times its value, everything else as in
    the scenario (shares such as margins are capped at 100%). ``params`` are override paths (or a
    dict path -> label); by default :func:`default_params`. The base plan's margin is in
    ``table.attrs["base_objective"]``. A point without a plan has its status in ``status_low`` /
    ``status_high``, no swing, and ``no_plan`` says which side (``low``, ``high``, ``both``); such
    an input ranks by the move of its other side (first when neither side has a plan), so an
    input that can break the plan is never dropped as if it had no effect.
    """
    base = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    if not 0 < delta < 1:
        raise ScenarioError([Problem("--delta", None, "", f"must be between 0 and 1 (got {delta})")])
    labels = default_params(base) if params is None else (
        dict(params) if isinstance(params, dict) else {p: p for p in params})
    values = _base_values(base, labels)
    points: list[dict] = [{}]
    for path, value in values.items():
        low, high = value * (1 - delta), value * (1 + delta)
        if path.endswith("gross_margin"):
            high = min(high, 1.0)
        points += [{path: low}, {path: high}]
    job = Job(base, {}, solver, time_limit, mip_gap, warm=True, explain=False)
    rows = run_points(job, points, engine=engine, workers=workers, scheduler=scheduler, progress=progress)
    table = pd.DataFrame(
        [_row(path, labels[path], value, rows[1 + 2 * k], rows[2 + 2 * k]) for k, (path, value) in enumerate(values.items())],
        columns=COLUMNS,
    )
    table = rank(table, rows[0].get("objective"))
    table.attrs["base_objective"] = rows[0].get("objective")
    table.attrs["base_status"] = rows[0].get("status")
    table.attrs["delta"] = delta
    return table


def rank(table: pd.DataFrame, base: float | None) -> pd.DataFrame:
    """Largest effect first: the swing, or for an input with a side without a plan, the move of
    the side that has one (an input with no plan on either side first)."""
    known_low = (table.objective_low - base).abs() if base is not None else np.nan
    known_high = (table.objective_high - base).abs() if base is not None else np.nan
    one_sided = pd.concat([pd.Series(known_low, index=table.index), pd.Series(known_high, index=table.index)],
                          axis=1).max(axis=1)
    key = table.swing.fillna(one_sided).where(table.no_plan != "both", np.inf)
    order = key.fillna(-np.inf).sort_values(ascending=False, kind="stable").index
    return table.loc[order].reset_index(drop=True)


def _base_values(scenario: Scenario, labels: dict[str, str]) -> dict[str, float]:
    values, problems = {}, []
    for path in labels:
        try:
            value = get_value(scenario, path)
        except (KeyError, ValueError, IndexError) as exc:
            problems.append(Problem("--param", None, path, str(exc.args[0]) if exc.args else "no such path"))
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value) or value == 0:
            problems.append(Problem("--param", None, path, f"needs a non-zero number to move by +-delta (got {value!r})"))
            continue
        values[path] = float(value)
    if problems:
        raise ScenarioError(problems)
    return values


def _row(path: str, label: str, value: float, low: dict, high: dict) -> tuple:
    a, b = low.get("objective"), high.get("objective")
    swing = abs(b - a) if a is not None and b is not None and np.isfinite(a) and np.isfinite(b) else np.nan
    no_low, no_high = not _has_plan(low), not _has_plan(high)
    no_plan = "both" if no_low and no_high else "low" if no_low else "high" if no_high else ""
    return (path, label, value, low.get(path, np.nan), high.get(path, np.nan), a, b, swing,
            low.get("status"), high.get("status"), no_plan)


def _has_plan(point: dict) -> bool:
    value = point.get("objective")
    return point.get("status") in ("optimal", "feasible") and value is not None and bool(np.isfinite(value))
