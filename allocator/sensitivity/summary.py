"""A solved model's totals without its tables: the sweep row of a warm re-solve.

The figures come from :func:`allocator.plan.totals`, the one function ``tabulate`` uses too, so
a sweep row and a run's ``summary.json`` cannot drift apart.
"""

from __future__ import annotations

from allocator.model.build import PlanningModel
from allocator.model.data import PlanningData
from allocator.plan import totals
from allocator.solve import Solution


class Summarizer:
    """``Summarizer(model).summary(solution, data)``: the summary dict ``tabulate`` would give."""

    def __init__(self, model: PlanningModel):
        self.model = model

    def summary(self, solution: Solution, data: PlanningData | None = None) -> dict:
        """``data`` must be the data the model holds (kept for the earlier signature)."""
        assert data is None or data.scenario is self.model.data.scenario or data == self.model.data
        return totals(self.model, solution)
