"""The MIP suite's baseline (``benchmarks/baseline_milp.py``) models what the allocator models.

A tiny plan with every integer feature of the suite (S-shaped curves, integer headcount with
hires, releases and a hire limit, temp staff with a cost share, head-count and people-cost
policies) is solved to optimality by the allocator and by the textbook formulation on
``scipy.optimize.milp``, in each curve formulation (incremental, the allocator's runs, the
logarithmic SOS2 encoding) and with the hires integer or not: all report the same margin.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from allocator import load_scenario, solve

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import baseline_milp as bm  # noqa: E402

TINY = """
scenario: tiny-mip
currency: CNY
periods: {names: [P1, P2, P3], seasonality: [25%, 30%, 45%]}
budget: {total: 6M, reserve: {min: 5%, max: 8%}}
targets: {growth_floor: {growth: 10%}}
regions:
  - {id: north, class: growth, last_year_revenue: 9M}
  - {id: south, class: mature, last_year_revenue: 12M}
channels:
  - {id: online, gross_margin: 40%}
  - {id: offline, gross_margin: 35%}
response:
  - {region: north, channel: online, base: 3M, curve: {type: hill, max_lift: 6M, half_saturation: 1.2M, shape: 2.2},
     spend: {max: 3M}}
  - {region: north, channel: offline, base: 3M, curve: {type: exp, max_lift: 3M, scale: 0.8M}}
  - {region: south, channel: online, base: 5M, curve: {type: log, scale_lift: 2M, scale: 0.5M}}
  - region: south
    channel: offline
    base: 4M
    curve: {type: points, points: [[0, 0], [0.5M, 0.2M], [1M, 1.6M], [2M, 2.4M]]}
    spend: {max: 2M}
sales_force:
  cost_per_head: 300k
  revenue_capacity: 4M
  current: {north: 2, south: 5}
  max_hires_per_period: 2
  hire_cost: 40k
  allow_release: true
  release_cost: 60k
  temp_staff:
    periods: [P3]
    cost_per_head: 60k
    revenue_capacity: 500k
    share_of_people_cost: {min: 5%, max: 20%}
policies:
  - {name: growth staff, share: headcount, where: {region_class: [growth]}, min: 55%}
  - {name: mature cost, share: people_cost, where: {region_class: [mature]}, max: 70%}
"""


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    path = tmp_path_factory.mktemp("mip") / "tiny.yaml"
    path.write_text(TINY, encoding="utf-8")
    # the baseline solves the same interpolant: compare it with allocator's before exact-curve refinement
    scenario = load_scenario(path).with_changes({"solver.exact_gap": 1.0})
    plan = solve(scenario, mip_gap=1e-9, time_limit=60)
    assert plan.status == "optimal"
    return scenario, plan


@pytest.mark.parametrize("options", [
    bm.Options(),
    bm.Options(pwl="runs"),
    bm.Options(pwl="log"),
    bm.Options(staff="heads", bounds=True),
    bm.Options(staff="hires"),
    bm.Options(explicit=False),
    bm.Options(pwl="log", explicit=False),
])
def test_baseline_finds_the_allocators_optimum(tiny, options):
    scenario, plan = tiny
    m = bm.build(scenario, options)
    assert len(m.blocks["binaries"]) > 0 and len(m.blocks["o"]) > 0  # the features are in the model
    result = bm.solve_scipy(m, time_limit=60, mip_gap=1e-9, log=False)
    assert result.status == "optimal"
    assert result.margin == pytest.approx(plan.summary["pwl_objective"], rel=1e-6)


def test_the_lp_relaxation_bounds_the_optimum_from_above(tiny):
    scenario, plan = tiny
    relaxed = bm.solve_scipy(bm.build(scenario, bm.Options(staff="none")), mip_gap=1e-9, log=False)
    integer = bm.solve_scipy(bm.build(scenario), mip_gap=1e-9, log=False)
    assert relaxed.margin >= integer.margin - 1e-6 * abs(integer.margin)


def test_a_head_count_policy_binds_in_the_tiny_plan(tiny):
    """Without its policies the tiny plan keeps fewer heads in the north: the policy rows are live."""
    scenario, plan = tiny
    free = scenario.model_copy(update={"policies": ()})
    assert bm.solve_scipy(bm.build(free), mip_gap=1e-9, log=False).margin > plan.objective * (1 + 1e-7)


def test_the_log_parser_reads_a_highs_branch_and_bound_line():
    line = (" L       0       0         0   0.00%   812.4           811.9              0.06%      "
            "120     30      0      2345     3.4s")
    assert bm.parse_log(line) == [(3.4, pytest.approx(0.0006))]
