"""Defaults a scenario may rely on: documented, applied, and shown (never planned on in silence)."""

from __future__ import annotations

import pytest

from allocator import solve
from allocator.scenario import Scenario, load_scenario
from tests.conftest import run_cli


def one_cell(**cell) -> dict:
    """One region, one channel, a linear curve: 3 of revenue per unit up to 400 of spend."""
    return {
        "scenario": "one", "budget": {"total": 1000}, "regions": [{"id": "a"}],
        "channels": [{"id": "on", "gross_margin": 0.5}],
        "response": [{"region": "a", "channel": "on", "curve": {"type": "linear", "roas": 3, "cap": 400}, **cell}],
    }


def test_a_scenario_without_periods_plans_one_period_named_fy():
    s = Scenario.from_dict(one_cell(base=100))
    assert s.periods.names == ("FY",) and s.periods.seasonality is None
    plan = solve(s)
    # by hand: margin x roas = 1.5 > 1, so spend runs to the cap: 0.5 * (100 + 3 * 400) - 400 = 250
    assert plan.objective == pytest.approx(250, rel=1e-6)
    assert plan.allocation.period.tolist() == ["FY"]


def test_left_out_periods_and_base_are_noted():
    s = Scenario.from_dict(one_cell())
    assert s.response[0].base == 0
    assert s.notes == [
        "periods: not given, so one period `FY` covers the whole plan",
        "response[0] (a/on): no `base`, so its revenue without marketing is taken as 0",
    ]
    assert Scenario.from_dict({**one_cell(base=0), "periods": {"names": ["FY"]}}).notes == []


def test_validate_and_run_print_the_defaults_they_take(tmp_path):
    path = tmp_path / "one.yaml"
    path.write_text(
        "scenario: one\nbudget: {total: 1000}\nregions: [{id: a}]\nchannels: [{id: on, gross_margin: 50%}]\n"
        "response:\n  - {region: a, channel: on, curve: {type: linear, roas: 3, cap: 400}}\n",
        encoding="utf-8",
    )
    assert load_scenario(path).notes  # the file relies on both defaults
    result = run_cli("validate", str(path))
    assert result.returncode == 0, result.stderr
    assert "note: response[0] (a/on): no `base`" in result.stdout
    assert "note: periods: not given" in result.stdout
    result = run_cli("run", str(path), "--out", str(tmp_path / "runs"))
    assert result.returncode == 0, result.stderr
    assert "note: response[0] (a/on): no `base`" in result.stdout
