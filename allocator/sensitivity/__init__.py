"""Sensitivity analysis: how much does the plan change if ...?

    from allocator import load_scenario
    from allocator.sensitivity import sweep, tornado
    base = load_scenario("scenarios/quarter_12_weeks.yaml")
    table = sweep(base, {"budget.total": ["5.5M", "6M", "7M"], "regions[north].growth_floor": ["10%", "15%"]})
    bars = tornado(base, delta=0.2)

``sweep`` solves every point of a grid of overrides, ``tornado`` moves each uncertain input alone;
both run their points on an engine (``serial``, ``local`` processes, or ``dask``) and re-solve one
built model wherever a point changes only numbers (``resolve.WarmSolver``). See docs/sensitivity.md.
"""

from allocator.sensitivity.change import allocation_change, describe_change
from allocator.sensitivity.grid import parse_param, points
from allocator.sensitivity.sweep import sweep
from allocator.sensitivity.tornado import default_params, tornado

__all__ = ["allocation_change", "default_params", "describe_change", "parse_param", "points", "sweep", "tornado"]
