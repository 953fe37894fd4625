"""``sweep``: solve a scenario over a grid of overrides, one row per point.

>>> from allocator import load_scenario                                   # doctest: +SKIP
>>> from allocator.sensitivity import sweep
>>> base = load_scenario("scenarios/quarter_12_weeks.yaml")
>>> table = sweep(base, {"budget.total": ["5M", "6M", "7M"], "regions[north].growth_floor": ["10%", "20%"]})
>>> table[["budget.total", "regions[north].growth_floor", "status", "objective"]]
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from allocator.model.data import planning_data
from allocator.scenario import Scenario, ScenarioError, load_scenario
from allocator.sensitivity.engines import Progress, run_points
from allocator.sensitivity.grid import Grid, check_grid
from allocator.sensitivity.worker import EXTRA_COLUMNS, RESULT_COLUMNS, Job

# Paths that can move a cell's spend maximum (it defaults to the budget): only then are the
# points' ceilings worth computing.
_BOUND_ROOTS = ("budget", "response")


def sweep(
    scenario: Scenario | str | Path,
    grid: Grid,
    zip: bool = False,
    engine: str = "local",
    workers: int | None = None,
    scheduler=None,
    solver: str | None = None,
    time_limit: float | None = None,
    mip_gap: float | None = None,
    warm: bool = True,
    explain: bool = True,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """Solve every point of ``grid`` and return one row per point, in the grid's order.

    ``grid`` maps override paths (as in ``--set``) to lists of values; the points are their full
    product, or with ``zip=True`` the lists side by side. Columns: ``point``, one per path (the
    resolved value: amounts as numbers, shares as fractions), ``status``, ``objective`` and the
    plan's totals, ``budget_shadow_price``, ``mip_gap``, ``solve_seconds`` (the solver's),
    ``method`` (``warm`` re-solve or ``rebuild``), ``seconds`` (the whole point) and ``message``.

    A point whose values are invalid together has status ``invalid``; one that fails has
    ``error``; an infeasible one ``infeasible`` with the diagnosis in ``message`` (``explain=False``
    skips the diagnosis). A mistake every point would share (an unknown path) raises
    :class:`ScenarioError` before anything is solved.

    ``engine``: ``local`` (processes, ``workers`` of them, all cores by default), ``dask``
    (``scheduler`` an address, a ``Client``, or ``None`` for a ``LocalCluster``) or ``serial``.
    ``warm=False`` rebuilds every point instead of re-solving one built model.
    """
    base = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    points = check_grid(base, grid, zip=zip)
    job = Job(base, ceilings(base, points) if warm else {}, solver, time_limit, mip_gap, warm, explain)
    rows = run_points(job, points, engine=engine, workers=workers, scheduler=scheduler, progress=progress)
    return results_frame(rows, list(grid))


def results_frame(rows: Sequence[dict], paths: Sequence[str]) -> pd.DataFrame:
    columns = ["point", *paths, *RESULT_COLUMNS, *EXTRA_COLUMNS]
    frame = pd.DataFrame([{**row, "point": i} for i, row in enumerate(rows)], columns=columns)
    for column in RESULT_COLUMNS[1:] + ["seconds"]:
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    return frame


def ceilings(base: Scenario, points: Sequence[dict]) -> dict[tuple[str, str], float]:
    """The largest spend maximum of each cell over the points (what the warm model is built at)."""
    if not any(path.split(".")[0].split("[")[0] in _BOUND_ROOTS for point in points for path in point):
        return {}
    top: dict[tuple[str, str], float] = {}
    for point in points:
        try:
            data = planning_data(base.with_changes(point))
        except ScenarioError:
            continue  # reported as an invalid point by the worker
        for cell in data.cells:
            key = (cell.region, cell.channel)
            top[key] = max(top.get(key, 0.0), cell.hi)
    return top
