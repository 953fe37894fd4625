"""Build the planning model of ``model.md`` as a PuLP problem, indexed by meaning.

Money is scaled inside the model by ``unit = budget.total / 1000`` so that the solver sees
numbers near 1; every value leaves the model through :class:`Model` helpers in currency again.
Each constraint family is one function in its own module, called from :func:`build_model`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import count

import pulp

from allocator.model import families, response, staffing
from allocator.model.data import PlanningData

LE, GE, EQ = pulp.LpConstraintLE, pulp.LpConstraintGE, pulp.LpConstraintEQ
RESERVE_EPS = 1e-6  # objective weight of the reserve: ties go to the largest reserve


@dataclass
class Row:
    """One constraint: ``name`` and ``kind`` as reported, the PuLP row, and its unit.

    ``scale`` is how many currency units (or heads) one model unit of this row is worth.
    ``size`` is set on rows that may give in the elastic model (their slack is weighed by it).
    """

    name: str
    kind: str
    constraint: pulp.LpConstraint
    scale: float
    meta: dict = field(default_factory=dict)
    slack_var: pulp.LpVariable | None = None


@dataclass
class Model:
    """The PuLP problem and every variable and row by meaning (never by parsing names)."""

    data: PlanningData
    unit: float
    elastic: bool = False
    prob: pulp.LpProblem = field(default_factory=lambda: pulp.LpProblem("allocator", pulp.LpMaximize))
    columns: list[pulp.LpVariable] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    # response: per (region, channel, period) the segment variables with slopes, and revenue y
    segments: dict = field(default_factory=dict)
    revenue: dict = field(default_factory=dict)
    # staffing: per (region, period)
    core: dict = field(default_factory=dict)
    hires: dict = field(default_factory=dict)
    releases: dict = field(default_factory=dict)
    temp: dict = field(default_factory=dict)
    reserve: pulp.LpVariable | None = None
    budget_extension: pulp.LpVariable | None = None
    people_cost_terms: dict = field(default_factory=dict)  # (region, period) -> [(var, coef)]
    objective_terms: list = field(default_factory=list)
    _ids: count = field(default_factory=count)

    def var(self, low: float = 0.0, high: float | None = None, integer: bool = False) -> pulp.LpVariable:
        cat = pulp.LpInteger if integer else pulp.LpContinuous
        v = self.prob.add_variable(f"v{next(self._ids)}", lowBound=low, upBound=high, cat=cat)
        self.columns.append(v)
        return v

    def add_row(
        self,
        name: str,
        kind: str,
        terms: list[tuple[pulp.LpVariable, float]],
        sense: int,
        rhs: float,
        scale: float,
        size: float | None = None,
        **meta,
    ) -> Row:
        """Add ``sum(coef * var) <sense> rhs``; with ``size`` the row may give in the elastic model."""
        slack = None
        if self.elastic and size is not None and sense != EQ:
            slack = self.var()
            terms = [*terms, (slack, 1.0 if sense == GE else -1.0)]
            self.objective_terms.append((slack, -1.0 / max(size / scale, 1e-9)))
        expr = pulp.LpAffineExpression(_combine(terms))
        constraint = pulp.LpConstraint(expr, sense, f"r{len(self.rows)}", rhs)
        self.prob.addConstraint(constraint)
        row = Row(name, kind, constraint, scale, meta, slack)
        self.rows.append(row)
        return row

    def spend_terms(self, keys) -> list[tuple[pulp.LpVariable, float]]:
        return [(v, 1.0) for key in keys for v, _ in self.segments.get(key, ())]

    def lift_terms(self, keys, weight=lambda key: 1.0) -> list[tuple[pulp.LpVariable, float]]:
        return [(v, slope * weight(key)) for key in keys for v, slope in self.segments.get(key, ())]

    def revenue_terms(self, keys) -> list[tuple[pulp.LpVariable, float]]:
        return [(self.revenue[key], 1.0) for key in keys if key in self.revenue]

    def people_terms(self, keys) -> list[tuple[pulp.LpVariable, float]]:
        return [term for key in keys for term in self.people_cost_terms.get(key, ())]


def build_model(data: PlanningData, elastic: bool = False, budget_slack: bool = False) -> Model:
    """The whole model: response, staffing, budget and reserve, floors, ROI, policies, objective.

    ``elastic`` gives every floor, ROI floor, policy and spend minimum a weighed slack and
    minimises their sum (the diagnosis model). ``budget_slack`` adds an unbounded budget extension
    and minimises it (how much more budget would make the plan feasible).
    """
    model = Model(data=data, unit=data.budget / 1000.0, elastic=elastic)
    if budget_slack:  # an open budget extension, minimised: how much more budget is needed
        model.budget_extension = model.var()
    response.add_response(model)
    response.add_spend_bounds(model)
    staffing.add_staffing(model)
    families.add_budget_and_reserve(model)
    families.add_growth_floors(model)
    families.add_potential(model)
    families.add_revenue_floor(model)
    families.add_roi_floors(model)
    families.add_policies(model)
    _set_objective(model, budget_slack)
    return model


def _set_objective(model: Model, budget_slack: bool) -> None:
    if budget_slack:
        terms = [(model.budget_extension, -1.0)]
    elif model.elastic:
        terms = list(model.objective_terms)
    else:
        terms = margin_terms(model)
        terms.append((model.reserve, RESERVE_EPS))
    model.prob.setObjective(pulp.LpAffineExpression(_combine(terms)))


def _combine(terms) -> dict:
    """Sum the coefficients of repeated variables (PuLP keeps only the last of a repeated pair)."""
    coefs: dict = {}
    for v, c in terms:
        coefs[v] = coefs.get(v, 0.0) + c
    return coefs


def margin_terms(model: Model) -> list[tuple[pulp.LpVariable, float]]:
    """``M = sum m*y - sum x - P`` in model units."""
    data = model.data
    terms = [(y, data.margin[key[:2]]) for key, y in model.revenue.items()]
    terms += [(v, -1.0) for segs in model.segments.values() for v, _ in segs]
    terms += [(v, -c) for parts in model.people_cost_terms.values() for v, c in parts]
    return terms
