"""What a fixed plan sells when the curves and bases are drawn (docs/uncertainty.md).

The plan fixes spend per cell and period and the sales capacity per region and period. In each
sample a cell's demand is ``s_t * (b * f_b + f~(x_t / s_t))`` on the drawn curve ``f~``. What is
sold is the most margin the reps can close: ``max sum m y`` subject to ``y <= demand`` per cell
and period, ``sum_c y <= capacity`` per region and period, and ``sum_ct y <= potential`` per region.
These limits are nested (laminar), so filling cells in falling order of margin is optimal; this
is the recourse the planning model itself would choose for the fixed spend and headcount.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from allocator.model import carryover
from allocator.model.data import PlanningData
from allocator.uncertainty import curves
from allocator.uncertainty.sampling import Draws

BINDING = 1e-6  # a capacity is binding, a floor missed, beyond this share of it (as constraints.csv)


@dataclass(frozen=True)
class FixedPlan:
    """The decisions a risk evaluation holds fixed, in ``data.cells`` x ``data.periods`` order."""

    spend: np.ndarray  # (cells, periods)
    capacity: np.ndarray  # (regions, periods); inf without a sales force
    people_cost: float
    effective: np.ndarray | None = None  # (cells, periods): the spend the curves apply to (carryover), else spend

    @property
    def cost(self) -> float:
        return float(self.spend.sum()) + self.people_cost


def fixed_plan(allocation: pd.DataFrame, headcount: pd.DataFrame, people_cost: float, data: PlanningData) -> FixedPlan:
    """Spend and capacity from a plan's ``allocation`` and ``headcount`` tables."""
    spend_of = {(r, c, p): float(s) for r, c, p, s in zip(allocation.region, allocation.channel, allocation.period, allocation.spend)}
    spend = np.array([[spend_of.get((cell.region, cell.channel, p), 0.0) for p in data.periods] for cell in data.cells])
    capacity = np.full((len(data.regions), len(data.periods)), np.inf)
    if headcount is not None and not headcount.empty:
        cap_of = {(r, p): float(c) for r, p, c in zip(headcount.region, headcount.period, headcount.capacity)}
        capacity = np.array([[cap_of.get((r, p), np.inf) for p in data.periods] for r in data.regions])
    spend = spend.reshape(len(data.cells), len(data.periods))
    effective = np.array([carryover.effective(cell.carryover, cell.prior_spend, spend[i])
                          for i, cell in enumerate(data.cells)]).reshape(spend.shape)
    return FixedPlan(spend, capacity, float(people_cost or 0.0), effective)


@dataclass(frozen=True)
class Outcome:
    """Realised figures per sample: ``sold[k, i, t]`` per cell, and totals."""

    sold: np.ndarray  # (samples, cells, periods)
    demand: np.ndarray  # (samples, cells, periods)
    margin: np.ndarray  # (samples,)
    capacity_binds: np.ndarray  # (samples, regions) bool: in some period the reps sell all they can

    @property
    def revenue(self) -> np.ndarray:
        return self.sold.sum(axis=(1, 2))


def demand(data: PlanningData, plan: FixedPlan, draws: Draws) -> np.ndarray:
    """Revenue each cell could sell in each period, per sample: ``(samples, cells, periods)``."""
    season = np.array([data.season[p] for p in data.periods])
    out = np.empty((draws.samples, len(data.cells), len(data.periods)))
    with np.errstate(divide="ignore", invalid="ignore"):
        for i, cell in enumerate(data.cells):
            spend = plan.spend[i] if plan.effective is None else plan.effective[i]
            annual = np.where(season > 0, spend / np.where(season > 0, season, 1.0), 0.0)
            lift = curves.value(cell.curve, draws.cell(i), annual)
            base = cell.base * draws.factors["base"][:, i : i + 1]
            out[:, i, :] = season * (base + np.where(season > 0, lift, 0.0))
    return out


def realise(data: PlanningData, plan: FixedPlan, draws: Draws) -> Outcome:
    """Sell each sample's demand within capacity and potential, highest margin first."""
    want = demand(data, plan, draws)
    sold = np.zeros_like(want)
    binds = np.zeros((draws.samples, len(data.regions)), dtype=bool)
    for r, region in enumerate(data.regions):
        members = [i for i, cell in enumerate(data.cells) if cell.region == region]
        members.sort(key=lambda i: -data.cells[i].margin)  # stable: scenario order among equals
        room = np.broadcast_to(plan.capacity[r], (draws.samples, len(data.periods))).copy()
        potential = np.full(draws.samples, data.potential.get(region, np.inf))
        for i in members:
            for t in range(len(data.periods)):
                y = np.minimum(np.minimum(want[:, i, t], room[:, t]), potential)
                sold[:, i, t] = y
                room[:, t] -= y
                potential -= y
        total_want = want[:, members, :].sum(axis=1)
        cap = plan.capacity[r]
        binds[:, r] = np.any(np.isfinite(cap) & (total_want >= cap * (1 - BINDING)), axis=1)
    margin_of = np.array([cell.margin for cell in data.cells])
    margin = np.einsum("kit,i->k", sold, margin_of) - plan.cost
    return Outcome(sold, want, margin, binds)
