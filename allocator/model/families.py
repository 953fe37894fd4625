"""Constraint families 6-12: budget and reserve, growth floors, potential, revenue floor,
ROI floors and share policies (``model.md``). One function per family."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from allocator.model.kinds import GE, LE, RowKind
from allocator.model.response import cell_label

if TYPE_CHECKING:
    from allocator.model.build import PlanningModel, Terms


def _terms(*parts):
    from allocator.model.build import terms

    return terms(*parts)


def _combined(*parts):
    from allocator.model.build import combine, terms

    return combine(terms(*parts))


def _one(col: int, coef: float = 1.0):
    return np.array([col], dtype=np.int64), np.array([coef])


def add_budget_and_reserve(model: PlanningModel) -> None:
    """Families 6 and 7: ``sum x + P + Z <= B`` and ``z_min B <= Z <= z_max B``."""
    data, unit = model.data, model.unit
    low, high = data.reserve
    total = data.budget / unit
    model.reserve = z = model.var()
    ext = model.budget_extension
    # with an open budget extension (diagnosis) the reserve keeps its share of the larger budget
    extra = [_one(ext, -1.0)] if ext is not None else []
    spend = model.spend_terms(model.segments)
    people = model.people_terms(model.people_cost_terms)
    for u in data.unlocked:  # budget.unlocks: w <= amount more, spent in its regions from now on (docs/replan.md)
        w = model.var(0.0, u.amount / unit)
        extra.append(_one(w, -1.0))
        keys = [k for k in model.revenue if k[0] in u.regions and not data.is_past(k[2])]  # spent from now on
        staff = [k for k in model.people_cost_terms if k[0] in u.regions and not data.is_past(k[1])]
        own = _terms(model.spend_terms(keys), model.people_terms(staff))
        model.add_row(RowKind.UNLOCK, (u.entry,), f"unlock[{u.entry}]", _terms(own, _one(w, -1.0)), GE, 0.0, unit,
                      regions=u.regions, amount=u.amount)
    model.add_row(RowKind.BUDGET, (), "budget", _terms(spend, people, _one(z), *extra), LE, total, unit)
    for side, share, sense in (("min", low, GE), ("max", high, LE)):
        t = _terms(_one(z), *[_one(ext, -share)] if ext is not None else [])
        model.add_row(RowKind.RESERVE, (side,), f"reserve_{side}", t, sense, share * total, unit, share=share)


def add_growth_floors(model: PlanningModel) -> None:
    """Family 8: ``sum_ct y_rct >= (1 + g_r) LY_r`` per region with a floor."""
    data, unit = model.data, model.unit
    by_region = _revenue_by_region(model)
    for region, g in data.growth_floor.items():
        floor = (1 + g) * data.last_year[region]
        keys = by_region.get(region, [])
        model.add_row(RowKind.GROWTH_FLOOR, (region,), f"growth_floor[{region}]", model.revenue_terms(keys), GE,
                      floor / unit, unit, size=max(floor, 1.0), region=region, growth=g, floor=floor)


def _revenue_by_region(model) -> dict[str, list]:
    keys: dict[str, list] = {}
    for k in model.revenue:
        keys.setdefault(k[0], []).append(k)
    return keys


def add_potential(model: PlanningModel) -> None:
    """Family 9: ``sum_ct y_rct <= POT_r``."""
    unit = model.unit
    by_region = _revenue_by_region(model)
    for region, cap in model.data.potential.items():
        keys = by_region.get(region, [])
        model.add_row(RowKind.POTENTIAL, (region,), f"potential[{region}]", model.revenue_terms(keys), LE,
                      cap / unit, unit)


def add_revenue_floor(model: PlanningModel) -> None:
    """Family 10: ``sum y >= T_rev``."""
    target = model.data.revenue_target
    if target is None:
        return
    t = model.revenue_terms(model.revenue)
    model.add_row(RowKind.REVENUE_FLOOR, (), "revenue_floor", t, GE, target / model.unit, model.unit,
                  size=max(target, 1.0), floor=target)


def add_roi_floors(model: PlanningModel) -> None:
    """Family 11: ``m sum u >= (1 + rho) sum x`` per cell with ``min_roi`` and per channel."""
    data = model.data
    for cell in data.cells:
        if cell.min_roi is not None:
            keys = [(cell.region, cell.channel, t) for t in data.periods]
            _roi_row(model, (cell.region, cell.channel), cell_label(cell.region, cell.channel), keys,
                     cell.min_roi, cell.hi)
    for channel, rho in data.channel_roi.items():
        keys = [k for k in model.revenue if k[1] == channel]
        reach = sum(c.hi for c in data.cells if c.channel == channel)
        _roi_row(model, (channel,), channel, keys, rho, min(reach, data.budget))


def _roi_row(model, coords: tuple, target: str, keys, rho: float, reach: float) -> None:
    """The ROI floor of ``target`` (a cell label or a channel id) over ``keys``."""
    margin = model.data.margin
    cols, lift = model.lift_terms(keys, lambda key: margin[key[:2]])  # the segments, on effective spend
    spend = model.spend_terms(keys)
    if model.spend_cols and any(k in model.spend_cols for k in keys):  # carryover: spend has its own columns
        t = _combined((cols, lift), (spend[0], spend[1] * -(1 + rho)))
    else:  # the same columns, in the same order
        t = (cols, lift - (1 + rho))
    model.add_row(RowKind.MIN_ROI, coords, f"min_roi[{target}]", t, GE, 0.0, model.unit,
                  size=max(reach * (1 + rho), 1.0), roi=rho, target=target)


def add_policies(model: PlanningModel) -> None:
    """Family 12: ``min Q(base) <= Q(F) <= max Q(base)`` for each share policy."""
    data = model.data
    for policy in data.policies:
        part, scale = quantity(model, policy.share, policy.where)
        base, _ = quantity(model, policy.share, policy.of)
        size = max(1.0, _heads(model)) if policy.share == "headcount" else data.budget
        for bound, sense, label in ((policy.min, GE, "min"), (policy.max, LE, "max")):
            if bound is None:
                continue
            t = _combined(part, (base[0], base[1] * -bound))
            model.add_row(RowKind.POLICY, (policy.name, label), f"policy[{policy.name}].{label}", t, sense, 0.0,
                          scale, size=size, policy=policy.name, bound=bound, side=label, quantity=policy.share)


def quantity(model: PlanningModel, name: str, flt) -> tuple[Terms, float]:
    """Terms of Q(F) in model units and the row scale (currency per model unit, or 1 for heads)."""
    data = model.data
    classes = tuple(data.region_class.items())
    if name in ("marketing_spend", "revenue"):
        # what a filter selects depends on the cells only: kept with the response block for updates
        cached = model.filter_cache.get((name, repr(flt), classes))
        if cached is None:
            keys = [k for k in model.revenue if data.matches(flt, k[0], k[2], k[1])]
            cached = model.spend_terms(keys) if name == "marketing_spend" else model.revenue_terms(keys)
            model.filter_cache[(name, repr(flt), classes)] = cached
        return cached, model.unit
    keys = [k for k in model.people_cost_terms if data.matches(flt, k[0], k[1])]
    if name == "people_cost":
        return model.people_terms(keys), model.unit
    cols = np.array([model.core[k] for k in keys], dtype=np.int64)
    return (cols, np.array([data.length[k[1]] for k in keys], dtype=float)), 1.0


def _heads(model) -> float:
    sf = model.data.staffing
    return float(sum(sf.current.values())) if sf is not None else 1.0


def add_change_limits(model: PlanningModel) -> None:
    """Family 12b: ``(1 - d) R_rct <= x_rct <= (1 + i) R_rct`` per change limit and matching cell-period
    (``reallocation.limits``; ``R`` the reference plan's spend, ``allocator/replanning/rules.py``)."""
    unit = model.unit
    for b in model.data.change_bounds:
        key = (b.region, b.channel, b.period)
        t = model.spend_terms([key])
        label = f"{cell_label(b.region, b.channel)},{b.period}"
        for bound, sense, side in ((b.low, GE, "min"), (b.high, LE, "max")):
            if bound is None:
                continue
            model.add_row(RowKind.CHANGE_LIMIT, (b.entry, side, *key), f"change_limit[{b.entry}].{side}[{label}]", t,
                          sense, bound / unit, unit, size=max(b.reference, 1.0), cell=cell_label(b.region, b.channel),
                          period=b.period, reference=b.reference)
