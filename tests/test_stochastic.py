"""Reserve sizing: the two-stage stochastic plan (``allocator run --stochastic``).

Expected figures are independent of the sample blocks: a two-sample, two-cell case solved by
hand; the deterministic model (no samples) for zero spread and for one sample; CVaR from the
sorted sample margins; the written folder re-checked by ``plan_checker``.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from allocator import api, load_scenario
from allocator.model.build import build_model
from allocator.model.data import SampleSet, planning_data
from allocator.scenario import Scenario, ScenarioError
from allocator.scenario.schema import LinearCurve
from allocator.stochastic import stages
from allocator.stochastic.inputs import stochastic_data
from allocator.stochastic.solve import solve_stage, solve_stochastic
from allocator.uncertainty import draw
from allocator.uncertainty.assess import cvar, drawn_scenario

from .plan_checker import check_run

ROOT = Path(__file__).resolve().parent.parent
M = 1e6


def tiny(uncertainty: dict | None = None, stochastic: dict | None = None, **changes) -> Scenario:
    """2 regions x 2 channels x 2 periods (checkpoint P1), a fixed sales force (no hires)."""
    data = {
        "scenario": "tiny-stochastic",
        "periods": {"names": ["P1", "P2"], "seasonality": ["40%", "60%"]},
        "budget": {"total": "10M", "reserve": {"min": "0%", "max": "20%"}},
        "regions": [{"id": "east", "class": "mature"}, {"id": "west", "class": "growth"}],
        "channels": [{"id": "online", "gross_margin": "45%"}, {"id": "offline", "gross_margin": "35%"}],
        "response": [
            {"region": "east", "channel": "online", "base": "3M",
             "curve": {"type": "exp", "max_lift": "9M", "scale": "2M"}},
            {"region": "east", "channel": "offline", "base": "4M",
             "curve": {"type": "log", "scale_lift": "5M", "scale": "1M"}},
            {"region": "west", "channel": "online", "base": "2M",
             "curve": {"type": "hill", "max_lift": "8M", "half_saturation": "2M", "shape": 1.0}},
            {"region": "west", "channel": "offline", "base": "2M",
             "curve": {"type": "exp", "max_lift": "6M", "scale": "1.5M"}},
        ],
        "sales_force": {"cost_per_head": "200k", "revenue_capacity": "4M", "current": {"east": 4, "west": 3},
                        "max_hires_per_period": 0},
        "solver": {"exact_gap": 1.0},
        "uncertainty": uncertainty if uncertainty is not None else {
            "spread": {"base": "10%", "max_lift": "30%", "scale": "20%", "scale_lift": "30%"},
            "correlation": {"channel": "30%"}, "seed": 11},
        "stochastic": stochastic if stochastic is not None else {"checkpoint": "P1", "samples": 12,
                                                                 "evaluation_samples": 60,
                                                                 "reserve_levels": ["5%", "10%"]},
    }
    data.update(changes)
    return Scenario.from_dict(data)


def deterministic_margin(scenario: Scenario) -> float:
    """The plain model's optimum (interpolated curves), solved without any sample block."""
    model = build_model(planning_data(scenario))
    solution = model.solve()
    margin_cols, margin_vals = model.form.margin_cost.nonzero()[0], model.form.margin_cost
    return float(margin_vals[margin_cols] @ solution.values[margin_cols]) * model.unit


def stochastic_stage(data):
    model = build_model(data)
    stage = solve_stage(model, None)
    assert stage.has_plan
    return model, stage


# --- two samples, two cells, by hand ----------------------------------------------------------


def test_two_samples_two_cells_by_hand():
    """One region, channels a and b (margin 50%), periods P1 | P2 (50% each), checkpoint after P1,
    no sales force, budget 10M, reserve 0..50%. Curves are linear with an annual cap of 4M, so a
    period's lift is ``roas * min(x, 2M)``. Sample 1: roas a 4, b 1; sample 2: a 1, b 4.

    A unit of spend within a period's cap earns ``0.5 roas - 1``: +1 at roas 4, -0.5 at roas 1.
    - P1 (before the checkpoint, shared): each cell earns (1 - 0.5) / 2 = +0.25 in expectation,
      so both spend their cap, 2M each: expected margin 2 * 2M * 0.25 = 1M.
    - P2 planned spend earns the same +0.25 per unit; a unit of reserve, spent after the
      checkpoint on the sample's good cell, earns +1. Each sample can put 2M into its good cell
      (its cap), so the reserve holds 2M, planned P2 spend is 0: +2M. Any reserve beyond 2M is
      not spent (the tie-break then holds the most, 50% = 5M: budget 4M + 5M <= 10M).
    Expected margin 3M; each sample margin 3M (P1: +2M - 1M, P2: +2M), so CVaR = 3M.

    The deterministic plan (both roas 2.5: +0.25 per unit everywhere) spends 2M per cell and
    period, 8M, reserve 2M. With the same recourse its P2 good cell is already at its cap, so
    the reserve buys nothing: each sample earns 2M - 1M + 2M - 1M = 2M. VSS = 1M.
    """
    base = {
        "scenario": "by-hand", "periods": {"names": ["P1", "P2"]},
        "budget": {"total": "10M", "reserve": {"min": 0, "max": "50%"}},
        "regions": [{"id": "r"}],
        "channels": [{"id": "a", "gross_margin": "50%"}, {"id": "b", "gross_margin": "50%"}],
        "response": [{"region": "r", "channel": c, "base": 0,
                      "curve": {"type": "linear", "roas": 2.5, "cap": "4M"}} for c in ("a", "b")],
    }
    data = planning_data(Scenario.from_dict(base))

    def cells(roas_a: float, roas_b: float):
        return tuple(replace(c, curve=LinearCurve(type="linear", roas=r, cap=4 * M))
                     for c, r in zip(data.cells, (roas_a, roas_b)))

    data = replace(data, samples=SampleSet((cells(4, 1), cells(1, 4)), first=1))
    model, stage = stochastic_stage(data)
    assert stage.margins == pytest.approx([3 * M, 3 * M], rel=1e-9)
    fs = stage.first
    assert [fs.spend[("r", c, "P1")] for c in "ab"] == pytest.approx([2 * M, 2 * M], rel=1e-9)
    assert [fs.spend[("r", c, "P2")] for c in "ab"] == pytest.approx([0, 0], abs=1e-3)
    assert fs.reserve == pytest.approx(5 * M, rel=1e-9)
    assert stages.reserve_used(model, stage.solution.values) == pytest.approx([2 * M, 2 * M], rel=1e-9)
    assert cvar(stage.margins, 0.5) == pytest.approx(3 * M, rel=1e-9)
    # the deterministic plan, held in the same model: each sample then earns 2M
    nominal = build_model(replace(data, samples=None))
    plain = stages.first_stage(nominal, nominal.solve().values)
    assert plain.reserve == pytest.approx(2 * M, rel=1e-9)
    stages.fix_first_stage(model, plain)
    again = solve_stage(model, None)
    assert again.margins == pytest.approx([2 * M, 2 * M], rel=1e-9)
    # a 10% premium on what the reserve buys: a unit now earns 2 - 1.1 = 0.9 > 0.25, still spent;
    # 2M of media cost 2.2M of reserve; each sample earns 1M + 2M * 0.9 = 2.8M
    late = replace(data, samples=replace(data.samples, premium=0.1))
    model, stage = stochastic_stage(late)
    assert stage.margins == pytest.approx([2.8 * M, 2.8 * M], rel=1e-9)
    assert stages.reserve_used(model, stage.solution.values) == pytest.approx([2.2 * M, 2.2 * M], rel=1e-9)


# --- against the deterministic model --------------------------------------------------------


@pytest.mark.parametrize("premium", ["0%", "10%"])
def test_zero_spread_reproduces_the_deterministic_optimum(premium):
    """With every year the nominal one, spending the reserve after the checkpoint is worth no more
    than planning that spend (reserve range from 0, so the plain model may spend it too)."""
    s = tiny(uncertainty={"spread": {}, "seed": 3},
             stochastic={"checkpoint": "P1", "samples": 5, "recourse_premium": premium})
    model, stage = stochastic_stage(stochastic_data(s, 5))
    assert np.ptp(stage.margins) == pytest.approx(0.0, abs=1e-6 * M)  # every sample is the nominal year
    assert stage.margins.mean() == pytest.approx(deterministic_margin(s), rel=1e-7)


def test_one_sample_equals_the_deterministic_plan_on_that_sample():
    """Linear curves with a fixed cap (only roas and base vary) have exact interpolants, so the
    sample's block and the drawn scenario's own model describe the same year."""
    cells = [{"region": r, "channel": c, "base": "2M", "curve": {"type": "linear", "roas": roas, "cap": cap}}
             for (r, c), roas, cap in zip([("east", "online"), ("east", "offline"), ("west", "online"),
                                           ("west", "offline")], (3.5, 3.0, 4.0, 2.8), ("3M", "2M", "2.5M", "4M"))]
    s = tiny(uncertainty={"spread": {"base": "10%", "roas": "25%"}, "seed": 5}, response=cells)
    model, stage = stochastic_stage(stochastic_data(s, 1, 5))
    year = drawn_scenario(s, draw(s, 1, 5), 0)
    assert stage.margins[0] == pytest.approx(deterministic_margin(year), rel=1e-7)


def test_lp_cvar_equals_the_cvar_of_the_sorted_sample_margins():
    s = tiny(stochastic={"checkpoint": "P1", "samples": 20, "evaluation_samples": 0, "reserve_levels": [],
                         "risk": {"cvar_level": "10%", "risk_weight": "50%"}})
    model, stage = stochastic_stage(stochastic_data(s))
    x = stage.solution.values
    lp = (x[model.risk.eta] - x[model.risk.tail].sum() / (0.1 * 20)) * model.unit
    assert lp == pytest.approx(cvar(stage.margins, 0.1), rel=1e-7)


def test_a_cvar_floor_holds_and_costs_expected_margin():
    free = solve_stochastic(tiny(stochastic={"checkpoint": "P1", "samples": 12, "evaluation_samples": 0,
                                             "reserve_levels": []}))
    floor = free.summary["cvar_margin"] + 0.02 * abs(free.summary["cvar_margin"])
    held = solve_stochastic(tiny(stochastic={"checkpoint": "P1", "samples": 12, "evaluation_samples": 0,
                                             "reserve_levels": [],
                                             "risk": {"cvar_level": "10%", "min_cvar_margin": floor}}))
    assert held.summary["cvar_margin"] >= floor * (1 - 1e-7) or held.summary["lp_cvar_margin"] >= floor * (1 - 1e-7)
    assert held.summary["expected_margin"] <= free.summary["expected_margin"] * (1 + 1e-9)


# --- the run: VSS, files, plan -----------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    s = tiny()
    out = tmp_path_factory.mktemp("runs")
    first = api.run(s, stochastic=True).write(out)
    second = api.run(s, stochastic=True).write(out)
    return first, second


def test_vss_is_not_negative_out_of_sample(tiny_run):
    """Both plans spend their reserve the same way on the same fresh draws; the stochastic plan
    maximised the sample average, so out of sample it may lose only by sampling error (3 se)."""
    summary = json.loads((tiny_run[0] / "summary.json").read_text())
    assert summary["vss_draws"] == 60 and summary["evaluation_seed"] == summary["seed"] + 1
    assert summary["vss"] >= -3 * summary["vss_stderr"]
    table = np.loadtxt(tiny_run[0] / "stochastic_evaluation.csv", delimiter=",", skiprows=1)
    assert table[:, 3].mean() == pytest.approx(summary["vss"], rel=1e-9)


def test_same_seed_gives_identical_files(tiny_run):
    first, second = tiny_run
    assert second.name == first.name + "-2"  # a new folder, never the old one overwritten
    for name in ("allocation.csv", "headcount.csv", "reserve_curve.csv", "stochastic_samples.csv",
                 "stochastic_evaluation.csv"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    timing = {"solve_seconds"}
    a, b = (json.loads((f / "summary.json").read_text()) for f in tiny_run)
    assert {k: v for k, v in a.items() if k not in timing} == {k: v for k, v in b.items() if k not in timing}


def test_written_first_stage_plan_passes_the_plan_checker(tiny_run):
    summary = check_run(tiny_run[0])
    assert summary["stochastic"] and summary["reserve"] >= 0
    curve = (tiny_run[0] / "reserve_curve.csv").read_text().splitlines()
    assert curve[0].startswith("reserve_share,reserve,optimum,status,expected_margin,p5_margin")
    assert len(curve) == 1 + 3  # 5%, 10% and the optimum
    assert "Reserve sizing" in (tiny_run[0] / "report.html").read_text()


def test_samples_without_a_stochastic_plan_is_an_input_error():
    data = tiny().to_dict()
    data.pop("stochastic")
    with pytest.raises(ScenarioError, match="--samples: is for a stochastic plan: add --stochastic"):
        api.run(Scenario.from_dict(data), samples=5)


def test_a_stochastic_plan_refuses_carryover_on_a_channel_or_a_cell():
    """Carryover ties the periods together across the checkpoint: not in the sample blocks yet."""
    from allocator.stochastic.inputs import check_stochastic

    check_stochastic(tiny())  # without carryover: fine
    carry = {"decay": 0.5, "max_lag": 1}
    data = tiny().to_dict()
    data["channels"][0]["carryover"] = carry
    with pytest.raises(ScenarioError, match=r"cannot model carryover yet \(channels\[online\]\.carryover\)"):
        check_stochastic(Scenario.from_dict(data))
    data = tiny().to_dict()
    data["response"][3]["carryover"] = carry
    with pytest.raises(ScenarioError, match=r"\(response\[west/offline\]\.carryover\)"):
        api.run(Scenario.from_dict(data), stochastic=True)


def test_a_stochastic_plan_needs_an_uncertainty_section():
    data = tiny().to_dict()
    data.pop("uncertainty")
    with pytest.raises(ScenarioError, match="stochastic: needs an `uncertainty:` section"):
        Scenario.from_dict(data)


def test_the_annual_example_runs_stochastic_in_a_few_samples():
    s = load_scenario(ROOT / "scenarios" / "annual_plan_uncertain.yaml")
    assert s.stochastic is not None and s.stochastic.checkpoint == "Q2"
    s = s.with_changes({"stochastic.evaluation_samples": 0, "stochastic.reserve_levels": [], "solver.mip_gap": "2%"})
    plan = solve_stochastic(s, samples=3)
    assert plan.has_plan and plan.summary["samples"] == 3
    low, high = s.stochastic.reserve.min, s.stochastic.reserve.max
    assert low * s.budget.total - 1 <= plan.summary["reserve"] <= high * s.budget.total + 1
