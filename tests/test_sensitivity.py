"""Sensitivity analysis: sweeps equal individual solves, warm re-solves equal fresh builds, every
point is a row whatever happens to it, engines agree, tornado signs are the known ones."""

import copy

import numpy as np
import pandas as pd
import pytest

from allocator import Scenario, ScenarioError, load_scenario, solve
from allocator.model.data import planning_data
from allocator.plan import tabulate
from allocator.sensitivity import describe_change, parse_param, points, sweep, tornado
from allocator.sensitivity.engines import run_points
from allocator.sensitivity.grid import parse_params
from allocator.sensitivity.resolve import WarmSolver, error_bound, with_ceilings
from allocator.sensitivity.summary import Summarizer
from allocator.sensitivity.sweep import ceilings
from allocator.sensitivity.worker import Job, PointSolver
from tests.conftest import SCENARIOS

QUARTER = SCENARIOS / "quarter_12_weeks.yaml"
ANNUAL = SCENARIOS / "annual_plan.yaml"

LP = {
    "scenario": "lp-sens",
    "currency": "CNY",
    "periods": {"names": ["H1", "H2"], "seasonality": ["40%", "60%"]},
    "budget": {"total": "3M", "reserve": {"min": "5%", "max": "8%"}},
    "targets": {"revenue": "20M", "growth_floor": {"mature": "5%", "growth": "20%"}},
    "regions": [
        {"id": "east", "class": "mature", "last_year_revenue": "12M", "potential": "30M"},
        {"id": "west", "class": "growth", "last_year_revenue": "5M"},
    ],
    "channels": [{"id": "online", "gross_margin": "40%", "min_roi": 0.1}, {"id": "offline", "gross_margin": "35%"}],
    "response": [
        {"region": "east", "channel": "online", "base": "5M", "curve": {"type": "exp", "max_lift": "8M", "scale": "2M"},
         "spend": {"max": "12M"}},
        {"region": "east", "channel": "offline", "base": "4M",
         "curve": {"type": "hill", "max_lift": "12M", "half_saturation": "2M"}, "spend": {"min": "200k", "max": "12M"},
         "min_roi": 0.05},
        {"region": "west", "channel": "online", "base": "2M", "curve": {"type": "log", "scale_lift": "3M", "scale": "1M"},
         "spend": {"max": "12M"}, "gross_margin": "45%"},
        {"region": "west", "channel": "offline", "base": "1.5M", "curve": {"type": "linear", "roas": 1.8, "cap": "1M"},
         "spend": {"max": "12M"}},
    ],
    "policies": [{"name": "west share", "share": "marketing_spend", "where": {"region": ["west"]},
                  "min": "30%", "max": "70%"}],
    "solver": {"pwl_tolerance": 0.0005},
}


def lp_scenario(default_bounds: bool = False) -> Scenario:
    """Marketing only (an LP, milliseconds a solve) with every changeable family: budget and reserve
    bind, so do the west growth floor and the online ROI floor. ``default_bounds`` leaves every
    cell's spend maximum at the budget."""
    d = copy.deepcopy(LP)
    if default_bounds:
        for cell in d["response"]:
            cell["spend"].pop("max")
    return Scenario.from_dict(d)


def close(a, b, rel=1e-7, abs_=1e-3) -> bool:
    return a == pytest.approx(b, rel=rel, abs=abs_)


# --- grids --------------------------------------------------------------------------------


def test_points_are_the_product_with_the_last_path_fastest_or_side_by_side_with_zip():
    grid = {"a": [1, 2], "b": ["x", "y", "z"]}
    assert points(grid)[:4] == [{"a": 1, "b": "x"}, {"a": 1, "b": "y"}, {"a": 1, "b": "z"}, {"a": 2, "b": "x"}]
    assert len(points(grid)) == 6
    assert points({"a": [1, 2], "b": [3, 4]}, zip=True) == [{"a": 1, "b": 3}, {"a": 2, "b": 4}]
    with pytest.raises(ScenarioError, match="as many values"):
        points(grid, zip=True)


def test_param_text_reads_ranges_of_amounts_and_shares_and_lists_of_yaml_values():
    assert parse_param("budget.total=20M..40M:3") == ("budget.total", [20e6, 30e6, 40e6])
    path, values = parse_param("regions[west].growth_floor=30%..50%:3")
    assert path == "regions[west].growth_floor" and np.allclose(values, [0.3, 0.4, 0.5])
    assert parse_param("regions[west].growth_floor=30%,40%") == ("regions[west].growth_floor", ["30%", "40%"])
    assert parse_param("sales_force.current.east=3,4") == ("sales_force.current.east", [3, 4])
    for bad, words in [("budget.total", "PATH=LO..HI:N"), ("budget.total=20M..40M", "point count"),
                       ("budget.total=20M..lots:3", "range ends"), ("budget.total=1..2:1", "at least 2")]:
        with pytest.raises(ScenarioError, match=words):
            parse_param(bad)
    with pytest.raises(ScenarioError, match="given twice"):
        parse_params(["budget.total=1M,2M", "budget.total=3M"])


# --- sweeps equal individual solves ---------------------------------------------------------


def test_sweep_rows_equal_individual_solves_of_the_same_overrides():
    base = load_scenario(QUARTER)
    grid = {"budget.total": ["6M", "7.5M"], "regions[north].growth_floor": ["10%", "15%"]}
    table = sweep(base, grid, engine="serial", mip_gap=1e-6)
    assert list(table.columns[:3]) == ["point", "budget.total", "regions[north].growth_floor"]
    assert table["budget.total"].tolist() == [6e6, 6e6, 7.5e6, 7.5e6]  # resolved numbers, not "6M"
    assert table["regions[north].growth_floor"].tolist() == pytest.approx([0.1, 0.15, 0.1, 0.15])
    for row, point in zip(table.itertuples(), points(grid)):
        changed = base.with_changes(point)
        plan = solve(changed, mip_gap=1e-6)
        assert row.status == plan.status
        built = with_ceilings(planning_data(changed), ceilings(base, points(grid)))
        bound = error_bound(built, planning_data(changed)) + 2e-6 * abs(plan.objective)
        assert abs(row.objective - plan.objective) <= bound + 1e-6
        assert close(row.revenue, plan.summary["revenue"], rel=1e-3)
    assert (table.method == "warm").sum() >= 3  # one build, then re-solves


@pytest.mark.parametrize("changes", [
    {"budget.total": "2.7M"},
    {"budget.reserve.min": "6%", "budget.reserve.max": "7%"},
    {"targets.growth_floor.growth": "25%"},
    {"regions[east].growth_floor": "8%"},
    {"regions[west].last_year_revenue": "5.2M"},
    {"regions[east].potential": "18M"},
    {"targets.revenue": "20.5M"},
    {"response[east/offline].spend.min": "400k"},
    {"response[east/online].spend.max": "12M", "response[west/online].base": "2.5M"},
    {"channels[online].gross_margin": "44%"},
    {"response[west/online].gross_margin": "40%"},
    {"channels[online].min_roi": 0.2},
    {"response[east/offline].min_roi": 0.2},
    {"policies[west share].min": "45%"},
    {"policies[west share].max": "55%"},
])
def test_a_warm_resolve_equals_a_fresh_build_for_each_kind_of_number(changes):
    base = lp_scenario()
    solver = PointSolver(Job(base))
    solver.solve({"budget.total": "2.9M"})  # the warm model has moved before this point
    row = solver.solve(changes)
    plan = solve(base.with_changes(changes))
    assert row["method"] == "warm"
    assert row["status"] == plan.status == "optimal"
    assert close(row["objective"], plan.summary["objective"])
    # both plans are refined on the exact curves until their margins agree; the split of a flat
    # optimum between cells (and so revenue and spend) converges more slowly than the margin
    for key in ("revenue", "marketing_spend", "reserve"):
        assert close(row[key], plan.summary[key], rel=1e-4), key
    # another optimal vertex may split the same margin differently between cells: the exact curves
    # then value it a little differently (within the curves' tolerance)
    assert close(row["exact_curve_margin"], plan.summary["exact_curve_margin"], rel=1e-3)
    assert row["budget_shadow_price"] is not None  # a valid one; at a kink not always the same (next test)


def test_budget_shadow_prices_of_warm_points_lie_between_the_slopes_either_side():
    """At a breakpoint of the curves any price between the left and right slope is a shadow price,
    so a warm and a fresh solve may report different ones: both must be valid."""
    # shadow prices of the interpolant at its kinks: the objectives compared are its own
    base, h = lp_scenario().with_changes({"solver.exact_gap": 1.0}), 1e3
    budgets = [2.65e6, 2.8e6, 2.95e6]
    table = sweep(base, {"budget.total": budgets}, engine="serial")
    for budget, price in zip(budgets, table.budget_shadow_price):
        left, mid, right = (solve(base.with_changes({"budget.total": budget + d})).summary["pwl_objective"]
                             for d in (-h, 0, h))
        assert (mid - left) / h + 1e-6 >= price >= (right - mid) / h - 1e-6


def test_sales_force_numbers_change_in_place_on_the_mip():
    base = load_scenario(QUARTER).with_changes({"budget.total": "7M"})
    solver = PointSolver(Job(base, mip_gap=1e-7))
    for changes in ({"sales_force.current.east": 18, "sales_force.max_hires_per_period": 3},
                    {"sales_force.revenue_capacity": "1.2M", "sales_force.cost_per_head": "75k"},
                    {"sales_force.temp_staff.cost_per_head": "2.5k", "sales_force.hire_cost": "12k",
                     "sales_force.temp_staff.share_of_people_cost.max": "14%"}):
        row = solver.solve(changes)
        plan = solve(base.with_changes(changes), mip_gap=1e-7)
        assert row["method"] == "warm" and row["status"] == plan.status == "optimal"
        assert close(row["objective"], plan.objective, rel=1e-6), changes
        assert close(row["people_cost"], plan.summary["people_cost"], rel=1e-6), changes


def test_a_change_of_curve_or_shape_is_rebuilt_and_still_equal():
    base = lp_scenario()
    solver = PointSolver(Job(base))
    solver.solve({})
    for changes in ({"response[east/online].curve.max_lift": "9M"}, {"periods.seasonality": ["50%", "50%"]},
                    {"regions[west].potential": "12M"}):
        row = solver.solve(changes)
        assert row["method"] == "rebuild"
        assert close(row["objective"], solve(base.with_changes(changes)).objective)
    assert solver.solve({"budget.total": "2.8M"})["method"] == "warm"  # the warm model is still there


def test_a_budget_sweep_on_default_bounds_stays_within_the_documented_bound():
    base = lp_scenario(default_bounds=True)
    budgets = [2.6e6, 2.9e6, 3.2e6, 3.5e6]
    table = sweep(base, {"budget.total": budgets}, engine="serial")
    assert (table.method == "warm").all() and (table.status == "optimal").all()
    built = with_ceilings(planning_data(base.with_changes({"budget.total": budgets[0]})), ceilings(base, points({"budget.total": budgets})))
    for row in table.itertuples():
        changed = base.with_changes({"budget.total": row._2})
        bound = error_bound(built, planning_data(changed))
        assert bound > 0 if row._2 < budgets[-1] else bound == 0
        assert abs(row.objective - solve(changed).objective) <= bound + 1e-3
    assert np.all(np.diff(table.objective) > 0)


def test_the_summary_without_tables_equals_tabulate():
    for scenario in (lp_scenario(), load_scenario(QUARTER), load_scenario(ANNUAL).with_changes({"solver.mip_gap": 0.01})):
        data = planning_data(scenario)
        warm = WarmSolver(data)
        solution = warm.runner.run(60, scenario.solver.mip_gap)
        full = tabulate(warm.model, solution).summary
        fast = Summarizer(warm.model).summary(solution, data)
        assert fast.keys() == full.keys()
        for key, value in full.items():
            if isinstance(value, float):
                assert close(fast[key], value, rel=1e-9, abs_=1e-6), (scenario.scenario, key)
            else:
                assert fast[key] == value, (scenario.scenario, key)


# --- every point is a row -------------------------------------------------------------------


def test_infeasible_points_are_rows_with_the_diagnosis_not_exceptions():
    table = sweep(load_scenario(QUARTER), {"budget.total": ["4M", "7M"]}, engine="serial")
    assert table.status.tolist() == ["infeasible", "optimal"]
    assert "growth floor" in table.message[0] and "budget.total would need" in table.message[0]
    assert np.isnan(table.objective[0]) and table.objective[1] > 0
    quiet = sweep(load_scenario(QUARTER), {"budget.total": ["4M"]}, engine="serial", explain=False)
    assert quiet.status.tolist() == ["infeasible"] and quiet.message.isna().all()


def test_values_invalid_together_are_a_row_and_a_path_no_point_could_use_raises():
    table = sweep(lp_scenario(), {"budget.reserve.min": ["5%", "7%"], "budget.reserve.max": ["6%", "8%"]},
                  engine="serial")
    assert table.status.tolist() == ["optimal", "optimal", "invalid", "optimal"]
    assert "must not exceed max (7% > 6%)" in table.message[2]
    with pytest.raises(ScenarioError) as info:
        sweep(lp_scenario(), {"regionz[west].growth_floor": ["10%"], "budget.total": ["lots"]}, engine="serial")
    assert {p.path.split("[")[0] for p in info.value.problems} == {"budget.total", "regionz"}


def test_a_point_that_fails_is_an_error_row_and_the_rest_go_on(monkeypatch):
    import allocator.sensitivity.worker as worker

    real = worker.solve

    def flaky(scenario, *args):
        if scenario.budget.total == 2.8e6:
            raise RuntimeError("solver crashed")
        return real(scenario, *args)

    monkeypatch.setattr(worker, "solve", flaky)
    table = sweep(lp_scenario(), {"budget.total": ["2.6M", "2.8M", "3M"]}, engine="serial", warm=False)
    assert table.status.tolist() == ["optimal", "error", "optimal"]
    assert table.message[1] == "RuntimeError: solver crashed"


# --- engines --------------------------------------------------------------------------------


def test_local_and_dask_engines_return_the_serial_rows_in_order():
    from dask.distributed import LocalCluster

    base = lp_scenario(default_bounds=True)
    grid = {"budget.total": ["2.2M", "2.6M", "3M", "1M"], "regions[west].growth_floor": ["15%", "25%"]}
    serial = sweep(base, grid, engine="serial")
    local = sweep(base, grid, engine="local", workers=2)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, protocol="tcp",
                      dashboard_address=None) as cluster:
        seen = []
        dask = sweep(base, grid, engine="dask", scheduler=cluster.scheduler_address,
                     progress=lambda done, total: seen.append((done, total)))
    assert seen[0] == (0, 8) and seen[-1] == (8, 8)
    assert set(serial.status) == {"optimal", "infeasible"}
    for other in (local, dask):
        pd.testing.assert_frame_equal(other[["point", *grid, "status"]], serial[["point", *grid, "status"]])
        assert np.allclose(other.objective, serial.objective, rtol=1e-7, equal_nan=True)
        assert np.allclose(other.budget_shadow_price, serial.budget_shadow_price, atol=1e-6, equal_nan=True)


def test_engine_and_worker_mistakes_are_user_errors():
    job = Job(lp_scenario())
    with pytest.raises(ScenarioError, match="engine"):
        run_points(job, [{}], engine="spark")
    with pytest.raises(ScenarioError, match="workers"):
        run_points(job, [{}], engine="local", workers=0)
    with pytest.raises(ScenarioError, match="needs the dask engine"):
        run_points(job, [{}], engine="local", scheduler="tcp://127.0.0.1:8786")


# --- tornado and change ---------------------------------------------------------------------


def test_tornado_signs_more_lift_never_lowers_the_margin_and_bars_sort_by_swing():
    table = tornado(lp_scenario(), delta=0.2, engine="serial")
    assert table.swing.is_monotonic_decreasing and (table.status_low == "optimal").all()
    by = table.set_index("param")
    lifts = [p for p in by.index if p.endswith((".max_lift", ".scale_lift", ".roas", "gross_margin"))]
    scales = [p for p in by.index if p.endswith((".half_saturation", ".scale"))]
    assert len(lifts) == 7 and len(scales) == 3
    for p in lifts:  # more lift (or margin) per unit spent never lowers the optimum
        assert by.objective_high[p] >= by.objective_low[p] - 1e-6, p
    for p in scales:  # a larger saturation scale gives less lift at every spend
        assert by.objective_high[p] <= by.objective_low[p] + 1e-6, p
    assert by.high_value["response[east/online].curve.max_lift"] == pytest.approx(9.6e6)
    assert table.attrs["base_objective"] == pytest.approx(solve(lp_scenario()).objective, rel=1e-9)


def test_tornado_rejects_inputs_it_cannot_move():
    with pytest.raises(ScenarioError, match="non-zero number"):
        tornado(lp_scenario(), params=["scenario"], engine="serial")
    with pytest.raises(ScenarioError, match="delta"):
        tornado(lp_scenario(), delta=1.5, engine="serial")


def test_describe_change_says_where_the_extra_budget_went():
    base = lp_scenario()
    low, high = solve(base.with_changes({"budget.total": "2.7M"})), solve(base)
    text = describe_change(low, high, ("2.7M", "3M"))
    assert text.startswith("From 2.7M to 3M the expected margin rises by")
    assert "Marketing grows most in" in text and "marketing +" in text
