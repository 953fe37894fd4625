"""Revenue targets cut by time: plan periods -> months -> days, and days gathered into ISO weeks.

Targets are whole numbers of rounding units at every step (see ``rounding.py``):

1. the plan's revenue per (region, channel, period) is rounded top-down, company total ->
   region -> region x channel -> period, so each level sums exactly to the one above;
2. each period target is split over the months it covers (a week across a month end covers
   two), by ``month_shares`` or by working days;
3. each month piece is split over its days by day weight (weekday share; 0 on holidays and
   closed weekdays);
4. weeks are sums of days, so every week, month and period total is an exact integer sum.
"""

from __future__ import annotations

import pandas as pd

from allocator.decompose.rounding import round_hierarchy, split_frame

CELL = ["region", "channel", "period"]
MONTH_COLUMNS = ["region", "channel", "period", "month", "first", "last", "working_days", "target"]
WEEK_COLUMNS = ["region", "channel", "period", "week", "first", "last", "working_days", "target"]
DAY_COLUMNS = ["region", "channel", "period", "date", "month", "week", "weekday", "working", "target"]


def period_units(allocation: pd.DataFrame, unit: float) -> pd.DataFrame:
    """``region, channel, period, units``: the plan's revenue in whole units, rounded top-down."""
    frame = allocation[CELL + ["revenue"]].reset_index(drop=True)
    return frame[CELL].assign(units=round_hierarchy(frame, ["region", "channel", "period"], "revenue", unit))


def month_units(periods: pd.DataFrame, pieces: pd.DataFrame) -> pd.DataFrame:
    """Each period target over its month pieces (raises ``NoWeight`` for a period with no weight)."""
    children = periods[CELL].merge(pieces, on="period", how="inner", sort=False)
    children["units"] = split_frame(periods, children, CELL, "weight")
    return children


def day_units(months: pd.DataFrame, days: pd.DataFrame) -> pd.DataFrame:
    """Each month piece over its days by day weight (raises ``NoWeight`` for a piece with no working day)."""
    key = CELL + ["month"]
    children = months[key].merge(days, on=["period", "month"], how="inner", sort=False)
    children["units"] = split_frame(months, children, key, "weight")
    return children


def week_units(day_table: pd.DataFrame) -> pd.DataFrame:
    """Days gathered by ISO week inside each period (a week across a period boundary has two rows)."""
    return day_table.groupby(CELL + ["week"], sort=False).agg(
        first=("date", "min"), last=("date", "max"), working_days=("working", "sum"), units=("units", "sum"),
    ).reset_index()


def in_currency(frame: pd.DataFrame, unit: float, columns: list[str]) -> pd.DataFrame:
    """``units`` as ``target`` in currency (whole numbers), with the table's columns in order."""
    out = frame.assign(target=frame["units"].astype("int64") * int(unit))
    return out[columns].reset_index(drop=True)
