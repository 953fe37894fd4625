"""The Python API: ``load_scenario`` -> ``solve`` -> ``Plan``.

>>> from allocator import load_scenario, solve      # doctest: +SKIP
>>> plan = solve(load_scenario("scenarios/annual_plan.yaml"))
>>> plan.status, round(plan.objective)
"""

from __future__ import annotations

import time

from allocator.deadline import Deadline
from allocator.diagnose import diagnose
from allocator.exact import Outcome, refine
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
        timings["tabulate"] = time.perf_counter() - start
        start = time.perf_counter()
        left = None if time_limit is None else max(0.0, time_limit - solution.seconds)
        plan = _refined(data, plan, solver, left, mip_gap, options.exact_gap)
        timings["refine"] = time.perf_counter() - start
        plan.timings = timings
        return plan
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


def _outcome(data, fixed: dict | None, solver: str, time_limit: float | None, mip_gap: float) -> Outcome:
    """Build and solve ``data`` (headcount held at ``fixed``); the plan, its exact margin and the bound."""
    model = build_model(data)
    if fixed is not None:
        for key, (core, temp) in fixed.items():
            model.core[key].lowBound = model.core[key].upBound = core
            if key in model.temp:
                model.temp[key].lowBound = model.temp[key].upBound = temp
    if time_limit is not None and time_limit <= 0:
        nan = float("nan")
        return Outcome(False, nan, nan, nan, {}, None, None)
    solution = solve_model(model, solver, time_limit, mip_gap)
    if solution.status not in (Status.OPTIMAL, Status.FEASIBLE):
        nan = float("nan")
        return Outcome(False, nan, nan, nan, {}, None, None)
    plan = tabulate(model, solution)
    return _from_plan(plan, solution.objective * model.unit, solution.mip_gap)


def _from_plan(plan: Plan, objective: float, gap: float) -> Outcome:
    a, h = plan.allocation, plan.headcount
    spend = dict(zip(zip(a.region, a.channel, a.period), a.spend))
    staffing = {(r, p): (float(c), float(t)) for r, p, c, t in zip(h.region, h.period, h.core, h.temp)} or None
    bound = objective + (gap if math.isfinite(gap) else 1.0) * abs(objective)
    return Outcome(True, float(plan.summary["exact_curve_margin"]), objective, bound, spend, staffing, plan)


def _refined(data, plan: Plan, solver: str, time_limit: float | None, mip_gap: float, exact_gap: float) -> Plan:
    """The plan refined on the exact curves, with the certificate in its summary (``allocator/exact.py``)."""
    first = _from_plan(plan, plan.summary["pwl_objective"], plan.summary["mip_gap"] or 0.0)

    def solve_one(d, fixed, left):
        return _outcome(d, fixed, solver, left, mip_gap)

    best, cert = refine(data, solve_one, first, exact_gap, time_limit)
    out = best.result
    for key in ("objective", "exact_curve_margin", "pwl_objective"):
        out.summary[key] = float(out.summary[key])
    out.summary.update(exact_curve_bound=float(cert.bound) if math.isfinite(cert.bound) else None,
                       exact_curve_gap=float(cert.gap) if math.isfinite(cert.gap) else None,
                       exact_rounds=cert.rounds)
    return out
