"""Plans optimal on the exact response curves, with a certificate (``docs/model.md``).

The model solves a piecewise-linear interpolant of each curve. Its optimum can sit on a
breakpoint some way from the exact curves' optimum, so after the first solve:

1. the **certificate model** is the same model with every interpolant raised onto an upper
   envelope of its curve (:func:`allocator.model.curves.overestimate`); its optimum (its dual
   bound, for a MIP) is at least the exact-curve optimum: ``exact_curve_bound``;
2. the plan's margin on the exact curves (``exact_curve_margin``) is at most that optimum;
3. while the two are further apart than ``solver.exact_gap`` (relative), the segments where the
   plan and the certificate model's solution spend are split at their quarters, and both models
   are solved again. S-curve gates stay binary in every round; integer headcount is chosen
   globally by the first MIP and held while the spend is refined, and a last global solve of the
   certificate model on the refined breakpoints (given about the first solve's time; its dual
   bound when stopped is still a bound) bounds every plan, whatever its headcount.

The best plan found (by exact-curve margin) is returned with ``exact_curve_gap``, the relative
distance between its exact margin and the bound, which is never negative.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from allocator.model.data import PlanningData
from allocator.model.response import annual_breakpoints

MAX_ROUNDS = 20
BOUND_TIME_SHARE, MIN_BOUND_SECONDS = 1.0, 1.0  # time of the last global certificate solve
MIN_WIDTH = 1e-7  # segments narrower than this share of the curve's span are not split again
QUARTERS = np.array([0.25, 0.5, 0.75])


@dataclass(frozen=True)
class Outcome:
    """What one solve of a (possibly refined) model gives back."""

    has_plan: bool
    exact_margin: float  # the plan's margin on the exact curves (currency); nan without a plan
    objective: float  # the model's own objective (currency, incumbent)
    bound: float  # an upper bound on the model's optimum (currency): objective for an LP
    spend: dict  # (region, channel, period) -> effective spend (currency): where the curve is read (carryover)
    staffing: dict | None  # the integer headcount to hold fixed while refining (None: no staffing)
    result: object  # what the caller keeps (e.g. the Plan)


@dataclass(frozen=True)
class Certificate:
    margin: float  # exact-curve margin of the returned plan
    bound: float  # upper bound on the exact-curve optimum
    gap: float  # (bound - margin) / |bound|, >= 0
    rounds: int


# solve(data, staffing to hold fixed or None, seconds left or None) -> Outcome
SolveFn = Callable[[PlanningData, dict | None, float | None], Outcome]


def refine(
    data: PlanningData,
    solve: SolveFn,
    first: Outcome,
    exact_gap: float,
    time_limit: float | None = None,
    first_seconds: float = 1.0,
    certify: bool = True,
) -> tuple[Outcome, Certificate]:
    """Refine ``first`` (the plain interpolant's solve) until its exact margin is within
    ``exact_gap`` of the certificate bound, the rounds run out, or the time is up.

    With integer headcount, the rounds hold the first solve's headcount fixed (the global choice
    of the first MIP) and refine the spend; one last global solve of the certificate model (given
    about the first solve's time, ``first_seconds``) bounds every plan, whatever its headcount.
    ``certify=False`` leaves that last solve out (sweep points: refined plans, no proven bound).
    """
    start = time.perf_counter()

    def left() -> float | None:
        return None if time_limit is None else max(0.0, time_limit - (time.perf_counter() - start))

    best = first
    fixed = first.staffing or None
    points: dict[tuple[str, str], np.ndarray] = {}
    bound = np.inf
    rounds = 0
    while rounds < MAX_ROUNDS:
        rounds += 1
        upper = solve(dataclasses.replace(data, extra_points=_frozen(points), overestimate=True), fixed, left())
        if not upper.has_plan:  # out of time, interrupted or failed: no round can be judged
            break
        if fixed is None:
            bound = min(bound, upper.bound)
        if _out_of_time(left()) or _close(best.exact_margin, upper, exact_gap):
            break
        _add(points, data, best.spend)
        _add(points, data, upper.spend)
        inner = solve(dataclasses.replace(data, extra_points=_frozen(points)), fixed, left())
        if inner.has_plan and inner.exact_margin > best.exact_margin:
            best = inner
        if _out_of_time(left()):
            break
    if fixed is not None and certify and not _out_of_time(left()):
        # the bound over every headcount: the certificate MIP, given about the first solve's
        # time (its dual bound when stopped is still a bound, only a looser one)
        limit = max(MIN_BOUND_SECONDS, BOUND_TIME_SHARE * first_seconds)
        rest = left()
        upper = solve(dataclasses.replace(data, extra_points=_frozen(points), overestimate=True), None,
                      limit if rest is None else min(limit, rest))
        if upper.has_plan:
            bound = upper.bound
    if np.isfinite(bound) and bound < best.exact_margin:
        # solver tolerances (CBC's solution file keeps about 8 digits) can put the bound a hair
        # under a plan that meets it: the exact optimum is at least that plan's margin
        bound = best.exact_margin
    gap = _gap(best.exact_margin, bound)
    return best, Certificate(best.exact_margin, float(bound), gap, rounds)


def _close(margin: float, upper: Outcome, tol: float) -> bool:
    """The curve error alone is within ``tol``: the certificate model's incumbent (its bound less
    its own MIP gap) is at most ``tol`` above the plan's exact margin."""
    if not np.isfinite(upper.objective):
        return False
    return upper.objective - margin <= tol * max(abs(upper.bound), 1e-9)


def _gap(margin: float, bound: float) -> float:
    if not np.isfinite(bound) or not np.isfinite(margin):
        return float("nan")
    return max(0.0, bound - margin) / max(abs(bound), 1e-9)


def _out_of_time(left: float | None) -> bool:
    return left is not None and left <= 0.0


def _add(points: dict, data: PlanningData, spend: dict) -> None:
    """Refine each cell's annual interpolant where a plan spends: for each period's (effective) spend on the
    annual curve (``x_t / s_t``) split the segment that holds it (both neighbours, when it sits on
    a breakpoint) at its quarters, so that segment shrinks fourfold every round."""
    for cell in data.cells:
        key = (cell.region, cell.channel)
        xs = None
        new = []
        for period in data.periods:
            season = data.season[period]
            x = spend.get((cell.region, cell.channel, period), 0.0)
            if season <= 0 or x <= 0:
                continue
            if xs is None:
                xs = annual_breakpoints(dataclasses.replace(data, extra_points=_frozen(points)), cell).spend
            annual = x / season
            k = int(np.searchsorted(xs, annual, side="right")) - 1
            near = np.isclose(annual, xs[max(k, 0)], rtol=1e-9, atol=0.0)
            for j in ((k - 1, k) if near else (k,)):
                if 0 <= j < len(xs) - 1 and xs[j + 1] - xs[j] > MIN_WIDTH * xs[-1]:
                    a, b = xs[j], xs[j + 1]
                    new.extend(a + (b - a) * QUARTERS)
            new.append(annual)
        if new:
            points[key] = np.union1d(points.get(key, np.array([])), np.asarray(new))


def _frozen(points: dict) -> dict:
    return {k: tuple(float(x) for x in v) for k, v in points.items()}
