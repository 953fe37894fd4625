"""From a plan's revenue targets to the tables sales teams work with, and into a run folder.

``decompose`` is the pipeline (every step a module of its own); ``decompose_run`` reads a run
folder; ``decompose_into`` is the hook ``allocator run`` calls on the folder it is writing;
``write_decomposition`` writes a fresh folder under an existing run, whole or not at all.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import yaml

from allocator.decompose import calendar, funnel, products, reps, targets
from allocator.decompose.config import DecompositionConfig, Loc, period_problems
from allocator.decompose.csvio import read_frame
from allocator.decompose.errors import ConfigSource, DecompositionError, source_of
from allocator.decompose.inputs import Context, Inputs, load_inputs
from allocator.decompose.rounding import NoWeight
from allocator.scenario import load_scenario
from allocator.scenario.amounts import format_amount
from allocator.scenario.errors import Problem

TABLES = ("targets_month", "targets_week", "targets_day", "product_targets", "rep_quotas", "funnel")
INPUTS_FOLDER = "decomposition_inputs"
CONFIG_FILE = "decomposition.yaml"
TEXT_COLUMNS = {"region": str, "channel": str, "period": str}


def context_of(scenario) -> Context:
    sales_force = getattr(scenario, "sales_force", None)
    return Context(tuple(r.id for r in scenario.regions), tuple(c.id for c in scenario.channels),
                   sales_force.revenue_capacity if sales_force is not None else None)


def period_lengths(scenario) -> dict[str, float]:
    names = list(scenario.periods.names)
    lengths = scenario.periods.length or [1.0 / len(names)] * len(names)
    return dict(zip(names, lengths))


def check_inputs(scenario, config: DecompositionConfig | None = None, base_dir: Path | None = None) -> Inputs | None:
    """Read and check every CSV input before solving (so a bad roster fails fast); ``None`` if none."""
    config = config or getattr(scenario, "decomposition", None)
    if config is None:
        return None
    base_dir = base_dir if base_dir is not None else Path(scenario.source).parent
    source = source_of(scenario)
    _raise([source.problem(loc[1:], msg) for loc, msg in period_problems(config, tuple(scenario.periods.names))])
    return load_inputs(config, base_dir, source, context_of(scenario))


def decompose(allocation: pd.DataFrame, scenario, config: DecompositionConfig, base_dir: Path, *,
              headcount: pd.DataFrame | None = None, source: ConfigSource | None = None) -> dict[str, pd.DataFrame]:
    """Every configured table from a plan's ``allocation`` (region, channel, period, revenue)."""
    source = source or ConfigSource()
    periods = tuple(scenario.periods.names)
    _raise([source.problem(loc[1:], msg) for loc, msg in period_problems(config, periods)])
    inputs = load_inputs(config, base_dir, source, context_of(scenario))
    cal, unit = config.calendar, config.rounding.unit
    days = calendar.build_days(cal, periods, inputs.weekday_shares)
    pieces = calendar.month_pieces(days, cal)
    _raise([source.problem(("calendar", "month_shares"), m) for m in calendar.share_count_problems(pieces, cal)])

    cells = targets.period_units(allocation, unit)
    try:
        months = targets.month_units(cells, pieces)
        day_rows = targets.day_units(months, days)
    except NoWeight as exc:
        raise DecompositionError([source.problem(("calendar",), _no_days(exc, unit))]) from None
    tables = {
        "targets_month": targets.in_currency(months, unit, targets.MONTH_COLUMNS),
        "targets_week": targets.in_currency(targets.week_units(day_rows), unit, targets.WEEK_COLUMNS),
        "targets_day": targets.in_currency(day_rows, unit, targets.DAY_COLUMNS),
    }
    region_units = cells.groupby(["region", "period"], sort=False)["units"].sum().reset_index()
    if config.products is not None:
        tables["product_targets"] = _products(months, inputs, config, source, unit)
    if config.reps is not None:
        tables["rep_quotas"] = _reps(region_units, days, inputs, config, scenario, headcount, unit)
    if config.funnel is not None:
        tables["funnel"] = funnel.funnel_table(region_units, inputs.funnel, unit)
    return tables


def _raise(problems: list[Problem]) -> None:
    if problems:
        raise DecompositionError(problems)


def _no_days(exc: NoWeight, unit: float) -> str:
    where = ", ".join(f"{k} {v}" for k, v in exc.key.items() if k in ("period", "month"))
    return (f"{where} has no working day (holidays, closed weekdays or weekday shares of 0) "
            f"but a target of {format_amount(exc.units * unit)}")


def _products(months, inputs: Inputs, config, source: ConfigSource, unit: float) -> pd.DataFrame:
    frame, missing = products.product_units(months, inputs.products, config.products, inputs.history)
    if missing:
        file = inputs.name(("products", "history"))
        shown = "; ".join(missing[:5]) + (f"; and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise DecompositionError([Problem(file, None, "month", f"no revenue for the same month last year: {shown}")])
    columns = [c for c in products.COLUMNS if c in frame.columns or c == "target"]
    return targets.in_currency(frame, unit, columns)


def _reps(region_units, days, inputs: Inputs, config, scenario, headcount, unit: float) -> pd.DataFrame:
    avail = reps.availability(inputs.roster, days, config.reps)
    frame, shortfalls = reps.rep_units(region_units, inputs.roster, avail, period_lengths(scenario), config.reps, unit)
    if shortfalls:
        file = inputs.name(("reps", "roster"))
        raise DecompositionError([Problem(file, None, "", m) for m in reps.shortfall_messages(shortfalls, headcount)])
    out = targets.in_currency(frame, unit, [c if c != "quota" else "target" for c in reps.COLUMNS])
    return out.rename(columns={"target": "quota"}).round({"capacity": 2})


# --- run folders ----------------------------------------------------------------------------


def read_plan_tables(run_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """``allocation.csv`` (required: a run without a plan has nothing to decompose) and ``headcount.csv``."""
    path = run_dir / "allocation.csv"
    if not path.exists():
        problem = Problem(str(run_dir), None, "", "has no allocation.csv: the run found no plan to decompose")
        raise DecompositionError([problem])
    allocation = read_frame(path, dtype=TEXT_COLUMNS, keep_default_na=False, na_values=[""])
    head_path = run_dir / "headcount.csv"
    headcount = read_frame(head_path, dtype=TEXT_COLUMNS, keep_default_na=False) if head_path.exists() else None
    return allocation, headcount


def decompose_run(run_dir: Path, config: DecompositionConfig, base_dir: Path,
                  source: ConfigSource | None = None) -> dict[str, pd.DataFrame]:
    """The tables for the plan in ``run_dir`` (its ``scenario.yaml`` and ``allocation.csv``)."""
    run_dir = Path(run_dir)
    if not (run_dir / "scenario.yaml").exists():
        raise DecompositionError([Problem(str(run_dir), None, "", "is not a run folder (no scenario.yaml)")])
    scenario = load_scenario(run_dir / "scenario.yaml")
    allocation, headcount = read_plan_tables(run_dir)
    return decompose(allocation, scenario, config, Path(base_dir), headcount=headcount, source=source)


def write_tables(folder: Path, tables: dict[str, pd.DataFrame]) -> None:
    """``<name>.csv`` for each table (ids that look like spreadsheet formulas are made safe)."""
    from allocator.output import write_csv

    for name in sorted(tables, key=lambda n: TABLES.index(n) if n in TABLES else len(TABLES)):
        write_csv(tables[name], Path(folder) / f"{name}.csv")


def copy_inputs(folder: Path, config: DecompositionConfig, base_dir: Path) -> Path:
    """Copy the CSV inputs and the section (paths pointing at the copies) to ``folder/decomposition_inputs``.

    So a run folder is the whole record: ``allocator decompose RUN`` re-reads it from there.
    """
    target = Path(folder) / INPUTS_FOLDER
    target.mkdir(exist_ok=True)
    data = config.model_dump(mode="json", by_alias=True, exclude_none=True)
    used: set[str] = set()
    for loc, ref in config.csv_paths().items():
        name = Path(ref).name
        if name in used:
            name = f"{len(used)}_{name}"
        used.add(name)
        shutil.copyfile(Path(base_dir) / ref, target / name)
        _set(data, loc, name)
    text = yaml.safe_dump({"decomposition": data}, sort_keys=False, allow_unicode=True)
    (target / CONFIG_FILE).write_text(text, encoding="utf-8")
    return target


def _set(data: dict, loc: Loc, value: object) -> None:
    for part in loc[:-1]:
        data = data[part]
    data[loc[-1]] = value


def decompose_into(folder: Path, scenario, base_dir: Path | None = None) -> dict[str, pd.DataFrame]:
    """The ``allocator run`` hook: decompose the plan just written to ``folder`` and add the tables.

    Does nothing (returns ``{}``) when the scenario has no ``decomposition:`` section or the run
    found no plan. CSV paths are relative to the scenario file (or ``base_dir``).
    """
    config = getattr(scenario, "decomposition", None)
    folder = Path(folder)
    if config is None or not (folder / "allocation.csv").exists():
        return {}
    base_dir = base_dir if base_dir is not None else Path(scenario.source).parent
    allocation, headcount = read_plan_tables(folder)
    tables = decompose(allocation, scenario, config, base_dir, headcount=headcount, source=source_of(scenario))
    write_tables(folder, tables)
    copy_inputs(folder, config, base_dir)
    return tables


def decompose_plan(plan, base_dir: Path | None = None) -> dict[str, pd.DataFrame]:
    """The tables for a solved :class:`~allocator.plan.Plan` whose scenario has a ``decomposition:``
    section (``{}`` otherwise, or when there is no plan). Meant for ``plan.extra_tables``, so that
    the run folder, the workbook and the report all get them."""
    scenario = plan.scenario
    config = getattr(scenario, "decomposition", None)
    if config is None or not plan.has_plan:
        return {}
    base_dir = base_dir if base_dir is not None else Path(scenario.source).parent
    return decompose(plan.allocation, scenario, config, base_dir, headcount=plan.headcount, source=source_of(scenario))


def keep_inputs(folder: Path, scenario, base_dir: Path | None = None) -> None:
    """Copy a scenario's decomposition inputs into a run folder being written (no-op without a section)."""
    config = getattr(scenario, "decomposition", None)
    if config is not None:
        copy_inputs(folder, config, base_dir if base_dir is not None else Path(scenario.source).parent)


def new_folder(parent: Path, name: str, fill: Callable[[Path], None]) -> Path:
    """``parent/name`` (or ``name-2``, ...) filled by ``fill``: never over an existing folder, never
    half-written (``allocator.output.write_folder``: a temporary folder, then a rename)."""
    from allocator.output import write_folder

    return write_folder(Path(parent), name, fill)


def write_decomposition(run_dir: Path, tables: dict[str, pd.DataFrame], config: DecompositionConfig,
                        base_dir: Path) -> Path:
    """A new ``run_dir/decomposition`` (``-2``, ...) with the tables and a copy of the inputs."""

    def fill(folder: Path) -> None:
        write_tables(folder, tables)
        copy_inputs(folder, config, base_dir)

    return new_folder(Path(run_dir), "decomposition", fill)


def stored_config(run_dir: Path) -> tuple[DecompositionConfig, ConfigSource, Path] | None:
    """The section a run (or decomposition) folder was decomposed with, if it keeps one."""
    from allocator.decompose.errors import load_config

    path = Path(run_dir) / INPUTS_FOLDER / CONFIG_FILE
    if not path.exists():
        return None
    config, source = load_config(path)
    return config, source, path.parent
