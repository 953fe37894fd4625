"""Family 13: a re-plan's periods that are over, fixed to their actuals (``docs/replan.md``).

For every cell and past period ``t``: its spend ``x_rct = X_rct`` (through ``spend_terms``, so a
carrying cell's explicit spend column is the one fixed) and its revenue ``y_rct = Y_rct``; for
every region with a sales force its core heads ``h_rt = H_rt`` and temp staff ``e_rt = E_rt``.
The actual revenue may differ from what the curve says the actual spend brings: the response row
of a past period has a free surprise column (``allocator/model/response.py``) and its capacity row
is left out (``staffing.py``), so actuals are never infeasible. Everything that sums over the
year (budget, annual spend bounds, floors, policies, the objective) then counts actuals plus plan.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from allocator.model.kinds import EQ, RowKind
from allocator.model.response import cell_label

if TYPE_CHECKING:
    from allocator.model.build import PlanningModel


def add_past(model: PlanningModel) -> None:
    past, unit = model.data.past, model.unit
    if past is None:
        return
    for (region, channel, period), spend in past.spend.items():
        key = (region, channel, period)
        label = f"{cell_label(region, channel)},{period}"
        model.add_row(RowKind.PAST, ("spend", region, channel, period), f"past_spend[{label}]",
                      model.spend_terms([key]), EQ, spend / unit, unit, region=region, period=period)
        model.add_row(RowKind.PAST, ("revenue", region, channel, period), f"past_revenue[{label}]",
                      model.revenue_terms([key]), EQ, past.revenue[key] / unit, unit, region=region, period=period)
    for what, columns, values in (("core", model.core, past.core), ("temp", model.temp, past.temp)):
        for (region, period), heads in values.items():
            col = columns.get((region, period))
            if col is None:
                continue  # no temp staff in that period: the loader refused any but 0
            t = (np.array([col], dtype=np.int64), np.ones(1))
            model.add_row(RowKind.PAST, (what, region, period), f"past_{what}[{region},{period}]", t, EQ,
                          float(heads), 1.0, region=region, period=period)
