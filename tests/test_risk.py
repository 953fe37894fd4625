"""``allocator risk``: a fixed plan evaluated on sampled curves. Expected figures are computed
independently: by hand for one-cell plans, with a linear program (scipy) for the recourse of
the annual plan, and from the sorted sample margins for CVaR."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import linprog

from allocator import load_scenario, solve
from allocator.model import curves as scalar
from allocator.model.data import planning_data
from allocator.plan import Plan
from allocator.scenario import Scenario
from allocator.uncertainty import draw, risk, write_risk
from allocator.uncertainty.assess import cvar
from allocator.uncertainty.curves import varied
from allocator.uncertainty.evaluate import fixed_plan

from .plan_checker import check_run

ROOT = Path(__file__).resolve().parent.parent
UNCERTAIN = ROOT / "scenarios" / "annual_plan_uncertain.yaml"


def one_cell(uncertainty: dict, **cell) -> Scenario:
    """One region, one channel (margin 40%), one period; spend fixed at 1M; one rep closing 6M."""
    data = {
        "scenario": "one-cell",
        "periods": {"names": ["Y"]},
        "budget": {"total": "10M"},
        "regions": [{"id": "r"}],
        "channels": [{"id": "c", "gross_margin": "40%"}],
        "response": [{"region": "r", "channel": "c", "base": "2M", "spend": {"min": "1M", "max": "1M"},
                      "curve": {"type": "exp", "max_lift": "5M", "scale": "1M"}, **cell}],
        "sales_force": {"cost_per_head": "100k", "revenue_capacity": "6M", "current": {"r": 1},
                        "max_hires_per_period": 0},
        "uncertainty": uncertainty,
    }
    return Scenario.from_dict(data)


@pytest.fixture(scope="module")
def annual():
    s = load_scenario(UNCERTAIN)
    return s, solve(s)


# --- margins by hand ------------------------------------------------------------------------


def test_one_cell_margins_by_hand():
    s = one_cell({"spread": {"base": "10%", "max_lift": "20%", "scale": "10%"}, "samples": 64, "seed": 3})
    report = risk(None, s, evpi_samples=0)
    f = draw(s).factors
    for k in range(64):
        demand = 2e6 * f["base"][k, 0] + 5e6 * f["max_lift"][k, 0] * (1 - math.exp(-1e6 / (1e6 * f["scale"][k, 0])))
        sold = min(demand, 6e6)  # one rep closes 6M
        expected = 0.4 * sold - 1e6 - 100e3  # margin - spend - the rep
        assert report.samples.margin[k] == pytest.approx(expected, rel=1e-12)
        assert report.samples.capacity_binds[k] == (demand >= 6e6 * (1 - 1e-6))
    assert 0 < report.info["p_capacity_binds"] < 1  # both cases occur in this test


def test_two_cells_sell_the_higher_margin_first_within_capacity_and_potential():
    # one region, two periods (seasonality 60/40), two linear cells; 2 reps closing 5M a year each
    # (2.5M per period... length 1/2) and a 4.5M potential.
    data = {
        "scenario": "two-cells",
        "periods": {"names": ["H1", "H2"], "seasonality": ["60%", "40%"]},
        "budget": {"total": "10M"},
        "regions": [{"id": "r", "potential": "4.5M"}],
        "channels": [{"id": "hi", "gross_margin": "50%"}, {"id": "lo", "gross_margin": "20%"}],
        "response": [
            {"region": "r", "channel": "lo", "base": "2M", "curve": {"type": "linear", "roas": 1.0},
             "spend": {"min": "1M", "max": "1M"}},
            {"region": "r", "channel": "hi", "base": "1M", "curve": {"type": "linear", "roas": 2.0},
             "spend": {"min": "1M", "max": "1M"}},
        ],
        "sales_force": {"cost_per_head": 0, "revenue_capacity": "2.5M", "current": {"r": 2}, "max_hires_per_period": 0},
        "uncertainty": {"spread": {"roas": "30%"}, "samples": 40, "seed": 1},
    }
    s = Scenario.from_dict(data)
    plan = solve(s)
    spend = {(c, p): x for c, p, x in zip(plan.allocation.channel, plan.allocation.period, plan.allocation.spend)}
    report = risk(plan, s, evpi_samples=0)
    f = draw(s).factors["roas"]
    for k in range(40):
        room = {"H1": 2.5e6, "H2": 2.5e6}  # 2 reps x 2.5M x half a year
        potential, margin = 4.5e6, 0.0
        for i, (channel, m, base, roas) in ((1, ("hi", 0.5, 1e6, 2.0)), (0, ("lo", 0.2, 2e6, 1.0))):
            for period, season in (("H1", 0.6), ("H2", 0.4)):
                demand = season * base + roas * f[k, i] * spend[(channel, period)]
                sold = min(demand, room[period], potential)
                room[period] -= sold
                potential -= sold
                margin += m * sold
        assert report.samples.margin[k] == pytest.approx(margin - 2e6, rel=1e-9)


def test_zero_spread_reproduces_the_deterministic_plan_exactly():
    # linear curves: the model's interpolant is the curve, so the plan's objective is its margin
    s = one_cell({"samples": 20}, curve={"type": "linear", "roas": 5.0})
    plan = solve(s)
    report = risk(plan, s, evpi_samples=0)
    assert plan.objective == pytest.approx(0.4 * 6e6 - 1e6 - 100e3, rel=1e-9)  # capacity binds: 2M + 5M > 6M
    assert report.info["deterministic_margin"] == pytest.approx(plan.objective, rel=1e-9)
    assert np.all(report.samples.margin == report.info["deterministic_margin"])
    for key in ("mean", "p5", "p50", "p95", "cvar_5"):
        assert report.summary.loc["margin", key] == pytest.approx(plan.objective, rel=1e-9)


def recourse_lp(s: Scenario, plan: Plan, factors: dict[str, np.ndarray], k: int) -> float:
    """The most margin the fixed plan sells in sample ``k``: an LP over y, built independently."""
    data = planning_data(s)
    fp = fixed_plan(plan.allocation, plan.headcount, plan.summary["people_cost"], data)
    periods, cells = data.periods, data.cells
    n = len(cells) * len(periods)
    col = {(i, t): i * len(periods) + t for i in range(len(cells)) for t in range(len(periods))}
    upper, cost = np.zeros(n), np.zeros(n)
    for i, cell in enumerate(cells):
        curve = type(cell.curve).model_validate(varied(cell.curve, {p: float(f[k, i]) for p, f in factors.items() if p != "base"}))
        for t, period in enumerate(periods):
            season = data.season[period]
            lift = season * float(scalar.value(curve, [fp.spend[i, t] / season])[0])
            upper[col[i, t]] = season * cell.base * factors["base"][k, i] + lift
            cost[col[i, t]] = -cell.margin
    rows, rhs = [], []
    for r, region in enumerate(data.regions):
        members = [i for i, c in enumerate(cells) if c.region == region]
        for t in range(len(periods)):
            row = np.zeros(n)
            row[[col[i, t] for i in members]] = 1
            rows.append(row)
            rhs.append(fp.capacity[r, t])
        if region in data.potential:
            row = np.zeros(n)
            row[[col[i, t] for i in members for t in range(len(periods))]] = 1
            rows.append(row)
            rhs.append(data.potential[region])
    result = linprog(cost, A_ub=np.array(rows), b_ub=np.array(rhs), bounds=list(zip(np.zeros(n), upper)), method="highs")
    assert result.status == 0
    return -result.fun - fp.cost


def test_zero_spread_annual_plan_is_its_margin_on_the_exact_curves(annual):
    s, plan = annual
    flat = s.with_changes({"uncertainty.spread": {}, "uncertainty.cells": []})
    report = risk(plan, flat, samples=5, evpi_samples=0)
    ones = {p: np.ones((1, len(s.response))) for p in draw(flat, samples=1).factors}
    expected = recourse_lp(s, plan, ones, 0)
    assert report.info["deterministic_margin"] == pytest.approx(expected, rel=1e-9)
    assert np.all(report.samples.margin == report.info["deterministic_margin"])
    # and it is the plan's own figure up to the curve approximation: at least the exact-curve margin
    # the plan reports, and above the interpolated objective by no more than the tolerance allows
    bound = sum(c.margin * s.solver.pwl_tolerance * float(scalar.value(c.curve, [c.hi])[0]) for c in planning_data(s).cells)
    assert plan.summary["exact_curve_margin"] - 1e-6 * plan.objective <= expected <= plan.objective + bound
    assert report.regions.p_miss_floor.max() == 0  # the plan meets its floors


def test_sampled_annual_margins_match_an_independent_recourse_lp(annual):
    s, plan = annual
    report = risk(plan, s, samples=200, evpi_samples=0)
    factors = draw(s, samples=200).factors
    for k in (0, 1, 17, 199):
        assert report.samples.margin[k] == pytest.approx(recourse_lp(s, plan, factors, k), rel=1e-9)


# --- CVaR and the value of perfect information ----------------------------------------------


def test_cvar_is_the_mean_of_the_worst_five_percent_of_sorted_margins(annual):
    s, plan = annual
    report = risk(plan, s, samples=2000, seed=11, evpi_samples=0)
    margins = np.sort(report.samples.margin.to_numpy())
    assert report.summary.loc["margin", "cvar_5"] == pytest.approx(margins[:100].mean(), rel=1e-12)
    # Rockafellar-Uryasev: CVaR = max over eta of eta - E[max(0, eta - m)] / 5%, attained at a sample
    ru = max(eta - np.maximum(0.0, eta - margins).mean() / 0.05 for eta in margins[:150])
    assert report.summary.loc["margin", "cvar_5"] == pytest.approx(ru, rel=1e-12)
    revenues = np.sort(report.samples.revenue.to_numpy())
    assert report.summary.loc["revenue", "cvar_5"] == pytest.approx(revenues[:100].mean(), rel=1e-12)


def test_cvar_weights_the_boundary_sample_when_five_percent_is_not_whole():
    values = np.arange(30.0)[::-1]  # 5% of 30 samples is 1.5: all of the worst, half of the next
    assert cvar(values) == pytest.approx((0 + 0.5 * 1) / 1.5)


def test_evpi_of_one_exp_cell_by_hand():
    # no capacity, no floors: knowing L the best spend is K ln(m L / K), margin m L - K - x*
    m, lift, k_scale = 0.5, 10e6, 1e6
    data = {
        "scenario": "evpi", "periods": {"names": ["Y"]}, "budget": {"total": "20M"},
        "regions": [{"id": "r"}], "channels": [{"id": "c", "gross_margin": m}],
        "response": [{"region": "r", "channel": "c", "curve": {"type": "exp", "max_lift": lift, "scale": k_scale}}],
        "solver": {"pwl_tolerance": 1e-6},
        "uncertainty": {"spread": {"max_lift": "30%"}, "samples": 100, "seed": 5},
    }
    s = Scenario.from_dict(data)
    plan = solve(s)
    x0 = float(plan.allocation.spend.sum())
    assert x0 == pytest.approx(k_scale * math.log(m * lift / k_scale), rel=5e-3)  # within a segment of it
    report = risk(plan, s, evpi_samples=6)
    gains = []
    for k, factor in enumerate(draw(s).factors["max_lift"][:6, 0]):
        lk = lift * factor
        fixed = m * lk * (1 - math.exp(-x0 / k_scale)) - x0
        best_x = k_scale * math.log(m * lk / k_scale)
        best = m * lk - k_scale - best_x
        assert report.evpi.plan_margin[k] == pytest.approx(fixed, rel=1e-9)
        assert report.evpi.reoptimised_margin[k] == pytest.approx(best, abs=50.0)  # interpolant within 1e-6 of f
        gains.append(best - fixed)
    assert report.info["evpi"] == pytest.approx(np.mean(gains), abs=50.0)
    assert report.info["evpi"] > 1000  # a real value, not noise
    assert report.info["evpi_draws"] == 6 and report.info["evpi_failed"] == 0
    assert report.info["p_capacity_binds"] == 0  # no sales force: nothing limits sales but demand


# --- files ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    s = one_cell({"spread": {"base": "10%", "max_lift": "20%"}, "samples": 300, "seed": 9})
    return solve(s).write(tmp_path_factory.mktemp("runs"))


FILES = ("risk.csv", "risk.json", "risk_evpi.csv", "risk_histogram.png", "risk_fan.png", "risk.html")


def test_same_seed_gives_identical_files(run_folder, tmp_path):
    copies = []
    for name in ("a", "b"):
        folder = shutil.copytree(run_folder, tmp_path / name)
        plan = Plan.read(folder)
        write_risk(risk(plan, evpi_samples=2), folder)
        copies.append(folder)
    for name in FILES:
        assert (copies[0] / name).read_bytes() == (copies[1] / name).read_bytes(), name
    other = shutil.copytree(run_folder, tmp_path / "c")
    write_risk(risk(Plan.read(other), seed=10, evpi_samples=0), other)
    assert (other / "risk.csv").read_bytes() != (copies[0] / "risk.csv").read_bytes()


def test_risk_json_keys_and_csv_rows(run_folder, tmp_path):
    folder = shutil.copytree(run_folder, tmp_path / "run")
    write_risk(risk(Plan.read(folder), evpi_samples=1), folder)
    data = json.loads((folder / "risk.json").read_text())
    for figure in ("margin", "revenue"):
        assert set(data[figure]) == {"mean", "p5", "p50", "p95", "cvar_5"}
        d = data[figure]
        assert d["cvar_5"] <= d["p5"] <= d["p50"] <= d["p95"]
    assert (data["samples"], data["seed"]) == (300, 9)
    assert {"growth_floor_miss", "capacity_binds", "evpi"} <= set(data)
    rows = (folder / "risk.csv").read_text().splitlines()
    assert len(rows) == 301 and rows[0].startswith("sample,revenue,margin")


def test_a_new_report_never_replaces_an_old_one(run_folder, tmp_path):
    folder = shutil.copytree(run_folder, tmp_path / "run")
    plan = Plan.read(folder)
    first = write_risk(risk(plan, evpi_samples=0), folder)
    before = {name: (folder / name).read_bytes() for name in FILES}
    (folder / "risk-2_fan.png").write_bytes(b"someone else's")  # one name of the second set is taken
    third = write_risk(risk(plan, seed=1, evpi_samples=0), folder)
    assert first["json"].name == "risk.json" and third["json"].name == "risk-3.json"
    assert all((folder / name).read_bytes() == data for name, data in before.items())
    assert (folder / "risk-2_fan.png").read_bytes() == b"someone else's"
    assert not (folder / "risk-2.json").exists()
    assert not list(folder.glob(".risk.*"))  # no temporary left behind
    assert 'src="risk-3_histogram.png"' in (folder / "risk-3.html").read_text()


def test_the_annual_example_through_the_cli(tmp_path, cli):
    out = tmp_path / "runs"
    result = cli("risk", UNCERTAIN, "--samples", "2000", "--evpi-samples", "1", "--out", out)
    assert result.returncode == 0, result.stderr
    folder = out / "annual-plan-fy2027-uncertain"
    check_run(folder)  # the run folder it solved is a valid plan
    for name in FILES:
        assert (folder / name).is_file(), name
    data = json.loads((folder / "risk.json").read_text())
    assert data["samples"] == 2000 and data["seed"] == 2027 and data["evpi_draws"] == 1
    assert set(data["growth_floor_miss"]) == {"north-east", "north", "east", "south", "central"}
    assert all(0 <= p <= 1 for p in data["growth_floor_miss"].values())
    again = cli("risk", folder, "--samples", "500", "--evpi-samples", "0", "--set", "uncertainty.spread.base=0")
    assert again.returncode == 0, again.stderr
    second = json.loads((folder / "risk-2.json").read_text())
    assert second["samples"] == 500 and second["evpi"] is None
    assert json.loads((folder / "risk.json").read_text()) == data


def test_an_infeasible_scenario_has_no_plan_to_hold_and_exits_1(tmp_path, cli):
    out = tmp_path / "runs"
    result = cli("risk", ROOT / "scenarios" / "infeasible_growth.yaml", "--set", "uncertainty.spread.base=10%", "--out", out)
    assert result.returncode == 1, result.stderr
    assert "no plan to hold fixed" in result.stderr and "Traceback" not in result.stderr
    assert not out.exists() or not any(out.iterdir())


def test_a_missing_target_is_an_input_error(tmp_path, cli):
    result = cli("risk", tmp_path / "nothing.yaml")
    assert result.returncode == 2 and "nothing.yaml" in result.stderr
