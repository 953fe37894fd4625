"""What rows and solver outcomes are: enums, defined once for every module.

A row of the model is labelled by its :class:`RowKind` and its coordinates (``(region, period)``,
``(region, channel)``, a policy name and side, ...); the formatted ``name`` shown in
``constraints.csv`` is for people only and is never parsed back.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


class RowKind(StrEnum):
    RESPONSE = "response"
    CURVE_ORDER = "curve_order"
    ADSTOCK = "adstock"  # carryover: a cell's effective spend from its spend (model/carryover.py)
    SPEND_MIN = "spend_min"
    SPEND_MAX = "spend_max"
    PERIOD_SPEND_MIN = "period_spend_min"  # spend.periods: a cell's bounds in one period
    PERIOD_SPEND_MAX = "period_spend_max"
    HEADCOUNT_FLOW = "headcount_flow"
    HIRE_LIMIT = "hire_limit"
    CAPACITY = "capacity"
    TEMP_SHARE = "temp_share"
    BUDGET = "budget"
    RESERVE = "reserve"
    UNLOCK = "unlock"  # budget.unlocks: unlocked money is spent in its regions
    GROWTH_FLOOR = "growth_floor"
    POTENTIAL = "potential"
    REVENUE_FLOOR = "revenue_floor"
    MIN_ROI = "min_roi"
    POLICY = "policy"
    CHANGE_LIMIT = "change_limit"  # reallocation.limits: spend against the reference plan
    PAST = "past"  # a re-plan: a period that is over, fixed to its actuals (model/past.py)
    # a stochastic plan's sample blocks (model/samples.py)
    RECOURSE = "recourse"
    RESERVE_USE = "reserve_use"
    CVAR = "cvar"


class Sense(IntEnum):
    """A row's sense, with PuLP's numbers (``LpConstraintLE`` is -1, ``GE`` 1, ``EQ`` 0)."""

    LE = -1
    EQ = 0
    GE = 1


LE, EQ, GE = Sense.LE, Sense.EQ, Sense.GE


class Status(StrEnum):
    OPTIMAL = "optimal"
    FEASIBLE = "feasible"  # stopped by the time limit with a plan; the gap says how far off
    INFEASIBLE = "infeasible"
    NOT_SOLVED = "not_solved"  # stopped by the time limit before any plan was found
    ERROR = "error"  # the solver failed; the solution's message says how


class RebuildReason(StrEnum):
    """Why a changed scenario cannot be solved by changing numbers in the live model."""

    STRUCTURE = "rows or columns differ"  # a floor, policy, cell, period, staffing layout, ...
    BREAKPOINTS = "curve breakpoints differ"  # a curve, seasonality, tolerance or spend ceiling
    SPARSITY = "a coefficient appears or disappears"
    INTEGRALITY = "integer columns differ"


class RebuildRequired(Exception):  # noqa: N818 (a signal for the caller, not an error)
    """``PlanningModel.update`` cannot change the live model in place: build a new one."""

    def __init__(self, reason: RebuildReason, detail: str = ""):
        self.reason, self.detail = reason, detail
        super().__init__(f"{reason.value}: {detail}" if detail else reason.value)
