"""Re-planning with the actuals so far (issue 12, docs/replan.md): optima computed by hand, the
original plan reproduced from its own actuals, bad actuals named by file and line, and the written
folder re-checked by tests/plan_checker.py (the past periods hold the actuals)."""

from __future__ import annotations

import pytest
import yaml
from typer.testing import CliRunner

from allocator import cli, load_scenario, read_actuals, replan, solve
from allocator.replanning.output import write_replan
from allocator.scenario import Scenario, ScenarioError
from tests.conftest import SCENARIOS
from tests.plan_checker import check_run

# one region, two linear channels at 50% margin over two equal halves: a returns 4 per unit up to 20
# a half (cap 40 a year), b 3 per unit up to 50 a half; a budget of 100
HAND = {
    "scenario": "hand",
    "periods": {"names": ["P1", "P2"], "seasonality": ["50%", "50%"]},
    "budget": {"total": 100},
    "regions": [{"id": "r"}],
    "channels": [{"id": "a", "gross_margin": "50%"}, {"id": "b", "gross_margin": "50%"}],
    "response": [{"region": "r", "channel": "a", "curve": {"type": "linear", "roas": 4, "cap": 40}},
                 {"region": "r", "channel": "b", "curve": {"type": "linear", "roas": 3, "cap": 100}}],
}
# P1 is over: a spent 10 and sold 50 (more than its curve says: 40), b spent 40 and sold 100
P1 = "period,region,channel,metric,value\nP1,r,a,spend,10\nP1,r,a,revenue,50\nP1,r,b,spend,40\nP1,r,b,revenue,100\n"


def hand(**changes) -> Scenario:
    s = Scenario.from_dict(HAND)
    return s.with_changes(changes) if changes else s


def write(tmp_path, text: str, name: str = "actuals.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def spend(plan, channel: str, period: str) -> float:
    a = plan.allocation
    return float(a[(a.channel == channel) & (a.period == period)].spend.iloc[0])


def test_the_rest_of_the_year_by_hand(tmp_path):
    # original: a at its caps (20 + 20), b the other 60; margin 0.5 * (160 + 180) - 100 = 70
    original = solve(hand())
    assert original.objective == pytest.approx(70.0, abs=1e-6)
    plan = replan(hand(), write(tmp_path, P1), "P1", original=original)
    # 50 spent, 50 left: a fills its P2 cap (20), b takes 30; margin 0.5 * (50 + 100 + 80 + 90) - 100 = 60
    assert plan.status == "optimal"
    assert (spend(plan, "a", "P1"), spend(plan, "b", "P1")) == pytest.approx((10.0, 40.0), abs=1e-9)
    assert (spend(plan, "a", "P2"), spend(plan, "b", "P2")) == pytest.approx((20.0, 30.0), abs=1e-6)
    assert plan.objective == pytest.approx(60.0, abs=1e-6)
    r = plan.summary["replan"]
    assert r["spent_to_date"] == 50 and r["budget_left"] == 50 and r["past_periods"] == ["P1"]
    changes = plan.extra_tables["changes"].set_index(["channel", "period"])
    assert changes.loc[("a", "P1"), "actual_revenue"] == 50 and changes.loc[("a", "P1"), "phase"] == "actual"
    assert changes.loc[("b", "P2"), "new_spend"] == pytest.approx(30.0, abs=1e-6)
    assert any("budget is left" in s for s in r["sentences"])
    cbc = replan(hand(), write(tmp_path, P1), "P1", original=original, solver="cbc")  # the same model through PuLP
    assert cbc.objective == pytest.approx(60.0, abs=1e-6)


def test_growth_floors_count_actuals_plus_plan(tmp_path):
    # a floor of 330 needs 180 more in P2, but 50 of budget buys at most 80 + 90 = 170: no plan
    floor = hand(**{"regions": [{"id": "r", "last_year_revenue": 300, "growth_floor": "10%"}]})
    plan = replan(floor, write(tmp_path, P1), "P1")
    assert plan.status == "infeasible"
    assert "growth" in plan.diagnosis["explanation"]
    # a floor of 300 needs 150 more: met (170)
    met = hand(**{"regions": [{"id": "r", "last_year_revenue": 300, "growth_floor": "0%"}]})
    assert replan(met, write(tmp_path, P1), "P1").objective == pytest.approx(60.0, abs=1e-6)


@pytest.mark.parametrize("path", ["annual_plan.yaml", "fitted_plan.yaml", "carryover_promotion.yaml"])
def test_actuals_equal_to_the_plan_reproduce_its_remaining_periods(tmp_path, path):
    s = load_scenario(SCENARIOS / path).with_changes({"solver.exact_gap": 1})  # one interpolant, no refinement
    original = solve(s)
    names = list(s.periods.names)
    past = names[: len(names) // 2]
    rows = ["period,region,channel,metric,value"]
    for r in original.allocation.itertuples():
        if r.period in past:
            rows += [f"{r.period},{r.region},{r.channel},spend,{r.spend!r}",
                     f"{r.period},{r.region},{r.channel},revenue,{r.revenue!r}"]
    for r in original.headcount.itertuples():
        if r.period in past:
            rows += [f"{r.period},{r.region},,core,{r.core}", f"{r.period},{r.region},,temp,{r.temp}"]
    plan = replan(s, write(tmp_path, "\n".join(rows) + "\n"), past[-1], original=original)
    assert plan.status == "optimal"
    scale = s.budget.total
    for column in ("spend", "revenue"):
        assert (plan.allocation[column] - original.allocation[column]).abs().max() <= 1e-7 * scale
    if len(original.headcount):
        assert (plan.headcount.core == original.headcount.core).all()
        assert (plan.headcount.temp == original.headcount.temp).all()
    # the same plan, the same interpolated margin (the headline reads the past's revenue as actual,
    # not off the exact curve, so it differs by the past periods' exact-curve correction)
    assert plan.summary["pwl_objective"] == pytest.approx(original.summary["pwl_objective"], rel=1e-9)
    moved = plan.extra_tables["changes"].query("phase == 'plan'").spend_change.abs().max()
    assert moved <= 1e-7 * scale
    assert any("unchanged" in line for line in plan.summary["replan"]["sentences"])
    check_run(write_replan(plan, tmp_path / "runs"))  # past periods equal the actuals, every rule holds


def test_daily_actuals_are_summed_into_their_period(tmp_path):
    dated = hand(decomposition={"calendar": {"start": "2027-01-01", "period": "quarter"}})
    text = ("period,region,channel,metric,value\n2027-01-05,r,a,spend,4\n2027-02-10,r,a,spend,6\n"
            "2027-03-31,r,a,revenue,50\nP1,r,b,spend,40\nP1,r,b,revenue,100\n2027-04-02,r,a,spend,99\n")
    actuals = read_actuals(write(tmp_path, text), dated, "2027-03-31")
    assert actuals.periods == ("P1",) and actuals.ignored == 1
    assert actuals.past.spend[("r", "a", "P1")] == 10
    assert replan(dated, actuals).objective == pytest.approx(60.0, abs=1e-6)
    with pytest.raises(ScenarioError, match="no period is over by 2027-03-15"):
        read_actuals(write(tmp_path, text), dated, "2027-03-15")


BAD = [
    ("P1,r,a,spnd,10\n", ":2 metric: unknown metric 'spnd'; did you mean `spend`?"),
    ("P1,rr,a,spend,10\n", ":2 region: unknown region 'rr'"),
    ("P1,r,c,spend,10\n", ":2 channel: r/c is not a response cell"),
    ("P3,r,a,spend,10\n", ":2 period: 'P3' is neither a period nor a date"),
    ("2027-01-05,r,a,spend,10\n", ":2 period: 2027-01-05 is a date, but the scenario has no decomposition.calendar"),
    ("P1,r,,spend,10\n", ":2 channel: is empty: spend is per cell"),
    ("P1,r,a,core,3\n", ":2 channel: must be empty: core is per region"),
    ("P1,r,,core,3\n", ":2 metric: core heads, but the scenario has no sales_force"),
    ("P1,r,a,spend,-5\n", ":2 value:"),
    ("P1,r,a,spend,lots\n", ":2 value:"),
    ("P1,r,a,spend,10\nP1,r,a,spend,10\n", ":3: duplicate actuals row (spend of r/a in P1; first on line 2)"),
]


@pytest.mark.parametrize(("rows", "message"), BAD)
def test_bad_actuals_are_named_by_line(tmp_path, rows, message):
    path = write(tmp_path, "period,region,channel,metric,value\n" + rows)
    with pytest.raises(ScenarioError) as info:
        read_actuals(path, hand(), "P1")
    assert message in str(info.value)
    assert str(path) in str(info.value)


def test_missing_actuals_and_a_bad_as_of(tmp_path):
    path = write(tmp_path, "period,region,channel,metric,value\nP1,r,a,spend,10\n")
    with pytest.raises(ScenarioError, match="no actuals for revenue of r/a in P1, spend of r/b in P1"):
        read_actuals(path, hand(), "P1")
    with pytest.raises(ScenarioError, match="--as-of: .P3. is neither a period nor a date"):
        read_actuals(path, hand(), "P3")
    with pytest.raises(ScenarioError, match="nothing is left to re-plan"):
        read_actuals(path, hand(), "P2")
    over = write(tmp_path, P1.replace("P1,r,b,spend,40", "P1,r,b,spend,140"), "over.csv")
    with pytest.raises(ScenarioError, match="r/b spent 140 by P1, above its spend.max 100"):
        read_actuals(over, hand(), "P1")
    with pytest.raises(ScenarioError, match="missing column"):
        read_actuals(write(tmp_path, "period,region,metric,value\n", "cols.csv"), hand(), "P1")


def test_a_stochastic_scenario_is_refused(tmp_path):
    s = load_scenario(SCENARIOS / "annual_plan_uncertain.yaml")
    if s.stochastic is None:
        pytest.skip("the example has no stochastic section")
    with pytest.raises(ScenarioError, match="a re-plan is deterministic"):
        replan(s, write(tmp_path, P1), "P1")


def invoke(*args: object):
    return CliRunner().invoke(cli.app, [str(a) for a in args], env={"COLUMNS": "200"})


def test_the_command_writes_a_new_folder_with_changes(tmp_path):
    scenario = tmp_path / "hand.yaml"
    scenario.write_text(yaml.safe_dump(HAND), encoding="utf-8")
    actuals = write(tmp_path, P1)
    first = invoke("run", scenario, "--out", tmp_path / "runs", "--quiet")
    assert first.exit_code == 0, first.output
    result = invoke("replan", scenario, actuals, "--as-of", "P1", "--from", tmp_path / "runs" / "hand",
                    "--out", tmp_path / "runs", "--quiet")
    assert result.exit_code == 0, result.output
    assert "budget is left for P2" in result.output
    folder = tmp_path / "runs" / "hand-replan-P1"
    assert (folder / "changes.csv").is_file() and (folder / "actuals.csv").is_file()
    report = (folder / "report.html").read_text(encoding="utf-8")
    assert "Re-plan after P1" in report and "budget is left for P2" in report  # the summary in words
    check_run(folder)
    again = invoke("replan", scenario, actuals, "--as-of", "P1", "--out", tmp_path / "runs", "--quiet")
    assert again.exit_code == 0 and (tmp_path / "runs" / "hand-replan-P1-2").is_dir()
    bad = write(tmp_path, "period,region,channel,metric,value\nP1,r,a,spnd,1\n", "bad.csv")
    result = invoke("replan", scenario, bad, "--as-of", "P1", "--out", tmp_path / "other")
    assert result.exit_code == 2 and "bad.csv:2 metric" in result.output
    assert not (tmp_path / "other").exists()


def test_a_foreign_or_missing_original_is_refused(tmp_path):
    scenario = tmp_path / "hand.yaml"
    scenario.write_text(yaml.safe_dump(HAND), encoding="utf-8")
    actuals = write(tmp_path, P1)
    missing = invoke("replan", scenario, actuals, "--as-of", "P1", "--from", tmp_path / "nowhere", "--out", tmp_path)
    assert missing.exit_code == 2 and "not a run folder" in missing.output
    other = invoke("run", SCENARIOS / "quarter_12_weeks.yaml", "--out", tmp_path / "runs", "--quiet")
    assert other.exit_code == 0
    foreign = invoke("replan", scenario, actuals, "--as-of", "P1", "--from", tmp_path / "runs" / "q3-weekly",
                     "--out", tmp_path)
    assert foreign.exit_code == 2 and "the original plan's cells and periods are not the scenario's" in foreign.output
    dated = invoke("replan", scenario, actuals, "--as-of", "2027-03-31", "--out", tmp_path)
    assert dated.exit_code == 2 and "the scenario has no decomposition.calendar" in dated.output


@pytest.mark.parametrize("east_core", [6, 20])  # current 8, no releases, at most 6 hires a period
def test_actual_heads_outside_the_hiring_rules_are_held_not_infeasible(tmp_path, east_core):
    """What happened happened: heads that fell without releases allowed, or rose past the hire
    limit, are the actuals of Q1; the rules hold again from Q2 on."""
    scenario = load_scenario(SCENARIOS / "annual_plan.yaml").with_changes({"solver.exact_gap": 1.0})
    original = solve(scenario)
    a, h = original.allocation, original.headcount
    rows = [f"Q1,{r},{c},{m},{v!r}" for r, c, p, x, y in zip(a.region, a.channel, a.period, a.spend, a.revenue)
            if p == "Q1" for m, v in (("spend", x), ("revenue", y))]
    for r, p, core, temp in zip(h.region, h.period, h.core, h.temp):
        if p == "Q1":
            rows += [f"Q1,{r},,core,{east_core if r == 'east' else core}", f"Q1,{r},,temp,{temp}"]
    actuals = write(tmp_path, "period,region,channel,metric,value\n" + "\n".join(rows) + "\n")
    plan = replan(scenario, actuals, "Q1", original=original)
    assert plan.status == "optimal"
    heads = plan.headcount.set_index(["region", "period"])
    assert heads.loc[("east", "Q1"), "core"] == east_core
    assert heads.loc[("east", "Q2"), "core"] >= east_core  # no releases from Q2 on
    assert heads.loc[("east", "Q2"), "hires"] <= 6
    check_run(write_replan(plan, tmp_path / "runs"))


def test_a_carrying_cell_may_have_spent_in_a_period_without_demand(tmp_path):
    """Brand spend in a 0%-seasonality month works only later (carryover): as an actual it is held,
    not refused, and it keeps working in the months re-planned."""
    data = yaml.safe_load((SCENARIOS / "carryover_promotion.yaml").read_text(encoding="utf-8"))
    data["periods"]["seasonality"] = ["0%", "23%", "13%", "16%", "30%", "18%"]
    brand = next(c for c in data["response"] if (c["region"], c["channel"]) == ("east", "brand"))
    brand["spend"] = {"periods": {"Jul": {"min": "100k"}}}
    path = tmp_path / "zero_july.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    scenario = load_scenario(path).with_changes({"solver.exact_gap": 1.0})
    original = solve(scenario)
    a = original.allocation
    rows = [f"{p},{r},{c},{m},{v!r}" for r, c, p, x, y in zip(a.region, a.channel, a.period, a.spend, a.revenue)
            if p in ("Jul", "Aug") for m, v in (("spend", x), ("revenue", y))]
    actuals = write(tmp_path, "period,region,channel,metric,value\n" + "\n".join(rows) + "\n")
    plan = replan(scenario, actuals, "Aug", original=original)
    assert plan.status == "optimal"
    assert spend(plan, "brand", "Jul") == pytest.approx(spend(original, "brand", "Jul"))
    for period in ("Sep", "Oct", "Nov", "Dec"):  # the same plan: July's brand spend still counted
        assert spend(plan, "brand", period) == pytest.approx(spend(original, "brand", period), rel=1e-6, abs=1.0)
