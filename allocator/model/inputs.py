"""Which inputs each constraint family was built from, so that ``update`` rebuilds only the
families whose inputs changed (``PlanningModel.update``, ``docs/performance.md``).

Nothing here is declared by hand for the planning data: while a family builds, it sees the
planning data through :class:`DataView`, which records every field it reads (and, for the cells,
every cell attribute). A family is a deterministic function of what it read, of the model's
money unit and flags, and of the families before it that it takes columns or terms from
(:data:`NEEDS`); so when all of those are unchanged, its rows and columns are the same, and
``update`` copies them instead of building them again. A field a family starts to read (a new
feature) is recorded the same way: no list to keep in step, no change skipped silently.

What a family leaves on the model besides its rows and columns (its column maps and terms) is
:data:`STATE`; every full build checks that a family changes no other attribute of the model.
"""

from __future__ import annotations

import types
from dataclasses import fields

from allocator.model.data import Cell, PlanningData

# the families a family takes columns or terms from (earlier in the build)
NEEDS: dict[str, tuple[str, ...]] = {
    "response": (),
    "spend_bounds": ("response",),
    "period_spend": ("response",),
    "staffing": ("response",),
    "budget": ("response", "staffing"),
    "growth_floors": ("response",),
    "potential": ("response",),
    "revenue_floor": ("response",),
    "roi": ("response",),
    "policies": ("response", "staffing"),
    "change_limits": ("response",),
    "past": ("response", "staffing"),
}
# the model attributes a family sets besides its rows and columns (taken over with its block)
STATE: dict[str, tuple[str, ...]] = {
    "response": ("segments", "revenue", "response_rows", "breakpoints", "cell_segments",
                 "filter_cache", "response_key", "spend_cols", "adstock_rows", "cell_spend", "spend_all"),
    "staffing": ("core", "hires", "releases", "temp", "people_cost_terms", "capacity_terms"),
    "budget": ("reserve",),
    "policies": ("filter_cache",),  # the response block's cache of what each policy filter selects
}
BOOKKEEPING = {"kinds", "labels", "names", "meta", "sense", "rhs", "scale", "slack", "row_cols", "row_vals", "ncols",
               "col_chunks", "_form", "_copied", "objective_terms", "blocks", "data"}
_DATA_FIELDS = {f.name for f in fields(PlanningData)}
_CELL_FIELDS = {f.name for f in fields(Cell)}


class Reads:
    """The planning-data fields and cell attributes one family read."""

    def __init__(self) -> None:
        self.data: set[str] = set()
        self.cell: set[str] = set()


class CellView:
    """A cell that records which of its attributes are read."""

    __slots__ = ("_cell", "_reads")

    def __init__(self, cell: Cell, reads: Reads):
        self._cell, self._reads = cell, reads

    def __getattr__(self, name: str):
        if name in _CELL_FIELDS:
            self._reads.cell.add(name)
        return getattr(self._cell, name)


class DataView:
    """Planning data that records which fields are read (its methods read through the view too)."""

    def __init__(self, data: PlanningData, reads: Reads):
        self._data, self._reads = data, reads
        self._cells = tuple(CellView(c, reads) for c in data.cells)

    def __getattr__(self, name: str):
        if name in _DATA_FIELDS:
            self._reads.data.add(name)
            return self._cells if name == "cells" else getattr(self._data, name)
        attr = getattr(type(self._data), name, None)
        if isinstance(attr, types.FunctionType):  # e.g. ``matches``: what it reads is recorded too
            return types.MethodType(attr, self)
        return getattr(self._data, name)


def key(data: PlanningData, reads: Reads) -> tuple:
    """The values of what a family read: equal keys, equal family (given the same ``NEEDS``)."""
    own = tuple((name, getattr(data, name)) for name in sorted(reads.data - {"cells"}))
    cells = ()
    if "cells" in reads.data:
        names = sorted(reads.cell)
        cells = (len(data.cells), tuple(tuple(getattr(c, n) for n in names) for c in data.cells), tuple(names))
    return own, cells


def snapshot(model) -> dict:
    """Each model attribute's identity and size, to tell what a family set."""
    return {k: (id(v), len(v) if hasattr(v, "__len__") else None) for k, v in vars(model).items()}


def check_state(name: str, before: dict, after: dict) -> None:
    """A family may set only its :data:`STATE` (and rows and columns): else copying its block
    would leave the rest behind."""
    changed = {k for k, v in after.items() if k not in BOOKKEEPING and before.get(k) != v}
    extra = changed - set(STATE.get(name, ())) - {"budget_extension"}
    if extra:
        raise RuntimeError(f"the {name} family sets {sorted(extra)}: add them to allocator.model.inputs.STATE")
