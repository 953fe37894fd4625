"""Limits that keep a command bounded (issue 15.3, 15.4, 15.6 and the budget range): one time limit
for the whole solve, a bounded breakpoint placement, grids counted before they are built.

No test here is timed: the deadline runs on a fake clock that each solve moves forward.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest
import scipy.sparse as sp
from typer.testing import CliRunner

from allocator import cli, deadline, load_scenario, solve
from allocator.model import curves
from allocator.scenario import ScenarioError
from allocator.scenario.schema import ExpCurve
from allocator.sensitivity.grid import MAX_POINTS, check_grid, points
from allocator.solve import HighsRunner, LinearForm, Solution, Status
from tests.conftest import SCENARIOS
from tests.test_run_folder_safety import small

QUARTER = SCENARIOS / "quarter_12_weeks.yaml"
INFEASIBLE = SCENARIOS / "infeasible_growth.yaml"


def invoke(*args: object):
    return CliRunner().invoke(cli.app, [str(a) for a in args], env={"COLUMNS": "200"})


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fake_clock(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(deadline, "clock", clock)
    return clock


def slow_solves(monkeypatch, clock: FakeClock, seconds: float) -> list[float | None]:
    """Every solve of the command takes ``seconds`` on the fake clock; returns the limits they got."""
    import allocator.api
    import allocator.diagnose

    limits: list[float | None] = []
    real = sys.modules["allocator.solve"].solve_model

    def timed(model, solver="highs", time_limit=None, mip_gap=1e-4):
        limits.append(time_limit)
        result = real(model, solver, None, mip_gap)  # solved whole: outcomes never depend on real time
        clock.now += seconds
        return result

    monkeypatch.setattr(allocator.api, "solve_model", timed)
    monkeypatch.setattr(allocator.diagnose, "solve_model", timed)
    return limits


# --- 3. --time-limit covers the whole command -----------------------------------------------


def test_a_deadline_counts_down_and_never_hands_a_solver_zero_seconds(fake_clock):
    d = deadline.Deadline(10.0)
    assert d.remaining() == 10.0 and not d.expired()
    fake_clock.now += 4.0
    assert d.remaining() == 6.0 and d.solver_limit() == 6.0
    fake_clock.now += 100.0
    assert d.remaining() == 0.0 and d.expired()
    assert 0 < d.solver_limit() <= 1e-3
    assert d.solver_limit(grace=True) == pytest.approx(0.5)  # 5% of 10 s for a dual LP
    assert deadline.Deadline(None).solver_limit() is None and deadline.Deadline.of(d) is d


def test_the_diagnosis_shares_the_time_limit_with_the_main_solve(monkeypatch, fake_clock):
    limits = slow_solves(monkeypatch, fake_clock, seconds=4.0)
    plan = solve(load_scenario(INFEASIBLE), time_limit=10.0)
    assert plan.status == "infeasible"
    assert len(limits) == 3  # main solve, elastic model, budget-needed model
    assert limits[0] == pytest.approx(10.0) and limits[1] == pytest.approx(6.0) and limits[2] == pytest.approx(2.0)
    assert plan.diagnosis["unfinished"] == []


def test_a_diagnosis_out_of_time_says_what_it_could_not_finish(monkeypatch, fake_clock):
    limits = slow_solves(monkeypatch, fake_clock, seconds=6.0)
    plan = solve(load_scenario(INFEASIBLE), time_limit=10.0)
    assert len(limits) == 2  # the budget-needed model is never started: no time is left
    assert limits[1] == pytest.approx(4.0)
    assert plan.diagnosis["unfinished"] == ["how much more budget would do"]
    assert plan.diagnosis["budget_needed"] is None and not plan.diagnosis["hard_conflict"]
    assert "could not finish in time: how much more budget would do" in plan.diagnosis["explanation"]
    assert plan.diagnosis["gave"]  # what the elastic model did find is kept


def test_an_elastic_model_cut_short_is_not_called_a_hard_conflict(monkeypatch, fake_clock):
    slow_solves(monkeypatch, fake_clock, seconds=20.0)  # the main solve alone uses the whole limit
    plan = solve(load_scenario(INFEASIBLE), time_limit=10.0)
    diagnosis = plan.diagnosis
    assert diagnosis["unfinished"] == ["which constraints had to give", "how much more budget would do"]
    assert not diagnosis["hard_conflict"] and "cannot hold together" not in diagnosis["explanation"]


def test_gives_found_by_an_elastic_model_stopped_at_the_limit_are_not_called_smallest(monkeypatch):
    import dataclasses

    import allocator.diagnose

    real = sys.modules["allocator.solve"].solve_model
    calls = []

    def stopped_at_limit(model, solver="highs", time_limit=None, mip_gap=1e-4):
        calls.append(1)
        result = real(model, solver, None, mip_gap)
        return dataclasses.replace(result, status=Status.FEASIBLE) if len(calls) == 1 else result

    monkeypatch.setattr(allocator.diagnose, "solve_model", stopped_at_limit)
    plan = solve(load_scenario(INFEASIBLE), time_limit=60.0)
    assert plan.diagnosis["gave"] and plan.diagnosis["unfinished"] == ["proving these gives are the smallest"]


# --- HiGHS refusing a model -----------------------------------------------------------------


def test_a_model_highs_refuses_says_so():
    form = LinearForm(np.array([1.0]), np.array([0.0]), np.array([1.0]), np.array([False]),
                      sp.csr_matrix(np.array([[1e16]])), np.array([-np.inf]), np.array([1.0]))
    solution = HighsRunner(form).run(None, 1e-4)
    assert solution.status == Status.ERROR  # a solver failure, with its words: not "out of time"
    assert "refused" in solution.message and "1e+16" in solution.message


def test_run_tells_a_refused_model_from_one_out_of_time(tmp_path, monkeypatch):
    def refused(model, solver="highs", time_limit=None, mip_gap=1e-4):
        empty = np.array([])
        return Solution(Status.NOT_SOLVED, empty, empty, empty, float("nan"), 0.0, 0.0, solver,
                        "HiGHS refused it, past the 1e15 it accepts")

    monkeypatch.setattr("allocator.api.solve_model", refused)
    result = invoke("run", QUARTER, "--out", tmp_path)
    assert result.exit_code == 1
    assert "refused" in result.output and "raise --time-limit" not in result.output
    assert list(tmp_path.iterdir()) == []


# --- budget.total within the range the model can scale -------------------------------------


@pytest.mark.parametrize("total", [1e308, 1e-300, 1e16])
def test_a_budget_the_model_cannot_scale_is_invalid_input(total):
    with pytest.raises(ScenarioError) as info:
        load_scenario(QUARTER).with_changes({"budget.total": total})
    assert [p.path for p in info.value.problems] == ["budget.total"]


def test_a_budget_of_1e308_is_exit_2_on_the_command_line(tmp_path):
    result = invoke("run", QUARTER, "--out", tmp_path, "--set", "budget.total=1e308")
    assert result.exit_code == 2 and "budget.total" in result.output and "internal error" not in result.output


# --- 4. breakpoint placement is bounded -----------------------------------------------------


def test_a_pwl_tolerance_below_the_tested_minimum_is_an_error_with_its_line(tmp_path):
    path = small(tmp_path)
    text = path.read_text(encoding="utf-8") + "solver: {pwl_tolerance: 1e-8}\n"
    path.write_text(text, encoding="utf-8")
    result = invoke("validate", path)
    assert result.exit_code == 2, result.output
    line = len(text.splitlines())
    assert f"{path}:{line} solver.pwl_tolerance: must be between" in result.output


def test_the_smallest_allowed_tolerance_is_accepted():
    assert load_scenario(QUARTER).with_changes({"solver.pwl_tolerance": 1e-6}).solver.pwl_tolerance == 1e-6


def test_breakpoint_placement_stops_at_its_cap_with_a_clear_error(monkeypatch):
    calls = []
    real = curves._chord_gap

    def counted(*args):
        calls.append(1)
        if len(calls) > 400_000:
            raise RuntimeError("breakpoint placement is not bounded")
        return real(*args)

    monkeypatch.setattr(curves, "_chord_gap", counted)
    curve = ExpCurve(type="exp", max_lift=1e6, scale=1e5)
    with pytest.raises(ScenarioError) as info:
        curves.breakpoints(curve, 1e6, 1e6, 1e-12)
    assert "pwl_tolerance" in str(info.value) and str(curves.MAX_BREAKPOINTS) in str(info.value)
    assert len(calls) < 40 * curves.MAX_BREAKPOINTS


# --- 6. grids are counted before they are built --------------------------------------------


def test_a_full_grid_over_the_cap_is_refused_before_any_point_is_built():
    grid = {"budget.total": list(range(400)), "budget.reserve.max": list(range(400))}
    with pytest.raises(ScenarioError) as info:
        points(grid)
    assert "400 x 400 = 160000 points" in str(info.value) and str(MAX_POINTS) in str(info.value)


def test_check_grid_counts_a_huge_grid_before_checking_its_values():
    class Untouchable:
        def with_changes(self, changes):
            raise AssertionError("values were checked before the grid was counted")

    grid = {f"p{i}": list(range(1000)) for i in range(3)}
    with pytest.raises(ScenarioError) as info:
        check_grid(Untouchable(), grid)
    assert "1000 x 1000 x 1000" in str(info.value)


def test_the_sweep_command_refuses_a_grid_of_a_billion_points(tmp_path):
    result = invoke("sweep", QUARTER, "--out", tmp_path, "--param", "budget.total=5M..9M:1000",
                    "--param", "budget.reserve.max=8%..9%:1000", "--param", "budget.reserve.min=1%..2%:1000")
    assert result.exit_code == 2 and "points; at most" in result.output


def test_frontier_points_are_capped(tmp_path):
    result = invoke("frontier", QUARTER, "--budget", "5M..9M", "--points", "1000000000", "--out", tmp_path)
    assert result.exit_code == 2 and "--points" in result.output and "at most" in result.output
