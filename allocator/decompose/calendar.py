"""The plan's periods as dates: one row per day with its period, month, ISO week and weight.

A day's weight is its weekday's share of sales (equal when no profile is given), and 0 on a
holiday or a closed weekday; a working day is a day of positive weight.

>>> weekday_shares_from_sample([9654, 9687, 11654, 10625, 11687, 17110, 16583])["sat"]  # doctest: +ELLIPSIS
0.19666...
"""

from __future__ import annotations

import calendar as _cal
import datetime as dt
from collections.abc import Sequence

import numpy as np
import pandas as pd

from allocator.decompose.config import WEEKDAYS, Calendar

DAY_COLUMNS = ["date", "period", "month", "week", "weekday", "working", "weight"]


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` later, clipped to the month's end (Jan 31 + 1 month = Feb 28)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = _cal.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


def period_spans(cal: Calendar, periods: Sequence[str]) -> dict[str, tuple[dt.date, dt.date]]:
    """First and last day of each period, in the scenario's order."""
    if cal.period_dates is not None:
        return {p: cal.period_dates[p] for p in periods}
    spans = {}
    for i, name in enumerate(periods):
        if cal.period == "week":
            first, nxt = cal.start + dt.timedelta(days=7 * i), cal.start + dt.timedelta(days=7 * (i + 1))
        else:
            step = 3 if cal.period == "quarter" else 1
            first, nxt = add_months(cal.start, step * i), add_months(cal.start, step * (i + 1))
        spans[name] = (first, nxt - dt.timedelta(days=1))
    return spans


def weekday_shares_from_sample(sample: Sequence[float]) -> dict[str, float]:
    """Monday..Sunday sales (any common scale) as shares of the week."""
    total = float(sum(sample))
    return {d: float(v) / total for d, v in zip(WEEKDAYS, sample)}


def iso_week(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def build_days(cal: Calendar, periods: Sequence[str], weekday_shares: dict[str, float] | None) -> pd.DataFrame:
    """One row per day of every period: ``DAY_COLUMNS``."""
    spans = period_spans(cal, periods)
    holidays: set[dt.date] = set()
    for first, last in cal.holidays:
        holidays.update(first + dt.timedelta(days=n) for n in range((last - first).days + 1))
    shares = weekday_shares or dict.fromkeys(WEEKDAYS, 1 / 7)
    closed = set(cal.closed_weekdays)
    rows = []
    for period in periods:
        first, last = spans[period]
        for n in range((last - first).days + 1):
            day = first + dt.timedelta(days=n)
            weekday = WEEKDAYS[day.weekday()]
            weight = 0.0 if day in holidays or weekday in closed else shares[weekday]
            rows.append((day, period, f"{day.year:04d}-{day.month:02d}", iso_week(day), weekday, weight > 0, weight))
    return pd.DataFrame(rows, columns=DAY_COLUMNS)


def month_pieces(days: pd.DataFrame, cal: Calendar) -> pd.DataFrame:
    """The months inside each period (a week across a month end has two), with their weights.

    ``weight`` is the piece's share of its period before rounding: ``month_shares`` when given
    (their count must match; checked by the caller via ``share_count_problems``), otherwise its
    working days (``month_profile: working_days``) or its summed day weights (``weighted_days``).
    """
    pieces = days.groupby(["period", "month"], sort=False).agg(
        first=("date", "min"), last=("date", "max"), working_days=("working", "sum"), day_weight=("weight", "sum"),
    ).reset_index()
    if cal.month_shares is not None:
        position = pieces.groupby("period", sort=False).cumcount().to_numpy()
        shares = np.asarray(cal.month_shares, dtype=float)
        pieces["weight"] = np.where(position < len(shares), shares[np.minimum(position, len(shares) - 1)], 0.0)
    elif cal.month_profile == "weighted_days":
        pieces["weight"] = pieces["day_weight"]
    else:
        pieces["weight"] = pieces["working_days"].astype(float)
    return pieces


def share_count_problems(pieces: pd.DataFrame, cal: Calendar) -> list[str]:
    """Periods whose number of months differs from the number of ``month_shares``."""
    if cal.month_shares is None:
        return []
    counts = pieces.groupby("period", sort=False).size()
    n = len(cal.month_shares)
    return [f"period {p} covers {c} month(s) ({', '.join(pieces.loc[pieces.period == p, 'month'])}) "
            f"but month_shares has {n} value(s)" for p, c in counts.items() if c != n]
