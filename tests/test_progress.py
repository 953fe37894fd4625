"""Live progress of a solve: what the line says, when it appears, where it goes, and --quiet."""

from __future__ import annotations

import io
import time

import pytest
from rich.console import Console

from allocator import load_scenario, progress, solve
from allocator.scenario.amounts import format_amount
from tests.conftest import SCENARIOS, run_cli
from tests.test_interrupt import long_mip  # noqa: F401, F811 - the fixture


def pipe_console() -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, force_terminal=False, width=200), buffer


def test_the_line_shows_margin_and_bound_in_currency_and_the_gap():
    watch = progress.Watch("highs", unit=25_000.0)
    watch.mip(primal=1_000.0, dual=1_010.0, gap=0.0099)
    line = watch.line("CNY")
    assert line.startswith("solving (highs): ")
    assert f"best plan {format_amount(25e6)} CNY" in line and f"bound {format_amount(25.25e6)} CNY" in line
    assert "gap 0.99%" in line


def test_without_a_plan_or_a_known_unit_the_line_says_only_what_it_knows():
    assert progress.Watch("cbc", unit=None).line() .split(": ")[1].endswith(" s")  # elapsed only
    watch = progress.Watch("highs", unit=None)
    watch.mip(primal=5.0, dual=6.0, gap=0.2)
    assert "a plan found" in watch.line() and "bound" not in watch.line()


def test_a_pipe_gets_a_plain_line_every_few_seconds(monkeypatch):
    monkeypatch.setattr(progress, "DELAY", 0.0)
    monkeypatch.setattr(progress, "EVERY", 0.05)
    console, buffer = pipe_console()
    with progress.show_on(console), progress.displayed(progress.Watch("highs", unit=1.0)):
        time.sleep(0.5)
    lines = buffer.getvalue().splitlines()
    assert len(lines) >= 3 and all(line.startswith("solving (highs): ") for line in lines)
    assert all("\r" not in line and "\x1b" not in line for line in lines)  # no terminal control on a pipe


def test_a_short_solve_prints_nothing(monkeypatch):
    monkeypatch.setattr(progress, "DELAY", 5.0)
    console, buffer = pipe_console()
    with progress.show_on(console), progress.displayed(progress.Watch("highs")):
        time.sleep(0.1)
    assert buffer.getvalue() == ""


@pytest.mark.parametrize("quiet", [True, False])
def test_quiet_turns_progress_off(monkeypatch, quiet):
    monkeypatch.setattr(progress, "DELAY", 0.0)
    console, buffer = pipe_console()
    with progress.show_on(console, quiet=quiet), progress.displayed(progress.Watch("highs")):
        time.sleep(0.2)
    assert (buffer.getvalue() == "") == quiet


def test_the_python_api_shows_no_progress(monkeypatch, capsys):
    monkeypatch.setattr(progress, "DELAY", 0.0)
    solve(load_scenario(SCENARIOS / "annual_plan.yaml"))
    captured = capsys.readouterr()
    assert "solving" not in captured.err and "solving" not in captured.out


@pytest.mark.parametrize("quiet", [False, True])
def test_cli_shows_progress_of_a_long_solve_unless_quiet(long_mip, tmp_path, quiet):  # noqa: F811
    result = run_cli("run", long_mip, "--out", tmp_path, "--time-limit", "4", *(["--quiet"] if quiet else []))
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("solving (highs): ")]
    assert (lines == []) == quiet
