"""When no plan exists: the elastic model of ``model.md`` and an explanation in plain words.

Every growth floor, revenue floor, ROI floor, policy and spend minimum gets a slack weighed by
its size; the solver finds the smallest relative give that makes the rest hold. A second model
with an open-ended budget says how much more budget would make the original plan feasible.
"""

from __future__ import annotations

import dataclasses

from allocator.model.build import Row, build_model
from allocator.model.data import PlanningData
from allocator.model.kinds import RowKind
from allocator.scenario.amounts import format_amount
from allocator.solve import Status, solve_model

SOLVED = (Status.OPTIMAL, Status.FEASIBLE)


def diagnose(data: PlanningData, solver: str, time_limit: float | None) -> dict:
    """``{"gave": [...], "budget_needed": float | None, "hard_conflict": bool, "explanation": str}``."""
    elastic = build_model(data, elastic=True)
    solution = solve_model(elastic, solver, time_limit, mip_gap=1e-6)
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
    budget_needed = _budget_needed(data, solver, time_limit)
    explanation = "; ".join(item["message"] for item in gave)
    if budget_needed is not None and budget_needed > 1e-6 * data.budget:
        more = f"budget.total would need about {format_amount(budget_needed)} more"
        explanation = f"{explanation}; {more}" if explanation else more
    hard = solution.status not in SOLVED
    if hard:
        explanation = (
            "the budget, reserve, staffing and spend limits cannot hold together even with every floor "
            "and policy relaxed" + (f"; {explanation}" if explanation else "")
        )
    return {"gave": gave, "budget_needed": budget_needed, "hard_conflict": hard, "explanation": explanation}


NEEDED_REACH = 10.0  # the extension may reach 9x budget.total: beyond that, "no budget would do"


def _budget_needed(data: PlanningData, solver: str, time_limit: float | None) -> float | None:
    """The least extra budget with which every constraint holds (cells bounded by the budget
    may then spend more too), or ``None`` when no budget up to 10x the current one would do."""
    model = build_model(dataclasses.replace(data, reach_scale=NEEDED_REACH), budget_slack=True)
    solution = solve_model(model, solver, time_limit, mip_gap=1e-6)
    if solution.status not in SOLVED:
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
