"""Solve a two-stage stochastic plan and report it (docs/uncertainty.md, "Reserve sizing").

1. The deterministic plan (the scenario's own model, no samples): the plan VSS compares against,
   and which S-shaped cells spend (they stay on the concave part of their curves, see ``stages``).
2. The stochastic plan: the planning model with one block per sample. Its integer columns are the
   headcount and temp staff; they are solved by relaxing and rounding: the LP with whole people
   relaxed is an upper bound, then core heads are rounded and held, and temp staff solved whole.
   ``mip_gap`` in the summary is the gap to that bound.
3. The written plan: the deterministic model with the first stage held (the plan of record:
   targets on the expected curves, every floor and policy checked as for any run).
4. ``reserve_curve``: the stochastic plan re-solved (``PlanningModel.update``, warm) with the
   reserve held at each level; ``vss``: both plans with the same recourse on fresh draws.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from allocator.model.build import PlanningModel, build_model
from allocator.model.kinds import Status
from allocator.plan import Plan, no_plan_summary, tabulate
from allocator.scenario import Scenario
from allocator.solve import HighsRunner, Solution, solve_model
from allocator.stochastic import stages
from allocator.stochastic.inputs import check_stochastic, reserve_range, section, seed_of, stochastic_data
from allocator.stochastic.schema import checkpoint_of
from allocator.uncertainty.assess import cvar
from allocator.uncertainty.sampling import draw

EVALUATION_BATCH = 50  # out-of-sample draws per evaluation model
P5 = 5

Progress = Callable[[str], None]


@dataclass
class Stage:
    """A solved stochastic model: its solution, the relaxation's bound and the first stage."""

    solution: Solution
    bound: float  # objective of the LP with whole people relaxed (model units)
    first: stages.FirstStage | None
    margins: np.ndarray  # per sample, currency

    @property
    def has_plan(self) -> bool:
        return self.solution.has_plan

    @property
    def gap(self) -> float:
        obj = self.solution.objective
        return max(0.0, (self.bound - obj) / max(abs(self.bound), 1e-12)) if self.has_plan else math.nan


class LpRunner(HighsRunner):
    """A live HiGHS model whose solves skip the shadow-price LP (no stochastic figure uses prices)."""

    def _duals(self, values: np.ndarray, deadline=None) -> np.ndarray:
        return np.full(len(self.form.row_lo), np.nan)


def _people_columns(model: PlanningModel) -> tuple[np.ndarray, np.ndarray]:
    core = np.fromiter(model.core.values(), dtype=np.int64, count=len(model.core))
    temp = np.fromiter(model.temp.values(), dtype=np.int64, count=len(model.temp))
    return core, temp


def solve_stage(model: PlanningModel, time_limit: float | None) -> Stage:
    """Relax and round. The LP with every integer relaxed (on ``model``'s live runner, so an
    ``update`` re-solves it warm) bounds the plan. Core heads are rounded to the nearest whole and
    held; the LP is solved again with temp staff relaxed; temp staff is rounded keeping its total
    (largest remainders), the total moved by one at a time until the plan is feasible (the
    temp-staff share bounds the total). Each step is an LP."""
    f = model.form
    if model._runner is None:
        model._runner = LpRunner(f, integer=np.zeros_like(f.integer))
    relaxed = model._runner.run(time_limit, 0.0)
    if not relaxed.has_plan:
        return Stage(relaxed, math.nan, None, np.zeros(0))
    core, temp = _people_columns(model)
    x = relaxed.values
    seconds = relaxed.seconds
    best = None
    for heads in (np.round(x[core]), np.ceil(x[core] - 1e-6)):
        lb, ub = f.lb.copy(), f.ub.copy()
        lb[core] = ub[core] = heads
        runner = LpRunner(f, lb, ub, np.zeros_like(f.integer))
        step = runner.run(time_limit, 0.0)
        seconds += step.seconds
        if not step.has_plan:
            continue
        if not len(temp):
            best = step
            break
        share = step.values[temp]
        total = int(round(share.sum()))
        for moved in (0, 1, -1, 2, -2, 3, -3):
            if total + moved < 0:
                continue
            whole = _round_total(share, total + moved)
            runner.highs.changeColsBounds(len(temp), temp.astype(np.int32), whole, whole)
            step = runner.run(time_limit, 0.0)
            seconds += step.seconds
            if step.has_plan:
                best = step
                break
        if best is not None:
            break
    if best is None:  # no rounding of the relaxed headcount is feasible: say so, with the relaxation
        return Stage(Solution(Status.INFEASIBLE, np.array([]), np.array([]), relaxed.duals, math.nan, 0.0,
                              seconds, "highs", "no whole headcount near the relaxed one is feasible"),
                     relaxed.objective, None, np.zeros(0))
    best.seconds = seconds
    best.mip_gap = max(0.0, (relaxed.objective - best.objective) / max(abs(relaxed.objective), 1e-12))
    return Stage(best, relaxed.objective, stages.first_stage(model, best.values),
                 stages.sample_margins(model, best.values))


def _round_total(values: np.ndarray, total: int) -> np.ndarray:
    """Whole numbers near ``values`` (>= 0) summing to ``total``: largest remainders round up."""
    values = np.maximum(values, 0.0)
    whole = np.floor(values + 1e-9)
    order = np.argsort(-(values - whole), kind="stable")
    short = int(total - whole.sum())
    if short > 0:
        whole[order[:short]] += 1
    elif short < 0:
        for i in order[::-1]:
            if short == 0:
                break
            if whole[i] > 0:
                whole[i] -= 1
                short += 1
    return whole


def _levels(scenario: Scenario, optimum: float) -> list[tuple[float, bool]]:
    levels = {round(float(share), 12): False for share in section(scenario).reserve_levels}
    levels[round(optimum, 12)] = True
    return sorted(levels.items())


def reserve_curve(model: PlanningModel, data, spending: dict, scenario: Scenario, stage: Stage,
                  time_limit: float | None) -> pd.DataFrame:
    """Expected, P5 and CVaR margin with the reserve held at each level and at the optimum."""
    budget = data.budget
    rows = []
    level_cvar = section(scenario).risk.cvar_level if section(scenario).risk else 0.05
    for share, optimum in _levels(scenario, stage.first.reserve / budget):
        if optimum:
            result = stage
        else:
            model.update(replace(data, reserve=(share, share)))
            stages.concave_part(model, spending)  # the update rebuilt the arrays: the restriction again
            result = solve_stage(model, time_limit)
        m = result.margins
        rows.append({
            "reserve_share": share, "reserve": share * budget, "optimum": optimum,
            "status": str(result.solution.status),
            "expected_margin": float(m.mean()) if len(m) else None,
            "p5_margin": float(np.percentile(m, P5)) if len(m) else None,
            f"cvar_{level_cvar:g}_margin": cvar(m, level_cvar) if len(m) else None,
            "mip_gap": result.gap if result.has_plan else None,
        })
    model.update(data)  # back to the sized reserve
    return pd.DataFrame(rows)


def evaluation_data(scenario: Scenario, draws, rows: range):
    """Planning data that evaluates a fixed first stage on ``rows`` of ``draws``: the first stage's
    floors and policies are the plan's, already met, so only the samples' rows remain."""
    data = stochastic_data(scenario, draws=draws, rows=rows, risk=False)
    cells = tuple(replace(c, min_roi=None) for c in data.cells)
    return replace(data, cells=cells, growth_floor={}, revenue_target=None, channel_roi={}, policies=(),
                   reserve=(0.0, 0.999), samples=replace(data.samples, concave_part_only=True))


def evaluate(scenario: Scenario, plans: list[stages.FirstStage], samples: int, seed: int,
             progress: Progress | None = None) -> np.ndarray:
    """Each plan's margin on ``samples`` fresh draws (``seed``), each draw spending the plan's reserve
    after the checkpoint as its curves warrant: ``(plans, samples)``. One model per batch of draws,
    re-solved warm for the next plan."""
    draws = draw(scenario, samples, seed)
    out = np.zeros((len(plans), samples))
    for start in range(0, samples, EVALUATION_BATCH):
        rows = range(start, min(samples, start + EVALUATION_BATCH))
        model = build_model(evaluation_data(scenario, draws, rows))
        model._runner = LpRunner(model.form, integer=np.zeros_like(model.form.integer))
        for p, plan in enumerate(plans):
            stages.fix_first_stage(model, plan)
            solution = model._runner.run(None, 0.0)
            if not solution.has_plan:
                raise RuntimeError(f"evaluating a fixed first stage found no recourse ({solution.status})")
            out[p, rows.start:rows.stop] = stages.sample_margins(model, solution.values)
        if progress is not None:
            progress(f"evaluated {rows.stop} of {samples} fresh draws")
    return out


def check_options(scenario: Scenario, solver: str | None, write_model, samples: int | None,
                  seed: int | None) -> None:
    """What a stochastic run cannot do, as an input error before any solve."""
    from allocator.scenario import Problem, ScenarioError

    problems = []
    if solver not in (None, "highs"):
        problems.append(Problem("--solver", None, "", f"a stochastic plan is solved with highs (got {solver!r})"))
    if write_model is not None:
        problems.append(Problem("--write-model", None, str(write_model), "is not available for a stochastic plan"))
    if problems:
        raise ScenarioError(problems)
    check_stochastic(scenario, samples, seed)


def solve_stochastic(scenario: Scenario, samples: int | None = None, seed: int | None = None,
                     time_limit: float | None = None, mip_gap: float | None = None,
                     evaluation_samples: int | None = None, progress: Progress | None = None) -> Plan:
    """The stochastic plan of ``scenario`` as a :class:`Plan` (the plan of record, with the
    stochastic figures in its summary and the reserve curve among its tables)."""
    check_stochastic(scenario, samples, seed)
    st = section(scenario)
    tell = progress or (lambda text: None)
    time_limit = time_limit if time_limit is not None else scenario.solver.time_limit
    mip_gap = mip_gap if mip_gap is not None else scenario.solver.mip_gap
    timings = {}
    clock = time.perf_counter()
    data = stochastic_data(scenario, samples, seed)
    plain = replace(data, samples=None, extra_points={})  # the scenario's own model, its reserve range
    deterministic = build_model(plain)
    tell("solving the deterministic plan")
    det_solution = solve_model(deterministic, "highs", time_limit, mip_gap)
    if not det_solution.has_plan:
        from allocator.api import plan_of

        return plan_of(deterministic, det_solution, time_limit)  # no plan at all: say why, as a run does
    det_plan = tabulate(deterministic, det_solution)
    det_first = stages.first_stage(deterministic, det_solution.values)
    spending = stages.spending(det_plan, data)
    timings["deterministic"] = time.perf_counter() - clock
    clock = time.perf_counter()
    data = replace(data, samples=replace(data.samples, concave_part_only=True))
    model = build_model(data)
    stages.concave_part(model, spending)
    timings["build"] = time.perf_counter() - clock
    tell(f"solving the stochastic plan ({len(data.samples.cells)} samples)")
    stage = solve_stage(model, time_limit)
    timings["solve"] = stage.solution.seconds
    if not stage.has_plan:
        summary = no_plan_summary(scenario, stage.solution)
        summary["message"] = _no_plan_words(scenario, stage.solution)
        return Plan(scenario, stage.solution.status, summary)
    record = build_model(replace(data, samples=None))  # the common grid the first stage was planned on
    plan = _plan_of_record(record, stage)
    clock = time.perf_counter()
    tell("re-solving with the reserve at each level")
    curve = reserve_curve(model, data, spending, scenario, stage, time_limit)
    timings["reserve_curve"] = time.perf_counter() - clock
    clock = time.perf_counter()
    n_eval = st.evaluation_samples if evaluation_samples is None else evaluation_samples
    fresh = seed_of(scenario, seed) + 1
    outcome = evaluate(scenario, [stage.first, det_first], n_eval, fresh, progress) if n_eval else np.zeros((2, 0))
    timings["evaluation"] = time.perf_counter() - clock
    plan.summary.update(_figures(scenario, data, model, stage, det_first, det_solution, outcome, fresh))
    plan.extra_tables["reserve_curve"] = curve
    plan.extra_tables["stochastic_samples"] = _samples_table(model, stage)
    if n_eval:
        plan.extra_tables["stochastic_evaluation"] = pd.DataFrame({
            "draw": np.arange(n_eval), "stochastic_margin": outcome[0], "deterministic_margin": outcome[1],
            "difference": outcome[0] - outcome[1]})
    plan.timings = timings
    plan.model = record
    return plan


def _plan_of_record(deterministic: PlanningModel, stage: Stage) -> Plan:
    """The deterministic model with the stochastic first stage held: the plan handed down."""
    stages.fix_first_stage(deterministic, stage.first)
    solution = solve_model(deterministic, "highs", None, 1e-6)
    if not solution.has_plan:  # the first stage meets every row of this model: a failure here is a bug
        raise RuntimeError(f"the stochastic first stage is not a plan of the deterministic model ({solution.status})")
    plan = tabulate(deterministic, solution)
    plan.summary.update(status=str(stage.solution.status), mip_gap=stage.gap, solve_seconds=stage.solution.seconds)
    # prices of a model whose first stage is held say nothing about the stochastic plan's trade-offs
    plan.constraints["shadow_price"] = np.nan
    plan.summary["budget_shadow_price"] = None
    return plan


def _figures(scenario, data, model, stage: Stage, det_first, det_solution, outcome, fresh: int) -> dict:
    st = section(scenario)
    margins = stage.margins
    level = st.risk.cvar_level if st.risk else 0.05
    diff = outcome[0] - outcome[1]
    n = len(diff)
    lp_cvar = None
    if model.risk is not None:
        x = stage.solution.values
        lp_cvar = (float(x[model.risk.eta]) - float(x[model.risk.tail].sum()) / (level * len(margins))) * model.unit
    return {
        "stochastic": True,
        "checkpoint": checkpoint_of(st, data.periods),
        "samples": len(margins),
        "seed": seed_of(scenario),
        "reserve_min_share": reserve_range(scenario)[0],
        "reserve_max_share": reserve_range(scenario)[1],
        "expected_margin": float(margins.mean()),
        "p5_margin": float(np.percentile(margins, P5)),
        "recourse_premium": st.recourse_premium,
        "cvar_level": level,
        "cvar_margin": cvar(margins, level),
        "lp_cvar_margin": lp_cvar,
        "relaxation_bound": stage.bound * model.unit,
        "deterministic_reserve": det_first.reserve,
        "deterministic_objective": float(det_solution.objective * model.unit),
        "vss": float(diff.mean()) if n else None,
        "vss_stderr": float(diff.std(ddof=1) / math.sqrt(n)) if n > 1 else None,
        "vss_draws": n,
        "evaluation_seed": fresh,
        "stochastic_margin_out": float(outcome[0].mean()) if n else None,
        "deterministic_margin_out": float(outcome[1].mean()) if n else None,
    }


def _samples_table(model: PlanningModel, stage: Stage) -> pd.DataFrame:
    x = stage.solution.values
    revenue = [float(x[np.fromiter(b.revenue.values(), dtype=np.int64)].sum()) * model.unit for b in model.sample_blocks]
    return pd.DataFrame({"sample": np.arange(len(stage.margins)), "margin": stage.margins,
                         "reserve_used": stages.reserve_used(model, x), "revenue": revenue})


def _no_plan_words(scenario: Scenario, solution: Solution) -> str:
    st = section(scenario)
    if st.risk is not None and st.risk.min_cvar_margin is not None and solution.status == Status.INFEASIBLE:
        return ("no first stage keeps the CVaR of the margin above stochastic.risk.min_cvar_margin: "
                "lower it, or use risk_weight")
    return solution.message or f"the stochastic plan is {solution.status}"
