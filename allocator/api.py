"""The Python API: ``load_scenario`` -> ``solve`` -> ``Plan``.

>>> from allocator import load_scenario, solve      # doctest: +SKIP
>>> plan = solve(load_scenario("scenarios/annual_plan.yaml"))
>>> plan.status, round(plan.objective)
"""

from __future__ import annotations

import time

from allocator.deadline import Deadline
from allocator.diagnose import diagnose
from allocator.model.build import build_model
from allocator.model.data import planning_data
from allocator.plan import SUMMARY_KEYS, Plan, tabulate
from allocator.scenario import Problem, Scenario, ScenarioError
from allocator.solve import Status, solve_model


def check_options(solver: str | None, time_limit: float | None, mip_gap: float | None) -> None:
    """The solver options of a call follow the rules of the scenario's ``solver:`` section."""
    problems = []
    if solver is not None and solver not in ("highs", "cbc"):
        problems.append(Problem("--solver", None, "", f"must be highs or cbc (got {solver!r})"))
    if time_limit is not None and not (time_limit > 0):  # math.inf: no time limit (`--time-limit none`)
        problems.append(Problem("--time-limit", None, "", f"must be a number of seconds > 0 or none (got {time_limit!r})"))
    if mip_gap is not None and not (0.0 <= mip_gap <= 1.0):
        problems.append(Problem("--mip-gap", None, "", f"must be between 0 and 1 (got {mip_gap!r})"))
    if problems:
        raise ScenarioError(problems)


def solve(
    scenario: Scenario,
    solver: str | None = None,
    time_limit: float | None = None,
    mip_gap: float | None = None,
) -> Plan:
    """Build and solve a scenario. Options left ``None`` come from the scenario's ``solver:``.

    An infeasible scenario is not an exception: the plan has ``status == "infeasible"`` and a
    ``diagnosis`` saying which constraints had to give.
    """
    check_options(solver, time_limit, mip_gap)
    options = scenario.solver
    solver = solver or options.name
    time_limit = time_limit if time_limit is not None else options.time_limit
    mip_gap = mip_gap if mip_gap is not None else options.mip_gap
    timings = {}
    start = time.perf_counter()
    data = planning_data(scenario)
    model = build_model(data)
    timings["build"] = time.perf_counter() - start
    deadline = Deadline(time_limit)  # one limit for the solve, its dual LP and the diagnosis together
    solution = solve_model(model, solver, deadline.solver_limit(), mip_gap)
    timings["solve"] = solution.seconds
    start = time.perf_counter()
    if solution.status in (Status.OPTIMAL, Status.FEASIBLE):
        plan = tabulate(model, solution)
    else:
        summary = dict.fromkeys(SUMMARY_KEYS)
        summary.update(scenario=scenario.scenario, status=str(solution.status), solver=solver,
                       solve_seconds=solution.seconds)
        if solution.message:
            summary["solver_message"] = solution.message  # refused, not out of time
        plan = Plan(scenario, solution.status, summary)
        if solution.status == Status.INFEASIBLE:
            plan.diagnosis = diagnose(data, solver, deadline)
    timings["tabulate"] = time.perf_counter() - start
    plan.timings = timings
    return plan
