"""The one planning model: ``update`` then ``solve`` equals a fresh build and solve, a change that
needs new rows, columns or breakpoints raises ``RebuildRequired`` with its reason, the exported model
is the model solved, and ``api.run`` writes the folder ``allocator run`` writes."""

import json
import re
from pathlib import Path

import highspy
import numpy as np
import openpyxl
import pandas as pd
import pytest

from allocator import load_scenario
from allocator.api import run, solve
from allocator.model.build import RESERVE_EPS, build_model
from allocator.model.data import planning_data
from allocator.model.kinds import RebuildReason, RebuildRequired, RowKind, Status
from allocator.plan import tabulate
from allocator.sensitivity.resolve import with_ceilings
from tests.conftest import SCENARIOS, run_cli
from tests.test_sensitivity import lp_scenario

QUARTER = SCENARIOS / "quarter_12_weeks.yaml"

# every kind of number a sweep may move (`--set` / `--param` paths), family by family
LP_CHANGES = [
    {"budget.total": "2.7M"},  # budget and reserve rows
    {"budget.reserve.min": "6%", "budget.reserve.max": "7%"},
    {"targets.growth_floor.growth": "25%"},  # growth floors
    {"regions[east].growth_floor": "8%"},
    {"regions[west].last_year_revenue": "5.2M"},
    {"regions[east].potential": "18M"},  # potential
    {"targets.revenue": "20.5M"},  # revenue floor
    {"response[east/offline].spend.min": "400k"},  # spend bounds
    {"response[east/online].spend.max": "9M", "response[west/online].base": "2.5M"},  # and response rows
    {"channels[online].gross_margin": "44%"},  # objective and ROI rows
    {"response[west/online].gross_margin": "40%"},
    {"channels[online].min_roi": 0.2},  # ROI floors
    {"response[east/offline].min_roi": 0.2},
    {"policies[west share].min": "45%"},  # policies
    {"policies[west share].max": "55%"},
]
STAFF_CHANGES = [
    {"sales_force.current.east": 18, "sales_force.max_hires_per_period": 3},  # flow and hire rows
    {"sales_force.revenue_capacity": "1.2M", "sales_force.cost_per_head": "75k"},  # capacity, people cost
    {"sales_force.temp_staff.cost_per_head": "2.5k", "sales_force.hire_cost": "12k",
     "sales_force.temp_staff.share_of_people_cost.max": "14%"},  # temp share, budget, objective
    {"budget.total": "7.5M"},
]


def _models(base, changes, **extra):
    """The model of ``base`` updated to ``changes`` and a fresh build of the changed data, both at
    the breakpoints a sweep over the two would use (the larger spend bound of each cell)."""
    old, new = planning_data(base), planning_data(base.with_changes(changes))
    reach = {(a.region, a.channel): max(a.hi, b.hi) for a, b in zip(old.cells, new.cells)}
    model = build_model(with_ceilings(old, reach))
    return model, with_ceilings(new, reach)


def _same_tables(a, b, rel):
    for name in ("allocation", "headcount", "constraints"):
        x, y = getattr(a, name), getattr(b, name)
        assert list(x.columns) == list(y.columns) and len(x) == len(y), name
        for column in x.columns:
            if x[column].dtype.kind in "fiub":
                u, v = x[column].to_numpy(float), y[column].to_numpy(float)
                scale = max(1.0, float(np.nanmax(np.abs(u))) if len(u) else 1.0)
                assert np.allclose(u, v, rtol=rel, atol=rel * scale, equal_nan=True), (name, column)
            else:
                assert (x[column].astype(str) == y[column].astype(str)).all(), (name, column)


def assert_same_arrays(a, b) -> None:
    """Two linear forms with the same numbers everywhere (objective, bounds, rows, matrix)."""
    for name in ("c", "lb", "ub", "row_lo", "row_hi", "integer"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert (a.matrix != b.matrix).nnz == 0


def _check_update(base, changes, solver, gap):
    model, data = _models(base, changes)
    before = model.solve(solver, mip_gap=gap)  # live: HiGHS keeps the model, CBC does not
    assert before.status == Status.OPTIMAL
    model.update(data)
    fresh = build_model(data, unit=model.unit)
    assert_same_arrays(model.form, fresh.form)
    warm, cold = model.solve(solver, mip_gap=gap), fresh.solve(solver, mip_gap=gap)
    assert warm.status == cold.status == Status.OPTIMAL
    assert warm.objective == pytest.approx(cold.objective, rel=1e-9)
    plan_warm, plan_cold = tabulate(model, warm), tabulate(fresh, cold)
    # the interpolant's margin is unique; `objective` reads a vertex on the exact curves, and two
    # equally good vertices of the interpolant may read differently there
    for key in ("pwl_objective", "revenue", "marketing_spend", "people_cost", "reserve"):
        assert plan_warm.summary[key] == pytest.approx(plan_cold.summary[key], rel=1e-9, abs=1e-6), key
    # from the last basis HiGHS may stop at another optimal vertex (the periods' curves have
    # equal slopes: spend may move between periods at no cost); from scratch the updated model
    # gives the fresh build's plan, table for table
    _same_tables(tabulate(model, model.solve(solver, mip_gap=gap, warm=False)), plan_cold, 1e-9)


@pytest.mark.parametrize("solver", ["highs", "cbc"])
@pytest.mark.parametrize("changes", LP_CHANGES, ids=lambda c: ",".join(c))
def test_update_then_solve_equals_a_fresh_build_for_every_family(changes, solver):
    _check_update(lp_scenario(), changes, solver, 1e-9)


@pytest.mark.parametrize("solver", ["highs", "cbc"])
@pytest.mark.parametrize("changes", STAFF_CHANGES, ids=lambda c: ",".join(c))
def test_update_then_solve_equals_a_fresh_build_on_the_staffing_mip(changes, solver):
    base = load_scenario(QUARTER).with_changes({"budget.total": "7M"})
    _check_update(base, changes, solver, 1e-9)


def test_an_update_pushes_only_what_changed():
    from allocator.model.changes import diff

    model = build_model(planning_data(lp_scenario()))
    new = build_model(planning_data(lp_scenario().with_changes({"targets.revenue": "20.5M"})), unit=model.unit)
    change = diff(model, new)
    assert len(change.coef_rows) == len(change.cols) == len(change.cost_cols) == 0
    assert [model.kinds[i] for i in change.rows] == [RowKind.REVENUE_FLOOR]
    assert change.row_lo[0] * model.unit == pytest.approx(20.5e6)


@pytest.mark.parametrize("changes, reason", [
    ({"response[east/online].curve.max_lift": "9M"}, RebuildReason.BREAKPOINTS),
    ({"periods.seasonality": ["50%", "50%"]}, RebuildReason.BREAKPOINTS),
    ({"response[east/online].spend.max": "14M"}, RebuildReason.BREAKPOINTS),  # above the built maximum
    ({"regions[west].potential": "12M"}, RebuildReason.STRUCTURE),  # a new row
    ({"policies[west share].of": {"region": ["west"]}}, RebuildReason.SPARSITY),  # same rows, fewer columns
])
def test_a_change_of_shape_raises_rebuild_required_with_its_reason_and_changes_nothing(changes, reason):
    model = build_model(planning_data(lp_scenario()))
    before = model.solve()
    with pytest.raises(RebuildRequired) as info:
        model.update(planning_data(lp_scenario().with_changes(changes)))
    assert info.value.reason == reason
    assert model.solve().objective == pytest.approx(before.objective, rel=1e-12)


def test_a_policy_on_other_cells_is_changed_in_place():
    """``where: east`` instead of ``west``: the row keeps its columns (both are in ``of``), only
    coefficients change, so the model is updated, not rebuilt."""
    changed = lp_scenario().with_changes({"policies[west share].where.region": ["east"]})
    model = build_model(planning_data(lp_scenario()))
    model.solve()
    model.update(planning_data(changed))
    assert model.solve().objective == pytest.approx(build_model(planning_data(changed), unit=model.unit)
                                                    .solve().objective, rel=1e-9)


def test_a_new_staffing_layout_raises_rebuild_required():
    base = load_scenario(QUARTER)
    model = build_model(planning_data(base))
    with pytest.raises(RebuildRequired) as info:
        model.update(planning_data(base.with_changes({"sales_force.allow_release": True})))
    assert info.value.reason == RebuildReason.STRUCTURE and "staffing" in str(info.value)


def _highs_alone(path: Path) -> tuple[float, np.ndarray]:
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_rel_gap", 0.0)
    assert h.readModel(str(path)) == highspy.HighsStatus.kOk
    h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    return h.getInfo().objective_function_value, np.asarray(h.getSolution().col_value)


@pytest.mark.parametrize("suffix", [".mps", ".lp"])
@pytest.mark.parametrize("scenario", ["lp", "quarter"])
def test_the_exported_model_solved_by_highspy_alone_gives_the_runs_objective(tmp_path, suffix, scenario):
    sc = lp_scenario() if scenario == "lp" else load_scenario(QUARTER)
    path = tmp_path / f"model{suffix}"
    plan = solve(sc, mip_gap=0.0, write_model=path)
    model = plan.model  # the model of the last refinement round: the one whose plan was kept
    objective, x = _highs_alone(path)
    assert len(x) == model.ncols
    margin = (objective - RESERVE_EPS * x[model.reserve]) * model.unit  # the tie-break is not margin
    assert margin == pytest.approx(plan.summary["pwl_objective"], rel=1e-9)


def test_write_model_on_the_command_line_needs_mps_or_lp(tmp_path):
    result = run_cli("run", QUARTER, "--out", tmp_path, "--write-model", tmp_path / "model.txt")
    assert result.returncode == 2 and "--write-model" in result.stderr
    assert not any(tmp_path.iterdir())
    result = run_cli("run", QUARTER, "--out", tmp_path, "--write-model", tmp_path / "model.mps")
    assert result.returncode == 0, result.stderr
    objective, _ = _highs_alone(tmp_path / "model.mps")
    assert objective > 0


def _timeless(text: str) -> str:
    """Without timings and the provenance's clock (the two runs are seconds apart)."""
    text = re.sub(r"\(\d+\.\d+ s\)", "(s)", text)
    return re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", "(when)", text)


def _same_folder(a: Path, b: Path) -> None:
    names = sorted(p.relative_to(a) for p in a.rglob("*"))
    assert names == sorted(p.relative_to(b) for p in b.rglob("*"))
    for name in names:
        x, y = a / name, b / name
        if x.is_dir():
            continue
        if x.suffix == ".json":
            u, v = json.loads(x.read_text()), json.loads(y.read_text())
            u.pop("solve_seconds", None), v.pop("solve_seconds", None)
            assert u == v, name
        elif x.suffix == ".xlsx":
            wa, wb = openpyxl.load_workbook(x), openpyxl.load_workbook(y)
            assert wa.sheetnames == wb.sheetnames
            for sheet in wa.sheetnames:
                rows_a = [[c for c in r] for r in wa[sheet].iter_rows(values_only=True)]
                rows_b = [[c for c in r] for r in wb[sheet].iter_rows(values_only=True)]
                assert len(rows_a) == len(rows_b), sheet
                for ra, rb in zip(rows_a, rows_b):
                    if ra and ("solve_seconds" in ra or "run at (UTC)" in ra):
                        continue
                    assert ra == rb, (sheet, ra, rb)
        elif x.suffix == ".html":
            assert _timeless(x.read_text()) == _timeless(y.read_text()), name
        elif x.suffix == ".csv":
            assert _timeless(x.read_text()) == _timeless(y.read_text()), name
        else:
            assert x.read_bytes() == y.read_bytes(), name


def test_api_run_writes_the_folder_allocator_run_writes(tmp_path):
    result = run_cli("run", QUARTER, "--out", tmp_path / "cli")
    assert result.returncode == 0, result.stderr
    folder = run(load_scenario(QUARTER)).write(tmp_path / "api")
    assert (folder / "targets_day.csv").exists()  # the decomposition ran
    _same_folder(tmp_path / "cli" / folder.name, folder)


def test_plan_tables_read_capacity_and_people_cost_from_the_staffing_family():
    plan = solve(load_scenario(QUARTER))
    sf = load_scenario(QUARTER).sales_force
    h = plan.headcount
    length = 1 / 12
    expected = sf.revenue_capacity * length * h.core + sf.temp_staff.revenue_capacity * h.temp
    assert np.allclose(h.capacity, expected)
    people = (sf.cost_per_head * length * h.core.sum() + sf.hire_cost * h.hires.sum()
              + sf.release_cost * h.releases.sum() + sf.temp_staff.cost_per_head * h.temp.sum())
    assert plan.summary["people_cost"] == pytest.approx(people, rel=1e-12)
    assert isinstance(pd.DataFrame(plan.constraints), pd.DataFrame)


@pytest.mark.parametrize("scenario", ["annual_plan.yaml", "quarter_12_weeks.yaml", "infeasible_growth.yaml"])
def test_every_row_names_each_column_once(scenario):
    """The matrix takes rows as the families give them: a repeated column would be a bug."""
    data = planning_data(load_scenario(SCENARIOS / scenario))
    for model in (build_model(data), build_model(data, elastic=True), build_model(data, budget_slack=True)):
        m = model.form.matrix
        for i in range(m.shape[0]):
            cols = m.indices[m.indptr[i]:m.indptr[i + 1]]
            assert len(np.unique(cols)) == len(cols), (model.kinds[i], model.labels[i])


def test_a_solver_failure_is_status_error_with_the_solvers_message():
    from allocator.api import plan_of
    from allocator.solve import HighsRunner

    model = build_model(planning_data(lp_scenario()))
    form = model.form
    form.c[0] = np.nan  # HiGHS refuses such a model
    solution = HighsRunner(form).run(None, 1e-4)
    assert solution.status == Status.ERROR and "HiGHS" in solution.message
    plan = plan_of(model, solution)
    assert plan.status == "error" and not plan.has_plan and plan.summary["message"] == solution.message


def test_importing_the_plotting_modules_leaves_the_matplotlib_backend_alone():
    import subprocess
    import sys

    code = ("import matplotlib; matplotlib.use('svg'); import allocator.report.html, allocator.report.comparison, "
            "allocator.sensitivity.plots, allocator.frontier, allocator.cli; print(matplotlib.get_backend())")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "svg"
