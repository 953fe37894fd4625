"""What differs between the live model and the same model rebuilt from changed data.

Like linopy's persistent models, a changed scenario is built again (cheaply: arrays, and the
response block is reused when its breakpoints are unchanged) and compared with the live one: if
rows, columns and the sparsity pattern are the same, the differing coefficients, bounds,
right-hand sides and costs are all that the solver needs; otherwise :class:`RebuildRequired`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from allocator.model.kinds import RebuildReason, RebuildRequired


@dataclass(frozen=True)
class Change:
    """The numbers to push into a live solver model (indices into the old and new arrays alike)."""

    coef_rows: np.ndarray
    coef_cols: np.ndarray
    coef_values: np.ndarray
    rows: np.ndarray
    row_lo: np.ndarray
    row_hi: np.ndarray
    cols: np.ndarray
    lb: np.ndarray
    ub: np.ndarray
    cost_cols: np.ndarray
    costs: np.ndarray

    @property
    def empty(self) -> bool:
        return not (len(self.coef_rows) or len(self.rows) or len(self.cols) or len(self.cost_cols))


def diff(old, new) -> Change:
    """The change that turns ``old``'s arrays into ``new``'s, or :class:`RebuildRequired`."""
    if (old.nrows, old.ncols) != (new.nrows, new.ncols):
        raise RebuildRequired(RebuildReason.STRUCTURE, _family_sizes(old, new))
    if old.kinds != new.kinds or old.labels != new.labels:
        raise RebuildRequired(RebuildReason.STRUCTURE, "row labels")
    a, b = old.form, new.form
    if not np.array_equal(a.integer, b.integer):
        raise RebuildRequired(RebuildReason.INTEGRALITY)
    if not (np.array_equal(a.matrix.indptr, b.matrix.indptr) and np.array_equal(a.matrix.indices, b.matrix.indices)):
        raise RebuildRequired(RebuildReason.SPARSITY)
    entries = np.flatnonzero(a.matrix.data != b.matrix.data)
    row_of = np.repeat(np.arange(new.nrows), np.diff(b.matrix.indptr))
    rows = np.flatnonzero((a.row_lo != b.row_lo) | (a.row_hi != b.row_hi))
    cols = np.flatnonzero((a.lb != b.lb) | (a.ub != b.ub) | (a.price_ub != b.price_ub))
    costs = np.flatnonzero(a.c != b.c)
    return Change(row_of[entries], b.matrix.indices[entries].astype(np.int64), b.matrix.data[entries],
                  rows, b.row_lo[rows], b.row_hi[rows], cols, b.lb[cols], b.ub[cols], costs, b.c[costs])


def _family_sizes(old, new) -> str:
    for name, (r0, r1, c0, c1) in new.blocks.items():
        o = old.blocks.get(name)
        if o is None or (o[1] - o[0], o[3] - o[2]) != (r1 - r0, c1 - c0):
            return f"the {name.replace('_', ' ')} rows"
    return "rows or columns"
