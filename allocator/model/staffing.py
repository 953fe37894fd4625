"""Constraint families 3-5: headcount flow, sales capacity, people cost and the temp-staff share."""

from __future__ import annotations

LE, GE, EQ = -1, 1, 0


def add_staffing(model) -> None:
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
        for period in data.periods:
            key = (region, period)
            h = model.var(integer=True)
            n = model.var()  # integer through the flow equation
            model.core[key], model.hires[key] = h, n
            flow = [(h, 1.0), (n, -1.0)] + ([(previous, -1.0)] if previous is not None else [])
            if sf.allow_release:
                model.releases[key] = o = model.var()
                flow.append((o, 1.0))
            start = float(sf.current[region]) if previous is None else 0.0
            model.add_row(f"headcount_flow[{region},{period}]", "headcount_flow", flow, EQ, start, 1.0)
            limit = sf.max_hires[region]
            if limit is not None:
                model.add_row(f"hire_limit[{region},{period}]", "hire_limit", [(n, 1.0)], LE, float(limit), 1.0)
            capacity = [(h, -sf.capacity * data.length[period] / unit)]
            cost = [(h, sf.cost * data.length[period] / unit), (n, sf.hire_cost / unit)]
            if sf.allow_release:
                cost.append((model.releases[key], sf.release_cost / unit))
            if period in sf.temp_periods:
                model.temp[key] = e = model.var(integer=True)
                capacity.append((e, -sf.temp_capacity / unit))
                cost.append((e, sf.temp_cost / unit))
            model.people_cost_terms[key] = cost
            sold = [(model.revenue[(c.region, c.channel, period)], 1.0) for c in cells_of[region]]
            model.add_row(f"capacity[{region},{period}]", "capacity", sold + capacity, LE, 0.0, unit,
                          region=region, period=period)
            previous = h
    _add_temp_share(model)


def _add_temp_share(model) -> None:
    """Family 5: ``a * P <= sum k_tmp * e <= b * P``."""
    sf, unit = model.data.staffing, model.unit
    if sf.temp_share is None:
        return
    low, high = sf.temp_share
    people = model.people_terms(model.people_cost_terms)
    temp = [(e, sf.temp_cost / unit) for e in model.temp.values()]
    if low > 0:
        terms = temp + [(v, -low * c) for v, c in people]
        model.add_row("temp_share_min", "temp_share", terms, GE, 0.0, unit)
    if high < 1:
        terms = temp + [(v, -high * c) for v, c in people]
        model.add_row("temp_share_max", "temp_share", terms, LE, 0.0, unit)
