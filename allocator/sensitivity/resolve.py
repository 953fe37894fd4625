"""Re-solve a built model in place when a changed scenario differs only in numbers.

``allocator/warm.py`` does this for the budget alone. :class:`WarmSolver` generalises it: it builds
the model of one scenario once, and for each changed scenario of the same *shape* it computes the
rows' new bounds and coefficients and the objective's new costs, pushes the differences into the
persistent HiGHS model, and re-solves from the last basis. The shape is everything that decides
which rows and columns exist: periods, seasonality, regions, channels, the cells and their curves,
which floors, policies and ROI floors exist, the staffing layout. A scenario of another shape (a
curve parameter, a seasonality, a new floor) is not handled here; the caller rebuilds it.

What can change in place, and where it lands (model units):

| scenario numbers | rows and columns |
|---|---|
| ``budget.total``, ``budget.reserve`` | budget and reserve rows; spend maxima that default to the budget |
| growth floors, last-year revenue, potential, revenue floor | their rows' right-hand sides |
| a cell's ``spend.min``/``spend.max`` (a maximum up to the built one), ``base`` | spend rows, response rows |
| ``min_roi`` (cell or channel), gross margins | ROI-floor coefficients; revenue costs in the objective |
| policy ``min``/``max`` | the policy row's coefficients (``Q(F) - bound * Q(base)``) |
| sales force: current heads, hire limits, costs, capacities, temp-staff share | flow and hire rows; capacity, budget, policy and temp-share coefficients; people costs in the objective |

Cells whose spend bound changes are built at the largest bound of the sweep (the *ceiling*), as
``WarmModel`` does, so a point with a smaller bound keeps the ceiling's breakpoints: its
interpolant is within ``pwl_tolerance * f(ceiling)`` of the curve instead of
``pwl_tolerance * f(hi)``. :func:`error_bound` is the resulting bound on the objective's difference
from a fresh :func:`allocator.solve`; on points whose bounds equal the ceiling the models are the
same and only the solver's tolerances separate the two.
"""

from __future__ import annotations

import dataclasses
import time

import highspy
import numpy as np

from allocator.model import curves, families
from allocator.model.build import build_model
from allocator.model.data import PlanningData
from allocator.model.response import cell_label
from allocator.plan import SUMMARY_KEYS, Plan, tabulate
from allocator.scenario import Scenario
from allocator.sensitivity.summary import Summarizer
from allocator.solve import INF, HighsRunner, Solution, Status, linear_form


def shape_difference(ref: PlanningData, new: PlanningData) -> str | None:
    """Why ``new`` cannot be solved by changing numbers in ``ref``'s model (``None`` if it can)."""
    for name in ("periods", "length", "season", "regions", "region_class", "channels", "tolerance", "reach_scale"):
        if getattr(ref, name, None) != getattr(new, name, None):
            return name
    if len(ref.cells) != len(new.cells):
        return "cells"
    for a, b in zip(ref.cells, new.cells):
        if (a.region, a.channel) != (b.region, b.channel) or a.curve != b.curve:
            return f"response[{cell_label(b.region, b.channel)}] curve"
        if (a.lo > 0) != (b.lo > 0) or (a.hi > 0) != (b.hi > 0) or (a.min_roi is None) != (b.min_roi is None):
            return f"response[{cell_label(b.region, b.channel)}] bounds"
        if b.hi > a.hi * (1 + 1e-12):
            return f"response[{cell_label(b.region, b.channel)}] spend above the built maximum"
    if set(ref.growth_floor) != set(new.growth_floor) or set(ref.potential) != set(new.potential):
        return "floors"
    if (ref.revenue_target is None) != (new.revenue_target is None) or set(ref.channel_roi) != set(new.channel_roi):
        return "targets"
    if (ref.staffing is None) != (new.staffing is None):
        return "sales_force"
    if ref.staffing is not None and _staffing_shape(ref.staffing) != _staffing_shape(new.staffing):
        return "sales_force"
    if len(ref.policies) != len(new.policies):
        return "policies"
    for a, b in zip(ref.policies, new.policies):
        if (a.name, a.share, a.where, a.of) != (b.name, b.share, b.where, b.of):
            return f"policy {b.name}"
        if (a.min is None) != (b.min is None) or (a.max is None) != (b.max is None):
            return f"policy {b.name}"
    return None


def _staffing_shape(sf) -> tuple:
    share = None if sf.temp_share is None else (sf.temp_share[0] > 0, sf.temp_share[1] < 1)
    limits = tuple(sorted((r, v is None) for r, v in sf.max_hires.items()))
    return sf.allow_release, sf.temp_periods, share, limits, tuple(sorted(sf.current))


def with_ceilings(data: PlanningData, ceilings: dict[tuple[str, str], float]) -> PlanningData:
    """``data`` with each cell's spend maximum raised to its ceiling (the largest of a sweep)."""
    cells = tuple(dataclasses.replace(c, hi=max(c.hi, ceilings.get((c.region, c.channel), c.hi))) for c in data.cells)
    return dataclasses.replace(data, cells=cells)


def error_bound(built: PlanningData, new: PlanningData) -> float:
    """Largest difference between the objective on ``built``'s breakpoints and a fresh build of ``new``.

    Each period's interpolant is within ``s_t * tol * f(hi)`` of the curve, so a cell's annual lift
    within ``tol * f(hi)``: the two optima differ by at most ``sum_c m_c tol (f(hi_built) + f(hi_new))``
    over the cells whose bound differs (0 when none does).
    """
    total = 0.0
    for a, b in zip(built.cells, new.cells):
        if a.hi != b.hi:
            reach = float(curves.value(a.curve, [a.hi])[0] + curves.value(b.curve, [b.hi])[0])
            total += b.margin * new.tolerance * reach
    return total


class WarmRunner(HighsRunner):
    """A persistent HiGHS model whose shadow-price LP (margin objective, integers fixed) persists too.

    ``HighsRunner`` passes that LP afresh after every solve; here it is passed once and re-solved
    warm, with every row, coefficient and cost change applied to both models.
    """

    def __init__(self, form):
        super().__init__(form)
        self.dual: highspy.Highs | None = None

    def change_rows(self, rows: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> None:
        for h in self._models():
            h.changeRowsBounds(len(rows), rows.astype(np.int32), lo, hi)

    def change_coeff(self, row: int, col: int, value: float) -> None:
        for h in self._models():
            h.changeCoeff(row, col, value)

    def change_costs(self, cols: np.ndarray, cost: np.ndarray, margin_cost: np.ndarray) -> None:
        self.highs.changeColsCost(len(cols), cols.astype(np.int32), cost)
        if self.dual is not None:
            self.dual.changeColsCost(len(cols), cols.astype(np.int32), margin_cost)

    def _models(self):
        return (self.highs,) if self.dual is None else (self.highs, self.dual)

    def _duals(self, values: np.ndarray) -> np.ndarray:
        f = self.form
        if not f.integer.any() and f.tie_break is None:
            return np.asarray(self.highs.getSolution().row_dual)
        fixed = np.round(values[f.integer])
        if self.dual is None:
            lb, ub = f.lb.copy(), f.ub.copy()
            lb[f.integer] = ub[f.integer] = fixed
            self.dual = HighsRunner(f, lb, ub, np.zeros_like(f.integer), f.margin_cost).highs
        elif f.integer.any():
            cols = np.flatnonzero(f.integer).astype(np.int32)
            self.dual.changeColsBounds(len(cols), cols, fixed, fixed)
        self.dual.setOptionValue("time_limit", self.dual_time_limit())  # within the point's time limit
        self.dual.run()
        if self.dual.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return np.full(len(f.row_lo), np.nan)
        return np.asarray(self.dual.getSolution().row_dual)


@dataclasses.dataclass
class Targets:
    """Absolute values, in model units, that a scenario asks of the built model's numbers."""

    bounds: dict[int, tuple[float, float]] = dataclasses.field(default_factory=dict)
    coefs: dict[int, tuple[np.ndarray, np.ndarray]] = dataclasses.field(default_factory=dict)  # row -> cols, values
    costs: dict[int, float] = dataclasses.field(default_factory=dict)


def _arrays(col: dict, terms) -> tuple[np.ndarray, np.ndarray]:
    """Terms ``[(var, coef)]`` as column indices and summed coefficients (as ``_combine`` sums them)."""
    summed: dict[int, float] = {}
    for v, c in terms:
        j = col[v]
        summed[j] = summed.get(j, 0.0) + c
    return np.fromiter(summed, dtype=np.int64, count=len(summed)), np.fromiter(summed.values(), float, len(summed))


class WarmSolver:
    """``WarmSolver(data).solve(scenario, data_of_scenario) -> Plan | None`` for many scenarios, one build.

    ``data`` is the planning data the model is built from (with spend ceilings already applied).
    ``solve`` returns ``None`` when the scenario's shape differs: the caller rebuilds that one.
    """

    def __init__(self, data: PlanningData):
        start = time.perf_counter()
        self.data = data
        self.model = build_model(data)
        self.form = linear_form(self.model)
        self.runner = WarmRunner(self.form)
        self.unit = self.model.unit
        self.col = {v: i for i, v in enumerate(self.model.columns)}
        self.row: dict[str, int] = {}
        repeated = set()
        for i, r in enumerate(self.model.rows):
            if r.name in self.row:
                repeated.add(r.name)
            self.row[r.name] = i
        for name in repeated:  # ids that collide in a row name: such rows are never changed in place
            del self.row[name]
        self._sorted: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._recipes()
        self._summarizer: Summarizer | None = None
        self.build_seconds = time.perf_counter() - start

    def _recipes(self) -> None:
        """The parts of coefficients that no changeable number touches, as arrays, once.

        ROI rows: each segment's slope and its cell; revenue columns: their cell; policy rows on
        spend, revenue or headcount: ``Q(F)`` and ``Q(base)`` per column.
        """
        m, data = self.model, self.data
        index = {(c.region, c.channel): k for k, c in enumerate(data.cells)}
        self._roi: list[tuple[str, object, np.ndarray, np.ndarray, np.ndarray]] = []
        for k, cell in enumerate(data.cells):
            if cell.min_roi is not None:
                keys = [(cell.region, cell.channel, p) for p in data.periods]
                self._roi.append((f"min_roi[{cell_label(cell.region, cell.channel)}]", k, *self._slopes(keys, index)))
        for channel in data.channel_roi:
            keys = [key for key in m.segments if key[1] == channel]
            self._roi.append((f"min_roi[{channel}]", channel, *self._slopes(keys, index)))
        self._revenue_cols = np.array([self.col[y] for y in m.revenue.values()], dtype=np.int64)
        self._revenue_cell = np.array([index[key[:2]] for key in m.revenue], dtype=np.int64)
        self._policy: dict[int, tuple] = {}
        for n, policy in enumerate(data.policies):
            if policy.share == "people_cost":
                continue  # depends on people costs: recomputed for each scenario (few terms)
            part = dict(families._quantity(m, policy.share, policy.where)[0])
            base = dict(families._quantity(m, policy.share, policy.of)[0])
            cols = list(dict.fromkeys([*part, *base]))
            self._policy[n] = (np.array([self.col[v] for v in cols], dtype=np.int64),
                               np.array([part.get(v, 0.0) for v in cols]), np.array([base.get(v, 0.0) for v in cols]))

    def _slopes(self, keys, index) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        pairs = [(self.col[v], slope, index[key[:2]]) for key in keys for v, slope in self.model.segments[key]]
        cols, slopes, cells = zip(*pairs) if pairs else ((), (), ())
        return np.array(cols, dtype=np.int64), np.array(slopes, dtype=float), np.array(cells, dtype=np.int64)

    # --- what the scenario asks ------------------------------------------------------------

    def targets(self, new: PlanningData) -> Targets | None:
        """Every changeable number for ``new``; ``None`` when a row it needs is not in the model."""
        t = Targets()
        try:
            self._budget_rows(new, t)
            self._cell_rows(new, t)
            self._floor_rows(new, t)
            self._roi_rows(new, t)
            self._staffing_numbers(new, t)
            self._policy_rows(new, t)
            self._objective(new, t)
        except KeyError:
            return None
        return t

    def _le(self, t: Targets, name: str, rhs: float) -> None:
        t.bounds[self.row[name]] = (-INF, rhs)

    def _ge(self, t: Targets, name: str, rhs: float) -> None:
        t.bounds[self.row[name]] = (rhs, INF)

    def _budget_rows(self, new: PlanningData, t: Targets) -> None:
        total, (low, high) = new.budget / self.unit, new.reserve
        self._le(t, "budget", total)
        self._ge(t, "reserve_min", low * total)
        self._le(t, "reserve_max", high * total)

    def _cell_rows(self, new: PlanningData, t: Targets) -> None:
        for cell in new.cells:
            label = cell_label(cell.region, cell.channel)
            if cell.lo > 0:
                self._ge(t, f"spend_min[{label}]", cell.lo / self.unit)
            if f"spend_max[{label}]" in self.row:
                self._le(t, f"spend_max[{label}]", cell.hi / self.unit)
            for period in new.periods:
                self._le(t, f"response[{label},{period}]", new.season[period] * cell.base / self.unit)

    def _floor_rows(self, new: PlanningData, t: Targets) -> None:
        for region, g in new.growth_floor.items():
            self._ge(t, f"growth_floor[{region}]", (1 + g) * new.last_year[region] / self.unit)
        for region, cap in new.potential.items():
            self._le(t, f"potential[{region}]", cap / self.unit)
        if new.revenue_target is not None:
            self._ge(t, "revenue_floor", new.revenue_target / self.unit)

    def _roi_rows(self, new: PlanningData, t: Targets) -> None:
        """``m * slope - (1 + rho)`` on every segment of the row's cells."""
        margins = np.array([c.margin for c in new.cells])
        for name, source, cols, slopes, cells in self._roi:
            rho = new.cells[source].min_roi if isinstance(source, int) else new.channel_roi[source]
            t.coefs[self.row[name]] = (cols, margins[cells] * slopes - (1 + rho))

    def _staffing_numbers(self, new: PlanningData, t: Targets) -> None:
        """Flow and hire-limit rows, capacity coefficients, and the people-cost terms (kept on the
        model, where the budget, policy and temp-share rows and the objective read them)."""
        sf, m, unit = new.staffing, self.model, self.unit
        if sf is None:
            return
        first = new.periods[0]
        for region in new.regions:
            name = f"headcount_flow[{region},{first}]"
            t.bounds[self.row[name]] = (float(sf.current[region]),) * 2
            for period in new.periods:
                key = (region, period)
                if sf.max_hires[region] is not None:
                    self._le(t, f"hire_limit[{region},{period}]", float(sf.max_hires[region]))
                capacity = [(m.core[key], -sf.capacity * new.length[period] / unit)]
                cost = [(m.core[key], sf.cost * new.length[period] / unit), (m.hires[key], sf.hire_cost / unit)]
                if key in m.releases:
                    cost.append((m.releases[key], sf.release_cost / unit))
                if key in m.temp:
                    capacity.append((m.temp[key], -sf.temp_capacity / unit))
                    cost.append((m.temp[key], sf.temp_cost / unit))
                self._terms(t, f"capacity[{region},{period}]", capacity)
                m.people_cost_terms[key] = cost
        people = m.people_terms(m.people_cost_terms)
        if sf.temp_share is not None:
            temp = [(e, sf.temp_cost / unit) for e in m.temp.values()]
            low, high = sf.temp_share
            if low > 0:
                self._terms(t, "temp_share_min", temp + [(v, -low * c) for v, c in people])
            if high < 1:
                self._terms(t, "temp_share_max", temp + [(v, -high * c) for v, c in people])
        self._terms(t, "budget", people)  # the spend and reserve coefficients are 1 and stay 1

    def _terms(self, t: Targets, name: str, terms) -> None:
        t.coefs[self.row[name]] = _arrays(self.col, terms)

    def _policy_rows(self, new: PlanningData, t: Targets) -> None:
        """``Q(F) - bound * Q(base)``: the bound is a coefficient, not a right-hand side."""
        m = self.model
        for n, policy in enumerate(new.policies):
            if n in self._policy:
                cols, part, base = self._policy[n]
            else:
                saved, m.data = m.data, self._view(new)
                try:
                    part_terms = families._quantity(m, policy.share, policy.where)[0]
                    base_terms = families._quantity(m, policy.share, policy.of)[0]
                finally:
                    m.data = saved
                cols, part = _arrays(self.col, part_terms)
                base = np.zeros(len(cols))
                where = {j: k for k, j in enumerate(cols)}
                extra = []
                for v, c in base_terms:
                    j = self.col[v]
                    if j in where:
                        base[where[j]] += c
                    else:
                        extra.append((j, c))
                if extra:
                    cols = np.append(cols, [j for j, _ in extra])
                    part = np.append(part, np.zeros(len(extra)))
                    base = np.append(base, [c for _, c in extra])
            for bound, label in ((policy.min, "min"), (policy.max, "max")):
                if bound is not None:
                    t.coefs[self.row[f"policy[{policy.name}].{label}"]] = (cols, part - bound * base)

    def _objective(self, new: PlanningData, t: Targets) -> None:
        """Revenue at its margin; people cost (spend stays at -1, the reserve at its tie-break)."""
        margins = np.array([c.margin for c in new.cells])
        t.costs.update(zip(self._revenue_cols.tolist(), margins[self._revenue_cell].tolist()))
        if new.staffing is not None:
            cols, cost = _arrays(self.col, self.model.people_terms(self.model.people_cost_terms))
            t.costs.update(zip(cols.tolist(), (-cost).tolist()))

    # --- pushing the differences into HiGHS ---------------------------------------------------

    def apply(self, t: Targets) -> bool:
        """Change what differs from the model's current numbers; ``False`` if a coefficient would
        need a new entry in the matrix (then nothing is changed)."""
        f = self.form
        changes = []
        for i, (cols, values) in t.coefs.items():
            positions = self._positions(i, cols)
            if positions is None:
                return False
            differ = f.matrix.data[positions] != values
            if differ.any():
                changes.append((i, cols[differ], positions[differ], values[differ]))
        for i, cols, positions, values in changes:
            f.matrix.data[positions] = values
            for j, value in zip(cols.tolist(), values.tolist()):
                self.runner.change_coeff(i, j, value)
        rows = [i for i, (lo, hi) in t.bounds.items() if (f.row_lo[i], f.row_hi[i]) != (lo, hi)]
        if rows:
            lo = np.array([t.bounds[i][0] for i in rows])
            hi = np.array([t.bounds[i][1] for i in rows])
            f.row_lo[rows], f.row_hi[rows] = lo, hi
            self.runner.change_rows(np.asarray(rows), lo, hi)
            for i, low, high in zip(rows, lo, hi):  # the plan's constraint table reads the rhs here
                self.model.rows[i].constraint.constant = -(low if np.isfinite(low) else high)
        cols = np.fromiter(t.costs, dtype=np.int64, count=len(t.costs))
        costs = np.fromiter(t.costs.values(), dtype=float, count=len(t.costs))
        differ = f.c[cols] != costs
        if differ.any():
            f.c[cols[differ]] = costs[differ]
            self.runner.change_costs(cols[differ], costs[differ], f.margin_cost[cols[differ]])
        return True

    def _positions(self, i: int, cols: np.ndarray) -> np.ndarray | None:
        """Where row ``i``'s entries for ``cols`` sit in the CSR data (``None`` if one is missing)."""
        if i not in self._sorted:
            m = self.form.matrix
            start, end = m.indptr[i], m.indptr[i + 1]
            order = np.argsort(m.indices[start:end], kind="stable")
            self._sorted[i] = (m.indices[start:end][order].astype(np.int64), start + order)
        sorted_cols, positions = self._sorted[i]
        if len(cols) == 0:
            return np.zeros(0, dtype=np.int64)
        k = np.searchsorted(sorted_cols, cols)
        if (k >= len(sorted_cols)).any() or (sorted_cols[np.minimum(k, len(sorted_cols) - 1)] != cols).any():
            return None
        return positions[k]

    def _view(self, new: PlanningData) -> PlanningData:
        """``new`` as the built model sees it: the built spend maxima (hence breakpoints)."""
        cells = tuple(dataclasses.replace(c, hi=b.hi) for c, b in zip(new.cells, self.data.cells))
        return dataclasses.replace(new, cells=cells)

    # --- solving ------------------------------------------------------------------------------

    def solve(self, scenario: Scenario, new: PlanningData, time_limit: float | None = None,
              mip_gap: float | None = None, tables: bool = True) -> Plan | None:
        """The plan of ``scenario`` (whose planning data is ``new``) by a warm re-solve, or ``None``
        when its shape differs. Without ``tables`` the plan has its summary only (much faster)."""
        if shape_difference(self.data, new) is not None:
            return None
        start = time.perf_counter()
        t = self.targets(new)
        if t is None or not self.apply(t):
            return None
        patch_seconds = time.perf_counter() - start
        options = scenario.solver
        solution: Solution = self.runner.run(time_limit if time_limit is not None else options.time_limit,
                                             mip_gap if mip_gap is not None else options.mip_gap)
        start = time.perf_counter()
        if solution.status in (Status.OPTIMAL, Status.FEASIBLE):
            view = self._view(new)
            if tables:
                saved, self.model.data = self.model.data, view
                try:
                    plan = tabulate(self.model, solution)
                finally:
                    self.model.data = saved
            else:
                if self._summarizer is None:
                    self._summarizer = Summarizer(self.model)
                plan = Plan(scenario, solution.status, self._summarizer.summary(solution, view))
        else:
            summary = dict.fromkeys(SUMMARY_KEYS)
            summary.update(scenario=scenario.scenario, status=str(solution.status), solver="highs",
                           solve_seconds=solution.seconds)
            plan = Plan(scenario, solution.status, summary)
        plan.timings = {"patch": patch_seconds, "solve": solution.seconds, "tabulate": time.perf_counter() - start}
        return plan
