"""Largest-remainder rounding: children in whole units that sum exactly to their parent.

Every target is kept as an integer count of rounding units (``unit = 100`` and a count of 37
mean 3 700), so sums are exact integer sums; currency appears only when a table is written.

>>> split(10, [1, 1, 1]).tolist()
[4, 3, 3]
>>> split(7, [2, 0, 1]).tolist()
[5, 0, 2]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


class NoWeight(ValueError):
    """A positive total to split over children that all weigh nothing (``key`` names the parent)."""

    def __init__(self, units: int, key: dict | None = None):
        self.units, self.key = units, key or {}
        where = ", ".join(f"{k} {v}" for k, v in self.key.items())
        super().__init__(f"{where + ': ' if where else ''}nothing to carry {units} unit(s)")


def split(total: int, weights: Sequence[float] | np.ndarray) -> np.ndarray:
    """``total`` units over children in proportion to ``weights``; exact sum, none negative.

    Each child gets the floor of its exact share, and the units left over go one each to the
    children with the largest remainders (ties: the heavier child, then the earlier one). A child
    of weight 0 gets 0.
    """
    w = np.asarray(weights, dtype=float)
    if total < 0:
        raise ValueError(f"cannot split a negative total ({total})")
    if np.any(w < 0) or not np.all(np.isfinite(w)):
        raise ValueError("weights must be finite and >= 0")
    out = np.zeros(len(w), dtype=np.int64)
    weight = w.sum()
    if total == 0:
        return out
    if weight <= 0:
        raise NoWeight(total)
    exact = total * (w / weight)
    floors = np.floor(exact)
    remainders = np.where(w > 0, exact - floors, -1.0)
    out[:] = floors.astype(np.int64)
    left = int(total - out.sum())
    if left > 0:
        order = np.lexsort((np.arange(len(w)), -w, -remainders))  # last key sorts first
        out[order[:left]] += 1
    return out


def round_total(value: float, unit: float) -> int:
    """A currency amount as the nearest whole number of units (never negative)."""
    return max(0, int(round(value / unit)))


def split_frame(parents: pd.DataFrame, children: pd.DataFrame, key: list[str], weight: str,
                total: str = "units") -> np.ndarray:
    """Split each parent's ``total`` over its children (rows of ``children`` with the same ``key``).

    Returns the units of every child, aligned with ``children``'s rows. A parent with a positive
    total and no weighted children raises :class:`NoWeight` naming the parent's key.
    """
    units = np.zeros(len(children), dtype=np.int64)
    weights = children[weight].to_numpy(dtype=float)
    positions = children.groupby(key, sort=False).indices
    for parent in parents[key + [total]].itertuples(index=False):
        k = tuple(parent[:-1]) if len(key) > 1 else parent[0]
        rows = positions.get(k)
        n = int(parent[-1])
        named = {c: v for c, v in zip(key, parent[:-1]) if not c.startswith("_")}
        if rows is None:
            if n:
                raise NoWeight(n, named)
            continue
        try:
            units[rows] = split(n, weights[rows])
        except NoWeight:
            raise NoWeight(n, named) from None
    return units


def round_hierarchy(frame: pd.DataFrame, levels: list[str], value: str, unit: float) -> np.ndarray:
    """Units for each row of ``frame`` such that every level of ``levels`` sums to its parent.

    The grand total is rounded to the nearest unit, then split over ``levels[0]`` by each group's
    share of ``value``, each of those over ``levels[1]``, and so on down to the rows.
    """
    weights = frame[value].clip(lower=0).to_numpy(dtype=float)
    work = pd.DataFrame({level: frame[level].to_numpy() for level in levels}).assign(_all=0, _w=weights)
    parents = pd.DataFrame({"_all": [0], "units": [round_total(float(weights.sum()), unit)]})
    key = ["_all"]
    for level in levels:
        groups = work.groupby(key + [level], sort=False, as_index=False)["_w"].sum()
        groups["units"] = split_frame(parents, groups, key, "_w")
        parents, key = groups, key + [level]
    return split_frame(parents, work, key, "_w")
