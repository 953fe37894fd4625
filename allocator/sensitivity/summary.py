"""A solved model's totals without its tables: the sweep row of a warm re-solve, in array time.

``allocator.plan.tabulate`` builds every table row by row (0.1-0.2 s on a 45,000-column model,
several times the warm re-solve itself). A sweep needs only the totals, so :class:`Summarizer`
computes the same figures as ``tabulate``'s summary from arrays prepared once per built model.
``tests/test_sensitivity.py`` checks the two agree on every example scenario.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from allocator import plan
from allocator.model import curves
from allocator.model.build import Model
from allocator.model.data import PlanningData
from allocator.model.response import cell_breakpoints
from allocator.solve import Solution


class Summarizer:
    """``Summarizer(model).summary(solution, data)``: the summary dict ``tabulate`` would give.

    ``model`` is the built model; its breakpoints are read once (the warm solver never changes
    them). ``data`` is the planning data of the scenario solved, as the model sees it.
    """

    def __init__(self, model: Model):
        data = model.data
        col = {v: i for i, v in enumerate(model.columns)}
        self.model = model
        self.keys = [(c.region, c.channel, p) for c in data.cells for p in data.periods]
        self.breaks = [cell_breakpoints(model, c, p) for c in data.cells for p in data.periods]
        segs = [(col[v], k) for k, key in enumerate(self.keys) for v, _ in model.segments[key]]
        self.seg_cols = np.array([j for j, _ in segs], dtype=np.int64)
        self.seg_key = np.array([k for _, k in segs], dtype=np.int64)
        self.revenue_cols = np.array([col[model.revenue[key]] for key in self.keys], dtype=np.int64)
        self.reserve_col = col[model.reserve]
        self.staff_keys = list(model.core)
        self.core_cols = np.array([col[model.core[k]] for k in self.staff_keys], dtype=np.int64)
        self.hire_cols = np.array([col[model.hires[k]] for k in self.staff_keys], dtype=np.int64)
        self.release_cols = np.array([col[model.releases[k]] for k in self.staff_keys if k in model.releases],
                                     dtype=np.int64)
        self.temp_cols = np.array([col[model.temp[k]] for k in self.staff_keys if k in model.temp], dtype=np.int64)

    def summary(self, solution: Solution, data: PlanningData) -> dict:
        unit, x = self.model.unit, solution.values
        n = len(self.keys)
        spend = np.maximum(0.0, np.bincount(self.seg_key, weights=x[self.seg_cols], minlength=n) * unit)
        lift = np.array([bp.interpolate(s) if bp is not None else 0.0 for bp, s in zip(self.breaks, spend)])
        season = np.array([data.season[p] for _, _, p in self.keys])
        cells = {(c.region, c.channel): c for c in data.cells}
        margin = np.array([cells[key[:2]].margin for key in self.keys])
        exact = np.zeros(n)
        width = len(data.periods)
        for k, cell in enumerate(data.cells):  # the keys run cell by cell, period by period
            part = slice(k * width, (k + 1) * width)
            s = season[part]
            with np.errstate(divide="ignore", invalid="ignore"):
                values = s * curves.value(cell.curve, np.where(s > 0, spend[part] / np.where(s > 0, s, 1), 0.0))
            exact[part] = np.where(s > 0, values, 0.0)
        tol = 1e-7 * unit
        revenue = np.maximum(0.0, x[self.revenue_cols] * unit)
        spend, lift, revenue = (np.where(np.abs(a) < tol, 0.0, a) for a in (spend, lift, revenue))
        exact_gain = self._exact_gain(x, data, spend, lift, revenue, exact)
        total_spend, total_revenue = float(spend.sum()), float(revenue.sum())
        people = self._people(x, data)
        reserve = max(0.0, float(x[self.reserve_col]) * unit)
        pwl_objective = float(margin @ revenue) - total_spend - people
        objective = pwl_objective + exact_gain  # on the exact curves, as in ``tabulate``
        price = self._budget_price(solution, data)
        return {
            "scenario": data.scenario.scenario,
            "status": str(solution.status),
            "objective": objective,
            "revenue": total_revenue,
            "marketing_spend": total_spend,
            "people_cost": people,
            "reserve": reserve,
            "unallocated": max(0.0, data.budget - total_spend - people - reserve),
            "marketing_roi": float(margin @ lift) / total_spend - 1.0 if total_spend > 0 else None,
            "budget_shadow_price": price,
            "mip_gap": solution.mip_gap,
            "exact_curve_margin": objective,
            "exact_curve_bound": None,
            "exact_curve_gap": None,
            "pwl_objective": pwl_objective,
            "solve_seconds": solution.seconds,
            "solver": solution.solver,
        }

    def _exact_gain(self, x, data: PlanningData, spend, lift, revenue, exact) -> float:
        """As ``tabulate`` reads the plan on exact curves: through the same function."""
        allocation = pd.DataFrame({"region": [k[0] for k in self.keys], "channel": [k[1] for k in self.keys],
                                   "period": [k[2] for k in self.keys], "spend": spend, "lift": lift,
                                   "revenue": revenue})
        headcount = pd.DataFrame(columns=["region", "period", "capacity"])
        sf = data.staffing
        if sf is not None and self.staff_keys:
            temp = dict(zip([k for k in self.staff_keys if k in self.model.temp], np.round(x[self.temp_cols])))
            core = np.round(x[self.core_cols])
            headcount = pd.DataFrame({
                "region": [k[0] for k in self.staff_keys], "period": [k[1] for k in self.staff_keys],
                "capacity": [sf.capacity * data.length[k[1]] * h + sf.temp_capacity * temp.get(k, 0.0)
                             for k, h in zip(self.staff_keys, core)]})
        saved, self.model.data = self.model.data, data
        try:
            return plan._exact_gain(self.model, allocation, headcount, exact)
        finally:
            self.model.data = saved

    def _budget_price(self, solution: Solution, data: PlanningData) -> float | None:
        """As ``tabulate`` prices the budget (its rows' prices, the reserve's share, the spend
        maxima that follow the budget): read through the same functions, so it cannot drift."""
        saved, self.model.data = self.model.data, data
        try:
            return plan._budget_price(self.model, plan._constraints(self.model, solution))
        finally:
            self.model.data = saved

    def _people(self, x: np.ndarray, data: PlanningData) -> float:
        sf = data.staffing
        if sf is None or not self.staff_keys:
            return 0.0
        length = np.array([data.length[p] for _, p in self.staff_keys])
        core = np.round(x[self.core_cols])
        return float(sf.cost * (length * core).sum() + sf.hire_cost * np.round(x[self.hire_cols]).sum()
                     + sf.release_cost * np.round(x[self.release_cols]).sum()
                     + sf.temp_cost * np.round(x[self.temp_cols]).sum())
