"""New breakpoints in a live model, and integer headcount held fixed: the exact-curve rounds.

The refinement of ``allocator/exact.py`` adds breakpoints to some cells' curves every round.
A rebuilt model then has other segment columns (and, on S-curves, other gate binaries and
rows) in the response block, so its columns and rows are renumbered. Instead of passing that
model to the solver again, :func:`mapping` says which new column and row *is* which old one:

* every column and row outside the response block is the same one, shifted by the change in
  the block's size (the other families do not depend on breakpoints; their sizes, kinds and
  labels are checked, else :class:`RebuildRequired`);
* in the response block, a cell-period's revenue column and response row are the same ones; a
  segment column over the same spend interval is the same one (its slope, a coefficient, may
  differ: the certificate model's envelope moves with its neighbours); gate binaries and gate
  rows are the same ones when the cell-period's breakpoints are unchanged, new ones otherwise; a
  carrying cell's spend columns and adstock rows (carryover) are the same ones, by key.

The solver model then retires the columns and rows that have no counterpart (columns fixed at
0 and continuous, rows free) and takes the new ones at its end
(:meth:`allocator.solve.HighsRunner.restructure`): the basis of the last solve stays, so an LP
re-solves warm. :func:`hold` fixes the integer headcount at given values (and makes those
columns continuous: with concave curves the model becomes an LP, solved warm and priced
directly) and releases it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from allocator.model.kinds import LE, RebuildReason, RebuildRequired, RowKind

if TYPE_CHECKING:
    from allocator.model.build import PlanningModel


@dataclass(frozen=True)
class Mapping:
    """Per column (row) of the new model: the column (row) of the old one it is, or -1 (new)."""

    col_from: np.ndarray
    row_from: np.ndarray


def mapping(old: PlanningModel, new: PlanningModel) -> Mapping:
    """Which of ``new``'s columns and rows are ``old``'s (the two differ in breakpoints only)."""
    ro0, ro1, co0, co1 = old.blocks["response"]
    rn0, rn1, cn0, cn1 = new.blocks["response"]
    dr, dc = rn1 - ro1, cn1 - co1
    same_rest = (list(old.blocks) == list(new.blocks) and (ro0, co0) == (rn0, cn0)
                 and old.nrows + dr == new.nrows and old.ncols + dc == new.ncols
                 and all(new.blocks[name] == (r0 + dr, r1 + dr, c0 + dc, c1 + dc)
                         for name, (r0, r1, c0, c1) in old.blocks.items() if name != "response"))
    if not same_rest or list(old.revenue) != list(new.revenue):
        raise RebuildRequired(RebuildReason.STRUCTURE, "families beside the response curves")
    if old.kinds[ro1:] != new.kinds[rn1:] or old.labels[ro1:] != new.labels[rn1:]:
        raise RebuildRequired(RebuildReason.STRUCTURE, "row labels")
    col_from = np.full(new.ncols, -1, dtype=np.int64)
    row_from = np.full(new.nrows, -1, dtype=np.int64)
    col_from[:cn0], col_from[cn1:] = np.arange(cn0), np.arange(co1, old.ncols)
    row_from[:rn0], row_from[rn1:] = np.arange(rn0), np.arange(ro1, old.nrows)
    # the block runs cell-period by cell-period: segments (and gates) then the revenue column;
    # gate rows then the response row
    oc, nc, orow, nrow = co0, cn0, ro0, rn0
    for k, ny in new.revenue.items():
        oy, orr, nrr = old.revenue[k], old.response_rows[k], new.response_rows[k]
        col_from[ny], row_from[nrr] = oy, orr
        ob, nb = old.breakpoints[k], new.breakpoints[k]
        if (oy - oc, orr - orow) == (ny - nc, nrr - nrow) and _same(ob, nb):
            col_from[nc:ny], row_from[nrow:nrr] = np.arange(oc, oy), np.arange(orow, orr)
        elif ob is not None and nb is not None:  # a segment over the same spend is the same column
            was = dict(zip(zip(ob.spend[:-1].tolist(), ob.spend[1:].tolist()), old.segments[k][0].tolist()))
            for span, col in zip(zip(nb.spend[:-1].tolist(), nb.spend[1:].tolist()), new.segments[k][0].tolist()):
                col_from[col] = was.get(span, -1)
        oc, nc, orow, nrow = oy + 1, ny + 1, orr + 1, nrr + 1
    # carryover: a carrying cell's spend columns and adstock rows follow its periods; each is the
    # same one by its (region, channel, period), whatever the breakpoints did to the segments
    for k, col in new.spend_cols.items():
        col_from[col] = old.spend_cols.get(k, -1)
    for k, row in new.adstock_rows.items():
        row_from[row] = old.adstock_rows.get(k, -1)
    return Mapping(col_from, row_from)


def start(old: PlanningModel, new: PlanningModel, mapping: Mapping, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A MIP start for ``new`` from ``old``'s plan (``values``): its integer columns only (HiGHS
    completes the rest with them fixed). Each cell-period spends what the plan spent, filling
    the new segments in order, so a gate is open where its run holds spend; every other integer
    column (headcount) keeps its value."""
    integer = new.form.integer
    out = np.zeros(new.ncols)
    kept = mapping.col_from >= 0
    out[kept] = values[mapping.col_from[kept]]
    fill = np.zeros(new.ncols)
    for k, (cols, _) in new.segments.items():
        if len(cols):
            spend = float(values[old.segments[k][0]].sum())
            widths = new.form.ub[cols]
            fill[cols] = np.clip(spend - (np.cumsum(widths) - widths), 0.0, widths)
    gates = [i for i, kind in enumerate(new.kinds) if kind == RowKind.CURVE_ORDER and new.labels[i][1] == int(LE)]
    if gates:
        m = new.form.matrix[gates]
        rows = np.repeat(np.arange(len(gates)), np.diff(m.indptr))
        seg, gate = m.data > 0, m.data < 0  # d_j - w_j g <= 0: the segment and its gate
        held = np.zeros(len(gates))
        np.maximum.at(held, rows[seg], fill[m.indices[seg]])
        g = m.indices[gate]
        out[g] = 0.0
        np.maximum.at(out, g, (held[rows[gate]] > 0).astype(float))
    cols = np.flatnonzero(integer)
    return cols, np.round(out[cols])


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is b
    return np.array_equal(a.spend, b.spend) and np.array_equal(a.lift, b.lift)


def refinement_only(model: PlanningModel, data) -> bool:
    """Whether ``data`` differs from ``model``'s in the refinement's breakpoints alone."""
    from allocator.model.response import _breakpoint_inputs

    old, new = model.response_key, _breakpoint_inputs(model, data)
    return old is not None and old[:-1] == new[:-1]


def held_columns(model: PlanningModel, fixed: dict) -> tuple[np.ndarray, np.ndarray]:
    """The core and temp-staff columns of ``fixed`` ((region, period) -> (core, temp)) and their values."""
    cols, values = [], []
    for key, (core, temp) in fixed.items():
        if key in model.core:
            cols.append(model.core[key])
            values.append(core)
        if key in model.temp:
            cols.append(model.temp[key])
            values.append(temp)
    return np.array(cols, dtype=np.int64), np.array(values, dtype=float)


def hold_form(model: PlanningModel, fixed: dict | None) -> np.ndarray:
    """Set ``model``'s arrays to its headcount held at ``fixed`` (``None``: as built); the
    columns whose bounds or integrality changed. The arrays as built are kept to release it."""
    f = model.form
    if model._free is None:
        loose = None if f.loose_ub is None else f.loose_ub.copy()
        model._free = (f.lb.copy(), f.ub.copy(), f.integer.copy(), loose)
    before = (f.lb.copy(), f.ub.copy(), f.integer.copy())
    f.lb[:], f.ub[:], f.integer[:] = model._free[:3]
    if f.loose_ub is not None and model._free[3] is not None:
        f.loose_ub[:] = model._free[3]
    if fixed:
        cols, values = held_columns(model, fixed)
        f.lb[cols] = f.ub[cols] = values
        if f.loose_ub is not None:  # the shadow-price LP (``price_ub``) holds them too
            f.loose_ub[cols] = values
        f.integer[cols] = False
        if not f.integer.any() and f.loose_ub is not None:  # an LP now, priced directly: no implied bounds
            free = np.ones(len(f.ub), dtype=bool)
            free[cols] = False
            f.ub[free] = f.loose_ub[free]
    model.held = dict(fixed) if fixed else None
    return np.flatnonzero((before[0] != f.lb) | (before[1] != f.ub) | (before[2] != f.integer))


def hold(model: PlanningModel, fixed: dict | None) -> None:
    """Hold ``model``'s integer headcount at ``fixed`` (``None``: release it), live model included."""
    if fixed is None and model.held is None:
        return
    cols = hold_form(model, fixed)
    if model._runner is not None and len(cols):
        model._runner.set_columns(cols, model.form, start=fixed is None)
