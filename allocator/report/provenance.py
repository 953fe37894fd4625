"""Where a plan came from: date, scenario file and its hash, overrides, solver settings, version.

``allocator run`` stores it as the run's ``provenance`` table (``provenance.csv``, and the
workbook's inputs sheet); a plan solved through the API gets the same table, without the
command-line part, when its report is written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pandas as pd
import yaml

NAME = "provenance"  # the table's name in plan.extra_tables (and provenance.csv)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_sha256(path) -> str:
    """The sha256 of a file's bytes, or ``-`` when it cannot be read (an in-memory scenario)."""
    path = Path(path)
    try:
        return _sha256(path.read_bytes()) if path.is_file() else "-"
    except OSError:
        return "-"


def provenance(scenario, changes: dict | None = None, solver: str | None = None, time_limit: float | None = None,
               mip_gap: float | None = None, when: dt.datetime | None = None) -> pd.DataFrame:
    """One row per fact (``item``, ``value``), all as text."""
    from allocator import __version__

    when = when or dt.datetime.now(dt.UTC)
    source = scenario.source
    file_hash = file_sha256(source)
    from allocator.output import SAFE_DUMPER

    solved = yaml.dump(scenario.to_dict(), Dumper=SAFE_DUMPER, sort_keys=True, allow_unicode=True).encode("utf-8")
    s = scenario.solver
    rows = [
        ("run at (UTC)", when.strftime("%Y-%m-%d %H:%M:%S")),
        ("allocator version", __version__),
        ("scenario file", source),
        ("scenario file sha256", file_hash),
        ("scenario as solved sha256", _sha256(solved)),
        ("overrides (--set)", "; ".join(f"{k}={v}" for k, v in (changes or {}).items()) or "none"),
        ("solver", solver or s.name),
        ("time limit (s)", f"{time_limit if time_limit is not None else s.time_limit or 'none'}"),
        ("MIP gap tolerance", f"{mip_gap if mip_gap is not None else s.mip_gap:g}"),
        ("curve tolerance", f"{s.pwl_tolerance:g}"),
        ("exact-curve gap tolerance", f"{s.exact_gap:g}"),
    ]
    return pd.DataFrame(rows, columns=["item", "value"])


def of_plan(plan) -> pd.DataFrame:
    """The plan's stored provenance, or one made now from what the plan knows."""
    table = plan.extra_tables.get(NAME)
    if table is not None:
        return table.astype({"value": str})
    return provenance(plan.scenario, solver=plan.summary.get("solver"))
