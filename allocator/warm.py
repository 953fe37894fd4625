"""Build a scenario's model once, then re-solve it with a changed budget in place.

A budget sweep changes only right-hand sides: the budget row, the reserve rows, and the spend
bounds of cells whose bound defaults to the budget. HiGHS keeps the model (and, for an LP, the
basis) between solves, so each point costs a warm re-solve instead of a rebuild
(``../shared/bench/RESULTS.md``: 0.009 s against 0.3-2 s a point on a medium LP).

The model is built at the largest budget of the sweep (``ceiling``), so cells whose spend bound
defaults to the budget have breakpoints reaching that far; at a smaller budget their bound row is
lowered. The interpolants therefore differ from a fresh build at that budget by at most the
``pwl_tolerance`` of the curves: the same accuracy promise, not the same breakpoints.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from allocator.api import check_options
from allocator.model.build import build_model
from allocator.model.data import planning_data
from allocator.plan import SUMMARY_KEYS, Plan, tabulate
from allocator.scenario import Scenario
from allocator.solve import INF, HighsRunner, Status, linear_form


class WarmModel:
    """``WarmModel(scenario, ceiling).solve(budget) -> Plan`` for many budgets, one build."""

    def __init__(self, scenario: Scenario, ceiling: float | None = None):
        self.scenario = scenario
        self.ceiling = max(ceiling or scenario.budget.total, scenario.budget.total)
        reference = scenario.with_changes({"budget.total": self.ceiling})
        start = time.perf_counter()
        self.data = planning_data(reference)
        self.model = build_model(self.data)
        self.form = linear_form(self.model)
        self.runner = HighsRunner(self.form)
        self.build_seconds = time.perf_counter() - start
        self._budget_rows = {}
        for i, row in enumerate(self.model.rows):
            if row.name in ("budget", "reserve_min", "reserve_max"):
                self._budget_rows[i] = row.name
            elif row.kind == "spend_max" and row.meta["follows_budget"]:
                self._budget_rows[i] = "spend_max"

    def solve(self, budget: float, time_limit: float | None = None, mip_gap: float | None = None) -> Plan:
        """The plan at ``budget`` (a warm re-solve of the built model)."""
        check_options(None, time_limit, mip_gap)
        scenario = self.scenario.with_changes({"budget.total": budget})
        unit = self.model.unit
        low, high = self.data.reserve
        share = {"budget": 1.0, "reserve_min": low, "reserve_max": high, "spend_max": 1.0}
        for i, name in self._budget_rows.items():
            rhs = share[name] * budget / unit
            lo, hi = (rhs, INF) if name == "reserve_min" else (-INF, rhs)
            self.form.row_lo[i], self.form.row_hi[i] = lo, hi
            self.runner.highs.changeRowBounds(i, lo, hi)
            self.model.rows[i].constraint.constant = -rhs
        options = scenario.solver
        solution = self.runner.run(time_limit if time_limit is not None else options.time_limit,
                                   mip_gap if mip_gap is not None else options.mip_gap)
        self.model.data = dataclasses.replace(self.data, budget=budget, scenario=scenario)
        try:
            if solution.status in (Status.OPTIMAL, Status.FEASIBLE):
                return tabulate(self.model, solution)
        finally:
            self.model.data = self.data
        summary = dict.fromkeys(SUMMARY_KEYS)
        summary.update(scenario=scenario.scenario, status=str(solution.status), solver="highs",
                       solve_seconds=solution.seconds)
        return Plan(scenario, solution.status, summary)


def budgets_between(low: float, high: float, points: int) -> list[float]:
    return [float(b) for b in np.linspace(low, high, points)]
