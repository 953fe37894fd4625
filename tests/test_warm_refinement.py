"""The exact-curve rounds re-solve warm on the same live model (``allocator/model/restructure.py``):
new breakpoints become new columns and rows of the live HiGHS model and integer headcount is
held by its bounds. Each check compares the live model, changed in place, with a fresh build of
the same data solved from scratch: same optimum (1e-9 relative), same plan tables."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from allocator import load_scenario, solve
from allocator.exact import _add, _frozen
from allocator.model.build import PlanningModel, build_model
from allocator.model.data import planning_data
from allocator.model.kinds import RebuildReason, RebuildRequired, Status
from allocator.plan import tabulate
from tests.conftest import SCENARIOS
from tests.test_exact import scenario, textbook
from tests.test_sensitivity import lp_scenario

GAP = 1e-9


def _spend(model, solution) -> dict:
    a = tabulate(model, solution).allocation
    return dict(zip(zip(a.region, a.channel, a.period), a.spend))


def _rounds(data, model, solution, n: int, overestimate: bool = False, fixed=None):
    """``n`` rounds of new breakpoints where the plan spends (as the refinement adds them), each
    pushed into the live ``model`` and compared with a fresh build solved from scratch."""
    points: dict = {}
    for _ in range(n):
        _add(points, data, _spend(model, solution))
        new = dataclasses.replace(data, extra_points=_frozen(points), overestimate=overestimate)
        columns = model._runner.highs.getNumCol()
        model.update(new)
        assert model._runner.highs.getNumCol() > columns  # new segment columns in the live model
        solution = model.solve(mip_gap=GAP)
        fresh = build_model(new, unit=model.unit)
        fresh.hold(fixed)
        cold = fresh.solve(mip_gap=GAP)
        assert solution.status == cold.status == Status.OPTIMAL
        assert solution.objective == pytest.approx(cold.objective, rel=GAP)
        for name in ("lb", "ub", "integer", "c", "row_lo", "row_hi"):  # the model's own arrays: the fresh build's
            assert np.array_equal(getattr(model.form, name), getattr(fresh.form, name)), name
        assert (model.form.matrix != fresh.form.matrix).nnz == 0
        _same_plans(tabulate(model, solution), tabulate(fresh, cold))
    return solution


def _same_plans(a, b) -> None:
    """The same plan: margins, totals, each cell's spend and revenue over the year, headcount.
    (A period's spend is not unique: period curves share their annual segments' slopes, so
    spend may move between periods of a cell at no cost, warm or cold.)"""
    for key in ("pwl_objective", "revenue", "marketing_spend", "people_cost", "reserve"):
        assert a.summary[key] == pytest.approx(b.summary[key], rel=1e-9, abs=1e-6), key
    for name in ("spend", "revenue"):
        x, y = (p.allocation.groupby(["region", "channel"])[name].sum() for p in (a, b))
        assert np.allclose(x, y, rtol=1e-7, atol=1e-6 * max(1.0, float(np.abs(y).max()))), name
    if len(a.headcount):
        assert np.allclose(a.headcount.core, b.headcount.core) and np.allclose(a.headcount.temp, b.headcount.temp)


def test_new_breakpoints_in_the_live_lp_equal_a_fresh_build():
    data = planning_data(lp_scenario())
    model = build_model(data)
    _rounds(data, model, model.solve(), 3)
    warm = build_model(data)  # and the certificate model (slopes of kept segments change too)
    _rounds(data, warm, warm.solve(), 2, overestimate=True)


def test_s_curve_gates_are_retired_and_added_in_the_live_mip():
    """Hill curves with shape 2 have gate binaries and rows; split segments replace them."""
    hill = "{type: hill, max_lift: 900000, half_saturation: 200000, shape: 2.2}"
    sc = scenario([hill, "{type: log, scale_lift: 300000, scale: 50000}"], 400_000,
                  periods="periods: {names: [H1, H2], seasonality: [40%, 60%]}")
    data = planning_data(sc)
    model = build_model(data)
    assert model.form.integer.any()
    rows = model.nrows
    _rounds(data, model, model.solve(mip_gap=GAP), 2)
    assert model._runner.highs.getNumRow() > rows  # retired gate rows stay (free), new ones were added


def test_held_headcount_is_released_into_a_warm_mip_start():
    """The staffing MIP: headcount held (an LP, refined warm), then released: the live MIP
    equals a fresh build's at a 1e-9 gap, starting from the held plan."""
    data = planning_data(load_scenario(SCENARIOS / "quarter_12_weeks.yaml").with_changes({"budget.total": "7M"}))
    model = build_model(data)
    first = model.solve(mip_gap=GAP)
    h = tabulate(model, first).headcount
    fixed = {(r, p): (float(c), float(t)) for r, p, c, t in zip(h.region, h.period, h.core, h.temp)}
    model.hold(fixed)
    assert not model.form.integer.any()  # concave curves: held headcount leaves an LP
    held = _rounds(data, model, model.solve(), 2, fixed=fixed)
    model.hold(None)
    assert model.form.integer.any() and model.held is None
    assert model._runner.last is not None  # the held plan, given to HiGHS as the MIP start
    released = model.solve(mip_gap=GAP)
    fresh = build_model(model.data, unit=model.unit)
    cold = fresh.solve(mip_gap=GAP)
    assert released.status == cold.status == Status.OPTIMAL
    assert released.objective == pytest.approx(cold.objective, rel=1e-8)
    assert released.objective >= held.objective - 1e-9 * abs(held.objective)  # at least the held plan


def test_refinement_warm_gives_the_rebuilt_rounds_plan(monkeypatch):
    """The textbook log case (an LP): the refinement with live models and with a rebuild every
    round (``update`` refused) give the same plan and certificate."""
    warm = solve(textbook("1e-9"))

    def refuse(self, data):
        raise RebuildRequired(RebuildReason.BREAKPOINTS, "refused by the test")

    monkeypatch.setattr(PlanningModel, "update", refuse)
    cold = solve(textbook("1e-9"))
    for key in ("objective", "pwl_objective", "exact_curve_bound", "exact_curve_gap", "exact_rounds"):
        assert warm.summary[key] == pytest.approx(cold.summary[key], rel=1e-9, abs=1e-12), key
    assert np.allclose(warm.allocation.spend, cold.allocation.spend, rtol=1e-7)
