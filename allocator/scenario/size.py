"""How large a scenario's model will be, estimated before anything is built.

The model has, per response cell and period, one column per curve segment plus the revenue
column, and a few columns per region and period for the sales force (``docs/model.md``). The
segment count is what grows: a smooth curve interpolated within ``pwl_tolerance * f(hi)`` needs
about

    N(R) = integral from 0 to R of sqrt(|f''(x)| / (8 * pwl_tolerance * f(hi))) dx

segments on ``[0, R]`` (a chord of length h on a curve of curvature f'' is off by h^2 |f''| / 8),
in closed form for ``exp`` and ``log`` and by quadrature for ``hill``. A scenario whose estimate
passes :data:`MAX_COLUMNS` is refused up front, with the estimate and what to change, instead of
running out of memory an hour later.

>>> from allocator.scenario.schema import ExpCurve
>>> round(float(smooth_segments(ExpCurve(type="exp", max_lift=1.0, scale=1.0), hi=1.0, reach=1.0, tolerance=1e-3)), 1)
11.1
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from allocator.scenario.schema import ExpCurve, HillCurve, LinearCurve, LogCurve, PointsCurve, ScenarioModel

MAX_COLUMNS = 5_000_000  # about what the build and HiGHS handle in 24 GiB; see docs/decisions.md
REACH = 1.25  # as the model: period curves reach 25% past the annual bound (allocator/model/response.py)
STAFF_COLUMNS = 4  # per region and period: core heads, hires, releases, temp staff


@dataclass(frozen=True)
class SizeEstimate:
    """Estimated columns of a scenario's model and the counts they come from."""

    columns: int
    periods: int
    cells: int
    segments: float  # mean segments per cell and period

    def __str__(self) -> str:
        return (f"about {_count(self.columns)} columns ({self.periods} periods x {_count(self.cells)} cells "
                f"x ~{self.segments:.0f} curve segments)")


def estimate_size(s: ScenarioModel) -> SizeEstimate:
    """Columns the model of a field-valid scenario will have, within a small factor."""
    names = s.periods.names
    season = np.asarray(s.periods.seasonality or s.periods.length or [1.0 / len(names)] * len(names), dtype=float)
    positive = season[season > 0]
    segments = 0.0
    for cell in s.response:
        hi = cell.spend.max if cell.spend.max is not None else s.budget.total
        if hi <= 0 or positive.size == 0:
            continue
        reaches = REACH * hi / positive  # each period's curve, read on the annual scale
        segments += float(np.sum(_segments(cell.curve, hi, reaches, s.solver.pwl_tolerance)))
    cell_periods = len(s.response) * len(names)
    staff = STAFF_COLUMNS * len(s.regions) * len(names) if s.sales_force is not None else 0
    carry = {c.id for c in s.channels if c.carryover is not None}  # a spend column per period (carryover)
    carrying = sum(1 for c in s.response if c.carryover is not None or c.channel in carry)
    columns = math.ceil(segments) + cell_periods + carrying * len(names) + staff + 1
    return SizeEstimate(columns, len(names), len(s.response), segments / cell_periods if cell_periods else 0.0)


def size_problem(s: ScenarioModel, limit: int | None = None) -> tuple[tuple[object, ...], str] | None:
    """``(location, message)`` if the model would have more than ``limit`` (:data:`MAX_COLUMNS`) columns."""
    limit = MAX_COLUMNS if limit is None else limit
    estimate = estimate_size(s)
    if estimate.columns <= limit:
        return None
    tolerance = s.solver.pwl_tolerance
    fits = _round_up(tolerance * (estimate.columns / limit) ** 2)  # segments fall as 1 / sqrt(tolerance)
    advice = f"raise solver.pwl_tolerance (now {tolerance:g}; about {fits:g} would fit), or plan fewer periods or cells"
    message = f"the model would have {estimate}, more than the {_count(limit)} columns allocator builds; {advice}"
    return ("solver", "pwl_tolerance"), message


def _segments(curve, hi: float, reaches: np.ndarray, tolerance: float) -> np.ndarray:
    """Segments of one cell's curve read up to each of ``reaches`` (one per period)."""
    try:
        return _segments_of(curve, float(hi), tuple(reaches.tolist()), float(tolerance))
    except TypeError:  # a curve that cannot be hashed: no memo
        return _count_segments(curve, hi, reaches, tolerance)


@functools.lru_cache(maxsize=4096)
def _segments_of(curve, hi: float, reaches: tuple, tolerance: float) -> np.ndarray:
    """:func:`_count_segments`, remembered: a sweep validates the same cells at every point."""
    out = _count_segments(curve, hi, np.asarray(reaches), tolerance)
    out.flags.writeable = False
    return out


def _count_segments(curve, hi: float, reaches: np.ndarray, tolerance: float) -> np.ndarray:
    if isinstance(curve, LinearCurve):
        return np.where((curve.cap is not None) & (reaches > (curve.cap or 0.0)), 2.0, 1.0)
    if isinstance(curve, PointsCurve):
        xs = np.asarray([x for x, _ in curve.points])
        return np.maximum(1.0, np.searchsorted(xs, reaches, side="left").astype(float))
    return np.maximum(1.0, smooth_segments(curve, hi, reaches, tolerance))


def smooth_segments(curve: HillCurve | ExpCurve | LogCurve, hi: float, reach, tolerance: float):
    """``N(reach)`` of the module docstring for a smooth curve (``reach`` may be an array)."""
    reach = np.asarray(reach, dtype=float)
    if isinstance(curve, ExpCurve):
        L, K = curve.max_lift, curve.scale
        gap = tolerance * L * -math.expm1(-hi / K)
        return 2.0 * math.sqrt(L / (8.0 * gap)) * -np.expm1(-reach / (2.0 * K))
    if isinstance(curve, LogCurve):
        L, K = curve.scale_lift, curve.scale
        gap = tolerance * L * math.log1p(hi / K)
        return math.sqrt(L / (8.0 * gap)) * np.log1p(reach / K)
    L, K, a = curve.max_lift, curve.half_saturation, curve.shape
    gap = tolerance * L * (hi / K) ** a / (1.0 + (hi / K) ** a)
    far = float(np.max(reach))
    x = np.geomspace(far * 1e-9, far, 2001)
    r = (x / K) ** a
    curvature = np.abs(L * a * r * ((a - 1.0) - (a + 1.0) * r) / (x**2 * (1.0 + r) ** 3))
    density = np.sqrt(curvature / (8.0 * gap))
    cumulative = np.concatenate([[0.0], np.cumsum(0.5 * (density[1:] + density[:-1]) * np.diff(x))])
    return np.interp(reach, x, cumulative)


def _count(n: float) -> str:
    return f"{n / 1e6:.3g}M" if n >= 1e6 else f"{n:.0f}"


def _round_up(x: float) -> float:
    """Up to one significant digit: 0.000429 -> 0.0005."""
    scale = 10.0 ** math.floor(math.log10(x))
    return min(0.5, math.ceil(x / scale) * scale)
