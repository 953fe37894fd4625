"""Response curves evaluated for many sampled parameter sets at once (numpy broadcasting).

``value(curve, factors, spend)`` is ``allocator.model.curves.value`` with every parameter of
``curve`` multiplied by its sampled factor: ``factors[name]`` broadcasts against ``spend`` (for
example shape ``(S, 1)`` against spends of shape ``(T,)`` gives ``(S, T)``). A parameter missing
from ``factors`` keeps its nominal value.

>>> import numpy as np
>>> from allocator.scenario.schema import ExpCurve
>>> c = ExpCurve(type="exp", max_lift=100.0, scale=10.0)
>>> value(c, {"max_lift": np.array([[1.0], [2.0]])}, np.array([10.0])).round(3).tolist()
[[63.212], [126.424]]
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from allocator.model.curves import Curve
from allocator.scenario.schema import ExpCurve, HillCurve, LinearCurve, LogCurve, PointsCurve


def value(curve: Curve, factors: Mapping[str, np.ndarray], spend) -> np.ndarray:
    """Annual lift ``f(X)`` at annual spends ``spend`` for every sampled parameter set."""
    x = np.maximum(np.asarray(spend, dtype=float), 0.0)

    def p(name: str, nominal: float):
        return nominal * factors[name] if name in factors else nominal

    if isinstance(curve, HillCurve):
        ratio = (x / p("half_saturation", curve.half_saturation)) ** p("shape", curve.shape)
        return p("max_lift", curve.max_lift) * ratio / (1.0 + ratio)
    if isinstance(curve, ExpCurve):
        return p("max_lift", curve.max_lift) * -np.expm1(-x / p("scale", curve.scale))
    if isinstance(curve, LogCurve):
        return p("scale_lift", curve.scale_lift) * np.log1p(x / p("scale", curve.scale))
    if isinstance(curve, LinearCurve):
        cap = np.inf if curve.cap is None else p("cap", curve.cap)
        return p("roas", curve.roas) * np.minimum(x, cap)
    if isinstance(curve, PointsCurve):
        pts = np.asarray(curve.points, dtype=float)
        spend_factor = factors.get("spend", 1.0)
        x, spend_factor = np.broadcast_arrays(x, spend_factor)
        inner = np.interp(x / spend_factor, pts[:, 0], pts[:, 1], right=pts[-1, 1])
        return p("lift", 1.0) * inner
    raise TypeError(f"unknown curve {type(curve).__name__}")


def varied(curve: Curve, factors: Mapping[str, float]) -> dict:
    """The curve (as scenario data) with its parameters multiplied by one draw's factors."""
    data = curve.model_dump(mode="json", exclude_none=True)
    if isinstance(curve, PointsCurve):
        fx, fy = factors.get("spend", 1.0), factors.get("lift", 1.0)
        data["points"] = [[x * fx, y * fy] for x, y in curve.points]
        return data
    for name, factor in factors.items():
        if name in data and name != "type":
            data[name] = data[name] * factor
    return data
