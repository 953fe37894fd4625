"""The Python API: ``load_scenario`` -> ``solve`` (or ``run``) -> ``Plan``.

>>> from allocator import load_scenario, solve      # doctest: +SKIP
>>> plan = solve(load_scenario("scenarios/annual_plan.yaml"))
>>> plan.status, round(plan.objective)

``run`` is what ``allocator run`` does: it also checks and runs the decomposition, so
``run(scenario).write(out)`` writes the same run folder as the command line.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

from allocator.diagnose import diagnose
from allocator.model.build import PlanningModel, build_model
from allocator.model.data import planning_data
from allocator.plan import Plan, no_plan_summary, tabulate
from allocator.scenario import Problem, Scenario, ScenarioError
from allocator.solve import SOLVERS, Solution, Status, solve_model
from allocator.solve_pulp import solver_available


def check_options(solver: str | None, time_limit: float | None, mip_gap: float | None) -> None:
    """The solver options of a call follow the rules of the scenario's ``solver:`` section."""
    problems = []
    if solver is not None and solver not in SOLVERS:
        others = ", ".join(SOLVERS[2:])
        problems.append(Problem("--solver", None, "", f"must be highs or cbc, or one of {others} where installed "
                                f"(got {solver!r})"))
    elif solver is not None and not solver_available(solver):
        problems.append(Problem("--solver", None, "", f"must be highs or cbc: {solver} is not installed here "
                                "(PuLP cannot find it)"))
    if time_limit is not None and not (math.isfinite(time_limit) and time_limit > 0):
        problems.append(Problem("--time-limit", None, "", f"must be a number of seconds > 0 (got {time_limit!r})"))
    if mip_gap is not None and not (0.0 <= mip_gap <= 1.0):
        problems.append(Problem("--mip-gap", None, "", f"must be between 0 and 1 (got {mip_gap!r})"))
    if problems:
        raise ScenarioError(problems)


def check_model_path(path: str | Path | None) -> None:
    from allocator.solve_pulp import MODEL_SUFFIXES

    if path is not None and Path(path).suffix.lower() not in MODEL_SUFFIXES:
        raise ScenarioError([Problem("--write-model", None, str(path), "must end in .mps or .lp")])


def plan_of(model: PlanningModel, solution: Solution, time_limit: float | None = None,
            explain: bool = True) -> Plan:
    """The plan of a solved model; with no plan, the summary says why (and, infeasible, what gave)."""
    if solution.has_plan:
        return tabulate(model, solution)
    scenario = model.data.scenario
    plan = Plan(scenario, solution.status, no_plan_summary(scenario, solution))
    if solution.status == Status.INFEASIBLE and explain:
        plan.diagnosis = diagnose(model.data, solution.solver, time_limit)
    return plan


def solve(
    scenario: Scenario,
    solver: str | None = None,
    time_limit: float | None = None,
    mip_gap: float | None = None,
    write_model: str | Path | None = None,
) -> Plan:
    """Build and solve a scenario. Options left ``None`` come from the scenario's ``solver:``.

    An infeasible scenario is not an exception: the plan has ``status == "infeasible"`` and a
    ``diagnosis`` saying which constraints had to give. ``write_model`` (a ``.mps`` or ``.lp``
    path) writes the exact model that was solved.
    """
    check_options(solver, time_limit, mip_gap)
    check_model_path(write_model)
    options = scenario.solver
    solver = solver or options.name
    time_limit = time_limit if time_limit is not None else options.time_limit
    mip_gap = mip_gap if mip_gap is not None else options.mip_gap
    timings = {}
    start = time.perf_counter()
    model = build_model(planning_data(scenario))
    timings["build"] = time.perf_counter() - start
    solution = solve_model(model, solver, time_limit, mip_gap)
    timings["solve"] = solution.seconds
    if write_model is not None:
        from allocator.solve_pulp import write_model as write

        write(model, write_model)
    start = time.perf_counter()
    plan = plan_of(model, solution, time_limit)
    timings["tabulate"] = time.perf_counter() - start
    plan.timings = timings
    return plan


def run(
    scenario: Scenario,
    solver: str | None = None,
    time_limit: float | None = None,
    mip_gap: float | None = None,
    write_model: str | Path | None = None,
) -> Plan:
    """What ``allocator run`` does: check the decomposition's inputs, solve, decompose the plan.

    ``run(scenario).write(out_dir)`` writes the same run folder as ``allocator run`` (timings aside).
    """
    from allocator.decompose import check_inputs, decompose_plan

    check_inputs(scenario)  # the decomposition's CSV inputs, read and checked before solving
    plan = solve(scenario, solver=solver, time_limit=time_limit, mip_gap=mip_gap, write_model=write_model)
    plan.extra_tables.update(decompose_plan(plan))  # months, weeks, days, products, reps, funnel
    return plan
