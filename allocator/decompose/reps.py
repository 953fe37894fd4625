"""Rep quotas: each region's period target shared over its roster.

For one region and period:

1. a rep's *availability* is the share of the period's day weight that falls between the rep's
   ``start`` and ``end``, each day scaled by the ramp (``ramp: [25%, 50%, 75%]`` is the
   productivity in the starter's first, second and third month, 100% after);
2. the rep's *capacity* is ``capacity`` (per plan horizon, like ``sales_force.revenue_capacity``)
   times the period's length, or ``period_capacity``, times availability;
3. the target is shared in proportion to ``multiplier x availability``; a rep whose share would
   pass their capacity is capped there and the excess re-spread over the others (water-filling);
   if every rep is capped before the target is covered, the region cannot carry its target;
4. with ``stretch: 10%``, the capped shares are scaled to (1 + 10%) x the target and rounded by
   largest remainder, so the quotas sum exactly to the stretched target.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from allocator.decompose.config import Reps
from allocator.decompose.rounding import split
from allocator.scenario.amounts import format_amount

TOLERANCE_UNITS = 2  # rounding the targets top-down may move a period by a unit or two
COLUMNS = ["rep", "region", "tier", "period", "multiplier", "availability", "capacity", "quota"]


@dataclass(frozen=True)
class Shortfall:
    region: str
    period: str
    target: float
    capacity: float
    full_capacity: float  # what one fully available rep carries in the period

    @property
    def short(self) -> float:
        return self.target - self.capacity


def months_since(start, dates: pd.Series) -> np.ndarray:
    """Whole months from ``start`` to each date (0 in the first month, -1 before the start)."""
    d = pd.DatetimeIndex(pd.to_datetime(dates))
    months = (d.year - start.year) * 12 + (d.month - start.month) - (d.day < start.day).astype(int)
    return np.asarray(months)


def ramp_factor(months: np.ndarray, ramp: tuple[float, ...]) -> np.ndarray:
    if not ramp:
        return np.ones(len(months))
    table = np.asarray(ramp, dtype=float)
    inside = (months >= 0) & (months < len(table))
    return np.where(inside, table[np.clip(months, 0, len(table) - 1)], 1.0)


def availability(roster: pd.DataFrame, days: pd.DataFrame, cfg: Reps) -> pd.DataFrame:
    """``rep, period, availability``: the weighted share of each period a rep sells in."""
    ramping = set(cfg.multipliers if cfg.ramp_tiers is None else cfg.ramp_tiers)
    dates = pd.to_datetime(days["date"])
    period_weight = days.groupby("period", sort=False)["weight"].sum()
    rows = []
    for rep in roster.itertuples(index=False):
        active = np.ones(len(days), dtype=bool)
        factor = np.ones(len(days))
        if rep.start is not None and not pd.isna(rep.start):
            active &= (dates >= pd.Timestamp(rep.start)).to_numpy()
            if rep.tier in ramping:
                factor = ramp_factor(months_since(rep.start, days["date"]), cfg.ramp)
        if rep.end is not None and not pd.isna(rep.end):
            active &= (dates <= pd.Timestamp(rep.end)).to_numpy()
        effective = pd.Series(days["weight"].to_numpy() * active * factor).groupby(days["period"].to_numpy(), sort=False).sum()
        for period, weight in period_weight.items():
            rows.append((rep.rep, period, float(effective.get(period, 0.0)) / weight if weight > 0 else 0.0))
    return pd.DataFrame(rows, columns=["rep", "period", "availability"])


def capped_split(total: float, weights: np.ndarray, caps: np.ndarray) -> tuple[np.ndarray, float]:
    """``total`` in proportion to ``weights`` with no one above ``caps``; returns (shares, what is left).

    >>> shares, left = capped_split(100.0, np.array([1.0, 1.0]), np.array([30.0, 100.0]))
    >>> shares.tolist(), left
    ([30.0, 70.0], 0.0)
    """
    shares = np.zeros(len(weights))
    free = (weights > 0) & (caps > 0)
    left = float(total)
    while left > 1e-9 * max(1.0, total) and free.any():
        proposal = np.where(free, left * weights / weights[free].sum(), 0.0)
        over = free & (proposal > caps)
        if not over.any():
            shares[free] = proposal[free]
            return shares, 0.0
        shares[over] = caps[over]
        left -= float(caps[over].sum())
        free &= ~over
    return shares, max(0.0, left)


def rep_units(region_units: pd.DataFrame, roster: pd.DataFrame, avail: pd.DataFrame, lengths: dict[str, float],
              cfg: Reps, unit: float) -> tuple[pd.DataFrame, list[Shortfall]]:
    """Quota units of every rep in every period, and the (region, period)s the roster cannot carry."""
    merged = roster.merge(avail, on="rep", how="inner", sort=False)
    merged["multiplier"] = merged["tier"].map(cfg.multipliers).astype(float)
    full = np.where(merged["period_capacity"].notna(), merged["period_capacity"],
                    merged["capacity"] * merged["period"].map(lengths))
    merged["full_capacity"] = full
    merged["capacity"] = full * merged["availability"]
    groups = merged.groupby(["region", "period"], sort=False).indices
    merged["units"] = 0
    rows_out = np.zeros(len(merged), dtype=np.int64)
    shortfalls = []
    for item in region_units.itertuples(index=False):
        rows = groups.get((item.region, item.period))
        target = int(item.units) * unit
        if rows is None:
            if item.units:
                shortfalls.append(Shortfall(item.region, item.period, target, 0.0, float("nan")))
            continue
        part = merged.iloc[rows]
        weights = (part["multiplier"] * part["availability"]).to_numpy()
        shares, left = capped_split(target, weights, part["capacity"].to_numpy())
        if left > TOLERANCE_UNITS * unit:
            shortfalls.append(Shortfall(item.region, item.period, target, float(part["capacity"].sum()),
                                        float(part["full_capacity"].median())))
            continue
        stretched = int(round(int(item.units) * (1.0 + cfg.stretch)))
        rows_out[rows] = split(stretched, shares) if stretched else 0
    merged["units"] = rows_out
    return merged, shortfalls


def shortfall_messages(shortfalls: list[Shortfall], headcount: pd.DataFrame | None) -> list[str]:
    """One message per region: its periods short, the worst gap, and what the plan staffed there."""
    messages = []
    by_region: dict[str, list[Shortfall]] = {}
    for s in shortfalls:
        by_region.setdefault(s.region, []).append(s)
    for region, items in by_region.items():
        worst = max(items, key=lambda s: s.short)
        if not math.isfinite(worst.full_capacity):
            periods = ", ".join(s.period for s in items)
            messages.append(f"region {region} has no reps in the roster but targets in {periods} "
                            f"(up to {format_amount(worst.target)})")
            continue
        text = (f"region {region} cannot carry its target in {worst.period}: its reps can carry "
                f"{format_amount(worst.capacity)} against a target of {format_amount(worst.target)}, "
                f"short by {format_amount(worst.short)}")
        if worst.full_capacity > 0:
            more = math.ceil(worst.short / worst.full_capacity - 1e-9)
            text += f" (about {more} more rep{'s' if more > 1 else ''} at {format_amount(worst.full_capacity)} each)"
        staffed = _staffed(headcount, region, worst.period)
        if staffed:
            text += f"; the plan staffs {worst.period} with {staffed} (headcount.csv)"
        if len(items) > 1:
            text += f"; also short in {', '.join(s.period for s in items if s is not worst)}"
        messages.append(text)
    return messages


def _staffed(headcount: pd.DataFrame | None, region: str, period: str) -> str:
    if headcount is None or headcount.empty:
        return ""
    row = headcount[(headcount["region"].astype(str) == region) & (headcount["period"].astype(str) == period)]
    if row.empty:
        return ""
    core, temp = int(row["core"].iloc[0]), int(row["temp"].iloc[0])
    return f"{core} core + {temp} temporary reps" if temp else f"{core} reps"
