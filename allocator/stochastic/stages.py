"""The first stage of a stochastic plan: read off a solution, held fixed in a model, and the
restriction of S-shaped cells to the concave part of their curves (docs/uncertainty.md).

All bounds are set on the model's arrays and, when a HiGHS model is live, pushed to it, so a
model can be re-solved warm with another first stage (the two plans a VSS compares).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from allocator.model.build import PlanningModel
from allocator.model.kinds import RowKind
from allocator.model.samples import s_shaped

SPEND_ON = 1e-6  # share of the budget above which a cell-period counts as spending


@dataclass(frozen=True)
class FirstStage:
    """What every sample shares: planned spend per cell and period, the hiring plan, temp staff
    and the reserve (currency and heads)."""

    spend: dict  # (region, channel, period) -> planned spend
    core: dict  # (region, period) -> heads
    hires: dict
    releases: dict
    temp: dict
    reserve: float


def first_stage(model: PlanningModel, values: np.ndarray) -> FirstStage:
    """The first stage of a solution of ``model`` (heads rounded to whole people)."""
    unit = model.unit
    spend = {k: max(0.0, float(values[cols].sum()) * unit) for k, (cols, _) in model.segments.items()}

    def heads(where: dict) -> dict:
        return {k: float(np.round(values[c])) for k, c in where.items()}

    return FirstStage(spend, heads(model.core), {k: float(values[c]) for k, c in model.hires.items()},
                      {k: float(values[c]) for k, c in model.releases.items()}, heads(model.temp),
                      max(0.0, float(values[model.reserve]) * unit))


def set_bounds(model: PlanningModel, cols, lb, ub) -> None:
    """Column bounds in the model's arrays and in its live HiGHS model, if any."""
    cols = np.asarray(cols, dtype=np.int64)
    if not len(cols):
        return
    f = model.form
    f.lb[cols], f.ub[cols] = lb, ub
    runner = model._runner
    if runner is not None:
        runner.highs.changeColsBounds(len(cols), cols.astype(np.int32), f.lb[cols], f.ub[cols])


def fill(model: PlanningModel, key, spend: float) -> tuple[np.ndarray, np.ndarray]:
    """The first stage's segment columns of ``key`` filled in order up to ``spend`` (model units)."""
    cols = model.segments[key][0]
    widths = np.diff(model.breakpoints[key].spend) / model.unit
    before = np.concatenate([[0.0], np.cumsum(widths)[:-1]])
    return cols, np.clip(spend / model.unit - before, 0.0, widths)


def fix_first_stage(model: PlanningModel, fs: FirstStage) -> None:
    """Hold ``fs`` in ``model``: each sample then only sells and spends its reserve (the gates and
    the plan-of-record revenue stay free; they follow from the fixed spend)."""
    cols, values = [], []
    for key, (c, _) in model.segments.items():
        if len(c):
            segs, amount = fill(model, key, fs.spend.get(key, 0.0))
            cols.append(segs)
            values.append(amount)
    for where, amounts in ((model.core, fs.core), (model.hires, fs.hires), (model.releases, fs.releases),
                           (model.temp, fs.temp)):
        cols.append(np.array([where[k] for k in where], dtype=np.int64))
        values.append(np.array([amounts[k] for k in where], dtype=float))
    cols.append(np.array([model.reserve], dtype=np.int64))
    values.append(np.array([fs.reserve / model.unit]))
    c, v = np.concatenate(cols), np.concatenate(values)
    set_bounds(model, c, v, v)


def concave_part(model: PlanningModel, spending: dict) -> None:
    """S-shaped cells on the concave part of every drawn curve: where ``spending[key]`` the segments
    up to the last rise of any drawn (or the nominal) curve are full and their gates open; elsewhere
    the cell does not spend. Beyond the last rise every sample's slopes fall, so the LP fills the
    shared segments in order without binaries."""
    shaped = s_shaped(model.data)
    cols, lo, hi = [], [], []
    opened = {}
    for key, slopes in model.shared_slopes.items():
        if key[:2] not in shaped:
            continue
        seg = model.segments[key][0]
        widths = np.diff(model.breakpoints[key].spend) / model.unit
        nominal = model.breakpoints[key].slopes
        every = np.vstack([nominal[None, :], slopes])
        rises = np.flatnonzero((every[:, 1:] > every[:, :-1] * (1 + 1e-9) + 1e-12).any(axis=0)) + 1
        last = int(rises.max()) if len(rises) else 0
        on = bool(spending.get(key, False))
        opened.update(dict.fromkeys(seg.tolist(), on))
        cols.append(seg)
        lo.append(np.where(np.arange(len(seg)) < last, widths, 0.0) if on else np.zeros(len(seg)))
        hi.append(widths if on else np.zeros(len(seg)))
    r0, r1 = model.blocks["response"][:2]
    for i in range(r0, r1):  # the first stage's own gates: open where the cell spends, shut elsewhere
        if model.kinds[i] == RowKind.CURVE_ORDER:
            seg, gate = model.row_cols[i][:2]
            if int(seg) in opened:
                cols.append(np.array([gate]))
                lo.append(np.array([1.0 if opened[int(seg)] else 0.0]))
                hi.append(lo[-1])
    if cols:
        set_bounds(model, np.concatenate(cols), np.concatenate(lo), np.concatenate(hi))


def spending(model_or_plan, data) -> dict:
    """Which S-shaped cell-periods a plan spends in (its ``allocation`` table)."""
    a = model_or_plan.allocation
    shaped = s_shaped(data)
    tol = SPEND_ON * data.budget
    return {(r, c, p): s > tol for r, c, p, s in zip(a.region, a.channel, a.period, a.spend) if (r, c) in shaped}


def sample_margins(model: PlanningModel, values: np.ndarray) -> np.ndarray:
    """Each sample's margin ``M^w`` in currency."""
    return np.array([float(b.margin[1] @ values[b.margin[0]]) for b in model.sample_blocks]) * model.unit


def reserve_used(model: PlanningModel, values: np.ndarray) -> np.ndarray:
    """The reserve each sample spends after the checkpoint (premium included), in currency."""
    rate = 1.0 + model.data.samples.premium if model.data.samples is not None else 1.0
    return np.array([float(values[list(b.recourse.values())].sum()) if b.recourse else 0.0
                     for b in model.sample_blocks]) * model.unit * rate
