"""Synthetic spend/revenue histories from known curves: for tests and the example history.

A history period is one of ``periods_per_horizon`` equal periods of the plan's horizon, so its
revenue is ``base / P + f(P * a_t) / P`` (``model.md``'s seasonal period curve with ``s_t = 1/P``),
plus noise. ``scenarios/history_retail.csv`` was written by :func:`write_example_history`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from allocator.fit.curvefit import adstock
from allocator.model.curves import value
from allocator.scenario.schema import ResponseCell


def curve_scale(cell: ResponseCell) -> float:
    """The spend scale of a cell's curve (half saturation or scale), annual."""
    curve = cell.curve
    return float(getattr(curve, "half_saturation", None) or getattr(curve, "scale", None) or 1.0)


def history(cells: list[ResponseCell], periods: list[str], periods_per_horizon: int, *, seed: int = 0,
            noise: float = 0.02, spend_range: tuple[float, float] = (0.1, 3.0),
            decay: float | None = None, max_lag: int = 3) -> pd.DataFrame:
    """One row per cell and period: spend drawn uniformly in ``spend_range`` times the curve's scale
    (per period), revenue from the true curve with normal noise of ``noise`` times its mean."""
    rng = np.random.default_rng(seed)
    p = periods_per_horizon
    frames = []
    for cell in cells:
        low, high = (r * curve_scale(cell) / p for r in spend_range)
        spend = rng.uniform(low, high, len(periods))
        effective = spend if decay is None else adstock(spend, decay, max_lag)
        clean = cell.base / p + value(cell.curve, p * effective) / p
        revenue = np.maximum(clean + rng.normal(0.0, noise * clean.mean(), len(periods)), 0.0)
        frames.append(pd.DataFrame({"region": cell.region, "channel": cell.channel, "period": periods,
                                    "spend": spend.round(2), "revenue": revenue.round(2)}))
    return pd.concat(frames, ignore_index=True)


def weeks(first: dt.date, count: int) -> list[str]:
    return [(first + dt.timedelta(weeks=k)).isoformat() for k in range(count)]


def write_example_history(path: Path) -> None:
    """``scenarios/history_retail.csv``: 52 weeks of the cells of ``models/q3_retail.yaml``.

    The plan's horizon is a quarter of 12 weeks (``scenarios/fitted_plan.yaml``), so
    ``periods_per_horizon`` is 12.
    """
    from allocator.scenario.yaml_io import load_yaml

    root = Path(__file__).resolve().parents[2]
    model = load_yaml(root / "models" / "q3_retail.yaml")
    cells = [ResponseCell.model_validate(c) for c in model["response"]]
    history(cells, weeks(dt.date(2026, 1, 5), 52), 12, seed=2026, noise=0.03).to_csv(path, index=False)
