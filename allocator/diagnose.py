"""When no plan exists: the elastic model of ``model.md`` and an explanation in plain words.

Every growth floor, revenue floor, ROI floor, policy and spend minimum gets a slack weighed by
its size; the solver finds the smallest relative give that makes the rest hold. A second model
with an open-ended budget says how much more budget would make the original plan feasible.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from allocator.deadline import Deadline
from allocator.model.build import Row, build_model
from allocator.model.data import PlanningData
from allocator.model.kinds import RowKind
from allocator.scenario.amounts import format_amount
from allocator.solve import Solution, Status, solve_model

SOLVED = (Status.OPTIMAL, Status.FEASIBLE)


def diagnose(data: PlanningData, solver: str, time_limit: float | Deadline | None) -> dict:
    """``{"gave": [...], "budget_needed": float | None, "hard_conflict": bool, "explanation": str,
    "unfinished": [...]}``.

    ``time_limit`` (seconds, or the command's :class:`Deadline`) bounds both models together; what
    could not be finished in it is listed in ``unfinished`` and said in the explanation.
    """
    deadline = Deadline.of(time_limit)
    unfinished: list[str] = []
    elastic = build_model(data, elastic=True)
    solution = _solve_within(elastic, solver, deadline)
    if solution.status not in SOLVED and solution.status != Status.INFEASIBLE:
        unfinished.append(_unfinished("which constraints had to give", solution))
    elif solution.status == Status.FEASIBLE:  # stopped at the limit: the gives found may be larger than needed
        unfinished.append("proving these gives are the smallest")
    gave = []
    if solution.status in SOLVED:
        for row in elastic.rows:
            if row.slack is None:
                continue
            short = float(solution.values[row.slack]) * row.scale
            rhs = row.rhs * row.scale
            if short > 1e-6 * max(1.0, abs(rhs)):
                gave.append({"constraint": row.name, "kind": str(row.kind), "shortfall": short,
                             "message": _words(row, short, data)})
    budget_needed = _budget_needed(data, solver, deadline, unfinished)
    explanation = "; ".join(item["message"] for item in gave)
    if budget_needed is not None and budget_needed > 1e-6 * data.budget:
        more = f"budget.total would need about {format_amount(budget_needed)} more"
        explanation = f"{explanation}; {more}" if explanation else more
    hard = solution.status == Status.INFEASIBLE  # proven; a model cut short by the limit proves nothing
    if hard:
        explanation = (
            "the budget, reserve, staffing and spend limits cannot hold together even with every floor "
            "and policy relaxed" + (f"; {explanation}" if explanation else "")
        )
    if unfinished:
        late = f"could not finish in time: {', '.join(unfinished)} (raise --time-limit)"
        explanation = f"{explanation}; {late}" if explanation else late
    return {"gave": gave, "budget_needed": budget_needed, "hard_conflict": hard, "explanation": explanation,
            "unfinished": unfinished}


def _unfinished(what: str, solution: Solution) -> str:
    return f"{what} ({solution.message})" if solution.message else what


def _solve_within(model, solver: str, deadline: Deadline) -> Solution:
    """Solve with what is left of the deadline; an expired deadline solves nothing."""
    if deadline.expired():
        return Solution(Status.NOT_SOLVED, np.array([]), np.array([]), np.array([]), float("nan"), 0.0, 0.0, solver)
    return solve_model(model, solver, deadline.solver_limit(), mip_gap=1e-6)


NEEDED_REACH = 10.0  # the extension may reach 9x budget.total: beyond that, "no budget would do"


def _budget_needed(data: PlanningData, solver: str, deadline: Deadline, unfinished: list[str]) -> float | None:
    """The least extra budget with which every constraint holds (cells bounded by the budget
    may then spend more too), or ``None`` when no budget up to 10x the current one would do."""
    if deadline.expired():
        unfinished.append("how much more budget would do")
        return None
    model = build_model(dataclasses.replace(data, reach_scale=NEEDED_REACH), budget_slack=True)
    solution = _solve_within(model, solver, deadline)
    if solution.status not in SOLVED:
        if solution.status != Status.INFEASIBLE:
            unfinished.append(_unfinished("how much more budget would do", solution))
        return None
    return float(solution.values[model.budget_extension]) * model.unit


def _words(row: Row, short: float, data: PlanningData) -> str:
    meta, amount = row.meta, format_amount(short)
    if row.kind == RowKind.GROWTH_FLOOR:
        return (f"growth floor of region {meta['region']} ({meta['growth']:+.0%}, {format_amount(meta['floor'])}) "
                f"falls {amount} short")
    if row.kind == RowKind.REVENUE_FLOOR:
        return f"company revenue floor ({format_amount(meta['floor'])}) falls {amount} short"
    if row.kind == RowKind.SPEND_MIN:
        return f"minimum spend of {meta['cell']} falls {amount} short"
    if row.kind == RowKind.MIN_ROI:
        return f"ROI floor of {meta['target']} ({meta['roi']:.0%}) falls {amount} of margin short"
    if row.kind == RowKind.POLICY:
        if meta["quantity"] == "headcount":
            amount = f"{short:.1f} head-years"
        return f"policy '{meta['policy']}' ({meta['side']} {meta['bound']:.0%}) misses by {amount}"
    return f"{row.name} gives {amount}"


__all__ = ["diagnose"]
