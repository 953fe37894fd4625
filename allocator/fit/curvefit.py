"""Fitting one cell: a base and a response curve by bounded least squares, chosen out of sample.

Everything here works per history period and in the cell's own units (spend divided by its
largest spend, revenue by its largest revenue), so that the solver sees numbers near 1; the
results leave in currency per period. Scaling to the plan's horizon is ``model_file.py``'s job.

The per-period model is ``revenue_t = base + g(a_t)``, where ``g`` is one of the curve types of
``model.md`` and ``a_t`` the spend of period ``t`` (or, with carryover, its normalised geometric
adstock ``sum_k d^k x_{t-k} / sum_k d^k``, ``k = 0..max_lag``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import least_squares

from allocator.scenario.amounts import format_amount

FIT_CURVES = ("hill", "exp", "log")
PARAM_NAMES = {
    "hill": ("max_lift", "half_saturation", "shape"),
    "exp": ("max_lift", "scale"),
    "log": ("scale_lift", "scale"),
}
# Bounds in the cell's units (spend / largest spend, revenue / largest revenue).
LIFT_MAX = 50.0
SCALE_BOUNDS = {"hill": (0.01, 20.0), "exp": (0.01, 20.0), "log": (0.001, 20.0)}
SHAPE_BOUNDS = (0.5, 3.0)
BASE_MAX = 10.0
DECAY_MAX = 0.9

MIN_PERIODS = 6  # fewer points than this cannot tell a curve from noise out of sample
MIN_DISTINCT_SPENDS = 4
MIN_SPREAD = 1.5  # the largest spend must be at least this multiple of the smallest
MAX_RELATIVE_ERROR = 0.5  # standard error of max_lift or scale above this share: not identified
MIN_GAIN = 0.9  # the curve's out-of-sample error must be below this share of a constant's
SIMPLER_WITHIN = 0.02  # a curve with fewer parameters wins within 2% of the best error
LOO_UP_TO = 20  # leave-one-out up to this many points, else 10-fold


def lift(kind: str, params: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The curve ``g(x)`` of ``kind`` with ``params`` (as in ``PARAM_NAMES``), vectorised over ``x``."""
    x = np.maximum(x, 0.0)
    if kind == "hill":
        top, half, shape = params
        r = (x / half) ** shape
        return top * r / (1.0 + r)
    if kind == "exp":
        top, scale = params
        return top * -np.expm1(-x / scale)
    if kind == "log":
        top, scale = params
        return top * np.log1p(x / scale)
    raise ValueError(f"unknown curve type {kind!r}")


def adstock(spend: np.ndarray, decay: float, max_lag: int) -> np.ndarray:
    """Normalised geometric adstock: a constant spend stays that spend (weights sum to one).

    The first ``max_lag`` periods lack earlier history; they are averaged over what there is
    (the fit does not score them, see ``fit_cell``).
    """
    weights = decay ** np.arange(max_lag + 1)
    out = np.zeros_like(spend)
    norm = np.zeros_like(spend)
    for k, w in enumerate(weights):
        out[k:] += w * spend[: len(spend) - k]
        norm[k:] += w
    return out / norm


@dataclass(frozen=True)
class Candidate:
    """One curve type fitted to one cell, in currency per period."""

    kind: str
    base: float
    params: dict[str, float]
    decay: float | None
    cv_error: float  # root mean squared out-of-sample error, as a share of mean revenue
    r2: float
    mape: float
    at_bound: bool  # the saturation lies beyond the data (a scale or lift at its upper bound)
    relative_error: float  # largest standard error of max_lift / scale, as a share of the value

    @property
    def identified(self) -> bool:
        return not self.at_bound and self.relative_error <= MAX_RELATIVE_ERROR


@dataclass(frozen=True)
class CellFit:
    """The chosen curve of a cell, or why none was chosen (``refusal``)."""

    chosen: Candidate | None
    candidates: tuple[Candidate, ...] = field(default=())
    constant_cv_error: float | None = None
    refusal: str | None = None


def _bounds(kind: str, carryover: bool) -> tuple[list[float], list[float]]:
    lo, hi = [0.0, 1e-6], [BASE_MAX, LIFT_MAX]
    s_lo, s_hi = SCALE_BOUNDS[kind]
    lo.append(s_lo)
    hi.append(s_hi)
    if kind == "hill":
        lo.append(SHAPE_BOUNDS[0])
        hi.append(SHAPE_BOUNDS[1])
    if carryover:
        lo.append(0.0)
        hi.append(DECAY_MAX)
    return lo, hi


def _starts(kind: str, x: np.ndarray, y: np.ndarray, carryover: bool) -> list[np.ndarray]:
    """A few starting points across the scale range; the best local optimum wins."""
    slope, intercept = np.polyfit(x, y, 1) if np.ptp(x) > 0 else (0.0, float(np.mean(y)))
    slope = max(slope, 1e-3)
    base0 = float(np.clip(intercept, 0.0, 0.99 * BASE_MAX))
    starts = []
    for scale in (0.3, 1.0, 3.0):
        top = float(np.clip(slope * (scale + 1.0), 1e-3, 0.5 * LIFT_MAX))
        p = [base0, top, scale] + ([1.0] if kind == "hill" else [])
        for decay in ((0.0, 0.5) if carryover else (None,)):
            starts.append(np.array(p + ([decay] if decay is not None else [])))
    return starts


def _model(kind: str, theta: np.ndarray, x: np.ndarray, max_lag: int | None) -> np.ndarray:
    curve = theta[1:-1] if max_lag is not None else theta[1:]
    a = x if max_lag is None else adstock(x, theta[-1], max_lag)
    return theta[0] + lift(kind, curve, a)


def _least_squares(kind: str, x: np.ndarray, y: np.ndarray, scored: np.ndarray, max_lag: int | None,
                   starts: list[np.ndarray] | None = None):
    """Best of a few bounded least-squares runs, scored on the rows in ``scored`` (a mask)."""
    lo, hi = _bounds(kind, max_lag is not None)
    best = None
    for start in starts or _starts(kind, x[scored], y[scored], max_lag is not None):
        start = np.clip(start, lo, hi)

        def residuals(theta):
            return (_model(kind, theta, x, max_lag) - y)[scored]

        res = least_squares(residuals, start, bounds=(lo, hi), method="trf", x_scale="jac", max_nfev=2000)
        if best is None or res.cost < best.cost:
            best = res
    return best


def _folds(n: int) -> list[np.ndarray]:
    """Held-out masks: leave-one-out up to ``LOO_UP_TO`` points, else 10 interleaved folds."""
    k = n if n <= LOO_UP_TO else 10
    index = np.arange(n)
    return [index % k == f for f in range(k)]


def _relative_error(res, n: int) -> float:
    """Largest standard error of the lift and scale parameters, as a share of their values."""
    p = len(res.x)
    if n <= p:
        return float("inf")
    jac = res.jac
    try:
        cov = np.linalg.inv(jac.T @ jac) * (2 * res.cost / (n - p))
    except np.linalg.LinAlgError:
        return float("inf")
    se = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    return float(max(se[i] / abs(res.x[i]) for i in (1, 2)))


def fit_curve(kind: str, spend: np.ndarray, revenue: np.ndarray, max_lag: int | None = None) -> Candidate:
    """Fit one curve type to a cell's history (per period, in currency), with its out-of-sample error."""
    xs, ys = float(np.max(spend)), float(np.max(revenue))
    x, y = spend / xs, revenue / ys
    n = len(x)
    scored = np.arange(n) >= (max_lag or 0)
    res = _least_squares(kind, x, y, scored, max_lag)
    fitted = _model(kind, res.x, x, max_lag)[scored]
    observed = y[scored]
    r2 = 1.0 - float(np.sum((observed - fitted) ** 2) / max(np.sum((observed - observed.mean()) ** 2), 1e-300))
    positive = observed > 0  # MAPE over periods with revenue (a zero would make it infinite)
    mape = float(np.mean(np.abs(observed - fitted)[positive] / observed[positive]))
    errors = []
    for held in _folds(n):
        train = scored & ~held
        test = scored & held
        if not test.any():
            continue
        fold = _least_squares(kind, x, y, train, max_lag, [res.x])  # from the full fit
        errors.append(((_model(kind, fold.x, x, max_lag) - y)[test]) ** 2)
    cv = float(np.sqrt(np.mean(np.concatenate(errors)))) / float(np.mean(observed))
    lo, hi = _bounds(kind, max_lag is not None)
    at_bound = bool(res.x[1] >= 0.99 * hi[1] or res.x[2] >= 0.99 * hi[2])
    theta = res.x
    params = {"max_lift" if kind != "log" else "scale_lift": float(theta[1] * ys)}
    params["half_saturation" if kind == "hill" else "scale"] = float(theta[2] * xs)
    if kind == "hill":
        params["shape"] = float(theta[3])
    return Candidate(kind, float(theta[0] * ys), params, float(theta[-1]) if max_lag is not None else None,
                     cv, r2, mape, at_bound, _relative_error(res, int(scored.sum())))


def constant_cv_error(revenue: np.ndarray, skip: int = 0) -> float:
    """Out-of-sample error of predicting the mean revenue (no spend effect), as a share of the mean."""
    y = revenue[skip:]
    errors = []
    for held in _folds(len(y)):
        if held.all():
            continue
        errors.append((y[held] - y[~held].mean()) ** 2)
    return float(np.sqrt(np.mean(np.concatenate(errors)))) / float(np.mean(y))


def identifiable(spend: np.ndarray, min_periods: int = MIN_PERIODS) -> str | None:
    """Why this spend history cannot identify a curve, or ``None`` if it may."""
    n = len(spend)
    if n < min_periods:
        return f"only {n} periods of history (at least {min_periods} are needed to fit and test a curve)"
    distinct = len(np.unique(spend))
    if distinct < MIN_DISTINCT_SPENDS:
        levels = ", ".join(format_amount(v) for v in np.unique(spend))
        return f"spend took only {distinct} different values ({levels}); a curve needs at least {MIN_DISTINCT_SPENDS}"
    lo, hi = float(np.min(spend)), float(np.max(spend))
    if hi < MIN_SPREAD * lo:
        return f"spend varied only between {format_amount(lo)} and {format_amount(hi)} per period"
    return None


def fit_cell(spend: np.ndarray, revenue: np.ndarray, curves: tuple[str, ...] = FIT_CURVES,
             max_lag: int | None = None) -> CellFit:
    """Fit every curve type in ``curves``, choose by out-of-sample error, or refuse with a reason."""
    skip = max_lag or 0
    reason = identifiable(spend[skip:], MIN_PERIODS) if skip else identifiable(spend)
    if reason is not None:
        return CellFit(None, refusal=reason)
    if np.mean(revenue[skip:]) <= 0:
        return CellFit(None, refusal="revenue is zero in every period")
    candidates = tuple(fit_curve(kind, spend, revenue, max_lag) for kind in curves)
    constant = constant_cv_error(revenue, skip)
    closest = min(candidates, key=lambda c: c.cv_error)
    if closest.cv_error >= MIN_GAIN * constant:
        why = (f"revenue does not follow spend: the best curve ({closest.kind}) predicts held-out periods no better "
               f"than their average revenue does (error {closest.cv_error:.1%} vs {constant:.1%})")
        return CellFit(None, candidates, constant, why)
    usable = [c for c in candidates if c.identified]
    if not usable:
        if all(c.at_bound for c in candidates):
            why = (f"revenue still rises in proportion to spend at the largest spend ({format_amount(float(np.max(spend)))} "
                   "per period), so where it saturates is not in the data")
        else:
            worst = min(c.relative_error for c in candidates)
            why = (f"many curves fit it about equally well (the best curve's lift or scale is uncertain by "
                   f"±{min(worst, 9.99):.0%})")
        return CellFit(None, candidates, constant, why)
    best_error = min(c.cv_error for c in usable)
    simple = sorted(usable, key=lambda c: (len(c.params), c.cv_error))
    chosen = next(c for c in simple if c.cv_error <= best_error * (1 + SIMPLER_WITHIN))
    return CellFit(chosen, candidates, constant)


def fit_points(spend: np.ndarray, response: np.ndarray) -> tuple[dict[str, float], float, float]:
    """A hill curve through exported response points (no base): parameters, R^2, worst gap / top.

    The points include ``(0, 0)``; the fit is unweighted least squares in the curve's own units.
    """
    xs, ys = float(np.max(spend)), float(np.max(response))
    x, y = spend / xs, response / ys
    lo, hi = [1e-6, SCALE_BOUNDS["hill"][0], SHAPE_BOUNDS[0]], [LIFT_MAX, SCALE_BOUNDS["hill"][1], SHAPE_BOUNDS[1]]
    best = None
    for half in (0.3, 1.0, 3.0):
        start = np.array([min(1.0 + half, 0.5 * LIFT_MAX), half, 1.0])
        res = least_squares(lambda p: lift("hill", p, x) - y, start, bounds=(lo, hi), method="trf", x_scale="jac")
        if best is None or res.cost < best.cost:
            best = res
    fitted = lift("hill", best.x, x)
    r2 = 1.0 - float(np.sum((y - fitted) ** 2) / max(np.sum((y - y.mean()) ** 2), 1e-300))
    gap = float(np.max(np.abs(y - fitted)))
    params = {"max_lift": float(best.x[0] * ys), "half_saturation": float(best.x[1] * xs), "shape": float(best.x[2])}
    return params, r2, gap
