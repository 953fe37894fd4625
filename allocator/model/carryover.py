"""Carryover (geometric adstock, ``docs/model.md``): the response of period ``t`` applies to the
effective spend ``a_t = sum_{k=0..L} w_k x_{t-k}`` with ``w_k = d^k / sum_{j=0..L} d^j``, so a
constant spend ``x`` gives ``a = x`` (the same annual response as without carryover). Spend before
the horizon (``x_{-1}, x_{-2}, ...``) is the cell's ``prior_spend``, most recent first.

This module holds the numbers only (weights, effective spend, the marginal value of a period's
spend); the model's columns and rows are in ``response.py`` (:func:`add_adstock`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def weights(decay: float, max_lag: int) -> tuple[float, ...]:
    """``w_0..w_L``, summing to 1; ``()`` when there is no carryover (``decay`` 0 or ``max_lag`` 0)."""
    if decay <= 0.0 or max_lag <= 0:
        return ()
    raw = decay ** np.arange(max_lag + 1)
    return tuple(float(w) for w in raw / raw.sum())


def of_cell(cell, channel) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """A scenario cell's weights and its prior spend per lag (``max_lag`` amounts, most recent
    first): the cell's carryover, else its channel's; one prior amount stands for every lag."""
    carry = cell.carryover if cell.carryover is not None else getattr(channel, "carryover", None)
    if carry is None:
        return (), ()
    w = weights(carry.decay, carry.max_lag)
    if not w:
        return (), ()
    prior = cell.prior_spend
    if prior is None:
        prior = ()
    elif not isinstance(prior, tuple):
        prior = (float(prior),) * carry.max_lag
    prior = tuple(float(p) for p in prior) + (0.0,) * (carry.max_lag - len(prior))
    return w, prior


def prior_part(w: Sequence[float], prior: Sequence[float], t: int) -> float:
    """What spend before the horizon adds to ``a_t``: ``sum_{k > t} w_k x_{t-k}``."""
    return float(sum(w[k] * prior[k - t - 1] for k in range(t + 1, len(w))))


def effective(w: Sequence[float], prior: Sequence[float], spend: np.ndarray) -> np.ndarray:
    """``a_t`` for each period of ``spend`` (``spend`` itself without carryover)."""
    spend = np.asarray(spend, dtype=float)
    if not w:
        return spend.copy()
    out = np.zeros(len(spend))
    for k, wk in enumerate(w):
        out[k:] += wk * spend[: max(0, len(spend) - k)]
    return out + np.array([prior_part(w, prior, t) for t in range(len(spend))])


def spread(w: Sequence[float], per_period: np.ndarray) -> np.ndarray:
    """``sum_k w_k v_{t+k}`` for each period ``t``: what one more unit spent in ``t`` is worth when
    ``v`` is the value of one more unit of effective spend in each period (within the horizon)."""
    per_period = np.asarray(per_period, dtype=float)
    if not w:
        return per_period.copy()
    n = len(per_period)
    out = np.zeros(n)
    for k, wk in enumerate(w):
        out[: max(0, n - k)] += wk * per_period[k:]
    return out
