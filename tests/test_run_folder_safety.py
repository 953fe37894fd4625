"""Run folders are written safely (issue 15): no link followed, no shared temp name, no folder
left by a killed run, no plan lost to a report that cannot be drawn, no crash on a damaged folder."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from allocator import cli, load_scenario, output, solve
from allocator.solve import Solution, Status
from tests.conftest import ROOT, SCENARIOS

QUARTER = SCENARIOS / "quarter_12_weeks.yaml"

SMALL = """\
scenario: {name}
currency: {currency}
periods: {{names: [P1, P2]}}
budget: {{total: 1M}}
regions: [{{id: {region}}}]
channels: [{{id: web, gross_margin: 40%}}]
response:
  - region: {region}
    channel: web
    curve: {{type: hill, max_lift: 3M, half_saturation: 400k, shape: 1.0}}
"""


def small(tmp_path: Path, name: str = "small", currency: str = "CNY", region: str = "r") -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(SMALL.format(name=name, currency=json.dumps(currency), region=json.dumps(region)),
                    encoding="utf-8")
    return path


def invoke(*args: object):
    return CliRunner().invoke(cli.app, [str(a) for a in args], env={"COLUMNS": "200"})


@pytest.fixture(scope="module")
def plan():
    return solve(load_scenario(QUARTER))


@pytest.fixture
def run_dir(plan, tmp_path):
    return plan.write(tmp_path / "runs")


# --- 1. `report` never follows a planted link; concurrent reports do not collide -----------


def test_report_does_not_follow_a_link_planted_at_the_old_temp_name(run_dir, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    for name in ("report.html", "plan.xlsx"):
        (run_dir / f".{name}.partial").symlink_to(victim)
    result = invoke("report", run_dir)
    assert result.exit_code == 0, result.output
    assert victim.read_text() == "keep me"
    for name in ("report.html", "plan.xlsx"):
        assert (run_dir / name).is_file() and not (run_dir / name).is_symlink()
    assert (run_dir / "report.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_report_replaces_a_link_at_the_target_instead_of_writing_through_it(run_dir, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (run_dir / "report.html").unlink()
    (run_dir / "report.html").symlink_to(victim)
    assert invoke("report", run_dir).exit_code == 0
    assert victim.read_text() == "keep me"
    assert not (run_dir / "report.html").is_symlink()


def test_two_concurrent_reports_both_succeed_and_leave_no_temp_files(run_dir):
    command = [sys.executable, "-m", "allocator", "report", str(run_dir)]
    procs = [subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    results = [p.communicate(timeout=300) + (p.returncode,) for p in procs]
    assert [code for _, _, code in results] == [0, 0, 0], results
    assert not [p.name for p in run_dir.iterdir() if p.name.startswith(".")]


# --- hidden folders left by a killed run ---------------------------------------------------


def _partial(folder: Path, name: str, age: float) -> Path:
    path = folder / name
    path.mkdir(parents=True)
    (path / "summary.json").write_text("{}")
    old = time.time() - age
    os.utime(path, (old, old))
    return path


def test_the_next_run_removes_partial_folders_left_by_a_killed_run_but_not_live_ones(plan, tmp_path):
    out = tmp_path / "runs"
    stale = _partial(out, ".q3-weekly.k1ll3d00.partial", age=3600)
    young = _partial(out, ".q3-weekly.st4rt1ng.partial", age=0)
    live = _partial(out, ".q3-weekly.wr1t1ng0.partial", age=3600)
    fd = os.open(live, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)  # a writer still at work holds its folder's lock
    try:
        folder = plan.write(out)
    finally:
        os.close(fd)
    assert folder == out / "q3-weekly"
    assert not stale.exists()
    assert young.exists() and live.exists()


def test_a_link_named_like_a_partial_folder_is_not_followed_by_the_clean_up(plan, tmp_path):
    elsewhere = _partial(tmp_path / "elsewhere", "precious", age=3600)
    out = tmp_path / "runs"
    out.mkdir()
    (out / ".q3-weekly.l1nk0000.partial").symlink_to(elsewhere)
    plan.write(out)
    assert (elsewhere / "summary.json").exists()


# --- --out checked before solving ---------------------------------------------------------


def _no_solving(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("solved although --out cannot be written")

    monkeypatch.setattr("allocator.api.solve", refuse)


def test_an_out_folder_below_a_file_is_found_before_solving(tmp_path, monkeypatch):
    _no_solving(monkeypatch)
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = invoke("run", QUARTER, "--out", blocker / "runs")
    assert result.exit_code == 2, result.output
    assert "--out" in result.output and "cannot write" in result.output


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_an_unwritable_out_folder_is_found_before_solving(tmp_path, monkeypatch):
    _no_solving(monkeypatch)
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    result = invoke("run", QUARTER, "--out", locked / "runs")
    assert result.exit_code == 2 and "not writable" in result.output


# --- not_solved writes nothing -------------------------------------------------------------


def test_a_run_stopped_before_any_plan_writes_nothing(tmp_path, monkeypatch):
    def stopped(model, solver="highs", time_limit=None, mip_gap=1e-4):
        empty = pd.Series(dtype=float).to_numpy()
        return Solution(Status.NOT_SOLVED, empty, empty, empty, float("nan"), 0.0, 0.001, solver)

    monkeypatch.setattr("allocator.api.solve_model", stopped)
    out = tmp_path / "runs"
    result = invoke("run", QUARTER, "--out", out, "--time-limit", "0.001")
    assert result.exit_code == 1, result.output
    assert "before any plan was found" in result.output and "written:" not in result.output  # not_solved, in words
    assert not out.exists() or list(out.iterdir()) == []


# --- CSV text a spreadsheet would run --------------------------------------------------------


@pytest.mark.parametrize("text", ["\tcmd", "\rcmd", "=1+2", "@SUM(A1)"])
def test_csv_defuses_text_starting_with_a_formula_character_tab_or_cr(tmp_path, text):
    path = tmp_path / "t.csv"
    output.write_csv(pd.DataFrame({"region": [text], "spend": [1.0]}), path)
    assert path.read_bytes().split(b"\n")[1].startswith(b"'" + text[:1].encode())
    if "\r" not in text:  # pandas writes a CR unquoted, so it never reads back as one cell (ids cannot hold one)
        assert output.read_csv(path, ("region",))["region"][0] == text


# --- a damaged run folder given to `report` is exit 2 ---------------------------------------


@pytest.mark.parametrize("damage", [
    lambda d: (d / "summary.json").write_text('{"status": "optimal", "obj'),
    lambda d: (d / "summary.json").write_text("[1, 2]"),
    lambda d: (d / "summary.json").write_text('{"status": "great"}'),
    lambda d: (d / "allocation.csv").write_text("region,channel\nr,c\n"),
    lambda d: (d / "allocation.csv").write_text(""),
    lambda d: (d / "headcount.csv").write_text('"unclosed\n'),
    lambda d: (d / "scenario.yaml").write_text("scenario: [\n"),
], ids=["truncated-json", "json-list", "unknown-status", "missing-columns", "empty-csv", "bad-csv", "bad-yaml"])
def test_a_damaged_run_folder_given_to_report_is_exit_2(run_dir, damage):
    damage(run_dir)
    result = invoke("report", run_dir)
    assert result.exit_code == 2, result.output
    assert str(run_dir) in result.output and "Traceback" not in result.output


def test_a_fifo_in_a_run_folder_is_refused_not_waited_on(run_dir):
    (run_dir / "diagnosis.json").unlink(missing_ok=True)
    os.mkfifo(run_dir / "diagnosis.json")
    os.mkfifo(run_dir / "allocation.csv.tmp")
    (run_dir / "allocation.csv").unlink()
    os.rename(run_dir / "allocation.csv.tmp", run_dir / "allocation.csv")
    result = subprocess.run([sys.executable, "-m", "allocator", "report", str(run_dir)], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    assert "regular file" in result.stderr


# --- 5. text that used to crash after the solve --------------------------------------------


@pytest.mark.parametrize("region, currency", [
    ("$\\foo$", "CNY"),
    ("r", "$\\frac{$"),
    ("r", "$" + "\\sqrt{" * 200 + "x" + "}" * 200 + "$"),
    ("50$ and 60$", "US$"),
], ids=["mathtext-id", "mathtext-currency", "deep-mathtext", "dollars"])
def test_text_that_looks_like_mathtext_is_drawn_as_text(tmp_path, region, currency):
    result = invoke("run", small(tmp_path, currency=currency, region=region), "--out", tmp_path / "runs")
    assert result.exit_code == 0, result.output
    folder = tmp_path / "runs" / "small"
    assert (folder / "report.html").exists() and (folder / "plan.xlsx").exists()
    assert region in set(pd.read_csv(folder / "allocation.csv", dtype=str)["region"])


@pytest.mark.parametrize("field, value", [("region", "a\x01b"), ("currency", "CN\x07Y"), ("name", "q\x1b[31m")])
def test_control_characters_in_ids_names_and_currency_are_an_error_with_the_line(tmp_path, field, value):
    path = small(tmp_path, **{field: value})
    result = invoke("validate", path)
    assert result.exit_code == 2, result.output
    assert f"{path}:" in result.output and "control character" in result.output


def test_a_scenario_name_longer_than_a_file_name_may_be_is_an_error(tmp_path):
    path = small(tmp_path, name="计划" * 40)  # 80 characters, 240 bytes of UTF-8
    result = invoke("validate", path)
    assert result.exit_code == 2 and f"{path}:1 scenario:" in result.output and "bytes" in result.output


def test_a_report_that_cannot_be_drawn_keeps_the_plan_and_is_named(tmp_path, monkeypatch):
    def broken(plan, path):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr("allocator.report.write_report", broken)
    result = invoke("run", QUARTER, "--out", tmp_path)
    assert result.exit_code == 3, result.output
    assert "report.html could not be drawn" in result.output
    folder = tmp_path / "q3-weekly"
    for name in ("summary.json", "allocation.csv", "headcount.csv", "constraints.csv", "plan.xlsx"):
        assert (folder / name).is_file(), name
    assert not (folder / "report.html").exists()
    assert json.loads((folder / "summary.json").read_text())["status"] == "optimal"


def test_a_workbook_that_fails_half_way_leaves_no_half_written_file(tmp_path, monkeypatch):
    def half(plan, path):
        path.write_bytes(b"PK\x03\x04 half a zip")
        raise ValueError("cannot convert")

    monkeypatch.setattr("allocator.report.write_workbook", half)
    result = invoke("run", QUARTER, "--out", tmp_path)
    assert result.exit_code == 3 and "plan.xlsx could not be drawn" in result.output
    folder = tmp_path / "q3-weekly"
    assert (folder / "report.html").is_file() and not (folder / "plan.xlsx").exists()


def test_report_redraws_what_it_can_and_names_what_it_cannot(run_dir, monkeypatch):
    before = (run_dir / "plan.xlsx").read_bytes()

    def broken(plan, path):
        raise ValueError("cannot convert")

    monkeypatch.setattr("allocator.report.write_workbook", broken)
    result = invoke("report", run_dir)
    assert result.exit_code == 3 and "plan.xlsx could not be drawn" in result.output
    assert (run_dir / "plan.xlsx").read_bytes() == before  # the old workbook is kept, not half-replaced
    assert not [p for p in run_dir.iterdir() if p.name.startswith(".")]

