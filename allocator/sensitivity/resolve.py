"""Re-solve one built model in place when a changed scenario differs only in numbers.

:class:`WarmSolver` is a thin layer over :class:`allocator.model.build.PlanningModel`: it builds
the model of one scenario once, and for each changed scenario calls ``update`` (every family is
rebuilt from the new numbers and only what differs is pushed into the live HiGHS model), then
re-solves from the last basis. When the model cannot be changed in place (another shape: a
curve, a seasonality, a new floor; see :class:`RebuildReason`) ``update`` raises
:class:`RebuildRequired` and :meth:`WarmSolver.solve` returns ``None``: the caller rebuilds.

Cells whose spend bound changes are built at the largest bound of the sweep (the *ceiling*), so a
point with a smaller bound keeps the ceiling's breakpoints: its interpolant is within
``pwl_tolerance * f(ceiling)`` of the curve instead of ``pwl_tolerance * f(hi)``.
:func:`error_bound` is the resulting bound on the objective's difference from a fresh
:func:`allocator.solve`; on points whose bounds equal the ceiling the models are the same and
only the solver's tolerances separate the two.
"""

from __future__ import annotations

import dataclasses
import time

from allocator.model import curves
from allocator.model.build import PlanningModel, build_model
from allocator.model.data import PlanningData
from allocator.model.kinds import RebuildRequired, Status
from allocator.model.response import curve_hi
from allocator.plan import Plan, no_plan_summary, tabulate, totals
from allocator.scenario import Scenario
from allocator.solve import HighsRunner


def with_ceilings(data: PlanningData, ceilings: dict[tuple[str, str], float]) -> PlanningData:
    """``data`` whose cells' breakpoints reach their ceiling (the largest spend maximum of a sweep)."""
    cells = tuple(
        dataclasses.replace(c, curve_hi=max(c.hi, ceilings[(c.region, c.channel)]))
        if (c.region, c.channel) in ceilings else c
        for c in data.cells)
    return dataclasses.replace(data, cells=cells)


def error_bound(built: PlanningData, new: PlanningData) -> float:
    """Largest difference between the objective on ``built``'s breakpoints and a fresh build of ``new``.

    Each period's interpolant is within ``s_t * tol * f(hi)`` of the curve, so a cell's annual lift
    within ``tol * f(hi)``: the two optima differ by at most ``sum_c m_c tol (f(hi_built) + f(hi_new))``
    over the cells whose breakpoints differ (0 when none does).
    """
    total = 0.0
    for a, b in zip(built.cells, new.cells):
        if curve_hi(a) != curve_hi(b):
            reach = float(curves.value(a.curve, [curve_hi(a)])[0] + curves.value(b.curve, [curve_hi(b)])[0])
            total += b.margin * new.tolerance * reach
    return total


class WarmSolver:
    """``WarmSolver(data).solve(scenario, data_of_scenario) -> Plan | None`` for many scenarios, one build.

    ``data`` is the planning data the model is built from (with spend ceilings already applied).
    ``solve`` returns ``None`` when the scenario's shape differs: the caller rebuilds that one.
    """

    def __init__(self, data: PlanningData):
        start = time.perf_counter()
        self.data = data
        self.model: PlanningModel = build_model(data)
        self.reach = {(c.region, c.channel): curve_hi(c) for c in data.cells}
        self.build_seconds = time.perf_counter() - start

    @property
    def runner(self) -> HighsRunner:
        if self.model._runner is None:
            self.model._runner = HighsRunner(self.model.form)
        return self.model._runner

    def solve(self, scenario: Scenario, new: PlanningData, time_limit: float | None = None,
              mip_gap: float | None = None, tables: bool = True) -> Plan | None:
        """The plan of ``scenario`` (whose planning data is ``new``) by a warm re-solve, or ``None``
        when its shape differs. Without ``tables`` the plan has its summary only (faster)."""
        start = time.perf_counter()
        try:
            self.model.update(with_ceilings(new, self.reach))
        except RebuildRequired:
            return None
        patch_seconds = time.perf_counter() - start
        options = scenario.solver
        solution = self.model.solve("highs", time_limit if time_limit is not None else options.time_limit,
                                    mip_gap if mip_gap is not None else options.mip_gap)
        start = time.perf_counter()
        if solution.status in (Status.OPTIMAL, Status.FEASIBLE) and options.exact_gap < 1.0:
            # refined on the exact curves like every plan of `allocator run` (docs/exact-curves.md)
            from allocator.api import refine_plan
            from allocator.deadline import Deadline

            limit = time_limit if time_limit is not None else options.time_limit
            left = None if limit is None else max(0.0, limit - solution.seconds)
            plan = refine_plan(new, tabulate(self.model, solution), solution, "highs", Deadline(left),
                               mip_gap if mip_gap is not None else options.mip_gap, options.exact_gap,
                               certify=False)  # sweep rows: refined plans, no proven bound
        elif solution.status in (Status.OPTIMAL, Status.FEASIBLE):
            plan = tabulate(self.model, solution) if tables else Plan(scenario, solution.status,
                                                                      totals(self.model, solution))
        else:
            plan = Plan(scenario, solution.status, no_plan_summary(scenario, solution))
        plan.timings = {"patch": patch_seconds, "solve": solution.seconds, "tabulate": time.perf_counter() - start}
        return plan
