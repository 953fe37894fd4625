"""How solver outcomes are read: CBC's statuses and gap, and options checked before solving."""

from types import SimpleNamespace

import pulp
import pytest

from allocator import Scenario, ScenarioError, solve
from allocator.solve import Status, _cbc_gap, _cbc_status

CBC_TIME_LIMIT_LOG = """Result - Stopped on time limit

Objective value:                793.78163742
Upper bound:                    802.455
Gap:                            -0.01
"""


def test_cbc_gap_is_computed_from_objective_and_bound_not_its_two_decimal_gap_line():
    assert _cbc_gap(CBC_TIME_LIMIT_LOG, Status.FEASIBLE) == pytest.approx((802.455 - 793.78163742) / 793.78163742)


def test_cbc_stopped_by_the_time_limit_in_preprocessing_is_not_solved_rather_than_infeasible():
    prob = SimpleNamespace(status=pulp.LpStatusInfeasible, sol_status=pulp.LpSolutionNoSolutionFound)
    log = "Continuous objective value is 772.89\nPre-processing says infeasible or unbounded\n"
    assert _cbc_status(prob, log, out_of_time=True) == Status.NOT_SOLVED
    assert _cbc_status(prob, log, out_of_time=False) == Status.INFEASIBLE
    assert _cbc_status(prob, CBC_TIME_LIMIT_LOG, out_of_time=False) == Status.NOT_SOLVED


def _tiny() -> Scenario:
    return Scenario.from_dict({
        "scenario": "tiny", "periods": {"names": ["P1"]}, "budget": {"total": "1M"},
        "regions": [{"id": "r"}], "channels": [{"id": "c", "gross_margin": "50%"}],
        "response": [{"region": "r", "channel": "c", "curve": {"type": "linear", "roas": 3, "cap": "0.5M"}}],
    })


@pytest.mark.parametrize("options, field", [
    ({"time_limit": 0}, "--time-limit"), ({"time_limit": -5}, "--time-limit"),
    ({"time_limit": float("nan")}, "--time-limit"), ({"mip_gap": 5}, "--mip-gap"),
    ({"mip_gap": -0.1}, "--mip-gap"), ({"solver": "gurobi"}, "--solver"),
])
def test_solver_options_follow_the_rules_of_the_solver_section(options, field):
    with pytest.raises(ScenarioError) as info:
        solve(_tiny(), **options)
    assert info.value.problems[0].file == field


def test_a_linear_cell_is_solved_alike_by_both_solvers():
    for solver in ("highs", "cbc"):
        plan = solve(_tiny(), solver=solver)
        assert plan.objective == pytest.approx(0.5e6 * 0.5, rel=1e-9)  # 0.5M spend buys 1.5M: margin 0.75M - 0.5M
