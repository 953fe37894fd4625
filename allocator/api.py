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

from allocator.deadline import Deadline
from allocator.diagnose import diagnose
from allocator.exact import Outcome, refine
from allocator.model.build import PlanningModel, build_model
from allocator.model.data import planning_data
from allocator.plan import Plan, no_plan_summary, tabulate
from allocator.scenario import Problem, Scenario, ScenarioError
from allocator.solve import SOLVERS, HighsRunner, Solution, Status, solve_model
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
    if time_limit is not None and not (time_limit > 0):  # math.inf: no time limit (`--time-limit none`)
        problems.append(Problem("--time-limit", None, "", f"must be a number of seconds > 0 or none (got {time_limit!r})"))
    if mip_gap is not None and not (0.0 <= mip_gap <= 1.0):
        problems.append(Problem("--mip-gap", None, "", f"must be between 0 and 1 (got {mip_gap!r})"))
    if problems:
        raise ScenarioError(problems)


def check_model_path(path: str | Path | None) -> None:
    from allocator.solve_pulp import MODEL_SUFFIXES

    if path is not None and Path(path).suffix.lower() not in MODEL_SUFFIXES:
        raise ScenarioError([Problem("--write-model", None, str(path), "must end in .mps or .lp")])


def plan_of(model: PlanningModel, solution: Solution, time_limit: float | Deadline | None = None,
            explain: bool = True) -> Plan:
    """The plan of a solved model; with no plan, the summary says why (and, infeasible, what gave)."""
    if solution.has_plan:
        return tabulate(model, solution)
    scenario = model.data.scenario
    summary = no_plan_summary(scenario, solution)
    if solution.message:
        summary["solver_message"] = solution.message  # refused or failed, not out of time
    plan = Plan(scenario, solution.status, summary)
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
    start = time.perf_counter()
    return solve_data(scenario, planning_data(scenario), solver, time_limit, mip_gap, write_model, start)


def solve_data(scenario: Scenario, data, solver: str | None = None, time_limit: float | None = None,
               mip_gap: float | None = None, write_model: str | Path | None = None,
               start: float | None = None) -> Plan:
    """:func:`solve` for planning data already made from ``scenario`` (a re-plan's carries its past)."""
    options = scenario.solver
    solver = solver or options.name
    time_limit = time_limit if time_limit is not None else options.time_limit
    mip_gap = mip_gap if mip_gap is not None else options.mip_gap
    timings = {}
    start = time.perf_counter() if start is None else start
    model = build_model(data)
    timings["build"] = time.perf_counter() - start
    deadline = Deadline(time_limit)  # one limit for the solve, its dual LP, refinement and diagnosis
    solution = solve_model(model, solver, deadline.solver_limit(), mip_gap)
    timings["solve"] = solution.seconds
    start = time.perf_counter()
    plan = plan_of(model, solution, deadline)
    plan.model = model
    timings["tabulate"] = time.perf_counter() - start
    if plan.has_plan:
        start = time.perf_counter()
        plan = refine_plan(data, plan, solution, solver, deadline, mip_gap, options.exact_gap)
        timings["refine"] = time.perf_counter() - start
    if write_model is not None:  # the model whose plan is kept (after refinement: its last round)
        from allocator.solve_pulp import write_model as write

        write(plan.model or model, write_model)
    plan.timings = timings
    if data.change_bounds and plan.has_plan:  # what the change limits held against (docs/replan.md)
        from allocator.replanning.rules import limits_table

        plan.extra_tables["change_limits"] = limits_table(data)
    return plan


class _Rounds:
    """The refinement's solves (``exact.SolveFn``) on two live models, the plain interpolant and
    the certificate model, each changed in place from round to round: new breakpoints become new
    columns and rows of the live HiGHS model, the headcount is held or released by its bounds,
    and each solve starts warm from the last (``allocator/model/restructure.py``)."""

    def __init__(self, solver: str, mip_gap: float):
        self.solver, self.mip_gap = solver, mip_gap
        self.live: dict[bool, PlanningModel] = {}  # overestimate -> its model
        self.sources: dict[int, tuple] = {}  # id(plan) -> (data, fixed) it was solved from

    def __call__(self, data, fixed: dict | None, time_limit: float | None) -> Outcome:
        """Solve ``data`` with the headcount held at ``fixed``: the plan, its exact margin and the bound."""
        from allocator import runtime
        from allocator.model.kinds import RebuildRequired

        nan = float("nan")
        if (time_limit is not None and time_limit <= 0) or runtime.interrupted():
            return Outcome(False, nan, nan, nan, {}, None, None)
        model = self.live.get(data.overestimate)
        if model is not None:
            try:
                model.update(data)
            except RebuildRequired:  # not only new breakpoints (cannot happen in the rounds; kept safe)
                model = None
        if model is None:
            model = self.live[data.overestimate] = build_model(data)
        model.hold(fixed)
        if self.solver == "highs":
            if model._runner is None:
                model._runner = HighsRunner(model.form)
            # a round with the headcount held is small and starts from the last plan: HiGHS's MIP
            # presolve costs more than it saves there (docs/exact-curves.md); the global solve keeps it
            model._runner.highs.setOptionValue("presolve", "off" if fixed else "choose")
        solution = solve_model(model, self.solver, time_limit, self.mip_gap)
        if not solution.has_plan:
            return Outcome(False, nan, nan, nan, {}, None, None)
        plan = tabulate(model, solution)
        plan.model = model
        self.sources[id(plan)] = (data, fixed)  # the live model moves on: what this plan's was built from
        return _from_plan(plan, solution.objective * model.unit, solution.mip_gap)

    def model_of(self, plan: Plan) -> PlanningModel:
        """The model of a plan of these rounds as it was solved (rebuilt if the live one moved on)."""
        data, fixed = self.sources[id(plan)]
        if plan.model.data is data and plan.model.held == (dict(fixed) if fixed else None):
            return plan.model
        model = build_model(data)
        model.hold(fixed)
        return model


def _from_plan(plan: Plan, objective: float, gap: float) -> Outcome:
    a, h = plan.allocation, plan.headcount
    spend = dict(zip(zip(a.region, a.channel, a.period), a.effective_spend))  # where the curves are read
    staffing = {(r, p): (float(c), float(t)) for r, p, c, t in zip(h.region, h.period, h.core, h.temp)} or None
    bound = objective + (gap if math.isfinite(gap) else 1.0) * abs(objective)
    return Outcome(True, float(plan.summary["exact_curve_margin"]), objective, bound, spend, staffing, plan)


def refine_plan(data, plan: Plan, solution: Solution, solver: str, deadline: Deadline, mip_gap: float,
                exact_gap: float, certify: bool = True) -> Plan:
    """The plan (of ``solution``) refined on the exact curves, with the certificate in its summary
    (``docs/exact-curves.md``). ``exact_gap >= 1`` leaves it as it is."""
    from allocator import runtime

    if exact_gap >= 1.0 or runtime.interrupted():
        return plan  # refinement off, or the run was stopped: the plan in hand is the answer
    first = _from_plan(plan, plan.summary["pwl_objective"], solution.mip_gap or 0.0)

    rounds = _Rounds(solver, mip_gap)
    best, cert = refine(data, rounds, first, exact_gap, deadline.remaining(), solution.seconds, certify)
    out = best.result
    if out is not plan:
        out.model = rounds.model_of(out)
    out.timings = plan.timings
    for key in ("objective", "exact_curve_margin", "pwl_objective"):
        out.summary[key] = float(out.summary[key])
    # refinement rounds may hold the first MIP's headcount fixed: its gap is still the plan's
    gaps = [g for g in (solution.mip_gap, out.summary.get("mip_gap")) if g is not None and math.isfinite(g)]
    out.summary["mip_gap"] = max(gaps) if gaps else out.summary.get("mip_gap")
    out.summary.update(exact_curve_bound=float(cert.bound) if math.isfinite(cert.bound) else None,
                       exact_curve_gap=float(cert.gap) if math.isfinite(cert.gap) else None,
                       exact_rounds=cert.rounds)
    return out


def run(
    scenario: Scenario,
    solver: str | None = None,
    time_limit: float | None = None,
    mip_gap: float | None = None,
    write_model: str | Path | None = None,
    overrides: dict | None = None,
    stochastic: bool | None = None,
    samples: int | None = None,
    seed: int | None = None,
) -> Plan:
    """What ``allocator run`` does: check the decomposition's inputs, solve, decompose the plan,
    and record the run's provenance (``overrides``: the ``--set`` changes already applied).

    ``stochastic`` (default: whether the scenario has a ``stochastic:`` section) solves the
    two-stage plan that sizes the reserve (``allocator.stochastic.solve_stochastic``; ``samples``
    and ``seed`` override the section's).

    ``run(scenario).write(out_dir)`` writes the same run folder as ``allocator run`` (timings and
    the provenance's date aside).
    """
    from allocator.decompose import check_inputs

    check_inputs(scenario)  # the decomposition's CSV inputs, read and checked before solving
    if stochastic is None:
        stochastic = scenario.stochastic is not None
    if stochastic:
        from allocator.stochastic.solve import check_options as check_stochastic_options
        from allocator.stochastic.solve import solve_stochastic

        check_stochastic_options(scenario, solver, write_model, samples, seed)
        plan = solve_stochastic(scenario, samples, seed, time_limit=time_limit, mip_gap=mip_gap)
    elif samples is not None or seed is not None:
        raise ScenarioError([Problem("--samples" if samples is not None else "--seed", None, "",
                                     "is for a stochastic plan: add --stochastic (or a `stochastic:` section)")])
    else:
        plan = solve(scenario, solver=solver, time_limit=time_limit, mip_gap=mip_gap, write_model=write_model)
    finish_run(plan, overrides, solver, time_limit, mip_gap)
    return plan


def finish_run(plan: Plan, overrides: dict | None, solver: str | None, time_limit: float | None,
               mip_gap: float | None) -> None:
    """What a run adds to a solved plan (``allocator run``, ``allocator replan``): the decomposition
    (months, weeks, days, products, reps, funnel), whether it was interrupted, and its provenance
    (``docs/reports.md``). A plan without a solution gets none of it: a failed run writes nothing."""
    from allocator import runtime
    from allocator.decompose import decompose_plan
    from allocator.report.provenance import NAME, provenance

    if plan.status in (Status.NOT_SOLVED, Status.ERROR):
        return
    plan.extra_tables.update(decompose_plan(plan))
    plan.summary["interrupted"] = runtime.interrupted()  # as `allocator run` records it
    plan.extra_tables[NAME] = provenance(plan.scenario, overrides or {}, solver, time_limit, mip_gap)
