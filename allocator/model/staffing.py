"""Constraint families 3-5: headcount flow, sales capacity, people cost and the temp-staff share."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from allocator.model.kinds import EQ, GE, LE, RowKind

if TYPE_CHECKING:
    from allocator.model.build import PlanningModel


def _t(pairs) -> tuple[np.ndarray, np.ndarray]:
    return np.array([c for c, _ in pairs], dtype=np.int64), np.array([v for _, v in pairs], dtype=float)


def add_staffing(model: PlanningModel) -> None:
    """Core heads ``h``, hires ``n``, releases ``o`` and temp staff ``e`` per region and period.

    ``h_t = h_(t-1) + n_t - o_t`` from the current headcount; hires per period at most the limit;
    ``sum_c y <= kappa * l_t * h + kappa_tmp * e`` (family 3); people cost per (region, period)
    kept as terms for the budget, policies and the objective (family 4); temp share (family 5).
    """
    data, unit = model.data, model.unit
    sf = data.staffing
    if sf is None:
        return
    cells_of = {r: [c for c in data.cells if c.region == r] for r in data.regions}
    for region in data.regions:
        previous = None
        limit = sf.max_hires[region]
        for t, period in enumerate(data.periods):
            key = (region, period)
            over = data.is_past(period)  # its heads are the actuals: whatever the hire limit and releases
            # the bounds assume every period so far kept the hire limit and releases: not so for actuals
            h = model.var(*((0.0, None) if data.past is not None else _head_range(sf, region, t, limit)), integer=True)
            n = model.var()  # integer through the flow equation
            model.core[key], model.hires[key] = h, n
            flow = [(h, 1.0), (n, -1.0)] + ([(previous, -1.0)] if previous is not None else [])
            if sf.allow_release or over:
                model.releases[key] = o = model.var()
                flow.append((o, 1.0))
            start = float(sf.current[region]) if previous is None else 0.0
            model.add_row(RowKind.HEADCOUNT_FLOW, key, f"headcount_flow[{region},{period}]", _t(flow), EQ, start, 1.0)
            if limit is not None and not over:
                model.add_row(RowKind.HIRE_LIMIT, key, f"hire_limit[{region},{period}]", _t([(n, 1.0)]), LE,
                              float(limit), 1.0)
            capacity = [(h, -sf.capacity * data.length[period] / unit)]
            cost = [(h, sf.cost * data.length[period] / unit), (n, sf.hire_cost / unit)]
            if key in model.releases:
                cost.append((model.releases[key], sf.release_cost / unit))
            if period in sf.temp_periods:
                model.temp[key] = e = model.var(integer=True)
                capacity.append((e, -sf.temp_capacity / unit))
                cost.append((e, sf.temp_cost / unit))
            model.people_cost_terms[key] = _t(cost)
            model.capacity_terms[key] = _t(capacity)
            if not over:  # a period that is over sold what it sold (its heads are fixed)
                add_capacity(model, region, period, cells_of[region])
            previous = h
    _add_temp_share(model)


def add_capacity(model: PlanningModel, region: str, period: str, cells) -> None:
    """Family 3: ``sum_c y <= kappa * l_t * h + kappa_tmp * e`` for one region and period (the
    heads' terms kept by :func:`add_staffing`; a stochastic plan adds one row per sample)."""
    sold = [(model.revenue[(c.region, c.channel, period)], 1.0) for c in cells]
    cols, vals = model.capacity_terms[(region, period)]
    t = (np.concatenate([_t(sold)[0], cols]), np.concatenate([np.ones(len(sold)), vals]))
    model.add_row(RowKind.CAPACITY, (region, period), f"capacity[{region},{period}]", t, LE, 0.0, model.unit,
                  region=region, period=period)


def _head_range(sf, region: str, t: int, limit: int | None) -> tuple[float, float | None]:
    """Bounds on the core headcount of period ``t`` that every plan meets (``h_t`` is the current
    headcount plus hires less releases so far): at least the current one without releases, at
    most the current one plus ``t + 1`` periods of the hire limit. They cut the MIP's relaxation
    (``docs/performance.md``, column bounds) and change no plan."""
    current = float(sf.current[region])
    return (0.0 if sf.allow_release else current), (None if limit is None else current + (t + 1) * float(limit))


def _add_temp_share(model: PlanningModel) -> None:
    """Family 5: ``a * P <= sum k_tmp * e <= b * P``."""
    from allocator.model.build import combine

    sf, unit = model.data.staffing, model.unit
    if sf.temp_share is None:
        return
    low, high = sf.temp_share
    people_cols, people_vals = model.people_terms(model.people_cost_terms)
    temp_cols = np.fromiter(model.temp.values(), dtype=np.int64, count=len(model.temp))
    temp_vals = np.full(len(temp_cols), sf.temp_cost / unit)
    for bound, sense, side, active in ((low, GE, "min", low > 0), (high, LE, "max", high < 1)):
        if active:
            t = combine((np.concatenate([temp_cols, people_cols]), np.concatenate([temp_vals, -bound * people_vals])))
            model.add_row(RowKind.TEMP_SHARE, (side,), f"temp_share_{side}", t, sense, 0.0, unit)
