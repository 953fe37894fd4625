"""`allocator run` as a user meets it: exit codes, messages, and run folders that are whole and new."""

import json

import pytest

from allocator import load_scenario, output, solve
from tests.conftest import SCENARIOS, run_cli

QUARTER = SCENARIOS / "quarter_12_weeks.yaml"


def test_run_prints_a_summary_and_exits_0(tmp_path):
    result = run_cli("run", QUARTER, "--out", tmp_path)
    assert result.returncode == 0, result.stderr
    assert "q3-weekly: optimal" in result.stdout
    assert "written:" in result.stdout


def test_python_dash_m_and_the_console_script_agree(tmp_path):
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    script = shutil.which("allocator", path=str(Path(sys.executable).parent))
    assert script, "the allocator console script is installed beside the interpreter"
    result = subprocess.run([script, "validate", str(QUARTER)], capture_output=True, text=True)
    assert result.returncode == 0 and "ok:" in result.stdout


def test_a_second_run_gets_a_new_folder_and_never_overwrites(tmp_path):
    first = run_cli("run", QUARTER, "--out", tmp_path)
    marker = tmp_path / "q3-weekly" / "summary.json"
    before = marker.read_text()
    second = run_cli("run", QUARTER, "--out", tmp_path, "--set", "budget.total=7M")
    assert first.returncode == second.returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["q3-weekly", "q3-weekly-2"]
    assert marker.read_text() == before
    resolved = load_scenario(tmp_path / "q3-weekly-2" / "scenario.yaml")
    assert resolved.budget.total == 7e6


def test_invalid_input_exits_2_with_file_line_and_field_and_writes_nothing(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(QUARTER.read_text().replace("total: 6M", "total: -6M").replace("../models", str(SCENARIOS.parent / "models")))
    out = tmp_path / "runs"
    result = run_cli("run", bad, "--out", out)
    assert result.returncode == 2
    assert f"{bad}:" in result.stderr and "budget.total: must be > 0" in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists() or not any(out.iterdir())


def test_bad_override_exits_2_naming_the_override(tmp_path):
    result = run_cli("run", QUARTER, "--out", tmp_path, "--set", "regions[est].growth_floor=10%")
    assert result.returncode == 2
    assert "--set regions[est].growth_floor: no item 'est' in regions; did you mean `east`?" in result.stderr
    assert not any(tmp_path.iterdir())


def test_unknown_solver_is_a_user_error(tmp_path):
    result = run_cli("run", QUARTER, "--out", tmp_path, "--solver", "gurobi")
    assert result.returncode == 2 and "must be highs or cbc" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_file_is_a_user_error(tmp_path):
    result = run_cli("run", tmp_path / "nope.yaml", "--out", tmp_path)
    assert result.returncode == 2 and "nope.yaml: file not found" in result.stderr


def test_an_output_path_that_is_a_file_is_a_clear_error(tmp_path):
    blocker = tmp_path / "runs"
    blocker.write_text("not a folder")
    result = run_cli("run", QUARTER, "--out", blocker)
    assert result.returncode == 2 and "cannot write" in result.stderr
    assert "Traceback" not in result.stderr


def test_debug_shows_the_traceback_for_user_errors(tmp_path):
    result = run_cli("run", tmp_path / "nope.yaml", "--debug")
    assert result.returncode != 0 and "Traceback" in result.stderr


def test_a_failure_while_writing_leaves_no_folder_behind(tmp_path, monkeypatch):
    plan = solve(load_scenario(QUARTER))

    def explode(plan, folder):
        (folder / "summary.json").write_text("{}")
        raise RuntimeError("disk full")

    monkeypatch.setattr(output, "write_files", explode)
    with pytest.raises(RuntimeError):
        plan.write(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_time_limit_with_an_incumbent_reports_feasible_with_its_gap(tmp_path, monkeypatch):
    # HiGHS stopped with a plan in hand (here: after its first improving plan, so the test does not
    # depend on how fast this machine is) reports `feasible` with the gap it reached
    from allocator.solve import HighsRunner

    real = HighsRunner.run

    def first_plan_only(self, time_limit, mip_gap, warm=True):
        self.highs.setOptionValue("mip_max_improving_sols", 1)
        return real(self, time_limit, mip_gap, warm)

    monkeypatch.setattr(HighsRunner, "run", first_plan_only)
    scenario = load_scenario(SCENARIOS / "annual_plan.yaml").with_changes({"solver.exact_gap": 1.0})
    plan = solve(scenario, mip_gap=0.0)
    assert plan.status == "feasible", plan.status
    assert plan.summary["mip_gap"] > 0
    monkeypatch.undo()
    result = run_cli("run", SCENARIOS / "annual_plan.yaml", "--out", tmp_path, "--time-limit", "5", "--mip-gap", "0")
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "annual-plan-fy2027" / "summary.json").read_text())
    assert summary["status"] in ("feasible", "optimal") and summary["mip_gap"] is not None
