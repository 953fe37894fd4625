"""One point of a sweep, solved where it runs: in the caller, a local process or a Dask worker.

A :class:`Job` is everything a worker needs (the scenario and how to solve); it is sent once per
batch of points. A worker keeps one :class:`PointSolver` per job, which builds the scenario's model
on its first point and re-solves it warm for every later point of the same shape
(``resolve.WarmSolver``: ``PlanningModel.update``); points of another shape are rebuilt with
:func:`allocator.solve`.
Whatever happens to a point, its result is a row: ``invalid``, ``error`` and the solver's statuses
are all rows, never exceptions.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field

from allocator.api import solve
from allocator.model.data import planning_data
from allocator.plan import Plan
from allocator.scenario import Scenario, ScenarioError
from allocator.sensitivity.grid import get_value
from allocator.sensitivity.resolve import WarmSolver, with_ceilings
from allocator.solve import Status

RESULT_COLUMNS = ["status", "objective", "revenue", "marketing_spend", "people_cost", "reserve", "unallocated",
                  "marketing_roi", "budget_shadow_price", "mip_gap", "exact_curve_margin", "exact_curve_bound",
                  "exact_curve_gap", "pwl_objective", "solve_seconds"]
EXTRA_COLUMNS = ["method", "seconds", "message"]
INVALID, ERROR = "invalid", "error"  # statuses of points that never reached a solver


@dataclass(frozen=True)
class Job:
    """A sweep as a worker sees it. ``ceilings`` are the largest spend maximum of each cell over the
    sweep's points (the warm model is built at them, ``resolve.with_ceilings``)."""

    scenario: Scenario
    ceilings: dict[tuple[str, str], float] = field(default_factory=dict)
    solver: str | None = None
    time_limit: float | None = None
    mip_gap: float | None = None
    warm: bool = True
    explain: bool = True
    key: str = field(default_factory=lambda: uuid.uuid4().hex)


class PointSolver:
    """Solves the points of one job in turn, re-solving one built model where it can."""

    def __init__(self, job: Job):
        self.job = job
        self.warm: WarmSolver | None = None
        self.warm_failed = False  # after a failure in the warm path, every point is rebuilt

    def solve(self, changes: dict[str, object]) -> dict:
        """The row of one point: its parameters' resolved values, status, totals and timings."""
        start = time.perf_counter()
        row: dict = {path: value for path, value in changes.items()}
        try:
            scenario = self.job.scenario.with_changes(changes) if changes else self.job.scenario
        except ScenarioError as exc:
            return {**row, "status": INVALID, "method": None, "seconds": time.perf_counter() - start,
                    "message": "; ".join(str(p) for p in exc.problems)}
        resolved = scenario.to_dict() if changes else {}
        for path in changes:
            value = get_value(resolved, path)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                row[path] = value
        method = None
        try:
            plan, method = self._plan(scenario)
        except Exception as exc:  # a failed point is a row: the rest of the sweep goes on
            return {**row, "status": ERROR, "method": method, "seconds": time.perf_counter() - start,
                    "message": f"{type(exc).__name__}: {exc}"}
        row.update({key: plan.summary.get(key) for key in RESULT_COLUMNS})
        row.update(method=method, seconds=time.perf_counter() - start, message=_message(plan))
        return row

    def _plan(self, scenario: Scenario) -> tuple[Plan, str]:
        job = self.job
        solver = job.solver or scenario.solver.name
        if job.warm and solver == "highs" and not self.warm_failed:
            try:
                plan = self._warm(scenario)
            except Exception:  # never trust a half-changed model again: rebuild from here on
                self.warm, self.warm_failed, plan = None, True, None
            if plan is not None and not (job.explain and plan.status == Status.INFEASIBLE):
                return plan, "warm"
            # another shape, or infeasible: a fresh solve decides (and explains what had to give)
        return solve(scenario, solver, job.time_limit, job.mip_gap), "rebuild"

    def _warm(self, scenario: Scenario) -> Plan | None:
        data = planning_data(scenario)
        if self.warm is None:
            self.warm = WarmSolver(with_ceilings(data, self.job.ceilings))
        return self.warm.solve(scenario, data, self.job.time_limit, self.job.mip_gap, tables=False)


def _message(plan: Plan) -> str | None:
    if plan.diagnosis is not None:
        return plan.diagnosis.get("explanation")
    if plan.status == Status.ERROR:
        return plan.summary.get("message") or "the solver failed"
    if plan.status == Status.NOT_SOLVED:
        return "the solver stopped at its time limit before finding any plan"
    if plan.status == Status.FEASIBLE:
        return "stopped at the time limit; mip_gap says how far from optimal"
    return None


_local = threading.local()


def _solver_for(job: Job) -> PointSolver:
    """The worker's solver for ``job`` (one per thread; a new job replaces the old one)."""
    current = getattr(_local, "solver", None)
    if current is None or current.job.key != job.key:
        current = _local.solver = PointSolver(job)
    return current


def run_chunk(job: Job, chunk: list[tuple[int, dict]]) -> list[tuple[int, dict]]:
    """Solve a batch of ``(index, changes)`` points on this worker; the task engines send."""
    solver = _solver_for(job)
    return [(index, solver.solve(changes)) for index, changes in chunk]
