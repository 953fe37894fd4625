"""Every example scenario runs end to end, and its written plan passes the independent checker."""

import json

import pytest

from allocator import load_scenario, solve
from tests.conftest import SCENARIOS, run_cli
from tests.plan_checker import check_run

FEASIBLE = ["annual_plan.yaml", "quarter_12_weeks.yaml", "carryover_promotion.yaml"]


@pytest.mark.parametrize("name", FEASIBLE)
def test_example_runs_and_its_written_plan_satisfies_every_constraint(name, tmp_path):
    result = run_cli("run", SCENARIOS / name, "--out", tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    (folder,) = [p for p in tmp_path.iterdir()]
    names = {p.name for p in folder.iterdir()}
    assert {"allocation.csv", "constraints.csv", "headcount.csv", "plan.xlsx", "report.html", "scenario.yaml",
            "summary.json"} <= names
    if name == "quarter_12_weeks.yaml":  # it carries a decomposition section
        assert {"targets_month.csv", "targets_week.csv", "targets_day.csv", "product_targets.csv",
                "rep_quotas.csv", "funnel.csv"} <= names
    summary = check_run(folder)
    assert summary["status"] == "optimal"


@pytest.mark.parametrize("name", FEASIBLE)
def test_highs_and_cbc_agree_on_the_optimum_within_the_mip_gap(name):
    # the two solvers on the same model: the interpolant of the first solve (refinement off)
    scenario = load_scenario(SCENARIOS / name).with_changes({"solver.exact_gap": 1.0})
    highs = solve(scenario, solver="highs")
    cbc = solve(scenario, solver="cbc")
    assert highs.status == cbc.status == "optimal"
    gap = max(highs.summary["mip_gap"], cbc.summary["mip_gap"], scenario.solver.mip_gap)
    assert abs(highs.objective - cbc.objective) <= 2 * gap * abs(highs.objective) + 1.0


def test_annual_plan_binds_the_reserve_and_both_policies(tmp_path):
    plan = solve(load_scenario(SCENARIOS / "annual_plan.yaml"))
    binding = set(plan.constraints.loc[plan.constraints.binding, "name"])
    assert {"budget", "reserve_min", "policy[growth markets get 60% of marketing].min",
            "policy[online at most half of marketing].max"} <= binding
    assert plan.summary["budget_shadow_price"] > 0
    assert plan.summary["reserve"] == pytest.approx(0.05 * 23e6)


def test_carryover_example_moves_brand_spend_ahead_of_the_peak():
    """Without carryover the brand spend follows demand into November; with it, part moves into
    September-October (it still works in November) and none is left for December (it would leak
    past the horizon)."""
    scenario = load_scenario(SCENARIOS / "carryover_promotion.yaml")
    data = scenario.to_dict()
    for channel in data["channels"]:
        channel.pop("carryover", None)
    for cell in data["response"]:
        cell.pop("carryover", None)
        cell.pop("prior_spend", None)
    plain = solve(type(scenario).from_dict(data)).allocation
    carried = solve(scenario).allocation
    for plan in (plain, carried):
        plan["early"] = plan.period.isin(["Sep", "Oct"])
    brand = {name: p[p.channel == "brand"] for name, p in (("plain", plain), ("carried", carried))}
    share = {k: b[b.early].spend.sum() / b.spend.sum() for k, b in brand.items()}
    assert share["carried"] > share["plain"] + 0.05
    assert brand["carried"][brand["carried"].period == "Dec"].spend.sum() == pytest.approx(0.0, abs=1.0)
    assert brand["plain"][brand["plain"].period == "Dec"].spend.sum() > 0
    assert (carried.effective_spend != carried.spend).any()


def test_quarter_scenario_takes_its_curves_from_the_response_model_and_overrides_one_cell():
    scenario = load_scenario(SCENARIOS / "quarter_12_weeks.yaml")
    cells = {(c.region, c.channel): c for c in scenario.response}
    assert len(cells) == 6
    assert cells[("south", "online")].curve.type == "hill"          # overridden in the scenario
    assert cells[("south", "online")].spend.max == 2.5e6
    assert cells[("south", "online")].base == 4e6                   # kept from the model file
    assert cells[("east", "offline")].curve.type == "exp"            # from the model file


def test_infeasible_example_exits_1_with_a_diagnosis_in_plain_words(tmp_path):
    result = run_cli("run", SCENARIOS / "infeasible_growth.yaml", "--out", tmp_path)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "growth floor of region north (+70%, 34.0M) falls" in result.stderr
    assert "budget.total would need about" in result.stderr
    (folder,) = list(tmp_path.iterdir())
    assert not (folder / "allocation.csv").exists()
    diagnosis = json.loads((folder / "diagnosis.json").read_text())
    assert {g["constraint"] for g in diagnosis["gave"]} >= {"growth_floor[north]"}
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["status"] == "infeasible" and summary["objective"] is None


def test_budget_the_diagnosis_asks_for_makes_the_plan_feasible():
    scenario = load_scenario(SCENARIOS / "infeasible_growth.yaml")
    plan = solve(scenario)
    extra = plan.diagnosis["budget_needed"]
    assert extra > 0
    assert solve(scenario.with_changes({"budget.total": scenario.budget.total + extra * 1.001})).has_plan
    assert not solve(scenario.with_changes({"budget.total": scenario.budget.total + extra * 0.95})).has_plan


REPLAN = ("allocator replan scenarios/fitted_year.yaml scenarios/actuals_fy2027_h1.csv --as-of Q2 "
          "--from runs/fy2027-fitted")


def test_the_re_plan_example_of_the_readme_runs_and_its_plan_holds_the_actuals(tmp_path):
    from tests.conftest import ROOT

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert REPLAN in readme and "allocator run scenarios/fitted_year.yaml" in readme
    first = run_cli("run", SCENARIOS / "fitted_year.yaml", "--out", tmp_path, "--quiet")
    assert first.returncode == 0, first.stderr
    args = REPLAN.split()[1:]
    args[args.index("--from") + 1] = str(tmp_path / "fy2027-fitted")
    result = run_cli(*args, "--out", tmp_path, "--quiet")
    assert result.returncode == 0, result.stderr
    assert "Unlocked 300.0k CNY more for north" in result.stdout  # its collection rate held (96%, 97%)
    folder = tmp_path / "fy2027-fitted-replan-Q2"
    assert {"changes.csv", "actuals.csv", "change_limits.csv"} <= {p.name for p in folder.iterdir()}
    summary = check_run(folder)  # Q1 and Q2 hold the actuals; every rule, the limits and the unlock hold
    assert summary["replan"]["past_periods"] == ["Q1", "Q2"]
    assert any(row["kind"] == "change_limit" for row in summary["replan"]["binding_after"])
    # the new targets by month for the rest of the year, and where the actuals came from
    import pandas as pd

    months = pd.read_csv(folder / "targets_month.csv")
    alloc = pd.read_csv(folder / "allocation.csv")
    for period in ("Q3", "Q4"):
        planned = alloc[alloc.period == period].groupby(["region", "channel"]).revenue.sum()
        split = months[months.period == period].groupby(["region", "channel"]).target.sum()
        assert (split - planned).abs().max() <= 1.0 + 1e-9 * planned.abs().max()  # whole units, rounded
    facts = dict(pd.read_csv(folder / "provenance.csv").values)
    assert facts["actuals file"].endswith("actuals_fy2027_h1.csv") and facts["actuals as of"] == "Q2"
    assert len(facts["actuals sha256"]) == 64
