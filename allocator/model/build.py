"""Build the planning model of ``model.md`` as labelled arrays, indexed by meaning.

Money is scaled inside the model by ``unit = budget.total / 1000`` so that the solver sees
numbers near 1; every value leaves the model in currency again. Each constraint family is one
function in its own module (``response``, ``staffing``, ``families``), called from
:func:`build_model`; a family adds its columns and its rows as arrays (column indices and
coefficients per row), each row labelled by its :class:`RowKind` and coordinates.

:class:`PlanningModel` is the one model every command uses: ``build_model(data)`` (or
``PlanningModel.build``), ``update(changed_data)`` to change the live model in place (or raise
:class:`RebuildRequired`), and ``solve(...)`` for a :class:`allocator.solve.Solution`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from allocator.model import families, inputs, past, response, samples, staffing
from allocator.model.data import PlanningData
from allocator.model.kinds import EQ, GE, LE, RebuildReason, RebuildRequired, RowKind, Sense

INF = float("inf")
RESERVE_EPS = 1e-6  # objective weight of the reserve: ties go to the largest reserve
Terms = tuple[np.ndarray, np.ndarray]  # column indices and their coefficients
NO_TERMS: Terms = (np.zeros(0, dtype=np.int64), np.zeros(0))

__all__ = ["EQ", "GE", "LE", "LinearForm", "PlanningModel", "RebuildReason", "RebuildRequired", "Row",
           "RowKind", "Sense", "build_model", "terms"]


def terms(*parts: Terms) -> Terms:
    """Several ``(columns, coefficients)`` parts as one (repeated columns are summed in the matrix)."""
    parts = [p for p in parts if len(p[0])]
    if not parts:
        return NO_TERMS
    if len(parts) == 1:
        return parts[0]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def combine(t: Terms) -> Terms:
    """``t`` with repeated columns summed (one entry per column; the matrix takes rows as given)."""
    cols, vals = t
    if len(cols) < 2:
        return t
    size = int(cols.max()) + 1
    present = np.zeros(size, dtype=bool)
    present[cols] = True
    unique = np.flatnonzero(present)
    if len(unique) == len(cols):
        return t
    return unique, np.bincount(cols, weights=vals, minlength=size)[unique]


def scaled(t: Terms, factor: float) -> Terms:
    return t[0], t[1] * factor


@dataclass
class LinearForm:
    """The model as arrays: ``max c x`` s.t. ``row_lo <= A x <= row_hi``, ``lb <= x <= ub``."""

    c: np.ndarray
    lb: np.ndarray
    ub: np.ndarray
    integer: np.ndarray
    matrix: sp.csr_matrix
    row_lo: np.ndarray
    row_hi: np.ndarray
    tie_break: int | None = None  # column whose small objective weight only breaks ties
    loose_ub: np.ndarray | None = None  # ``ub`` without the bounds the rows imply (shadow-price LPs)

    @property
    def price_ub(self) -> np.ndarray:
        """Upper bounds for a shadow-price LP: without the implied bounds given to the MIP
        search, so that a price lands on the row that names it, never on a redundant bound."""
        return self.ub if self.loose_ub is None else self.loose_ub

    @property
    def margin_cost(self) -> np.ndarray:
        """The objective without the tie-break weight: shadow prices are read against it."""
        c = self.c.copy()
        if self.tie_break is not None:
            c[self.tie_break] = 0.0
        return c


@dataclass(frozen=True)
class Row:
    """One row as reported: ``name`` for people, ``kind`` and ``label`` (coordinates) by meaning.

    ``scale`` is how many currency units (or heads) one model unit of this row is worth;
    ``slack`` the column of its elastic slack (diagnosis model), if it has one.
    """

    name: str
    kind: RowKind
    label: tuple
    sense: Sense
    rhs: float
    scale: float
    meta: dict
    slack: int | None


@dataclass
class PlanningModel:
    """Columns and rows as arrays, and every column by meaning (never by parsing names)."""

    data: PlanningData
    unit: float
    elastic: bool = False
    budget_slack: bool = False
    # rows, one entry each
    kinds: list[RowKind] = field(default_factory=list)
    labels: list[tuple] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    meta: list[dict] = field(default_factory=list)
    sense: list[int] = field(default_factory=list)
    rhs: list[float] = field(default_factory=list)
    scale: list[float] = field(default_factory=list)
    slack: list[int] = field(default_factory=list)  # -1: none
    row_cols: list[np.ndarray] = field(default_factory=list)
    row_vals: list[np.ndarray] = field(default_factory=list)
    # columns, in chunks
    ncols: int = 0
    col_chunks: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)
    # response: per (region, channel, period) segment columns and slopes, and the revenue column
    segments: dict = field(default_factory=dict)
    revenue: dict = field(default_factory=dict)
    response_rows: dict = field(default_factory=dict)
    breakpoints: dict = field(default_factory=dict)  # (region, channel, period) -> Breakpoints | None
    cell_segments: dict = field(default_factory=dict)  # (region, channel) -> its segment columns, all periods
    filter_cache: dict = field(default_factory=dict)  # policy filters over cells -> their terms
    # carryover (model/carryover.py): a carrying cell's spend is a column per period, its segments
    # hold the effective spend; the real spend of every cell, whether it carries or not
    spend_cols: dict = field(default_factory=dict)  # (region, channel, period) -> spend column (carrying cells)
    adstock_rows: dict = field(default_factory=dict)  # (region, channel, period) -> its adstock row
    cell_spend: dict = field(default_factory=dict)  # (region, channel) -> its spend columns, all periods
    spend_all: np.ndarray = field(default_factory=lambda: NO_TERMS[0])  # every spend column, in key order
    # staffing: per (region, period)
    core: dict = field(default_factory=dict)
    hires: dict = field(default_factory=dict)
    releases: dict = field(default_factory=dict)
    temp: dict = field(default_factory=dict)
    reserve: int | None = None
    budget_extension: int | None = None
    people_cost_terms: dict = field(default_factory=dict)  # (region, period) -> Terms
    capacity_terms: dict = field(default_factory=dict)  # (region, period) -> the heads' Terms (negative)
    objective_terms: list = field(default_factory=list)  # elastic slacks: (column, weight)
    blocks: dict = field(default_factory=dict)  # family -> (first row, end row, first col, end col)
    response_key: tuple | None = None  # what the response block's breakpoints were built from
    # a stochastic plan's sample blocks (model/samples.py): rows added inside a sample carry its
    # coordinate after their own, and the objective is the samples' mean margin
    scope_label: tuple = ()
    scope_name: str = ""
    sample_blocks: list = field(default_factory=list)
    objective_parts: Terms | None = None
    risk: object | None = None  # the CVaR columns (samples.RiskColumns), when the plan has a risk rule
    shared_slopes: dict = field(default_factory=dict)  # (region, channel, period) -> samples' slopes on shared segments
    family_reads: dict = field(default_factory=dict)  # family -> the inputs it read (allocator/model/inputs.py)
    family_keys: dict = field(default_factory=dict)  # family -> their values when it was built
    rebuilt: set = field(default_factory=set)  # the families built (not copied) in this model
    _form: LinearForm | None = None
    _copied: dict = field(default_factory=dict)  # first row -> the form a block was taken over from (until built)
    _runner: object | None = None  # the live HiGHS model (allocator.solve.HighsRunner), once solved
    held: dict | None = None  # integer headcount held fixed, (region, period) -> (core, temp) (``hold``)
    _free: tuple | None = None  # the column bounds and integrality as built, while some are held

    # --- building ---------------------------------------------------------------------------

    @classmethod
    def build(cls, data: PlanningData, elastic: bool = False, budget_slack: bool = False) -> PlanningModel:
        return build_model(data, elastic=elastic, budget_slack=budget_slack)

    def vars(self, n: int, low=0.0, high=INF, integer: bool = False) -> np.ndarray:
        """``n`` new columns with bounds ``low``/``high`` (scalars or arrays); their indices."""
        high = INF if high is None else high
        lb = np.full(n, float(low)) if np.isscalar(low) else np.array(low, dtype=float)
        ub = np.full(n, float(high)) if np.isscalar(high) else np.array(high, dtype=float)
        self.col_chunks.append((lb, ub, np.full(n, integer, dtype=bool)))
        first = self.ncols
        self.ncols += n
        self._form = None
        return np.arange(first, first + n, dtype=np.int64)

    def var(self, low: float = 0.0, high: float | None = None, integer: bool = False) -> int:
        return int(self.vars(1, low, high, integer)[0])

    def add_row(self, kind: RowKind, label: tuple, name: str, t: Terms, sense: Sense, rhs: float, scale: float,
                size: float | None = None, **meta) -> int:
        """Add ``sum(coef * column) <sense> rhs``; with ``size`` the row may give in the elastic model."""
        slack = -1
        cols, vals = t
        label, name = (*label, *self.scope_label), name + self.scope_name
        if self.elastic and size is not None and sense != EQ:
            slack = self.var()
            cols = np.append(cols, slack)
            vals = np.append(vals, 1.0 if sense == GE else -1.0)
            self.objective_terms.append((slack, -1.0 / max(size / scale, 1e-9)))
        self.kinds.append(kind)
        self.labels.append(label)
        self.names.append(name)
        self.meta.append(meta)
        self.sense.append(int(sense))
        self.rhs.append(float(rhs))
        self.scale.append(float(scale))
        self.slack.append(slack)
        self.row_cols.append(np.asarray(cols, dtype=np.int64))
        self.row_vals.append(np.asarray(vals, dtype=float))
        self._form = None
        return len(self.kinds) - 1

    def copy_block(self, other: PlanningModel, name: str) -> None:
        """Take family ``name``'s rows and columns from ``other`` unchanged (same position)."""
        r0, r1, c0, c1 = other.blocks[name]
        assert (r0, c0) == (self.nrows, self.ncols), "a block is reused only at its own position"
        for attr in ("kinds", "labels", "names", "meta", "sense", "rhs", "scale", "slack", "row_cols", "row_vals"):
            getattr(self, attr).extend(getattr(other, attr)[r0:r1])
        f = other.form
        self.col_chunks.append((f.lb[c0:c1].copy(), f.ub[c0:c1].copy(), f.integer[c0:c1].copy()))
        self.ncols = c1
        self._form = None

    # --- reading ----------------------------------------------------------------------------

    @property
    def nrows(self) -> int:
        return len(self.kinds)

    @property
    def rows(self) -> list[Row]:
        return [self.row(i) for i in range(self.nrows)]

    def row(self, i: int) -> Row:
        slack = self.slack[i]
        return Row(self.names[i], self.kinds[i], self.labels[i], Sense(self.sense[i]), self.rhs[i], self.scale[i],
                   self.meta[i], None if slack < 0 else slack)

    def find(self, kind: RowKind, label: tuple = ()) -> int | None:
        """The row of ``kind`` at ``label`` (``None`` if the model has no such row)."""
        for i, (k, lab) in enumerate(zip(self.kinds, self.labels)):
            if k == kind and lab == label:
                return i
        return None

    def spend_terms(self, keys) -> Terms:
        """The real spend of (region, channel, period) keys: a carrying cell's spend column, else
        the period's segments (``model.segments`` itself: every key)."""
        if keys is self.segments:  # all of them
            return self.spend_all, np.ones(len(self.spend_all))
        carry = self.spend_cols
        parts = [np.array([carry[k]], dtype=np.int64) if k in carry else self.segments[k][0]
                 for k in keys if k in self.segments]
        cols = np.concatenate(parts) if parts else NO_TERMS[0]
        return cols, np.ones(len(cols))

    def lift_terms(self, keys, weight=lambda key: 1.0) -> Terms:
        present = [k for k in keys if k in self.segments]
        if not present:
            return NO_TERMS
        return (np.concatenate([self.segments[k][0] for k in present]),
                np.concatenate([self.segments[k][1] * weight(k) for k in present]))

    def revenue_terms(self, keys) -> Terms:
        cols = np.array([self.revenue[k] for k in keys if k in self.revenue], dtype=np.int64)
        return cols, np.ones(len(cols))

    def people_terms(self, keys) -> Terms:
        return terms(*[self.people_cost_terms[k] for k in keys if k in self.people_cost_terms])

    @property
    def form(self) -> LinearForm:
        """The arrays HiGHS (and the PuLP export) receive; built once, then cached."""
        if self._form is None:
            self._form = self._linear_form()
        return self._form

    def _linear_form(self) -> LinearForm:
        n, m = self.ncols, self.nrows
        lb = np.concatenate([c[0] for c in self.col_chunks]) if self.col_chunks else np.zeros(0)
        ub = np.concatenate([c[1] for c in self.col_chunks]) if self.col_chunks else np.zeros(0)
        integer = np.concatenate([c[2] for c in self.col_chunks]) if self.col_chunks else np.zeros(0, bool)
        lengths, indices, values = self._matrix_parts(m)
        indptr = np.zeros(m + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        # every family gives each column once per row (``combine`` where parts may repeat one)
        matrix = sp.csr_matrix((values, indices, indptr), shape=(m, n))
        sense = np.asarray(self.sense, dtype=np.int64)
        rhs = np.asarray(self.rhs, dtype=float)
        row_lo = np.where(sense == LE, -INF, rhs)
        row_hi = np.where(sense == GE, INF, rhs)
        tie_break = self.reserve if self.reserve is not None and not self.elastic and not self.budget_slack else None
        loose = None
        if integer.any():  # a MIP: revenue bounds that every plan meets cut its relaxation (docs/performance.md)
            loose, ub = ub, np.minimum(ub, response.revenue_bounds(self, matrix, lb, ub, row_hi))
        return LinearForm(self._objective(n), lb, ub, integer, matrix, row_lo, row_hi, tie_break, loose)

    def _matrix_parts(self, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Row lengths, column indices and values of the matrix: blocks taken over from a model
        being updated are sliced out of its matrix, the others joined from their rows."""
        copied, self._copied = self._copied, {}
        if not m:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0)
        parts, row = [], 0
        for r0, r1, _, _ in sorted(self.blocks.values()) if copied else [(0, m, 0, 0)]:
            if r0 > row:  # rows outside any block (none today)
                parts.append(self._row_parts(row, r0))
            source = copied.get(r0)
            if source is not None and r1 > r0:
                a, b = source.matrix.indptr[r0], source.matrix.indptr[r1]
                parts.append((np.diff(source.matrix.indptr[r0:r1 + 1]), source.matrix.indices[a:b],
                              source.matrix.data[a:b]))
            elif r1 > r0:
                parts.append(self._row_parts(r0, r1))
            row = max(row, r1)
        if row < m:
            parts.append(self._row_parts(row, m))
        return tuple(np.concatenate([p[k] for p in parts]) for k in range(3))  # type: ignore[return-value]

    def _row_parts(self, r0: int, r1: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        cols, vals = self.row_cols[r0:r1], self.row_vals[r0:r1]
        return (np.fromiter((len(c) for c in cols), dtype=np.int64, count=r1 - r0), np.concatenate(cols),
                np.concatenate(vals))

    def _objective(self, n: int) -> np.ndarray:
        c = np.zeros(n)
        if self.budget_slack:
            c[self.budget_extension] = -1.0
            return c
        if self.elastic:
            if self.objective_terms:
                cols, weights = zip(*self.objective_terms)
                np.add.at(c, np.asarray(cols, dtype=np.int64), np.asarray(weights))
            return c
        cols, vals = margin_terms(self) if self.objective_parts is None else self.objective_parts
        np.add.at(c, cols, vals)
        c[self.reserve] += RESERVE_EPS
        return c

    # --- changing and solving ---------------------------------------------------------------

    def update(self, data: PlanningData) -> None:
        """Make this model the model of ``data``, changing the live solver model in place.

        Every family is rebuilt from ``data`` (the response block is reused when its breakpoints
        are the same) at this model's ``unit``; the new arrays are compared with the live ones and
        only the numbers that differ are pushed to HiGHS. Raises :class:`RebuildRequired` (and
        changes nothing) when rows, columns, breakpoints or the sparsity pattern differ.
        """
        from allocator.model import restructure
        from allocator.model.changes import diff

        reason = response.breakpoint_difference(self, data)
        if reason is not None and not restructure.refinement_only(self, data):
            raise RebuildRequired(RebuildReason.BREAKPOINTS, reason)
        new = build_model(data, self.elastic, self.budget_slack, unit=self.unit, reuse=self)
        if self.held is not None:
            restructure.hold_form(new, self.held)
        runner = self._runner
        if reason is None:
            change = diff(self, new)
            if runner is not None:
                runner.apply(change, new.form)
        else:  # the refinement's new breakpoints: new columns and rows in the live model (restructure.py)
            mapping = restructure.mapping(self, new)
            if runner is not None:
                values = runner.values()  # the last plan, if any: a MIP start for the new model
                runner.restructure(mapping, new.form)
                if values is not None and new.form.integer.any():
                    runner.start(*restructure.start(self, new, mapping, values))
        index = getattr(self, "_plan_index", None)
        self.__dict__.update(new.__dict__)
        self._runner = runner
        if index is not None and reason is None:  # same columns and rows: the plan's quantities sit where they did
            self._plan_index = index

    def hold(self, fixed: dict | None) -> None:
        """Hold the integer headcount at ``fixed`` ((region, period) -> (core, temp)), or release
        it (``None``), in the live model too; it stays held through ``update``."""
        from allocator.model import restructure

        restructure.hold(self, fixed)

    def solve(self, solver: str = "highs", time_limit: float | None = None, mip_gap: float = 1e-4,
              warm: bool = True):
        """Solve (HiGHS keeps the model live, so a later ``update`` + ``solve`` re-solves warm from
        the last basis; ``warm=False`` solves the live model from scratch)."""
        from allocator.solve import solve_model

        return solve_model(self, solver, time_limit, mip_gap, warm)


def build_model(data: PlanningData, elastic: bool = False, budget_slack: bool = False, unit: float | None = None,
                reuse: PlanningModel | None = None) -> PlanningModel:
    """The whole model: response, staffing, budget and reserve, floors, ROI, policies, objective.

    ``elastic`` gives every floor, ROI floor, policy and spend minimum a weighed slack and
    minimises their sum (the diagnosis model). ``budget_slack`` adds an unbounded budget extension
    and minimises it (how much more budget would make the plan feasible). ``unit`` keeps the
    money scale of a model being updated; ``reuse`` is that model (its response block is taken
    over when its breakpoints are the same).
    """
    model = PlanningModel(data=data, unit=unit if unit is not None else data.budget / 1000.0,
                          elastic=elastic, budget_slack=budget_slack)
    if budget_slack:  # an open budget extension, minimised: how much more budget is needed
        model.budget_extension = model.var()
    for name, add in (("response", lambda m: response.add_response(m, reuse)),
                      ("spend_bounds", response.add_spend_bounds),
                      ("period_spend", response.add_period_spend_bounds), ("staffing", staffing.add_staffing),
                      ("budget", families.add_budget_and_reserve), ("growth_floors", families.add_growth_floors),
                      ("potential", families.add_potential), ("revenue_floor", families.add_revenue_floor),
                      ("roi", families.add_roi_floors), ("policies", families.add_policies),
                      ("change_limits", families.add_change_limits),
                      ("past", past.add_past)):
        _family(model, name, add, reuse)
    if data.samples is not None:  # a two-stage stochastic plan: one block per sample, then its objective
        r0, c0 = model.nrows, model.ncols  # always built (it swaps the model's response maps while it builds)
        samples.add_samples(model)
        model.blocks["samples"] = (r0, model.nrows, c0, model.ncols)
        model.rebuilt.add("samples")
    model.form  # noqa: B018 (the arrays, assembled once here: part of building)
    return model


def _family(model: PlanningModel, name: str, add, reuse: PlanningModel | None = None) -> None:
    """Build family ``name`` (recording the inputs it reads), or take its block over from ``reuse``
    when those inputs, and the families it needs, are unchanged (``allocator/model/inputs.py``)."""
    r0, c0 = model.nrows, model.ncols
    if _unchanged(model, name, reuse):
        model.copy_block(reuse, name)
        if reuse.blocks[name][1] > r0:  # an empty block must not claim the first row of the next one
            model._copied[r0] = reuse.form
        for attr in inputs.STATE.get(name, ()):
            setattr(model, attr, getattr(reuse, attr))
        model.family_reads[name], model.family_keys[name] = reuse.family_reads[name], reuse.family_keys[name]
    else:
        reads = inputs.Reads()
        data, before = model.data, inputs.snapshot(model)
        model.data = inputs.DataView(data, reads)  # type: ignore[assignment]
        try:
            add(model)
        finally:
            model.data = data
        inputs.check_state(name, before, inputs.snapshot(model))
        model.family_reads[name], model.family_keys[name] = reads, inputs.key(data, reads)
        model.rebuilt.add(name)
    model.blocks[name] = (r0, model.nrows, c0, model.ncols)


def _unchanged(model: PlanningModel, name: str, reuse: PlanningModel | None) -> bool:
    if reuse is None or model.elastic or model.budget_slack or reuse.elastic or reuse.budget_slack:
        return False  # elastic slacks add objective terms per row: those models are built whole
    if name not in reuse.family_reads or reuse.unit != model.unit or reuse._form is None:
        return False
    r0, _, c0, _ = reuse.blocks[name]
    if (r0, c0) != (model.nrows, model.ncols) or any(n in model.rebuilt for n in inputs.NEEDS[name]):
        return False
    return inputs.key(model.data, reuse.family_reads[name]) == reuse.family_keys[name]


def margin_terms(model: PlanningModel) -> Terms:
    """``M = sum m*y - sum x - P`` in model units."""
    data = model.data
    width = len(data.periods)
    margin = np.repeat(np.array([c.margin for c in data.cells]), width)  # revenue runs cell by cell, period by period
    revenue = (np.fromiter(model.revenue.values(), dtype=np.int64, count=len(model.revenue)), margin)
    spend = model.spend_terms(model.segments)
    people = model.people_terms(model.people_cost_terms)
    return terms(revenue, scaled(spend, -1.0), scaled(people, -1.0))
