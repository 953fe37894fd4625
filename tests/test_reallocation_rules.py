"""Reallocation rules as scenario fields (issue 12): per-period spend bounds, change limits against a
reference plan, budget unlocked by a collection rate. Each optimum is computed by hand on the
two-channel scenario of tests/test_replan.py; each rule is validated with file:line messages."""

from __future__ import annotations

import copy

import pytest
import yaml

from allocator import load_scenario, solve
from allocator.scenario import Scenario, ScenarioError
from tests.plan_checker import check_run
from tests.test_replan import HAND


def hand(**cell_b) -> dict:
    d = copy.deepcopy(HAND)
    d["response"][1].update(cell_b)
    return d


def spends(plan) -> dict:
    a = plan.allocation
    return {(c, p): round(float(x), 6) for c, p, x in zip(a.channel, a.period, a.spend)}


def price(plan, name: str) -> float:
    c = plan.constraints
    return float(c[c.name == name].shadow_price.iloc[0])


def test_period_caps_hold_a_test_budget(tmp_path):
    # b may spend 5 in P1 and 25 in P2 (a test budget): a fills its caps (20 + 20), 30 stays unspent;
    # margin 0.5 * (160 + 3 * 30) - 70 = 55, and each unit more of b's caps earns 0.5 * 3 - 1 = 0.5
    d = hand(spend={"periods": {"P1": {"max": 5}, "P2": {"max": 25}}})
    plan = solve(Scenario.from_dict(d))
    assert spends(plan) == {("a", "P1"): 20, ("a", "P2"): 20, ("b", "P1"): 5, ("b", "P2"): 25}
    assert plan.objective == pytest.approx(55.0, abs=1e-6)
    assert price(plan, "period_spend_max[r/b,P1]") == pytest.approx(0.5, abs=1e-9)
    assert price(plan, "budget") == pytest.approx(0.0, abs=1e-9)
    check_run(plan.write(tmp_path))


def test_a_period_minimum_is_spent_even_where_it_earns_nothing():
    # a must spend 30 in P1, 10 above where its curve stops: a 30 + 20, b 50; margin 0.5 * 310 - 100 = 55;
    # one unit less of the minimum moves from a (where it earns nothing) to b: 0.5 * 3 = 1.5 more margin
    d = copy.deepcopy(HAND)
    d["response"][0]["spend"] = {"periods": {"P1": {"min": 30}}}
    plan = solve(Scenario.from_dict(d))
    assert spends(plan)[("a", "P1")] == 30 and spends(plan)[("a", "P2")] == 20
    assert plan.objective == pytest.approx(55.0, abs=1e-6)
    assert price(plan, "period_spend_min[r/a,P1]") == pytest.approx(1.5, abs=1e-9)


def load_problems(path, data: dict) -> str:
    """``data`` written to ``path`` as YAML, loaded: the problems it must raise, as one text."""
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    return str(info.value)


def test_period_bounds_are_validated_with_file_and_line(tmp_path):
    d = hand(spend={"max": 10, "periods": {"P3": {"max": 5}, "P1": {"min": 8, "max": 4}}})
    path = tmp_path / "s.yaml"
    text = load_problems(path, d)
    assert f"{path}:" in text and "response[1].spend.periods.P1.min: must not exceed max (8 > 4)" in text
    d = hand(spend={"max": 10, "periods": {"P3": {"max": 5}, "P1": {"min": 8}, "P2": {"min": 8}}})
    text = load_problems(path, d)
    assert "response[1].spend.periods.P3: unknown period 'P3'" in text
    assert "the periods' minimums add up to 16, above spend.max 10" in text


def reference_file(tmp_path, a=(20, 20), b=(30, 30)):
    rows = ["region,channel,period,spend"] + [f"r,{c},P{t + 1},{x[t]}" for c, x in (("a", a), ("b", b)) for t in range(2)]
    (tmp_path / "reference.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")


def with_limits(tmp_path, limits, reference="reference.csv") -> Scenario:
    d = copy.deepcopy(HAND)
    d["reallocation"] = {"limits": limits} | ({"reference": reference} if reference else {})
    path = tmp_path / "limits.yaml"
    path.write_text(yaml.safe_dump(d, sort_keys=False), encoding="utf-8")
    return load_scenario(path)


def test_a_change_limit_caps_the_increase_against_the_reference(tmp_path):
    # b may not grow past last year's 25 a period: a 20 + 20, b 25 + 25, 10 unspent;
    # margin 0.5 * (160 + 150) - 90 = 65, and a unit more of b's limit earns 0.5 * 3 - 1 = 0.5
    reference_file(tmp_path, b=(25, 25))
    plan = solve(with_limits(tmp_path, [{"where": {"channel": ["b"]}, "max_increase": "0%"}]))
    assert spends(plan) == {("a", "P1"): 20, ("a", "P2"): 20, ("b", "P1"): 25, ("b", "P2"): 25}
    assert plan.objective == pytest.approx(65.0, abs=1e-6)
    assert price(plan, "change_limit[0].max[r/b,P1]") == pytest.approx(0.5, abs=1e-9)
    check_run(plan.write(tmp_path / "runs"))


def test_a_change_limit_caps_the_cut(tmp_path):
    # a may fall at most 10% below 30 a period: 27 + 27 (7 each past its curve's end), b the other 46;
    # margin 0.5 * (160 + 138) - 100 = 49; one unit less of a's floor moves to b: 0.5 * 3 = 1.5 more
    reference_file(tmp_path, a=(30, 30))
    plan = solve(with_limits(tmp_path, [{"where": {"channel": "a"}, "max_decrease": "10%"}]))
    assert spends(plan)[("a", "P1")] == 27 and spends(plan)[("a", "P2")] == 27
    assert plan.objective == pytest.approx(49.0, abs=1e-6)
    assert price(plan, "change_limit[0].min[r/a,P1]") == pytest.approx(1.5, abs=1e-9)


def test_the_playbook_rule_by_realised_roi_in_a_re_plan(tmp_path):
    # P1 actuals: a spent 10 and sold 50, a realised ROI of 0.5 * 50 / 10 - 1 = 150%; b 0.5 * 100 / 40 - 1 = 25%.
    # Who returned at least 100% may grow 20% over the reference, the others not at all: a's P2 at most 24
    # (its curve stops at 20), b's at most its reference 25; 5 of the 50 left stays unspent;
    # margin 0.5 * (50 + 100 + 80 + 75) - 95 = 57.5, and b's limit is worth 0.5 a unit
    from allocator import replan
    from tests.test_replan import P1

    reference_file(tmp_path, b=(30, 25))
    s = with_limits(tmp_path, [{"where": {"realised_roi": {"min": "100%"}}, "max_increase": "20%"},
                               {"where": {"realised_roi": {"max": "100%"}}, "max_increase": "0%"}])
    (tmp_path / "actuals.csv").write_text(P1, encoding="utf-8")
    plan = replan(s, tmp_path / "actuals.csv", "P1")
    assert spends(plan)[("a", "P2")] == pytest.approx(20.0) and spends(plan)[("b", "P2")] == pytest.approx(25.0)
    assert plan.objective == pytest.approx(57.5, abs=1e-6)
    assert price(plan, "change_limit[1].max[r/b,P2]") == pytest.approx(0.5, abs=1e-9)
    table = plan.extra_tables["change_limits"]
    assert list(zip(table.limit, table.channel, table.period, table["max"])) == [(0, "a", "P2", 24.0), (1, "b", "P2", 25.0)]
    from allocator.replanning.output import write_replan

    check_run(write_replan(plan, tmp_path / "runs"))


def test_change_limits_are_validated(tmp_path):
    reference_file(tmp_path)
    with pytest.raises(ScenarioError, match=r"limits.yaml:\d+ reallocation.limits\[0\]: needs `max_increase`"):
        with_limits(tmp_path, [{"where": {"channel": ["b"]}}])
    with pytest.raises(ScenarioError, match=r"reallocation.limits\[0\].where.channel\[0\]: unknown channel 'bb'; did you mean `b`"):
        with_limits(tmp_path, [{"where": {"channel": ["bb"]}, "max_increase": "5%"}])
    no_reference = with_limits(tmp_path, [{"max_increase": "5%"}], reference=None)
    assert any("hold only in `allocator replan`" in note for note in no_reference.notes)
    assert "change_limits" not in solve(no_reference).extra_tables  # nothing to hold against
    roi = with_limits(tmp_path, [{"where": {"realised_roi": {"min": "300%"}}, "max_increase": "20%"}])
    with pytest.raises(ScenarioError, match="realised_roi: needs actuals"):
        solve(roi)
    (tmp_path / "reference.csv").write_text("region,channel,period,spend\nr,c,P1,5\nr,a,P9,5\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        solve(with_limits(tmp_path, [{"max_increase": "5%"}]))
    assert "reference.csv:2 channel: r/c is not a response cell" in str(info.value)
    assert "reference.csv:3 period: unknown period 'P9'" in str(info.value)


def two_regions(amount, rate="96%") -> tuple[Scenario, str]:
    """HAND plus a region q whose one cell b returns 2.4 a unit (0.2 margin a unit), and an unlock of
    ``amount`` more budget for q once its collection rate stays at or above 95%."""
    d = copy.deepcopy(HAND)
    d["regions"].append({"id": "q"})
    d["response"].append({"region": "q", "channel": "b", "curve": {"type": "linear", "roas": 2.4, "cap": 200}})
    d["response"][1]["spend"] = {"periods": {"P2": {"max": 50}}}
    d["budget"]["unlocks"] = [{"where": {"region": "q"}, "if": {"collection_rate": {"min": "95%"}}, "amount": amount}]
    from tests.test_replan import P1

    return Scenario.from_dict(d), P1 + f"P1,q,b,spend,0\nP1,q,b,revenue,0\nP1,q,,collection_rate,{rate}\n"


def test_an_unlocked_budget_is_spent_in_its_regions(tmp_path):
    # 50 left, and 10 more for q (its collection rate held at 96%): r's a fills P2 (20), r's b takes
    # the other 30; the 10 unlocked may only go to q (0.2 a unit, where r's b would earn 0.5):
    # margin 0.5 * (50 + 100 + 80 + 90 + 24) - 110 = 62; freeing a unit of it for r earns 1.5 - 1.2 = 0.3
    from allocator import replan
    from allocator.replanning.output import write_replan

    s, actuals = two_regions(10)
    (tmp_path / "a.csv").write_text(actuals, encoding="utf-8")
    plan = replan(s, tmp_path / "a.csv", "P1")
    a = plan.allocation.set_index(["region", "channel", "period"]).spend
    assert (a[("r", "a", "P2")], a[("r", "b", "P2")], a[("q", "b", "P2")]) == pytest.approx((20, 30, 10), abs=1e-6)
    assert plan.objective == pytest.approx(62.0, abs=1e-6)
    assert price(plan, "unlock[0]") == pytest.approx(0.3, abs=1e-9)
    r = plan.summary["replan"]
    assert r["unlocked"] == 10 and r["budget_left"] == 60
    assert any("Unlocked 10 more for q" in line for line in r["sentences"])
    check_run(write_replan(plan, tmp_path / "runs"))


def test_a_budget_stays_locked_below_the_collection_rate(tmp_path):
    # 94%: nothing unlocked; the 50 left go as in tests/test_replan.py (a 20, b 30; margin 60)
    from allocator import replan

    s, actuals = two_regions("10%", rate="94%")
    (tmp_path / "a.csv").write_text(actuals, encoding="utf-8")
    plan = replan(s, tmp_path / "a.csv", "P1")
    assert plan.objective == pytest.approx(60.0, abs=1e-6)
    r = plan.summary["replan"]
    assert r["unlocked"] == 0 and "q's collection rate is 94.0% in P1" in r["unlocks"][0]["why"]
    # as a share: 10% of the 100 budget
    s, actuals = two_regions("10%")
    (tmp_path / "b.csv").write_text(actuals, encoding="utf-8")
    assert replan(s, tmp_path / "b.csv", "P1").summary["replan"]["unlocked"] == pytest.approx(10.0)


def test_unlocks_are_validated(tmp_path):
    d = copy.deepcopy(HAND)
    d["regions"].append({"id": "q"})
    d["budget"]["unlocks"] = [{"where": {"region": "qq"}, "if": {"collection_rate": {"min": "95%"}}, "amount": "5%"},
                              {"if": {"collection_rate": {}}, "amount": "-3"},
                              {"where": {"region": ["r"]}, "if": {"collection_rate": {"min": "95%"}}, "amount": 5},
                              {"if": {"collection_rate": {"min": "95%"}}, "amount": 5},
                              {"if": {"collection_rate": {"min": "99%", "max": "90%"}}, "amount": 5}]
    path = tmp_path / "u.yaml"
    text = load_problems(path, d)
    assert f"{path}:" in text
    assert "budget.unlocks[1].if.collection_rate: needs `min`, `max` or both" in text
    assert "budget.unlocks[1].amount:" in text
    assert "budget.unlocks[4].if.collection_rate.min: must not exceed max (99% > 90%)" in text
    d["budget"]["unlocks"] = [d["budget"]["unlocks"][0], d["budget"]["unlocks"][2], d["budget"]["unlocks"][3]]
    text = load_problems(path, d)
    assert "budget.unlocks[0].where.region[0]: unknown region 'qq'" in text
    assert "budget.unlocks[2].where: region r is in budget.unlocks[1] too" in text


def test_a_changed_period_cap_updates_the_live_model_like_a_fresh_build():
    # the period_spend family is rebuilt from what it read (allocator/model/inputs.py); the others are copied
    from allocator.model.build import build_model
    from allocator.model.data import planning_data
    from tests.test_planning_model import assert_same_arrays

    before = Scenario.from_dict(hand(spend={"periods": {"P1": {"max": 5}, "P2": {"max": 25}}}))
    after = before.with_changes({"response[r/b].spend.periods.P2.max": 35})
    model = build_model(planning_data(before))
    assert model.solve().objective * model.unit == pytest.approx(55.0, abs=1e-6)  # model units to currency
    model.update(planning_data(after))
    assert model.rebuilt >= {"period_spend"} and "response" not in model.rebuilt
    assert_same_arrays(model.form, build_model(planning_data(after), unit=model.unit).form)
    # b takes 10 more in P2: 0.5 * 3 * 10 - 10 = 5 more margin
    assert model.solve().objective * model.unit == pytest.approx(60.0, abs=1e-6)


def test_validate_reads_the_reference_file(tmp_path):
    from typer.testing import CliRunner

    from allocator import cli

    with_limits(tmp_path, [{"max_increase": "5%"}], reference="missing.csv")  # loads: the file is read later
    result = CliRunner().invoke(cli.app, ["validate", str(tmp_path / "limits.yaml")])
    assert result.exit_code == 2
    assert "reallocation.reference: missing.csv: no such file" in result.output
    (tmp_path / "missing.csv").write_text("region,channel,period,spend\nr,c,P1,5\n", encoding="utf-8")
    result = CliRunner().invoke(cli.app, ["validate", str(tmp_path / "limits.yaml")])
    assert result.exit_code == 2 and "missing.csv:2 channel: r/c is not a response cell" in result.output
