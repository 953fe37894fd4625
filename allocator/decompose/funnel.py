"""The lead funnel behind each target: deliveries, orders, drafts, opportunities and leads.

For one region and period with target ``T``, and sources with deal shares ``s_i`` and average
deal values ``v_i``, source ``i`` carries ``T_i = T s_i v_i / sum(s_j v_j)`` of the target (split
by largest remainder, so the sources sum exactly to ``T``) and must deliver ``ceil(T_i / v_i)``
deals: ``s_i`` of all deals. Each earlier stage is the next one divided by its conversion rate, rounded up
to a whole number *from the whole number after it* (11 orders at 40% need 28 drafts, not 27).

>>> needed(10, {"lead_to_opportunity": 0.85, "opportunity_to_draft": 0.30,
...             "draft_to_order": 0.40, "order_to_delivery": 0.95})
{'deliveries': 10, 'orders': 11, 'drafts': 28, 'opportunities': 94, 'leads': 111}
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from allocator.decompose.rounding import split

COLUMNS = ["region", "period", "source", "target", "deal_value", "deliveries", "orders", "drafts",
           "opportunities", "leads"]
# (stage, the rate that converts it into the stage after it)
BACKWARD = (("orders", "order_to_delivery"), ("drafts", "draft_to_order"),
            ("opportunities", "opportunity_to_draft"), ("leads", "lead_to_opportunity"))


def ceil_whole(x: float) -> int:
    """Round up, ignoring floating-point dust (``28 / 0.4`` is 70, not 71)."""
    return int(math.ceil(round(x, 9)))


def needed(deliveries: int, rates) -> dict[str, int]:
    counts = {"deliveries": int(deliveries)}
    after = counts["deliveries"]
    for stage, rate in BACKWARD:
        after = ceil_whole(after / rates[rate])
        counts[stage] = after
    return counts


def funnel_table(region_units: pd.DataFrame, sources: pd.DataFrame, unit: float) -> pd.DataFrame:
    """``region_units``: region, period, units. One row per region, period and source."""
    weights = (sources["share"] * sources["deal_value"]).to_numpy(dtype=float)
    rows = []
    for item in region_units.itertuples(index=False):
        parts = split(int(item.units), weights) if item.units else np.zeros(len(sources), dtype=np.int64)
        for src, n in zip(sources.itertuples(index=False), parts):
            target = int(n) * int(unit)
            counts = needed(ceil_whole(target / src.deal_value), src._asdict())
            rows.append((item.region, item.period, src.source, target, src.deal_value, *(counts[c] for c in COLUMNS[5:])))
    return pd.DataFrame(rows, columns=COLUMNS)
