"""Actuals against the decomposed targets: achievement to date, gap, run-rate needed, and RAG status.

For each ISO week, calendar month and plan period that has begun by the as-of date, and each
region (and channel, when the actuals have one):

- ``target``: the bucket's target (a sum of day targets), ``target_to_date``: the day targets up
  to and including the as-of date (the pro-rata target, which follows the weekday profile and
  gives holidays nothing);
- ``actual``: the actuals in the bucket up to the as-of date; ``achievement = actual /
  target_to_date``; ``gap = target_to_date - actual`` (positive when behind);
- ``needed_per_day``: what each remaining working day of the bucket must bring in to reach the
  bucket's target;
- ``status``: red below ``red_below`` (80%: "20% below target is red"), amber below
  ``amber_below``, green otherwise (and green while nothing is due yet).

Reps (``rep`` column) are tracked per period against their quotas, products (``product``
column) per month against their targets; both pro-rata by their region's day targets.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from allocator.decompose import csvio
from allocator.decompose.config import Tracking
from allocator.decompose.csvio import Column
from allocator.decompose.errors import DecompositionError
from allocator.scenario.checks import did_you_mean
from allocator.scenario.errors import Problem

COLUMNS = ["level", "bucket", "first", "last", "region", "channel", "rep", "product", "target", "target_to_date",
           "actual", "achievement", "gap", "remaining_days", "needed_per_day", "status"]
KEYS = ("date", "region", "channel", "product", "rep")


def read_targets(folder: Path) -> dict[str, pd.DataFrame]:
    """The decomposed tables tracking needs: ``targets_day`` (required), ``rep_quotas``, ``product_targets``."""
    folder = Path(folder)
    path = folder / "targets_day.csv"
    if not path.exists():
        message = "has no targets_day.csv: decompose the plan first (a `decomposition:` section or `allocator decompose`)"
        raise DecompositionError([Problem(str(folder), None, "", message)])
    text = {c: str for c in ("region", "channel", "period", "month", "week", "rep", "product", "tier")}
    tables = {}
    for name in ("targets_day", "rep_quotas", "product_targets"):
        if (folder / f"{name}.csv").exists():
            tables[name] = csvio.read_frame(folder / f"{name}.csv", dtype=text, keep_default_na=False, na_values=[""])
    days = tables["targets_day"]
    days["date"] = pd.to_datetime(days["date"]).dt.date
    return tables


def read_actuals(path: Path, tables: dict[str, pd.DataFrame], display: str | None = None) -> pd.DataFrame:
    """The actuals CSV, every row checked against the targets; problems name the CSV line."""
    columns = [Column("date", csvio.date), Column("region", csvio.text), Column("amount", csvio.amount),
               Column("channel", csvio.text, required=False), Column("product", csvio.text, required=False),
               Column("rep", csvio.text, required=False)]
    table = csvio.read_table(path, columns, display, keep_going=True)
    file = table.file
    days = tables["targets_day"]
    first, last = days["date"].min(), days["date"].max()
    known = {"region": sorted(set(days["region"])), "channel": sorted(set(days["channel"]))}
    problems = list(table.problems)
    for column, source in (("rep", "rep_quotas"), ("product", "product_targets")):
        if table.has(column):
            if source not in tables:
                problems.append(Problem(file, 1, column, f"the run has no {source}.csv to track {column}s against"))
            else:
                known[column] = sorted(set(tables[source][column]))
    rep_region = dict(zip(tables["rep_quotas"]["rep"], tables["rep_quotas"]["region"])) if "rep_quotas" in tables else {}
    for row in table.rows:
        if row["date"] is not None and not first <= row["date"] <= last:
            problems.append(Problem(file, row.line, "date", f"{row['date']} is outside the plan's calendar ({first} .. {last})"))
        for column, values in known.items():
            value = row[column]
            if table.has(column) and value is not None and value not in values:
                hint = did_you_mean(value, values) or f" (known: {', '.join(values[:10])}{', ...' if len(values) > 10 else ''})"
                problems.append(Problem(file, row.line, column, f"unknown {column} {value!r}{hint}"))
        rep = row["rep"]
        if rep in rep_region and row["region"] in known["region"] and rep_region[rep] != row["region"]:
            problems.append(Problem(file, row.line, "rep", f"rep {rep!r} sells in {rep_region[rep]}, not {row['region']}"))
    problems += csvio.duplicates(table, tuple(c for c in KEYS if table.has(c)), "actuals row")
    if problems:
        raise DecompositionError(problems)
    return pd.DataFrame([r.values for r in table.rows], columns=list(table.columns))


def default_as_of(actuals: pd.DataFrame, days: pd.DataFrame) -> dt.date:
    return actuals["date"].max() if len(actuals) else days["date"].min()


def check_as_of(as_of: dt.date, days: pd.DataFrame) -> None:
    first, last = days["date"].min(), days["date"].max()
    if not first <= as_of <= last:
        raise DecompositionError([Problem("--as-of", None, "", f"{as_of} is outside the plan's calendar ({first} .. {last})")])


def _status(achievement: np.ndarray, due: np.ndarray, thresholds: Tracking) -> np.ndarray:
    return np.where(~due, "green", np.where(achievement < thresholds.red_below, "red",
                                             np.where(achievement < thresholds.amber_below, "amber", "green")))


def _due(days: pd.DataFrame, bucket: str, dims: list[str], as_of: dt.date) -> pd.DataFrame:
    """Targets per bucket (begun by ``as_of``) and ``dims``: whole, to date, and working days left."""
    days = days.groupby(["date", bucket] + dims, sort=False).agg(
        target=("target", "sum"), working=("working", "max")).reset_index()
    days = days.assign(to_date=np.where(days["date"] <= as_of, days["target"], 0),
                       left=(days["date"] > as_of) & days["working"].astype(bool))
    frame = days.groupby([bucket] + dims, sort=False).agg(
        first=("date", "min"), last=("date", "max"), target=("target", "sum"),
        target_to_date=("to_date", "sum"), remaining_days=("left", "sum")).reset_index()
    return frame.rename(columns={bucket: "bucket"}).loc[lambda f: f["first"] <= as_of]


def _sold(actuals: pd.DataFrame, spans: pd.DataFrame, dims: list[str], as_of: dt.date) -> pd.DataFrame:
    """Actuals up to ``as_of`` summed per bucket (``spans``: bucket, first, last) and ``dims``."""
    past = actuals[actuals["date"] <= as_of]
    parts = []
    for span in spans[["bucket", "first", "last"]].drop_duplicates("bucket").itertuples(index=False):
        inside = past[(past["date"] >= span.first) & (past["date"] <= span.last)]
        parts.append(inside.groupby(dims, sort=False)["amount"].sum().reset_index().assign(bucket=span.bucket))
    if not parts:
        return pd.DataFrame(columns=["bucket"] + dims + ["actual"])
    return pd.concat(parts, ignore_index=True).rename(columns={"amount": "actual"})


def _with_actuals(frame: pd.DataFrame, actuals: pd.DataFrame, dims: list[str], as_of: dt.date) -> pd.DataFrame:
    frame = frame.merge(_sold(actuals, frame, dims, as_of), on=["bucket"] + dims, how="left")
    frame["actual"] = frame["actual"].astype(float).fillna(0.0)
    return frame


def _finish(frame: pd.DataFrame, thresholds: Tracking) -> pd.DataFrame:
    due = frame["target_to_date"].to_numpy(dtype=float) > 0
    achievement = np.where(due, frame["actual"] / np.where(due, frame["target_to_date"], 1.0), np.nan)
    days_left = frame["remaining_days"].to_numpy(dtype=float)
    still = np.maximum(frame["target"].to_numpy(dtype=float) - frame["actual"].to_numpy(dtype=float), 0.0)
    frame = frame.assign(
        achievement=achievement,
        gap=frame["target_to_date"] - frame["actual"],
        needed_per_day=np.where(days_left > 0, still / np.where(days_left > 0, days_left, 1.0), np.nan),
        status=_status(achievement, due, thresholds),
    )
    for column in COLUMNS:
        if column not in frame.columns:
            frame[column] = ""
    return frame[COLUMNS]


def track(tables: dict[str, pd.DataFrame], actuals: pd.DataFrame, as_of: dt.date, thresholds: Tracking) -> pd.DataFrame:
    """The ``tracking.csv`` table (see the module docstring)."""
    days = tables["targets_day"]
    dims = ["region", "channel"] if "channel" in actuals.columns else ["region"]
    parts = [_with_actuals(_due(days, level, dims, as_of), actuals, dims, as_of).assign(level=level)
             for level in ("week", "month", "period")]
    if "rep" in actuals.columns:
        parts.append(_prorata(tables["rep_quotas"], "rep", "quota", "period", days, actuals, as_of))
    if "product" in actuals.columns:
        parts.append(_prorata(tables["product_targets"], "product", "target", "month", days, actuals, as_of))
    return _finish(pd.concat(parts, ignore_index=True), thresholds)


def _prorata(targets: pd.DataFrame, dim: str, value: str, level: str, days: pd.DataFrame,
             actuals: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """Rows for reps or products: their target, due to date in step with their region's day targets."""
    region = _due(days, level, ["region"], as_of)
    region["due_share"] = np.where(region["target"] > 0, region["target_to_date"] / region["target"].where(region["target"] > 0, 1), 0.0)
    own = targets.groupby(["region", level, dim], sort=False)[value].sum().reset_index().rename(
        columns={level: "bucket", value: "target"})
    frame = own.merge(region.drop(columns=["target", "target_to_date"]), on=["region", "bucket"], how="inner")
    frame["target_to_date"] = frame["target"] * frame.pop("due_share")
    return _with_actuals(frame, actuals, ["region", dim], as_of).assign(level=level)
