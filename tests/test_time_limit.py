"""The default time limit: 120 s unless the scenario or `--time-limit` says otherwise; `none` is none."""

from __future__ import annotations

import json
import math

import pytest

import allocator.api
from allocator import load_scenario, solve
from allocator.scenario.schema import DEFAULT_TIME_LIMIT
from tests.conftest import ROOT, SCENARIOS, run_cli

QUARTER = SCENARIOS / "quarter_12_weeks.yaml"


def without_solver_section(tmp_path, extra: str = ""):
    """The quarter example with no `solver:` section (``extra`` appended instead)."""
    text = QUARTER.read_text(encoding="utf-8").replace("solver:\n  time_limit: 60\n", extra)
    folder = tmp_path / "scenarios"
    folder.mkdir(exist_ok=True)
    for name, target in (("models", ROOT / "models"), ("scenarios/decomposition", SCENARIOS / "decomposition")):
        if not (tmp_path / name).exists():
            (tmp_path / name).symlink_to(target)  # the paths the scenario names, relative to its file
    path = folder / "quarter.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def limits(monkeypatch) -> list:
    """The time limit each solve of ``allocator.api.solve`` passes to the solver."""
    seen = []
    real = allocator.api.solve_model

    def spy(model, solver, time_limit, mip_gap):
        seen.append(time_limit)
        return real(model, solver, time_limit, mip_gap)

    monkeypatch.setattr(allocator.api, "solve_model", spy)
    # the main solve's limit is the point here: refinement rounds (which share it) are left out
    monkeypatch.setattr(allocator.api, "refine_plan", lambda data, plan, *args: plan)
    return seen


def test_a_scenario_without_a_time_limit_stops_at_120_seconds(limits, tmp_path):
    scenario = load_scenario(without_solver_section(tmp_path))
    assert scenario.solver.time_limit == DEFAULT_TIME_LIMIT == 120.0
    solve(scenario)
    assert limits == [pytest.approx(120.0, abs=1.0)]  # what is left of 120 s when the solver starts


@pytest.mark.parametrize("value", [None, "none", "None", " NONE "])
def test_none_in_the_scenario_means_no_time_limit(value, limits):
    scenario = load_scenario(QUARTER).with_changes({"solver.time_limit": value})
    assert scenario.solver.time_limit is None
    plan = solve(scenario)
    assert limits == [None] and plan.status == "optimal"


@pytest.mark.parametrize("word", ["none", "null", "~"])
def test_the_scenario_file_reads_none_and_null_as_no_limit(word, tmp_path):
    path = without_solver_section(tmp_path, f"solver:\n  time_limit: {word}\n")
    assert load_scenario(path).solver.time_limit is None


def test_an_explicit_time_limit_overrides_the_default(limits):
    scenario = load_scenario(QUARTER)
    solve(scenario, time_limit=7.5)
    solve(scenario.with_changes({"solver.time_limit": 30}))
    solve(scenario, time_limit=math.inf)  # what `--time-limit none` passes
    assert limits == [pytest.approx(7.5, abs=0.5), pytest.approx(30.0, abs=0.5), math.inf]


def test_cli_time_limit_none_runs_without_a_limit(tmp_path):
    result = run_cli("run", QUARTER, "--out", tmp_path, "--time-limit", "none")
    assert result.returncode == 0, result.stderr
    [folder] = tmp_path.iterdir()
    assert json.loads((folder / "summary.json").read_text())["status"] == "optimal"


def test_cli_time_limit_none_runs_cbc_without_a_limit(tmp_path):
    result = run_cli("run", QUARTER, "--out", tmp_path, "--time-limit", "none", "--solver", "cbc")
    assert result.returncode == 0, result.stderr
    [folder] = tmp_path.iterdir()
    assert json.loads((folder / "summary.json").read_text())["status"] == "optimal"


@pytest.mark.parametrize("bad", ["0", "-3", "soon", "nan"])
def test_cli_rejects_a_time_limit_that_is_not_seconds_or_none(bad, tmp_path):
    result = run_cli("run", QUARTER, "--out", tmp_path, "--time-limit", bad)
    assert result.returncode == 2
    assert "--time-limit" in result.stderr and "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []
