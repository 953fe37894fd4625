"""Constraint families 1 and 2: response curves per cell and period, and annual spend bounds.

A cell's period curve is the annual one scaled by seasonality, ``f_t(x) = s_t f(x / s_t)``.
Its interpolant is built from segment variables ``d_k`` (spend in segment k, with slope
``g_k``): spend is ``sum d_k`` and lift ``sum g_k d_k``. Segments fall into concave runs (slopes
that do not rise); where the slope rises (S-shaped curves, non-concave points), one binary per
run gates it until the run before is full, so the solver finds the global optimum of the
interpolated model.
"""

from __future__ import annotations

import numpy as np

from allocator.model.curves import Breakpoints, breakpoints, overestimate

LE, GE = -1, 1
# Period curves reach past the annual bound so that the bound is always the `spend_max` row,
# never a segment's column bound: its shadow price then lands on the row that names it.
REACH = 1.25


def cell_label(region: str, channel: str) -> str:
    return f"{region}/{channel}"


def cell_breakpoints(model, cell, period: str) -> Breakpoints | None:
    """Breakpoints of one cell in one period (``None`` when it cannot spend)."""
    data = model.data
    season = data.season[period]
    if season <= 0 or cell.hi <= 0:
        return None
    annual = annual_breakpoints(data, cell)
    far = REACH * cell.hi * (data.reach_scale if cell.follows_budget else 1.0)
    reach = far / season
    keep = annual.spend < reach
    xs = np.append(annual.spend[keep], reach)
    return Breakpoints(xs * season, annual.interpolate(xs) * season)


def annual_breakpoints(data, cell) -> Breakpoints:
    """A cell's annual-curve breakpoints, shared by its periods: far enough for the period with
    the least seasonality, with the refinement's extra points, raised in the certificate model."""
    shortest = min(s for s in data.season.values() if s > 0)
    far = REACH * cell.hi * (data.reach_scale if cell.follows_budget else 1.0)
    annual = breakpoints(cell.curve, cell.hi, far / shortest, data.tolerance)
    extra = data.extra_points.get((cell.region, cell.channel))
    if extra:
        annual = annual.with_points(cell.curve, extra)
    if data.overestimate:
        annual = overestimate(cell.curve, annual)
    return annual


def add_response(model) -> None:
    """Family 1: ``u <= f_t(x)`` through segments, ``y <= b_t + u`` per cell and period."""
    data, unit = model.data, model.unit
    for cell in data.cells:
        for period in data.periods:
            key = (cell.region, cell.channel, period)
            bp = cell_breakpoints(model, cell, period)
            segments = []
            if bp is not None:
                lengths = np.diff(bp.spend) / unit
                slopes = bp.slopes
                segments = [(model.var(0.0, float(w)), float(g)) for w, g in zip(lengths, slopes)]
                runs = bp.concave_runs()
                for before, run in zip(runs, runs[1:]):
                    _gate(model, segments, lengths, before, run)
            model.segments[key] = segments
            y = model.var()
            model.revenue[key] = y
            base = data.season[period] * cell.base / unit
            if bp is not None and bp.lift[0] > 0:  # a raised envelope may start above 0
                base += float(bp.lift[0]) / unit
            terms = [(y, 1.0)] + [(v, -g) for v, g in segments]
            label = f"response[{cell_label(cell.region, cell.channel)},{period}]"
            model.add_row(label, "response", terms, LE, base, model.unit, region=cell.region, period=period)


def _gate(model, segments, lengths, before: range, run: range) -> None:
    """A run of segments may fill only once every segment of the run before it is full:
    ``d_j >= w_j g`` for j in ``before``, ``d_j <= w_j g`` for j in ``run``, ``g`` binary."""
    g = model.var(0.0, 1.0, integer=True)
    for j in before:
        model.add_row("curve_order", "curve_order", [(segments[j][0], 1.0), (g, -float(lengths[j]))], GE, 0.0, model.unit)
    for j in run:
        model.add_row("curve_order", "curve_order", [(segments[j][0], 1.0), (g, -float(lengths[j]))], LE, 0.0, model.unit)


def add_spend_bounds(model) -> None:
    """Family 2: ``lo <= sum_t x <= hi`` per cell."""
    data, unit = model.data, model.unit
    for cell in data.cells:
        keys = [(cell.region, cell.channel, t) for t in data.periods]
        terms = model.spend_terms(keys)
        label = cell_label(cell.region, cell.channel)
        if cell.lo > 0:
            model.add_row(f"spend_min[{label}]", "spend_min", terms, GE, cell.lo / unit, unit, size=cell.lo, cell=label)
        if terms:
            grow = cell.follows_budget and model.budget_extension is not None
            extra = [(model.budget_extension, -1.0)] if grow else []
            model.add_row(f"spend_max[{label}]", "spend_max", terms + extra, LE, cell.hi / unit, unit,
                          cell=label, follows_budget=cell.follows_budget)
