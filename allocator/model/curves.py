"""Response curves: exact values, slopes, and piecewise-linear breakpoints (``model.md``).

A curve maps annual marketing spend ``X`` to incremental annual revenue ``f(X)``. The model works
with its linear interpolant on breakpoints chosen so that the largest gap between the two is at
most ``tolerance * f(hi)``.

>>> from allocator.scenario.schema import ExpCurve
>>> c = ExpCurve(type="exp", max_lift=100.0, scale=10.0)
>>> round(float(value(c, [10.0])[0]), 3)
63.212
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from allocator.scenario.errors import Problem, ScenarioError
from allocator.scenario.schema import ExpCurve, HillCurve, LinearCurve, LogCurve, PointsCurve

Curve = HillCurve | ExpCurve | LogCurve | LinearCurve | PointsCurve



def value(curve: Curve, spend) -> np.ndarray:
    """Exact ``f(X)`` for an array of annual spends."""
    x = np.maximum(np.asarray(spend, dtype=float), 0.0)
    if isinstance(curve, HillCurve):
        ratio = (x / curve.half_saturation) ** curve.shape
        return curve.max_lift * ratio / (1.0 + ratio)
    if isinstance(curve, ExpCurve):
        return curve.max_lift * -np.expm1(-x / curve.scale)
    if isinstance(curve, LogCurve):
        return curve.scale_lift * np.log1p(x / curve.scale)
    if isinstance(curve, LinearCurve):
        cap = np.inf if curve.cap is None else curve.cap
        return curve.roas * np.minimum(x, cap)
    px, py = _points(curve)
    return np.interp(x, px, py, right=py[-1])


def slope(curve: Curve, spend) -> np.ndarray:
    """Exact ``f'(X)`` (the right-hand slope where ``f`` has a kink)."""
    x = np.maximum(np.asarray(spend, dtype=float), 0.0)
    if isinstance(curve, HillCurve):
        a, k = curve.shape, curve.half_saturation
        with np.errstate(divide="ignore", invalid="ignore"):
            r = (x / k) ** a
            d = curve.max_lift * a * r / (x * (1.0 + r) ** 2)
        at_zero = np.inf if a < 1 else (curve.max_lift / k if a == 1 else 0.0)
        return np.where(x > 0, d, at_zero)
    if isinstance(curve, ExpCurve):
        return curve.max_lift / curve.scale * np.exp(-x / curve.scale)
    if isinstance(curve, LogCurve):
        return curve.scale_lift / (curve.scale + x)
    if isinstance(curve, LinearCurve):
        cap = np.inf if curve.cap is None else curve.cap
        return np.where(x < cap, curve.roas, 0.0)
    px, py = _points(curve)
    seg = np.diff(py) / np.diff(px)
    idx = np.searchsorted(px, x, side="right") - 1
    return np.where(idx < len(seg), seg[np.clip(idx, 0, len(seg) - 1)], 0.0)


def _points(curve: PointsCurve) -> tuple[np.ndarray, np.ndarray]:
    pts = np.asarray(curve.points, dtype=float)
    return pts[:, 0], pts[:, 1]


@dataclass(frozen=True)
class Breakpoints:
    """Breakpoints ``spend`` (starting at 0) and curve values ``lift`` of a linear interpolant."""

    spend: np.ndarray
    lift: np.ndarray

    @property
    def slopes(self) -> np.ndarray:
        return np.diff(self.lift) / np.diff(self.spend)

    def interpolate(self, spend) -> np.ndarray:
        return np.interp(spend, self.spend, self.lift)

    def concave_runs(self) -> list[range]:
        """Maximal runs of segments whose slopes do not rise: each is concave on its own.

        An LP fills a concave run in order by itself; only the step from one run into the next
        (where the slope rises) needs a binary. A concave interpolant is a single run.
        """
        s = self.slopes
        starts = [0] + [k for k in range(1, len(s)) if s[k] > s[k - 1] * (1 + 1e-9) + 1e-12]
        ends = starts[1:] + [len(s)]
        return [range(a, b) for a, b in zip(starts, ends)]


def breakpoints(curve: Curve, hi: float, reach: float, tolerance: float) -> Breakpoints:
    """Breakpoints on ``[0, reach]`` whose interpolant is within ``tolerance * f(hi)`` of the curve.

    ``hi`` is the annual spend bound that sets the scale of the tolerance; ``reach >= hi`` is how
    far the interpolant must go (a period may spend a larger share of the year's money than its
    seasonality, which takes the annual curve past ``hi``).
    """
    return _breakpoints(curve, float(hi), float(max(reach, hi)), float(tolerance))


@lru_cache(maxsize=4096)
def _breakpoints(curve: Curve, hi: float, reach: float, tolerance: float) -> Breakpoints:
    if reach <= 0:
        return Breakpoints(np.array([0.0]), np.array([0.0]))
    if isinstance(curve, PointsCurve):
        px, py = _points(curve)
        inside = px < reach
        xs = np.append(px[inside], reach)
        return Breakpoints(xs, value(curve, xs))
    if isinstance(curve, LinearCurve):
        xs = [0.0] + ([curve.cap] if curve.cap is not None and curve.cap < reach else []) + [reach]
        xs = np.asarray(xs)
        return Breakpoints(xs, value(curve, xs))
    gap = 0.999 * tolerance * float(value(curve, [hi])[0])
    xs = [0.0]
    step = reach / 64
    while xs[-1] < reach:
        if len(xs) > MAX_BREAKPOINTS:  # bounds the cost (each breakpoint is a bisection) before any solve
            raise _too_many(curve, tolerance)
        left = xs[-1]
        if _chord_gap(curve, left, reach) <= gap:
            xs.append(reach)
            break
        good, bad = left, min(reach, left + step)
        while _chord_gap(curve, left, bad) <= gap:  # grow until the chord is too far off
            good, bad = bad, min(reach, left + 2 * (bad - left))
        while bad - good > 2e-3 * (bad - left):  # then bisect to (nearly) the longest acceptable chord
            mid = 0.5 * (good + bad)
            good, bad = (mid, bad) if _chord_gap(curve, left, mid) <= gap else (good, mid)
        if good <= left:
            good = bad  # a chord this short is exact to float precision
        xs.append(good)
        step = good - left
    xs = np.asarray(xs)
    return Breakpoints(xs, value(curve, xs))


MAX_BREAKPOINTS = 5_000  # per curve; 1e-6 (the smallest pwl_tolerance) needs about 1,100 on our examples


def _too_many(curve: Curve, tolerance: float) -> ScenarioError:
    message = (f"a {curve.type} response curve needs more than {MAX_BREAKPOINTS} breakpoints at tolerance "
               f"{tolerance:g}; use a larger pwl_tolerance (the default is 1e-3)")
    return ScenarioError([Problem("solver.pwl_tolerance", None, "", message)])


def _tangent_point(curve: Curve, slope: float) -> float | None:
    """Where a concave curve's slope equals ``slope`` (closed form), or ``None`` if not known."""
    if slope <= 0:
        return None
    if isinstance(curve, ExpCurve):
        return -curve.scale * np.log(slope * curve.scale / curve.max_lift)
    if isinstance(curve, LogCurve):
        return curve.scale_lift / slope - curve.scale
    if isinstance(curve, HillCurve) and curve.shape == 1.0:
        return float(np.sqrt(curve.max_lift * curve.half_saturation / slope)) - curve.half_saturation
    return None


def _chord_gap(curve: Curve, a: float, b: float) -> float:
    """Largest |f - chord| on [a, b]. On a concave curve with a known inverse slope it lies where
    the tangent is parallel to the chord (exact); otherwise sampled, then refined around the worst
    sample."""
    fa, fb = value(curve, [a, b])
    chord_slope = (fb - fa) / (b - a)
    x = _tangent_point(curve, chord_slope)
    if x is not None and a <= x <= b:
        return float(value(curve, [x])[0] - (fa + chord_slope * (x - a)))
    x = np.linspace(a, b, 33)
    f = value(curve, x)
    d = np.abs(f - (f[0] + (f[-1] - f[0]) * (x - a) / (b - a)))
    i = int(np.argmax(d))
    lo, hi = x[max(i - 1, 0)], x[min(i + 1, len(x) - 1)]
    fine = np.linspace(lo, hi, 33)
    ff = value(curve, fine)
    chord = f[0] + (f[-1] - f[0]) * (fine - a) / (b - a)
    return float(max(d[i], np.max(np.abs(ff - chord))))
