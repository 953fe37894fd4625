"""Product targets: each month's target of a region (or region x channel) split over products.

Weights, for one parent (a region's month piece):

- products with an explicit ``share`` (new products) get it first;
- the rest of the parent goes to the other products, either by tier (``tiers: {star: 40%,
  potential: 30%, long_tail: 30%}``, equal within a tier) or by each product's share of the
  same month last year in the history (of the same region / channel when the history has
  those columns).

The units are then split by largest remainder, so the products sum exactly to the month.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from allocator.decompose.calendar import add_months
from allocator.decompose.config import Products
from allocator.decompose.rounding import split

COLUMNS = ["region", "channel", "period", "month", "product", "tier", "share", "target"]  # channel: by region_channel


def tier_weights(products: pd.DataFrame, tiers: dict[str, float]) -> np.ndarray:
    """Share of each product: explicit shares first, the rest by tier, equal inside a tier."""
    explicit = products["share"].notna().to_numpy()
    rest = 1.0 - float(products.loc[explicit, "share"].sum())
    open_rows = products.loc[~explicit]
    used = {t: v for t, v in tiers.items() if t in set(open_rows["tier"])}
    total = sum(used.values())
    counts = open_rows["tier"].value_counts()
    weights = np.where(explicit, products["share"].fillna(0.0).to_numpy(), 0.0)
    if total > 0:
        for i, (tier, is_explicit) in enumerate(zip(products["tier"], explicit)):
            if not is_explicit:
                weights[i] = rest * used.get(tier, 0.0) / total / counts[tier]
    return weights


def last_year(month: str) -> str:
    year, mon = (int(x) for x in month.split("-"))
    day = add_months(pd.Timestamp(year=year, month=mon, day=1).date(), -12)
    return f"{day.year:04d}-{day.month:02d}"


def history_weights(products: pd.DataFrame, history: pd.DataFrame) -> np.ndarray | None:
    """Shares from last year's revenue in ``history`` (already filtered to one month and scope).

    ``None`` when the history has no revenue for the products that need it.
    """
    explicit = products["share"].notna().to_numpy()
    rest = 1.0 - float(products.loc[explicit, "share"].sum())
    revenue = history.groupby("product")["revenue"].sum()
    open_revenue = np.array([0.0 if e else float(revenue.get(p, 0.0)) for p, e in zip(products["product"], explicit)])
    weights = np.where(explicit, products["share"].fillna(0.0).to_numpy(), 0.0)
    if rest > 1e-12 and not explicit.all():
        if open_revenue.sum() <= 0:
            return None
        weights = weights + rest * open_revenue / open_revenue.sum()
    return weights


def product_units(months: pd.DataFrame, products: pd.DataFrame, cfg: Products,
                  history: pd.DataFrame | None) -> tuple[pd.DataFrame, list[str]]:
    """Product rows under each parent month piece, and the parents history cannot split."""
    scope = ["region", "channel"] if cfg.by == "region_channel" else ["region"]
    parents = months.groupby(scope + ["period", "month"], sort=False)["units"].sum().reset_index()
    fixed = tier_weights(products, cfg.tiers) if cfg.split == "tiers" else None
    rows, missing = [], []
    for parent in parents.itertuples(index=False):
        if fixed is not None:
            weights = fixed
        else:
            past = history[history["month"] == last_year(parent.month)]
            for column in scope:
                if column in past.columns:
                    past = past[past[column] == getattr(parent, column)]
            weights = history_weights(products, past)
            if weights is None:
                where = " ".join(f"{c} {getattr(parent, c)}" for c in scope if c in history.columns)
                missing.append(f"{last_year(parent.month)}{' (' + where + ')' if where else ''}, "
                               f"needed for {parent.month}")
                continue
        units = split(int(parent.units), weights)
        for (product, tier), share, n in zip(products[["product", "tier"]].itertuples(index=False), weights, units):
            rows.append((*[getattr(parent, c) for c in scope], parent.period, parent.month, product, tier, share, n))
    frame = pd.DataFrame(rows, columns=scope + ["period", "month", "product", "tier", "share", "units"])
    return frame, list(dict.fromkeys(missing))
