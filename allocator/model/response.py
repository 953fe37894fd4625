"""Constraint families 1 and 2: response curves per cell and period, and annual spend bounds.

A cell's period curve is the annual one scaled by seasonality, ``f_t(x) = s_t f(x / s_t)``.
Its interpolant is built from segment columns ``d_k`` (spend in segment k, with slope
``g_k``): spend is ``sum d_k`` and lift ``sum g_k d_k``. Segments fall into concave runs (slopes
that do not rise); where the slope rises (S-shaped curves, non-concave points), one binary per
run gates it until the run before is full, so the solver finds the global optimum of the
interpolated model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from allocator.model import carryover
from allocator.model.curves import Breakpoints, breakpoints, concave, overestimate
from allocator.model.kinds import EQ, GE, LE, RowKind

if TYPE_CHECKING:
    from allocator.model.build import PlanningModel
    from allocator.model.data import Cell, PlanningData


# Period curves reach past the annual bound so that the bound is always the `spend_max` row,
# never a segment's column bound: its shadow price then lands on the row that names it.
REACH = 1.25


def cell_label(region: str, channel: str) -> str:
    return f"{region}/{channel}"


def curve_hi(cell) -> float:
    """The annual spend the cell's breakpoints are built for: its bound, or a sweep's ceiling."""
    return cell.hi if cell.curve_hi is None else cell.curve_hi


def cell_breakpoints(model: PlanningModel, cell: Cell, period: str, shortest: float | None = None) -> Breakpoints | None:
    """Breakpoints of one cell in one period (``None`` when it cannot spend). ``shortest`` is the
    smallest positive seasonality (computed when not given)."""
    data = model.data
    season = data.season[period]
    if shortest is None:
        shortest = min(s for s in data.season.values() if s > 0)
    annual, far = _annual(data, cell, shortest)
    if annual is None or season <= 0:
        return None
    return _period(annual, far, season)


def annual_breakpoints(data, cell, shortest: float | None = None) -> Breakpoints | None:
    """A cell's annual-curve breakpoints, shared by its periods (``None`` when it cannot spend)."""
    if shortest is None:
        shortest = min(s for s in data.season.values() if s > 0)
    return _annual(data, cell, shortest)[0]


def _annual(data, cell, shortest: float | None) -> tuple[Breakpoints | None, float]:
    """The cell's annual breakpoints, reaching far enough for its shortest period, with the
    exact-curve refinement's extra points, raised onto an upper envelope in the certificate model
    (``allocator/exact.py``)."""
    hi = curve_hi(cell)
    if hi <= 0 or shortest is None:
        return None, 0.0
    far = _far(data, cell)
    annual = breakpoints(cell.curve, hi, far / shortest, data.tolerance)
    extra = data.extra_points.get((cell.region, cell.channel))
    if extra:
        annual = annual.with_points(cell.curve, extra)
    if data.overestimate:
        annual = overestimate(cell.curve, annual)
    return annual, far


def _far(data, cell) -> float:
    """The most a period's curve must reach (currency): past the annual bound; with carryover, past
    the spend before the horizon too (the effective spend of an early period can be that high)."""
    far = REACH * curve_hi(cell) * (data.reach_scale if cell.follows_budget else 1.0)
    if cell.carryover and cell.prior_spend:
        far = max(far, REACH * max(cell.prior_spend))
    return far


def carries(cell) -> bool:
    """Whether the cell has carryover: its spend is a column per period, its segments hold the
    effective spend (``allocator/model/carryover.py``)."""
    return bool(cell.carryover) and curve_hi(cell) > 0


def _period(annual: Breakpoints, far: float, season: float) -> Breakpoints:
    """A period's curve ``s f(x / s)``: the annual breakpoints below its reach, then the reach."""
    reach = far / season
    n = int(np.searchsorted(annual.spend, reach))  # breakpoints below the reach (they ascend)
    xs = np.empty(n + 1)
    xs[:n], xs[n] = annual.spend[:n], reach
    return Breakpoints(xs * season, annual.interpolate(xs) * season)


def _breakpoint_inputs(model, data) -> tuple:
    """Everything the response block's columns and matrix are made of (not its right-hand sides)."""
    cells = tuple((c.region, c.channel, c.curve, curve_hi(c), c.follows_budget, c.carryover,
                   _far(data, c) if carries(c) else None) for c in data.cells)
    refinement = (tuple(sorted(data.extra_points.items())), data.overestimate)
    past = data.past.periods if data.past is not None else ()  # their rows carry a surprise column
    # the refinement's breakpoints last: ``restructure.refinement_only`` compares everything before them
    return (cells, data.periods, tuple(data.season.items()), data.tolerance, data.reach_scale, model.unit, past,
            refinement)


def breakpoint_difference(model: PlanningModel, data: PlanningData) -> str | None:
    """Why ``data``'s breakpoints differ from those ``model`` was built with (``None``: the same)."""
    new = _breakpoint_inputs(model, data)
    old = model.response_key
    if old == new:
        return None
    if old[-2] != new[-2]:
        return "the re-plan's past periods"
    if old[1:] != new[1:]:
        if old[1:-1] == new[1:-1]:
            return "new breakpoints (exact-curve refinement)"
        return "periods, seasonality, pwl_tolerance or the money scale"
    if len(old[0]) != len(new[0]):
        return "the response cells"
    for a, b in zip(old[0], new[0]):
        if a != b:
            what = "carryover" if a[:5] == b[:5] else "spend ceiling" if a[:3] == b[:3] else "curve"
            return f"response[{cell_label(b[0], b[1])}] {what}"
    return "the response cells"


def add_response(model: PlanningModel, reuse: PlanningModel | None = None) -> None:
    """Family 1: ``u <= f_t(x)`` through segments, ``y <= b_t + u`` per cell and period."""
    data, unit = model.data, model.unit
    key = _breakpoint_inputs(model, data)
    start = (model.nrows, model.ncols)
    if reuse is not None and reuse.response_key == key and reuse.blocks["response"][::2] == start:
        model.copy_block(reuse, "response")
        model.segments, model.revenue, model.response_rows = reuse.segments, reuse.revenue, reuse.response_rows
        model.breakpoints, model.cell_segments = reuse.breakpoints, reuse.cell_segments
        model.filter_cache = reuse.filter_cache
        model.spend_cols, model.adstock_rows = reuse.spend_cols, reuse.adstock_rows
        model.cell_spend, model.spend_all = reuse.cell_spend, reuse.spend_all
        rhs, rows = model.rhs, iter(model.response_rows.values())  # cell by cell, period by period
        for cell in data.cells:  # the right-hand sides (base revenue, prior spend) are the only numbers left
            for t, period in enumerate(data.periods):
                k = (cell.region, cell.channel, period)
                bp = model.breakpoints[k]
                offset = float(bp.lift[0]) / unit if bp is not None and bp.lift[0] > 0 else 0.0
                rhs[next(rows)] = data.season[period] * cell.base / unit + offset
                if k in model.adstock_rows:
                    rhs[model.adstock_rows[k]] = carryover.prior_part(cell.carryover, cell.prior_spend, t) / unit
        model.response_key = key
        return
    positive = [s for s in data.season.values() if s > 0]
    shortest = min(positive) if positive else None
    periods = data.periods
    seasons = [data.season[p] for p in periods]  # read once: the cells below repeat them
    past = [data.is_past(p) for p in periods]
    for cell in data.cells:
        region, channel, curve, cell_base = cell.region, cell.channel, cell.curve, cell.base
        label = cell_label(region, channel)
        annual, far = _annual(data, cell, shortest)
        gated_curve = not concave(curve)
        for period, season, is_past in zip(periods, seasons, past):
            k = (region, channel, period)
            bp = model.breakpoints[k] = None if annual is None or season <= 0 else _period(annual, far, season)
            if bp is None:
                cols, slopes, y = np.zeros(0, dtype=np.int64), np.zeros(0), model.var()
            else:
                widths = np.diff(bp.spend)
                slopes = np.diff(bp.lift) / widths
                lengths = widths / unit
                # not concave: gate its runs (a concave curve's interpolant is concave; slopes that
                # rise by rounding on tiny refined segments are not a reason for binaries)
                if len(slopes) > 1 and gated_curve and (slopes[1:] > slopes[:-1]).any():
                    cols = model.vars(len(lengths), 0.0, lengths)
                    runs = bp.concave_runs()
                    for before, run in zip(runs, runs[1:]):
                        _gate(model, cols, lengths, before, run)
                    y = model.var()
                else:  # the segments and the revenue column in one go
                    high = np.empty(len(lengths) + 1)
                    high[:-1], high[-1] = lengths, np.inf
                    both = model.vars(len(lengths) + 1, 0.0, high)
                    cols, y = both[:-1], int(both[-1])
            model.segments[k] = (cols, slopes)
            model.revenue[k] = y
            base = season * cell_base / unit
            if bp is not None and bp.lift[0] > 0:  # a raised envelope may start above 0
                base += float(bp.lift[0]) / unit
            n = len(cols)
            row_cols = np.empty(n + 1 + is_past, dtype=np.int64)
            row_vals = np.empty(n + 1 + is_past)
            row_cols[0], row_cols[1:n + 1] = y, cols
            row_vals[0], row_vals[1:n + 1] = 1.0, -slopes
            if is_past:  # its revenue is the actual one: ``y = b + u + surprise``, never binding
                row_cols[-1], row_vals[-1] = model.var(-np.inf, np.inf), -1.0
            model.response_rows[k] = model.add_row(RowKind.RESPONSE, k, f"response[{label},{period}]",
                                                   (row_cols, row_vals), LE, base, unit, region=region, period=period)
        cell_cols = [model.segments[(cell.region, cell.channel, p)][0] for p in data.periods]
        model.cell_segments[(cell.region, cell.channel)] = np.concatenate(cell_cols) if cell_cols else cols[:0]
        spend = model.cell_segments[(cell.region, cell.channel)]
        if carries(cell):
            spend = add_adstock(model, cell, _far(data, cell))
        model.cell_spend[(cell.region, cell.channel)] = spend
    parts = list(model.cell_spend.values())
    model.spend_all = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
    model.response_key = key


def add_adstock(model: PlanningModel, cell: Cell, far: float) -> np.ndarray:
    """Carryover of one cell: a spend column ``x_t`` per period (at most a period's reach, like a
    period's segments) and, per period with a curve, ``sum_j d_tj - sum_k w_k x_{t-k} = prior part``:
    the segments hold the effective spend. Returns the spend columns, period by period."""
    data, unit = model.data, model.unit
    label = cell_label(cell.region, cell.channel)
    x = model.vars(len(data.periods), 0.0, far / unit)
    w = np.asarray(cell.carryover)
    for t, period in enumerate(data.periods):
        k = (cell.region, cell.channel, period)
        model.spend_cols[k] = int(x[t])
        segs = model.segments[k][0]
        if model.breakpoints[k] is None:
            continue  # no curve this period: its spend works only later
        lags = np.arange(min(t, len(w) - 1) + 1)
        row = (np.concatenate([segs, x[t - lags]]), np.concatenate([np.ones(len(segs)), -w[lags]]))
        rhs = carryover.prior_part(cell.carryover, cell.prior_spend, t) / unit
        model.adstock_rows[k] = model.add_row(RowKind.ADSTOCK, k, f"adstock[{label},{period}]", row, EQ, rhs, unit,
                                              region=cell.region, period=period)
    return x


def revenue_bounds(model: PlanningModel, matrix, lb: np.ndarray, ub: np.ndarray, row_hi: np.ndarray) -> np.ndarray:
    """Upper bounds on the revenue columns that their response rows imply (``inf`` elsewhere):
    ``a_y y + sum a_j x_j <= b`` gives ``y <= (b - sum min a_j x_j) / a_y`` over the other
    columns' ranges (every segment full where its slope is positive: base plus the curve's top).
    Valid for every plan, whatever else a family puts in the row; read from the assembled arrays."""
    bound = np.full(len(ub), np.inf)
    keys = [k for k in model.response_rows if k in model.revenue]
    if not keys:
        return bound
    rows = np.array([model.response_rows[k] for k in keys], dtype=np.int64)
    ys = np.array([model.revenue[k] for k in keys], dtype=np.int64)
    sub = matrix[rows]
    which = np.repeat(np.arange(len(rows)), np.diff(sub.indptr))
    cols, a = sub.indices, sub.data
    mine = cols == ys[which]
    with np.errstate(invalid="ignore"):  # a column fixed at an infinite end does not occur
        most = np.where(a == 0, 0.0, np.maximum(-a * lb[cols], -a * ub[cols]))  # the most room a column leaves
    room = np.bincount(which[~mine], weights=most[~mine], minlength=len(rows))
    own = np.zeros(len(rows))
    own[which[mine]] = a[mine]
    ok = own > 0
    bound[ys[ok]] = (row_hi[rows[ok]] + room[ok]) / own[ok]
    return bound


def _gate(model, cols, lengths, before: range, run: range) -> None:
    """A run of segments may fill only once every segment of the run before it is full:
    ``d_j >= w_j g`` for j in ``before``, ``d_j <= w_j g`` for j in ``run``, ``g`` binary."""
    g = model.var(0.0, 1.0, integer=True)
    for sense, js in ((GE, before), (LE, run)):
        for j in js:
            t = (np.array([cols[j], g], dtype=np.int64), np.array([1.0, -float(lengths[j])]))
            model.add_row(RowKind.CURVE_ORDER, (int(cols[j]), int(sense)), "curve_order", t, sense, 0.0, model.unit)


def add_spend_bounds(model: PlanningModel) -> None:
    """Family 2: ``lo <= sum_t x <= hi`` per cell."""
    data, unit = model.data, model.unit
    for cell in data.cells:
        cols = model.cell_spend[(cell.region, cell.channel)]
        t = (cols, np.ones(len(cols)))
        label = cell_label(cell.region, cell.channel)
        coords = (cell.region, cell.channel)
        if cell.lo > 0:
            model.add_row(RowKind.SPEND_MIN, coords, f"spend_min[{label}]", t, GE, cell.lo / unit, unit,
                          size=cell.lo, cell=label)
        if len(t[0]):
            if cell.follows_budget and model.budget_extension is not None:
                t = (np.append(t[0], model.budget_extension), np.append(t[1], -1.0))
            model.add_row(RowKind.SPEND_MAX, coords, f"spend_max[{label}]", t, LE, cell.hi / unit, unit,
                          cell=label, follows_budget=cell.follows_budget)


def add_period_spend_bounds(model: PlanningModel) -> None:
    """Family 2b: ``lo_t <= x_rct <= hi_t`` for the periods a cell's ``spend.periods`` names
    (through ``spend_terms``; none in a re-plan's periods that are over: they spent what they spent)."""
    data, unit = model.data, model.unit
    for cell in data.cells:
        for period, lo, hi in cell.period_bounds:
            if data.is_past(period):
                continue
            key = (cell.region, cell.channel, period)
            t = model.spend_terms([key])
            label = f"{cell_label(cell.region, cell.channel)},{period}"
            if lo > 0:
                model.add_row(RowKind.PERIOD_SPEND_MIN, key, f"period_spend_min[{label}]", t, GE, lo / unit, unit,
                              size=lo, cell=cell_label(cell.region, cell.channel), period=period)
            if hi is not None:
                model.add_row(RowKind.PERIOD_SPEND_MAX, key, f"period_spend_max[{label}]", t, LE, hi / unit, unit,
                              cell=cell_label(cell.region, cell.channel), period=period)
