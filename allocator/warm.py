"""Build a scenario's model once, then re-solve it with a changed budget in place.

A thin use of :class:`allocator.model.build.PlanningModel` (``update`` then ``solve``); the
frontier itself runs as a sweep over ``budget.total`` (``allocator.frontier``).

The model is built at the largest budget of the sweep (``ceiling``), so cells whose spend bound
defaults to the budget have breakpoints reaching that far; at a smaller budget their bound row is
lowered. The interpolants therefore differ from a fresh build at that budget by at most the
``pwl_tolerance`` of the curves: the same accuracy promise, not the same breakpoints.
"""

from __future__ import annotations

import numpy as np

from allocator.api import check_options
from allocator.model.data import planning_data
from allocator.plan import Plan
from allocator.scenario import Scenario
from allocator.sensitivity.resolve import WarmSolver, with_ceilings


class WarmModel:
    """``WarmModel(scenario, ceiling).solve(budget) -> Plan`` for many budgets, one build."""

    def __init__(self, scenario: Scenario, ceiling: float | None = None):
        self.scenario = scenario
        self.ceiling = max(ceiling or scenario.budget.total, scenario.budget.total)
        data = planning_data(scenario)
        ceilings = {(c.region, c.channel): self.ceiling for c in data.cells if c.follows_budget}
        self.solver = WarmSolver(with_ceilings(data, ceilings))
        self.build_seconds = self.solver.build_seconds

    def solve(self, budget: float, time_limit: float | None = None, mip_gap: float | None = None) -> Plan:
        """The plan at ``budget`` (a warm re-solve of the built model)."""
        check_options(None, time_limit, mip_gap)
        scenario = self.scenario.with_changes({"budget.total": budget})
        plan = self.solver.solve(scenario, planning_data(scenario), time_limit, mip_gap)
        if plan is None:
            raise ValueError(f"budget {budget} is above the ceiling {self.ceiling} the model was built at")
        return plan


def budgets_between(low: float, high: float, points: int) -> list[float]:
    return [float(b) for b in np.linspace(low, high, points)]
