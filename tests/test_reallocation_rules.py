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


def test_period_bounds_are_validated_with_file_and_line(tmp_path):
    d = hand(spend={"max": 10, "periods": {"P3": {"max": 5}, "P1": {"min": 8, "max": 4}}})
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(d, sort_keys=False), encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    text = str(info.value)
    assert f"{path}:" in text and "response[1].spend.periods.P1.min: must not exceed max (8 > 4)" in text
    d = hand(spend={"max": 10, "periods": {"P3": {"max": 5}, "P1": {"min": 8}, "P2": {"min": 8}}})
    path.write_text(yaml.safe_dump(d, sort_keys=False), encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    text = str(info.value)
    assert "response[1].spend.periods.P3: unknown period 'P3'" in text
    assert "the periods' minimums add up to 16, above spend.max 10" in text
