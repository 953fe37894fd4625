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
    if isinstance(curve, (HillCurve, ExpCurve, LogCurve)):
        return _smooth_value(curve, x)
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

    def with_points(self, curve: Curve, points) -> Breakpoints:
        """The same interpolant with extra breakpoints on the exact curve (inside its range)."""
        pts = np.asarray(points, dtype=float)
        pts = pts[(pts > 0) & (pts < self.spend[-1])]
        if pts.size == 0:
            return self
        xs = np.union1d(self.spend, pts)
        keep = np.append(True, np.diff(xs) > 1e-12 * max(1.0, xs[-1]))  # no zero-length segments
        xs = xs[keep]
        return Breakpoints(xs, value(curve, xs))

    def concave_runs(self) -> list[range]:
        """Maximal runs of segments whose slopes do not rise: each is concave on its own.

        An LP fills a concave run in order by itself; only the step from one run into the next
        (where the slope rises) needs a binary. A concave interpolant is a single run.
        """
        s = self.slopes
        rises = np.flatnonzero(s[1:] > s[:-1] * (1 + 1e-9) + 1e-12) + 1
        starts = [0, *rises.tolist()]
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


def concave(curve: Curve) -> bool:
    """Whether the curve is concave on ``[0, inf)`` by its type (``points``: by its slopes)."""
    if isinstance(curve, (ExpCurve, LogCurve, LinearCurve)):
        return True
    if isinstance(curve, HillCurve):
        return curve.shape <= 1
    px, py = _points(curve)
    s = np.diff(py) / np.diff(px)
    return bool(np.all(s[1:] <= s[:-1]))


def overestimate(curve: Curve, bp: Breakpoints) -> Breakpoints:
    """An interpolant on the same breakpoints that lies on or above the curve everywhere.

    A concave curve gets the lower envelope of its tangents at the breakpoints: concave again
    (an LP stays an LP), on the curve at every breakpoint. Other curves get each breakpoint's
    lift raised by the largest excess ``f - chord`` of the segments on either side, so on every
    segment the raised chord is at least the old chord plus that segment's own excess.
    ``lift[0]`` may be above 0: the response family adds it to the base. This is the model behind
    the exact-curve certificate (``docs/model.md``).
    """
    if len(bp.spend) < 2 or isinstance(curve, (PointsCurve, LinearCurve)):
        return bp  # breakpoints sit on every kink: the interpolant is the curve
    if not isinstance(curve, HillCurve) or curve.shape <= 1:
        return _tangent_envelope(curve, bp)
    excess = segment_excess(curve, bp.spend)
    raise_by = np.maximum(np.append(excess, 0.0), np.insert(excess, 0, 0.0))
    return Breakpoints(bp.spend, bp.lift + raise_by)


def _tangent_envelope(curve: Curve, bp: Breakpoints) -> Breakpoints:
    """``min_k f(x_k) + f'(x_k) (x - x_k)`` as an interpolant: kinks where neighbouring tangents meet."""
    xs = bp.spend
    f, g = value(curve, xs), slope(curve, xs)
    first = 0 if np.isfinite(g[0]) else 1  # an infinite slope at 0: start from the next tangent
    x, fx, gx = xs[first:], f[first:], g[first:]
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (fx[1:] - fx[:-1] + gx[:-1] * x[:-1] - gx[1:] * x[1:]) / (gx[:-1] - gx[1:])
    z = np.where(np.isfinite(z), z, 0.5 * (x[:-1] + x[1:]))
    z = np.clip(z, x[:-1], x[1:])
    top = np.maximum(fx[:-1] + gx[:-1] * (z - x[:-1]), fx[1:] + gx[1:] * (z - x[1:]))
    start = fx[0] - gx[0] * x[0]  # the first tangent at spend 0 (0 when it touches there)
    spend = np.concatenate(([0.0], z, [xs[-1]]))
    lift = np.concatenate(([max(start, 0.0)], top, [f[-1]]))
    keep = np.append(True, np.diff(spend) > 1e-12 * max(1.0, spend[-1]))
    keep[-1] = True
    spend, lift = spend[keep], lift[keep]
    if len(spend) >= 2 and spend[-1] - spend[-2] <= 1e-12 * max(1.0, spend[-1]):
        spend, lift = np.delete(spend, -2), np.delete(lift, -2)
    return Breakpoints(spend, lift)


def segment_excess(curve: Curve, xs: np.ndarray) -> np.ndarray:
    """An upper bound on ``max (f - chord)`` over each segment ``[xs[k], xs[k+1]]`` (never below 0).

    Exact where a concave curve's tangent point has a closed form; on other concave segments the
    bound of the two end tangents; on segments with a convex part, a dense sample plus a
    slope-times-spacing margin.
    """
    if isinstance(curve, (PointsCurve, LinearCurve)):
        return np.zeros(len(xs) - 1)  # breakpoints sit on every kink: the interpolant is exact
    a, b = np.asarray(xs[:-1], float), np.asarray(xs[1:], float)
    fa, fb = value(curve, a), value(curve, b)
    chord = (fb - fa) / (b - a)
    out = np.zeros_like(a)
    concave = _concave_on(curve, a)
    x = _tangent_points(curve, chord)
    if x is not None:
        ok = concave & np.isfinite(x) & (x >= a) & (x <= b)
        xx = np.where(ok, x, a)
        out = np.where(ok, value(curve, xx) - (fa + chord * (xx - a)), out)
        rest = concave & ~ok
    else:
        rest = concave
    if rest.any():  # end tangents: f <= min(T_a, T_b), whose top over the chord is where they meet
        ga, gb = slope(curve, a[rest]), slope(curve, b[rest])
        ra, rb, rfa, rfb, rc = a[rest], b[rest], fa[rest], fb[rest], chord[rest]
        with np.errstate(invalid="ignore", divide="ignore"):
            meet = (rfb - rfa + ga * ra - gb * rb) / (ga - gb)
            top = rfa + ga * (meet - ra)
        vertical = ~np.isfinite(ga)  # infinite slope at 0: T_b alone bounds the segment
        top = np.where(vertical, rfb + gb * (ra - rb), top)
        meet = np.where(vertical, ra, meet)
        flat = ~np.isfinite(top) | (np.abs(ga - gb) <= 1e-15 * np.maximum(1.0, np.abs(ga)))
        gap = np.where(flat, 0.0, top - (rfa + rc * (meet - ra)))
        out[rest] = np.maximum(gap, 0.0)
    convex = ~concave & ~_convex_on(curve, b)  # wholly convex segments lie under their chords: 0
    if convex.any():
        n = 129
        t = np.linspace(0.0, 1.0, n)
        ca, cb, cfa, cc = a[convex], b[convex], fa[convex], chord[convex]
        grid = ca[:, None] + (cb - ca)[:, None] * t[None, :]
        diff = value(curve, grid) - (cfa[:, None] + cc[:, None] * (grid - ca[:, None]))
        steep = np.abs(slope(curve, grid) - cc[:, None])
        steep = np.where(np.isfinite(steep), steep, 0.0)
        pad = steep.max(axis=1) * (cb - ca) / (n - 1)
        out[convex] = np.maximum(diff.max(axis=1) + pad, 0.0)
    return np.maximum(out, 0.0)


def _convex_on(curve: Curve, b: np.ndarray) -> np.ndarray:
    """Whether the curve is convex on ``[0, b]`` (per segment end): an S-curve below its inflection."""
    if isinstance(curve, HillCurve) and curve.shape > 1:
        k, s = curve.half_saturation, curve.shape
        return b <= k * ((s - 1.0) / (s + 1.0)) ** (1.0 / s)
    return np.zeros(len(b), dtype=bool)


def _concave_on(curve: Curve, a: np.ndarray) -> np.ndarray:
    """Whether the curve is concave on ``[a, inf)`` (per segment start)."""
    if isinstance(curve, HillCurve) and curve.shape > 1:
        k, s = curve.half_saturation, curve.shape
        inflection = k * ((s - 1.0) / (s + 1.0)) ** (1.0 / s)
        return a >= inflection
    return np.ones(len(a), dtype=bool)


def _tangent_points(curve: Curve, slopes: np.ndarray) -> np.ndarray | None:
    """Vectorised :func:`_tangent_point`: where a concave curve's slope equals each slope."""
    g = np.asarray(slopes, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        if isinstance(curve, ExpCurve):
            return np.where(g > 0, -curve.scale * np.log(g * curve.scale / curve.max_lift), np.nan)
        if isinstance(curve, LogCurve):
            return np.where(g > 0, curve.scale_lift / g - curve.scale, np.nan)
        if isinstance(curve, HillCurve) and curve.shape == 1.0:
            return np.where(g > 0, np.sqrt(curve.max_lift * curve.half_saturation / g) - curve.half_saturation, np.nan)
    return None


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
    sample. (The hot loop of building a large model: numpy's wrappers are avoided, with the same
    numbers as ``np.linspace`` and ``value``.)"""
    fa, fb = _smooth_value(curve, np.array([a, b]))
    chord_slope = (fb - fa) / (b - a)
    x = _tangent_point(curve, chord_slope) if not isinstance(curve, HillCurve) or curve.shape == 1.0 else None
    if x is not None and a <= x <= b:
        return float(_smooth_value(curve, np.array([x]))[0] - (fa + chord_slope * (x - a)))
    x = _grid(a, b)
    f = _smooth_value(curve, x)
    d = np.abs(f - (f[0] + (f[-1] - f[0]) * (x - a) / (b - a)))
    i = int(d.argmax())
    lo, hi = x[max(i - 1, 0)], x[min(i + 1, len(x) - 1)]
    fine = _grid(lo, hi)
    ff = _smooth_value(curve, fine)
    chord = f[0] + (f[-1] - f[0]) * (fine - a) / (b - a)
    return float(max(d[i], np.abs(ff - chord).max()))


_STEPS = np.arange(33.0)


def _grid(a: float, b: float) -> np.ndarray:
    """``np.linspace(a, b, 33)``, number for number, without its argument handling."""
    x = _STEPS * ((b - a) / 32)
    x += a
    x[-1] = b
    return x


def _smooth_value(curve: Curve, x: np.ndarray) -> np.ndarray:
    """:func:`value` of spends ``x >= 0`` (a float array), the same numbers with less overhead."""
    if isinstance(curve, HillCurve):
        ratio = (x / curve.half_saturation) ** curve.shape
        return curve.max_lift * ratio / (1.0 + ratio)
    if isinstance(curve, ExpCurve):
        return curve.max_lift * -np.expm1(-x / curve.scale)
    if isinstance(curve, LogCurve):
        return curve.scale_lift * np.log1p(x / curve.scale)
    return value(curve, x)
